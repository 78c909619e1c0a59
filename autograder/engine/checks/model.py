"""Checks of CaptioningRNN: loss and gradients, and greedy sampling, per cell type."""

from __future__ import annotations

import numpy as np

from ...sandbox import Job, jobs
from .. import feedback, probing
from .common import (
    TOLERANCE,
    Group,
    Plan,
    Verdict,
    compare,
    dims_text,
    fetch,
    op_problem,
    rel_error,
)

PARAM_SHAPES = {
    "W_embed": "V, W",
    "W_proj": "D, H",
    "b_proj": "H",
    "Wx": "W, kH",
    "Wh": "H, kH",
    "b": "kH",
    "W_vocab": "H, V",
    "b_vocab": "V",
}
NULL, START, END = 0, 1, 2
# Directional derivative check of the student's own loss against their own
# gradient: step along a random unit direction, and the allowed error, wide
# enough for code that computes in float32.
STEP = 1e-3
DIRECTION_RTOL = 2e-2


def vocabulary(V):
    words = ["<NULL>", "<START>", "<END>", "<UNK>"] + [f"w{i}" for i in range(4, V)]
    return {w: i for i, w in enumerate(words)}


def param_shapes(dims, cell):
    k = 4 if cell == "lstm" else 1
    sizes = dict(dims, k=k)
    shapes = {}
    for name, symbols in PARAM_SHAPES.items():
        shape = []
        for part in symbols.split(", "):
            shape.append(sizes["k"] * sizes["H"] if part == "kH" else sizes[part])
        shapes[name] = tuple(shape)
    return shapes


def reference_model(ref, params, dims, cell):
    model = ref.rnn.CaptioningRNN(
        vocabulary(dims["V"]),
        input_dim=dims["D"],
        wordvec_dim=dims["W"],
        hidden_dim=dims["H"],
        cell_type=cell,
        dtype=np.float64,
    )
    model.params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    return model


def random_captions(rng, N, T, V):
    """(N, T + 1) captions: <START>, words, <END>, then <NULL> padding of random length."""
    captions = np.full((N, T + 1), NULL, dtype=np.int64)
    captions[:, 0] = START
    lengths = rng.integers(1, T, size=N)
    lengths[0] = T - 1  # one caption fills the whole length
    lengths[-1] = 1  # and one is mostly padding
    for n, length in enumerate(lengths):
        captions[n, 1 : length + 1] = rng.integers(3, V, size=length)
        captions[n, length + 1] = END
    return captions


def model_step(obj, dims, cell, prefix, seed):
    """Build the student's model `obj` (float64) with the parameters `prefix.<key>`."""
    kwargs = {
        "input_dim": dims["D"],
        "wordvec_dim": dims["W"],
        "hidden_dim": dims["H"],
        "cell_type": cell,
        "dtype": "float64",
    }
    params = {k: f"{prefix}.{k}" for k in PARAM_SHAPES}
    return jobs.model(f"{obj}.init", obj, vocabulary(dims["V"]), kwargs, params, seed)


def loss_step(obj, prefix, tag, with_grads=True):
    """`obj.loss(prefix.features, prefix.captions)`, saved as `tag.loss` (and `tag.grads`)."""
    outs = [jobs.Save(f"{tag}.loss", "scalar")]
    outs.append(jobs.SaveDict(f"{tag}.grads", PARAM_SHAPES) if with_grads else None)
    args = [jobs.In(f"{prefix}.features"), jobs.In(f"{prefix}.captions")]
    return jobs.method(f"{tag}.loss", obj, "loss", args, outs)


def stored_case(stored):
    dims = {k[4:]: int(v) for k, v in stored.items() if k.startswith("dim.")}
    params = {k[6:]: v for k, v in stored.items() if k.startswith("param.")}
    return dims, params


