"""No feedback text holds code or a formula, at any level; the detector that says so is
itself proven both ways: it flags real solution lines, it passes the hints."""

import itertools
import json

import pytest

from autograder import paths
from autograder.engine import feedback, probing
from autograder.engine.feedback_scan import code_in
from autograder.tools.build import is_telling, split_lines


def solution_lines():
    """Every line with two names or more inside a solution region of the package."""
    lines = set()
    for path in (paths.course_root() / "source" / "rnn_captioning" / "captioning").glob("*.py"):
        inside, _ = split_lines(path.read_text())
        lines |= {line for line in inside if is_telling(line)}
    return sorted(lines)


def test_the_detector_flags_every_solution_line():
    lines = solution_lines()
    assert len(lines) > 50
    assert [line for line in lines if not code_in(line)] == []


@pytest.mark.parametrize(
    "text",
    [
        "dx = da @ Wx.T",
        "use np.add.at(dW, x, dout)",
        "out = W[x]",
        "next_h is np.tanh(a)",
        "da is dnext_h times 1 - next_h**2",
        "dc gets dnext_h * o",
        "h[:, t] holds it",
        "mask is captions_out != NULL",
        "sum with axis=0",
        "divide by N * T",
        "then x / 2",
    ],
)
def test_the_detector_flags_code_and_formulas(text):
    assert code_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "On hidden inputs with (N, T, D, H) = (3, 4, 6, 5): dx is wrong: relative error 2.0e-01.",
        "grads['W_proj'] is wrong: relative error 1.0e+00.",
        "it has the wrong scale (1/N of the right value, N the batch size)",
        "the derivative of tanh is easiest to get from its output",
        "the columns of the output gate o in dWx, dWh and db",
        "The captions of sample with max_length given disagree with greedy decoding.",
    ],
)
def test_the_detector_passes_words(text):
    assert code_in(text) == []


LEVELS = feedback.LEVELS


def finding_texts():
    """Every text a diagnose.Finding can take: each part, kind and explanation."""
    diagnose = probing.shared()
    parts = list(diagnose._PHRASES.values()) + list(diagnose.GATE_NAMES.values())
    parts += ["dnext_c", "h", "dx at timestep 3", "the four gate blocks", "db", "dWh and db"]
    evidence = list(diagnose._PROBE_WORDS.values()) + [""]
    texts = []
    for part, kind, explain, level in itertools.product(
        parts, diagnose.KINDS, diagnose.EXPLAIN, LEVELS
    ):
        finding = diagnose.Finding("lstm_step_backward", part, kind, "", explain)
        texts.append(finding.text(level))
    for words in evidence:
        texts.append(diagnose.Finding("rnn_step_forward", "the bias term", "missing", words).text())
    return texts + diagnose.all_texts()


def hint_texts():
    texts = []
    for level, fn in itertools.product(LEVELS, feedback.HINTS):
        texts.append(feedback.hint(fn, chosen=level))
        for diagnosis in feedback.DIAGNOSES.values():
            filled = diagnosis.format(order="i, f, g, o", c0=", a zero cell state")
            texts.append(feedback.hint(fn, diagnosis=filled, chosen=level))
    return texts + feedback.all_texts()


def test_no_text_the_feedback_can_produce_holds_code():
    texts = hint_texts() + finding_texts()
    assert len(texts) > 1000
    assert {t: code_in(t) for t in texts if code_in(t)} == {}


def test_the_levels_say_more_or_nothing():
    diagnose = probing.shared()
    finding = diagnose.Finding("rnn_step_backward", "the step back through tanh", "wrong", "",
                               "tanh_grad")  # fmt: skip
    located = feedback.hint("rnn_step_backward", finding, chosen="locate")
    explained = feedback.hint("rnn_step_backward", finding, chosen="explain")
    assert located.startswith("\nHint: In rnn_step_backward, the bug is in the step back")
    assert explained.startswith(located) and "easiest to get from its output" in explained
    assert feedback.hint("rnn_step_backward", finding, chosen="none") == ""
    assert feedback.hint("rnn_forward", chosen="none") == ""
    assert feedback.hint("rnn_forward", chosen="explain").startswith(
        feedback.hint("rnn_forward", chosen="locate")
    )


def test_the_level_is_chosen_in_the_rubric(tmp_path):
    rubric = json.loads(paths.RUBRIC.read_text())
    assert feedback.level() == rubric.get("feedback", "locate") == "locate"
    for chosen in LEVELS:
        path = tmp_path / f"{chosen}.json"
        path.write_text(json.dumps(dict(rubric, feedback=chosen)))
        assert feedback.level(path) == chosen
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(dict(rubric, feedback="everything")))
    with pytest.raises(ValueError):
        feedback.level(path)


@pytest.mark.parametrize("chosen", LEVELS)
def test_the_grader_words_its_hints_at_the_rubrics_level(chosen, tmp_path, monkeypatch):
    from autograder.engine import grade_files, load_rubric
    from autograder.tools.mutants import MUTANTS, apply

    rubric = json.loads(paths.RUBRIC.read_text())
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(dict(rubric, feedback=chosen)))
    monkeypatch.setattr(paths, "RUBRIC", path)
    mutant = next(m for m in MUTANTS if m.name == "rnn_step_backward_db_mean")
    files = {n: (paths.reference_dir() / n).read_bytes() for n in paths.STUDENT_FILES}
    checks = [c for c in load_rubric() if c["name"] == "rnn_step_backward"]
    (result,) = grade_files(apply(mutant, files), checks)
    assert result.status == "failed"
    assert ("Hint: " in result.output) == (chosen != "none"), result.output
    if chosen != "none":
        assert "In rnn_step_backward, the bug is in db" in result.output, result.output
    explained = probing.shared().EXPLAIN["batch_sum"]
    assert (explained in result.output) == (chosen == "explain"), result.output
    assert code_in(result.output) == []
