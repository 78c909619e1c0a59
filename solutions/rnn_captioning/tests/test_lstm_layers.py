"""Self-checks of the LSTM layers (the notebook's checks)."""

import numpy as np
import pytest

from captioning.gradient_check import eval_numerical_gradient_array
from captioning.rnn_layers import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from checks import assert_gradient, assert_values


@pytest.mark.diagnose("lstm_step_forward")
def test_lstm_step_forward_values():
    N, D, H = 3, 4, 5
    x = np.linspace(-0.4, 1.2, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.3, 0.7, num=N * H).reshape(N, H)
    prev_c = np.linspace(-0.4, 0.9, num=N * H).reshape(N, H)
    Wx = np.linspace(-2.1, 1.3, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.7, 2.2, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.3, 0.7, num=4 * H)

    next_h, next_c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    expected_next_h = np.asarray(
        [
            [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
            [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
            [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299],
        ]
    )
    expected_next_c = np.asarray(
        [
            [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
            [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
            [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676],
        ]
    )
    assert_values("next_h", next_h, expected_next_h)
    assert_values("next_c", next_c, expected_next_c)


@pytest.mark.diagnose("lstm_step_backward")
def test_lstm_step_backward_numeric_gradient():
    N, D, H = 4, 5, 6
    x = np.random.randn(N, D)
    prev_h = np.random.randn(N, H)
    prev_c = np.random.randn(N, H)
    Wx = np.random.randn(D, 4 * H)
    Wh = np.random.randn(H, 4 * H)
    b = np.random.randn(4 * H)

    next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    dnext_h = np.random.randn(*next_h.shape)
    dnext_c = np.random.randn(*next_c.shape)

    def numeric(index, arg):
        """Numeric gradient of sum(next_h * dnext_h + next_c * dnext_c) for one argument."""
        args = [x, prev_h, prev_c, Wx, Wh, b]

        def f_h(value):
            return lstm_step_forward(*(value if i == index else a for i, a in enumerate(args)))[0]

        def f_c(value):
            return lstm_step_forward(*(value if i == index else a for i, a in enumerate(args)))[1]

        return eval_numerical_gradient_array(f_h, arg, dnext_h) + eval_numerical_gradient_array(
            f_c, arg, dnext_c
        )

    dx_num = numeric(0, x)
    dh_num = numeric(1, prev_h)
    dc_num = numeric(2, prev_c)
    dWx_num = numeric(3, Wx)
    dWh_num = numeric(4, Wh)
    db_num = numeric(5, b)

    dx, dh, dc, dWx, dWh, db = lstm_step_backward(dnext_h, dnext_c, cache)
    assert_gradient("dx", dx, dx_num)
    assert_gradient("dprev_h", dh, dh_num)
    assert_gradient("dprev_c", dc, dc_num)
    assert_gradient("dWx", dWx, dWx_num)
    assert_gradient("dWh", dWh, dWh_num)
    assert_gradient("db", db, db_num)


@pytest.mark.diagnose("lstm_forward")
def test_lstm_forward_values():
    N, D, H, T = 2, 5, 4, 3
    x = np.linspace(-0.4, 0.6, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.4, 0.8, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.9, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.3, 0.6, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.2, 0.7, num=4 * H)

    h, _ = lstm_forward(x, h0, Wx, Wh, b)
    expected_h = np.asarray(
        [
            [
                [0.01764008, 0.01823233, 0.01882671, 0.0194232],
                [0.11287491, 0.12146228, 0.13018446, 0.13902939],
                [0.31358768, 0.33338627, 0.35304453, 0.37250975],
            ],
            [
                [0.45767879, 0.4761092, 0.4936887, 0.51041945],
                [0.6704845, 0.69350089, 0.71486014, 0.7346449],
                [0.81733511, 0.83677871, 0.85403753, 0.86935314],
            ],
        ]
    )
    assert_values("h", h, expected_h)


@pytest.mark.diagnose("lstm_backward")
def test_lstm_backward_numeric_gradient():
    N, D, T, H = 2, 3, 10, 6
    x = np.random.randn(N, T, D)
    h0 = np.random.randn(N, H)
    Wx = np.random.randn(D, 4 * H)
    Wh = np.random.randn(H, 4 * H)
    b = np.random.randn(4 * H)

    out, cache = lstm_forward(x, h0, Wx, Wh, b)
    dout = np.random.randn(*out.shape)
    dx, dh0, dWx, dWh, db = lstm_backward(dout, cache)

    dx_num = eval_numerical_gradient_array(lambda x: lstm_forward(x, h0, Wx, Wh, b)[0], x, dout)
    dh0_num = eval_numerical_gradient_array(lambda h0: lstm_forward(x, h0, Wx, Wh, b)[0], h0, dout)
    dWx_num = eval_numerical_gradient_array(lambda Wx: lstm_forward(x, h0, Wx, Wh, b)[0], Wx, dout)
    dWh_num = eval_numerical_gradient_array(lambda Wh: lstm_forward(x, h0, Wx, Wh, b)[0], Wh, dout)
    db_num = eval_numerical_gradient_array(lambda b: lstm_forward(x, h0, Wx, Wh, b)[0], b, dout)

    assert_gradient("dx", dx, dx_num)
    assert_gradient("dh0", dh0, dh0_num)
    assert_gradient("dWx", dWx, dWx_num)
    assert_gradient("dWh", dWh, dWh_num)
    assert_gradient("db", db, db_num)
