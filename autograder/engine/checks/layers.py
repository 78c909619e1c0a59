"""Checks of the ten layer functions of rnn_layers.py.

Each function gets one child, which calls it twice: on the stored hidden
inputs (expected outputs made from the reference by make_expected.py) and on
inputs drawn now, at grading time, whose expected outputs the parent computes
with the reference. Backward functions are called on the cache of the
student's own forward function and their gradients are compared with the
reference's: for a correct forward pass this is exactly the numeric gradient
check, without its noise.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ...sandbox import Job
from .. import feedback, isolation, probing
from .common import (
    TOLERANCE,
    Group,
    Plan,
    Verdict,
    compare,
    dims_text,
    layer_steps,
    op_problem,
    rel_error,
)


@dataclass(frozen=True)
class LayerSpec:
    fn: str
    forward: str  # the forward function the job calls first (fn itself for a forward)
    args: tuple  # argument names of the forward function
    outs: dict  # output name -> shape, in symbols
    forward_outs: tuple = ()  # for a backward: the forward's array outputs
    upstream: dict = field(default_factory=dict)  # for a backward: gradient name -> shape
    single: bool = False  # returns one array, not a tuple

    @property
    def is_backward(self):
        return self.fn != self.forward


SPECS = [
    LayerSpec(
        "rnn_step_forward",
        "rnn_step_forward",
        ("x", "prev_h", "Wx", "Wh", "b"),
        {"next_h": "N, H"},
    ),
    LayerSpec(
        "rnn_step_backward",
        "rnn_step_forward",
        ("x", "prev_h", "Wx", "Wh", "b"),
        {"dx": "N, D", "dprev_h": "N, H", "dWx": "D, H", "dWh": "H, H", "db": "H"},
        forward_outs=("next_h",),
        upstream={"dnext_h": "N, H"},
    ),
    LayerSpec("rnn_forward", "rnn_forward", ("x", "h0", "Wx", "Wh", "b"), {"h": "N, T, H"}),
    LayerSpec(
        "rnn_backward",
        "rnn_forward",
        ("x", "h0", "Wx", "Wh", "b"),
        {"dx": "N, T, D", "dh0": "N, H", "dWx": "D, H", "dWh": "H, H", "db": "H"},
        forward_outs=("h",),
        upstream={"dh": "N, T, H"},
    ),
    LayerSpec("word_embedding_forward", "word_embedding_forward", ("x", "W"), {"out": "N, T, D"}),
    LayerSpec(
        "word_embedding_backward",
        "word_embedding_forward",
        ("x", "W"),
        {"dW": "V, D"},
        forward_outs=("out",),
        upstream={"dout": "N, T, D"},
        single=True,
    ),
    LayerSpec(
        "lstm_step_forward",
        "lstm_step_forward",
        ("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
        {"next_h": "N, H", "next_c": "N, H"},
    ),
    LayerSpec(
        "lstm_step_backward",
        "lstm_step_forward",
        ("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
        {
            "dx": "N, D",
            "dprev_h": "N, H",
            "dprev_c": "N, H",
            "dWx": "D, 4H",
            "dWh": "H, 4H",
            "db": "4H",
        },
        forward_outs=("next_h", "next_c"),
        upstream={"dnext_h": "N, H", "dnext_c": "N, H"},
    ),
    LayerSpec("lstm_forward", "lstm_forward", ("x", "h0", "Wx", "Wh", "b"), {"h": "N, T, H"}),
    LayerSpec(
        "lstm_backward",
        "lstm_forward",
        ("x", "h0", "Wx", "Wh", "b"),
        {"dx": "N, T, D", "dh0": "N, H", "dWx": "D, 4H", "dWh": "H, 4H", "db": "4H"},
        forward_outs=("h",),
        upstream={"dh": "N, T, H"},
    ),
]

# The dimensions of each forward function, in the order of its arguments.
DIMS = {
    "rnn_step_forward": "NDH",
    "rnn_forward": "NTDH",
    "word_embedding_forward": "NTVD",
    "lstm_step_forward": "NDH",
    "lstm_forward": "NTDH",
}

# The shapes of the forward functions' arguments.
ARG_SHAPES = {
    "x": "N, D",
    "prev_h": "N, H",
    "prev_c": "N, H",
    "Wx": "D, H",
    "Wh": "H, H",
    "b": "H",
    "h0": "N, H",
}


def shape_of(symbols, dims):
    """'N, 4H' with N=3, H=5 -> (3, 20)."""
    shape = []
    for part in symbols.split(", "):
        factor = int(part[:-1]) if len(part) > 1 else 1
        shape.append(factor * dims[part[-1]])
    return tuple(shape)


def arg_shapes(forward, dims):
    lstm = forward.startswith("lstm")
    seq = forward in ("rnn_forward", "lstm_forward")
    shapes = {}
    for name, symbols in ARG_SHAPES.items():
        if lstm and name in ("Wx", "Wh", "b"):
            symbols = symbols.replace("H", "4H", 1) if name != "Wh" else "H, 4H"
        if seq and name == "x":
            symbols = "N, T, D"
        shapes[name] = shape_of(symbols, dims)
    return shapes


def draw_dims(forward, rng):
    """Distinct dimensions, so that a transposed result always has the wrong shape."""
    letters = DIMS[forward]
    if forward == "word_embedding_forward":
        # many more words in the batch than in the vocabulary: repeats are certain
        n, t = rng.choice([3, 4, 5]), rng.choice([6, 7, 8])
        v, d = rng.choice([4, 5]), rng.choice([2, 3, 9, 10])
        return {"N": int(n), "T": int(t), "V": int(v), "D": int(d)}
    values = rng.choice(np.arange(2, 10), size=len(letters), replace=False)
    return {k: int(v) for k, v in zip(letters, values)}


def draw_inputs(forward, dims, rng):
    """Random float64 inputs of a forward function, in ranges where nothing saturates."""
    if forward == "word_embedding_forward":
        V = dims["V"]
        x = rng.integers(0, V - 1, size=(dims["N"], dims["T"]))
        x[0, :2] = 0  # word 0 repeats
        x[-1, -1] = V - 1  # word V - 1 appears exactly once
        return {"x": x, "W": rng.standard_normal((V, dims["D"]))}
    shapes = arg_shapes(forward, dims)
    inputs = {}
    for name in LAYERS[forward].args:
        scale = 1.0 if name in ("x", "prev_h", "prev_c", "h0") else 0.5
        inputs[name] = scale * rng.standard_normal(shapes[name])
    return inputs


LAYERS = {spec.fn: spec for spec in SPECS}


def reference_outputs(spec, ref, inputs, upstream):
    """The reference's outputs (name -> array) for `spec` on these inputs."""
    forward = getattr(ref.rnn_layers, spec.forward)
    copies = {k: np.copy(v) for k, v in inputs.items()}
    result = forward(*(copies[a] for a in spec.args))
    *outs, cache = result
    if not spec.is_backward:
        return dict(zip(spec.outs, outs))
    backward = getattr(ref.rnn_layers, spec.fn)
    grads = backward(*(np.copy(upstream[u]) for u in spec.upstream), cache)
    if spec.single:
        grads = (grads,)
    return dict(zip(spec.outs, grads))


