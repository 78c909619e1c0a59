# ruff: noqa
# target: rnn_layers.py
# fails: lstm_step_backward
# passes: lstm_step_forward
"""lstm_step_backward never returns."""


def lstm_step_backward(dnext_h, dnext_c, cache):
    while True:
        pass
