"""Run one job of student code in a confined child process (the parent side).

``run_job`` is three steps:

- ``prepare``: a fresh job folder holding a box for the child with only the
  student's files, trusted copies of the provided modules, the inputs and
  the job description (steps, limits, walls, runtime), owned by the child's
  uid when it has one;
- ``run``: start ``child.py`` in a new session with an allow-listed
  environment (forked by the zygote of ``forking``, which has numpy loaded
  already, or spawned where there is none), wait at most the wall-clock
  limit, then kill the child's whole process group and every process left
  under its uid; the child is this process's own either way, so its CPU time
  and memory come from the kernel (``wait4``);
- ``collect``: only then read what the child wrote. Arrays are loaded
  without pickle, from regular files only, and handed out as plain numeric
  ``np.ndarray`` or not at all; status records are cut to known keys.
"""

import json
import logging
import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import paths
from ..blas import THREAD_VARIABLES as BLAS_THREAD_VARIABLES
from ..paths import STUDENT_FILES
from . import forking, jobs
from . import runtime as runtimes
from .jobs import REFERENCE_MODULE, Job, Outcome

CHILD = Path(__file__).resolve().parent / "child.py"
MAX_ARRAY_BYTES = 64 << 20
MAX_STATUS_BYTES = 64 << 10
LOG_BYTES = 16 << 10
_log = logging.getLogger(__name__)


