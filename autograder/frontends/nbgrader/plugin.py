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

import copy
import fnmatch
import glob
import hashlib
import os
import re
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.api import Grade, Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor, OverwriteCells
from sqlalchemy import text
from traitlets import Integer

from ... import paths
from ...blas import THREAD_VARIABLES as BLAS_THREAD_VARIABLES
from ...engine import default_workers, grade_files, grade_submission, load_rubric
from ...engine.submission import SubmissionError, locate
from . import data as _data_link  # noqa: F401 - autograde links the data set (see there)
from .check import TRUSTED_ENV, checks_of_cell, feedback_text


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
    # The course as it was before any kernel ran: {path: stat signature}, and the bytes of
    # the instructor's files (put back if a kernel changes them).
    snapshot: dict | None = None
    instructor_bytes: dict = field(default_factory=dict)
    # (assignment, student) -> {file name: bytes} read before any kernel ran.
    student_files: dict = field(default_factory=dict)


# Set by the parallel command's workers (autograder/frontends/nbgrader/parallel.py),
# which share gradebook.db: a run then restores only the rows of its own students (the
# command restores every row of the assignment once all kernels are dead).
SHARED_GRADEBOOK = False
# (assignment, student) -> (files, results): the student's files as the parallel
# command read them before any of its kernels ran, and the engine's verdicts on them.
PRESET_VERDICTS: dict = {}
# Grade row id -> (auto, manual, extra): what the last restore of this process wrote.
RESTORED_ROWS: dict = {}


# One state per run, kept by nbgrader's converter of that run: the formgrader
# runs autograde inside the Jupyter server, again and again in one process.
_RUNS = weakref.WeakKeyDictionary()
_DEFAULT_RUN = _Run()


def _converter_of(preprocessor):
    """nbgrader's converter (Autograde) that runs this preprocessor, or None."""
    return getattr(getattr(preprocessor, "parent", None), "parent", None)


def _course_root(preprocessor):
    coursedir = getattr(_converter_of(preprocessor), "coursedir", None)
    return Path(getattr(coursedir, "root", None) or os.getcwd()).resolve()


def _run_of(preprocessor) -> _Run:
    converter = _converter_of(preprocessor)
    if converter is None:
        return _DEFAULT_RUN
    return _RUNS.setdefault(converter, _Run())


# What autograde itself writes, and what is never the course's content.
NOT_SNAPSHOTTED = {"autograded", "feedback", ".git", ".venv", "__pycache__", ".pytest_cache"}
NOT_SNAPSHOTTED |= {".ipynb_checkpoints", ".ruff_cache", "coco_captioning"}
INSTRUCTOR = ("source", "solutions", "autograder", "nbgrader_config.py")


def _course_files(root):
    """Every file of the course that autograde does not write, by path."""
    roots = [Path(root)]
    if not str(paths.PACKAGE).startswith(str(Path(root).resolve()) + os.sep):
        roots.append(paths.PACKAGE)  # the engine, when installed outside the course
    submitted = os.path.join(str(Path(root)), "submitted") + os.sep
    for top in roots:
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in NOT_SNAPSHOTTED)
            if (folder + os.sep).startswith(submitted):
                # The data sets students hand in back are never read (autograde links
                # or copies the instructor's): 1,200 files a student, walked per kernel.
                dirs[:] = [d for d in dirs if d != "datasets"]
            for name in sorted(files):
                if not name.startswith("gradebook.db"):
                    yield Path(folder) / name


def is_instructors(path, root):
    """Whether a file is the instructor's: source/, solutions/, the engine, the config.
    (Plain string prefixes: it is asked for every file of the course after each kernel.)"""
    path = str(path)
    if path.startswith(str(paths.PACKAGE) + os.sep):
        return True
    root = str(root).rstrip(os.sep) + os.sep
    if not path.startswith(root):
        return False
    return path[len(root) :].split(os.sep, 1)[0] in INSTRUCTOR


