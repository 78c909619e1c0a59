"""Grade one submission: the pipeline from a path to one result per rubric check.

    locate the student files -> build the jobs (parent: inputs, expected
    values) -> run each job in a sandboxed child -> judge each outcome
    (parent) -> scores from the rubric

Both front ends (the ``autograder`` CLI and the nbgrader hidden cells) call
``grade_submission`` and read the same rubric through ``load_rubric``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import threading
import traceback
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import paths
from ..blas import limit_loaded_blas
from ..sandbox import Job, candidate_walls, jobs, run_job, use_walls
from . import isolation, reference
from .checks import GROUPS
from .checks.common import Context, Verdict
from .submission import SubmissionError, locate


@dataclass
class CheckResult:
    name: str
    function: str
    score: float
    max_score: float
    status: str  # "passed" or "failed"
    output: str
    visibility: str
    cell: str
    seed: int | None = None  # of the grade's random draws: `grade --seed` repeats them


def default_workers():
    """How many children run at once unless told: one per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_rubric(path=None) -> list:
    """The rubric's checks, in order: dicts with name, points, function, cell, visibility."""
    with open(path or paths.RUBRIC) as f:
        rubric = json.load(f)
    checks = rubric["checks"]
    names = [c["name"] for c in checks]
    if len(set(names)) != len(names):
        raise ValueError("the rubric names a check twice")
    known = {name for group in GROUPS for name in group.checks}
    unknown = set(names) - known
    if unknown:
        raise ValueError(f"the rubric names checks the engine does not have: {sorted(unknown)}")
    return checks


# What a child must be able to import before anyone is graded: the standard library
# (whatever the Python that grades, wherever it is installed) and numpy.
CANARY_MODULES = (
    "__future__ subprocess typing dataclasses collections copy itertools functools math "
    "warnings builtins numpy numpy.linalg numpy.random numpy.testing"
).split()


class SandboxUnavailable(RuntimeError):
    """No confined child could import what student code may import: grading stops."""


_proven = []
_preflight_lock = threading.Lock()


def _canary(walls):
    """(None, applied confinement) if a child with these walls imports CANARY_MODULES,
    else (why not, applied confinement)."""
    job = Job(steps=[jobs.imports("canary", CANARY_MODULES)])
    empty = {name: b"" for name in paths.STUDENT_FILES}
    outcome = run_job(job, empty, paths.provided_dir(), walls, strict=True)
    record = outcome.status("canary")
    if record and record.get("ok"):
        return None, outcome.confinement
    if record and record.get("message"):
        return record["message"], outcome.confinement
    return (
        f"the child ended ({outcome.termination}, code {outcome.returncode}): "
        + (outcome.stderr.strip().splitlines() or ["no output"])[-1],
        outcome.confinement,
    )