def draw_upstream(spec, ref, inputs, rng):
    if not spec.is_backward:
        return {}
    forward = getattr(ref.rnn_layers, spec.forward)
    *outs, _ = forward(*(np.copy(inputs[a]) for a in spec.args))
    return {name: rng.standard_normal(out.shape) for name, out in zip(spec.upstream, outs)}


class LayerGroup(Group):
    """A forward function and its backward function, in one child.

    The forward function's own calls come first and their results are saved
    before the backward function runs: whatever the backward function does
    (exit, hang, crash), the forward function keeps its verdict.
    """

    def __init__(self, forward: LayerSpec, backward: LayerSpec):
        self.specs = (forward, backward)
        self.name = f"{forward.fn}+{backward.fn}"
        self.checks = (forward.fn, backward.fn)

    def build(self, ctx):
        steps, inputs, states = [], {}, {}
        for spec in self.specs:
            states[spec.fn] = self._build(spec, ctx, steps, inputs)
        # The probes run last: whatever they do (hang, crash), no verdict depends on them.
        steps = [s for s in steps if ".probe." not in s.name] + [
            s for s in steps if ".probe." in s.name
        ]
        return Plan(Job(steps=steps, inputs=inputs, limits=self.limits), states)

    def _build(self, spec, ctx, steps, inputs):
        stored = ctx.expected(spec.fn)
        fixed_dims = {k[4:]: int(v) for k, v in stored.items() if k.startswith("dim.")}
        fixed_in = {k[3:]: v for k, v in stored.items() if k.startswith("in.")}
        fixed_out = {k[4:]: v for k, v in stored.items() if k.startswith("out.")}
        dims = draw_dims(spec.forward, ctx.rng)
        rand_in = draw_inputs(spec.forward, dims, ctx.rng)
        rand_in.update(draw_upstream(spec, ctx.ref, rand_in, ctx.rng))
        upstream = {u: rand_in[u] for u in spec.upstream}
        rand_out = reference_outputs(spec, ctx.ref, rand_in, upstream)

        cases = [("fixed", fixed_in), ("random", rand_in)]
        families = {}
        if spec.is_backward:
            # Inputs on which a forward function with a bug may still be right, for
            # the coupled rule (see coupled_verdict).
            for k, (name, change) in enumerate(FAMILIES.get(spec.forward, {}).items()):
                family_in = change(dict(rand_in))
                families[name] = {
                    "tag": f"family{k}",
                    "forward": reference_outputs(LAYERS[spec.forward], ctx.ref, family_in, {}),
                    "backward": reference_outputs(
                        spec, ctx.ref, family_in, {u: family_in[u] for u in spec.upstream}
                    ),
                }
                cases.append((f"family{k}", family_in))
            forward_spec = LAYERS[spec.forward]
            families["random"] = {
                "forward": reference_outputs(forward_spec, ctx.ref, rand_in, {}),
                "backward": rand_out,
            }
        for tag, values in cases:
            prefix = f"{spec.fn}.{tag}"
            for name, value in values.items():
                inputs[f"{prefix}.{name}"] = value
            # the forward's own outputs, for the coupled rule
            steps += layer_steps(spec, prefix, save_forward=tag != "fixed")
        probed = probing.add_layer_probes(spec, ctx.ref, rand_in, steps, inputs)
        return {
            "probes": probed,
            "expected": {"fixed": fixed_out, "random": rand_out},
            "dims": {"fixed": fixed_dims, "random": dims},
            "random_inputs": rand_in,
            "families": families,
            "ref": ctx.ref,
        }

    def judge(self, plan, outcome):
        return {spec.fn: self._judge(spec, plan.state[spec.fn], outcome) for spec in self.specs}

    def _judge(self, spec, state, outcome):
        for tag in ("fixed", "random"):
            if spec.is_backward:
                why = op_problem(outcome, f"{spec.fn}.{tag}.forward", spec.forward)
                if why:
                    return Verdict(
                        False, f"{spec.fn} could not be checked, it needs {spec.forward}: {why}"
                    )
            why = op_problem(outcome, f"{spec.fn}.{tag}", spec.fn)
            if why:
                return Verdict(False, why)
        messages = []
        errors = {}
        shapes = {o: f"({s})" for o, s in spec.outs.items()}
        for tag in ("fixed", "random"):
            errors[tag], problems = compare(
                outcome, f"{spec.fn}.{tag}", state["expected"][tag], shapes, state["dims"][tag]
            )
            if problems:
                messages = problems
                break
        if not messages:
            worst = max(max(e.values()) for e in errors.values())
            return Verdict(True, f"{spec.fn} is correct (largest relative error {worst:.1e}).")
        coupled = coupled_verdict(spec, state, outcome)
        if coupled is not None:
            return coupled
        dims = dims_text(state["dims"]["random"])
        finding = probing.locate_layer(spec, state.get("probes"), outcome, dims)
        diagnosis = self.diagnose(spec, state, outcome)
        if diagnosis and finding is not None and finding.kind == "wrong":
            finding = None  # a known variant says more than "it is wrong"
        text = f"{spec.fn} is not correct. " + " ".join(messages)
        return Verdict(False, text + feedback.hint(spec.fn, finding, diagnosis))

    # --- diagnoses: which known mistake does the answer match? ---------------------
    def diagnose(self, spec, state, outcome):
        inputs, ref, dims = state["random_inputs"], state["ref"], state["dims"]["random"]
        got = {}
        for name in spec.outs:
            value, _ = outcome.array(f"{spec.fn}.random.{name}")
            if value is not None:
                got[name] = value.astype(np.float64)
        if spec.fn in ("rnn_forward", "lstm_forward"):
            value = got.get("h")
            if value is not None and value.shape == (dims["N"], dims["T"] + 1, dims["H"]):
                return feedback.DIAGNOSES["h0_included"]
        try:
            return DIAGNOSE.get(spec.fn, lambda *a: None)(got, inputs, ref, dims)
        except Exception:  # noqa: BLE001 - a diagnosis is a bonus, never a failure
            return None


