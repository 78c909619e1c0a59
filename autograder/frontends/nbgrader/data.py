"""``nbgrader autograde`` links the bundled data set instead of copying it for every student.

nbgrader's ``Autograde.init_assignment`` copies every non-notebook file of the
submission into ``autograded/<student>/<assignment>/``, then copies every file
of ``source/<assignment>/`` over them (all but ``Autograde.exclude_overwriting``).
For the synthetic data set (``datasets/synthetic_coco/``, about 1,200 files)
that is two copies per student of files that end up identical to the
instructor's. Here the data folder is left out of both copies, and the
autograded folder gets a symbolic link ``datasets/synthetic_coco`` to the
course's ``source/<assignment>/datasets/synthetic_coco``: what the copies
would have been. The confined kernel may read that folder (``KernelBox`` adds
``data_folder_of`` its folder to its Landlock read paths); it is the
instructor's and stays out of the kernel's write paths.

Where a kernel could not read the data through a link, autograde copies it as
before: on Windows (symbolic links need a privilege there), and when nbgrader
runs as root (each kernel gets a uid of its own) while other users cannot
reach and read the data folder (a course under a closed home folder).

Release, collect and feedback are unchanged: ``release_assignment`` and the
exchange still hand the data to students. The real COCO data
(``datasets/coco_captioning``) is in ``CourseDirectory.ignore`` and never
copied. Importing this module installs the wrapper; ``plugin``
imports it, so every nbgrader command of the course has it.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

from nbgrader.converters.autograde import Autograde

from ...sandbox.runtime import passable_by_anyone

DATA = Path("datasets", "synthetic_coco")

# realpath of an autograded folder -> realpath of the data folder it links to.
# Filled by the grader before any kernel of that folder starts, never read from it.
_LINKED: dict[str, str] = {}


def data_folder_of(folder) -> str | None:
    """The instructor's data folder that autograde linked into `folder`, if any."""
    return _LINKED.get(os.path.realpath(folder))


def readable_by_every_uid(folder: Path) -> bool:
    """Whether any uid can pass through to `folder` and read all of it."""
    if not passable_by_anyone(folder):
        return False
    try:
        for top, _dirs, files in os.walk(folder):
            if os.stat(top).st_mode & 0o005 != 0o005:
                return False
            for name in files:
                if not os.stat(os.path.join(top, name)).st_mode & stat.S_IROTH:
                    return False
    except OSError:
        return False
    return True


def can_link(data: Path) -> bool:
    if sys.platform == "win32" or not data.is_dir() or data.is_symlink():
        return False
    return os.geteuid() != 0 or readable_by_every_uid(data)


NBGRADER_INIT_ASSIGNMENT = Autograde.init_assignment


def init_assignment(self, assignment_id, student_id):
    """``Autograde.init_assignment``, with the data set linked instead of copied twice."""
    source = self.coursedir.format_path(self.coursedir.source_directory, ".", assignment_id)
    data = Path(os.path.realpath(source)) / DATA
    if not can_link(data):
        return NBGRADER_INIT_ASSIGNMENT(self, assignment_id, student_id)
    # nbgrader's ignore patterns match a file's or folder's name: the folder and all
    # under it are skipped in both copies (from submitted/ and from source/).
    ignore = list(self.coursedir.ignore)
    self.coursedir.ignore = [*ignore, DATA.name]
    try:
        NBGRADER_INIT_ASSIGNMENT(self, assignment_id, student_id)
    finally:
        self.coursedir.ignore = ignore
    dest = Path(self._format_dest(assignment_id, student_id))
    parent = dest / DATA.parent
    if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
        parent.unlink()
    parent.mkdir(parents=True, exist_ok=True)
    link = dest / DATA
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        shutil.rmtree(link)  # copies from an earlier run
    link.symlink_to(data, target_is_directory=True)
    self.log.info("Linked %s -> %s", link, data)
    _LINKED[os.path.realpath(dest)] = str(data)


Autograde.init_assignment = init_assignment
