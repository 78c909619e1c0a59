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
import secrets
import sys
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import paths, reference
from .checks import GROUPS
from .checks.common import Context
from .sandbox import run_job
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

    def to_dict(self):
        return asdict(self)


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


def checks_in_cell(cell, rubric=None) -> list:
    """The rubric checks that belong to an nbgrader grade cell, in order."""
    return [c["name"] for c in (rubric or load_rubric()) if c.get("cell") == cell]


_warned = []


def _warn_if_weakly_confined(outcome):
    """Say once if a wall of the sandbox is missing: without a uid of its own and without
    Landlock, student code can read and write this user's files; without seccomp it can
    start processes and signal this user's other processes."""
    if not outcome.confinement or _warned:
        return
    applied = [c for c in outcome.confinement if not c.startswith("no ")]
    text = " ".join(applied)
    missing = []
    if "uid" not in text and "landlock" not in text:
        missing.append("no Landlock and no uid of its own: it can read and write your files")
    if "seccomp" not in text:
        missing.append("no seccomp: it can start processes and signal yours")
    if missing:
        _warned.append(True)
        print("autograder: warning: student code runs with " + "; ".join(missing), file=sys.stderr)


def _select(rubric, checks):
    if checks is None:
        return rubric
    wanted = set(checks)
    unknown = wanted - {c["name"] for c in rubric}
    if unknown:
        raise ValueError(f"unknown checks: {sorted(unknown)}")
    return [c for c in rubric if c["name"] in wanted]


def _result(entry, passed, output):
    return CheckResult(
        name=entry["name"],
        function=entry["function"],
        score=float(entry["points"]) if passed else 0.0,
        max_score=float(entry["points"]),
        status="passed" if passed else "failed",
        output=output,
        visibility=entry.get("visibility", "visible"),
        cell=entry.get("cell", entry["name"]),
    )


def _one_blas_thread():
    """Limit the parent's BLAS to one thread when numpy was imported before the CLI could
    say so (threadpoolctl, if installed, can still do it)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")


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
    try:
        files = locate(Path(submission))
    except SubmissionError as exc:
        return [_result(entry, False, f"Not graded: {exc}") for entry in selected]
    return grade_files(files, selected, workers=workers, seed=seed)


def grade_files(files, selected, workers=1, seed=None, time_scale=1.0):
    """Grade the student files (name -> bytes) on the rubric entries `selected`.

    `time_scale` multiplies every time limit (the tests shorten them)."""
    names = {entry["name"] for entry in selected}
    groups = [g for g in GROUPS if names & set(g.checks)]
    _one_blas_thread()
    seed = secrets.randbits(64) if seed is None else seed
    ctx = Context(rng=np.random.default_rng(seed), ref=reference.load())
    with _quiet():
        plans = [(group, group.build(ctx)) for group in groups]

    def run(item):
        group, plan = item
        job = plan.job
        if time_scale != 1.0:
            job = replace(job, limits=job.limits.scaled(time_scale))
        outcome = run_job(job, files, paths.provided_dir())
        _warn_if_weakly_confined(outcome)
        try:
            with _quiet():
                return group.judge(plan, outcome)
        except Exception:  # noqa: BLE001 - a grader bug must not sink the other checks
            traceback.print_exc(file=sys.stderr)
            return {name: None for name in group.checks}

    # The longest jobs first, so that workers finish together.
    order = sorted(plans, key=lambda item: -item[0].limits.cpu)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            judged = list(pool.map(run, order))
    else:
        judged = [run(item) for item in order]
    verdicts = {}
    for part in judged:
        verdicts.update(part)
    results = []
    for entry in selected:
        verdict = verdicts.get(entry["name"])
        if verdict is None:
            results.append(_result(entry, False, "Internal grader error: please tell the staff."))
        else:
            results.append(_result(entry, verdict.passed, verdict.message))
    return results
