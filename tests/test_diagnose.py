"""The probes of captioning/diagnose.py locate bugs, both where students work and in the
grader, and find nothing in correct code.

Each planted bug (the mutants of tools/mutants.py and the variants below) is
labelled with the part of the function it breaks and the kind of mistake.
The probes must say that part and that kind: on the student's side (the
notebook's inputs, numeric gradients of the student's own forward, the
published values), and on the grader's side (random inputs, the reference),
here run in this process on the planted code, which is trusted in a test.
The sandboxed grader on the mutants is tested in test_engine_checks.py.
"""

import importlib
import itertools
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from autograder import paths
from autograder.engine import probing, reference
from autograder.engine.checks.layers import LAYERS, draw_dims, draw_inputs, draw_upstream
from autograder.tools.mutants import MUTANTS, Mutant, apply

LABELS = {  # mutant -> (words of the part, kind)
    "rnn_step_forward_no_bias": ("bias term", "missing"),
    "rnn_step_forward_Wh_transposed": ("recurrent term", "transposed"),
    "rnn_step_backward_tanh_grad_of_input": ("through tanh", "wrong"),
    "rnn_step_backward_db_mean": ("db", "scale_N"),
    "rnn_forward_h0_included": ("h", "extra_step"),
    "rnn_backward_no_carried_dh": ("hidden-state gradient carried back", "missing"),
    "rnn_backward_weights_overwritten": ("weight gradients", "overwritten"),
    "word_embedding_forward_bad_reshape": ("order of the positions", "order"),
    "word_embedding_backward_fancy_assign": ("appear more than once", "not_accumulated"),
    "word_embedding_backward_from_W": ("the value dW starts from", "not_from_zero"),
    "lstm_gates_ifgo": ("gate blocks", "order"),
    "lstm_forget_gate_on_prev_h": ("forget term", "wrong"),
    "lstm_step_backward_no_tanh_grad": ("from dnext_h to the cell state", "wrong"),
    "lstm_step_backward_gates_ifgo": ("output gate o and the block input g", "swapped"),
    "lstm_forward_c0_is_h0": ("how the states start", "wrong"),
    "lstm_backward_no_carried_dc": ("cell-state gradient carried back", "missing"),
    "lstm_backward_no_carried_dh": ("hidden-state gradient carried back", "missing"),
    "lstm_backward_weights_overwritten": ("weight gradients", "overwritten"),
}

M = Mutant
PLANTED = [  # bugs no list of known variants anticipates, with their labels
    (M("bias_sign", "rnn_step_forward", " + b)", " - b)", ()), ("bias term", "sign")),
    (M("no_input_term", "rnn_step_forward", "x.dot(Wx) + ", "", ()), ("input term", "missing")),
    (M("input_twice", "rnn_step_forward", "x.dot(Wx)", "2 * x.dot(Wx)", ()),
     ("input term", "scale")),
    (M("sigmoid_activation", "rnn_step_forward", "np.tanh(", "sigmoid(", ()),
     ("activation", "wrong")),
    (M("no_forget_term", "lstm_step_forward", "next_c = f * prev_c + i * g", "next_c = i * g",
       ()), ("forget term", "missing")),
    (M("no_output_gate", "lstm_step_forward", "next_h = o * np.tanh(next_c)",
       "next_h = np.tanh(next_c)", ()), ("output gate o", "missing")),
    (M("g_through_sigmoid", "lstm_step_forward", "g = np.tanh(a[:, 3 * H:4 * H])",
       "g = sigmoid(a[:, 3 * H:4 * H])", ()), ("block input g", "nonlinearity")),
    (M("g_doubled", "lstm_step_forward", "g = np.tanh(a[:, 3 * H:4 * H])",
       "g = np.tanh(2 * a[:, 3 * H:4 * H])", ()), ("block input g", "wrong")),
    (M("i_through_tanh", "lstm_step_forward", "i = sigmoid(a[:, 0:H])", "i = np.tanh(a[:, 0:H])",
       ()), ("input gate i", "nonlinearity")),
    (M("dnext_c_ignored", "lstm_step_backward", "dc = dnext_c + dnext_h", "dc = dnext_h", ()),
     ("dnext_c", "ignored")),
    (M("do_sign", "lstm_step_backward", "do = dnext_h", "do = -dnext_h", ()),
     ("output gate o", "sign")),
    (M("dprev_c_without_f", "lstm_step_backward", "dprev_c = dc * f", "dprev_c = dc", ()),
     ("dprev_c", "wrong")),
    (M("df_missing", "lstm_step_backward", "df = dc * prev_c * f * (1 - f)", "df = 0 * dc", ()),
     ("forget gate f", "missing")),
    (M("dWh_transposed", "rnn_step_backward", "dWh = prev_h.T.dot(da)", "dWh = da.T.dot(prev_h)",
       ()), ("dWh", "transposed")),
    (M("db_negated", "rnn_step_backward", "db = np.sum(da, axis=0)", "db = -np.sum(da, axis=0)",
       ()), ("db", "sign")),
    (M("dh0_from_first_step", "rnn_backward", "dh0 = dprev_h", "dh0 = dh[:, 0, :]", ()),
     ("dh0", "wrong")),
    (M("lstm_cell_not_carried", "lstm_forward",
       "prev_h, prev_c, step_cache = lstm_step_forward(",
       "prev_h, _, step_cache = lstm_step_forward(", ()), ("state passed", "wrong")),
    (M("rnn_state_not_carried", "rnn_forward",
       "prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)\n"
       "        h[:, t, :] = prev_h",
       "new_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)\n"
       "        h[:, t, :] = new_h", ()), ("state passed", "wrong")),
    (M("dWx_from_ones", "rnn_backward", "np.zeros((D, H)), np.zeros((H, H))",
       "np.ones((D, H)), np.zeros((H, H))", ()), ("the value dWx starts from", "not_from_zero")),
    (M("dW_from_ones", "word_embedding_backward", "dW = np.zeros_like(W)",
       "dW = np.ones_like(W)", ()), ("the value dW starts from", "not_from_zero")),
]  # fmt: skip
LAYER_CASES = [(m, LABELS[m.name]) for m in MUTANTS if m.name in LABELS] + PLANTED

