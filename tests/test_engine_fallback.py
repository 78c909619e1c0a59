"""The preflight falls back on any failure, and cleanup never raises (issue 21).

A container run with `--cap-drop ALL` is root without CHOWN, SETUID or SETGID:
the canary's `os.chown` raised EPERM, the preflight did not count that as "these
walls do not work here", and nobody was graded. With CHOWN back, root without
DAC_OVERRIDE could not enter the box its child owned, and the cleanup raised a
TypeError. These tests make the same failures happen without Docker.
"""

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import paths
from autograder.engine import grade as engine
from autograder.sandbox import runner

ROOT = Path(__file__).resolve().parent.parent
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a uid of its own)")


@pytest.fixture
def fresh_preflight(monkeypatch):
    """The preflight runs again in this test, and its choice is forgotten after it."""
    monkeypatch.setattr(engine, "_proven", [])
    monkeypatch.setattr(runner, "_walls", None)


def submission(folder, origin):
    dest = folder / "captioning"
    dest.mkdir(parents=True)
    for name in paths.STUDENT_FILES:
        shutil.copy(origin / name, dest / name)
    return folder


@ROOT_ONLY
def test_a_box_that_cannot_be_handed_to_the_child_means_the_next_walls(
    monkeypatch, capsys, fresh_preflight
):
    def refused(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(runner.os, "chown", refused)
    walls = engine.preflight()
    assert not walls.own_uid
    line = capsys.readouterr().err
    assert "the grader's uid (no uid of its own: " in line
    assert "PermissionError" in line and "Landlock" in line


@ROOT_ONLY
def test_a_box_that_cannot_be_removed_means_the_next_walls(monkeypatch, capsys, fresh_preflight):
    remove = runner.remove_box
    calls = []

    def first_box_stays(path):
        calls.append(path)
        remove(path)
        return len(calls) > 1

    monkeypatch.setattr(runner, "remove_box", first_box_stays)
    walls = engine.preflight()
    assert not walls.own_uid
    assert "could not be removed" in capsys.readouterr().err
    assert not any(os.path.exists(p) for p in calls)


@ROOT_ONLY
def test_a_root_without_the_capabilities_for_a_uid_says_which_are_missing(
    monkeypatch, capsys, fresh_preflight
):
    monkeypatch.setattr(runner, "missing_capabilities", lambda: ["SETUID", "SETGID", "CHOWN"])
    assert not engine.preflight().own_uid
    line = capsys.readouterr().err
    assert "no uid of its own: the container has no SETUID/SETGID/CHOWN" in line


def test_without_proc_no_capability_is_reported_missing(monkeypatch):
    real_open = open

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc/self/status"):
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", no_proc)
    assert runner.missing_capabilities() == []


def test_capabilities_are_read_from_the_effective_set():
    held = runner.missing_capabilities({"NOTHING_HELD": 63})
    assert held == ["NOTHING_HELD"]  # bit 63 is no capability any kernel has


def box_with_a_locked_folder(tmp_path):
    box = tmp_path / "autograder-job-x" / "box"
    (box / "out" / "locked").mkdir(parents=True)
    (box / "out" / "locked" / "result.npy").write_bytes(b"x")
    (box / "out" / "locked").chmod(0)  # what a child may do to its own files
    return box.parent


def test_cleanup_enters_a_folder_it_could_not_open_at_first(tmp_path, monkeypatch):
    """The folder a root without DAC_OVERRIDE cannot open: the retry opens it up rather
    than calling os.open with the wrong arguments (the TypeError of issue 21)."""
    base = box_with_a_locked_folder(tmp_path)
    real_open, refused = os.open, []

    def open_refused_once(path, flags, *args, **kwargs):
        if os.fsdecode(path).endswith("locked") and not refused:
            refused.append(path)
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_refused_once)
    assert runner.remove_box(base) is True
    assert refused and not base.exists()


