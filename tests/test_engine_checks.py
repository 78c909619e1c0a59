"""Every check both ways: correct code passes it, the bug it is for fails it."""

from pathlib import Path

import pytest

from autograder import paths
from autograder.engine import grade_files, grade_submission, load_rubric
from autograder.engine.checks.training import TRAINING
from autograder.paths import STUDENT_FILES
from autograder.tools.mutants import MUTANTS, apply, textbook
from autograder.tools.thresholds import TARGETS

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
    quick = [c["name"] for c in RUBRIC if c["name"] not in TRAINING]
    results = grade(textbook(files_of(paths.reference_dir())), quick)
    assert {n: r.output for n, r in results.items() if r.status != "passed"} == {}


# The feedback names the mistake, not just the function.
HINTS = {
    "rnn_step_forward_no_bias": "without b",
    "rnn_step_backward_tanh_grad_of_input": "1 - next_h**2",
    "rnn_step_backward_db_mean": "summed over the batch",
    "rnn_forward_h0_included": "h0 is not part of h",
    "rnn_backward_no_carried_dh": "dprev_h that flows back",
    "rnn_backward_weights_overwritten": "summed over all timesteps",
    "word_embedding_backward_fancy_assign": "np.add.at",
    "lstm_gates_ifgo": "order i, f, g, o",
    "lstm_step_backward_gates_ifgo": "order i, f, g, o",
    "lstm_backward_no_carried_dc": "carry dprev_c",
    "lstm_backward_no_carried_dh": "dprev_h that flows back",
    "lstm_backward_weights_overwritten": "summed over all timesteps",
    "loss_unmasked": "<NULL> targets",
    "loss_divided_by_T": "N * T",
    "sample_start_in_first_column": "Column 0",
    "sample_lstm_c0_is_h0": "first generated word is already wrong",
    "sample_no_feedback": "feed the argmax",
    "sample_float_captions": "integer array",
}


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_each_mutant_fails_the_checks_of_the_function_it_breaks(mutant):
    results = grade(apply(mutant, files_of(paths.reference_dir())), mutant.caught_by)
    failed = [n for n, r in results.items() if r.status == "failed"]
    assert failed, f"{mutant.name} passed {mutant.caught_by}"
    for name in failed:
        assert results[name].score == 0
        assert "Hint: " in results[name].output
    if mutant.name in HINTS:
        assert HINTS[mutant.name] in results[failed[0]].output


TRAINING_TARGETS = [(check, name) for check, names in TARGETS.items() for name in names]


@pytest.mark.parametrize(
    "check, name", TRAINING_TARGETS, ids=[f"{c}-{n}" for c, n in TRAINING_TARGETS]
)
def test_each_training_check_fails_the_bug_it_is_for(check, name):
    mutant = next(m for m in MUTANTS if m.name == name)
    results = grade(apply(mutant, files_of(paths.reference_dir())), [check])
    assert results[check].status == "failed", results[check].output


def test_every_check_is_failed_by_some_mutant():
    caught = {name for m in MUTANTS for name in m.caught_by} | set(TARGETS)
    assert {c["name"] for c in RUBRIC} <= caught
