"""``autograder nbgrader-autograde ASSIGNMENT``: nbgrader's autograde, several students at once.

``nbgrader autograde`` grades one student after another in one process, and
nbgrader has no parallel autograde. This command runs the very same
converter (nbgrader's ``Autograde``, through its API, with the course's
``nbgrader_config.py`` and therefore the trusted-grading plugin and the
confined kernels) for one student at a time in each of ``--workers``
long-lived processes, all writing the course's one ``gradebook.db``:

- the engine grades each student's ``.py`` files here, ahead of the workers
  (its children use the cores the kernels leave idle); a worker's
  ``StartTrustedGrading`` takes those verdicts when the files it reads before
  the first kernel are the same bytes, and grades them itself otherwise;
- every gradebook session of a worker holds an exclusive lock, so SQLite
  never has two writers; a run puts back its own student's rows after each
  kernel, and when no kernel is left, every row of the assignment is put
  back to its trusted value, as the serial run does after each kernel;
- ``autograded/.autograder-<assignment>/done.json`` records who is graded,
  with a digest of what was graded (notebooks, ``.py`` files, timestamp); the
  next run skips them unless ``--force`` or the submission changed;
- a progress bar, a summary at the end, one log per student and per worker
  in ``autograded/.autograder-<assignment>/logs/``.

With the same ``--seed`` the grades, comments and autograded notebooks are
those of ``nbgrader autograde ASSIGNMENT --StartTrustedGrading.seed=S``.
"""

from __future__ import annotations

from ...blas import one_thread_by_default

one_thread_by_default()

import argparse  # noqa: E402
import fcntl  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import queue  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from ... import paths  # noqa: E402
from ...engine import (  # noqa: E402
    SandboxUnavailable,
    default_workers,
    grade_files,
    load_rubric,
    not_graded,
)
from ...engine.submission import SubmissionError, locate  # noqa: E402


def state_dir(course: Path, assignment: str) -> Path:
    """Where the command keeps its journal, lock and logs (never under a student's folder)."""
    return course / "autograded" / f".autograder-{assignment}"


def read_submission(folder: Path):
    """The student's files, or the SubmissionError that says why they cannot be had."""
    try:
        return locate(folder)
    except SubmissionError as exc:
        return exc


def submission_digest(folder: Path, files) -> str:
    """sha256 of what decides a grade: the notebooks, the timestamp and the student's files
    as read_submission returned them."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.ipynb")) + [folder / "timestamp.txt"]:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    if isinstance(files, SubmissionError):
        files = {"(unreadable)": str(files).encode()}
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


class Journal:
    """done.json: {student: {digest, score, max_score, seconds, graded_at}}, written atomically."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.entries = json.loads(path.read_text())["students"]
        except (OSError, ValueError, KeyError, TypeError):
            self.entries = {}

    def is_done(self, student, digest, notebooks_dir: Path, notebooks):
        entry = self.entries.get(student)
        if not isinstance(entry, dict) or entry.get("digest") != digest:
            return False
        return all((notebooks_dir / name).is_file() for name in notebooks)

    def record(self, student, **entry):
        self.entries[student] = entry
        self._write()

    def forget(self, student):
        if self.entries.pop(student, None) is not None:
            self._write()

    def _write(self):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"students": self.entries}, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


# ---------------------------------------------------------------- worker side


class GradebookLock:
    """An exclusive flock held while any nbgrader Gradebook of this process is open.

    Re-entrant within the process (nbgrader opens a Gradebook inside another);
    a session is short (no kernel runs while one is open), so waiting is brief.
    """

    def __init__(self, path: Path):
        self.path = path
        self.depth = 0
        self.fd = None

    def acquire(self):
        if self.depth == 0:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.depth += 1

    def release(self):
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def install(self):
        """Wrap nbgrader's Gradebook: the lock from its creation to its close()."""
        from nbgrader import api

        lock, init, close = self, api.Gradebook.__init__, api.Gradebook.close

        def locked_init(gb, *args, **kwargs):
            lock.acquire()
            gb._autograder_locked = True
            try:
                init(gb, *args, **kwargs)
            except BaseException:
                gb._autograder_locked = False
                lock.release()
                raise

        def unlocking_close(gb):
            try:
                close(gb)
            finally:
                if getattr(gb, "_autograder_locked", False):
                    gb._autograder_locked = False
                    lock.release()

        api.Gradebook.__init__ = locked_init
        api.Gradebook.close = unlocking_close


