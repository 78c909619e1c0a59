"""Where a wrong result goes wrong: probes that take a function apart.

Provided in full; nothing here computes a layer. A *probe* is a copy of some
inputs changed so that one part of a function drops out or stands alone: a
term (the bias set to zero), a gate (held fully open or closed), a path (only
one upstream gradient), a timestep (an upstream gradient at the last step
only). Comparing your outputs with correct ones, probe by probe, says which
part is wrong and what kind of mistake it looks like.

The correct outputs come from elsewhere: in the self-checks and notebooks,
numeric gradients of your own forward function and published values; in the
grader, its own reference. ``diagnose(name)`` runs the probes of one
function of ``rnn_layers.py`` on the notebook's inputs and prints what they
find; ``locate`` is the judgement both sides share.

Every input and output is a dict name -> numpy array, named as in the
docstrings of ``rnn_layers.py`` (x, prev_h, Wx, ..., dnext_h; next_h, dx, ...).
"""

from __future__ import annotations

import contextlib
import itertools
import os
from dataclasses import dataclass

import numpy as np

from .gradient_check import eval_numerical_gradient_array

TOLERANCE = 1e-5  # relative error below which two results are the same
GATES = "ifog"
GATE_NAMES = {
    "i": "the input gate i",
    "f": "the forget gate f",
    "o": "the output gate o",
    "g": "the block input g",
}
SATURATED = 30.0  # a pre-activation where sigmoid and tanh are 0 or 1 to 1e-13

