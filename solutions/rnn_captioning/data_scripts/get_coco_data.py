"""Download, verify and unpack the COCO captioning data (about 1 GB).

    python data_scripts/get_coco_data.py

Works the same on Linux, macOS and Windows (Python standard library and
tqdm only). The archive is downloaded into a ``.part`` file next to the
destination; an interrupted download resumes where it stopped when run again
(HTTP Range). The archive is checked (CRCs, expected members), unpacked into
a temporary directory next to the destination, checked again (HDF5 keys,
dtypes, column counts, vocabulary) and only then moved into place in one
rename. On any failure the destination is left as it was.

Exit status: 0 when the data is in place, 1 on failure, 130 if interrupted.
"""

import argparse
import hashlib
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib

DEFAULT_URL = "http://cs231n.stanford.edu/coco_captioning.zip"
DEFAULT_DEST = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "datasets", "coco_captioning"
)
CHUNK = 1 << 20
TEMP_PREFIX = ".coco_captioning.tmp-"

CAPTION_KEYS = ("train_captions", "train_image_idxs", "val_captions", "val_image_idxs")
# (file, column count) of each feature file.
FEATURE_FILES = (
    ("train2014_vgg16_fc7.h5", 4096),
    ("val2014_vgg16_fc7.h5", 4096),
    ("train2014_vgg16_fc7_pca.h5", 512),
    ("val2014_vgg16_fc7_pca.h5", 512),
)
REQUIRED_FILES = (
    "coco2014_captions.h5",
    "coco2014_vocab.json",
    *(name for name, _ in FEATURE_FILES),
    "train2014_urls.txt",
    "val2014_urls.txt",
)
SPECIAL_TOKENS = ("<NULL>", "<START>", "<END>", "<UNK>")
# Row counts of the real data, checked only with --strict.
FULL_ROWS = {
    "train_captions": 400135,
    "val_captions": 195954,
    "train_images": 82783,
    "val_images": 40504,
    "vocab": 1004,
}


class DataError(Exception):
    """A failure to report to the user in one clear message."""


class TransientError(Exception):
    """A network failure worth retrying."""


# -------------------------------------------------------------- download


def _http_error(err, url):
    if err.code >= 500 or err.code in (408, 429):
        return TransientError(f"HTTP {err.code} {err.reason}")
    return DataError(
        f"the server answered HTTP {err.code} {err.reason} for {url}; "
        "check the address, or pass --url with a mirror or --from-zip with a local copy"
    )


