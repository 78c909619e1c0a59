"""Every check both ways: correct code passes it, the bug it is for fails it."""

from pathlib import Path

import pytest

from autograder import paths
from autograder.engine import grade_files, grade_submission, load_rubric
from autograder.engine.checks.training import TRAINING
from autograder.engine.feedback_scan import code_in
from autograder.paths import STUDENT_FILES
from autograder.tools.mutants import MUTANTS, SAMPLE_CHECKS, Mutant, apply, textbook
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


# The feedback locates the mistake in words: the part of the function and its kind.
HINTS = {
    "rnn_step_forward_no_bias": "the bias term",
    "rnn_step_forward_Wh_transposed": "used transposed",
    "rnn_step_backward_tanh_grad_of_input": "tanh",
    "rnn_step_backward_db_mean": "1/N of the right value",
    "rnn_forward_h0_included": "one timestep too many",
    "rnn_backward_no_carried_dh": "hidden-state gradient carried back",
    "rnn_backward_weights_overwritten": "only one timestep's contribution",
    "word_embedding_forward_bad_reshape": "order of the positions",
    "word_embedding_backward_fancy_assign": "not accumulated",
    "word_embedding_backward_from_W": "the value dW starts from: it does not start from zero",
    "lstm_gates_ifgo": "order i, f, g, o",
    "lstm_forget_gate_on_prev_h": "the forget term",
    "lstm_step_backward_no_tanh_grad": "the path from dnext_h to the cell state",
    "lstm_step_backward_gates_ifgo": "the output gate o and the block input g",
    "lstm_forward_c0_is_h0": "how the states start",
    "lstm_backward_no_carried_dc": "cell-state gradient carried back",
    "lstm_backward_no_carried_dh": "hidden-state gradient carried back",
    "lstm_backward_weights_overwritten": "only one timestep's contribution",
    "loss_unmasked": "padding is not masked",
    "loss_divided_by_T": "1/T of the right value",
    "loss_targets_not_shifted": "the targets (the words it predicts)",
    "loss_no_projection_grads": "the path back to the image features",
    "loss_ignores_features": "the path back to the image features",
    "sample_start_in_first_column": "Column 0",
    "sample_lstm_c0_is_h0": "first generated word is already wrong",
    "sample_no_feedback": "the bug is in the word fed back to each step",
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
        assert code_in(results[name].output) == [], results[name].output
    if mutant.name in HINTS:
        assert HINTS[mutant.name] in results[failed[0]].output


# Sampling bugs nobody listed, told apart by the probe with the word embeddings at zero:
# a wrong word fed back is named as such, a state not carried is not.
SAMPLE_PLANTED = [
    (Mutant("sample_feeds_null", "sample", "x = W_embed[word]", "x = W_embed[captions[:, t]]",
            SAMPLE_CHECKS), "the bug is in the word fed back to each step"),
    (Mutant("sample_h_not_carried", "sample", "h, _ = rnn_step_forward(x, h, Wx, Wh, b)",
            "h, _ = rnn_step_forward(x, features.dot(W_proj) + b_proj, Wx, Wh, b)",
            ("captioning_rnn_sample_rnn",)), "what each step passes to the next"),
]  # fmt: skip


@pytest.mark.parametrize("mutant, words", SAMPLE_PLANTED, ids=[m.name for m, _ in SAMPLE_PLANTED])
def test_the_sampling_probe_tells_the_word_fed_back_from_the_states(mutant, words):
    results = grade(apply(mutant, files_of(paths.reference_dir())), mutant.caught_by)
    for name in mutant.caught_by:
        assert results[name].status == "failed"
        assert words in results[name].output, results[name].output
        assert code_in(results[name].output) == [], results[name].output


TRAINING_TARGETS = [(check, name) for check, names in TARGETS.items() for name in names]


@pytest.mark.parametrize(
    "check, name", TRAINING_TARGETS, ids=[f"{c}-{n}" for c, n in TRAINING_TARGETS]
)
def test_each_training_check_fails_the_bug_it_is_for(check, name):
    mutant = next(m for m in MUTANTS if m.name == name)
    results = grade(apply(mutant, files_of(paths.reference_dir())), [check])
    assert results[check].status == "failed", results[check].output
    assert code_in(results[check].output) == [], results[check].output


def test_every_check_is_failed_by_some_mutant():
    caught = {name for m in MUTANTS for name in m.caught_by} | set(TARGETS)
    assert {c["name"] for c in RUBRIC} <= caught