# The arguments and outputs of every function the probes know.
FORWARD_ARGS = {
    "rnn_step_forward": ("x", "prev_h", "Wx", "Wh", "b"),
    "rnn_forward": ("x", "h0", "Wx", "Wh", "b"),
    "word_embedding_forward": ("x", "W"),
    "lstm_step_forward": ("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
    "lstm_forward": ("x", "h0", "Wx", "Wh", "b"),
}
FORWARD_OUTS = {
    "rnn_step_forward": ("next_h",),
    "rnn_forward": ("h",),
    "word_embedding_forward": ("out",),
    "lstm_step_forward": ("next_h", "next_c"),
    "lstm_forward": ("h",),
}
BACKWARD = {  # backward -> (its forward, upstream gradients, outputs)
    "rnn_step_backward": ("rnn_step_forward", ("dnext_h",), ("dx", "dprev_h", "dWx", "dWh", "db")),
    "rnn_backward": ("rnn_forward", ("dh",), ("dx", "dh0", "dWx", "dWh", "db")),
    "word_embedding_backward": ("word_embedding_forward", ("dout",), ("dW",)),
    "lstm_step_backward": (
        "lstm_step_forward",
        ("dnext_h", "dnext_c"),
        ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"),
    ),
    "lstm_backward": ("lstm_forward", ("dh",), ("dx", "dh0", "dWx", "dWh", "db")),
}


# --- comparing --------------------------------------------------------------------------
@contextlib.contextmanager
def tolerance(value):
    """Compare with another tolerance inside the block (published values are exact: the
    notebook checks the loss to 1e-11). Not for threads that compare at the same time."""
    global TOLERANCE
    old, TOLERANCE = TOLERANCE, value
    try:
        yield
    finally:
        TOLERANCE = old


def rel_error(a, b):
    """||a - b|| / (||a|| + ||b||), 0 when both are 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


def same(a, b):
    """Whether two results agree (None, a wrong shape or NaN never does)."""
    if a is None or b is None:
        return False
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or not np.all(np.isfinite(a)):
        return False
    return rel_error(a, b) < TOLERANCE


def is_zero(a, scale_of):
    return a is not None and np.linalg.norm(a) <= TOLERANCE * np.linalg.norm(scale_of)


def all_same(got, want, names=None):
    """Whether every output in `names` (default: all of `want`) agrees."""
    if got is None or want is None:
        return False
    return all(same(got.get(k), want[k]) for k in (names or want))


def factor(got, want):
    """The number c with got = c * want, when there is one, else None."""
    if got is None or want is None or np.shape(got) != np.shape(want):
        return None
    g, w = np.ravel(got).astype(np.float64), np.ravel(want).astype(np.float64)
    norm = float(w @ w)
    if norm == 0 or not np.all(np.isfinite(g)):
        return None
    c = float(g @ w) / norm
    return c if rel_error(g, c * w) < TOLERANCE else None


# --- what a finding says ------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """Where a bug is (`where`, words), what kind it is (a key of KINDS), and the probe
    evidence that shows it (words)."""

    function: str
    where: str
    kind: str
    evidence: str = ""
    explain: str = ""  # a key of EXPLAIN: the maths of that part, in words

    def text(self, level="locate"):
        if level == "none":
            return ""
        line = f"In {self.function}, the bug is in {self.where}: {KINDS[self.kind]}."
        if self.evidence:
            line += f" Evidence: {self.evidence}."
        if level == "explain" and self.explain in EXPLAIN:
            line += " " + EXPLAIN[self.explain]
        return line


KINDS = {
    "missing": "a term is missing",
    "sign": "it has the wrong sign",
    "scale": "it has the wrong scale",
    "scale_N": "it has the wrong scale (1/N of the right value, N the batch size)",
    "scale_T": "it has the wrong scale (1/T of the right value, T the number of timesteps)",
    "not_accumulated": "contributions that should add up are not accumulated: "
    "one overwrites the others",
    "overwritten": "what should add up over the timesteps is overwritten: only one "
    "timestep's contribution is kept",
    "order": "the parts are taken in the wrong order",
    "swapped": "two blocks are swapped (wrong order)",
    "transposed": "a weight matrix is used transposed (wrong order of a product)",
    "extra_step": "there is one timestep too many",
    "not_masked": "the padding is not masked",
    "wrong": "it is wrong (not simply missing, scaled or of the wrong sign)",
    "ignored": "an upstream gradient is ignored (missing term)",
    "nonlinearity": "it has the wrong value where its pre-activation is zero: look at "
    "the nonlinearity it goes through",
    "not_from_zero": "it does not start from zero: the contributions are added to "
    "something that is already there",
    "not_shifted": "the words it reads and the words it predicts are not one word apart",
}

# The maths of each part, in words (level "explain"); never a formula.
EXPLAIN = {
    "bias": "The bias is added once to every row of the batch.",
    "input_term": "The input at this step enters through its own weight matrix.",
    "recurrent_term": "The previous hidden state enters through the hidden-to-hidden "
    "weights; mind which side of the product each factor goes on.",
    "activation": "The sum of the three terms goes through the activation once.",
    "tanh_grad": "The derivative of tanh is easiest to get from its output, which the "
    "forward pass already computed.",
    "batch_sum": "A parameter shared by every example of the batch receives the sum of "
    "their gradients, not their mean.",
    "weights_out": "Each weight gradient pairs the input of the product with the "
    "gradient of its output; the shapes tell which one is transposed.",
    "gates": "The activation vector splits into four blocks in the order input, forget, "
    "output gate, then the block input; the first three go through the sigmoid, the "
    "last through tanh.",
    "forget": "The forget gate scales the previous cell state; the input gate scales "
    "the block input; the cell state is their sum.",
    "output_path": "The hidden state is the output gate times the tanh of the new cell state.",
    "cell_grad": "The new cell state receives gradient twice: directly from its own "
    "upstream gradient and through the hidden state, across the output gate and the "
    "tanh.",
    "time_carry": "Going back in time, each step's hidden state gets its own upstream "
    "gradient plus the gradient its successor sent back.",
    "cell_carry": "The cell state's gradient travels back in time too, from each step "
    "to the one before, next to the hidden state's.",
    "weights_time": "The weights are shared by every timestep, so their gradients are "
    "the sum of every step's contribution.",
    "start": "The sequence starts from the initial hidden state given as input; the "
    "LSTM's cell state starts at zero; neither is part of the output.",
    "state_carry": "Each step reads the state the previous step produced.",
    "repeats": "A word that appears several times in the batch collects the gradient "
    "of every place it appears.",
    "lookup": "Each position of the input picks the row of its word, keeping the "
    "batch and time axes in their order.",
    "mask": "Targets that are padding do not count: neither in the loss nor in the gradients.",
    "loss_words": "The network reads every word of a caption but the last and predicts "
    "every word but the first.",
    "loss_scale": "The loss is summed over time and averaged over the batch only; the "
    "provided softmax loss already does both.",
    "features": "The image features, through the projection, are the initial hidden "
    "state; their parameters get the gradient that reaches the initial state.",
    "start_value": "A gradient that collects contributions starts empty, with the shape "
    "of what it is the gradient of.",
}


def all_texts():
    """Every fixed phrase a finding is made of (for the test that scans them)."""
    return list(KINDS.values()) + list(EXPLAIN.values()) + list(_PHRASES)


# --- probes: changed copies of the inputs -------------------------------------------------
def _with(inputs, **changes):
    changed = {k: np.array(v, copy=True) for k, v in inputs.items()}
    for name, value in changes.items():
        changed[name] = value
    return changed


def _pin_gate(inputs, gate, value):
    """The inputs with one LSTM gate held at the pre-activation `value` (weights zero)."""
    H = inputs["Wh"].shape[0]
    k = GATES.index(gate)
    cols = slice(k * H, (k + 1) * H)
    Wx, Wh, b = (np.array(inputs[n], dtype=np.float64, copy=True) for n in ("Wx", "Wh", "b"))
    Wx[:, cols], Wh[:, cols], b[cols] = 0.0, 0.0, value
    return _with(inputs, Wx=Wx, Wh=Wh, b=b)


def _gate_layout(inputs, order):
    """The weights laid out so that correct code reading them behaves like code that
    takes the blocks in `order` (a permutation of 'ifog')."""
    H = inputs["Wh"].shape[0]
    inverse = "".join(GATES[order.index(g)] for g in GATES)

    def permute(w):
        blocks = {g: w[..., k * H : (k + 1) * H] for k, g in enumerate(GATES)}
        return np.concatenate([blocks[g] for g in inverse], axis=-1)

    return _with(inputs, **{n: permute(np.asarray(inputs[n])) for n in ("Wx", "Wh", "b")})


def _at_steps(dh, steps):
    """An upstream gradient of the hidden states kept at the timesteps `steps` only."""
    kept = np.zeros_like(dh)
    kept[:, steps] = dh[:, steps]
    return kept


def probes(fn, inputs):
    """name -> changed inputs, for the probes the student's function runs on ('base' is
    the inputs themselves). For a backward function, `inputs` holds the forward's
    arguments and the upstream gradients."""
    found = {"base": _with(inputs)}
    zero = np.zeros_like
    if fn in ("rnn_step_forward", "lstm_step_forward"):
        found["no_bias"] = _with(inputs, b=zero(inputs["b"]))
        found["no_input"] = _with(inputs, Wx=zero(inputs["Wx"]))
        found["no_recurrent"] = _with(inputs, prev_h=zero(inputs["prev_h"]))
    if fn == "lstm_step_forward":
        found["no_prev_c"] = _with(inputs, prev_c=zero(inputs["prev_c"]))
        # A gate held open is 1 whatever its nonlinearity: its own mistakes vanish.
        for gate in GATES:
            found[f"{gate}_open"] = _pin_gate(inputs, gate, SATURATED)
        found["f_closed"] = _pin_gate(inputs, "f", -SATURATED)
        # A gate at a pre-activation of zero is 1/2 through a sigmoid, 0 through tanh:
        # its nonlinearity alone decides it.
        for gate in GATES:
            found[f"{gate}_zero"] = _pin_gate(inputs, gate, 0.0)
    if fn in ("rnn_forward", "lstm_forward"):
        found["zero_h0"] = _with(inputs, h0=zero(inputs["h0"]))
        found["no_recurrence"] = _with(inputs, Wh=zero(inputs["Wh"]))
    if fn == "word_embedding_forward":
        found["one_word"] = _with(inputs, x=np.full_like(inputs["x"], inputs["x"].flat[0]))
    if fn == "rnn_step_backward":
        zeros = {n: zero(inputs[n]) for n in ("Wx", "Wh", "b")}
        found["zero_activation"] = _with(inputs, **zeros)
    if fn == "lstm_step_backward":
        found["h_only"] = _with(inputs, dnext_c=zero(inputs["dnext_c"]))
        found["c_only"] = _with(inputs, dnext_h=zero(inputs["dnext_h"]))
    if fn in ("word_embedding_backward", "rnn_backward", "lstm_backward"):
        # With no upstream gradient every gradient is zero, whatever the forward did.
        upstream = BACKWARD[fn][1][0]
        found["zero_upstream"] = _with(inputs, **{upstream: zero(inputs[upstream])})
    if fn in ("rnn_backward", "lstm_backward"):
        T = inputs["dh"].shape[1]
        found["last_only"] = _with(inputs, dh=_at_steps(inputs["dh"], [T - 1]))
        found["first_only"] = _with(inputs, dh=_at_steps(inputs["dh"], [0]))
    if fn == "lstm_backward":
        closed = _pin_gate(inputs, "f", -SATURATED)
        found["last_only_no_cell"] = _with(closed, dh=_at_steps(inputs["dh"], [T - 1]))
        found["last_only_no_hidden"] = _with(
            inputs, Wh=np.zeros_like(inputs["Wh"]), dh=_at_steps(inputs["dh"], [T - 1])
        )
    return found


def variants(fn, inputs):
    """name -> changed inputs on which *correct* code gives what code with one known
    kind of mistake gives on the original inputs: only correct outputs are needed on
    these, never the student's."""
    found = {}
    if fn in ("rnn_step_forward", "lstm_step_forward"):
        for name in ("b", "Wx", "Wh"):
            found[f"neg_{name}"] = _with(inputs, **{name: -np.asarray(inputs[name])})
            found[f"twice_{name}"] = _with(inputs, **{name: 2 * np.asarray(inputs[name])})
    if fn == "rnn_step_forward":
        found["Wh_transposed"] = _with(inputs, Wh=np.asarray(inputs["Wh"]).T)
    if fn in ("lstm_step_forward", "lstm_forward"):
        for order in itertools.permutations(GATES):
            order = "".join(order)
            if order != GATES:
                found[f"order_{order}"] = _gate_layout(inputs, order)
    return found