def _download_once(url, part, timeout, progress):
    """One attempt to complete the download of url into the file part.

    Resumes from the current size of part with a Range request; starts over
    if the server ignores the Range. Returns when part holds the whole body.
    Raises TransientError for failures worth retrying, DataError otherwise.
    """
    have = os.path.getsize(part) if os.path.exists(part) else 0
    request = urllib.request.Request(url, headers={"User-Agent": "get_coco_data/1.0"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:
            # Nothing left to send: either part is already complete, or it is
            # longer than the file on the server and useless.
            total = (err.headers.get("Content-Range") or "").rpartition("/")[2]
            err.close()
            if total.isdigit() and int(total) == have:
                return
            os.remove(part)
            raise TransientError("the partial download did not match the server's file") from err
        raise _http_error(err, url) from err
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", err)
        if isinstance(reason, (socket.timeout, TimeoutError, ConnectionError, OSError)):
            raise TransientError(f"cannot reach {url}: {reason}") from err
        raise DataError(f"cannot reach {url}: {reason}") from err

    with response:
        if have and response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {have}-"):
                raise TransientError(f"unexpected Content-Range {content_range!r}")
            total = content_range.rpartition("/")[2]
            total = int(total) if total.isdigit() else None
            mode = "ab"
        else:  # a fresh download, or a server that ignores Range
            if have:
                progress.write("The server does not resume downloads; starting over.")
            have = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            mode = "wb"
        progress.reset(total=total)
        progress.update(have)

        with open(part, mode) as f:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as err:
                    raise TransientError(
                        f"the connection broke after {have} bytes: {err!r}"
                    ) from err
                if not chunk:
                    break
                f.write(chunk)
                have += len(chunk)
                progress.update(len(chunk))
    if total is not None and have < total:
        raise TransientError(f"the connection closed after {have} of {total} bytes")


def download(url, part, retries, timeout, backoff, out=None):
    """Download url into the file part, resuming and retrying.

    Inputs:
    - url: http(s) or file URL of the archive
    - part: path of the .part file; its content, if any, is resumed
    - retries: attempts after the first one that fail transiently
    - timeout: seconds to wait for the server at connect and at every read
    - backoff: seconds before the first retry, doubled at each one
    """
    from tqdm import tqdm

    with tqdm(
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc="Downloading",
        file=out or sys.stderr,
        miniters=1,
    ) as progress:
        for attempt in range(retries + 1):
            try:
                _download_once(url, part, timeout, progress)
                return
            except TransientError as err:
                if attempt == retries:
                    raise DataError(
                        f"download failed after {retries + 1} attempts: {err}; "
                        "run the command again to resume"
                    ) from err
                wait = min(backoff * 2**attempt, 60)
                progress.write(f"{err}; retrying in {wait:g} s ({attempt + 1}/{retries})")
                time.sleep(wait)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------- archive


def archive_members(archive):
    """Check the archive and find the required files in it.

    Accepts the files at the root of the archive or in one folder (the real
    archive has them under coco_captioning/).

    Inputs:
    - archive: path of the zip file

    Returns:
    - dict from each name of REQUIRED_FILES to its member name in the zip
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            names = zf.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as err:
        raise DataError(
            f"{archive} is not a valid zip archive (corrupt or truncated): {err}"
        ) from err
    if bad is not None:
        raise DataError(f"{archive} is corrupt: member {bad} fails its CRC check")

    anchor = [n for n in names if n.rsplit("/", 1)[-1] == REQUIRED_FILES[0]]
    prefix = anchor[0][: -len(REQUIRED_FILES[0])] if anchor else ""
    if prefix.count("/") > 1 or prefix.startswith("/") or ".." in prefix:
        prefix = ""
    found = {name: prefix + name for name in REQUIRED_FILES if prefix + name in names}
    missing = [name for name in REQUIRED_FILES if name not in found]
    if missing:
        raise DataError(
            f"{archive} lacks {', '.join(missing)}; it is not the COCO captioning archive"
        )
    return found


def extract(archive, members, target, out=None):
    """Unpack the required members of archive, flat, into the directory target."""
    from tqdm import tqdm

    with zipfile.ZipFile(archive) as zf:
        total = sum(zf.getinfo(m).file_size for m in members.values())
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="Unpacking",
            file=out or sys.stderr,
        ) as progress:
            for name, member in members.items():
                with zf.open(member) as src, open(os.path.join(target, name), "wb") as dst:
                    for chunk in iter(lambda src=src: src.read(CHUNK), b""):
                        dst.write(chunk)
                        progress.update(len(chunk))


# ------------------------------------------------------------ validation


def verify_data_dir(path, strict=False):
    """Check an unpacked data directory.

    Checks that every file is there and readable, the HDF5 keys, dtypes and
    column counts, that captions, image indices, features and urls agree
    with each other and with the vocabulary, and the special tokens. Row
    counts are free (a small copy passes) unless strict.

    Raises:
    - DataError naming the first problem found
    """
    import h5py
    import numpy as np

    missing = [n for n in REQUIRED_FILES if not os.path.isfile(os.path.join(path, n))]
    if missing:
        raise DataError(f"{path} lacks {', '.join(missing)}")

    def fail(name, problem):
        raise DataError(f"{os.path.join(path, name)}: {problem}")

    try:
        with open(os.path.join(path, "coco2014_vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        idx_to_word, word_to_idx = vocab["idx_to_word"], vocab["word_to_idx"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        fail("coco2014_vocab.json", f"not a vocabulary ({err!r})")
    if list(idx_to_word[: len(SPECIAL_TOKENS)]) != list(SPECIAL_TOKENS):
        fail("coco2014_vocab.json", f"the first words must be {', '.join(SPECIAL_TOKENS)}")
    if any(word_to_idx.get(w) != i for i, w in enumerate(idx_to_word)) or len(word_to_idx) != len(
        idx_to_word
    ):
        fail("coco2014_vocab.json", "idx_to_word and word_to_idx disagree")

    rows = {}
    for split in ("train", "val"):
        with open(os.path.join(path, f"{split}2014_urls.txt"), encoding="utf-8") as f:
            rows[f"{split}_urls"] = sum(1 for _ in f)
    try:
        with h5py.File(os.path.join(path, "coco2014_captions.h5"), "r") as f:
            for key in CAPTION_KEYS:
                if key not in f:
                    fail("coco2014_captions.h5", f"no dataset {key}")
            for split in ("train", "val"):
                captions = f[f"{split}_captions"]
                idxs = f[f"{split}_image_idxs"]
                if captions.ndim != 2 or captions.dtype.kind not in "iu":
                    fail("coco2014_captions.h5", f"{split}_captions must be a 2-D int array")
                if idxs.shape != captions.shape[:1] or idxs.dtype.kind not in "iu":
                    fail("coco2014_captions.h5", f"{split}_image_idxs must be ints, one a caption")
                words = captions[()]
                if words.size and (words.min() < 0 or words.max() >= len(idx_to_word)):
                    fail("coco2014_captions.h5", f"{split}_captions hold unknown word indices")
                rows[f"{split}_captions"] = captions.shape[0]
                rows[f"{split}_max_idx"] = int(idxs[()].max()) if idxs.shape[0] else -1
        for name, columns in FEATURE_FILES:
            split = name.split("2014")[0]
            with h5py.File(os.path.join(path, name), "r") as f:
                if "features" not in f:
                    fail(name, "no dataset features")
                ds = f["features"]
                if ds.ndim != 2 or ds.shape[1] != columns or ds.dtype != np.float32:
                    fail(
                        name,
                        f"features must be float32 with {columns} columns, not {ds.dtype} "
                        f"{ds.shape}",
                    )
                if ds.shape[0] != rows[f"{split}_urls"]:
                    fail(name, f"{ds.shape[0]} rows but {rows[f'{split}_urls']} urls")
                if rows[f"{split}_max_idx"] >= ds.shape[0]:
                    fail(name, "fewer rows than the captions' image indices need")
                rows[f"{split}_images"] = ds.shape[0]
    except OSError as err:
        raise DataError(f"{path}: an HDF5 file cannot be read ({err})") from err

    if strict:
        rows["vocab"] = len(idx_to_word)
        wrong = [f"{k} {rows[k]} (expected {v})" for k, v in FULL_ROWS.items() if rows[k] != v]
        if wrong:
            raise DataError(f"{path}: not the full data set: {', '.join(wrong)}")


def is_complete(path, strict=False):
    try:
        verify_data_dir(path, strict)
    except DataError:
        return False
    return True


# ------------------------------------------------------------------ main


def install(tmp, dest):
    """Move the directory tmp to dest in one rename, replacing an old dest."""
    old = None
    if os.path.lexists(dest):
        old = f"{dest}.old-{os.getpid()}"
        os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except OSError:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_stale_temp_dirs(parent):
    """Delete the unpacking directories left by interrupted earlier runs."""
    for name in os.listdir(parent):
        if name.startswith(TEMP_PREFIX):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def fetch(args, out=None):
    """Do the work of main; raises DataError on failure."""
    dest = os.path.abspath(args.dest)
    if is_complete(dest, args.strict):
        print(f"The COCO captioning data is already complete in {dest}; nothing to do.")
        return
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    remove_stale_temp_dirs(parent)

    part = dest + ".zip.part"
    if args.from_zip:
        archive = os.path.abspath(args.from_zip)
        if not os.path.isfile(archive):
            raise DataError(f"no archive at {archive}")
    else:
        print(f"Downloading {args.url}")
        download(args.url, part, args.retries, args.timeout, args.backoff, out=out)
        archive = part

    try:
        if args.sha256:
            actual = sha256_of(archive)
            if actual.lower() != args.sha256.lower():
                raise DataError(f"{archive} has SHA-256 {actual}, not the expected {args.sha256}")
        members = archive_members(archive)
    except DataError:
        if archive == part:
            os.remove(part)  # a bad download must not be resumed
        raise

    tmp = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent)
    try:
        extract(archive, members, tmp, out=out)
        verify_data_dir(tmp, args.strict)
        install(tmp, dest)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, DataError) and archive == part:
            os.remove(part)  # wrong content: downloading it again is the only fix
        raise
    if archive == part:
        if args.keep_zip:
            os.replace(part, dest + ".zip")
        else:
            os.remove(part)
    print(f"The COCO captioning data is ready in {dest}")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Re-running after an interruption resumes the download; re-running when "
        "the data is complete does nothing.",
    )
    parser.add_argument(
        "--url",
        default=DEFAULT_URL,
        help="address of the archive, e.g. a mirror (default: %(default)s)",
    )
    parser.add_argument(
        "--from-zip",
        metavar="PATH",
        help="unpack this already-downloaded coco_captioning.zip instead of downloading",
    )
    parser.add_argument(
        "--dest",
        metavar="DIR",
        default=DEFAULT_DEST,
        help="directory that receives the data files (default: %(default)s); the partial "
        "download DIR.zip.part is kept next to it",
    )
    parser.add_argument(
        "--sha256", metavar="HEX", help="expected SHA-256 of the archive; a mismatch is an error"
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=5,
        help="retries after a network error, resuming each time (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60,
        help="seconds to wait for the server before retrying (default: %(default)s)",
    )
    parser.add_argument(
        "--backoff",
        type=float,
        default=2,
        help="seconds before the first retry, doubled at each retry (default: %(default)s)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also require the exact row counts of the real data set",
    )
    parser.add_argument(
        "--keep-zip",
        action="store_true",
        help="keep the downloaded archive as DIR.zip instead of deleting it",
    )
    args = parser.parse_args(argv)
    if args.retries < 0 or args.timeout <= 0 or args.backoff < 0:
        parser.error("--retries and --backoff must be >= 0 and --timeout > 0")
    return args


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    args = parse_args(argv)
    try:
        fetch(args)
    except (DataError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
