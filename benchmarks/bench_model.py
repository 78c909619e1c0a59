"""The model benchmarks: a training iteration and sampling, numpy against PyTorch.

The same CaptioningRNN weights are copied into an equivalent PyTorch model
(nn.Embedding, nn.Linear, nn.LSTM or nn.RNN(tanh), masked cross-entropy
summed over time and divided by N); its loss and gradients are checked
against the reference before anything is timed, so both sides do the same
work.
"""

from __future__ import annotations

import contextlib

import numpy as np
from bench_common import Row, fmt_time, interleaved, skipped

# The sizes of the issue: COCO's vocabulary, the overfit notebook's layers.
T, W, H, V, D = 16, 256, 512, 1004, 512
NULL, START, END = 0, 1, 2
# The gate order of the assignment is i, f, o, g; PyTorch's is i, f, g, o.
TO_TORCH_GATES = [0, 1, 3, 2]


def word_to_idx(vocab_size=V):
    words = ["<NULL>", "<START>", "<END>", "<UNK>"]
    words += [f"w{i}" for i in range(len(words), vocab_size)]
    return {w: i for i, w in enumerate(words)}


def random_batch(n, dtype, seed=0):
    """Features and (N, T+1) captions: <START>, words, <END>, <NULL> padding."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n, D)).astype(dtype)
    captions = rng.integers(4, V, size=(n, T + 1))
    lengths = rng.integers(6, T + 1, size=n)
    captions[:, 0] = START
    captions[np.arange(n), lengths] = END
    captions[np.arange(T + 1)[None, :] > lengths[:, None]] = NULL
    return features, captions


def iteration_flops(n, cell):
    """Matmul FLOPs of one forward and backward pass (2 per multiply-add).

    Forward: the feature projection, x Wx and h Wh at every step, the vocabulary
    scores. Backward: twice that (input and weight gradients), less the
    gradient of the image features, which nothing needs.
    """
    k = 4 if cell == "lstm" else 1
    forward = 2 * n * (D * H + T * (W * k * H + H * k * H + H * V))
    return 3 * forward - 2 * n * D * H


def matmul_flops(size):
    return 2 * size**3


def to_torch_gates(a, cell):
    """Reorder the last axis of a (.., kH) array from i, f, o, g to i, f, g, o."""
    if cell == "rnn":
        return a
    blocks = np.split(a, 4, axis=-1)
    return np.concatenate([blocks[j] for j in TO_TORCH_GATES], axis=-1)


def from_torch_gates(a, cell):
    if cell == "rnn":
        return a
    blocks = np.split(a, 4, axis=-1)
    return np.concatenate([blocks[TO_TORCH_GATES.index(j)] for j in range(4)], axis=-1)


class TorchCaptioner:
    """The CaptioningRNN of the assignment, in PyTorch, with the same weights."""

    def __init__(self, params, cell):
        import torch
        from torch import nn

        self.torch, self.cell = torch, cell
        dtype = torch.from_numpy(params["Wh"]).dtype
        self.embed = nn.Embedding(V, W)
        self.proj = nn.Linear(D, H)
        if cell == "lstm":
            self.rnn = nn.LSTM(W, H, batch_first=True)
        else:
            self.rnn = nn.RNN(W, H, nonlinearity="tanh", batch_first=True)
        self.vocab = nn.Linear(H, V)
        self.modules = [self.embed, self.proj, self.rnn, self.vocab]
        for m in self.modules:
            m.to(dtype)

        def put(param, array):
            param.data.copy_(torch.from_numpy(np.ascontiguousarray(array)))

        with torch.no_grad():
            put(self.embed.weight, params["W_embed"])
            put(self.proj.weight, params["W_proj"].T)
            put(self.proj.bias, params["b_proj"])
            put(self.rnn.weight_ih_l0, to_torch_gates(params["Wx"], cell).T)
            put(self.rnn.weight_hh_l0, to_torch_gates(params["Wh"], cell).T)
            put(self.rnn.bias_ih_l0, to_torch_gates(params["b"], cell))
            self.rnn.bias_hh_l0.zero_()
            put(self.vocab.weight, params["W_vocab"].T)
            put(self.vocab.bias, params["b_vocab"])

    def parameters(self):
        for m in self.modules:
            yield from m.parameters()

    def initial_state(self, features):
        h0 = self.proj(features)
        if self.cell == "lstm":
            return h0, self.torch.zeros_like(h0)
        return h0

    def loss(self, features, captions_in, captions_out):
        """Forward and backward; the gradients land in .grad."""
        for p in self.parameters():
            p.grad = None
        state = self.initial_state(features)
        state = tuple(s[None] for s in state) if self.cell == "lstm" else state[None]
        h, _ = self.rnn(self.embed(captions_in), state)
        scores = self.vocab(h)
        # <NULL> targets are masked: ignore_index drops them from the sum.
        loss = self.torch.nn.functional.cross_entropy(
            scores.reshape(-1, V), captions_out.reshape(-1), ignore_index=NULL, reduction="sum"
        ) / len(features)
        loss.backward()
        return loss

    def grads(self):
        """The gradients in the assignment's layout (the keys of CaptioningRNN.grads)."""

        def g(param):
            return param.grad.numpy()

        return {
            "W_embed": g(self.embed.weight),
            "W_proj": g(self.proj.weight).T,
            "b_proj": g(self.proj.bias),
            "Wx": from_torch_gates(g(self.rnn.weight_ih_l0).T, self.cell),
            "Wh": from_torch_gates(g(self.rnn.weight_hh_l0).T, self.cell),
            "b": from_torch_gates(g(self.rnn.bias_ih_l0), self.cell),
            "W_vocab": g(self.vocab.weight).T,
            "b_vocab": g(self.vocab.bias),
        }

    def sample(self, features, max_length):
        """Greedy decoding, as CaptioningRNN.sample, one cell step at a time."""
        torch = self.torch
        with torch.no_grad():
            state = self.initial_state(features)
            cell = torch.nn.LSTMCell(W, H) if self.cell == "lstm" else torch.nn.RNNCell(W, H)
            cell.to(features.dtype)
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(self.rnn, name + "_l0"))
            words = torch.full((len(features),), START, dtype=torch.long)
            captions = torch.empty((len(features), max_length), dtype=torch.long)
            for t in range(max_length):
                state = cell(self.embed(words), state)
                h = state[0] if self.cell == "lstm" else state
                words = self.vocab(h).argmax(dim=1)
                captions[:, t] = words
        return captions.numpy()