# --- locating ------------------------------------------------------------------------------
_PHRASES = {
    "bias": "the bias term",
    "input_term": "the input term (the product of x with Wx)",
    "recurrent_term": "the recurrent term (the product of prev_h with Wh)",
    "activation": "the activation or how the terms are combined",
    "forget": "the forget term (the forget gate with prev_c)",
    "output_path": "the path from next_c to next_h (after the output gate)",
    "tanh_grad": "the step back through tanh",
    "start": "the first timestep (how the states start)",
    "state_carry": "the state passed from each timestep to the next",
    "lookup": "the order of the positions in the lookup",
    "repeats": "the rows of words that appear more than once",
    "unused_rows": "the rows of words that do not appear",
    "cell_grad": "the path from dnext_h to the cell state (through the tanh of next_c)",
    "c_path": "the path from dnext_c",
    "dprev_c": "dprev_c (the path back to the previous cell state)",
    "time_carry": "the hidden-state gradient carried back from each timestep to the one before",
    "cell_carry": "the cell-state gradient carried back from each timestep to the one before",
    "weights_time": "the weight gradients (dWx, dWh and db)",
    "start_value": "the value {out} starts from",
    "targets": "the targets (the words it predicts)",
    "inputs_read": "the words the network reads (its inputs)",
}

_PROBE_WORDS = {
    "no_bias": "with b set to zero",
    "no_input": "with Wx set to zero",
    "no_recurrent": "with prev_h set to zero",
    "no_prev_c": "with prev_c set to zero",
    "i_open": "with the input gate held open",
    "f_open": "with the forget gate held open",
    "f_closed": "with the forget gate held closed",
    "o_open": "with the output gate held open",
    "g_open": "with the block input held at one",
}


def _forward_terms(fn, got, want):
    """rnn_step_forward, lstm_step_forward: which term or gate."""
    base = got["base"]
    terms = [("no_bias", "bias"), ("no_input", "input_term"), ("no_recurrent", "recurrent_term")]
    if fn == "lstm_step_forward":
        if same(base.get("next_c"), want["base"]["next_c"]) and not same(
            base.get("next_h"), want["base"]["next_h"]
        ):
            if all_same(base, want.get("o_open")):
                return Finding(fn, GATE_NAMES["o"], "missing", "next_c is right, next_h is not",
                               "output_path")  # fmt: skip
            return Finding(fn, _PHRASES["output_path"], "wrong", "next_c is right, next_h is not",
                           "output_path")  # fmt: skip
        # Most specific first: one gate held open, then a whole path held out.
        pins = [("o_open", "o"), ("g_open", "g"), ("i_open", "i"), ("f_open", "f")]
        terms = pins + [("f_closed", "forget"), ("no_prev_c", "forget")] + terms
    where = {key: _PHRASES.get(key) or GATE_NAMES[key] for _, key in terms}
    explain = {key: key if key in EXPLAIN else "gates" for _, key in terms}
    # Your result equals the correct one without a term: that term is missing.
    for probe, key in terms:
        if all_same(base, want.get(probe)):
            return Finding(fn, where[key], "missing", f"your result is what correct code "
                           f"gives {_PROBE_WORDS[probe]}", explain[key])  # fmt: skip
    for name, key in (("b", "bias"), ("Wx", "input_term"), ("Wh", "recurrent_term")):
        if all_same(base, want.get(f"neg_{name}")):
            return Finding(fn, where[key], "sign", "", explain[key])
        if all_same(base, want.get(f"twice_{name}")):
            return Finding(fn, where[key], "scale", "it is counted twice", explain[key])
    if all_same(base, want.get("Wh_transposed")):
        return Finding(fn, where["recurrent_term"], "transposed", "", "recurrent_term")
    for name, inputs in want.items():
        if name.startswith("order_") and all_same(base, inputs):
            order = ", ".join(name[6:])
            return Finding(fn, "the four gate blocks", "order",
                           f"your result matches the blocks read in the order {order}", "gates")  # fmt: skip
    # Right when one part is held out or pinned: the bug is in that part.
    right = [(p, k) for p, k in terms if all_same(got.get(p), want.get(p))]
    if right:
        probe, key = right[0]
        evidence = f"it is right {_PROBE_WORDS[probe]} and wrong otherwise"
        zero = f"{key}_zero"
        if zero in want and zero in got and not all_same(got[zero], want[zero]):
            return Finding(fn, where[key], "nonlinearity", evidence + "; it is wrong with "
                           f"{where[key]} at a pre-activation of zero", explain[key])  # fmt: skip
        return Finding(fn, where[key], "wrong", evidence, explain[key])
    return Finding(fn, _PHRASES["activation"], "wrong", "no single term fixes it", "activation")


