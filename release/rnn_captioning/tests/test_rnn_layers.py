"""Self-checks of the vanilla RNN and word-embedding layers (the notebook's checks)."""

import numpy as np
import pytest

from captioning.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from captioning.rnn_layers import (
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from checks import assert_gradient, assert_values


@pytest.mark.diagnose("rnn_step_forward")
def test_rnn_step_forward_values():
    N, D, H = 3, 10, 4
    x = np.linspace(-0.4, 0.7, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.2, 0.5, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.1, 0.9, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.3, 0.7, num=H * H).reshape(H, H)
    b = np.linspace(-0.2, 0.4, num=H)

    next_h, _ = rnn_step_forward(x, prev_h, Wx, Wh, b)
    expected_next_h = np.asarray(
        [
            [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
            [0.66854692, 0.79562378, 0.87755553, 0.92795967],
            [0.97934501, 0.99144213, 0.99646691, 0.99854353],
        ]
    )
    assert_values("next_h", next_h, expected_next_h)


@pytest.mark.diagnose("rnn_step_backward")
def test_rnn_step_backward_numeric_gradient():
    N, D, H = 4, 5, 6
    x = np.random.randn(N, D)
    h = np.random.randn(N, H)
    Wx = np.random.randn(D, H)
    Wh = np.random.randn(H, H)
    b = np.random.randn(H)

    out, cache = rnn_step_forward(x, h, Wx, Wh, b)
    dnext_h = np.random.randn(*out.shape)

    dx_num = eval_numerical_gradient_array(
        lambda x: rnn_step_forward(x, h, Wx, Wh, b)[0], x, dnext_h
    )
    dprev_h_num = eval_numerical_gradient_array(
        lambda h: rnn_step_forward(x, h, Wx, Wh, b)[0], h, dnext_h
    )
    dWx_num = eval_numerical_gradient_array(
        lambda Wx: rnn_step_forward(x, h, Wx, Wh, b)[0], Wx, dnext_h
    )
    dWh_num = eval_numerical_gradient_array(
        lambda Wh: rnn_step_forward(x, h, Wx, Wh, b)[0], Wh, dnext_h
    )
    db_num = eval_numerical_gradient_array(
        lambda b: rnn_step_forward(x, h, Wx, Wh, b)[0], b, dnext_h
    )

    dx, dprev_h, dWx, dWh, db = rnn_step_backward(dnext_h, cache)
    assert_gradient("dx", dx, dx_num)
    assert_gradient("dprev_h", dprev_h, dprev_h_num)
    assert_gradient("dWx", dWx, dWx_num)
    assert_gradient("dWh", dWh, dWh_num)
    assert_gradient("db", db, db_num)


@pytest.mark.diagnose("rnn_forward")
def test_rnn_forward_values():
    N, T, D, H = 2, 3, 4, 5
    x = np.linspace(-0.1, 0.3, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.3, 0.1, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.4, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.4, 0.1, num=H * H).reshape(H, H)
    b = np.linspace(-0.7, 0.1, num=H)

    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    expected_h = np.asarray(
        [
            [
                [-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
                [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
                [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525],
            ],
            [
                [-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
                [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
                [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043],
            ],
        ]
    )
    assert_values("h", h, expected_h)


@pytest.mark.diagnose("rnn_backward")
def test_rnn_backward_numeric_gradient():
    N, D, T, H = 2, 3, 10, 5
    x = np.random.randn(N, T, D)
    h0 = np.random.randn(N, H)
    Wx = np.random.randn(D, H)
    Wh = np.random.randn(H, H)
    b = np.random.randn(H)

    out, cache = rnn_forward(x, h0, Wx, Wh, b)
    dout = np.random.randn(*out.shape)
    dx, dh0, dWx, dWh, db = rnn_backward(dout, cache)

    dx_num = eval_numerical_gradient_array(lambda x: rnn_forward(x, h0, Wx, Wh, b)[0], x, dout)
    dh0_num = eval_numerical_gradient_array(lambda h0: rnn_forward(x, h0, Wx, Wh, b)[0], h0, dout)
    dWx_num = eval_numerical_gradient_array(lambda Wx: rnn_forward(x, h0, Wx, Wh, b)[0], Wx, dout)
    dWh_num = eval_numerical_gradient_array(lambda Wh: rnn_forward(x, h0, Wx, Wh, b)[0], Wh, dout)
    db_num = eval_numerical_gradient_array(lambda b: rnn_forward(x, h0, Wx, Wh, b)[0], b, dout)

    assert_gradient("dx", dx, dx_num)
    assert_gradient("dh0", dh0, dh0_num)
    assert_gradient("dWx", dWx, dWx_num)
    assert_gradient("dWh", dWh, dWh_num)
    assert_gradient("db", db, db_num)


@pytest.mark.diagnose("word_embedding_forward")
def test_word_embedding_forward_values():
    V, D = 5, 3
    x = np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]])
    W = np.linspace(0, 1, num=V * D).reshape(V, D)

    out, _ = word_embedding_forward(x, W)
    expected_out = np.asarray(
        [
            [
                [0.0, 0.07142857, 0.14285714],
                [0.64285714, 0.71428571, 0.78571429],
                [0.21428571, 0.28571429, 0.35714286],
                [0.42857143, 0.5, 0.57142857],
            ],
            [
                [0.42857143, 0.5, 0.57142857],
                [0.21428571, 0.28571429, 0.35714286],
                [0.0, 0.07142857, 0.14285714],
                [0.64285714, 0.71428571, 0.78571429],
            ],
        ]
    )
    assert_values("out", out, expected_out)


@pytest.mark.diagnose("word_embedding_backward")
def test_word_embedding_backward_numeric_gradient():
    N, T, V, D = 50, 3, 5, 6
    x = np.random.randint(V, size=(N, T))
    W = np.random.randn(V, D)

    out, cache = word_embedding_forward(x, W)
    dout = np.random.randn(*out.shape)
    dW = word_embedding_backward(dout, cache)

    dW_num = eval_numerical_gradient_array(lambda W: word_embedding_forward(x, W)[0], W, dout)
    assert_gradient("dW", dW, dW_num)


def test_temporal_affine_backward_numeric_gradient():
    """temporal_affine_forward/backward are provided: this one should pass from the start."""
    N, T, D, M = 2, 3, 4, 5
    x = np.random.randn(N, T, D)
    w = np.random.randn(D, M)
    b = np.random.randn(M)

    out, cache = temporal_affine_forward(x, w, b)
    dout = np.random.randn(*out.shape)

    dx_num = eval_numerical_gradient_array(lambda x: temporal_affine_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: temporal_affine_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: temporal_affine_forward(x, w, b)[0], b, dout)

    dx, dw, db = temporal_affine_backward(dout, cache)
    assert_gradient("dx", dx, dx_num)
    assert_gradient("dw", dw, dw_num)
    assert_gradient("db", db, db_num)


def _softmax_loss_sanity(N, T, V, p):
    x = 0.001 * np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = np.random.rand(N, T) <= p
    return temporal_softmax_loss(x, y, mask)[0]


def test_temporal_softmax_loss_sanity():
    """Provided function: the loss of near-uniform scores is T * log(V) scaled by the mask."""
    assert abs(_softmax_loss_sanity(100, 1, 10, 1.0) - 2.3) < 0.05
    assert abs(_softmax_loss_sanity(100, 10, 10, 1.0) - 23) < 0.5
    assert abs(_softmax_loss_sanity(5000, 10, 10, 0.1) - 2.2) < 0.2


def test_temporal_softmax_loss_numeric_gradient():
    N, T, V = 7, 8, 9
    x = np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = np.random.rand(N, T) > 0.5

    _, dx = temporal_softmax_loss(x, y, mask, verbose=False)
    dx_num = eval_numerical_gradient(
        lambda x: temporal_softmax_loss(x, y, mask)[0], x, verbose=False
    )
    assert_gradient("dx", dx, dx_num)