class LossGroup(Group):
    """CaptioningRNN.loss: the loss at stored and random parameters, the gradients."""

    def __init__(self, cell):
        self.cell = cell
        self.name = f"captioning_rnn_loss_{cell}"
        self.checks = (f"captioning_rnn_loss_{cell}", f"captioning_rnn_grads_{cell}")

    def build(self, ctx):
        cell, rng = self.cell, ctx.rng
        stored = ctx.expected(f"loss_{cell}")
        fixed_dims, fixed_params = stored_case(stored)
        values = rng.choice(np.arange(3, 12), size=4, replace=False)
        dims = {"N": int(values[0]), "D": int(values[1]), "W": int(values[2]), "H": int(values[3])}
        dims["V"], dims["T"] = int(rng.integers(7, 12)), int(rng.integers(5, 9))
        shapes = param_shapes(dims, cell)
        params = {k: 0.3 * rng.standard_normal(s) for k, s in shapes.items()}
        features = rng.standard_normal((dims["N"], dims["D"]))
        captions = random_captions(rng, dims["N"], dims["T"], dims["V"])
        ref_loss, ref_grads = reference_model(ctx.ref, params, dims, cell).loss(
            features.copy(), captions.copy()
        )
        direction = {k: rng.standard_normal(s) for k, s in shapes.items()}
        norm = np.sqrt(sum(np.sum(d**2) for d in direction.values()))
        direction = {k: d / norm for k, d in direction.items()}

        inputs = {f"fixed.{k}": v for k, v in fixed_params.items()}
        inputs["fixed.features"] = stored["in.features"]
        inputs["fixed.captions"] = stored["in.captions"]
        inputs.update({f"random.{k}": v for k, v in params.items()})
        inputs["random.features"], inputs["random.captions"] = features, captions
        for sign, tag in ((1, "plus"), (-1, "minus")):
            inputs.update({f"{tag}.{k}": params[k] + sign * STEP * direction[k] for k in params})
        seed = int(rng.integers(2**31))
        steps = [
            model_step("fixed", fixed_dims, cell, "fixed", seed),
            loss_step("fixed", "fixed", "fixed", with_grads=False),
            model_step("random", dims, cell, "random", seed),
            loss_step("random", "random", "random"),
            jobs.set_params("plus.params", "random", {k: f"plus.{k}" for k in params}),
            loss_step("random", "random", "plus", with_grads=False),
            jobs.set_params("minus.params", "random", {k: f"minus.{k}" for k in params}),
            loss_step("random", "random", "minus", with_grads=False),
        ]
        # Probes of the diagnosis: the mask all on and all off, the features at zero.
        probe_want = {}
        for name, (f, c) in probing.loss_probe_inputs(features, captions).items():
            inputs[f"probe.{name}.features"], inputs[f"probe.{name}.captions"] = f, c
            steps.append(jobs.set_params(f"probe.{name}.params", "random",
                                         {k: f"random.{k}" for k in params}))  # fmt: skip
            steps.append(loss_step("random", f"probe.{name}", f"probe.{name}", with_grads=False))
            probe_loss, _ = reference_model(ctx.ref, params, dims, cell).loss(f.copy(), c.copy())
            probe_want[name] = {"loss": np.asarray(float(probe_loss))}
        state = {
            "fixed_loss": float(stored["out.loss"]),
            "fixed_dims": fixed_dims,
            "dims": dims,
            "ref_loss": float(ref_loss),
            "ref_grads": ref_grads,
            "direction": direction,
            "params": params,
            "features": features,
            "captions": captions,
            "ref": ctx.ref,
            "probe_want": probe_want,
        }
        return Plan(Job(steps=steps, inputs=inputs, limits=self.limits), state)

    def _finding(self, plan, outcome):
        """The probes' Finding for a failed loss or gradient check, or None."""
        state = plan.state
        got, want = {}, {"base": {"loss": np.asarray(state["ref_loss"]),
                                  "grads": state["ref_grads"]}}  # fmt: skip
        loss, _ = outcome.array("random.loss")
        grads = {}
        for k in PARAM_SHAPES:
            value, _ = outcome.array(f"random.grads.{k}")
            if value is not None:
                grads[k] = value.astype(np.float64)
        got["base"] = {"loss": loss, "grads": grads}
        for name, value in state["probe_want"].items():
            want[name] = value
            probe_loss, _ = outcome.array(f"probe.{name}.loss")
            got[name] = {"loss": probe_loss}
        return probing.locate_loss(got, want, state["dims"]["T"])

    def judge(self, plan, outcome):
        cell = self.cell
        loss_name, grads_name = self.checks
        fn = "CaptioningRNN.loss"
        label = f"{fn} ({cell})"
        failed = {}
        for step, called in (
            ("fixed.init", "CaptioningRNN.__init__"),
            ("fixed.loss", fn),
            ("random.init", "CaptioningRNN.__init__"),
            ("random.loss", fn),
        ):
            why = op_problem(outcome, step, called)
            if why:
                failed = {loss_name: why, grads_name: why}
                break
        if not failed:
            failed[loss_name] = self._judge_loss(plan, outcome)
            failed[grads_name] = self._judge_grads(plan, outcome)
        verdicts = {}
        for name, why in failed.items():
            if why is None:
                what = "loss is" if name == loss_name else "gradients are"
                verdicts[name] = Verdict(True, f"{label}: the {what} correct.")
            else:
                verdicts[name] = Verdict(False, f"{label} is not correct. {why}")
        return verdicts

    def _judge_loss(self, plan, outcome):
        state = plan.state
        for tag, want, dims in (
            ("fixed", state["fixed_loss"], state["fixed_dims"]),
            ("random", state["ref_loss"], state["dims"]),
        ):
            got, why = fetch(outcome, f"{tag}.loss", "the loss", ())
            if got is None:
                return why
            err = rel_error(got, want)
            if err > TOLERANCE:
                random_loss, _ = fetch(outcome, "random.loss", "the loss", ())
                known = (
                    None if random_loss is None else self._diagnose_loss(plan, float(random_loss))
                )
                finding = self._finding(plan, outcome)
                if known and finding is not None and finding.kind == "wrong":
                    finding = None
                return (
                    f"On hidden inputs with {dims_text(dims)}: the loss is wrong "
                    f"(relative error {err:.1e})."
                    + feedback.hint("CaptioningRNN.loss", finding, known)
                )
        return None

    def _diagnose_loss(self, plan, got):
        state = plan.state
        dims = state["dims"]
        model = reference_model(state["ref"], state["params"], dims, self.cell)
        captions = state["captions"]
        try:
            layers = state["ref"].rnn_layers
            h0 = state["features"] @ model.params["W_proj"] + model.params["b_proj"]
            x = model.params["W_embed"][captions[:, :-1]]
            forward = layers.lstm_forward if self.cell == "lstm" else layers.rnn_forward
            h, _ = forward(x, h0, model.params["Wx"], model.params["Wh"], model.params["b"])
            scores = h @ model.params["W_vocab"] + model.params["b_vocab"]
            mask = np.ones(captions[:, 1:].shape, dtype=bool)
            loss_unmasked, _ = layers.temporal_softmax_loss(scores, captions[:, 1:], mask)
        except Exception:  # noqa: BLE001 - a diagnosis is a bonus
            return None
        if rel_error(got, loss_unmasked) < TOLERANCE:
            return feedback.DIAGNOSES["unmasked"]
        if rel_error(got, state["ref_loss"] / dims["T"]) < TOLERANCE:
            return feedback.DIAGNOSES["divided_by_NT"]
        return None

    def _judge_grads(self, plan, outcome):
        state = plan.state
        dims = state["dims"]
        shapes = {
            k: f"({s.replace('kH', '4H' if self.cell == 'lstm' else 'H')})"
            for k, s in PARAM_SHAPES.items()
        }
        errors, problems = compare(
            outcome, "random.grads", state["ref_grads"], shapes, dims, label="grads[{!r}]"
        )
        if problems:
            finding = self._finding(plan, outcome)
            return " ".join(problems) + feedback.hint("CaptioningRNN.loss", finding)
        # The student's own loss must change along a direction as their gradient says.
        for step in ("plus.loss", "minus.loss"):
            why = op_problem(outcome, step, "CaptioningRNN.loss")
            if why:
                return why
        plus, why_p = fetch(outcome, "plus.loss", "the loss", ())
        minus, why_m = fetch(outcome, "minus.loss", "the loss", ())
        if plus is None or minus is None:
            return why_p or why_m
        base, _ = fetch(outcome, "random.loss", "the loss", ())
        numeric = float(plus - minus) / (2 * STEP)
        analytic = 0.0
        for k, d in state["direction"].items():
            got, _ = fetch(outcome, f"random.grads.{k}", k, d.shape)
            analytic += float(np.sum(got * d))
        noise = 1e-6 * abs(float(base)) / STEP
        if abs(numeric - analytic) > DIRECTION_RTOL * (abs(numeric) + abs(analytic)) + noise:
            return (
                "Your gradients disagree with a numeric derivative of your own loss "
                f"(relative error {rel_error(numeric, analytic):.1e})."
            )
        return None