def _first_wrong_step(got, want, reverse=False):
    """The first timestep (axis 1) where got and want differ, from the end if `reverse`."""
    T = want.shape[1]
    for t in reversed(range(T)) if reverse else range(T):
        if not same(got[:, t], want[:, t]):
            return t
    return None


def _sequence_forward(fn, got, want):
    base, good = got["base"].get("h"), want["base"]["h"]
    if base is not None and base.ndim == 3 and base.shape[1] == good.shape[1] + 1:
        return Finding(fn, "h", "extra_step", "h holds the initial state as its first "
                       "timestep", "start")  # fmt: skip
    if base is None or base.shape != good.shape:
        return None
    if fn == "lstm_forward":
        for name, inputs in want.items():
            if name.startswith("order_") and same(base, inputs["h"]):
                order = ", ".join(name[6:])
                return Finding(fn, "the four gate blocks", "order", "your result matches the "
                               f"blocks read in the order {order}", "gates")  # fmt: skip
    t = _first_wrong_step(base, good)
    if t == 0:
        if all_same(got.get("zero_h0"), want["zero_h0"]):
            return Finding(fn, _PHRASES["start"], "wrong", "timestep 0 is already wrong, "
                           "unless h0 is zero", "start")  # fmt: skip
        return Finding(fn, _PHRASES["start"], "wrong", "timestep 0 is already wrong: compare "
                       "with your step function's own result", "start")  # fmt: skip
    evidence = f"timesteps 0 to {t - 1} are right, timestep {t} is not"
    return Finding(fn, _PHRASES["state_carry"], "wrong", evidence, "state_carry")


def _kind_of(got, want, N=None, T=None):
    """The kind of mistake that turns `want` into `got`, for one output."""
    if got is None or np.shape(got) != np.shape(want):
        return "wrong"
    if is_zero(got, want):
        return "missing"
    if np.ndim(want) == 2 and want.shape[0] == want.shape[1] and same(got, want.T):
        return "transposed"
    c = factor(got, want)
    if c is None:
        return "wrong"
    if abs(c + 1) < 1e-6:
        return "sign"
    if N and abs(c * N - 1) < 1e-6:
        return "scale_N"
    if T and abs(c * T - 1) < 1e-6:
        return "scale_T"
    # A single number is always some multiple of another: that says nothing.
    return "wrong" if np.size(want) == 1 else "scale"


def _outputs_wrong(got, want):
    return [k for k in want if not same(got.get(k), want[k])]


def _step_backward(fn, got, want, inputs):
    base, good = got["base"], want["base"]
    wrong = _outputs_wrong(base, good)
    N = inputs["x"].shape[0]
    if fn == "rnn_step_backward":
        if all_same(got.get("zero_activation"), want["zero_activation"]):
            return Finding(fn, _PHRASES["tanh_grad"], "wrong", "the gradients are right where "
                           "the pre-activation is zero (the slope of tanh is one there) and "
                           "wrong elsewhere", "tanh_grad")  # fmt: skip
        if len(wrong) < len(good):
            return _one_output(fn, wrong, base, good, N)
        return Finding(fn, _PHRASES["tanh_grad"], "wrong", "every output is wrong", "tanh_grad")
    # lstm_step_backward
    h_only, c_only = got.get("h_only") or {}, got.get("c_only") or {}
    if all(is_zero(c_only.get(k), want["c_only"][k]) for k in good if k != "dprev_h") and not (
        all_same(c_only, want["c_only"])
    ):
        return Finding(fn, "dnext_c", "ignored", "with only dnext_c (dnext_h zero) every "
                       "gradient is zero", "cell_grad")  # fmt: skip
    swapped = _swapped_gates(base, good)
    if swapped:
        a, b = swapped
        return Finding(fn, f"the columns of {GATE_NAMES[a]} and {GATE_NAMES[b]} in dWx, "
                       "dWh and db", "swapped", "each holds what the other should",
                       "gates")  # fmt: skip
    if all_same(c_only, want["c_only"]) and not all_same(h_only, want["h_only"]):
        gates = _wrong_gates(h_only, want["h_only"])
        if gates == ["o"]:
            kind = _gate_kind(h_only, want["h_only"], "o", N)
            return Finding(fn, GATE_NAMES["o"], kind, "with only dnext_h, the columns of "
                           "the output gate are wrong and the others right", "output_path")  # fmt: skip
        if gates and "o" not in gates:
            return Finding(fn, _PHRASES["cell_grad"], "wrong", "with only dnext_c everything "
                           "is right; with only dnext_h the columns of "
                           + ", ".join(gates) + " are wrong and those of o right",
                           "cell_grad")  # fmt: skip
    if all_same(h_only, want["h_only"]) and not all_same(c_only, want["c_only"]):
        return Finding(fn, _PHRASES["c_path"], "wrong", "with only dnext_h everything is "
                       "right, with only dnext_c it is not", "cell_grad")  # fmt: skip
    gates = _wrong_gates(base, good)
    if len(gates) == 1:
        g = gates[0]
        kind = _gate_kind(base, good, g, N)
        return Finding(fn, f"the columns of {GATE_NAMES[g]} in dWx, dWh and db", kind,
                       "the columns of the other gates are right", "gates")  # fmt: skip
    if wrong == ["dprev_c"]:
        return Finding(fn, _PHRASES["dprev_c"], _kind_of(base.get("dprev_c"), good["dprev_c"]),
                       "every other output is right", "forget")  # fmt: skip
    if len(wrong) < len(good):
        return _one_output(fn, wrong, base, good, N)
    return Finding(fn, "the gate gradients", "wrong", "every output is wrong", "cell_grad")