def _load_array(path):
    """Load one result with no trust in the file: no symlink, no pickle, no subclass."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, "missing"
    except OSError:
        return None, "not a regular file"
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            return None, "not a regular file"
        if st.st_size > MAX_ARRAY_BYTES:
            return None, "too large"
        try:
            value = np.load(f, allow_pickle=False)
        except Exception:  # noqa: BLE001 - any malformed file is simply not a result
            return None, "not a readable .npy array (object arrays are refused)"
    if type(value) is not np.ndarray:
        return None, "not a plain numpy array"
    if value.dtype.kind not in "biuf":
        return None, f"dtype {value.dtype} is not numeric"
    return value, None


def _read_text(path, limit):
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return ""
    text = data[:limit].decode("utf-8", "replace")
    return text + ("\n[truncated]" if len(data) > limit else "")


def _read_status(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = f.read(MAX_STATUS_BYTES)
    try:
        record = json.loads(data)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    clean = {}
    for key in ("state", "ok", "kind", "type", "message", "where", "seconds"):
        value = record.get(key)
        if isinstance(value, bool | int | float) or value is None:
            clean[key] = value
        elif isinstance(value, str):
            clean[key] = value[:2000]
    return clean


def process_uids(include_zombies=True):
    """pid -> real uid of every process on the machine."""
    uids = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{entry.name}/status", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            text = os.read(fd, 4096)
        except OSError:
            continue
        finally:
            os.close(fd)
        # Only the State and Uid lines: every line but the first (Name) starts after a newline.
        uid_at = text.find(b"\nUid:")
        if uid_at < 0:
            continue
        if not include_zombies:
            state_at = text.find(b"\nState:")
            if state_at >= 0 and text[state_at + 7 : state_at + 16].split()[:1] == [b"Z"]:
                continue
        try:
            uids[int(entry.name)] = int(text[uid_at + 5 : uid_at + 40].split()[0])
        except (ValueError, IndexError):
            continue
    return uids


CHILD_UIDS = range(1_000_000, 1_001_000_000)  # the uids children get, one each


def fresh_uid():
    used = set(process_uids().values())
    while True:
        uid = CHILD_UIDS.start + secrets.randbelow(len(CHILD_UIDS))
        if uid not in used:
            return uid


def leftover_processes(uid):
    """Pids still alive (zombies aside) under `uid`."""
    return [pid for pid, u in process_uids(include_zombies=False).items() if u == uid]


def kill_uid(uid, tries=50):
    """Kill every process under `uid` (those that left a process group too: setsid,
    double fork); the pids that survived `tries` rounds."""
    pids = []
    for _ in range(tries):
        pids = leftover_processes(uid)
        if not pids:
            return []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)
    return leftover_processes(uid)


def _kill_everything(pid, uid):
    """Kill the child `pid` (not yet reaped), its process group and every process of `uid`."""
    for kill in (os.killpg, os.kill):  # a fork that has not yet made its group: itself
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if uid is not None:
        kill_uid(uid)


def _copy_tree(trusted_dir, box, student_files):
    pkg = box / "captioning"
    pkg.mkdir()
    for src in sorted(Path(trusted_dir).glob("*.py")):
        if src.name not in STUDENT_FILES:
            shutil.copyfile(src, pkg / src.name)
    for name in STUDENT_FILES:
        (pkg / name).write_bytes(student_files[name])


def _traversable(path):
    """Every folder from / to `path` may be passed through by other users."""
    path = Path(path).resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def jobs_root(own_uid):
    """Where job directories go: the temporary folder, if a child of another uid can
    pass through it to reach its own box."""
    root = tempfile.gettempdir()
    if own_uid and not _traversable(root):
        root = "/tmp"
    return root


@dataclass(frozen=True)
class Walls:
    """How children are confined besides their limits, Landlock and seccomp (which every
    child raises where the kernel allows): a uid of their own (root only), and the
    runtime their imports come from."""

    own_uid: bool
    runtime: runtimes.Runtime

    def describe(self):
        parts = ["a uid of its own" if self.own_uid else "the grader's uid"]
        return ", ".join(parts + [runtimes.describe(self.runtime)])


# What a root grader needs to give each child a uid of its own: to hand it its box
# (CHOWN), drop to it (SETUID, SETGID), read and remove what it left in its 0700 box
# (DAC_OVERRIDE) and kill what it started (KILL). Bits of /proc/self/status CapEff.
OWN_UID_CAPABILITIES = {"SETUID": 7, "SETGID": 6, "CHOWN": 0, "DAC_OVERRIDE": 1, "KILL": 5}


def missing_capabilities(wanted=OWN_UID_CAPABILITIES):
    """The names of `wanted` (name -> bit) this process does not hold (none where
    /proc cannot say)."""
    try:
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        effective = int(fields["CapEff"].strip(), 16)
    except (OSError, KeyError, ValueError):
        return []
    return [name for name, bit in wanted.items() if not effective >> bit & 1]


def candidate_walls():
    """The configurations to try, most protective first: (walls or None, why not)."""
    if os.geteuid() != 0:
        return [(Walls(False, runtimes.in_place()), "")]
    candidates = []
    missing = missing_capabilities()
    if missing:
        candidates.append((None, f"the container has no {'/'.join(missing)}"))
    else:
        try:
            candidates.append((Walls(True, runtimes.plan(own_uid=True)), ""))
        except Exception as exc:  # noqa: BLE001 - any failure: try the next walls
            candidates.append((None, f"{type(exc).__name__}: {exc}"))
    candidates.append((Walls(False, runtimes.in_place()), ""))
    return candidates


_walls = None
_walls_lock = threading.Lock()


def default_walls():
    """The walls children get: those chosen by `use_walls`, else the most protective."""
    global _walls
    with _walls_lock:
        if _walls is None:
            _walls = next(w for w, _ in candidate_walls() if w is not None)
        return _walls


def use_walls(walls):
    """Give every later child these walls (the engine's preflight proved they work)."""
    global _walls
    with _walls_lock:
        _walls = walls


@dataclass
class Prepared:
    """A job folder ready for the child: `base` holds the logs, `box` the child's world."""

    base: Path
    box: Path
    uid: int | None
    job: Job


def prepare(job: Job, student_files: dict, trusted_dir: Path, walls: Walls) -> Prepared:
    """The job folder of `job` on the student's files (name -> bytes)."""
    uid = fresh_uid() if walls.own_uid else None
    base = Path(tempfile.mkdtemp(prefix="autograder-job-", dir=jobs_root(walls.own_uid)))
    os.chmod(base, 0o711)  # the child may pass through to its box, not list the logs
    box = base / "box"
    prepared = Prepared(base, box, uid, job)
    try:
        box.mkdir(mode=0o700)
        for folder in ("inputs", "out", "tmp"):
            (box / folder).mkdir()
        _copy_tree(trusted_dir, box, student_files)
        if job.inject:
            (box / "captioning" / f"{REFERENCE_MODULE}.py").write_bytes(job.reference)
        for name, value in job.inputs.items():
            np.save(box / "inputs" / f"{name}.npy", np.ascontiguousarray(value), allow_pickle=False)
        runtime = walls.runtime
        spec = {
            "parent_pid": os.getpid(),
            "uid": uid,
            "gid": uid,
            "limits": job.limits.rlimits(walls.own_uid),
            "runtime": {
                "stdlib": list(runtime.stdlib),
                "numpy_parent": runtime.numpy_parent,
                "remap": [list(pair) for pair in runtime.remap],
            },
            "read_paths": runtime.read_paths(),
            "student_files": list(STUDENT_FILES),
            "output_cap": job.limits.output,
            "seed": job.seed,
            "steps": [{**step.op, "name": step.name} for step in job.steps],
            "inject": list(job.inject),
        }
        (box / "job.json").write_text(json.dumps(spec))
        if uid is not None:
            for path in [box, *box.rglob("*")]:
                os.chown(path, uid, uid, follow_symlinks=False)
    except BaseException:
        remove_box(base)
        raise
    return prepared


@dataclass
class Ended:
    """How the child ended: measured by the parent, after the group was killed."""

    termination: str  # "exited", "timeout", "signal"
    returncode: int
    seconds: float
    max_rss_mb: float
    cpu_seconds: float


def child_env(box):
    """The whole environment of a child: an allow-list, its box as HOME and TMPDIR."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(box),
        "TMPDIR": str(box / "tmp"),
        "LANG": "C.UTF-8",
        **{name: "1" for name in BLAS_THREAD_VARIABLES},
    }


def run(prepared: Prepared, zygote: forking.Zygote | None = None) -> Ended:
    """Start the child on a prepared box (forked by `zygote`, else spawned); return once
    it and everything it started are dead."""
    box, base = prepared.box, prepared.base
    env = child_env(box)
    start = time.perf_counter()
    with open(base / "stdout.txt", "wb") as fo, open(base / "stderr.txt", "wb") as fe:
        pid, proc = None, None
        if zygote is not None:
            with open(os.devnull, "rb") as null:
                try:
                    pid = zygote.fork(box / "job.json", box, env, null, fo, fe)
                except forking.ZygoteError as exc:
                    _spawning_from_now(zygote, str(exc))
        if pid is None:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", str(CHILD), str(box / "job.json")],
                cwd=box,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=fo,
                stderr=fe,
                start_new_session=True,
                close_fds=True,
            )
            pid = proc.pid
        try:
            finished = _wait_pid(pid, prepared.job.limits.wall)
        finally:
            _kill_everything(pid, prepared.uid)
            _, status, usage = os.wait4(pid, 0)
            returncode = os.waitstatus_to_exitcode(status)
            if proc is not None:
                proc.returncode = returncode
    if not finished:
        termination = "timeout"
    elif returncode < 0:
        termination = "signal"
    else:
        termination = "exited"
    return Ended(
        termination=termination,
        returncode=returncode,
        seconds=time.perf_counter() - start,
        max_rss_mb=usage.ru_maxrss / 1024,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
    )


def _wait_pid(pid, seconds):
    """Wait for the child `pid` to exit without reaping it; True if it did in time."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    if pidfd is None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
            time.sleep(0.01)
        return False
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(max(0, int(seconds * 1000))))
    finally:
        os.close(pidfd)


