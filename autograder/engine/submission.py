"""Find the two student files in a submission: a directory or a .zip.

``rnn_layers.py`` and ``rnn.py`` may be anywhere inside (flat, under
``captioning/``, inside a whole assignment folder). When they cannot be found
unambiguously, ``SubmissionError`` says what to fix; it never guesses between
two different copies. Only regular files of at most ``MAX_FILE_BYTES`` are
read; anything else in their place (a symbolic link, a folder, a pipe or a
device, a file too large or unreadable) is refused, and the message names the
path and the reason.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from ..paths import STUDENT_FILES

MAX_FILE_BYTES = 1 << 20
IGNORED_DIRS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git", "node_modules"}


class SubmissionError(Exception):
    """The submission does not hold exactly one usable copy of the student files."""


def locate(path) -> dict:
    """The student files of a submission: {"rnn_layers.py": bytes, "rnn.py": bytes}."""
    path = Path(path)
    try:
        if path.is_file() and zipfile.is_zipfile(path):
            return _choose(*_zip_candidates(path))
        if path.is_dir():
            return _choose(*_dir_candidates(path))
    except SubmissionError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken archive or unreadable file
        raise SubmissionError(f"The submission could not be read ({exc}).") from exc
    if path.exists():
        raise SubmissionError(f"{path.name} is neither a folder nor a .zip file.")
    raise SubmissionError(f"{path} does not exist.")


def _skipped(parts):
    return any(p in IGNORED_DIRS or p.startswith(".") for p in parts)


def _shown(parts):
    return "/".join(parts)


# Why an entry of the submission was not read, after its path ("captioning/rnn.py is ...").
LINK = "a symbolic link, which the grader does not follow: submit the file itself"
OTHER_LINK = "a symbolic link, which the grader does not follow"
TOO_LARGE = "too large ({size} KB; the limit is {limit} KB)"
NOT_REGULAR = "not a regular file ({kind})"
UNREADABLE = "unreadable ({why})"
KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)
LIMIT_KB = MAX_FILE_BYTES >> 10
ENCRYPTED = 0x1  # the zip entry's flag bit for a password-protected file


def _refusal(mode, size):
    """Why an entry of this mode and size is not read as a student file, or None."""
    if stat.S_ISLNK(mode):
        return LINK
    if not stat.S_ISREG(mode):
        kind = next((word for test, word in KINDS if test(mode)), "of an unknown kind")
        return NOT_REGULAR.format(kind=kind)
    if size > MAX_FILE_BYTES:
        return TOO_LARGE.format(size=-(-size // 1024), limit=LIMIT_KB)
    return None


def _refused(where, why):
    """The error for a student file that could not be read at `where`."""
    name = PurePosixPath(where).name
    return SubmissionError(_refused_text(name, [(where, why)]))


def _dir_candidates(root):
    """({folder (relative, as a tuple): {file name: loader}}, [(path, why refused)])."""
    found, refused = {}, []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel = Path(dirpath).relative_to(root).parts
        dirnames[:] = [d for d in dirnames if not _skipped((d,))]
        for name in dirnames:  # os.walk lists links to folders here, and does not enter them
            if (Path(dirpath) / name).is_symlink():
                refused.append(
                    (_shown((*rel, name)), LINK if name in STUDENT_FILES else OTHER_LINK)
                )
            elif name in STUDENT_FILES:
                refused.append((_shown((*rel, name)), NOT_REGULAR.format(kind="a folder")))
        for name in STUDENT_FILES:
            if name not in filenames:
                continue
            full = Path(dirpath) / name
            st = full.lstat()
            why = _refusal(st.st_mode, st.st_size)
            if why:
                refused.append((_shown((*rel, name)), why))
            else:
                found.setdefault(rel, {})[name] = lambda full=full, rel=rel: _read_file(full, rel)
    return found, refused


def _read_file(full, rel):
    where = _shown((*rel, full.name))
    try:
        with open(full, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        why = UNREADABLE.format(why=(exc.strerror or str(exc)).lower())
        raise _refused(where, why) from exc
    if len(data) > MAX_FILE_BYTES:  # it grew since it was listed
        raise _refused(where, TOO_LARGE.format(size=f"over {LIMIT_KB}", limit=LIMIT_KB))
    return data


def _zip_candidates(path):
    """The same as _dir_candidates, for the entries of a zip archive."""
    found, refused = {}, []
    archive = zipfile.ZipFile(path)
    for info in archive.infolist():
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if not parts or _skipped(parts[:-1]):
            continue
        # A zip made on Unix keeps each entry's mode (its type too) in the high 16 bits.
        mode = info.external_attr >> 16
        if stat.S_IFMT(mode) == 0:  # made where files have no such mode (Windows)
            mode |= stat.S_IFDIR if info.is_dir() else stat.S_IFREG
        name, where = parts[-1], _shown(parts)
        if stat.S_ISLNK(mode):
            refused.append((where, LINK if name in STUDENT_FILES else OTHER_LINK))
        elif name not in STUDENT_FILES:
            continue
        elif info.flag_bits & ENCRYPTED:
            refused.append((where, UNREADABLE.format(why="encrypted")))
        elif why := _refusal(mode, info.file_size):
            refused.append((where, why))
        else:
            found.setdefault(parts[:-1], {})[name] = lambda info=info: _read_zip(archive, info)
    return found, refused


def _read_zip(archive, info):
    where = _shown(PurePosixPath(info.filename.replace("\\", "/")).parts)
    try:
        with archive.open(info) as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except (RuntimeError, NotImplementedError, zipfile.BadZipFile) as exc:  # a method unknown, ...
        raise _refused(where, UNREADABLE.format(why=exc)) from exc
    if len(data) > MAX_FILE_BYTES:  # its header said less
        raise _refused(where, TOO_LARGE.format(size=f"over {LIMIT_KB}", limit=LIMIT_KB))
    return data


def _refused_text(name, refusals):
    """The message for a student file that the submission holds only in refused forms."""
    listed = "; ".join(f"{where} is {why}" for where, why in refusals)
    return f"{name} was refused: {listed}."


def _choose(found, refused=()):
    """Pick the one folder holding the files; several identical copies are fine.

    `refused` lists (path, why) of what was not read (symbolic links, files too large,
    not regular files): the message of a missing file says why its copies were refused."""
    both = [folder for folder, files in found.items() if len(files) == len(STUDENT_FILES)]
    if len(both) > 1:
        named = [f for f in both if f and f[-1] == "captioning"]
        both = named or both
    if len(both) >= 1:
        contents = {folder: {n: load() for n, load in found[folder].items()} for folder in both}
        distinct = {tuple(files[n] for n in STUDENT_FILES) for files in contents.values()}
        if len(distinct) == 1:
            return contents[both[0]]
        listing = ", ".join("/".join(f) or "." for f in both)
        raise SubmissionError(
            f"The submission holds different copies of {' and '.join(STUDENT_FILES)} in "
            f"several folders ({listing}): keep only one."
        )
    files = {}
    for name in STUDENT_FILES:
        places = [folder for folder, f in found.items() if name in f]
        if not places:
            own = [(where, why) for where, why in refused if PurePosixPath(where).name == name]
            if own:
                raise SubmissionError(_refused_text(name, own))
            links = [f"{where} is {why}" for where, why in refused if why == OTHER_LINK]
            hint = f" ({'; '.join(links[:3])})" if links else ""
            raise SubmissionError(
                f"No {name} in the submission{hint}: submit {' and '.join(STUDENT_FILES)} "
                "(for example the whole captioning/ folder)."
            )
        copies = {found[p][name]() for p in places}
        if len(copies) > 1:
            listing = ", ".join("/".join(p) or "." for p in places)
            raise SubmissionError(f"Several different copies of {name} ({listing}): keep one.")
        files[name] = copies.pop()
    return files


def looks_like_submission(path) -> bool:
    """True if `path` (a folder or a .zip) holds at least one student file, or a link or
    other refused entry in its place (graded 0, with the reason)."""
    try:
        path = Path(path)
        if path.is_file():
            return zipfile.is_zipfile(path) and any(_zip_candidates(path))
        return path.is_dir() and any(_dir_candidates(path))
    except (OSError, zipfile.BadZipFile):
        return False


def students_in(folder) -> list:
    """(name, path) of every submission in a folder of submissions (sub-folders and .zip files)."""
    entries = []
    for child in sorted(Path(folder).iterdir()):
        if child.name.startswith(".") or child.name == "__MACOSX":
            continue
        if child.is_dir() or child.suffix.lower() == ".zip":
            name = child.stem if child.is_file() else child.name
            entries.append((name, child))
    return sorted(entries)  # by student name, as `merge` orders them
