"""Make the stored expected values of the hidden checks: ``autograder/expected/*.npz``.

Every hidden check with fixed inputs reads one file here: the inputs (which
the students never saw: other shapes and values than the notebook's) and what
the reference solution returns on them. The inputs are made by formulas, not
by a random generator, so that they are the same on every numpy; the values
are the reference's. ``tests/test_engine_expected.py`` regenerates them and
compares.

    autograder make-expected [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .. import paths
from ..engine import reference
from ..engine.checks.layers import LAYERS, arg_shapes, reference_outputs
from ..engine.checks.model import (
    END,
    NULL,
    START,
    compared_prefix,
    greedy,
    param_shapes,
    reference_model,
)

# Dimensions of the stored hidden cases, all different from the notebook's.
LAYER_DIMS = {
    "rnn_step_forward": {"N": 4, "D": 7, "H": 5},
    "rnn_forward": {"N": 3, "T": 4, "D": 6, "H": 5},
    "word_embedding_forward": {"N": 3, "T": 5, "V": 6, "D": 4},
    "lstm_step_forward": {"N": 4, "D": 6, "H": 3},
    "lstm_forward": {"N": 3, "T": 4, "D": 5, "H": 6},
}
LOSS_DIMS = {"N": 6, "D": 9, "W": 7, "H": 8, "V": 9, "T": 8}
SAMPLE_DIMS = {"N": 7, "D": 9, "W": 6, "H": 8, "V": 10}
SAMPLE_MAX_LENGTH = 12
SAMPLE_MIN_MARGIN = 0.05


def wave(shape, k, lo=-1.0, hi=1.0):
    """Deterministic values in [lo, hi] without structure (a quadratic-phase sine)."""
    shape = tuple(shape)
    i = np.arange(int(np.prod(shape)), dtype=np.float64)
    v = np.sin(0.7 * k + 1.3 * i + 0.37 * i**2)
    return (lo + (hi - lo) * (v + 1) / 2).reshape(shape)


def layer_case(fn, ref):
    spec = LAYERS[fn]
    dims = LAYER_DIMS[spec.forward]
    inputs = {}
    if spec.forward == "word_embedding_forward":
        V, N, T = dims["V"], dims["N"], dims["T"]
        inputs["x"] = ((np.arange(N * T) * 7 + 3) % (V - 1)).reshape(N, T)
        inputs["x"][-1, -1] = V - 1  # the last word appears once, the others repeat
        inputs["W"] = wave((V, dims["D"]), 1)
    else:
        shapes = arg_shapes(spec.forward, dims)
        ranges = {"x": 1.0, "prev_h": 0.8, "prev_c": 1.2, "h0": 0.8, "Wx": 0.6, "Wh": 0.5, "b": 0.4}
        for k, name in enumerate(spec.args):
            r = ranges[name]
            inputs[name] = wave(shapes[name], k + 2, -r, r * 0.9)
    if spec.is_backward:
        forward = getattr(ref.rnn_layers, spec.forward)
        *outs, _ = forward(*(np.copy(inputs[a]) for a in spec.args))
        for k, (name, out) in enumerate(zip(spec.upstream, outs)):
            inputs[name] = wave(out.shape, 11 + k, -1.0, 1.0)
    outputs = reference_outputs(spec, ref, inputs, inputs)
    case = {f"dim.{k}": np.int64(v) for k, v in dims.items()}
    case.update({f"in.{k}": v for k, v in inputs.items()})
    case.update({f"out.{k}": v for k, v in outputs.items()})
    return case


def captions_case(N, T, V):
    captions = np.zeros((N, T + 1), dtype=np.int64)
    captions[:, 0] = START
    for n in range(N):
        length = 1 + (n * 5 + 2) % (T - 1)  # words before <END>: 3, ..., and one full
        captions[n, 1 : length + 1] = 3 + (np.arange(length) * (n + 2) + n) % (V - 3)
        captions[n, length + 1] = END
    return captions


def loss_case(cell, ref):
    dims = LOSS_DIMS
    shapes = param_shapes(dims, cell)
    params = {k: wave(s, 20 + j, -1.1, 1.2) for j, (k, s) in enumerate(shapes.items())}
    features = wave((dims["N"], dims["D"]), 40 if cell == "rnn" else 41, -0.7, 1.5)
    captions = captions_case(dims["N"], dims["T"], dims["V"])
    loss, _ = reference_model(ref, params, dims, cell).loss(features.copy(), captions.copy())
    case = {f"dim.{k}": np.int64(v) for k, v in dims.items()}
    case.update({f"param.{k}": v for k, v in params.items()})
    case.update({"in.features": features, "in.captions": captions, "out.loss": np.float64(loss)})
    return case


def sample_case(cell, ref):
    """Parameters whose greedy captions are clear-cut (no near ties) and varied."""
    dims = SAMPLE_DIMS
    shapes = param_shapes(dims, cell)
    for k in range(1000):
        params = {n: wave(s, 60 + k + j, -1.5, 1.5) for j, (n, s) in enumerate(shapes.items())}
        params["b_vocab"][[NULL, START]] = -5.0  # <NULL> and <START> are never generated
        params["b_vocab"][END] = 0.5 * (k % 5)  # some captions end, some do not
        features = wave((dims["N"], dims["D"]), 90 + k, -1.0, 1.0)
        long, margins = greedy(ref, params, features, cell, 30)
        short = long[:, :SAMPLE_MAX_LENGTH]
        lengths = compared_prefix(long)
        clear = all(
            margins[n, :length].min() > SAMPLE_MIN_MARGIN for n, length in enumerate(lengths)
        )
        firsts = [e[0] for e in (np.flatnonzero(c == END) for c in short) if len(e)]
        varied = len({tuple(c) for c in short}) == dims["N"]
        late = sum(f >= 3 for f in firsts)  # captions that end after a few words
        if clear and varied and 3 <= len(firsts) < dims["N"] and late >= 2:
            break
    else:
        raise RuntimeError(f"no clear-cut sampling case found for {cell}")
    model = reference_model(ref, params, dims, cell)
    for caption, length in ((short, SAMPLE_MAX_LENGTH), (long, 30)):
        sampled = model.sample(features.copy(), max_length=length)
        for n, m in enumerate(compared_prefix(caption)):
            assert np.array_equal(sampled[n, :m], caption[n, :m]), "greedy != reference sample"
    case = {f"dim.{k}": np.int64(v) for k, v in dims.items()}
    case.update({f"param.{k}": v for k, v in params.items()})
    case.update(
        {
            "in.features": features,
            "in.max_length": np.int64(SAMPLE_MAX_LENGTH),
            "out.short": short,
            "out.default": long,
        }
    )
    return case


def make_all():
    """name -> dict of arrays, for every stored case."""
    ref = reference.load()
    cases = {fn: layer_case(fn, ref) for fn in LAYERS}
    for cell in ("rnn", "lstm"):
        cases[f"loss_{cell}"] = loss_case(cell, ref)
        cases[f"sample_{cell}"] = sample_case(cell, ref)
    return cases


def write(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    for name, case in make_all().items():
        np.savez(out / f"{name}.npz", **case)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=paths.EXPECTED_DIR)
    args = parser.parse_args(argv)
    write(args.out)
    print(f"wrote the expected values to {args.out}")


if __name__ == "__main__":
    main()