# --- the coupled rule ---------------------------------------------------------------
def _zero(*names):
    def change(inputs):
        for name in names:
            inputs[name] = np.zeros_like(inputs[name])
        return inputs

    return change


def _symmetric_Wh(inputs):
    inputs["Wh"] = (inputs["Wh"] + inputs["Wh"].T) / 2
    return inputs


def _equal_gates(inputs):
    """The four gate blocks of Wx, Wh and b equal: the order of the gates is invisible."""
    for name in ("Wx", "Wh", "b"):
        w = inputs[name]
        H = w.shape[-1] // 4
        inputs[name] = np.concatenate([w[..., :H]] * 4, axis=-1)
    return inputs


def _c_is_h(inputs):
    inputs["prev_c"] = inputs["prev_h"].copy()
    return inputs


def _static(inputs):
    """No recurrence and the same input at every timestep: every h[:, t] is the same."""
    inputs["Wh"] = np.zeros_like(inputs["Wh"])
    inputs["x"] = np.repeat(inputs["x"][:, :1], inputs["x"].shape[1], axis=1)
    return inputs


def _one_timestep(inputs):
    """T = 1: what is carried from one timestep to the next does not matter."""
    inputs["x"], inputs["dh"] = inputs["x"][:, :1], inputs["dh"][:, :1]
    return inputs


