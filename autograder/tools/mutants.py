"""Known-bad variants of the reference solution, each planting one classic bug.

A mutant replaces one or two functions of the reference's ``rnn_layers.py``
or ``rnn.py`` with the textbook implementation written here (the way most
students write this exercise) carrying one bug. Replacing whole functions
keeps the mutants valid whatever shape the reference's own code takes; a
forward and its backward are replaced together when they share a cache.

``autograder validate`` grades every mutant and requires that it fails at
least one check of ``caught_by``: the checks of the function it breaks.
``textbook()`` (every function replaced, no bug) must score full marks.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, replace

LOSS_CHECKS = (
    "captioning_rnn_loss_rnn",
    "captioning_rnn_grads_rnn",
    "captioning_rnn_loss_lstm",
    "captioning_rnn_grads_lstm",
)
SAMPLE_CHECKS = ("captioning_rnn_sample_rnn", "captioning_rnn_sample_lstm")

# The textbook implementation of every TODO function, correct.
TEXTBOOK = {
    "rnn_step_forward": """
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh) + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache
""",
    "rnn_step_backward": """
def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dWx = x.T.dot(da)
    dWh = prev_h.T.dot(da)
    db = np.sum(da, axis=0)
    return dx, dprev_h, dWx, dWh, db
""",
    "rnn_forward": """
def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    caches = []
    prev_h = h0
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        caches.append(step_cache)
    return h, (caches, D)
""",
    "rnn_backward": """
def rnn_backward(dh, cache):
    caches, D = cache
    N, T, H = dh.shape
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, caches[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
""",
    "word_embedding_forward": """
def word_embedding_forward(x, W):
    out = W[x]
    cache = (x, W)
    return out, cache
""",
    "word_embedding_backward": """
def word_embedding_backward(dout, cache):
    x, W = cache
    dW = np.zeros_like(W)
    np.add.at(dW, x, dout)
    return dW
""",
    "lstm_step_forward": """
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    i = sigmoid(a[:, 0:H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:4 * H])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)
    return next_h, next_c, cache
""",
    "lstm_step_backward": """
def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tanh_c = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    di = dc * g * i * (1 - i)
    df = dc * prev_c * f * (1 - f)
    do = dnext_h * tanh_c * o * (1 - o)
    dg = dc * i * (1 - g ** 2)
    da = np.hstack((di, df, do, dg))
    dprev_c = dc * f
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dWx = x.T.dot(da)
    dWh = prev_h.T.dot(da)
    db = np.sum(da, axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db
""",
    "lstm_forward": """
def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    caches = []
    prev_h, prev_c = h0, np.zeros((N, H))
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
        caches.append(step_cache)
    return h, (caches, D)
""",
    "lstm_backward": """
def lstm_backward(dh, cache):
    caches, D = cache
    N, T, H = dh.shape
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t, :] + dprev_h, dprev_c, caches[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
""",
    "loss": """
def loss(self, features, captions):
    import numpy as np
    from .layers import affine_backward, affine_forward
    from .rnn_layers import (lstm_backward, lstm_forward, rnn_backward, rnn_forward,
                             temporal_affine_backward, temporal_affine_forward,
                             temporal_softmax_loss, word_embedding_backward,
                             word_embedding_forward)
    captions_in = captions[:, :-1]
    captions_out = captions[:, 1:]
    mask = captions_out != self._null
    W_proj, b_proj = self.params["W_proj"], self.params["b_proj"]
    W_embed = self.params["W_embed"]
    Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
    W_vocab, b_vocab = self.params["W_vocab"], self.params["b_vocab"]
    grads = {}
    h0, cache_proj = affine_forward(features, W_proj, b_proj)
    x, cache_embed = word_embedding_forward(captions_in, W_embed)
    if self.cell_type == "rnn":
        h, cache_rnn = rnn_forward(x, h0, Wx, Wh, b)
    else:
        h, cache_rnn = lstm_forward(x, h0, Wx, Wh, b)
    scores, cache_vocab = temporal_affine_forward(h, W_vocab, b_vocab)
    loss, dscores = temporal_softmax_loss(scores, captions_out, mask)
    dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, cache_vocab)
    if self.cell_type == "rnn":
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = rnn_backward(dh, cache_rnn)
    else:
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = lstm_backward(dh, cache_rnn)
    grads["W_embed"] = word_embedding_backward(dx, cache_embed)
    _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, cache_proj)
    return loss, grads
