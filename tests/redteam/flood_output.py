# ruff: noqa
# target: rnn_layers.py
# fails:
# passes: rnn_step_forward rnn_forward
"""rnn_step_forward prints and writes tens of megabytes before returning the right answer."""

import os as _os

_orig_rnn_step_forward = rnn_step_forward


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    for _ in range(2000):
        print("spam " * 2000)
    try:
        for _ in range(64):
            _os.write(1, b"y" * (1 << 20))
            _os.write(2, b"z" * (1 << 20))
    except OSError:
        pass
    return _orig_rnn_step_forward(x, prev_h, Wx, Wh, b)
