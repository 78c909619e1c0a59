# ruff: noqa
"""A correct solution written the way real students write it, not like the reference.

Loops over the batch and over words, in-place operations that overwrite the
arguments, float32 casts, a hand-written sigmoid, caches of other shapes: the
grader must give it full marks all the same.
"""

import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    # computes in float32 and returns float32
    x, prev_h = x.astype(np.float32), prev_h.astype(np.float32)
    Wx, Wh, b = Wx.astype(np.float32), Wh.astype(np.float32), b.astype(np.float32)
    next_h = np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh) + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    dx, dprev_h = np.zeros(x.shape), np.zeros(prev_h.shape)
    dWx, dWh, db = np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])
    for n in range(x.shape[0]):  # one example at a time
        da = dnext_h[n] * (1 - next_h[n] * next_h[n])
        dx[n] = Wx.dot(da)
        dprev_h[n] = Wh.dot(da)
        dWx += np.outer(x[n], da)
        dWh += np.outer(prev_h[n], da)
        db += da
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    caches = {}
    for n in range(N):
        prev = h0[n : n + 1]
        for t in range(T):
            prev, caches[n, t] = rnn_step_forward(x[n, t][None], prev, Wx, Wh, b)
            h[n, t] = prev[0]
    return h, {"caches": caches, "shape": (N, T, D, H)}


def rnn_backward(dh, cache):
    N, T, D, H = cache["shape"]
    dx = np.zeros((N, T, D))
    dh0 = np.zeros((N, H))
    dWx, dWh, db = 0, 0, 0
    for n in range(N):
        carried = np.zeros((1, H))
        for t in range(T - 1, -1, -1):
            dh[n, t] += carried[0]  # overwrites the caller's dh
            dxt, carried, dWxt, dWht, dbt = rnn_step_backward(dh[n, t][None], cache["caches"][n, t])
            dx[n, t] = dxt[0]
            dWx = dWx + dWxt
            dWh = dWh + dWht
            db = db + dbt
        dh0[n] = carried[0]
    return dx, dh0, dWx, dWh, db


def word_embedding_forward(x, W):
    N, T = x.shape
    out = np.zeros((N, T, W.shape[1]), dtype=W.dtype)
    for n in range(N):
        for t in range(T):
            out[n, t, :] = W[x[n, t], :]
    return out, (x.copy(), W.shape)


def word_embedding_backward(dout, cache):
    x, shape = cache
    dW = np.zeros(shape)
    for n in range(x.shape[0]):
        for t in range(x.shape[1]):
            dW[x[n, t]] += dout[n, t]
    return dW


def sigmoid(x):
    """Numerically stable sigmoid (the provided one)."""
    pos_mask = x >= 0
    neg_mask = x < 0
    z = np.zeros_like(x)
    z[pos_mask] = np.exp(-x[pos_mask])
    z[neg_mask] = np.exp(x[neg_mask])
    top = np.ones_like(x)
    top[neg_mask] = z[neg_mask]
    return top / (1 + z)


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = np.dot(x, Wx)
    a += np.dot(prev_h, Wh)  # in place
    a += b
    ai, af, ao, ag = np.split(a, 4, axis=1)
    i, f, o, g = _sig(ai), _sig(af), _sig(ao), np.tanh(ag)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    assert next_h.shape[1] == H
    cache = {
        "x": x,
        "h": prev_h,
        "c": prev_c,
        "Wx": Wx,
        "Wh": Wh,
        "gates": (i, f, o, g),
        "nc": next_c,
    }
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    i, f, o, g = cache["gates"]
    tc = np.tanh(cache["nc"])
    dnext_c += dnext_h * o * (1 - tc**2)  # overwrites the caller's dnext_c
    dc = dnext_c
    da = np.concatenate(
        [
            dc * g * i * (1 - i),
            dc * cache["c"] * f * (1 - f),
            dnext_h * tc * o * (1 - o),
            dc * i * (1 - g**2),
        ],
        axis=1,
    )
    dx = da @ cache["Wx"].T
    dprev_h = da @ cache["Wh"].T
    dprev_c = dc * f
    dWx = cache["x"].T @ da
    dWh = cache["h"].T @ da
    db = da.sum(0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    hs = []
    caches = []
    h, c = h0, np.zeros((N, H))
    for t in range(T):
        h, c, ch = lstm_step_forward(x[:, t, :], h, c, Wx, Wh, b)
        hs.append(h)
        caches.append(ch)
    return np.stack(hs, axis=1), caches


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0]["x"].shape[1]
    dx = np.empty((N, T, D))
    dWx = np.zeros((D, 4 * H))
    dWh = np.zeros((H, 4 * H))
    db = np.zeros(4 * H)
    dnext_h = np.zeros((N, H))
    dnext_c = np.zeros((N, H))
    for t in reversed(range(T)):
        dh[:, t, :] += dnext_h  # in place
        dx[:, t, :], dnext_h, dnext_c, a, b_, c = lstm_step_backward(dh[:, t, :], dnext_c, cache[t])
        dWx += a
        dWh += b_
        db += c
    return dx, dnext_h, dWx, dWh, db


def temporal_affine_forward(x, w, b):
    N, T, D = x.shape
    M = b.shape[0]
    out = x.reshape(N * T, D).dot(w).reshape(N, T, M) + b
    cache = x, w, b, out
    return out, cache


def temporal_affine_backward(dout, cache):
    x, w, b, out = cache
    N, T, D = x.shape
    M = b.shape[0]
    dx = dout.reshape(N * T, M).dot(w.T).reshape(N, T, D)
    dw = dout.reshape(N * T, M).T.dot(x.reshape(N * T, D)).T
    db = dout.sum(axis=(0, 1))
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= N
    dx_flat *= mask_flat[:, None]
    dx = dx_flat.reshape(N, T, V)
    return loss, dx