""",
    "sample": """
def sample(self, features, max_length=30):
    import numpy as np
    from .rnn_layers import lstm_step_forward, rnn_step_forward
    N = features.shape[0]
    captions = self._null * np.ones((N, max_length), dtype=np.int32)
    W_proj, b_proj = self.params["W_proj"], self.params["b_proj"]
    W_embed = self.params["W_embed"]
    Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
    W_vocab, b_vocab = self.params["W_vocab"], self.params["b_vocab"]
    h = features.dot(W_proj) + b_proj
    c = np.zeros_like(h)
    word = np.full(N, self._start)
    for t in range(max_length):
        x = W_embed[word]
        if self.cell_type == "rnn":
            h, _ = rnn_step_forward(x, h, Wx, Wh, b)
        else:
            h, c, _ = lstm_step_forward(x, h, c, Wx, Wh, b)
        scores = h.dot(W_vocab) + b_vocab
        word = np.argmax(scores, axis=1)
        captions[:, t] = word
    return captions
""",
}
FILE_OF = {fn: "rnn.py" if fn in ("loss", "sample") else "rnn_layers.py" for fn in TEXTBOOK}
# Functions that share a cache are replaced together.
PAIRS = {
    "rnn_step_forward": ("rnn_step_forward", "rnn_step_backward"),
    "rnn_step_backward": ("rnn_step_forward", "rnn_step_backward"),
    "rnn_forward": ("rnn_forward", "rnn_backward"),
    "rnn_backward": ("rnn_forward", "rnn_backward"),
    "word_embedding_forward": ("word_embedding_forward", "word_embedding_backward"),
    "word_embedding_backward": ("word_embedding_forward", "word_embedding_backward"),
    "lstm_step_forward": ("lstm_step_forward", "lstm_step_backward"),
    "lstm_step_backward": ("lstm_step_forward", "lstm_step_backward"),
    "lstm_forward": ("lstm_forward", "lstm_backward"),
    "lstm_backward": ("lstm_forward", "lstm_backward"),
    "loss": ("loss",),
    "sample": ("sample",),
}


@dataclass(frozen=True)
class Mutant:
    name: str
    function: str  # the function with the bug
    old: str  # text of TEXTBOOK[function] ...
    new: str  # ... replaced by this
    caught_by: tuple  # at least one of these checks must fail
    description: str = ""
    part: str = ""  # where the bug is: the output, term, gate or timestep it breaks
    words: tuple = ()  # a diagnosis that locates the bug says one of these (lower case)

    def replacements(self):
        """function name -> source that replaces it in the reference."""
        sources = {fn: TEXTBOOK[fn] for fn in PAIRS[self.function]}
        text = sources[self.function]
        if text.count(self.old) != 1:
            raise ValueError(f"mutant {self.name}: {self.old!r} is not once in {self.function}")
        sources[self.function] = text.replace(self.old, self.new)
        return sources


M = Mutant
MUTANTS = [
    M("rnn_step_forward_no_bias", "rnn_step_forward", " + b)", ")", ("rnn_step_forward",),
      "forgets the bias"),
    M("rnn_step_forward_Wh_transposed", "rnn_step_forward", "prev_h.dot(Wh)", "prev_h.dot(Wh.T)",
      ("rnn_step_forward",), "multiplies by Wh.T"),
    M("rnn_step_backward_tanh_grad_of_input", "rnn_step_backward",
      "da = dnext_h * (1 - next_h ** 2)", "da = dnext_h * (1 - np.arctanh(next_h) ** 2)",
      ("rnn_step_backward",), "takes the tanh derivative at the pre-activation"),
    M("rnn_step_backward_db_mean", "rnn_step_backward", "db = np.sum(da, axis=0)",
      "db = np.mean(da, axis=0)", ("rnn_step_backward",), "averages db over the batch"),
    M("rnn_forward_h0_included", "rnn_forward", "return h, (caches, D)",
      "return np.concatenate([h0[:, None], h], axis=1), (caches, D)", ("rnn_forward",),
      "returns h0 as the first timestep of h"),
    M("rnn_backward_no_carried_dh", "rnn_backward", "dh[:, t, :] + dprev_h, caches[t]",
      "dh[:, t, :], caches[t]", ("rnn_backward",),
      "forgets the gradient carried back from step t + 1"),
    M("rnn_backward_weights_overwritten", "rnn_backward", "dWx += dWx_t\n        dWh += dWh_t",
      "dWx = dWx_t\n        dWh = dWh_t", ("rnn_backward",),
      "keeps one timestep's weight gradients"),
    M("word_embedding_forward_bad_reshape", "word_embedding_forward", "out = W[x]",
      "out = W[x.T.reshape(-1)].reshape(x.shape[0], x.shape[1], -1)",
      ("word_embedding_forward",), "reshapes the lookup in the wrong order"),
    M("word_embedding_backward_fancy_assign", "word_embedding_backward", "np.add.at(dW, x, dout)",
      "dW[x] += dout", ("word_embedding_backward",), "dW[x] += dout loses repeated words"),
    M("lstm_gates_ifgo", "lstm_step_forward",
      "o = sigmoid(a[:, 2 * H:3 * H])\n    g = np.tanh(a[:, 3 * H:4 * H])",
      "g = np.tanh(a[:, 2 * H:3 * H])\n    o = sigmoid(a[:, 3 * H:4 * H])",
      ("lstm_step_forward",), "takes the gates in the order i, f, g, o"),
    M("lstm_forget_gate_on_prev_h", "lstm_step_forward", "f * prev_c", "f * prev_h",
      ("lstm_step_forward",), "applies the forget gate to prev_h"),
    M("lstm_step_backward_no_tanh_grad", "lstm_step_backward",
      "dnext_h * o * (1 - tanh_c ** 2)", "dnext_h * o", ("lstm_step_backward",),
      "forgets the tanh derivative between next_h and next_c"),
    M("lstm_step_backward_gates_ifgo", "lstm_step_backward", "(di, df, do, dg)", "(di, df, dg, do)",
      ("lstm_step_backward",), "concatenates the gate gradients as i, f, g, o"),
    M("lstm_forward_c0_is_h0", "lstm_forward", "prev_h, prev_c = h0, np.zeros((N, H))",
      "prev_h, prev_c = h0, h0", ("lstm_forward",), "starts the cell state from h0"),
    M("lstm_backward_no_carried_dc", "lstm_backward", "dh[:, t, :] + dprev_h, dprev_c,",
      "dh[:, t, :] + dprev_h, np.zeros((N, H)),", ("lstm_backward",),
      "does not carry the cell-state gradient back in time"),
    M("lstm_backward_no_carried_dh", "lstm_backward", "dh[:, t, :] + dprev_h, dprev_c,",
      "dh[:, t, :], dprev_c,", ("lstm_backward",),
      "does not carry the hidden-state gradient back in time"),
    M("lstm_backward_weights_overwritten", "lstm_backward", "dWx += dWx_t\n        dWh += dWh_t",
      "dWx = dWx_t\n        dWh = dWh_t", ("lstm_backward",),
      "keeps one timestep's weight gradients"),
    M("loss_unmasked", "loss", "temporal_softmax_loss(scores, captions_out, mask)",
      "temporal_softmax_loss(scores, captions_out, np.ones_like(mask))", LOSS_CHECKS,
      "counts the <NULL> targets"),
    M("loss_divided_by_T", "loss", "    return loss, grads",
      "    T = captions_out.shape[1]\n    return loss / T, {k: v / T for k, v in grads.items()}",
      LOSS_CHECKS, "averages over N * T instead of N"),
    M("loss_targets_not_shifted", "loss", "captions_out = captions[:, 1:]",
      "captions_out = captions[:, :-1]", LOSS_CHECKS, "predicts the input word"),
    M("loss_no_projection_grads", "loss",
      '_, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, cache_proj)',
      'grads["W_proj"], grads["b_proj"] = np.zeros_like(W_proj), np.zeros_like(b_proj)',
      LOSS_CHECKS, "leaves out the gradients of the feature projection"),
    M("loss_ignores_features", "loss", "affine_forward(features, W_proj, b_proj)",
      "affine_forward(0 * features, W_proj, b_proj)", LOSS_CHECKS,
      "starts the RNN from the bias of the projection, ignoring the image"),
    M("sample_start_in_first_column", "sample", "        captions[:, t] = word",
      "        if t + 1 < max_length:\n            captions[:, t + 1] = word\n"
      "    captions[:, 0] = self._start", SAMPLE_CHECKS, "writes <START> in column 0"),
    M("sample_no_feedback", "sample", "x = W_embed[word]", "x = W_embed[np.full(N, self._start)]",
      SAMPLE_CHECKS, "feeds <START> at every step"),
    M("sample_lstm_c0_is_h0", "sample", "c = np.zeros_like(h)", "c = h.copy()",
      ("captioning_rnn_sample_lstm",), "starts the LSTM cell state from h0"),
    M("sample_float_captions", "sample", "dtype=np.int32)", "dtype=np.float64)", SAMPLE_CHECKS,
      "returns a float array"),
    M("rnn_step_forward_sigmoid", "rnn_step_forward", "np.tanh(", "sigmoid(",
      ("rnn_step_forward",), "uses a sigmoid instead of tanh"),
    M("rnn_step_backward_dprev_h_untransposed", "rnn_step_backward", "dprev_h = da.dot(Wh.T)",
      "dprev_h = da.dot(Wh)", ("rnn_step_backward",), "multiplies dprev_h by Wh, not Wh.T"),
    M("rnn_forward_h0_every_step", "rnn_forward",
      "rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)", "rnn_step_forward(x[:, t, :], h0, Wx, Wh, b)",
      ("rnn_forward",), "feeds h0 to every step instead of the previous hidden state"),
    M("rnn_forward_time_reversed", "rnn_forward", "h[:, t, :] = prev_h", "h[:, T - 1 - t, :] = prev_h",
      ("rnn_forward",), "stores the hidden states in reverse time order"),
    M("rnn_backward_dh0_from_dh", "rnn_backward", "dh0 = dprev_h", "dh0 = dh[:, 0, :]",
      ("rnn_backward",), "returns the upstream gradient of step 0 as dh0"),
    M("word_embedding_forward_off_by_one", "word_embedding_forward", "out = W[x]", "out = W[x - 1]",
      ("word_embedding_forward",), "looks up the row before each word"),
    M("word_embedding_backward_from_W", "word_embedding_backward", "dW = np.zeros_like(W)",
      "dW = W.copy()", ("word_embedding_backward",), "accumulates onto W instead of zeros"),
    M("lstm_step_forward_no_tanh_c", "lstm_step_forward", "next_h = o * np.tanh(next_c)",
      "next_h = o * next_c", ("lstm_step_forward",), "leaves out the tanh of next_c"),
    M("lstm_step_forward_g_sigmoid", "lstm_step_forward", "g = np.tanh(a[:, 3 * H:4 * H])",
      "g = sigmoid(a[:, 3 * H:4 * H])", ("lstm_step_forward",), "puts g through a sigmoid"),
    M("lstm_step_backward_dprev_c_no_f", "lstm_step_backward", "dprev_c = dc * f", "dprev_c = dc",
      ("lstm_step_backward",), "forgets the forget gate in dprev_c"),
    M("lstm_step_backward_df_prev_h", "lstm_step_backward", "df = dc * prev_c * f", "df = dc * prev_h * f",
      ("lstm_step_backward",), "takes prev_h for prev_c in the forget-gate gradient"),
    M("lstm_step_backward_no_dnext_c", "lstm_step_backward", "dc = dnext_c + dnext_h", "dc = dnext_h",
      ("lstm_step_backward",), "drops the upstream cell-state gradient dnext_c"),
    M("lstm_forward_c_not_carried", "lstm_forward",
      "lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)",
      "lstm_step_forward(x[:, t, :], prev_h, np.zeros((N, H)), Wx, Wh, b)", ("lstm_forward",),
      "restarts the cell state from zero at every step"),
    M("lstm_backward_dh0_zero", "lstm_backward", "dh0 = dprev_h", "dh0 = np.zeros((N, H))",
      ("lstm_backward",), "returns a zero dh0"),
    M("loss_no_embedding_grads", "loss",
      'grads["W_embed"] = word_embedding_backward(dx, cache_embed)',
      'grads["W_embed"] = np.zeros_like(W_embed)', LOSS_CHECKS,
      "leaves out the gradient of the word embedding"),
    M("loss_masks_end", "loss", "mask = captions_out != self._null", "mask = captions_out != self._end",
      LOSS_CHECKS, "masks the <END> targets instead of <NULL>"),
    M("sample_no_projection_bias", "sample", "h = features.dot(W_proj) + b_proj",
      "h = features.dot(W_proj)", SAMPLE_CHECKS, "leaves b_proj out of the initial hidden state"),
]  # fmt: skip

# Where each mutant's bug is, as the feedback should say it: (part, words that say it).
LOCATIONS = {
    "rnn_step_forward_no_bias": ("the bias term", ("bias", " b ")),
    "rnn_step_forward_Wh_transposed": ("the prev_h @ Wh term", ("wh", "prev_h")),
    "rnn_step_forward_sigmoid": ("the activation", ("tanh", "activation")),
    "rnn_step_backward_tanh_grad_of_input": ("the tanh derivative", ("tanh",)),
    "rnn_step_backward_db_mean": ("output db", ("db",)),
    "rnn_step_backward_dprev_h_untransposed": ("output dprev_h", ("dprev_h",)),
    "rnn_forward_h0_included": ("output h: timestep 0", ("h0", "timestep")),
    "rnn_forward_h0_every_step": (
        "the hidden state carried between timesteps",
        ("timestep", "prev", "h0", "carr"),
    ),
    "rnn_forward_time_reversed": ("the timestep order of h", ("timestep", "order", "time")),
    "rnn_backward_no_carried_dh": (
        "the gradient carried back through time",
        ("timestep", "carr", "dprev_h"),
    ),
    "rnn_backward_weights_overwritten": (
        "dWx, dWh over timesteps",
        ("accumul", "summed", "timestep", "dwx", "dwh"),
    ),
    "rnn_backward_dh0_from_dh": ("output dh0", ("dh0",)),
    "word_embedding_forward_bad_reshape": (
        "output out: the order of words",
        ("order", "reshape", "out"),
    ),
    "word_embedding_forward_off_by_one": (
        "output out: the row looked up",
        ("row", "index", "word"),
    ),
    "word_embedding_backward_fancy_assign": (
        "dW of repeated words",
        ("repeat", "more than once"),
    ),
    "word_embedding_backward_from_W": ("dW's starting value", ("zero", "start", "initial")),
    "lstm_gates_ifgo": ("gate order (o and g)", ("gate",)),
    "lstm_forget_gate_on_prev_h": (
        "the forget-gate term f * prev_c",
        ("forget", "prev_c", "next_c"),
    ),
    "lstm_step_forward_no_tanh_c": ("the tanh of next_c in next_h", ("tanh", "next_h")),
    "lstm_step_forward_g_sigmoid": (
        "gate g",
        ("gate g", " g ", "g gate", "block g", "block input"),
    ),
    "lstm_step_backward_no_tanh_grad": (
        "the tanh derivative between next_h and next_c",
        ("tanh", "dnext_h"),
    ),
    "lstm_step_backward_gates_ifgo": ("gate order of the gradients", ("gate",)),
    "lstm_step_backward_dprev_c_no_f": ("output dprev_c", ("dprev_c",)),
    "lstm_step_backward_df_prev_h": ("gate f's gradient", ("forget", "gate f", " f ")),
    "lstm_step_backward_no_dnext_c": ("the upstream dnext_c", ("dnext_c",)),
    "lstm_forward_c0_is_h0": ("the initial cell state", ("cell state", "c0", "zero")),
    "lstm_forward_c_not_carried": (
        "the cell state carried between timesteps",
        ("cell state", "carr", "timestep"),
    ),
    "lstm_backward_no_carried_dc": (
        "the cell-state gradient carried back in time",
        ("dprev_c", "dnext_c", "cell"),
    ),
    "lstm_backward_no_carried_dh": (
        "the hidden-state gradient carried back in time",
        ("dprev_h", "carr", "timestep"),
    ),
    "lstm_backward_weights_overwritten": (
        "dWx, dWh over timesteps",
        ("accumul", "summed", "timestep", "dwx", "dwh"),
    ),
    "lstm_backward_dh0_zero": ("output dh0", ("dh0",)),
    "loss_unmasked": ("the mask", ("mask", "<null>")),
    "loss_divided_by_T": ("the averaging of the loss", ("averag", "divided", "scale")),
    "loss_targets_not_shifted": ("the targets", ("target", "captions_out", "shift")),
    "loss_no_projection_grads": ("grads W_proj, b_proj", ("w_proj", "b_proj")),
    "loss_ignores_features": ("h0 from the features", ("feature", "h0", "w_proj")),
    "loss_no_embedding_grads": ("grads W_embed", ("w_embed",)),
    "loss_masks_end": ("the mask", ("mask", "<end>", "<null>")),
    "sample_start_in_first_column": ("column 0", ("column 0", "<start>")),
    "sample_no_feedback": ("the word fed back at each step", ("feed", "previous word", "argmax")),
    "sample_lstm_c0_is_h0": ("the initial cell state", ("c = 0", "cell", "first")),
    "sample_float_captions": ("the dtype of captions", ("integer", "dtype")),
    "sample_no_projection_bias": ("the initial hidden state", ("b_proj", "first", "initial", "h0")),
}
MUTANTS = [replace(m, part=LOCATIONS[m.name][0], words=LOCATIONS[m.name][1]) for m in MUTANTS]


def _function_span(lines, function):
    """(first, end, indent) of `def function(` and its body in a list of lines."""
    pattern = re.compile(rf"^(\s*)def {re.escape(function)}\(")
    for i, line in enumerate(lines):
        match = pattern.match(line)
        if match:
            indent = len(match.group(1))
            end = i + 1
            while end < len(lines):
                text = lines[end]
                if text.strip() and len(text) - len(text.lstrip()) <= indent:
                    break
                end += 1
            while end > i + 1 and not lines[end - 1].strip():
                end -= 1  # keep the blank lines that separate definitions
            return i, end, match.group(1)
    raise ValueError(f"no function {function}")


def replace_functions(files: dict, sources: dict) -> dict:
    """The student files (name -> bytes) with functions replaced by `sources`."""
    texts = {name: data.decode() for name, data in files.items()}
    for function, source in sources.items():
        name = FILE_OF[function]
        lines = texts[name].splitlines(keepends=True)
        first, end, indent = _function_span(lines, function)
        body = textwrap.indent(textwrap.dedent(source).strip("\n") + "\n", indent)
        lines[first:end] = [body]
        texts[name] = "".join(lines)
    return {name: text.encode() for name, text in texts.items()}


def apply(mutant: Mutant, files: dict) -> dict:
    """The reference files with the mutant's functions in place."""
    return replace_functions(files, mutant.replacements())


def textbook(files: dict) -> dict:
    """The reference files with every TODO function replaced by its textbook version."""
    return replace_functions(files, TEXTBOOK)


def main(argv=None):
    """`autograder mutants`: each known-bad variant and the checks that must catch it."""
    for mutant in MUTANTS:
        print(f"{mutant.name}: caught by {', '.join(mutant.caught_by)}")
    return 0
