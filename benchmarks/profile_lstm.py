"""Where the time of one LSTM training iteration goes, against PyTorch.

    python benchmarks/profile_lstm.py                      # N=100 float32, 1 and 2 threads
    python benchmarks/profile_lstm.py --threads 1 --repeats 21 --package DIR

The iteration is the `train` case of bench_model (T=16, W=256, H=512, V=1004,
D=512). Three things are timed, interleaved repeat by repeat with PyTorch's
iteration (medians of process CPU time and wall time):
- each function CaptioningRNN.loss calls, and the step functions inside
  lstm_forward / lstm_backward (CPU time, the calls wrapped with timers);
- the matmuls of the iteration alone, with the shapes of the reference (per
  step in the LSTM: what no numpy code that loops over the step functions can
  go below), and the same products over N*T rows at once (what the hoisted
  reference did) for comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from bench_common import SOLUTIONS, interleaved, use_package
from bench_model import D, H, T, TorchCaptioner, V, W, random_batch, threads, word_to_idx

PARTS = (
    "affine_forward",
    "word_embedding_forward",
    "lstm_forward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "temporal_affine_backward",
    "lstm_backward",
    "word_embedding_backward",
    "affine_backward",
)
STEPS = ("lstm_step_forward", "lstm_step_backward")


def matmuls(params, n, hoisted):
    """The matmuls of one iteration on random arrays of the right shapes, nothing else."""
    rng = np.random.default_rng(0)
    dtype = params["Wh"].dtype
    features = rng.standard_normal((n, D)).astype(dtype)
    x = rng.standard_normal((n, T, W)).astype(dtype)
    h = rng.standard_normal((n, T, H)).astype(dtype)
    da = rng.standard_normal((n, T, 4 * H)).astype(dtype)
    dscores = rng.standard_normal((n * T, V)).astype(dtype)
    Wx, Wh, W_vocab = params["Wx"], params["Wh"], params["W_vocab"]
    x_rows, h_rows, da_rows = x.reshape(-1, W), h.reshape(-1, H), da.reshape(-1, 4 * H)

    def lstm():
        if hoisted:
            x_rows @ Wx
        for t in range(T):
            if not hoisted:
                x[:, t] @ Wx
            h[:, t] @ Wh
        for t in reversed(range(T)):
            da[:, t] @ Wh.T
            if not hoisted:
                da[:, t] @ Wx.T
                x[:, t].T @ da[:, t]
                h[:, t].T @ da[:, t]
        if hoisted:
            da_rows @ Wx.T
            x_rows.T @ da_rows
            h_rows.T @ da_rows

    def output_layers():
        features @ params["W_proj"]
        h_rows @ W_vocab
        dscores @ W_vocab.T
        h_rows.T @ dscores
        features.T @ h[:, 0]

    return lstm, output_layers


def profile(n, dtype, n_threads, repeats):
    import torch

    from captioning import rnn, rnn_layers

    np.random.seed(0)
    model = rnn.CaptioningRNN(
        word_to_idx(), input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type="lstm", dtype=dtype
    )
    features, captions = random_batch(n, dtype)
    ref = TorchCaptioner(model.params, "lstm")
    t_args = [torch.from_numpy(a) for a in (features, captions[:, :-1], captions[:, 1:])]

    cpu = defaultdict(float)

    def timed(module, name):
        fn = getattr(module, name)

        def wrapper(*args, **kwargs):
            start = time.process_time()
            out = fn(*args, **kwargs)
            cpu[name] += time.process_time() - start
            return out

        setattr(module, name, wrapper)
        return fn

    originals = [(rnn, p, timed(rnn, p)) for p in PARTS]
    originals += [(rnn_layers, s, timed(rnn_layers, s)) for s in STEPS]
    parts = defaultdict(list)
    with threads(n_threads):
        try:
            model.loss(features, captions)
            for _ in range(repeats):
                cpu.clear()
                model.loss(features, captions)
                ref.loss(*t_args)
                for name, seconds in cpu.items():
                    parts[name].append(seconds)
        finally:
            for module, name, fn in originals:
                setattr(module, name, fn)
        lstm, output_layers = matmuls(model.params, n, hoisted=False)
        lstm_hoisted, _ = matmuls(model.params, n, hoisted=True)
        t = interleaved(
            {
                "numpy": lambda: model.loss(features, captions),
                "torch": lambda: ref.loss(*t_args),
                "lstm matmuls": lstm,
                "output-layer matmuls": output_layers,
                "lstm matmuls hoisted": lstm_hoisted,
            },
            repeats,
        )
    return parts, t


def report(parts, t, n, dtype, n_threads, load):
    ms = 1e3
    torch_cpu = t.cpu_time("torch")
    lines = [
        f"LSTM N={n} {np.dtype(dtype).name}, {n_threads} thread(s), load {load[0]:.1f} -> "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; medians, CPU ms (wall ms)",
        f"  {'whole CaptioningRNN.loss':34s} {t.cpu_time('numpy') * ms:7.1f} ({t['numpy'] * ms:.1f})"
        f"   {t.ratio('numpy', 'torch', 'cpu'):.2f}x torch CPU, {t.ratio('numpy', 'torch'):.2f}x wall",
        f"  {'PyTorch iteration':34s} {torch_cpu * ms:7.1f} ({t['torch'] * ms:.1f})",
    ]
    for name in PARTS + STEPS:
        indent = "    " if name in STEPS else "  "
        label = f"{name} x{T}" if name in STEPS else name
        lines.append(
            f"{indent}{label:{36 - len(indent)}s} {statistics.median(parts[name]) * ms:7.1f}"
        )
    lines.append("  matmuls alone (same shapes, nothing else):")
    for name in ("lstm matmuls", "output-layer matmuls", "lstm matmuls hoisted"):
        lines.append(
            f"    {name:32s} {t.cpu_time(name) * ms:7.1f} ({t[name] * ms:.1f})"
            f"   {t.ratio(name, 'torch', 'cpu'):.2f} of torch's CPU time"
        )
    floor = t.cpu_time("lstm matmuls") + t.cpu_time("output-layer matmuls")
    lines.append(
        f"  {'floor: all matmuls, per step':34s} {floor * ms:7.1f}   {floor / torch_cpu:.2f}x torch; "
        f"the rest of the iteration: {(t.cpu_time('numpy') - floor) * ms:.1f}"
    )
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", default="1,2")
    p.add_argument("--repeats", type=int, default=11)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--package", type=Path, default=SOLUTIONS)
    args = p.parse_args(argv)
    captioning = use_package(args.package)
    print(f"captioning package: {Path(captioning.__file__).parent}")
    for n_threads in (int(s) for s in args.threads.split(",")):
        load = os.getloadavg()
        parts, t = profile(args.size, args.dtype, n_threads, args.repeats)
        print(report(parts, t, args.size, args.dtype, n_threads, load), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