# --- the zygote: children forked from a process that has numpy loaded ---------------
NO_ZYGOTE = "AUTOGRADER_NO_ZYGOTE"  # set to 1: spawn every child, as before the zygote
ZYGOTE_CANARY = ("numpy", "json", "dataclasses")  # dataclasses: read after the fork
_zygotes = {}
_zygotes_lock = threading.RLock()  # a failing canary fork falls back under it


def _forget_zygotes():
    """In a fork of the grader: its zygotes are the grader's, not this process's."""
    global _zygotes, _zygotes_lock
    _zygotes, _zygotes_lock = {}, threading.RLock()


os.register_at_fork(after_in_child=_forget_zygotes)


def _note(text):
    print(f"autograder: {text}", file=sys.stderr, flush=True)


def zygote_for(walls: Walls) -> forking.Zygote | None:
    """The zygote that forks the children of these walls, once it has proven that its
    forks can run a job; None where children are spawned (said once, on stderr)."""
    if os.environ.get(NO_ZYGOTE) == "1":
        return None
    key = walls.runtime
    with _zygotes_lock:
        if key not in _zygotes:
            _zygotes[key] = _proven_zygote(walls)
        zygote = _zygotes[key]
    return None if zygote is None or zygote.dead else zygote


def zygote_pids():
    """The pids of the zygotes of this process that are running (they never run student code)."""
    return forking.running()


def _spawning_from_now(zygote, why):
    """The zygote failed to make a child: stop it, and spawn every later child."""
    with _zygotes_lock:
        in_use = [key for key, value in _zygotes.items() if value is zygote]
        for key in in_use:
            _zygotes[key] = None
        if in_use:
            _note(f"children are spawned from now on, not forked (the zygote: {why})")
    zygote.dead = zygote.dead or why
    zygote.close()


def _zygote_canary(walls, zygote):
    """None if a child (forked by `zygote`, else spawned) imports ZYGOTE_CANARY under
    `walls`, else why not."""
    job = Job(steps=[jobs.imports("canary", ZYGOTE_CANARY)])
    empty = {name: b"" for name in STUDENT_FILES}
    prepared = prepare(job, empty, paths.provided_dir(), walls)
    try:
        ended = run(prepared, zygote)
        record = _read_status(prepared.box / "out" / "status_canary.json")
        stderr = _read_text(prepared.base / "stderr.txt", LOG_BYTES).strip()
    finally:
        remove_box(prepared.base)
    if record and record.get("ok") and ended.termination == "exited" and not ended.returncode:
        return None
    if record and record.get("message"):
        return record["message"]
    return f"its child ended ({ended.termination}, code {ended.returncode}): " + (
        stderr.splitlines()[-1] if stderr else "no output"
    )