QUIET_MARGIN = 1e-6  # words of the probe compared only while the reference's choice is clear


def greedy(ref, params, features, cell, max_length):
    """Reference greedy decoding, with the margin between the best two scores of each step."""
    layers = ref.rnn_layers
    h = features @ params["W_proj"] + params["b_proj"]
    c = np.zeros_like(h)
    words = np.full(len(features), START)
    captions = np.empty((len(features), max_length), dtype=np.int64)
    margins = np.empty((len(features), max_length))
    for t in range(max_length):
        x = params["W_embed"][words]
        if cell == "rnn":
            h, _ = layers.rnn_step_forward(x, h, params["Wx"], params["Wh"], params["b"])
        else:
            h, c, _ = layers.lstm_step_forward(x, h, c, params["Wx"], params["Wh"], params["b"])
        scores = h @ params["W_vocab"] + params["b_vocab"]
        top = np.sort(scores, axis=1)
        margins[:, t] = top[:, -1] - top[:, -2]
        words = scores.argmax(axis=1)
        captions[:, t] = words
    return captions, margins


def compared_prefix(expected, margins=None, min_margin=0.0):
    """Per caption, how many words are compared: through the first <END>, and only
    while the reference's choice is clear by at least `min_margin`."""
    lengths = []
    for n, caption in enumerate(expected):
        ends = np.flatnonzero(caption == END)
        length = int(ends[0]) + 1 if len(ends) else len(caption)
        if margins is not None:
            unclear = np.flatnonzero(margins[n, :length] < min_margin)
            if len(unclear):
                length = int(unclear[0])  # words up to the first close call
        lengths.append(length)
    return lengths


