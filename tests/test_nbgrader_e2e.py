"""nbgrader end to end, through its real command line, in a temporary course.

One course is built and graded for the whole module (about three minutes):
the course's nbgrader_config.py and source/, students imported,
``generate_assignment``, six submissions, one ``autograde`` call for all of
them, ``generate_feedback`` and ``export``. The submissions:

- reference: the reference solution -> every autograded point;
- blank: the stubs as released -> 0;
- one_bug: the reference with a bug planted in lstm_step_backward -> loses
  exactly the points of lstm_step_backward: what calls it (lstm_backward, the
  LSTM gradients of CaptioningRNN.loss) is graded with the reference's step;
- deleted_cells: the reference, with three autograder cells deleted from the
  notebooks -> the cells are put back and graded;
- kernel_cheat: the stubs, plus a notebook cell that rebinds the comparison
  helpers, replaces the engine module in sys.modules, defines check() as a
  no-op, strips asserts with an AST transformer, swallows every error and
  writes full marks (and a trigger) into gradebook.db -> still 0, and the
  other students' scores untouched;
- warning: the reference, whose code also emits RuntimeWarnings -> every
  point.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

from autograder import paths
from autograder.engine import load_rubric
from autograder.frontends.nbgrader.plugin import (
    NBGRADER_IS_IGNORED,
    linear_is_ignored,
    rubric_cell_points,
    trusted_outputs,
)
from conftest import ASSIGNMENT, RELEASE, ROOT, SOLUTIONS, SOURCE

NOTEBOOKS = ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb")
DELETED = {"RNN_Captioning.ipynb": ["rnn_step_forward", "captioning_rnn_loss"]}
DELETED["LSTM_Captioning.ipynb"] = ["lstm_bleu"]
BUGGY_CELL = "lstm_step_backward"
# The checks a bug in lstm_step_backward breaks: its own only. The code that calls it
# (lstm_backward, the model's gradient) is graded with the reference's step standing
# in for it (a bug costs what it breaks, once), and the training checks learn anyway.
BROKEN_CHECKS = {"lstm_step_backward"}


def points_with_bug():
    """{cell: points} that one_bug keeps: every cell's checks but the broken ones."""
    points = dict.fromkeys(rubric_cell_points(), 0.0)
    for entry in load_rubric():
        if entry["name"] not in BROKEN_CHECKS:
            points[entry["cell"]] += entry["points"]
    return points


BUG = """

# Planted bug: the bias gradient of one LSTM step is doubled.
_correct_lstm_step_backward = lstm_step_backward


def lstm_step_backward(dnext_h, dnext_c, cache):
    dx, dprev_h, dprev_c, dWx, dWh, db = _correct_lstm_step_backward(dnext_h, dnext_c, cache)
    return dx, dprev_h, dprev_c, dWx, dWh, 2 * db
"""

WARNING = """

# Correct, but noisy: every call writes RuntimeWarnings to stderr.
import warnings

_quiet_word_embedding_forward = word_embedding_forward


def word_embedding_forward(x, W):
    with np.errstate(divide="warn"):
        np.log(np.zeros(1))
    warnings.warn("a harmless warning from the student's code", RuntimeWarning)
    return _quiet_word_embedding_forward(x, W)
"""

CHEAT = r"""
# Everything a kernel can do to look good to a grader that trusts it.
import ast
import os
import sqlite3
import sys
import types

import numpy as np

import captioning.gradient_check as gradient_check

rel_error = gradient_check.rel_error = lambda *args, **kwargs: 0.0
norm_rel_error = gradient_check.norm_rel_error = lambda *args, **kwargs: 0.0
check_close = gradient_check.check_close = lambda *args, **kwargs: True
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None


def check(*args, **kwargs):
    print("All tests passed!")


for name in (
    "autograder",
    "autograder.frontends",
    "autograder.frontends.nbgrader",
    "autograder.frontends.nbgrader.check",
    "autograder.engine",
):
    fake = types.ModuleType(name)
    fake.check = check
    fake.grade_submission = lambda *args, **kwargs: []
    sys.modules[name] = fake


class StripAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()


get_ipython().ast_transformers.append(StripAsserts())
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)

gradebook = os.path.join("..", "..", "..", "gradebook.db")
if os.path.exists(gradebook):
    db = sqlite3.connect(gradebook)
    db.execute("UPDATE grade SET auto_score = 100, manual_score = 100, extra_credit = 100")
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS full_marks AFTER UPDATE ON grade "
        "BEGIN UPDATE grade SET manual_score = 100 WHERE id = NEW.id; END"
    )
    db.commit()
    db.close()
"""


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run one nbgrader command in the course; fail with its log if it fails."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(cmd, cwd=course, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def edit_notebook(path: Path, edit) -> None:
    nb = nbformat.read(path, as_version=4)
    edit(nb)
    nbformat.write(nb, path)


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def submit(course: Path, student: str, solved: bool) -> Path:
    """A submission: what students get (the project's release/; nbgrader's own release
    copies the instructor's .py files, solutions included, unchanged), with the
    reference's .py files when `solved`."""
    folder = course / "submitted" / student / ASSIGNMENT
    shutil.copytree(RELEASE, folder)
    if solved:
        for name in paths.STUDENT_FILES:
            shutil.copy(SOLUTIONS / "captioning" / name, folder / "captioning" / name)
    return folder


