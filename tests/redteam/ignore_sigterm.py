# ruff: noqa
# target: rnn_layers.py
# fails: rnn_backward
# passes: rnn_forward
"""rnn_backward ignores SIGTERM, SIGINT and SIGHUP and sleeps forever."""

import signal as _signal
import time as _time


def rnn_backward(dh, cache):
    for sig in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP):
        _signal.signal(sig, _signal.SIG_IGN)
    while True:
        _time.sleep(0.1)