def _same_word(inputs):
    inputs["x"] = np.full_like(inputs["x"], inputs["x"][0, 0])
    return inputs


def _equal_rows(inputs):
    inputs["W"] = np.repeat(inputs["W"][:1], len(inputs["W"]), axis=0)
    return inputs


# forward function -> inputs on which some single bug of it has no effect (name -> change
# of the random inputs), described in words for the feedback.
FAMILIES = {
    "rnn_step_forward": {"the bias at zero": _zero("b"), "prev_h at zero": _zero("prev_h"),
                         "x at zero": _zero("x"), "Wh symmetric": _symmetric_Wh},
    "rnn_forward": {"the bias at zero": _zero("b"), "h0 at zero": _zero("h0"), "Wh at zero": _zero("Wh"),
                    "Wh symmetric": _symmetric_Wh, "the same x at every timestep and Wh at zero": _static,
                    "a single timestep": _one_timestep},
    "word_embedding_forward": {"one word everywhere": _same_word, "all rows of W equal": _equal_rows},
    "lstm_step_forward": {"the bias at zero": _zero("b"), "prev_h and prev_c at zero": _zero("prev_h", "prev_c"),
                          "four equal gate blocks": _equal_gates, "prev_c equal to prev_h": _c_is_h,
                          "x at zero": _zero("x")},
    "lstm_forward": {"the bias at zero": _zero("b"), "h0 at zero": _zero("h0"), "Wh at zero": _zero("Wh"),
                     "four equal gate blocks": _equal_gates,
                     "the same x at every timestep and Wh at zero": _static,
                     "a single timestep": _one_timestep},
}  # fmt: skip


def _matches(outcome, prefix, want):
    """Whether every saved output `prefix.<name>` is close to `want[name]`."""
    for name, value in want.items():
        got, _ = outcome.array(f"{prefix}.{name}")
        if got is None or got.shape != value.shape or got.dtype.kind not in "fiu":
            return False
        got = got.astype(np.float64)
        if not np.all(np.isfinite(got)) or rel_error(got, value) > TOLERANCE:
            return False
    return True


