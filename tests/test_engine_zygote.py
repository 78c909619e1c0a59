"""Children forked by the zygote stand behind the same walls as spawned ones.

The walls, sandbox and red-team tests run every job through the zygote (the
default wherever it starts); these tests pin what is particular to forking:
that the children really are forks and the grader's own, that they raise the
same walls, import what a spawned child imports while Landlock still confines
reads, die with the grader, serve several threads at once, and that grading
falls back to spawning, saying so in one line, wherever the zygote fails.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from autograder import paths
from autograder.sandbox import Job, Limits, default_walls, forking, jobs, run_job, runner
from conftest import child_processes

ROOT = Path(__file__).resolve().parent.parent
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (the uid drop)")
FORKS = os.uname().machine in forking.CLONE_MACHINES


TWENTY_SECONDS = Limits(wall=20)


def probe(code, outs=("r",), limits=TWENTY_SECONDS):
    files = {"rnn_layers.py": textwrap.dedent(code).encode(), "rnn.py": b""}
    step = jobs.call("probe", "rnn_layers", "probe", [], [jobs.Save(o) for o in outs])
    return run_job(Job(steps=[step], limits=limits), files, paths.provided_dir())


def value(outcome, name="r"):
    got, why = outcome.array(name)
    assert why is None, (why, outcome.stderr, outcome.statuses)
    return got.tolist()


@pytest.fixture
def fresh_zygotes(monkeypatch):
    """Zygotes of this test only, stopped at its end."""
    monkeypatch.setattr(runner, "_zygotes", {})
    yield runner._zygotes
    for zygote in list(runner._zygotes.values()):
        if zygote is not None:
            zygote.close()


SELF = """
import os, sys
import numpy as np
def probe():
    main = sys.modules["__main__"].__file__
    return np.array([os.getppid(), main.endswith("zygote.py"), os.getpid() == os.getsid(0)])
"""


@pytest.mark.skipif(not FORKS, reason="no clone(CLONE_PARENT) known on this machine")
def test_children_are_forks_of_the_zygote_and_the_graders_own():
    assert runner.zygote_for(default_walls()) is not None
    ppid, forked, leader = value(probe(SELF))
    assert ppid == os.getpid()  # wait4 by the grader: its CPU time and memory are the kernel's
    assert forked == 1
    assert leader == 1  # a session of its own, which the grader kills whole


def confinement_without_uid(outcome):
    return ["uid" if c.startswith("uid ") else c for c in outcome.confinement]


WHO = """
import os
import numpy as np
def probe():
    return np.array([os.getuid(), os.geteuid(), os.getgid(), len(os.getgroups())])
"""


@pytest.mark.skipif(not FORKS, reason="no clone(CLONE_PARENT) known on this machine")
def test_a_forked_child_raises_the_same_walls_as_a_spawned_one(monkeypatch):
    forked = probe(WHO)
    monkeypatch.setenv(runner.NO_ZYGOTE, "1")
    spawned = probe(WHO)
    assert confinement_without_uid(forked) == confinement_without_uid(spawned)
    assert "seccomp" in forked.confinement
    assert any(c.startswith("landlock") for c in forked.confinement) == any(
        c.startswith("landlock") for c in spawned.confinement
    )
    uid, euid, gid, groups = value(forked)
    if os.geteuid() == 0:
        assert uid == euid == gid and uid >= 1_000_000 and groups == 0
    assert forked.max_rss_mb > 0 and spawned.max_rss_mb > 0


LAZY = ("subprocess", "dataclasses", "numpy.testing", "decimal", "__future__")
IMPORTS_AND_READS = f"""
import importlib
import numpy as np
def probe():
    imported = []
    for name in {list(LAZY)!r}:
        try:
            importlib.import_module(name)
            imported.append(1)
        except Exception:
            imported.append(0)
    read = []
    for path in {[str(paths.RUBRIC), str(paths.reference_dir() / "rnn_layers.py"), os.__file__]!r}:
        try:
            with open(path, "rb") as f:
                f.read(1)
            read.append(1)
        except OSError:
            read.append(0)
    return np.array(imported), np.array(read)
"""


@pytest.mark.skipif(not FORKS, reason="no clone(CLONE_PARENT) known on this machine")
def test_a_forked_child_imports_lazily_what_a_spawned_one_does_and_reads_nothing_else():
    walls = default_walls()
    zygote = runner.zygote_for(walls)
    assert zygote is not None
    assert not set(LAZY) & zygote.preloaded  # so the imports below really read the runtime
    outcome = probe(IMPORTS_AND_READS, outs=("imported", "read"))
    assert value(outcome, "imported") == [1] * len(LAZY)
    rubric, reference, grader_stdlib = value(outcome, "read")
    assert rubric == 0 and reference == 0
    if walls.runtime.view is not None:
        assert grader_stdlib == 0  # the child reads the view, not the grader's own Python


SLEEPER = """
import time
import numpy as np
def probe():
    time.sleep(60)
    return np.zeros(1)
