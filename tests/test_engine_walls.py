"""Student code sees the whole standard library and numpy, whoever grades, wherever
Python is installed; the engine proves it before grading anyone.

On this kind of machine (root, Python under /root with mode 0700) a child that
drops to a uid of its own could not read the standard library: real student
files starting with ``from __future__ import ...`` scored 0.
"""

import os
import shutil
import stat
import tempfile
from pathlib import Path

import _unprivileged
import pytest

from autograder import paths
from autograder.engine import grade as engine
from autograder.sandbox import Job, Walls, jobs, run_job, runner, runtime

ROOT = Path(__file__).resolve().parent.parent
FUTURE = b"from __future__ import print_function, division\n"
IMPORTS = b"import subprocess\nimport dataclasses\nimport numpy.testing\n"
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (the uid drop)")


def reference_with(tmp_path, header):
    """The reference solution with `header` at the top of both files."""
    dest = tmp_path / "student" / "captioning"
    dest.mkdir(parents=True)
    for name in paths.STUDENT_FILES:
        (dest / name).write_bytes(header + (paths.reference_dir() / name).read_bytes())
    return dest.parent


def failures(results):
    return {r.name: r.output for r in results if r.status != "passed"}


def test_classic_starter_header_scores_full_marks(tmp_path):
    results = engine.grade_submission(reference_with(tmp_path, FUTURE), workers=2)
    assert failures(results) == {}
    assert sum(r.score for r in results) == 100


def test_importing_subprocess_at_the_top_scores_full_marks(tmp_path):
    results = engine.grade_submission(reference_with(tmp_path, IMPORTS), workers=2)
    assert failures(results) == {}


def test_starting_a_process_stays_refused():
    code = (
        b"import subprocess\nimport numpy as np\n"
        b"def probe():\n"
        b"    try:\n"
        b"        subprocess.run(['/bin/true'])\n"
        b"        return np.array([1])\n"
        b"    except OSError:\n"
        b"        return np.array([0])\n"
    )
    step = jobs.call("probe", "rnn_layers", "probe", [], [jobs.Save("r")])
    files = {"rnn_layers.py": code, "rnn.py": b""}
    outcome = run_job(Job(steps=[step]), files, paths.provided_dir())
    assert "seccomp" in outcome.confinement
    value, why = outcome.array("r")
    assert why is None and value.tolist() == [0]


def test_the_canary_imports_every_module_with_the_chosen_walls():
    walls = engine.preflight()
    why, applied = engine._canary(walls)
    assert why is None
    if os.geteuid() == 0:
        assert walls.own_uid, "as root, children must get a uid of their own"
        assert any(c.startswith("uid ") for c in applied)


@ROOT_ONLY
def test_the_runtime_view_is_readable_by_anyone_and_writable_by_nobody_else():
    walls = engine.preflight()
    if walls.runtime.view is None:
        pytest.skip("this Python is readable by every user: no view is needed")
    for folder in [walls.runtime.view, *walls.runtime.stdlib, walls.runtime.numpy_parent]:
        assert runtime.readable_by_anyone(folder)
        mode = os.stat(folder).st_mode
        assert not mode & (stat.S_IWGRP | stat.S_IWOTH)
        assert os.stat(folder).st_uid == os.geteuid()


@ROOT_ONLY
def test_preflight_moves_to_walls_that_work_and_says_so(monkeypatch, capsys):
    """The landed configuration (own uid, runtime read in place) is tried first; where its
    canary fails, the engine takes the next walls rather than grading a class 0."""
    if runtime.plan(own_uid=True).view is None:
        pytest.skip("this Python is readable by every user: the uid drop never hides it")
    broken = Walls(True, runtime.in_place())
    working = Walls(False, runtime.in_place())
    monkeypatch.setattr(engine, "candidate_walls", lambda: [(broken, ""), (working, "")])
    monkeypatch.setattr(engine, "_proven", [])
    monkeypatch.setattr(runner, "_walls", None)
    assert engine.preflight() == working
    said = capsys.readouterr().err
    assert "the grader's uid" in said and "Landlock" in said


@ROOT_ONLY
def test_preflight_stops_with_what_to_change_when_nothing_works(monkeypatch, tmp_path):
    """Walls under which no child can import numpy, on any machine: numpy's folder is an
    empty one. Nobody is graded, and the message names the walls tried, what the child
    could not import under them, and a way out."""
    empty = tmp_path / "no-numpy-here"
    empty.mkdir()
    broken = Walls(os.geteuid() == 0, runtime.Runtime(runtime.in_place().stdlib, str(empty)))
    monkeypatch.setattr(engine, "candidate_walls", lambda: [(broken, "")])
    monkeypatch.setattr(engine, "_proven", [])
    monkeypatch.setattr(runner, "_walls", None)
    with pytest.raises(engine.SandboxUnavailable) as info:
        engine.grade_submission(reference_with(tmp_path, b""))
    message = str(info.value)
    assert "nobody was graded" in message
    tried = [line for line in message.splitlines() if broken.describe() in line]
    assert len(tried) == 1 and "numpy" in tried[0]  # the module the child could not import
    assert "sys.base_prefix" in message  # what to change: where Python must be readable


@pytest.fixture(scope="module")
def unprivileged_tree():
    where = Path(tempfile.mkdtemp(prefix="autograder-nobody-", dir="/tmp"))
    os.chmod(where, 0o755)
    try:
        yield _unprivileged.build(where)
    finally:
        shutil.rmtree(where, ignore_errors=True)


@ROOT_ONLY
def test_a_non_root_grader_gives_the_same_full_marks(unprivileged_tree, tmp_path):
    python, project = unprivileged_tree
    student = reference_with(project.parent / "nobody", FUTURE + IMPORTS)
    os.chmod(project.parent / "nobody", 0o755)
    for folder, _, _ in os.walk(student):
        os.chmod(folder, 0o755)
    result = _unprivileged.run_as_nobody(python, project, "grade", student, "--single")
    assert result.returncode == 0, result.stderr
    assert "Total: 100 / 100" in result.stdout, result.stdout
    assert "the grader's uid" in result.stderr
