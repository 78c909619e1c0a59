"""Find the two student files in a submission: a directory or a .zip.

``rnn_layers.py`` and ``rnn.py`` may be anywhere inside (flat, under
``captioning/``, inside a whole assignment folder). When they cannot be found
unambiguously, ``SubmissionError`` says what to fix; it never guesses between
two different copies.
"""

from __future__ import annotations

import os
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
            return _choose(_zip_candidates(path))
        if path.is_dir():
            return _choose(_dir_candidates(path))
    except SubmissionError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken archive or unreadable file
        raise SubmissionError(f"The submission could not be read ({exc}).") from exc
    if path.exists():
        raise SubmissionError(f"{path.name} is neither a folder nor a .zip file.")
    raise SubmissionError(f"{path} does not exist.")


def _skipped(parts):
    return any(p in IGNORED_DIRS or p.startswith(".") for p in parts)


def _dir_candidates(root):
    """folder (relative, as a tuple) -> {file name: loader}."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel = Path(dirpath).relative_to(root).parts
        dirnames[:] = [d for d in dirnames if not _skipped((d,))]
        for name in STUDENT_FILES:
            full = Path(dirpath) / name
            if name in filenames and full.is_file() and not full.is_symlink():
                found.setdefault(rel, {})[name] = lambda full=full: _read_file(full)
    return found


def _read_file(full):
    if full.stat().st_size > MAX_FILE_BYTES:
        raise SubmissionError(f"{full.name} is larger than {MAX_FILE_BYTES >> 10} KB.")
    return full.read_bytes()


def _zip_candidates(path):
    found = {}
    archive = zipfile.ZipFile(path)
    for info in archive.infolist():
        if info.is_dir():
            continue
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if not parts or parts[-1] not in STUDENT_FILES or _skipped(parts[:-1]):
            continue
        found.setdefault(parts[:-1], {})[parts[-1]] = lambda info=info: _read_zip(archive, info)
    return found


def _read_zip(archive, info):
    if info.file_size > MAX_FILE_BYTES:
        raise SubmissionError(f"{info.filename} is larger than {MAX_FILE_BYTES >> 10} KB.")
    with archive.open(info) as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise SubmissionError(f"{info.filename} is larger than {MAX_FILE_BYTES >> 10} KB.")
    return data


def _choose(found):
    """Pick the one folder holding the files; several identical copies are fine."""
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
            raise SubmissionError(
                f"No {name} in the submission: submit {' and '.join(STUDENT_FILES)} "
                "(for example the whole captioning/ folder)."
            )
        copies = {found[p][name]() for p in places}
        if len(copies) > 1:
            listing = ", ".join("/".join(p) or "." for p in places)
            raise SubmissionError(f"Several different copies of {name} ({listing}): keep one.")
        files[name] = copies.pop()
    return files


def looks_like_submission(path) -> bool:
    """True if `path` (a folder or a .zip) holds at least one student file."""
    try:
        path = Path(path)
        if path.is_file():
            return zipfile.is_zipfile(path) and bool(_zip_candidates(path))
        return path.is_dir() and bool(_dir_candidates(path))
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