def _signature(st):
    """What changes whenever a file's content does: a write always moves the ctime,
    which no process can set back."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)


# {path: (signature, bytes)} of the instructor's files, kept across the runs of
# one process (the parallel command's workers grade one student a run).
_INSTRUCTOR_CACHE: dict = {}


def signatures(root):
    """{path: stat signature} of every file of the course that autograde does not write."""
    found = {}
    for path in _course_files(root):
        try:
            found[str(path)] = _signature(os.lstat(path))
        except OSError:
            continue
    return found


def snapshot(root):
    """({path: stat signature} of the course, {path: bytes} of the instructor's files)."""
    found, kept = signatures(root), {}
    for key, signature in found.items():
        if is_instructors(key, root):
            cached = _INSTRUCTOR_CACHE.get(key)
            if cached is None or cached[0] != signature:
                try:
                    cached = _INSTRUCTOR_CACHE[key] = (signature, Path(key).read_bytes())
                except OSError:
                    continue
            kept[key] = cached[1]
    return found, kept


def changed_files(before, root):
    """Paths whose content may differ from `before`: changed, new, or gone."""
    after = signatures(root)
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def _report_changes(run, root, student, log):
    """Name every file a kernel changed outside its folder; put the instructor's back."""
    changed = changed_files(run.snapshot, root)
    for path in changed:
        if path in run.instructor_bytes:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_bytes(run.instructor_bytes[path])
            log.error(
                "The kernel of %s changed the instructor's file %s: never used, put back",
                student,
                path,
            )
        elif is_instructors(path, root):
            log.error("The kernel of %s created the file %s among the instructor's", student, path)
        else:
            log.error("The kernel of %s changed %s, outside its own folder", student, path)
    if changed:
        run.snapshot = signatures(root)
    return changed


class RestoreHiddenTests(OverwriteCells):
    """nbgrader's OverwriteCells, without a false alarm on cells with hidden tests.

    generate_assignment records a locked cell's checksum before it removes the
    cell's hidden tests (nbgrader's ClearHiddenTests), so the released cell never
    matches its own checksum and autograde warns ``Attribute 'checksum' ... has
    changed!`` for every such cell of every student, burying the warning for a
    student who really edited a locked cell. A cell that is exactly the released
    version (the gradebook's source with the hidden tests removed) gets its hidden
    tests back silently; any other edit is reported and undone as before.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None:
            try:
                source_cell = self.gradebook.find_source_cell(
                    grade_id, self.notebook_id, self.assignment_id
                )
            except MissingEntry:
                source_cell = None
            if source_cell is not None and source_cell.locked:
                released = copy.deepcopy(cell)
                released.source = source_cell.source
                ClearHiddenTests(parent=self)._remove_hidden_test_region(released)
                if cell.source == released.source:
                    cell.source = source_cell.source
        return super().preprocess_cell(cell, resources, cell_index)


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


def _grade_rows(gb, assignment, students=None):
    """{grade row id: (auto, manual, extra)} of every graded cell of an assignment (of
    these students' submissions only, when given)."""
    rows = {}
    for submission in gb.find_assignment(assignment).submissions:
        if students is not None and submission.student_id not in students:
            continue
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                rows[grade.id] = (grade.auto_score, grade.manual_score, grade.extra_credit)
    return rows


def _restore_gradebook(run, db_url, log):
    """Put every score of the assignment back to its trusted value after a kernel ran."""
    wanted = dict(run.baseline)
    for row_id, auto in run.trusted.items():
        _, manual, extra = run.baseline.get(row_id, (None, None, None))
        wanted[row_id] = (auto, manual, extra)
    restore_rows(wanted, db_url, log)
    RESTORED_ROWS.update(wanted)


def restore_rows(wanted, db_url, log):
    """Give every grade row of `wanted` ({id: (auto, manual, extra)}) those scores, after
    dropping any trigger; fail if a row is gone."""
    with Gradebook(db_url) as gb:
        if db_url.startswith("sqlite"):
            # nbgrader never creates triggers; one could rewrite the scores below.
            triggers = gb.db.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            for (name,) in list(triggers):
                log.error("Dropping the trigger %r that something added to the gradebook", name)
                quoted = name.replace('"', '""')
                gb.db.execute(text(f'DROP TRIGGER "{quoted}"'))
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
    seed = Integer(
        None,
        allow_none=True,
        help="Seed of the engine's random draws for every student (default: a fresh one per "
        "student, recorded in the feedback).",
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
            students = None
            if SHARED_GRADEBOOK:
                students = set(self._submission_folders(info["assignment"]))
            with Gradebook(info["db_url"]) as gb:
                run.baseline = _grade_rows(gb, info["assignment"], students)
            self._grade_everyone(run, info["assignment"])
        key = (info["assignment"], info["student"])
        if key not in run.verdicts:  # a student nbgrader found after the first kernel
            raise RuntimeError(f"{key[1]}: not among the submissions read before any kernel ran")
        # nbgrader copied submitted/ into autograded/ after earlier kernels ran: the
        # kernel runs that copy, the grade comes from the files read before.
        try:
            now = locate(Path(resources["metadata"]["path"]))
        except SubmissionError:
            now = {}
        for name, data in run.student_files.get(key, {}).items():
            if now.get(name) != data:
                self.log.error(
                    "%s: %s changed after autograde started; graded as it was submitted",
                    key[1],
                    name,
                )
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

    def _submission_folders(self, assignment):
        """{student: submitted folder} of the students this run autogrades."""
        converter = _converter_of(self)
        folders = {}
        for folder in sorted(getattr(converter, "assignments", None) or {}):
            coursedir = converter.coursedir
            pattern = coursedir.format_path(
                coursedir.submitted_directory,
                "(?P<student>[^/]+)",
                re.escape(assignment),
                escape=True,
            )
            match = re.fullmatch(pattern, folder)
            if match:
                folders[match["student"]] = folder
        return folders

    def _grade_everyone(self, run, assignment):
        """Read every submission of this run, snapshot the course, then grade them all with
        the engine: nothing a kernel does later can change a grade."""
        if trusted_files_digest() != TRUSTED_DIGEST:
            raise RuntimeError(
                "the grading engine's files changed before autograding started: scores would "
                "not be trustworthy (see docs/nbgrader.md)"
            )
        folders = self._submission_folders(assignment)
        for student, folder in folders.items():
            try:
                run.student_files[(assignment, student)] = locate(Path(folder))
            except SubmissionError:
                run.student_files[(assignment, student)] = {}
        run.snapshot, run.instructor_bytes = snapshot(_course_root(self))
        for student, folder in folders.items():
            start = time.perf_counter()
            files = run.student_files[(assignment, student)]
            preset = PRESET_VERDICTS.pop((assignment, student), None)
            workers = self.workers or default_workers()
            if preset is not None:
                # Read by the parallel command before any of its kernels ran.
                if preset[0] != files:
                    self.log.error(
                        "%s: the student's files changed after autograde started; graded as "
                        "they were submitted",
                        student,
                    )
                run.student_files[(assignment, student)] = preset[0]
                results, how = preset[1], "graded ahead by the parallel command"
            elif files:
                results = grade_files(files, load_rubric(), workers=workers, seed=self.seed)
                how = f"{time.perf_counter() - start:.1f} s"
            else:  # the engine says what is missing, in every check's feedback
                results = grade_submission(folder, workers=workers, seed=self.seed)
                how = f"{time.perf_counter() - start:.1f} s"
            self.log.info(
                "Graded %s with the trusted engine (%s): %g of %g points",
                student,
                how,
                sum(r.score for r in results),
                sum(r.max_score for r in results),
            )
            cells = {}
            for result in results:
                cells.setdefault(result.cell, []).append(result)
            run.verdicts[(assignment, student)] = cells


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
        if run.snapshot is not None:
            _report_changes(run, _course_root(self), info["student"], self.log)
        return nb, resources


def rubric_cell_points():
    """{cell id: points} as the rubric distributes them (what each grade cell must be worth)."""
    points = {}
    rubric = load_rubric()
    for cell in dict.fromkeys(entry.get("cell", entry["name"]) for entry in rubric):
        points[cell] = sum(entry["points"] for entry in checks_of_cell(rubric, cell))
    return points