def coupled_verdict(spec, state, outcome):
    """A backward function runs on the cache of the student's own forward function.
    Where that forward function is wrong (on the random inputs), the backward function
    is judged on the inputs of FAMILIES where the forward function is right: it passes
    if it is right on one of them. None: the rule does not apply, the backward
    function's failure is its own (or cannot be told from its forward's)."""
    families = state.get("families") or {}
    if (
        not isolation.enabled()
        or not families
        or _matches(outcome, f"{spec.fn}.random.forward", families["random"]["forward"])
    ):
        return None
    right_forward = []
    for name, want in families.items():
        if name == "random":
            continue
        prefix = f"{spec.fn}.{want['tag']}"
        if op_problem(outcome, f"{prefix}.forward", spec.forward):
            continue
        if not _matches(outcome, f"{prefix}.forward", want["forward"]):
            continue
        # The forward's output can be right there while its cache is not (a wrong
        # prev_h kept): a family where the backward is wrong proves nothing.
        if not op_problem(outcome, prefix, spec.fn) and _matches(outcome, prefix, want["backward"]):
            right_forward.append(name)
    if not right_forward:
        return None
    where = "; ".join(right_forward)
    return Verdict(
        True,
        f"{spec.fn} is right on the inputs where your {spec.forward} is right ({where}); "
        f"elsewhere it gets a wrong cache from your {spec.forward}.",
        coupled=True,
    )


def close(a, b):
    return a is not None and b is not None and a.shape == b.shape and rel_error(a, b) < TOLERANCE


def _no_bias(got, inputs, ref, dims):
    x, h, Wx, Wh = (inputs[k] for k in ("x", "prev_h", "Wx", "Wh"))
    if close(got.get("next_h"), np.tanh(x @ Wx + h @ Wh)):
        return feedback.DIAGNOSES["no_bias"]
    return None


def _rnn_step_backward(got, inputs, ref, dims):
    x, h, Wx, Wh, b = (inputs[k] for k in ("x", "prev_h", "Wx", "Wh", "b"))
    a = x @ Wx + h @ Wh + b
    da = inputs["dnext_h"] * (1 - a**2)
    if close(got.get("dx"), da @ Wx.T) or close(got.get("dWx"), x.T @ da):
        return feedback.DIAGNOSES["tanh_grad_of_input"]
    want = reference_outputs(LAYERS["rnn_step_backward"], ref, inputs, inputs)
    others_right = all(close(got.get(k), want[k]) for k in ("dx", "dprev_h", "dWx", "dWh"))
    if others_right and not close(got.get("db"), want["db"]):
        return feedback.DIAGNOSES["db_not_summed"]
    return None


def _sigmoid(a):
    return 0.5 * (1 + np.tanh(0.5 * a))


def sequence_backward_variant(inputs, lstm, carry_h=True, carry_c=True):
    """dx of rnn_backward / lstm_backward computed with a known mistake: the gradient
    carried back in time through h (or c) dropped. Written out here, independent of
    how the reference organizes its caches."""
    x, h0, Wx, Wh, b, dh = (inputs[k] for k in ("x", "h0", "Wx", "Wh", "b", "dh"))
    N, T, H = dh.shape
    hs, states = [h0], []
    c = np.zeros_like(h0)
    for t in range(T):
        a = x[:, t] @ Wx + hs[-1] @ Wh + b
        if lstm:
            i, f, o, g = (_sigmoid(a[:, :H]), _sigmoid(a[:, H : 2 * H]),
                          _sigmoid(a[:, 2 * H : 3 * H]), np.tanh(a[:, 3 * H :]))  # fmt: skip
            prev_c, c = c, _sigmoid(a[:, H : 2 * H]) * c + i * g
            states.append((i, f, o, g, prev_c, np.tanh(c)))
            hs.append(o * np.tanh(c))
        else:
            hs.append(np.tanh(a))
    dx = np.zeros(x.shape)
    carried_h, carried_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        dnext_h = dh[:, t] + (carried_h if carry_h else 0)
        if lstm:
            i, f, o, g, prev_c, tanh_c = states[t]
            dc = (carried_c if carry_c else 0) + dnext_h * o * (1 - tanh_c**2)
            da = np.concatenate(
                (dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                 dnext_h * tanh_c * o * (1 - o), dc * i * (1 - g**2)), axis=1,
            )  # fmt: skip
            carried_c = dc * f
        else:
            da = dnext_h * (1 - hs[t + 1] ** 2)
        dx[:, t] = da @ Wx.T
        carried_h = da @ Wh.T
    return dx