def write_answers(nb) -> None:
    """Answer every written question, as a student does in its markdown cell."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "My answer, in my own words."


def make_submissions(course: Path) -> None:
    folder = submit(course, "reference", solved=True)
    for name in NOTEBOOKS:
        edit_notebook(folder / name, write_answers)
    submit(course, "blank", solved=False)

    folder = submit(course, "one_bug", solved=True)
    append(folder / "captioning" / "rnn_layers.py", BUG)

    folder = submit(course, "deleted_cells", solved=True)
    for name, cells in DELETED.items():

        def delete(nb, cells=cells):
            nb.cells = [c for c in nb.cells if grade_id(c) not in cells]

        edit_notebook(folder / name, delete)

    folder = submit(course, "kernel_cheat", solved=False)
    for name in NOTEBOOKS:
        # Right after the setup cell, so that it runs before every check.
        edit_notebook(
            folder / name, lambda nb: nb.cells.insert(2, nbformat.v4.new_code_cell(CHEAT))
        )

    folder = submit(course, "warning", solved=True)
    append(folder / "captioning" / "rnn_layers.py", WARNING)


STUDENTS = ["blank", "deleted_cells", "kernel_cheat", "one_bug", "reference", "warning"]


def make_course(course: Path, students) -> Path:
    """A course in `course` with these students and the assignment generated."""
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(
        SOURCE,
        course / "source" / ASSIGNMENT,
        ignore=shutil.ignore_patterns(
            "__pycache__", ".pytest_cache", ".ipynb_checkpoints", "coco_captioning"
        ),
    )
    with open(course / "students.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "first_name", "last_name", "email"])
        for student in students:
            writer.writerow([student, student, "Student", f"{student}@example.org"])
    nbgrader(course, "db", "student", "import", "students.csv")
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    return course


@pytest.fixture(scope="module")
def course():
    """A graded course: the folder, the autograde wall time, and the command's log."""
    # Under the shared temporary folder: pytest's own is closed to other uids, and as
    # root each kernel has a uid of its own (the data set is then copied, not linked;
    # tests/test_nbgrader_parallel.py grades courses in pytest's own folder).
    course = Path(tempfile.mkdtemp(prefix="e2e-course-"))
    os.chmod(course, 0o755)
    make_course(course, STUDENTS)
    make_submissions(course)

    start = time.perf_counter()
    result = nbgrader(course, "autograde", ASSIGNMENT)
    elapsed = time.perf_counter() - start
    print(f"\nnbgrader autograde of {len(STUDENTS)} submissions: {elapsed:.1f} s")

    nbgrader(course, "generate_feedback", ASSIGNMENT)
    nbgrader(course, "export", "--to", "grades.csv")
    yield {"root": course, "autograde_seconds": elapsed, "log": result.stdout + result.stderr}
    shutil.rmtree(course, ignore_errors=True)