def _first_line(text, limit=200):
    line = (str(text).strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _walls_text(walls, applied, no_own_uid=""):
    """One line on the walls around student code, and what is missing; `no_own_uid`:
    why the children do not get a uid of their own."""
    up = [c for c in applied if not c.startswith("no ")]
    has = " ".join(up)
    words = [walls.describe()]
    if no_own_uid:
        words[0] = words[0].replace(
            "the grader's uid", f"the grader's uid (no uid of its own: {no_own_uid})", 1
        )
    words += ["Landlock" if "landlock" in has else "no Landlock"]
    words += ["seccomp" if "seccomp" in has else "no seccomp"]
    words += ["CPU, memory and file limits" if "rlimits" in has else "no resource limits"]
    missing = []
    if not walls.own_uid and "landlock" not in has:
        missing.append("it can read and write your files")
    if "seccomp" not in has:
        missing.append("it can start processes and signal yours")
    text = "autograder: student code runs with " + ", ".join(words)
    return text + (" (warning: " + "; ".join(missing) + ")" if missing else "")


def preflight():
    """Prove, once per process and before anyone is graded, that a confined child can
    import the standard library and numpy; choose the most protective walls that allow
    it, and say which walls are up. Raises SandboxUnavailable with what to change."""
    with _preflight_lock:
        if _proven:
            return _proven[0]
        tried = []
        no_own_uid = "the grader is not root" if os.geteuid() != 0 else ""
        for walls, why_not in candidate_walls():
            if walls is None:
                tried.append(f"a uid of its own: {why_not}")
                no_own_uid = no_own_uid or why_not
                continue
            try:
                why, applied = _canary(walls)
            except Exception as exc:  # noqa: BLE001 - any failure: these walls do not work here
                why, applied = f"its canary could not run ({type(exc).__name__}: {exc})", []
            if why is None and os.geteuid() == 0 and not walls.own_uid:
                if not any(c.startswith("landlock") for c in applied):
                    why = "as root without a uid of its own, only Landlock could protect your files"
            if why is None:
                use_walls(walls)
                print(_walls_text(walls, applied, no_own_uid), file=sys.stderr)
                _proven.append(walls)
                return walls
            tried.append(f"{walls.describe()}: {why}")
            if walls.own_uid:
                no_own_uid = no_own_uid or _first_line(why)
        raise SandboxUnavailable(
            "autograder: student code cannot run confined here, so nobody was graded.\n  "
            + "\n  ".join(tried)
            + "\nWhat to change: let every user read the Python installation and numpy "
            "(chmod o+rx on each folder from / down to sys.base_prefix), or install Python "
            "where every user can read it (/usr/local, /opt), or grade as a non-root user; "
            "make sure /tmp allows executable files (not mounted noexec)."
        )


def _select(rubric, checks):
    if checks is None:
        return rubric
    wanted = set(checks)
    unknown = wanted - {c["name"] for c in rubric}
    if unknown:
        raise ValueError(f"unknown checks: {sorted(unknown)}")
    return [c for c in rubric if c["name"] in wanted]


def _result(entry, passed, output, seed=None):
    return CheckResult(
        name=entry["name"],
        function=entry["function"],
        score=float(entry["points"]) if passed else 0.0,
        max_score=float(entry["points"]),
        status="passed" if passed else "failed",
        output=output,
        visibility=entry.get("visibility", "visible"),
        cell=entry.get("cell", entry["name"]),
        seed=seed,
    )


@contextlib.contextmanager
def _quiet():
    """No numpy warning on stderr while judging wild student values (an nbgrader test
    cell that writes to stderr scores 0)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def grade_submission(submission, checks=None, workers=1, seed=None) -> list:
    """Grade the submission at `submission` (a folder or .zip); one CheckResult per check.

    `checks` limits grading to these rubric check names; `workers` is the
    number of children run at the same time; `seed` fixes the random inputs
    (by default they are drawn afresh from the operating system).
    """
    selected = _select(load_rubric(), checks)
    seed = secrets.randbits(32) if seed is None else int(seed)
    try:
        files = locate(Path(submission))
    except SubmissionError as exc:
        return not_graded(exc, selected, seed)
    return grade_files(files, selected, workers=workers, seed=seed)


def not_graded(reason, selected, seed=None) -> list:
    """One failed CheckResult per rubric entry of `selected`, saying why nothing was graded."""
    seed = secrets.randbits(32) if seed is None else int(seed)
    return [_result(entry, False, f"Not graded: {reason}", seed) for entry in selected]


def group_rng(seed, group, attempt=0):
    """The random generator of one check group's run: a function of the grade's seed, the
    group and the attempt only, so that `--seed` repeats every draw whatever is graded."""
    key = (zlib.crc32(group.name.encode()), attempt)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _split_hint(message):
    """(the message without its hint lines, the hint lines)."""
    lines = message.split("\n")
    hints = [line for line in lines if line.startswith("Hint:")]
    return "\n".join(line for line in lines if not line.startswith("Hint:")), hints


def _attempts_text(group, runs):
    """The feedback of a group that ran more than once: every run, in order, then the
    hint once (the last run's)."""
    texts = {}
    for name in group.checks:
        lines, hints = [], []
        for attempt, verdicts in enumerate(runs, 1):
            verdict = verdicts.get(name)
            if verdict is not None:
                text, hints = _split_hint(verdict.message)
                lines.append(f"Run {attempt} of at most {group.attempts}: {text}")
        texts[name] = "\n".join(lines + hints)
    return texts


def _with_root_causes(verdicts, isolated):
    """The verdicts once every check is judged: a check that passed only with the
    reference's dependencies passes and names the student's function that breaks it;
    a failing check downstream of other failing functions names them."""
    failed = {
        name
        for name, verdict in verdicts.items()
        if (verdict is None or not verdict.passed) and not isolated.get(name)
    }
    final = dict(verdicts)
    for name, verdict in verdicts.items():
        if verdict is not None and verdict.passed and verdict.coupled:
            roots = isolation.roots(isolation.failing_uses(name, failed), failed)
            fix = f" Fix {isolation.names(roots)} first." if roots else ""
            final[name] = Verdict(True, verdict.message + fix)
        if verdict is None or verdict.passed:
            continue
        failing = isolation.failing_uses(name, failed)
        if isolated.get(name):
            final[name] = Verdict(True, isolation.isolated_pass_text(name, failing, failed))
        elif failing:
            line = isolation.root_cause_text(name, failing, failed)
            final[name] = Verdict(False, f"{verdict.message}\n{line}", verdict.retry)
    return final


def grade_files(files, selected, workers=1, seed=None, time_scale=1.0):
    """Grade the student files (name -> bytes) on the rubric entries `selected`.

    `seed` fixes every random draw (fresh from the operating system by
    default; each CheckResult records it). A group with several `attempts`
    (the training checks) runs again with fresh draws after a run that
    completed but missed its threshold, and passes when one run passes.
    `time_scale` multiplies every time limit (the tests shorten them). No
    student code runs before the canary child has proven the walls (`preflight`),
    which runs while the first jobs are being built.
    """
    names = {entry["name"] for entry in selected}
    groups = [g for g in GROUPS if names & set(g.checks)]
    isolate = isolation.enabled()
    if isolate:  # parsed here, before any worker thread exists (see isolation)
        isolation.reference_functions()
    limit_loaded_blas()  # numpy may have been imported before a front end could say so
    seed = secrets.randbits(32) if seed is None else int(seed)
    ref = reference.load()

    def plan(group, attempt):
        with _quiet():
            return group.build(Context(rng=group_rng(seed, group, attempt), ref=ref, seed=seed))

    def judged(group, built, job):
        """The group's verdicts on one run of `job` (None for a grader error)."""
        if time_scale != 1.0:
            job = replace(job, limits=job.limits.scaled(time_scale))
        proven.result()  # SandboxUnavailable, if the walls could not be proven
        outcome = run_job(job, files, paths.provided_dir())
        try:
            with _quiet():
                return group.judge(built, outcome)
        except Exception:  # noqa: BLE001 - a grader bug must not sink the other checks
            traceback.print_exc(file=sys.stderr)
            return None

    def isolated(group, built, verdicts):
        """check -> passed, with the reference's versions of the functions the group's
        checks call; only for a group with such functions where a check failed. Only
        the pass bit of this run is kept (see engine.isolation)."""
        inject = isolation.injected(group.checks) if isolate else ()
        if not inject or all(v is not None and v.passed for v in verdicts.values()):
            return {}
        job = replace(built.job, inject=inject, reference=isolation.reference_source(inject))
        again = judged(group, built, job) or {}
        return {name: bool(v is not None and v.passed) for name, v in again.items()}

    def run(group):
        runs = []
        for attempt in range(getattr(group, "attempts", 1)):
            built = plan(group, attempt)
            verdicts = judged(group, built, built.job)
            if verdicts is None:
                return {name: None for name in group.checks}, {}
            runs.append(verdicts)
            if not any(v is not None and v.retry for v in verdicts.values()):
                break
        if len(runs) == 1:
            return runs[0], isolated(group, built, runs[0])
        texts = _attempts_text(group, runs)
        final = {name: Verdict(verdict.passed, texts[name]) for name, verdict in runs[-1].items()}
        return final, {}

    # The longest jobs first, so that workers finish together.
    order = sorted(groups, key=lambda group: -group.limits.cpu)
    with ThreadPoolExecutor(max_workers=1) as canary:
        proven = canary.submit(preflight)
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results_of_groups = list(pool.map(run, order))
        else:
            results_of_groups = [run(group) for group in order]
    verdicts, passed_isolated = {}, {}
    for part, alone in results_of_groups:
        verdicts.update(part)
        passed_isolated.update(alone)
    verdicts = _with_root_causes(verdicts, passed_isolated)
    results = []
    for entry in selected:
        verdict = verdicts.get(entry["name"])
        if verdict is None:
            results.append(
                _result(entry, False, "Internal grader error: please tell the staff.", seed)
            )
        else:
            results.append(_result(entry, verdict.passed, verdict.message, seed))
    return results
