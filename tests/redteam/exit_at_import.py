# ruff: noqa
# target: rnn.py
# fails: captioning_rnn_loss_rnn captioning_rnn_grads_rnn captioning_rnn_sample_lstm
# passes: rnn_step_forward lstm_backward
"""rnn.py ends the process as soon as it is imported."""

import os

os._exit(0)