"""

GRADER = """
import sys
sys.path.insert(0, {root!r})
from autograder import paths
from autograder.sandbox import Job, Limits, jobs, run_job, runner
assert runner.zygote_for(runner.default_walls()) is not None
print("zygote ready", flush=True)  # its canary child has ended: the next child is the job's
files = {{"rnn_layers.py": {code!r}.encode(), "rnn.py": b""}}
step = jobs.call("probe", "rnn_layers", "probe", [], [jobs.Save("r")])
run_job(Job(steps=[step], limits=Limits(wall=60)), files, paths.provided_dir())
"""


def children_of(pid):
    found = []
    for uid_pid in runner.process_uids(include_zombies=False):
        try:
            status = Path(f"/proc/{uid_pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields["PPid"]) == pid:
            found.append((uid_pid, int(fields["Uid"].split()[0])))
    return found


@ROOT_ONLY
@pytest.mark.skipif(not FORKS, reason="no clone(CLONE_PARENT) known on this machine")
def test_a_forked_child_and_the_zygote_die_with_the_grader():
    grader = subprocess.Popen(
        [sys.executable, "-c", GRADER.format(root=str(ROOT), code=SLEEPER)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert grader.stdout.readline() == b"zygote ready\n"
        deadline = time.monotonic() + 60
        student = zygote = None
        while time.monotonic() < deadline and not (student and zygote):
            kids = children_of(grader.pid)
            student = [pid for pid, uid in kids if uid >= 1_000_000] or None
            zygote = [pid for pid, uid in kids if uid == os.geteuid()] or None
            time.sleep(0.1)
        assert student and zygote, "the job did not start"
        time.sleep(1)  # into the student's sleep
        assert student[0] in runner.process_uids(include_zombies=False)
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        deadline = time.monotonic() + 10
        alive = student + zygote
        while alive and time.monotonic() < deadline:
            alive = [pid for pid in alive if pid in runner.process_uids(include_zombies=False)]
            time.sleep(0.05)
        assert alive == []
    finally:
        grader.kill()
        grader.wait()


BUSY = """
import time
import numpy as np
def probe():
    start = time.process_time()
    while time.process_time() - start < 0.5:
        pass
    return np.array([os.getuid()])
import os
"""


def test_the_grader_reads_a_forked_childs_cpu_time_from_the_kernel():
    outcome = probe(BUSY)
    assert outcome.cpu_seconds >= 0.5


def test_one_zygote_serves_several_threads_at_once():
    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(lambda _: probe(WHO), range(6)))
    uids = [value(o)[0] for o in outcomes]
    if os.geteuid() == 0:
        assert len(set(uids)) == 6  # a uid of its own each
    assert all(o.termination == "exited" for o in outcomes)
    assert child_processes() == []


def test_where_the_zygote_cannot_start_children_are_spawned_after_one_line(
    fresh_zygotes, monkeypatch, tmp_path, capfd
):
    broken = tmp_path / "zygote.py"
    broken.write_text("import sys\nsys.exit('no numpy here')\n")
    monkeypatch.setattr(forking, "ZYGOTE", broken)
    first = probe(SELF)
    second = probe(SELF)
    said = capfd.readouterr().err.splitlines()
    notes = [line for line in said if "not forked" in line]
    assert len(notes) == 1 and notes[0].startswith("autograder: children are spawned")
    assert "no numpy here" in notes[0]
    for outcome in (first, second):
        assert value(outcome)[1] == 0  # spawned: child.py is the main module
    assert child_processes() == []


@pytest.mark.skipif(not FORKS, reason="no clone(CLONE_PARENT) known on this machine")
def test_a_zygote_that_fails_its_canary_is_not_used(fresh_zygotes, monkeypatch, capfd):
    real = runner._zygote_canary
    monkeypatch.setattr(
        runner,
        "_zygote_canary",
        lambda walls, zygote: "its child could not import numpy" if zygote else real(walls, None),
    )
    outcome = probe(SELF)
    assert value(outcome)[1] == 0
    notes = [line for line in capfd.readouterr().err.splitlines() if "not forked" in line]
    assert notes == [
        "autograder: children are spawned one by one, not forked (the zygote's canary: "
        "its child could not import numpy)"
    ]
    assert child_processes() == []


@pytest.mark.skipif(not FORKS, reason="no clone(CLONE_PARENT) known on this machine")
def test_a_zygote_that_dies_while_grading_hands_over_to_spawning(fresh_zygotes, capfd):
    assert value(probe(SELF))[1] == 1
    zygote = runner.zygote_for(default_walls())
    os.kill(zygote.proc.pid, signal.SIGKILL)
    zygote.proc.wait()
    outcomes = [probe(SELF) for _ in range(2)]
    assert [value(o)[1] for o in outcomes] == [0, 0]
    notes = [line for line in capfd.readouterr().err.splitlines() if "not forked" in line]
    assert len(notes) == 1 and "children are spawned from now on" in notes[0]
    assert np.all([o.termination == "exited" for o in outcomes])
    assert child_processes() == []