LOSS_LABELS = {  # loss mutants, located from the loss alone (the notebook's case)
    "loss_unmasked": ("mask", "not_masked"),
    "loss_divided_by_T": ("the loss", "scale_T"),
    "loss_targets_not_shifted": ("the targets", "not_shifted"),
    "loss_ignores_features": ("image features", "wrong"),
}
LOSS_CASES = [(m, LOSS_LABELS[m.name]) for m in MUTANTS if m.name in LOSS_LABELS] + [
    (M("inputs_shifted", "loss", "captions_in = captions[:, :-1]",
       "captions_in = captions[:, 1:]", ()), ("the words the network reads", "not_shifted")),
]  # fmt: skip
GRADS_CASES = [
    (next(m for m in MUTANTS if m.name == "loss_no_projection_grads"),
     ("image features", "missing")),
    (M("no_embedding_grads", "loss", 'grads["W_embed"] = word_embedding_backward(dx, cache_embed)',
       'grads["W_embed"] = np.zeros_like(W_embed)', ()), ("word embeddings", "missing")),
]  # fmt: skip


@pytest.fixture(scope="session")
def diagnose():
    return probing.shared()


@pytest.fixture(scope="session")
def ref():
    return reference.load()


@pytest.fixture(scope="session")
def planted(tmp_path_factory):
    """mutant -> its package (rnn_layers, rnn, diagnose modules), imported once."""
    root = tmp_path_factory.mktemp("planted")
    files = {n: (paths.reference_dir() / n).read_bytes() for n in paths.STUDENT_FILES}
    made = {}

    def make(mutant):
        if mutant.name not in made:
            folder = root / mutant.name / "captioning"
            shutil.copytree(paths.reference_dir(), folder)
            for name, data in apply(mutant, files).items():
                (folder / name).write_bytes(data)
            alias = f"_planted_{mutant.name}"
            reference.import_package_as(alias, folder)
            made[mutant.name] = SimpleNamespace(
                **{m: importlib.import_module(f"{alias}.{m}") for m in ("rnn_layers", "rnn")}
            )
        return made[mutant.name]

    return make


def assert_located(finding, label):
    part, kind = label
    assert finding is not None, "the probes found nothing"
    assert part in finding.where, finding.text()
    assert finding.kind == kind, finding.text()


@pytest.mark.parametrize("mutant, label", LAYER_CASES, ids=[m.name for m, _ in LAYER_CASES])
def test_the_student_side_probes_locate_each_bug(mutant, label, planted, diagnose):
    package = planted(mutant)
    assert_located(diagnose.find(mutant.function, package.rnn_layers), label)


def grader_finding(diagnose, ref, fn, layers, seed):
    """The grader's diagnosis (random inputs, the reference), run in this process."""
    rng = np.random.default_rng(seed)
    spec = LAYERS[fn]
    inputs = draw_inputs(spec.forward, draw_dims(spec.forward, rng), rng)
    inputs.update(draw_upstream(spec, ref, inputs, rng))
    found = diagnose.probes(fn, inputs)
    cases = {**found, **diagnose.variants(fn, inputs)}
    want = {n: probing._reference_outputs(ref, fn, p) for n, p in cases.items()}
    student = SimpleNamespace(rnn_layers=layers)
    got = {n: probing._reference_outputs(student, fn, p) for n, p in found.items()}
    return diagnose.locate(fn, got, want, inputs)


