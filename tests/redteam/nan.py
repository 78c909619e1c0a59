# ruff: noqa
# target: rnn_layers.py
# fails: rnn_forward
# passes: rnn_step_forward
"""rnn_forward returns NaN everywhere (NaN compares false with everything)."""

_orig_rnn_forward = rnn_forward


def rnn_forward(x, h0, Wx, Wh, b):
    h, cache = _orig_rnn_forward(x, h0, Wx, Wh, b)
    return np.full_like(h, np.nan), cache
