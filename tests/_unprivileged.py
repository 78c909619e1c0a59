"""Run the grader as a user who is not root, on a machine whose Python only root can read.

This machine's interpreter lives under /root (mode 0700), like most pyenv,
conda and uv installs as root: no other user can start it. To grade as
somebody else, the tests build a tree under the temporary folder that such a
user can read, of hard links where possible: the interpreter and its
standard library, this virtual environment's packages, and the project's
grader and assignment folders.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534
PROJECT_PARTS = ("autograder", "source", "solutions", "release")


def _link(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    os.chmod(dst, os.stat(src).st_mode | 0o444)
    return dst


def _copy(src, dst):
    shutil.copy2(src, dst)
    os.chmod(dst, os.stat(src).st_mode | 0o444)
    return dst


def _tree(src, dst, ignore=None, copy_function=_link):
    shutil.copytree(src, dst, copy_function=copy_function, ignore=ignore, symlinks=False)


def build(where: Path) -> tuple[Path, Path]:
    """(python, project folder) of a tree under `where` that anyone may read."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = where / "python"
    (base / "bin").mkdir(parents=True)
    python = Path(_link(os.path.realpath(sys._base_executable), base / "bin" / version))
    stdlib = sysconfig.get_paths()["stdlib"]
    _tree(stdlib, base / "lib" / version, shutil.ignore_patterns("site-packages", "test"))
    # A shared libpython is found through the interpreter's RUNPATH, under /root.
    libdir = Path(sysconfig.get_config_var("LIBDIR") or "/nonexistent")
    for lib in libdir.glob("libpython*.so*"):
        _link(lib.resolve(), base / "lib" / lib.name)
    site = sysconfig.get_paths()["purelib"]
    _tree(
        site,
        base / "lib" / version / "site-packages",
        shutil.ignore_patterns("__editable__*", "rnn_captioning_assignment*"),
    )
    project = where / "project"
    # Copied, not linked: a link and its chmod would change the ctime and mode of the
    # project's own files, which an nbgrader test running beside this one (make test
    # has two workers) watches as the instructor's files.
    for part in PROJECT_PARTS:
        _tree(ROOT / part, project / part, shutil.ignore_patterns("__pycache__"), _copy)
    for folder, _, _ in os.walk(where):
        os.chmod(folder, 0o755)
    return python, project


def run_as_nobody(python: Path, project: Path, *args, timeout=600):
    """`python -m autograder ARGS` as uid/gid 65534, in the project folder."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = python.parent.parent / "lib" / version / "site-packages"

    def drop():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(project),
        "PYTHONPATH": f"{project}{os.pathsep}{site}",
        "LD_LIBRARY_PATH": str(python.parent.parent / "lib"),
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        [str(python), "-s", "-m", "autograder", *map(str, args)],
        cwd=project,
        env=env,
        preexec_fn=drop,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
