"""nbgrader preprocessors: the score of every autograder cell comes from the trusted engine.

nbgrader scores an autograder (grade) code cell from the outputs the
student's kernel left in it: an ``error`` output or anything on stderr gives
0, an ``execute_result`` holding one number gives that many points, anything
else full points (``nbgrader.utils.determine_grade``). The kernel runs the
student's code, so a student cell run before the hidden tests can make those
outputs say anything. Here the kernel's outputs of grade cells do not count:

    StartTrustedGrading -> Execute -> IgnorePattern -> ... -> LimitOutput
      -> ApplyTrustedGrades -> SaveAutoGrades -> AssignLatePenalties -> ...

- ``StartTrustedGrading`` (before the first kernel of each student) reads
  the student's ``rnn_layers.py`` and ``rnn.py`` and grades them with the
  engine, whose child processes never see expected values;
- ``ApplyTrustedGrades`` (after the kernel is dead) replaces the outputs of
  every grade code cell with the engine's feedback for that cell, plus an
  ``error`` output when it scored 0 or an ``execute_result`` with the score
  when it scored part of its points, so that ``SaveAutoGrades`` records
  exactly the engine's score. A grade code cell the rubric does not know
  scores 0.

The kernel still runs as the grader's own user and could write to files.
Two guards cover what the scores depend on: the engine's files (its code,
rubric and stored values, the provided modules, the reference) must be
unchanged since the plugin was loaded, before any kernel ran; and after
every kernel each score of the assignment in the gradebook is put back to
its trusted value (the engine's for autograder cells, nbgrader's own for the
written answers, the manual scores as they were before the run), so a
kernel that edits ``gradebook.db`` gains nothing. Isolating the kernel
itself (a container, another user) is beyond what nbgrader offers: see
docs/nbgrader.md.

Importing this module also replaces nbgrader's quadratic ignore-pattern
check by a linear one (``linear_is_ignored``); nbgrader_config.py imports
it for every nbgrader command of the course.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.api import Grade, Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from sqlalchemy import text
from traitlets import Integer

from .. import paths
from ..blas import THREAD_VARIABLES as BLAS_THREAD_VARIABLES
from ..engine import default_workers, grade_submission, load_rubric
from .nbcheck import TRUSTED_ENV, checks_of_cell, feedback_text


def trusted_files_digest() -> str:
    """Digest of every file the engine trusts: its package, the provided modules, the reference."""
    digest = hashlib.sha256()
    for root in (paths.PACKAGE, paths.provided_dir(), paths.reference_dir()):
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def linear_is_ignored(filename, ignore_globs=None):
    """``nbgrader.utils.is_ignored`` with the same answers, in linear time.

    nbgrader lists the whole directory (``glob``) for every file it copies and
    every ignore pattern: quadratic in the size of a directory, about 20 s per
    student for the 750 images of the synthetic data set on a busy machine.
    A pattern without a path separator only ever matches the file's own name,
    as ``glob`` does: ``*`` does not match a leading dot.
    """
    if not ignore_globs or not os.path.lexists(filename):
        return False
    dirname, name = os.path.split(filename)
    for expr in ignore_globs:
        if "/" in expr or os.sep in expr:
            if filename in glob.glob(os.path.join(dirname, expr)):
                return True
        elif fnmatch.fnmatch(name, expr) and (expr.startswith(".") or not name.startswith(".")):
            return True
    return False


# nbgrader_config.py imports this module, so every nbgrader command of the
# course uses the linear version.
NBGRADER_IS_IGNORED = utils.is_ignored
utils.is_ignored = linear_is_ignored


# Taken when nbgrader imports this module, before it starts any kernel.
TRUSTED_DIGEST = trusted_files_digest()


@dataclass
class _Run:
    """What one autograde run has established."""

    # (assignment, student) -> {cell id: [CheckResult]}
    verdicts: dict = field(default_factory=dict)
    # Grade row id -> (auto_score, manual_score, extra_credit) before any kernel ran.
    baseline: dict | None = None
    # Grade row id -> trusted auto_score, for the cells graded in this run.
    trusted: dict = field(default_factory=dict)
    # Environment variables set for the kernel, with their values before.
    saved_env: dict = field(default_factory=dict)


# One state per run, kept by nbgrader's converter of that run: the formgrader
# runs autograde inside the Jupyter server, again and again in one process.
_RUNS = weakref.WeakKeyDictionary()
_DEFAULT_RUN = _Run()


def _run_of(preprocessor) -> _Run:
    exporter = getattr(preprocessor, "parent", None)
    converter = getattr(exporter, "parent", None)
    if converter is None:
        return _DEFAULT_RUN
    return _RUNS.setdefault(converter, _Run())


def cell_score(results, points):
    """The points a cell earns from its checks, scaled to the cell's points if they differ."""
    if not results:
        return 0.0
    earned = sum(r.score for r in results)
    possible = sum(r.max_score for r in results)
    if possible <= 0:
        return 0.0
    return min(points, points * earned / possible)


def trusted_outputs(cell_id, results, points, execution_count=None):
    """Outputs of a grade cell from which nbgrader's determine_grade reads `score` exactly."""
    if not results:
        message = f"{cell_id}: 0 of {points:g} points (the rubric has no checks for this cell)\n"
        results_text, score = message, 0.0
    else:
        results_text, score = feedback_text(cell_id, results), cell_score(results, points)
    outputs = [new_output("stream", name="stdout", text=results_text)]
    if points > 0 and score <= 0:
        outputs.append(
            new_output(
                "error",
                ename="AutograderFailure",
                evalue=f"{cell_id}: 0 of {points:g} points",
                traceback=[f"AutograderFailure: {cell_id}: 0 of {points:g} points (see above)"],
            )
        )
    elif score < points:
        outputs.append(
            new_output(
                "execute_result",
                data={"text/plain": repr(float(score))},
                execution_count=execution_count,
            )
        )
    return outputs


