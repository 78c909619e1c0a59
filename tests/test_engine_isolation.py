"""A bug costs what it breaks, once: checks run with the reference's dependencies,
backward functions are judged where the student's forward is right, and student
code is called as the notebooks call it."""

import importlib.util
import json
import sys

import pytest

from autograder import paths
from autograder.engine import grade, grade_files, isolation, load_rubric
from autograder.engine.checks.common import Verdict
from autograder.paths import STUDENT_FILES
from autograder.tools.mutants import MUTANTS, apply, replace_functions, textbook

RUBRIC = load_rubric()
BY_NAME = {c["name"]: c for c in RUBRIC}
BY_MUTANT = {m.name: m for m in MUTANTS}


def reference_files():
    return {name: (paths.reference_dir() / name).read_bytes() for name in STUDENT_FILES}


def graded(files, names):
    return {r.name: r for r in grade_files(files, [BY_NAME[n] for n in names], workers=2)}


@pytest.fixture
def isolation_off(tmp_path, monkeypatch):
    """The rubric with "grading": {"isolation": false}, as an instructor sets it."""
    rubric = json.loads(paths.RUBRIC.read_text())
    rubric["grading"] = {"isolation": False}
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(rubric))
    monkeypatch.setattr(paths, "RUBRIC", path)
    assert not isolation.enabled()


NO_BIAS = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward"]


def test_a_sequence_function_whose_only_bug_is_in_its_step_gets_full_marks():
    files = apply(BY_MUTANT["rnn_step_forward_no_bias"], reference_files())
    results = graded(files, NO_BIAS)
    assert results["rnn_step_forward"].score == 0
    for name in ("rnn_forward", "rnn_backward"):
        assert results[name].score == results[name].max_score, results[name].output
        assert "fix rnn_step_forward first" in results[name].output.lower()


def test_without_isolation_the_same_bug_costs_the_sequence_functions(isolation_off):
    files = apply(BY_MUTANT["rnn_step_forward_no_bias"], reference_files())
    results = graded(files, NO_BIAS)
    assert results["rnn_forward"].score == 0
    assert results["rnn_backward"].score == 0


def test_a_backward_function_on_a_wrong_forward_is_judged_where_the_forward_is_right():
    files = apply(BY_MUTANT["lstm_gates_ifgo"], reference_files())
    results = graded(files, ["lstm_step_forward", "lstm_step_backward"])
    assert results["lstm_step_forward"].score == 0
    backward = results["lstm_step_backward"]
    assert backward.score == backward.max_score, backward.output
    assert "fix lstm_step_forward first" in backward.output.lower()


def test_a_backward_function_with_a_bug_of_its_own_still_fails_after_a_wrong_forward():
    files = apply(BY_MUTANT["rnn_step_forward_no_bias"], reference_files())
    text = files["rnn_layers.py"].decode()
    assert text.count("db = np.sum(da, axis=0)") == 1
    files["rnn_layers.py"] = text.replace(
        "db = np.sum(da, axis=0)", "db = np.mean(da, axis=0)"
    ).encode()
    results = graded(files, ["rnn_step_forward", "rnn_step_backward"])
    assert results["rnn_step_backward"].score == 0
    assert "Root cause" in results["rnn_step_backward"].output


LEAKY_FORWARD = """
def rnn_forward(x, h0, Wx, Wh, b):
    import glob, inspect, os
    here = os.path.dirname(os.path.abspath(__file__))
    texts = [inspect.getsource(rnn_step_forward)]
    texts += [open(p).read() for p in sorted(glob.glob(os.path.join(here, "*.py")))]
    print("\\n".join(texts))
    raise RuntimeError("LEAK " + " ".join(t for t in texts if "x @ Wx" in t))
"""


def test_nothing_of_the_isolated_run_reaches_the_feedback():
    # A student function that prints the injected reference, and raises it as its
    # exception message: in the end-to-end run the message (the student's own code)
    # does reach the feedback; in the run with the reference, nothing does.
    files = textbook(reference_files())
    files = replace_functions(files, {"rnn_forward": LEAKY_FORWARD})
    results = graded(files, ["rnn_forward", "captioning_rnn_loss_rnn"])
    output = results["rnn_forward"].output
    assert "raised RuntimeError: LEAK" in output  # the channel exists end to end
    solution_line = "next_h = np.tanh(x @ Wx + prev_h @ Wh + b)"
    assert solution_line in (paths.reference_dir() / "rnn_layers.py").read_text()
    for result in results.values():
        assert "x @ Wx" not in result.output, result.output
    assert results["rnn_forward"].score == 0
    loss = results["captioning_rnn_loss_rnn"]  # right with the reference's rnn_forward
    assert loss.score == loss.max_score and "fix rnn_forward first" in loss.output


def test_cell_type_compared_with_is_scores_as_in_the_notebook():
    # Real 2017 solutions test `self.cell_type is 'rnn'`: true in the notebook, where
    # both strings are interned literals; the child interns what it is given.
    sources = {
        fn: textbook_source.replace('self.cell_type == "rnn"', "self.cell_type is 'rnn'")
        for fn, textbook_source in _textbook_model().items()
    }
    assert all("is 'rnn'" in s for s in sources.values())
    files = replace_functions(reference_files(), sources)
    names = [n for n in BY_NAME if n.startswith("captioning_rnn_")]
    results = graded(files, names)
    assert {n: r.output for n, r in results.items() if r.status != "passed"} == {}