def _one_output(fn, wrong, got, want, N):
    kinds = {k: _kind_of(got.get(k), want[k], N) for k in wrong}
    names = " and ".join(wrong)
    kind = kinds[wrong[0]] if len(set(kinds.values())) == 1 else "wrong"
    explain = "batch_sum" if kind == "scale_N" else "weights_out"
    return Finding(fn, names, kind, "the other outputs are right", explain)


def _gate_blocks(a, H):
    return {g: a[..., k * H : (k + 1) * H] for k, g in enumerate(GATES)}


def _wrong_gates(got, want):
    """The gates whose columns of dWx, dWh or db are wrong."""
    if not got:
        return []
    H = want["db"].shape[0] // 4
    wrong = []
    for g in GATES:
        for k in ("dWx", "dWh", "db"):
            value = got.get(k)
            if value is None or value.shape != want[k].shape:
                return list(GATES)
            if not same(_gate_blocks(value, H)[g], _gate_blocks(want[k], H)[g]):
                wrong.append(g)
                break
    return wrong


def _gate_kind(got, want, gate, N):
    """The kind of mistake in the db columns of one gate."""
    H = want["db"].shape[0] // 4
    return _kind_of(_gate_blocks(got["db"], H)[gate], _gate_blocks(want["db"], H)[gate], N)


def _swapped_gates(got, want):
    db = got.get("db")
    if db is None or db.shape != want["db"].shape:
        return None
    H = want["db"].shape[0] // 4
    mine, good = _gate_blocks(db, H), _gate_blocks(want["db"], H)
    for a, b in itertools.combinations(GATES, 2):
        if not same(mine[a], good[a]) and same(mine[a], good[b]) and same(mine[b], good[a]):
            return a, b
    return None


def _not_from_zero(fn, got, want):
    """The Finding of a backward function whose gradients are not zero when its upstream
    gradient is (an accumulator started from something else), or None."""
    zero, good = got.get("zero_upstream"), want.get("zero_upstream")
    if zero is None or good is None:
        return None
    wrong = [k for k in good if k in zero and not is_zero(zero[k], want["base"][k])]
    if not wrong:
        return None
    names = " and ".join(wrong)
    return Finding(fn, _PHRASES["start_value"].format(out=names), "not_from_zero",
                   f"with a zero upstream gradient, {names} should be zero and "
                   f"{'is' if len(wrong) == 1 else 'are'} not", "start_value")  # fmt: skip


def _sequence_backward(fn, got, want, inputs):
    base, good = got["base"], want["base"]
    started = _not_from_zero(fn, got, want)
    if started is not None:
        return started
    dx = base.get("dx")
    if dx is None or dx.shape != good["dx"].shape:
        return None
    T = good["dx"].shape[1]
    weights = [k for k in ("dWx", "dWh", "db") if not same(base.get(k), good[k])]
    if same(dx, good["dx"]):
        if weights and all_same(got.get("first_only"), want["first_only"], weights):
            return Finding(fn, _PHRASES["weights_time"], "overwritten", "they are right when "
                           "only timestep 0 has an upstream gradient", "weights_time")  # fmt: skip
        wrong = _outputs_wrong(base, good)
        return _one_output(fn, wrong, base, good, inputs["x"].shape[0])
    t = _first_wrong_step(dx, good["dx"], reverse=True)
    last = got.get("last_only") or {}
    carried_wrong = not same(last.get("dx"), want["last_only"]["dx"])
    if t == T - 1 or not carried_wrong:
        return Finding(fn, f"dx at timestep {t}", "wrong", f"counting back from the end "
                       f"(timesteps 0 to {T - 1}), timestep {t} is the first wrong one",
                       "time_carry")  # fmt: skip
    evidence = (
        f"with an upstream gradient at the last timestep only, dx is right at timestep "
        f"{T - 1} and wrong from timestep {T - 2} back"
    )
    where, explain, other = _PHRASES["time_carry"], "time_carry", "last_only"
    if fn == "lstm_backward":
        if all_same(got.get("last_only_no_cell"), want["last_only_no_cell"], ["dx"]):
            where, explain, other = _PHRASES["cell_carry"], "cell_carry", "last_only_no_hidden"
            evidence += "; with the forget gate closed (no cell state carried) it is right"
        else:
            other = "last_only_no_cell"
    # With the other path cut, correct code still sends gradient back through this one:
    # nothing at all coming back means this path is missing.
    earlier = (got.get(other) or {}).get("dx")
    kind = "wrong"
    if earlier is not None and earlier.shape == dx.shape:
        if is_zero(earlier[:, : T - 1], want[other]["dx"][:, : T - 1]):
            kind = "missing"
    return Finding(fn, where, kind, evidence, explain)