def _sequence_backward(lstm):
    """Diagnose rnn_backward / lstm_backward: the carried gradients, the accumulation."""

    def diagnose(got, inputs, ref, dims):
        fn = "lstm_backward" if lstm else "rnn_backward"
        want = reference_outputs(LAYERS[fn], ref, inputs, inputs)
        dx = got.get("dx")
        if dx is None or dx.shape != want["dx"].shape:
            return None
        if close(dx, sequence_backward_variant(inputs, lstm, carry_h=False)):
            return feedback.DIAGNOSES["no_carry_h"]
        if lstm and close(dx, sequence_backward_variant(inputs, lstm, carry_c=False)):
            return feedback.DIAGNOSES["no_carry_c"]
        if close(dx, want["dx"]) and not all(
            close(got.get(k), want[k]) for k in ("dWx", "dWh", "db")
        ):
            return feedback.DIAGNOSES["weights_not_accumulated"]
        return None

    return diagnose


def _embedding_backward(got, inputs, ref, dims):
    dW = got.get("dW")
    x, dout = inputs["x"], inputs["dout"]
    if dW is None or dW.shape != (dims["V"], dims["D"]):
        return None
    want = np.zeros_like(dW)
    np.add.at(want, x.reshape(-1), dout.reshape(-1, dims["D"]))
    counts = np.bincount(x.reshape(-1), minlength=dims["V"])
    once, repeated = counts == 1, counts > 1
    if (
        once.any()
        and rel_error(dW[once], want[once]) < TOLERANCE
        and rel_error(dW[repeated], want[repeated]) > TOLERANCE
    ):
        return feedback.DIAGNOSES["repeated_words"]
    return None


GATES = "ifog"


def _permute_gates(w, order, H):
    """Columns of w rearranged so that block k holds gate order[k] of the i, f, o, g layout."""
    blocks = {g: w[..., k * H : (k + 1) * H] for k, g in enumerate(GATES)}
    return np.concatenate([blocks[g] for g in order], axis=-1)


def _gate_orders(run, want_name, got, H):
    """The gate order, other than i, f, o, g, whose reference output matches `got`."""
    target = got.get(want_name)
    if target is None:
        return None
    for order in itertools.permutations(GATES):
        order = "".join(order)
        if order == GATES:
            continue
        # Student reads block k as gate order[k]: feed the reference the inverse layout.
        inverse = "".join(GATES[order.index(g)] for g in GATES)
        if close(target, run(lambda w, inverse=inverse: _permute_gates(w, inverse, H))[want_name]):
            return feedback.DIAGNOSES["gate_order"].format(order=", ".join(order))
    return None


def _lstm_forward_orders(fn):
    def diagnose(got, inputs, ref, dims):
        spec = LAYERS[fn]
        H = dims["H"]

        def run(permute):
            changed = dict(inputs)
            for k in ("Wx", "Wh", "b"):
                changed[k] = permute(inputs[k])
            return reference_outputs(spec, ref, changed, {})

        name = "next_c" if fn == "lstm_step_forward" else "h"
        return _gate_orders(run, name, got, H)

    return diagnose


def _lstm_step_backward(got, inputs, ref, dims):
    want = reference_outputs(LAYERS["lstm_step_backward"], ref, inputs, inputs)
    H = dims["H"]
    dWx = got.get("dWx")
    if dWx is not None and dWx.shape == want["dWx"].shape and not close(dWx, want["dWx"]):
        for order in itertools.permutations(GATES):
            order = "".join(order)
            if order != GATES and close(dWx, _permute_gates(want["dWx"], order, H)):
                return feedback.DIAGNOSES["gate_order"].format(order=", ".join(order))
    return None


DIAGNOSE = {
    "rnn_step_forward": _no_bias,
    "rnn_step_backward": _rnn_step_backward,
    "rnn_backward": _sequence_backward(lstm=False),
    "word_embedding_backward": _embedding_backward,
    "lstm_step_forward": _lstm_forward_orders("lstm_step_forward"),
    "lstm_forward": _lstm_forward_orders("lstm_forward"),
    "lstm_step_backward": _lstm_step_backward,
    "lstm_backward": _sequence_backward(lstm=True),
}

GROUPS = [LayerGroup(SPECS[k], SPECS[k + 1]) for k in range(0, len(SPECS), 2)]