def _grade_rows(gb, assignment):
    """{grade row id: (auto, manual, extra)} of every graded cell of an assignment."""
    rows = {}
    for submission in gb.find_assignment(assignment).submissions:
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                rows[grade.id] = (grade.auto_score, grade.manual_score, grade.extra_credit)
    return rows


def _restore_gradebook(run, db_url, log):
    """Put every score of the assignment back to its trusted value after a kernel ran."""
    with Gradebook(db_url) as gb:
        if db_url.startswith("sqlite"):
            # nbgrader never creates triggers; one could rewrite the scores below.
            triggers = gb.db.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            for (name,) in list(triggers):
                log.error("Dropping the trigger %r that something added to the gradebook", name)
                quoted = name.replace('"', '""')
                gb.db.execute(text(f'DROP TRIGGER "{quoted}"'))
        wanted = dict(run.baseline)
        for row_id, auto in run.trusted.items():
            _, manual, extra = run.baseline.get(row_id, (None, None, None))
            wanted[row_id] = (auto, manual, extra)
        ids = sorted(wanted)
        seen = set()
        for start in range(0, len(ids), 500):
            for grade in gb.db.query(Grade).filter(Grade.id.in_(ids[start : start + 500])):
                seen.add(grade.id)
                auto, manual, extra = wanted[grade.id]
                if (grade.auto_score, grade.manual_score, grade.extra_credit) != wanted[grade.id]:
                    grade.auto_score, grade.manual_score, grade.extra_credit = auto, manual, extra
        if seen != set(ids):
            raise RuntimeError("grade rows disappeared from the gradebook during autograding")
        gb.db.commit()


class StartTrustedGrading(NbGraderPreprocessor):
    """Grade a student's .py files with the engine before any of the student's kernels runs."""

    workers = Integer(
        0, help="Child processes the engine runs at the same time (0: one per core)."
    ).tag(config=True)
    kernel_blas_threads = Integer(
        1,
        help="BLAS threads of the kernels (unless the environment already sets them): the "
        "notebooks' matrices are small, and extra threads only slow them down on a busy machine.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        run = _run_of(self)
        info = resources["nbgrader"]
        if run.baseline is None:
            with Gradebook(info["db_url"]) as gb:
                run.baseline = _grade_rows(gb, info["assignment"])
        key = (info["assignment"], info["student"])
        if key not in run.verdicts:
            if trusted_files_digest() != TRUSTED_DIGEST:
                raise RuntimeError(
                    "the grading engine's files changed during autograding: scores would not "
                    "be trustworthy (see docs/nbgrader.md)"
                )
            submission = resources["metadata"]["path"]
            start = time.perf_counter()
            results = grade_submission(submission, workers=self.workers or default_workers())
            self.log.info(
                "Graded %s with the trusted engine in %.1f s: %g of %g points",
                submission,
                time.perf_counter() - start,
                sum(r.score for r in results),
                sum(r.max_score for r in results),
            )
            cells = {}
            for result in results:
                cells.setdefault(result.cell, []).append(result)
            run.verdicts[key] = cells
        # The kernel inherits this process's environment when Execute starts
        # it; ApplyTrustedGrades puts it back. check() in the hidden cells has
        # nothing to do, and the kernel uses few BLAS threads.
        kernel_env = {TRUSTED_ENV: "1"}
        for name in BLAS_THREAD_VARIABLES:
            kernel_env[name] = os.environ.get(name, str(self.kernel_blas_threads))
        for name, value in kernel_env.items():
            run.saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        return nb, resources


class ApplyTrustedGrades(NbGraderPreprocessor):
    """Replace the outputs of the grade code cells by the engine's verdicts."""

    def preprocess(self, nb, resources):
        run = _run_of(self)
        for name, value in run.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        run.saved_env.clear()
        info = resources["nbgrader"]
        key = (info["assignment"], info["student"])
        if key not in run.verdicts:
            raise RuntimeError("ApplyTrustedGrades needs StartTrustedGrading before Execute")
        cells = run.verdicts[key]
        with Gradebook(info["db_url"]) as gb:
            for cell in nb.cells:
                if not utils.is_grade(cell):
                    continue
                cell_id = cell.metadata.nbgrader["grade_id"]
                if cell.cell_type == "code":
                    points = float(cell.metadata.nbgrader["points"])
                    results = cells.get(cell_id)
                    if not results:
                        self.log.warning("Grade cell %s has no checks in the rubric: 0", cell_id)
                    execution_count = cell.get("execution_count")
                    cell.outputs = trusted_outputs(cell_id, results, points, execution_count)
                # What SaveAutoGrades records next, from outputs the kernel no longer shapes.
                auto_score, _ = utils.determine_grade(cell, self.log)
                grade = gb.find_grade(
                    cell_id, info["notebook"], info["assignment"], info["student"]
                )
                run.trusted[grade.id] = auto_score
        _restore_gradebook(run, info["db_url"], self.log)
        return nb, resources


def rubric_cell_points():
    """{cell id: points} as the rubric distributes them (what each grade cell must be worth)."""
    points = {}
    rubric = load_rubric()
    for cell in dict.fromkeys(entry.get("cell", entry["name"]) for entry in rubric):
        points[cell] = sum(entry["points"] for entry in checks_of_cell(rubric, cell))
    return points