@pytest.fixture(scope="module")
def scores(course):
    """{student: {cell id: score}} of the autograded cells, from the gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    db_url = f"sqlite:///{course['root'] / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        for student in STUDENTS:
            submission = gb.find_submission(ASSIGNMENT, student)
            out[student] = {
                grade.name: grade.score
                for notebook in submission.notebooks
                for grade in notebook.grades
                if grade.cell.cell_type == "code"
            }
    return out


@pytest.fixture(scope="module")
def exported(course):
    """{student: (score, max_score)} from the CSV written by `nbgrader export`."""
    with open(course["root"] / "grades.csv", newline="") as f:
        return {
            row["student_id"]: (float(row["score"]), float(row["max_score"]))
            for row in csv.DictReader(f)
        }


def test_the_reference_gets_every_autograded_point(scores):
    assert scores["reference"] == rubric_cell_points()


def test_blank_stubs_get_nothing(scores):
    assert set(scores["blank"]) == set(rubric_cell_points())
    assert sum(scores["blank"].values()) == 0


def test_one_bug_loses_exactly_the_checks_it_breaks(scores):
    assert scores["one_bug"] == points_with_bug()
    assert scores["one_bug"][BUGGY_CELL] == 0


def test_deleted_cells_are_put_back_and_graded(course, scores):
    assert scores["deleted_cells"] == rubric_cell_points()
    for name, cells in DELETED.items():
        nb = nbformat.read(course["root"] / "autograded" / "deleted_cells" / ASSIGNMENT / name, 4)
        restored = {grade_id(c) for c in nb.cells}
        assert set(cells) <= restored


def test_a_cheating_kernel_gains_nothing(course, scores):
    assert sum(scores["kernel_cheat"].values()) == 0
    # The cheat ran: a confined kernel could not open the gradebook; an unconfined
    # one planted a trigger, which was found and dropped.
    confined = re.search(r"Kernel in \S+kernel_cheat\S+ runs with: .*landlock abi", course["log"])
    assert confined or "Dropping the trigger 'full_marks'" in course["log"]


def test_warnings_on_stderr_cost_nothing(scores):
    assert scores["warning"] == rubric_cell_points()


def written_points() -> float:
    """The points of the manually graded answers, from the source notebooks' metadata."""
    return float(
        sum(
            cell.metadata["nbgrader"]["points"]
            for name in ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb")
            for cell in nbformat.read(SOURCE / name, as_version=4).cells
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade")
        )
    )


def test_the_gradebook_counts_100_autograded_points_and_the_written_answers(course, tmp_path):
    from nbgrader.api import Gradebook

    def answers(gb, student):
        return [
            grade
            for notebook in gb.find_submission(ASSIGNMENT, student).notebooks
            for grade in notebook.grades
            if grade.cell.cell_type == "markdown"
        ]

    # On a copy: grading by hand here must not change what the other tests read.
    shutil.copy(course["root"] / "gradebook.db", tmp_path / "gradebook.db")
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        assert assignment.max_code_score == json.loads(paths.RUBRIC.read_text())["total"] == 100
        assert assignment.max_written_score == written_points() > 0
        assert assignment.max_score == 100 + written_points()
        # An answer waits for a grader; an unanswered question scores 0 by itself.
        assert len(answers(gb, "reference")) == 2
        assert all(g.auto_score is None and g.needs_manual_grade for g in answers(gb, "reference"))
        assert all(g.score == 0 and not g.needs_manual_grade for g in answers(gb, "blank"))
        # What the formgrader does when a grader types the points of each answer.
        for grade in answers(gb, "reference"):
            grade.manual_score = grade.max_score - 1
        gb.db.commit()
        submission = gb.find_submission(ASSIGNMENT, "reference")
        assert submission.score == 100 + written_points() - 2
        assert submission.code_score == 100


def test_export_has_the_totals(exported):
    total = float(sum(rubric_cell_points().values()))
    assert total == float(json.loads(paths.RUBRIC.read_text())["total"])
    expected = {
        "reference": total,
        "blank": 0.0,
        "one_bug": float(sum(points_with_bug().values())),
        "deleted_cells": total,
        "kernel_cheat": 0.0,
        "warning": total,
    }
    assert {s: score for s, (score, _) in exported.items()} == expected
    assert {m for _, m in exported.values()} == {total + written_points()}


def hidden_values() -> np.ndarray:
    """Every stored expected value of the engine that is not a small number."""
    values = []
    for path in paths.EXPECTED_DIR.glob("*.npz"):
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                array = np.asarray(data[key], dtype=np.float64).ravel()
                values.append(array[np.abs(array) > 1e-2])
    return np.unique(np.concatenate(values)) if values else np.zeros(0)


def test_feedback_shows_verdicts_but_no_hidden_values_or_tests(course):
    hidden = hidden_values()
    assert hidden.size > 0
    engine_call = re.compile(r'^check\("\w+"\)$')
    for student in STUDENTS:
        for name in NOTEBOOKS:
            html = (
                course["root"] / "feedback" / student / ASSIGNMENT / name.replace(".ipynb", ".html")
            ).read_text(encoding="utf-8")
            for token in re.findall(r"-?\d+\.\d{5,}", html):
                value = float(token)
                i = np.searchsorted(hidden, value)
                near = hidden[max(i - 1, 0) : i + 1]
                assert not np.any(np.abs(near - value) <= 1e-6 * abs(value)), (
                    f"{student}/{name}: the feedback shows the hidden value {token}"
                )
            assert "autograder/expected" not in html

            graded = nbformat.read(course["root"] / "autograded" / student / ASSIGNMENT / name, 4)
            for cell in graded.cells:
                if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
                    code = [
                        line.strip()
                        for line in cell.source.splitlines()
                        if line.strip() and not line.strip().startswith("#")
                    ]
                    assert code[0] == "from autograder.frontends.nbgrader.check import check", (
                        cell.source
                    )
                    assert len(code) == 2 and engine_call.match(code[1]), cell.source

    html = (
        course["root"] / "feedback" / "one_bug" / ASSIGNMENT / "LSTM_Captioning.html"
    ).read_text(encoding="utf-8")
    points = rubric_cell_points()[BUGGY_CELL]
    assert f"{BUGGY_CELL}: 0 of {points:g} points" in html
    # the caller's cell passes, and says which function to fix first
    assert "fix lstm_step_backward first" in html


