# ruff: noqa
# target: rnn_layers.py
# fails:
# passes: rnn_forward rnn_backward
"""Not an attack: caches holding a lambda and a generator are the student's business."""

_orig_rnn_forward, _orig_rnn_backward = rnn_forward, rnn_backward


def rnn_forward(x, h0, Wx, Wh, b):
    h, cache = _orig_rnn_forward(x, h0, Wx, Wh, b)
    return h, (lambda: cache, (i for i in range(3)))


def rnn_backward(dh, cache):
    return _orig_rnn_backward(dh, cache[0]())