def _embedding(fn, got, want, inputs):
    x = inputs["x"]
    if fn == "word_embedding_forward":
        if all_same(got.get("one_word"), want["one_word"]):
            return Finding(fn, _PHRASES["lookup"], "order", "with one word everywhere the "
                           "result is right", "lookup")  # fmt: skip
        return Finding(fn, "out", "wrong", "", "lookup")
    dW, good = got["base"].get("dW"), want["base"]["dW"]
    if dW is None or dW.shape != good.shape:
        return None
    started = _not_from_zero(fn, got, want)
    if started is not None:
        return started
    counts = np.bincount(np.ravel(x), minlength=good.shape[0])
    once, repeated, unused = counts == 1, counts > 1, counts == 0
    if unused.any() and not is_zero(dW[unused], good):
        return Finding(fn, _PHRASES["unused_rows"], "wrong", "they should be zero",
                       "repeats")  # fmt: skip
    if once.any() and same(dW[once], good[once]) and not same(dW[repeated], good[repeated]):
        return Finding(fn, _PHRASES["repeats"], "not_accumulated", "the rows of words that "
                       "appear once are right", "repeats")  # fmt: skip
    return Finding(fn, "dW", _kind_of(dW, good), "", "repeats")


def locate(fn, got, want, inputs):
    """The Finding of a wrong function, or None when its base outputs are right.

    `got`: probe name -> the student's outputs (name -> array; a probe that did not
    run may be missing); `want`: probe or variant name -> correct outputs; `inputs`:
    the base inputs (forward arguments and upstream gradients)."""
    if "base" not in got or all_same(got["base"], want["base"]):
        return None
    with np.errstate(all="ignore"):
        if fn in ("rnn_step_forward", "lstm_step_forward"):
            return _forward_terms(fn, got, want)
        if fn in ("rnn_forward", "lstm_forward"):
            return _sequence_forward(fn, got, want)
        if fn in ("rnn_step_backward", "lstm_step_backward"):
            return _step_backward(fn, got, want, inputs)
        if fn in ("rnn_backward", "lstm_backward"):
            return _sequence_backward(fn, got, want, inputs)
        if fn.startswith("word_embedding"):
            return _embedding(fn, got, want, inputs)
    return None


# --- the model: CaptioningRNN.loss --------------------------------------------------------
NULL = 0


def loss_probes(features, captions):
    """name -> (features, captions): the mask all on (no padding), all off (every target
    is padding), and the image features at zero."""
    on = np.array(captions, copy=True)
    tail = on[:, 1:]
    tail[tail == NULL] = tail[tail != NULL].flat[0] if (tail != NULL).any() else NULL + 1
    off = np.array(captions, copy=True)
    off[:, 1:] = NULL
    found = {
        "mask_on": (np.array(features, copy=True), on),
        "mask_off": (np.array(features, copy=True), off),
        "zero_features": (np.zeros_like(features), np.array(captions, copy=True)),
    }
    # The first column is only ever read and the last only ever predicted: changing one
    # of them changes a correct loss, through that role alone.
    words = np.unique(tail[tail != NULL])
    if len(words) >= 2:
        for name, column in (("first_changed", 0), ("last_changed", -1)):
            changed = np.array(on, copy=True)
            col = changed[:, column]
            changed[:, column] = np.where(col == words[0], words[1], words[0])
            found[name] = (np.array(features, copy=True), changed)
    return found


MODEL_PATHS = {
    "W_proj": "the path back to the image features",
    "b_proj": "the path back to the image features",
    "W_embed": "the path back to the word embeddings",
    "Wx": "the recurrent layer's backward pass",
    "Wh": "the recurrent layer's backward pass",
    "b": "the recurrent layer's backward pass",
    "W_vocab": "the output layer's backward pass",
    "b_vocab": "the output layer's backward pass",
}
_PHRASES.update({f"model_{k}": v for k, v in MODEL_PATHS.items()})
_PHRASES["mask"] = "the mask of the <NULL> targets"
_PHRASES["loss"] = "the loss"
_PHRASES["loss_words"] = "the words the network reads and the words it predicts"


_ROLE = {  # probe -> (the part that column plays, what the network does with it)
    "last_changed": ("targets", "only predicts"),
    "first_changed": ("inputs_read", "only reads"),
}


def _misaligned(got, want):
    """The Finding of a loss that does not respond to a caption column it should (the
    words read or predicted taken from the wrong columns), or None. Each probe changes
    one column of the captions with the mask all on, so is compared with that probe."""
    on, want_on = got.get("mask_on") or {}, want.get("mask_on") or {}
    for probe, (part, role) in _ROLE.items():
        changed, want_changed = got.get(probe) or {}, want.get(probe) or {}
        if changed.get("loss") is None or want_changed.get("loss") is None:
            continue
        if same(want_changed["loss"], want_on.get("loss")):
            continue  # this column does not matter here, even to correct code
        if on.get("loss") is not None and same(changed["loss"], on["loss"]):
            which = "last" if probe == "last_changed" else "first"
            return Finding("CaptioningRNN.loss", _PHRASES[part], "not_shifted",
                           f"changing the {which} word of every caption, which the network "
                           f"{role}, does not change your loss", "loss_words")  # fmt: skip
    return None