def test_the_data_set_is_linked_not_copied_and_not_in_the_feedback(course):
    data = Path("datasets", "synthetic_coco")
    for student in STUDENTS:
        link = course["root"] / "autograded" / student / ASSIGNMENT / data
        assert link.is_symlink() and link.resolve() == (
            course["root"] / "source" / ASSIGNMENT / data
        )
        assert not (course["root"] / "feedback" / student / ASSIGNMENT / data).exists()


def test_every_rubric_check_is_graded_in_some_cell():
    cells = {entry["cell"] for entry in load_rubric()}
    assert cells == set(rubric_cell_points())


# --- the plugin's pieces, without nbgrader's command line ----------------------------


def verdict(name, score, max_score):
    return SimpleNamespace(
        name=name,
        score=score,
        max_score=max_score,
        status="passed" if score == max_score else "failed",
        output=f"{name} says why",
        visibility="visible",
    )


@pytest.mark.parametrize(
    "results, expected",
    [
        ([verdict("a", 4, 4), verdict("b", 4, 4)], 8),
        ([verdict("a", 4, 4), verdict("b", 0, 4)], 4),
        ([verdict("a", 0, 4), verdict("b", 0, 4)], 0),
        (None, 0),
    ],
)
def test_nbgrader_reads_exactly_the_engine_score_from_the_outputs(results, expected):
    from nbgrader.utils import determine_grade

    cell = nbformat.v4.new_code_cell("check('x')")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "x", "points": 8, "solution": False}
    cell.outputs = trusted_outputs("x", results, 8.0, execution_count=3)
    assert determine_grade(cell) == (expected, 8)
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert f"x: {expected:g} of 8 points" in text


def test_nbgrader_ignore_check_is_linear_with_the_same_answers(tmp_path, monkeypatch):
    from nbgrader import utils

    monkeypatch.chdir(tmp_path)
    (tmp_path / "foo" / "sub").mkdir(parents=True)
    (tmp_path / "foo" / ".ipynb_checkpoints").mkdir()
    for name in ("bar.txt", ".hidden", "x.pyc", "sub/a.csv"):
        (tmp_path / "foo" / name).touch()
    paths = ["foo/bar.txt", "foo/.hidden", "foo/x.pyc", "foo/sub/a.csv", "foo/sub", "foo"]
    paths += ["foo/.ipynb_checkpoints", "foo/missing.txt"]
    patterns = [["*.txt"], ["bar.txt"], ["*"], ["*.csv"], ["foo"], ["foo/*"], [".*"]]
    patterns += [[".hidden"], ["*.pyc", "__pycache__"], [".ipynb_checkpoints"], ["sub"], []]
    for path in paths:
        for globs in patterns:
            assert linear_is_ignored(path, globs) == NBGRADER_IS_IGNORED(path, globs), (path, globs)
    assert utils.is_ignored is linear_is_ignored


def test_each_autograde_run_has_its_own_state():
    """The formgrader runs autograde in the Jupyter server: no verdict may outlive its run."""
    from traitlets.config import Configurable

    from autograder.frontends.nbgrader.plugin import StartTrustedGrading, _run_of

    def preprocessor_of_a_new_run():
        converter = Configurable()  # nbgrader's Autograde, in a real run
        exporter = Configurable(parent=converter)
        return StartTrustedGrading(parent=exporter), converter

    # The converters are kept alive here, as nbgrader keeps them during a run.
    first, first_converter = preprocessor_of_a_new_run()
    second, second_converter = preprocessor_of_a_new_run()
    _run_of(first).verdicts[("rnn_captioning", "s1")] = {}
    assert _run_of(first) is _run_of(StartTrustedGrading(parent=first.parent))
    assert _run_of(second).verdicts == {}
    assert first_converter is not second_converter
