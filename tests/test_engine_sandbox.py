"""The child process cannot reach anything outside its sandbox, and always ends.

Each test runs a tiny "student" module whose functions probe one wall of the
sandbox from inside and report what they could do.
"""

import os
import time
from pathlib import Path

import numpy as np
import pytest

from autograder import paths
from autograder.sandbox import Job, Limits, jobs, leftover_processes, run_job
from conftest import child_processes

ROOT = Path(__file__).resolve().parent.parent
PROVIDED = paths.provided_dir()


TEN_SECONDS = Limits(wall=10)


def probe(code, fn="probe", limits=TEN_SECONDS, outs=("r",)):
    """Run `fn` of a student module made of `code`; return the outcome."""
    files = {"rnn_layers.py": code.encode(), "rnn.py": b""}
    step = jobs.call("probe", "rnn_layers", fn, [], [jobs.Save(o) for o in outs])
    return run_job(Job(steps=[step], limits=limits), files, PROVIDED)


def test_a_plain_call_returns_its_array():
    outcome = probe("import numpy as np\ndef probe():\n    return np.arange(6.0).reshape(2, 3)\n")
    value, why = outcome.array("r")
    assert why is None
    assert np.array_equal(value, np.arange(6.0).reshape(2, 3))
    assert outcome.termination == "exited"
    assert "seccomp" in outcome.confinement


WRITE_TARGETS = [
    ROOT / "redteam_was_here.txt",
    ROOT / "autograder" / "redteam_was_here.py",
    Path("/tmp/redteam_was_here.txt"),
    Path.cwd() / "redteam_was_here.txt",
]


def test_child_cannot_write_outside_its_sandbox():
    code = f"""
import numpy as np
TARGETS = {[str(p) for p in WRITE_TARGETS]!r}
def probe():
    wrote = []
    for path in TARGETS + ["../escaped.txt"]:
        try:
            with open(path, "a") as f:
                f.write("pwned")
            wrote.append(1)
        except OSError:
            wrote.append(0)
    return np.array(wrote)
"""
    outcome = probe(code)
    value, why = outcome.array("r")
    assert why is None
    assert value.tolist() == [0] * (len(WRITE_TARGETS) + 1)
    for path in WRITE_TARGETS:
        assert not path.exists()


HIDDEN = [
    paths.EXPECTED_DIR / "rnn_step_forward.npz",
    paths.reference_dir() / "rnn_layers.py",
    paths.RUBRIC,
    ROOT / "autograder" / "checks" / "common.py",
]


def test_child_cannot_read_hidden_files():
    code = f"""
import numpy as np, os
TARGETS = {[str(p) for p in HIDDEN]!r}
def probe():
    read = []
    for path in TARGETS + [f"/proc/{{os.getppid()}}/environ", "/proc/1/cmdline"]:
        try:
            with open(path, "rb") as f:
                f.read(10)
            read.append(1)
        except OSError:
            read.append(0)
    try:
        os.listdir("/")
        read.append(1)
    except OSError:
        read.append(0)
    return np.array(read)
"""
    outcome = probe(code)
    value, why = outcome.array("r")
    assert why is None
    assert value.tolist() == [0] * (len(HIDDEN) + 3)


def test_child_cannot_fork_exec_or_signal_others():
    code = """
import numpy as np, os, signal
def attempt(fn):
    try:
        fn()
        return 1
    except OSError:
        return 0
def probe():
    return np.array([
        attempt(os.fork),
        attempt(lambda: os.execv("/bin/true", ["true"])),
        attempt(lambda: os.kill(os.getppid(), 0)),
        attempt(lambda: os.kill(1, 0)),
        attempt(lambda: os.kill(-1, 0)),
        attempt(lambda: os.killpg(os.getpgid(os.getppid()), 0)),
        attempt(lambda: os.kill(os.getpid(), 0)),  # itself: allowed
    ])
"""
    outcome = probe(code)
    value, why = outcome.array("r")
    assert why is None
    assert value.tolist() == [0, 0, 0, 0, 0, 0, 1]