def compare_captions(got, expected, lengths):
    """(row, column) of the first disagreement within the compared prefixes, or None."""
    for n, length in enumerate(lengths):
        diff = np.flatnonzero(got[n, :length] != expected[n, :length])
        if len(diff):
            return n, int(diff[0])
    return None


def caption_problem(outcome, name, expected, lengths, label):
    """Why the captions `name` are wrong, or None."""
    got, why = fetch(outcome, name, label, expected.shape, "(N, max_length)", integer=True)
    if got is None:
        return why, None
    if np.any(got[:, 0] == START):
        return f"Column 0 of {label} holds <START>.", feedback.DIAGNOSES["start_in_first_column"]
    wrong = compare_captions(got, expected, lengths)
    if wrong is None:
        return None, None
    row, col = wrong
    text = (
        f"{label[0].upper()}{label[1:]} differ from greedy decoding (caption {row}, word {col}; words after the "
        "first <END> are not compared)."
    )
    return text, "first" if col == 0 else "later"


class SampleGroup(Group):
    """CaptioningRNN.sample at stored parameters, with two max_length values."""

    LENGTHS = ("short", "default")

    def __init__(self, cell):
        self.cell = cell
        self.name = f"captioning_rnn_sample_{cell}"
        self.checks = (self.name,)

    def build(self, ctx):
        stored = ctx.expected(f"sample_{self.cell}")
        dims, params = stored_case(stored)
        inputs = {f"fixed.{k}": v for k, v in params.items()}
        inputs["fixed.features"] = stored["in.features"]
        short = int(stored["in.max_length"])
        features = [jobs.In("fixed.features")]
        steps = [
            model_step("m", dims, self.cell, "fixed", int(ctx.rng.integers(2**31))),
            jobs.method(
                "short",
                "m",
                "sample",
                features,
                [jobs.Save("short")],
                kwargs={"max_length": jobs.Int(short)},
            ),
            jobs.method("default", "m", "sample", features, [jobs.Save("default")]),
        ]
        state = {"expected": {t: stored[f"out.{t}"] for t in self.LENGTHS}, "dims": dims}
        # Probe of the diagnosis: with the word embeddings at zero, the word each step
        # feeds to the next cannot change the captions; only the states carry them.
        quiet = dict(params, W_embed=np.zeros_like(params["W_embed"]))
        try:
            expected, margins = greedy(ctx.ref, quiet, stored["in.features"], self.cell, short)
        except Exception:  # noqa: BLE001 - a probe the reference cannot run is left out
            expected = None
        if expected is not None:
            inputs.update({f"quiet.{k}": v for k, v in quiet.items()})
            steps.append(model_step("q", dims, self.cell, "quiet", int(ctx.rng.integers(2**31))))
            steps.append(jobs.method("quiet", "q", "sample", features, [jobs.Save("quiet")],
                                     kwargs={"max_length": jobs.Int(short)}))  # fmt: skip
            lengths = compared_prefix(expected, margins, QUIET_MARGIN)
            state["quiet"] = (expected, lengths)
        return Plan(Job(steps=steps, inputs=inputs, limits=self.limits), state)

    def _fed_back(self, plan, outcome):
        """Whether the captions are right once the word fed back cannot matter (the
        word embeddings at zero): then the bug is in that word."""
        if "quiet" not in plan.state or op_problem(outcome, "quiet", "CaptioningRNN.sample"):
            return False
        expected, lengths = plan.state["quiet"]
        got, _ = outcome.array("quiet")
        if got is None or np.shape(got) != expected.shape or sum(lengths) < 2:
            return False
        return compare_captions(np.asarray(got), expected, lengths) is None

    def judge(self, plan, outcome):
        fn = "CaptioningRNN.sample"
        label = f"{fn} ({self.cell})"
        for step, called in (("m.init", "CaptioningRNN.__init__"), ("short", fn), ("default", fn)):
            why = op_problem(outcome, step, called)
            if why:
                return {self.name: Verdict(False, f"{label} is not correct. {why}")}
        for tag, call in (
            ("short", "with a max_length given"),
            ("default", "with the default max_length"),
        ):
            expected = plan.state["expected"][tag]
            why, diagnosis = caption_problem(
                outcome, tag, expected, compared_prefix(expected), f"your captions {call}"
            )
            if why:
                if diagnosis in ("first", "later"):
                    c0 = ", a zero cell state" if self.cell == "lstm" else ""
                    key = "sample_first_word" if diagnosis == "first" else "sample_diverges"
                    if diagnosis == "later" and self._fed_back(plan, outcome):
                        key = "sample_word_fed_back"
                    diagnosis = feedback.DIAGNOSES[key].format(c0=c0)
                message = f"{label} is not correct. {why}" + feedback.hint(fn, None, diagnosis)
                return {self.name: Verdict(False, message)}
        return {self.name: Verdict(True, f"{label} is correct.")}


GROUPS = [LossGroup("rnn"), LossGroup("lstm"), SampleGroup("rnn"), SampleGroup("lstm")]