@pytest.mark.parametrize("mutant, label", LAYER_CASES, ids=[m.name for m, _ in LAYER_CASES])
def test_the_grader_side_probes_locate_each_bug(mutant, label, planted, diagnose, ref):
    package = planted(mutant)
    for seed in (1, 2):
        assert_located(grader_finding(diagnose, ref, mutant.function, package.rnn_layers, seed),
                       label)  # fmt: skip


FUNCTIONS = sorted(LAYERS)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_the_probes_find_nothing_in_the_reference(fn, diagnose, ref):
    assert diagnose.find(fn, ref.rnn_layers) is None
    for seed in (1, 2, 3):
        assert grader_finding(diagnose, ref, fn, ref.rnn_layers, seed) is None


@pytest.mark.parametrize("mutant, label", LOSS_CASES, ids=[m.name for m, _ in LOSS_CASES])
def test_the_loss_probes_locate_each_bug(mutant, label, planted, diagnose):
    for cell in ("rnn", "lstm"):
        assert_located(diagnose.find_loss(cell, planted(mutant).rnn.CaptioningRNN), label)


def numeric_loss_gradients(model_class, cell):
    """The self-check's small model: its loss, gradients and numeric gradients."""
    rng = np.random.default_rng(0)
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    model = model_class(word_to_idx, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type=cell,
                        dtype=np.float64)  # fmt: skip
    captions = rng.integers(3, size=(2, 3))
    features = rng.standard_normal((2, 4))
    loss, grads = model.loss(features, captions)
    numeric = {}
    for name, value in model.params.items():
        grad = np.zeros_like(value)
        for ix in itertools.product(*map(range, value.shape)):
            old = value[ix]
            value[ix] = old + 1e-6
            plus = model.loss(features, captions)[0]
            value[ix] = old - 1e-6
            minus = model.loss(features, captions)[0]
            value[ix] = old
            grad[ix] = (plus - minus) / 2e-6
        numeric[name] = grad
    return loss, grads, numeric


@pytest.mark.parametrize("mutant, label", GRADS_CASES, ids=[m.name for m, _ in GRADS_CASES])
def test_the_gradient_probes_locate_each_bug(mutant, label, planted, diagnose, ref):
    loss, grads, numeric = numeric_loss_gradients(planted(mutant).rnn.CaptioningRNN, "rnn")
    assert_located(diagnose.find_grads(grads, numeric, loss), label)
    loss, grads, numeric = numeric_loss_gradients(ref.rnn.CaptioningRNN, "rnn")
    assert diagnose.find_grads(grads, numeric, loss) is None


def test_the_loss_probes_find_nothing_in_the_reference(diagnose, ref):
    for cell in ("rnn", "lstm"):
        assert diagnose.find_loss(cell, ref.rnn.CaptioningRNN) is None


def test_the_published_probe_values_are_the_references(diagnose):
    stored = np.load(diagnose.PUBLISHED)
    fresh = probing.published()
    assert sorted(stored.files) == sorted(fresh)
    for key, value in fresh.items():
        np.testing.assert_allclose(stored[key], value, rtol=1e-12, atol=1e-12, err_msg=key)


def test_the_probe_module_holds_no_solution_line():
    from autograder.tools import build

    text = (paths.reference_dir() / "diagnose.py").read_text()
    released = {"rnn_captioning/captioning/diagnose.py": text.encode()}
    assert build.leaked_lines(paths.course_root(), released) == []


def test_a_probe_that_hangs_changes_no_verdict():
    """The probe steps run after every graded step: code that loops forever on a probe's
    inputs (here: when the bias is zero) keeps the verdicts of its real inputs."""
    from autograder.engine import grade_files, load_rubric

    hang = M("hangs_without_bias", "rnn_step_forward", "next_h = np.tanh(",
             "while not np.any(b):\n        pass\n    next_h = np.tanh(", ())  # fmt: skip
    files = {n: (paths.reference_dir() / n).read_bytes() for n in paths.STUDENT_FILES}
    checks = [c for c in load_rubric() if c["name"] in ("rnn_step_forward", "rnn_step_backward")]
    results = grade_files(apply(hang, files), checks, workers=1, time_scale=0.2)
    assert {r.name: r.status for r in results} == {
        "rnn_step_forward": "passed",
        "rnn_step_backward": "passed",
    }, [r.output for r in results]