def _proven_zygote(walls):
    machine = os.uname().machine
    if machine not in forking.CLONE_MACHINES:
        _note(f"children are spawned one by one, not forked (no clone known on {machine})")
        return None
    try:
        zygote = forking.Zygote(
            {
                "stdlib": list(walls.runtime.stdlib),
                "numpy_parent": walls.runtime.numpy_parent,
                "remap": [list(pair) for pair in walls.runtime.remap],
            }
        )
    except forking.ZygoteError as exc:
        _note(f"children are spawned one by one, not forked (no zygote: {exc})")
        return None
    why = _zygote_canary(walls, zygote)
    if zygote.dead:
        _note(f"children are spawned one by one, not forked (the zygote: {zygote.dead})")
        return None
    if why is None:
        return zygote
    if _zygote_canary(walls, None) is not None:
        return zygote  # a spawned child fails too: the walls' fault, which preflight reports
    zygote.close()
    _note(f"children are spawned one by one, not forked (the zygote's canary: {why})")
    return None


def collect(prepared: Prepared, ended: Ended) -> Outcome:
    """Everything the child left that the parent may use, read with no trust in it."""
    out, base = prepared.box / "out", prepared.base
    job = prepared.job
    return Outcome(
        termination=ended.termination,
        returncode=ended.returncode,
        seconds=ended.seconds,
        statuses={
            step.name: record
            for step in job.steps
            if (record := _read_status(out / f"status_{step.name}.json")) is not None
        },
        stdout=_read_text(base / "stdout.txt", LOG_BYTES),
        stderr=_read_text(base / "stderr.txt", LOG_BYTES),
        confinement=_read_status_list(out / "confinement.json"),
        limits=job.limits,
        arrays={name: _load_array(out / f"{name}.npy") for name in job.outputs()},
        max_rss_mb=ended.max_rss_mb,
        cpu_seconds=ended.cpu_seconds,
    )


class BoxLeftBehind(OSError):
    """A job folder the parent could not remove (`run_job(..., strict=True)`)."""


def run_job(
    job: Job, student_files: dict, trusted_dir: Path, walls: Walls | None = None, strict=False
) -> Outcome:
    """Run `job` on the student's two files (name -> bytes) and collect the outcome.

    `strict`: raise BoxLeftBehind when the job folder cannot be removed afterwards
    (the canary: walls whose boxes cannot be removed do not work here)."""
    walls = walls or default_walls()
    prepared = prepare(job, student_files, trusted_dir, walls)
    try:
        outcome = collect(prepared, run(prepared, zygote_for(walls)))
    finally:
        removed = remove_box(prepared.base)
    if strict and not removed:
        raise BoxLeftBehind(f"its job folder {prepared.base} could not be removed")
    return outcome


def remove_box(path):
    """Remove a job folder even if the child took the rights off its files; True once
    it is gone. Never raises: a folder that cannot be removed (a root without
    CAP_DAC_OVERRIDE in front of a box another uid owns) is logged and left."""

    retried = set()
    top = os.path.abspath(path)

    def inside(place):
        place = os.path.abspath(place)
        return place == top or place.startswith(top + os.sep)

    def unlock(func, target, _exc):
        # Give the owner's rights back to the entry (never through a link the child
        # made) and to its folder, then try once more: the same removal, or the
        # folder that could not be entered. Nothing outside the job folder is
        # touched: the folder of the job folder itself is the shared /tmp.
        if target in retried:
            return
        retried.add(target)
        for place in (os.path.dirname(target), target):
            try:
                if inside(place) and not os.path.islink(place):
                    os.chmod(place, 0o700)
            except OSError:
                pass
        try:
            if func in (os.rmdir, os.unlink, os.remove):
                func(target)
            elif os.path.isdir(target) and not os.path.islink(target):
                _rmtree(target, unlock)
        except OSError:
            pass

    try:
        _rmtree(path, unlock)
    except Exception as exc:  # noqa: BLE001 - cleanup must not sink grading
        _log.warning("autograder: could not remove %s (%s: %s)", path, type(exc).__name__, exc)
        return False
    if os.path.lexists(path):
        _log.warning("autograder: could not remove the job folder %s; left in place", path)
        return False
    return True


def _rmtree(path, handler):
    if not os.path.lexists(path):
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=handler)
    else:
        shutil.rmtree(path, onerror=handler)


def _read_status_list(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            value = json.loads(f.read(MAX_STATUS_BYTES))
    except (OSError, ValueError):
        return []
    return [str(v)[:100] for v in value] if isinstance(value, list) else []
