"""Every check both ways: correct code passes it, the bug it is for fails it."""

from pathlib import Path

import pytest

from autograder import paths
from autograder.engine import grade_files, grade_submission, load_rubric
from autograder.mutants import MUTANTS, apply, textbook
from autograder.sandbox import STUDENT_FILES

HERE = Path(__file__).resolve().parent
RUBRIC = load_rubric()
BY_NAME = {c["name"]: c for c in RUBRIC}


def files_of(folder):
    return {name: (folder / name).read_bytes() for name in STUDENT_FILES}


def grade(files, names=None):
    selected = RUBRIC if names is None else [BY_NAME[n] for n in names]
    return {r.name: r for r in grade_files(files, selected, workers=2)}


def test_the_reference_gets_full_marks():
    results = grade_submission(paths.reference_dir(), workers=2)
    failed = {r.name: r.output for r in results if r.status != "passed"}
    assert failed == {}
    assert sum(r.score for r in results) == 100


def test_the_blank_stubs_get_zero_and_say_not_implemented():
    results = grade_submission(paths.release_dir(), workers=2)
    assert sum(r.score for r in results) == 0
    for r in results:
        assert "not implemented yet" in r.output, (r.name, r.output)


def test_a_correct_solution_written_differently_gets_full_marks():
    # loops over the batch, in-place updates of the arguments, float32 casts
    results = grade_submission(HERE / "redteam" / "alt_correct", workers=2)
    failed = {r.name: r.output for r in results if r.status != "passed"}
    assert failed == {}


def test_the_textbook_functions_used_by_the_mutants_are_correct():
    results = grade(textbook(files_of(paths.reference_dir())))
    assert {n: r.output for n, r in results.items() if r.status != "passed"} == {}


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_each_mutant_fails_the_checks_of_the_function_it_breaks(mutant):
    results = grade(apply(mutant, files_of(paths.reference_dir())), mutant.caught_by)
    failed = [n for n, r in results.items() if r.status == "failed"]
    assert failed, f"{mutant.name} passed {mutant.caught_by}"
    for name in failed:
        assert results[name].score == 0
        assert "Hint" in results[name].output or "not" in results[name].output


def test_every_check_is_failed_by_some_mutant():
    caught = {name for m in MUTANTS for name in m.caught_by}
    assert {c["name"] for c in RUBRIC} <= caught