def test_cleanup_logs_a_box_it_cannot_remove_and_goes_on(tmp_path, monkeypatch, caplog):
    base = box_with_a_locked_folder(tmp_path)
    real_rmdir = os.rmdir

    def refused(path, *args, **kwargs):
        if os.fsdecode(path).endswith("box"):
            raise PermissionError(13, "Permission denied", path)
        return real_rmdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "rmdir", refused)
    with caplog.at_level(logging.WARNING, logger=runner.__name__):
        assert runner.remove_box(base) is False
    assert str(base) in caplog.text
    monkeypatch.undo()
    assert runner.remove_box(base) is True


def test_cleanup_survives_any_exception(tmp_path, monkeypatch, caplog):
    base = box_with_a_locked_folder(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug below rmtree")

    monkeypatch.setattr(runner.shutil, "rmtree", broken)
    with caplog.at_level(logging.WARNING, logger=runner.__name__):
        assert runner.remove_box(base) is False
    assert "a bug below rmtree" in caplog.text and str(base) in caplog.text


def test_cleanup_never_follows_a_link_the_child_made(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    outside.chmod(0o500)
    base = box_with_a_locked_folder(tmp_path)
    (base / "box" / "out" / "link").symlink_to(outside)
    assert runner.remove_box(base) is True
    assert (outside / "keep.txt").read_text() == "mine"
    assert outside.stat().st_mode & 0o777 == 0o500
    outside.chmod(0o700)


@ROOT_ONLY
@pytest.mark.parametrize(("origin", "score"), [(paths.reference_dir, 100), (paths.release_dir, 0)])
def test_a_root_grader_without_capabilities_grades_as_it_should(tmp_path, origin, score):
    """Root with an empty capability set (what `docker run --cap-drop ALL` gives), made
    here with setpriv: the reference still scores 100 and the stubs 0."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    student = submission(tmp_path / "student", origin())
    out = tmp_path / "grade.json"
    command = ["setpriv", "--bounding-set", "-all", "--inh-caps", "-all", "--"]
    command += [sys.executable, "-m", "autograder", "grade", str(student), "--json", str(out)]
    result = subprocess.run(
        command + ["--workers", "2"], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["score"] == score
    line = next(x for x in result.stderr.splitlines() if x.startswith("autograder: student code"))
    assert "the grader's uid (no uid of its own: the container has no SETUID/SETGID/CHOWN" in line
    assert "Landlock, seccomp" in line and "warning" not in line


TRY_THE_UID_ANYWAY = """
from autograder.sandbox import runner
runner.missing_capabilities = lambda wanted=None: []
from autograder.engine import grade
print("own uid:", grade.preflight().own_uid)
"""


@ROOT_ONLY
def test_a_box_the_grader_cannot_enter_means_the_next_walls():
    """Root with CHOWN, SETUID and SETGID but not DAC_OVERRIDE (nor DAC_READ_SEARCH, FOWNER):
    once the box belongs to the child's uid the grader can neither fill nor remove it.
    The capability check is bypassed, so that the canary itself meets the failure."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]
    command += ["--inh-caps", "-all", "--", sys.executable, "-c", TRY_THE_UID_ANYWAY]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    left = [w.strip("'();") for w in done.stderr.split() if "/autograder-job-" in w]
    for path in left:  # the boxes it could not remove; this process can
        shutil.rmtree(path, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert "own uid: False" in done.stdout
    assert "the grader's uid (no uid of its own: its canary could not run" in done.stderr
    assert "could not remove" in done.stderr


def test_removing_a_box_never_changes_the_folder_it_lies_in(tmp_path, monkeypatch):
    """The job folders lie in the shared temporary folder: cleanup that gives rights
    back must stop at the job folder, or every later child loses /tmp."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    job = shared / "autograder-job-x"
    (job / "box").mkdir(parents=True)
    rmdir = os.rmdir

    def refused_for_the_job_folder(path, *args, **kwargs):
        if Path(path) == job:
            raise PermissionError(13, "Permission denied", str(path))
        return rmdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "rmdir", refused_for_the_job_folder)
    assert runner.remove_box(job) is False
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o1777