def locate_loss(got, want, T):
    """The Finding of a wrong CaptioningRNN.loss. `got` and `want`: probe name ('base',
    'mask_on', 'mask_off', 'zero_features') -> {'loss': array, 'grads': {key: array}}."""
    fn = "CaptioningRNN.loss"
    base, good = got.get("base") or {}, want["base"]
    loss_right = same(base.get("loss"), good["loss"])
    grads = base.get("grads") or {}
    wrong = [k for k in good["grads"] if not same(grads.get(k), good["grads"][k])]
    if loss_right and not wrong:
        return None
    off, on = got.get("mask_off") or {}, got.get("mask_on") or {}
    want_off, want_on = want.get("mask_off") or {}, want.get("mask_on") or {}
    if not same(off.get("loss"), want_off.get("loss")) and same(
        on.get("loss"), want_on.get("loss")
    ):
        return Finding(fn, _PHRASES["mask"], "not_masked", "the loss is right when no target "
                       "is padding, and not zero when every target is", "mask")  # fmt: skip
    if not loss_right:
        kind = _kind_of(base.get("loss"), good["loss"], T=T)
        if kind != "wrong":
            return Finding(fn, _PHRASES["loss"], kind, "", "loss_scale")
        zero = got.get("zero_features") or {}
        if same(zero.get("loss"), (want.get("zero_features") or {}).get("loss")):
            return Finding(fn, MODEL_PATHS["W_proj"], "wrong", "the loss is right when the "
                           "features are zero", "features")  # fmt: skip
        aligned = _misaligned(got, want)
        if aligned is not None:
            return aligned
        return Finding(fn, _PHRASES["loss_words"], "wrong", "the loss is wrong even with the "
                       "mask all on and with the features at zero", "loss_words")  # fmt: skip
    # The backward pass runs from the output layer down: where it first goes wrong is
    # the first wrong group in that order; the groups after it inherit the error.
    order = ["W_vocab", "b_vocab", "Wx", "Wh", "b", "W_embed", "W_proj", "b_proj"]
    first = next(k for k in order if k in wrong)
    kinds = {_kind_of(grads.get(k), good["grads"][k]) for k in wrong}
    kind = kinds.pop() if len(kinds) == 1 else "wrong"
    evidence = "the loss is right; the gradients of " + ", ".join(wrong) + " are not"
    explain = "features" if first in ("W_proj", "b_proj") else "weights_out"
    return Finding(fn, MODEL_PATHS[first], kind, evidence, explain)


# --- on the student's side: the notebook's inputs, numeric gradients, published values -------
def _notebook_inputs(fn):
    """The inputs of the notebook's check of `fn` (a forward function), or random ones."""
    space = np.linspace
    if fn == "rnn_step_forward":
        N, D, H = 3, 10, 4
        return {"x": space(-0.4, 0.7, num=N * D).reshape(N, D),
                "prev_h": space(-0.2, 0.5, num=N * H).reshape(N, H),
                "Wx": space(-0.1, 0.9, num=D * H).reshape(D, H),
                "Wh": space(-0.3, 0.7, num=H * H).reshape(H, H),
                "b": space(-0.2, 0.4, num=H)}  # fmt: skip
    if fn == "rnn_forward":
        N, T, D, H = 2, 3, 4, 5
        return {"x": space(-0.1, 0.3, num=N * T * D).reshape(N, T, D),
                "h0": space(-0.3, 0.1, num=N * H).reshape(N, H),
                "Wx": space(-0.2, 0.4, num=D * H).reshape(D, H),
                "Wh": space(-0.4, 0.1, num=H * H).reshape(H, H),
                "b": space(-0.7, 0.1, num=H)}  # fmt: skip
    if fn == "word_embedding_forward":
        return {"x": np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]]),
                "W": space(0, 1, num=15).reshape(5, 3)}  # fmt: skip
    if fn == "lstm_step_forward":
        N, D, H = 3, 4, 5
        return {"x": space(-0.4, 1.2, num=N * D).reshape(N, D),
                "prev_h": space(-0.3, 0.7, num=N * H).reshape(N, H),
                "prev_c": space(-0.4, 0.9, num=N * H).reshape(N, H),
                "Wx": space(-2.1, 1.3, num=4 * D * H).reshape(D, 4 * H),
                "Wh": space(-0.7, 2.2, num=4 * H * H).reshape(H, 4 * H),
                "b": space(0.3, 0.7, num=4 * H)}  # fmt: skip
    if fn == "lstm_forward":
        N, D, H, T = 2, 5, 4, 3
        return {"x": space(-0.4, 0.6, num=N * T * D).reshape(N, T, D),
                "h0": space(-0.4, 0.8, num=N * H).reshape(N, H),
                "Wx": space(-0.2, 0.9, num=4 * D * H).reshape(D, 4 * H),
                "Wh": space(-0.3, 0.6, num=4 * H * H).reshape(H, 4 * H),
                "b": space(0.2, 0.7, num=4 * H)}  # fmt: skip
    raise KeyError(fn)


def backward_inputs(fn):
    """Random inputs of a backward function (forward arguments and upstream), seeded."""
    rng = np.random.default_rng(231)
    forward, upstream, _ = BACKWARD[fn]
    lstm = forward.startswith("lstm")
    N, D, H, T = 3, 4, 5, 4
    k = 4 if lstm else 1
    if forward == "word_embedding_forward":
        x = rng.integers(0, 4, size=(4, 3))
        x[0, 0] = 5  # word 5 appears once; word 6 never
        inputs = {"x": x, "W": rng.standard_normal((7, 3))}
        inputs["dout"] = rng.standard_normal((4, 3, 3))
        return inputs
    shapes = {"x": (N, T, D) if forward.endswith("_forward") and "step" not in forward
              else (N, D), "prev_h": (N, H), "prev_c": (N, H), "h0": (N, H),
              "Wx": (D, k * H), "Wh": (H, k * H), "b": (k * H,)}  # fmt: skip
    inputs = {a: rng.standard_normal(shapes[a]) for a in FORWARD_ARGS[forward]}
    for a in ("Wx", "Wh", "b"):
        inputs[a] *= 0.5
    for u in upstream:
        inputs[u] = rng.standard_normal((N, T, H) if u == "dh" else (N, H))
    return inputs


def _call_forward(module, fn, inputs):
    args = [np.array(inputs[a], copy=True) for a in FORWARD_ARGS[fn]]
    result = getattr(module, fn)(*args)
    return dict(zip(FORWARD_OUTS[fn], result[:-1])), result[-1]


def numeric_backward(module, fn, inputs):
    """The gradients a backward function should return, from numeric derivatives of
    the student's own forward function (name -> array)."""
    forward, upstream, outs = BACKWARD[fn]
    args = FORWARD_ARGS[forward]
    grad_of = {"dx": "x", "dprev_h": "prev_h", "dprev_c": "prev_c", "dh0": "h0",
               "dWx": "Wx", "dWh": "Wh", "db": "b", "dW": "W"}  # fmt: skip
    result = {}
    for out in outs:
        name = grad_of[out]
        point = {a: np.array(inputs[a], copy=True) for a in args}
        point[name] = point[name].astype(np.float64)
        total = np.zeros(point[name].shape)
        for k, u in enumerate(upstream):

            def f(value, k=k, point=point, name=name):
                point[name] = value
                return np.asarray(getattr(module, forward)(*(point[a] for a in args))[k])

            total += eval_numerical_gradient_array(f, point[name], inputs[u])
        result[out] = total
    return result