def norm_rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b))


@contextlib.contextmanager
def threads(n):
    """numpy's BLAS and PyTorch both limited to n threads."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=n, user_api="blas")
    try:
        with limits:
            yield
    finally:
        torch.set_num_threads(before)


def iteration_rows(cells, sizes, dtypes, thread_counts, repeats):
    """Rows (a) and (b): numpy/torch time of an iteration, and its share of matmul peak."""
    try:
        import torch
    except ImportError:
        return [skipped("train", "all", "torch not installed: make bench installs it")]
    from captioning.rnn import CaptioningRNN

    rows = []
    for n_threads in thread_counts:
        for dtype in dtypes:
            size = 2048
            a = np.random.default_rng(1).standard_normal((size, size)).astype(dtype)
            b, c = a.T.copy(), np.empty_like(a)
            for cell in cells:
                for n in sizes:
                    np.random.seed(0)
                    model = CaptioningRNN(
                        word_to_idx(), input_dim=D, wordvec_dim=W, hidden_dim=H,
                        cell_type=cell, dtype=dtype,
                    )  # fmt: skip
                    features, captions = random_batch(n, dtype)
                    ref = TorchCaptioner(model.params, cell)
                    t_features = torch.from_numpy(features)
                    t_in = torch.from_numpy(captions[:, :-1])
                    t_out = torch.from_numpy(captions[:, 1:])

                    loss, grads = model.loss(features, captions)
                    t_loss = ref.loss(t_features, t_in, t_out).item()
                    t_grads = ref.grads()
                    loss_err = abs(loss - t_loss) / abs(t_loss)
                    grad_err = max(norm_rel(grads[k], t_grads[k]) for k in grads)
                    dtypes_ok = all(g.dtype == dtype for g in grads.values())

                    with threads(n_threads):
                        t = interleaved(
                            {
                                "numpy": lambda: model.loss(features, captions),  # noqa: B023
                                "torch": lambda: ref.loss(t_features, t_in, t_out),  # noqa: B023
                                "matmul": lambda: np.matmul(a, b, out=c),  # noqa: B023
                            },
                            repeats,
                        )
                    flops = iteration_flops(n, cell)
                    name = np.dtype(dtype).name
                    case = f"{cell.upper()} N={n} {name} {n_threads}thr"
                    peak = matmul_flops(size) / t["matmul"]
                    rate = flops / t["numpy"]
                    # Fractions of the matmul rate, from the back-to-back pairs.
                    share = flops / matmul_flops(size) * t.ratio("matmul", "numpy")
                    torch_share = flops / matmul_flops(size) * t.ratio("matmul", "torch")
                    rows.append(
                        Row(
                            "train iter",
                            case,
                            fmt_time(t["numpy"]),
                            f"torch {fmt_time(t['torch'])}",
                            f"{t.ratio('numpy', 'torch'):.2f}x",
                            f"CPU-time ratio {t.ratio('numpy', 'torch', 'cpu'):.2f}x; "
                            f"loss rel diff {loss_err:.0e}, grads {grad_err:.0e}"
                            + ("" if dtypes_ok else ", GRADS NOT ALL " + name),
                        )
                    )
                    rows.append(
                        Row(
                            "FLOP rate",
                            case,
                            f"{rate / 1e9:.1f} GFLOP/s",
                            f"matmul {size}^2 {peak / 1e9:.1f} GFLOP/s",
                            f"{share:.2f}",
                            f"{flops / 1e9:.2f} GFLOP/iter; torch at {torch_share:.2f} of it",
                        )
                    )
    return rows


def sample_rows(cells, n_features, thread_counts, repeats, max_length=30):
    """Row (c): model.sample() for n_features images, against PyTorch greedy decoding."""
    try:
        import torch
    except ImportError:
        return [skipped("sample", "all", "torch not installed: make bench installs it")]
    from captioning.rnn import CaptioningRNN

    rows = []
    for n_threads in thread_counts:
        for cell in cells:
            np.random.seed(0)
            model = CaptioningRNN(
                word_to_idx(), input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell
            )
            features = np.random.default_rng(2).standard_normal((n_features, D)).astype(np.float32)
            ref = TorchCaptioner(model.params, cell)
            t_features = torch.from_numpy(features)
            ours = model.sample(features, max_length)
            theirs = ref.sample(t_features, max_length)
            same = int(np.sum(np.all(ours == theirs, axis=1)))
            with threads(n_threads):
                t = interleaved(
                    {
                        "numpy": lambda: model.sample(features, max_length),  # noqa: B023
                        "torch": lambda: ref.sample(t_features, max_length),  # noqa: B023
                    },
                    repeats,
                )
            rows.append(
                Row(
                    "sample",
                    f"{cell.upper()} {n_features} images x {max_length} float32 {n_threads}thr",
                    fmt_time(t["numpy"]),
                    f"torch {fmt_time(t['torch'])}",
                    f"{t.ratio('numpy', 'torch'):.2f}x",
                    f"CPU-time ratio {t.ratio('numpy', 'torch', 'cpu'):.2f}x; "
                    f"{same}/{n_features} captions identical to torch's",
                )
            )
    return rows