def test_an_endless_loop_that_ignores_sigterm_is_killed_at_the_wall_clock_limit():
    code = """
import signal, time
def probe():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(0.01)
"""
    start = time.perf_counter()
    outcome = probe(code, limits=Limits(wall=1.5))
    assert time.perf_counter() - start < 5
    assert outcome.termination == "timeout"
    assert outcome.array("r") == (None, "missing")
    assert child_processes() == []


def test_a_busy_loop_is_stopped_by_the_cpu_limit_even_if_it_catches_sigxcpu():
    code = """
import signal
def probe():
    signal.signal(signal.SIGXCPU, lambda *a: None)
    while True:
        pass
"""
    start = time.perf_counter()
    outcome = probe(code, limits=Limits(cpu=1, wall=30))
    assert time.perf_counter() - start < 15
    assert outcome.termination == "signal"
    assert outcome.cpu_seconds >= 1
    assert child_processes() == []


def test_unbounded_allocation_hits_the_memory_limit():
    code = """
def probe():
    blocks = []
    while True:
        blocks.append(bytearray(50 << 20))
"""
    outcome = probe(code, limits=Limits(wall=10, memory=400 << 20))
    assert outcome.status("probe")["type"] == "MemoryError"


def test_printing_is_capped_and_raw_writes_stop_at_the_file_size_limit():
    printed = probe("def probe():\n    for _ in range(10**5):\n        print('x' * 100)\n")
    assert len(printed.stdout) < 70_000
    assert "truncated" in printed.stdout
    flooded = probe(
        "import os\ndef probe():\n    while True:\n        os.write(1, b'y' * (1 << 20))\n",
        limits=Limits(wall=10, fsize=4 << 20),
    )
    # Python ignores SIGXFSZ: the write past the limit fails with EFBIG instead.
    assert flooded.status("probe")["type"] == "OSError"
    assert "too large" in flooded.status("probe")["message"]


def test_an_ndarray_subclass_is_not_a_result():
    code = """
import numpy as np
class Liar(np.ndarray):
    def __eq__(self, other):
        return True
def probe():
    return np.zeros(3).view(Liar)
"""
    outcome = probe(code)
    assert outcome.status("probe")["ok"] is False
    assert "numpy.ndarray" in outcome.status("probe")["message"]
    assert outcome.array("r")[0] is None


def test_result_files_are_read_without_trusting_them(tmp_path):
    from autograder.sandbox.runner import _load_array

    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "complex.npy", np.ones(3, dtype=complex))
    np.save(tmp_path / "good.npy", np.ones(3))
    (tmp_path / "linked.npy").symlink_to(tmp_path / "good.npy")
    os.link(tmp_path / "good.npy", tmp_path / "hardlinked.npy")
    (tmp_path / "garbage.npy").write_bytes(b"not an array")
    assert _load_array(tmp_path / "pickled.npy")[0] is None
    assert _load_array(tmp_path / "complex.npy")[0] is None
    assert _load_array(tmp_path / "linked.npy")[0] is None
    assert _load_array(tmp_path / "hardlinked.npy")[0] is None  # good.npy now has 2 links
    assert _load_array(tmp_path / "garbage.npy")[0] is None
    assert _load_array(tmp_path / "missing.npy") == (None, "missing")


@pytest.mark.skipif(os.geteuid() != 0, reason="a uid of its own needs root")
def test_the_child_runs_under_a_uid_of_its_own_and_leaves_no_process():
    code = "import os, numpy as np\ndef probe():\n    return np.array([os.getuid(), os.getgid()])\n"
    outcome = probe(code)
    value, _ = outcome.array("r")
    uid = int(value[0])
    assert uid >= 1_000_000 and value[1] == uid
    assert leftover_processes(uid) == []
