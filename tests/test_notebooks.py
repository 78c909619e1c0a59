"""The two notebooks: their nbgrader metadata, the release copies, and real runs.

The runs use nbclient with the project's kernel, in the assignment folder,
on the synthetic data, with one BLAS thread (the matrices are small: on a
busy two-core machine more threads make training many times slower). The
solutions run in full, training included (about a minute and a half); the
release copies run with CAPTIONING_FAST=1, as under the autograder.
"""

from __future__ import annotations

import ast
import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.frontends.nbgrader.kernel import SKIP_TAG
from autograder.frontends.nbgrader.plugin import rubric_cell_points
from conftest import RELEASE, SOLUTIONS, SOURCE

NOTEBOOKS = ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb")
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
ENGINE_CALL = re.compile(
    r'from autograder\.frontends\.nbgrader\.check import check\n\ncheck\("(\w+)"\)'
)
CHECK_LINE = re.compile(r"^(PASS|FAIL|SKIP)  ", re.M)


def read(folder, name):
    return nbformat.read(folder / name, as_version=4)


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def grade_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and meta(c).get("grade")]


def run(folder, name, **env):
    """Execute a notebook in its folder; return it with its outputs."""
    nb = read(folder, name)
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **env}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = NotebookClient(
            nb,
            timeout=600,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(folder)}},
        )
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def errors(nb):
    return [
        (i, out)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]


def stdout(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


# --- the source notebooks ------------------------------------------------------------


def test_grade_cells_are_worth_what_the_rubric_gives_their_checks():
    points = {}
    for name in NOTEBOOKS:
        for cell in grade_cells(read(SOURCE, name)):
            assert meta(cell)["grade_id"] not in points, f"{meta(cell)['grade_id']} twice"
            points[meta(cell)["grade_id"]] = meta(cell)["points"]
    assert points == rubric_cell_points()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_hidden_tests_only_call_the_engine(name):
    for cell in grade_cells(read(SOURCE, name)):
        hidden = cell.source.split(BEGIN_HIDDEN)[1].split(END_HIDDEN)[0].strip()
        match = ENGINE_CALL.fullmatch(hidden)
        assert match and match.group(1) == meta(cell)["grade_id"], cell.source
        visible = cell.source.split(BEGIN_HIDDEN)[0] + cell.source.split(END_HIDDEN)[1]
        assert all(line.startswith("#") for line in visible.split("\n") if line.strip())


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_metadata_is_what_nbgrader_needs(name):
    nb = read(SOURCE, name)
    previous_source_cell = None
    for cell in nb.cells:
        m = meta(cell)
        if not m:
            continue
        assert m["schema_version"] == 3
        if m["grade"] and cell.cell_type == "code":
            assert m["locked"] and not m["solution"]
            assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False
            # OverwriteCells.add_missing_cells puts a deleted grade cell back
            # after the source cell before it, looked up among the grade and
            # solution cells only: any other locked cell there is a KeyError.
            assert (
                previous_source_cell is None
                or previous_source_cell.get("grade")
                or (previous_source_cell.get("solution"))
            )
        if m["grade"] and cell.cell_type == "markdown":
            # A written answer, graded by hand in the formgrader: its points count.
            assert m["solution"] and m["points"] > 0, "a written answer worth nothing"
        previous_source_cell = m
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def skipped(cell):
    return SKIP_TAG in cell.metadata.get("tags", [])


def names(cell):
    """(names the cell binds, names it reads), IPython magics removed."""
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(cell.source))
    bound, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else used).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return bound, used


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_cells_autograde_skips_are_the_training_runs_and_what_uses_them(name):
    nb = read(SOURCE, name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        if ".train()" in cell.source:
            assert skipped(cell), cell.source
        if skipped(cell):
            assert not meta(cell), "a grade or answer cell is never skipped"
    # No cell that runs under autograde reads a name that only skipped cells bind.
    bound_by_run = set()
    only_skipped = set()
    for cell in code:
        bound, used = names(cell)
        if skipped(cell):
            only_skipped |= bound - bound_by_run
        else:
            assert not (used & only_skipped), (used & only_skipped, cell.source)
            bound_by_run |= bound
            only_skipped -= bound


# --- the release notebooks -----------------------------------------------------------


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_release_notebooks_hold_no_solution_no_hidden_test_no_output(name):
    text = (RELEASE / name).read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN", "nbgrader.check", "check("):
        assert marker not in text
    source = read(SOURCE, name)
    nb = read(RELEASE, name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if meta(cell).get("solution"):
            assert cell.source == "YOUR ANSWER HERE"
    assert len(grade_cells(nb)) == len(grade_cells(source))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_release_notebook_says_what_is_not_implemented(name):
    nb = run(RELEASE, name, CAPTIONING_FAST="1")
    found = errors(nb)
    assert found, "the stubs raise nothing"
    first_index, first = found[0]
    assert nb.cells[first_index].id.endswith("-check"), "an error before the first check"
    assert first.ename == "NotImplementedError"
    assert re.search(r"\w+ is not implemented yet: .*captioning/rnn_layers\.py", first.evalue)


# --- the solution notebooks ----------------------------------------------------------


@pytest.fixture(scope="module", params=NOTEBOOKS)
def solved(request):
    return request.param, run(SOLUTIONS, request.param, CAPTIONING_FAST="0")


def test_solution_notebook_runs_without_errors(solved):
    name, nb = solved
    assert errors(nb) == []


def test_every_visible_check_passes(solved):
    name, nb = solved
    lines = [
        line for cell in nb.cells if cell.cell_type == "code" for line in stdout(cell).split("\n")
    ]
    verdicts = [line for line in lines if CHECK_LINE.match(line)]
    assert len(verdicts) >= 10
    assert [line for line in verdicts if not line.startswith("PASS")] == []


def test_solution_notebook_uses_the_synthetic_data_and_shows_images(solved):
    name, nb = solved
    text = "\n".join(stdout(c) for c in nb.cells if c.cell_type == "code")
    assert "synthetic" in text
    images = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "display_data" and "image/png" in out.get("data", {})
    ]
    assert len(images) >= 4
    assert "generated:" in text and "true:" in text


def test_the_solution_notebooks_preview_full_marks(solved):
    """Outside nbgrader, the grade cells grade the folder's files in the kernel."""
    name, nb = solved
    for cell in grade_cells(nb):
        text = stdout(cell)
        points = rubric_cell_points()[meta(cell)["grade_id"]]
        assert f"{meta(cell)['grade_id']}: {points:g} of {points:g} points" in text, text
