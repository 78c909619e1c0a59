"""The confined kernel's folder view: it shows the student's folder, or the kernel says why not.

As root, a kernel of a uid of its own cannot open its folder by path when the
course sits below a folder that only its owner passes through (a home folder);
``sandbox/kernel.py`` then shows the folder at a path that uid can reach, in a
mount namespace of its own. In a plain chroot (its / is no mount point) or a
container without CAP_SYS_ADMIN the view cannot be made: the kernel keeps the
grader's uid rather than run a notebook that cannot import its own package,
and the grader logs the missing wall at WARNING.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import types
from pathlib import Path

import pytest

from autograder.frontends.nbgrader.kernel import KernelBox
from autograder.sandbox import confine

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mount namespaces)")
LAUNCHER = Path(confine.__file__).with_name("kernel.py")


def launcher():
    spec = importlib.util.spec_from_file_location("kernel_launcher", LAUNCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def in_child(fn):
    """fn() in a forked child (its mounts and chroot die with it); what it returned."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            out = {"value": fn()}
        except BaseException as exc:  # reported to the parent
            out = {"error": f"{type(exc).__name__}: {exc}"}
        os.write(write, json.dumps(out).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        text = f.read()
    os.waitpid(pid, 0)
    out = json.loads(text)
    assert "error" not in out, out["error"]
    return out["value"]


def spec_for(folder, view, uid=4242):
    return {"cwd": str(folder), "view": str(view), "uid": uid, "write_paths": [str(folder), "/h"]}


def layout(tmp_path):
    folder = tmp_path / "course" / "student"
    folder.mkdir(parents=True)
    (folder / "rnn_layers.py").write_text("# the student's\n")
    view = tmp_path / "view"
    view.mkdir()
    return folder, view


def private_mounts_refused():
    """Why this process cannot make its mounts private (a plain chroot, no
    CAP_SYS_ADMIN), or None: where it cannot, no view can be made at all."""

    def probe():
        if confine._libc.unshare(confine.CLONE_NEWNS) != 0:
            return "unshare(CLONE_NEWNS) refused"
        flags = confine.MS_REC | confine.MS_PRIVATE
        if confine._libc.mount(b"none", b"/", None, flags, None) != 0:
            return "mount --make-rprivate / refused"
        return None

    return in_child(probe)


@ROOT_ONLY
def test_the_view_shows_the_students_folder_and_the_kernel_keeps_its_uid(tmp_path):
    refused = private_mounts_refused()
    if refused:
        pytest.skip(f"no mount namespace of its own here ({refused}): the fallback is tested below")
    folder, view = layout(tmp_path)
    kernel = launcher()

    def look():
        cwd, write_paths, uid, note = kernel.folder_view(confine, spec_for(folder, view))
        return cwd, write_paths, uid, note, sorted(os.listdir(cwd))

    cwd, write_paths, uid, note, listed = in_child(look)
    assert (cwd, uid) == (str(view), 4242)
    assert write_paths == [str(view), "/h"]
    assert listed == ["rnn_layers.py"]
    assert not note.startswith("no ")
    assert os.listdir(view) == []  # the mount stayed in the child's namespace


@ROOT_ONLY
def test_in_a_plain_chroot_the_kernel_keeps_the_graders_uid_and_says_why(tmp_path):
    """A chroot whose / is no mount point: the mounts cannot be made private."""
    folder, view = layout(tmp_path)
    kernel = launcher()

    def look():
        os.chroot(tmp_path)
        os.chdir("/")
        inside = spec_for("/course/student", "/view")
        return kernel.folder_view(confine, inside)

    cwd, write_paths, uid, note = in_child(look)
    assert uid is None  # not a uid that could not open its own files
    assert (cwd, write_paths) == ("/course/student", ["/course/student", "/h"])
    assert note.startswith("no uid of its own") and "/course/student" in note


def test_a_view_that_does_not_show_the_folder_is_refused(tmp_path):
    """The mount calls can return 0 and the view still be the empty folder it was."""
    folder, view = layout(tmp_path)
    with pytest.raises(OSError, match="does not show"):
        confine.check_view(str(folder), str(view))
    confine.check_view(str(folder), str(folder))


def walls_logged(tmp_path, walls, caplog):
    box = types.SimpleNamespace(report=tmp_path / "walls.json", folder="/c/autograded/s/a")
    box.report.write_text(json.dumps(walls))
    log = logging.getLogger("test-kernel-walls")
    with caplog.at_level(logging.INFO, logger=log.name):
        KernelBox.log_walls(box, log)
    return [(r.levelno, r.getMessage()) for r in caplog.records]


def test_a_missing_wall_is_logged_as_a_warning(tmp_path, caplog):
    walls = ["rlimits", "landlock (ABI 4)", "seccomp (TCP sockets only)"]
    fallback = walls + ["no uid of its own (uid 4242 cannot pass through ...)"]
    assert walls_logged(tmp_path, walls, caplog)[-1][0] == logging.INFO
    level, message = walls_logged(tmp_path, fallback, caplog)[-1]
    assert level == logging.WARNING and "no uid of its own" in message