def _textbook_model():
    from autograder.tools.mutants import TEXTBOOK

    return {fn: TEXTBOOK[fn] for fn in ("loss", "sample")}


def test_the_child_interns_strings_as_literals_are():
    spec = importlib.util.spec_from_file_location("_child", paths.PACKAGE / "sandbox" / "child.py")
    child = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(child)
    wire = json.loads(json.dumps({"cell_type": "".join(["ls", "tm"]), "words": {"<END>": 2}}))
    assert wire["cell_type"] is not sys.intern("lstm")
    assert child.interned(wire)["cell_type"] is sys.intern("lstm")


def test_a_training_check_that_ran_three_times_gives_its_hint_once():
    class Group:
        checks = ("rnn_overfit",)
        attempts = 3

    runs = [
        {"rnn_overfit": Verdict(False, f"The loss is {k}.\nHint: look at the loss.", True)}
        for k in range(3)
    ]
    text = grade._attempts_text(Group, runs)["rnn_overfit"]
    assert text.count("Hint:") == 1
    assert all(f"Run {k + 1} of at most 3: The loss is {k}." in text for k in range(3))


def test_sampling_feedback_names_no_call_the_student_never_wrote():
    files = apply(BY_MUTANT["sample_no_feedback"], reference_files())
    results = graded(files, ["captioning_rnn_sample_rnn"])
    output = results["captioning_rnn_sample_rnn"].output
    assert results["captioning_rnn_sample_rnn"].score == 0
    assert "sample(" not in output, output


STEALING_FORWARD = """
def rnn_forward(x, h0, Wx, Wh, b):
    import importlib, sys
    names = [n for n in sys.modules if n.startswith("captioning.")]
    names += ["captioning._reference_rnn_layers"]
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        theirs = getattr(module, "rnn_forward", None)
        if theirs is not None and theirs is not rnn_forward:
            return theirs(x, h0, Wx, Wh, b)
    raise RuntimeError("no other rnn_forward")
"""


def test_the_isolated_run_holds_the_dependencies_only():
    source = isolation.reference_source(("rnn_step_forward", "rnn_step_backward")).decode()
    assert "def rnn_step_forward(" in source and "def rnn_step_backward(" in source
    assert "def rnn_forward(" not in source and "def lstm_step_forward(" not in source
    assert "def sigmoid(" in source  # provided functions stay


def test_a_function_cannot_pass_by_calling_the_injected_reference():
    files = replace_functions(textbook(reference_files()), {"rnn_forward": STEALING_FORWARD})
    results = graded(files, ["rnn_step_forward", "rnn_forward"])
    assert results["rnn_step_forward"].score == results["rnn_step_forward"].max_score
    assert results["rnn_forward"].score == 0, results["rnn_forward"].output


def test_the_root_cause_lines_hold_no_code():
    from autograder.engine.checks.layers import FAMILIES
    from autograder.tools.feedback_table import contains_code

    assert contains_code("da = dnext_h * (1 - next_h**2)")  # the detector sees code
    assert contains_code("use np.add.at(dW, x, dout)")
    texts = []
    failed = set(isolation.RNN_LAYERS)
    for check in isolation.USES:
        failing = isolation.failing_uses(check, failed | set(isolation.USES))
        texts.append(isolation.isolated_pass_text(check, failing, failed))
        texts.append(isolation.isolated_pass_text(check, [], failed))
        texts.append(isolation.root_cause_text(check, failing, failed))
    texts += [
        f"on the inputs where your forward is right ({name})."
        for f in FAMILIES.values()
        for name in f
    ]
    assert [t for t in texts if contains_code(t)] == []


def test_the_reference_is_parsed_once_whatever_the_threads():
    """ast.parse is not thread-safe before CPython 3.11.8 (gh-106905: "AST constructor
    recursion depth mismatch"); the graders' threads build the injected sources, so the
    reference is parsed once per process and every source comes from that one tree."""
    import ast
    import threading
    from unittest import mock

    from autograder.engine import isolation

    isolation._parsed.clear()
    isolation.reference_source.cache_clear()
    calls, start = [], threading.Barrier(8)
    parse = ast.parse

    def counted(*args, **kwargs):
        calls.append(threading.get_ident())
        return parse(*args, **kwargs)

    sources = []
    injects = [("rnn_step_forward",), ("lstm_step_forward",), ("rnn_step_forward", "rnn_forward")]

    def build(k):
        start.wait()
        sources.append(isolation.reference_source(injects[k % len(injects)]))

    with mock.patch.object(isolation.ast, "parse", counted):
        threads = [threading.Thread(target=build, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(calls) == 1 and len(sources) == 8
    for source in set(sources):
        names = {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
        assert names & set(isolation.RNN_LAYERS) in [set(i) for i in injects]
    isolation._parsed.clear()
    isolation.reference_source.cache_clear()
