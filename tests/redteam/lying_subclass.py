# ruff: noqa
# target: rnn_layers.py
# fails: lstm_step_forward
# passes: rnn_step_forward
"""lstm_step_forward returns an ndarray subclass that says it equals anything."""


class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __sub__(self, other):
        return np.zeros(self.shape)

    __rsub__ = __sub__

    def __array_finalize__(self, obj):
        pass


_orig_lstm_step_forward = lstm_step_forward


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    next_h, next_c, cache = _orig_lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    return np.zeros_like(next_h).view(Liar), np.zeros_like(next_c).view(Liar), cache