def _student_backward(module, fn, inputs):
    forward, upstream, outs = BACKWARD[fn]
    _, cache = _call_forward(module, forward, inputs)
    result = getattr(module, fn)(*(np.array(inputs[u], copy=True) for u in upstream), cache)
    if len(outs) == 1:
        result = (result,)
    return dict(zip(outs, result))


PUBLISHED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe_values.npz")


def published_values():
    """probe name -> correct outputs on the probes of the notebook's forward inputs, as
    published with the assignment (fn/probe/output -> array)."""
    found = {}
    with np.load(PUBLISHED, allow_pickle=False) as data:
        for key in data.files:
            fn, probe, out = key.split("/")
            found.setdefault(fn, {}).setdefault(probe, {})[out] = data[key]
    return found


def find(fn, module=None):
    """Run the probes of `fn` (a function of rnn_layers.py) on the notebook's inputs;
    the Finding, or None when the function is right on them."""
    if module is None:
        from . import rnn_layers as module
    if fn in BACKWARD:
        inputs = backward_inputs(fn)
        got, want = {}, {}
        for name, probe in probes(fn, inputs).items():
            want[name] = numeric_backward(module, fn, probe)
            try:
                got[name] = _student_backward(module, fn, probe)
            except NotImplementedError:
                raise
            except Exception:  # noqa: BLE001 - a probe that fails tells nothing
                continue
            if name == "base" and all_same(got[name], want[name]):
                return None  # right: the other probes would tell nothing
        return locate(fn, got, want, inputs)
    inputs = _notebook_inputs(fn)
    want = published_values()[fn]
    got = {}
    for name, probe in probes(fn, inputs).items():
        try:
            got[name] = _call_forward(module, fn, probe)[0]
        except NotImplementedError:
            raise
        except Exception:  # noqa: BLE001
            continue
    return locate(fn, got, want, inputs)


def notebook_loss_case(cell):
    """The notebook's expected-loss check of CaptioningRNN.loss: (word_to_idx, dims,
    params, features, captions), params set from fixed ranges."""
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    N, D, W, H, T = 10, 20, 30, 40, 13
    k = 4 if cell == "lstm" else 1
    V = len(word_to_idx)
    shapes = {"W_embed": (V, W), "W_proj": (D, H), "b_proj": (H,), "Wx": (W, k * H),
              "Wh": (H, k * H), "b": (k * H,), "W_vocab": (H, V), "b_vocab": (V,)}  # fmt: skip
    params = {n: np.linspace(-1.4, 1.3, num=int(np.prod(s))).reshape(s) for n, s in shapes.items()}
    low, high = (-1.5, 0.3) if cell == "rnn" else (-0.5, 1.7)
    features = np.linspace(low, high, num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)
    dims = {"input_dim": D, "wordvec_dim": W, "hidden_dim": H}
    return word_to_idx, dims, params, features, captions


def loss_of(model_class, cell, probe):
    """The loss of a model built like the notebook's on the features and captions of one
    probe (a (features, captions) pair)."""
    word_to_idx, dims, params, _, _ = notebook_loss_case(cell)
    model = model_class(word_to_idx, cell_type=cell, dtype=np.float64, **dims)
    model.params = {n: np.array(v, copy=True) for n, v in params.items()}
    features, captions = probe
    return np.asarray(model.loss(np.array(features, copy=True), np.array(captions, copy=True))[0])


def loss_cases(cell):
    """probe name -> (features, captions) of the notebook's expected-loss case."""
    _, _, _, features, captions = notebook_loss_case(cell)
    return {"base": (features, captions), **loss_probes(features, captions)}


def find_loss(cell, model_class=None):
    """Run the probes of CaptioningRNN.loss (mask all on and all off, features at zero)
    on the notebook's expected-loss case; the Finding, or None."""
    if model_class is None:
        from .rnn import CaptioningRNN as model_class
    want = {name: {"loss": v["loss"], "grads": {}} for name, v in published_values()[
        f"loss_{cell}"].items()}  # fmt: skip
    got = {}
    for name, probe in loss_cases(cell).items():
        try:
            got[name] = {"loss": loss_of(model_class, cell, probe), "grads": {}}
        except NotImplementedError:
            raise
        except Exception:  # noqa: BLE001
            continue
    T = notebook_loss_case(cell)[4].shape[1] - 1
    with tolerance(1e-12):
        return locate_loss(got, want, T)


def find_grads(grads, numeric, loss=0.0):
    """Where the gradients of CaptioningRNN.loss go wrong, against numeric gradients of
    the student's own loss (key -> array each); the Finding, or None."""
    base = {"loss": np.asarray(loss), "grads": grads}
    return locate_loss({"base": base}, {"base": dict(base, grads=numeric)}, T=None)


def diagnose(fn, cell=None, level="locate"):
    """Print where the bug of `fn` (a function of rnn_layers.py, or "CaptioningRNN.loss"
    with its `cell` type) is, found by probes on the notebook's inputs, or that the probes
    find none; returns the Finding (or None)."""
    try:
        finding = find_loss(cell) if fn == "CaptioningRNN.loss" else find(fn)
    except NotImplementedError as exc:
        print(f"DIAGNOSIS  {fn}: not implemented yet ({exc})")
        return None
    except Exception as exc:  # noqa: BLE001 - a probe that crashes tells nothing more
        print(f"DIAGNOSIS  {fn}: the probes could not run ({type(exc).__name__}: {exc})")
        return None
    if finding is None:
        print(f"DIAGNOSIS  {fn}: the probes find no bug.")
    else:
        print(f"DIAGNOSIS  {finding.text(level)}")
    return finding