def _worker(index, course, assignment, seed, inbox, outbox):
    """One grading process: nbgrader's API in the course, one student per message."""
    logs = state_dir(Path(course), assignment) / "logs"
    # Kernels' and nbgrader's own console output goes to this worker's log.
    log_fd = os.open(logs / f"worker-{index}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.chdir(course)
    try:
        from nbgrader.api import Gradebook, MissingEntry
        from nbgrader.apps import NbGraderAPI
        from nbgrader.apps.nbgraderapp import NbGraderApp
        from traitlets.config import Config

        from . import plugin

        plugin.SHARED_GRADEBOOK = True
        GradebookLock(state_dir(Path(course), assignment) / "gradebook.lock").install()
        app = NbGraderApp()
        app.initialize([])
        if seed is not None:
            app.update_config(Config({"StartTrustedGrading": {"seed": seed}}))
        api = NbGraderAPI(parent=app)
        db_url = api.coursedir.db_url
    except Exception as exc:  # noqa: BLE001 - said to the parent, which stops
        outbox.put(("broken", index, f"{type(exc).__name__}: {exc}"))
        return
    outbox.put(("ready", index))
    while True:
        message = inbox.get()
        kind = message[0]
        if kind == "stop":
            return
        if kind == "survey":
            students = {}
            for student in sorted(api.get_submitted_students(assignment)):
                students[student] = api.coursedir.format_path(
                    api.coursedir.submitted_directory, student, assignment
                )
            with Gradebook(db_url) as gb:
                try:
                    notebooks = [
                        nb.name + ".ipynb" for nb in gb.find_assignment(assignment).notebooks
                    ]
                    baseline = plugin._grade_rows(gb, assignment)
                except MissingEntry:
                    notebooks, baseline = None, {}
            outbox.put(("survey", index, students, notebooks, baseline))
        elif kind == "grade":
            _, student, files, results = message
            plugin.PRESET_VERDICTS[(assignment, student)] = (files, results)
            plugin.RESTORED_ROWS.clear()
            start = time.perf_counter()
            outcome = api.autograde(assignment, student, force=True, create=True)
            seconds = time.perf_counter() - start
            plugin.PRESET_VERDICTS.pop((assignment, student), None)
            (logs / f"{student}.log").write_text(outcome.get("log") or "")
            score = max_score = None
            if outcome["success"]:
                try:
                    with Gradebook(db_url) as gb:
                        submission = gb.find_submission(assignment, student)
                        score, max_score = submission.score, submission.max_score
                except MissingEntry:
                    outcome = {"success": False, "error": "no submission in the gradebook"}
            problem = None if outcome["success"] else _problem(outcome)
            rows = dict(plugin.RESTORED_ROWS)
            outbox.put(("graded", index, student, problem, rows, score, max_score, seconds))
        elif kind == "finish":
            try:
                plugin.restore_rows(message[1], db_url, app.log)
                outbox.put(("finished", index, None))
            except Exception as exc:  # noqa: BLE001
                outbox.put(("finished", index, f"{type(exc).__name__}: {exc}"))


def _problem(outcome):
    """One line that says why nbgrader gave up on a student."""
    lines = [line for line in (outcome.get("log") or "").splitlines() if "[ERROR]" in line]
    error = (outcome.get("error") or "").strip().splitlines()
    return (lines[-1] if lines else error[-1] if error else "autograde failed").strip()


# ---------------------------------------------------------------- parent side


@dataclass
class Summary:
    graded: dict = field(default_factory=dict)  # student -> (score, max_score, seconds)
    skipped: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # student -> one line
    seconds: float = 0.0
    workers: int = 0

    def lines(self, assignment, logs):
        n = len(self.graded) + len(self.failed)
        each = f" ({self.seconds / n:.1f} s a student)" if n else ""
        out = [
            f"nbgrader-autograde {assignment}: {n} student(s) in {self.seconds:.1f} s with "
            f"{self.workers} worker(s){each}",
            f"  graded {len(self.graded)}, already graded {len(self.skipped)} (skipped; --force "
            f"grades them again), failed {len(self.failed)}",
        ]
        scores = [s for s, _, _ in self.graded.values() if s is not None]
        if scores:
            top = max((m for _, m, _ in self.graded.values() if m is not None), default=0)
            out.append(
                f"  scores: mean {statistics.fmean(scores):.1f} of {top:g}, median "
                f"{statistics.median(scores):g}, min {min(scores):g}, max {max(scores):g}"
            )
        for student, why in sorted(self.failed.items()):
            out.append(f"  FAILED {student}: {why}")
        out.append(f"  logs: {logs}")
        return out


class Pool:
    """The worker processes and the one queue they answer on."""

    def __init__(self, count, course, assignment, seed):
        self.context = multiprocessing.get_context("spawn")
        self.outbox = self.context.Queue()
        self.args = (str(course), assignment, seed)
        self.procs, self.inboxes = {}, {}
        self.early_ready = set()  # workers that said ready while another answer was awaited
        for index in range(count):
            self.start(index)

    def start(self, index):
        inbox = self.context.Queue()
        proc = self.context.Process(
            target=_worker, args=(index, *self.args, inbox, self.outbox), daemon=True
        )
        proc.start()
        self.procs[index], self.inboxes[index] = proc, inbox

    def send(self, index, *message):
        self.inboxes[index].put(message)

    def receive(self, timeout):
        try:
            return self.outbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def dead(self):
        return [i for i, p in self.procs.items() if p.exitcode is not None]

    def close(self):
        for index in self.procs:
            try:
                self.send(index, "stop")
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.exitcode is None:
                proc.terminate()
                proc.join(5)


class Stop(Exception):
    """Nobody can be graded: the message says why."""


def _engine_ahead(tasks, seed, engine_workers, ready, failure):
    """Grade every student's files (read before any kernel ran) with the engine, in order."""
    rubric = load_rubric()
    try:
        for student, files, problem in tasks:
            if files:
                results = grade_files(files, rubric, workers=engine_workers, seed=seed)
            else:  # what the engine says of an unreadable or incomplete submission
                results = not_graded(problem, rubric, seed)
            ready.put((student, files, results))
    except BaseException as exc:  # noqa: BLE001 - the main thread stops on it
        failure.append(exc)
        ready.put(None)


def autograde(course, assignment, workers, students=None, force=False, seed=None, progress=True):
    """Autograde the class of `assignment` in `course`; the Summary of what happened."""
    from tqdm import tqdm

    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        raise Stop(f"{course} has no nbgrader_config.py: run this in the course directory")
    state = state_dir(course, assignment)
    (state / "logs").mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    journal = Journal(state / "done.json")
    summary = Summary(workers=workers)
    start = time.perf_counter()
    pool = Pool(workers, course, assignment, seed)
    try:
        message = _wait(pool, "ready")
        first = message[1]
        pool.send(first, "survey")
        _, _, submitted, notebooks, baseline = _wait(pool, "survey")
        if notebooks is None:
            raise Stop(f"the gradebook has no assignment {assignment!r}: generate it first")
        idle = {first} | pool.early_ready
        if students:
            unknown = sorted(set(students) - set(submitted))
            if unknown:
                raise Stop(f"no submission of {assignment} from: {', '.join(unknown)}")
            submitted = {s: f for s, f in submitted.items() if s in students}
        # Everyone's files are read before the first kernel runs, as nbgrader's serial
        # run (with the plugin) does: no kernel can change what another student is graded on.
        tasks, digests = [], {}
        for student, folder in submitted.items():
            files = read_submission(Path(folder))
            digests[student] = submission_digest(Path(folder), files)
            done_dir = course / "autograded" / student / assignment
            if not force and journal.is_done(student, digests[student], done_dir, notebooks):
                summary.skipped.append(student)
            elif isinstance(files, SubmissionError):
                tasks.append((student, {}, files))
            else:
                tasks.append((student, files, None))
        ready, failure = queue.Queue(), []
        engine = threading.Thread(
            target=_engine_ahead,
            args=(tasks, seed, default_workers(), ready, failure),
            daemon=True,
        )
        engine.start()
        waiting, busy, rows = [], {}, dict(baseline)
        bar = tqdm(total=len(tasks), unit="student", disable=not progress, file=sys.stderr)
        while len(summary.graded) + len(summary.failed) < len(tasks):
            while True:
                try:
                    item = ready.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    raise Stop(f"the engine could not grade: {failure[0]}")
                waiting.append(item)
            while waiting and idle:
                index = idle.pop()
                student, files, results = waiting.pop(0)
                busy[index] = student
                pool.send(index, "grade", student, files, results)
            message = pool.receive(timeout=0.2)
            if message is not None:
                kind, index = message[0], message[1]
                if kind == "ready":
                    idle.add(index)
                    pool.early_ready.discard(index)
                elif kind == "broken":
                    raise Stop(f"a grading process could not start: {message[2]}")
                elif kind == "graded":
                    _, _, student, problem, student_rows, score, top, seconds = message
                    busy.pop(index, None)
                    idle.add(index)
                    rows.update(student_rows)
                    if problem is None:
                        summary.graded[student] = (score, top, seconds)
                        journal.record(
                            student,
                            digest=digests[student],
                            score=score,
                            max_score=top,
                            seconds=round(seconds, 2),
                            graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        )
                    else:
                        summary.failed[student] = problem
                        journal.forget(student)
                    bar.set_postfix_str(f"{student}: {'failed' if problem else f'{score:g}'}")
                    bar.update(1)
            for index in pool.dead():
                student = busy.pop(index, None)
                idle.discard(index)
                if student is not None:
                    summary.failed[student] = (
                        f"its grading process died (exit code {pool.procs[index].exitcode}): "
                        f"see {state / 'logs' / f'worker-{index}.log'}"
                    )
                    journal.forget(student)
                    bar.update(1)
                pool.start(index)
        bar.close()
        # No kernel is alive now: every score of the assignment to its trusted value.
        idle |= pool.early_ready
        index = next(iter(idle)) if idle else _wait(pool, "ready")[1]
        pool.send(index, "finish", rows)
        problem = _wait(pool, "finished")[2]
        if problem:
            raise Stop(f"the gradebook could not be put back to the trusted scores: {problem}")
    finally:
        pool.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _wait(pool, kind, timeout=600):
    """The next message of this kind (others: a ready worker is noted by the caller later)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pool.receive(timeout=0.5)
        if message is None:
            if pool.dead() and kind in ("ready", "survey"):
                raise Stop("a grading process died while starting: see its log")
            continue
        if message[0] == "broken":
            raise Stop(f"a grading process could not start: {message[2]}")
        if message[0] == kind:
            return message
        if message[0] == "ready":
            pool.early_ready.add(message[1])
    raise Stop(f"no grading process answered in {timeout} s")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="autograder nbgrader-autograde",
        description="nbgrader autograde of a whole class, several students at once "
        "(run in the course directory).",
    )
    parser.add_argument("assignment", nargs="?", default=paths.ASSIGNMENT)
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="default: here")
    parser.add_argument(
        "--workers", type=int, default=default_workers(), help="students at once (default: cores)"
    )
    parser.add_argument(
        "--student", action="append", help="only this student (repeat for more)", default=None
    )
    parser.add_argument("--force", action="store_true", help="grade again who is already graded")
    parser.add_argument("--seed", type=int, help="seed of the engine's draws for every student")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        summary = autograde(
            args.course,
            args.assignment,
            args.workers,
            students=args.student,
            force=args.force,
            seed=args.seed,
            progress=not args.no_progress,
        )
    except (Stop, SandboxUnavailable) as exc:
        print(f"autograder nbgrader-autograde: nothing more graded: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to go on", file=sys.stderr)
        return 130
    logs = state_dir(args.course.resolve(), args.assignment) / "logs"
    print("\n".join(summary.lines(args.assignment, logs)))
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
