"""Fully connected (affine) layer, provided in full."""


def affine_forward(x, w, b):
    """Forward pass of an affine layer.

    Each of the N inputs is flattened to a vector of dimension D.

    Inputs:
    - x: input data, of shape (N, d_1, ..., d_k) with D = d_1 * ... * d_k
    - w: weights, of shape (D, M)
    - b: biases, of shape (M,)

    Returns a tuple of:
    - out: output, of shape (N, M)
    - cache: (x, w, b)
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Backward pass of an affine layer.

    Inputs:
    - dout: upstream gradient, of shape (N, M)
    - cache: the cache returned by affine_forward

    Returns a tuple of:
    - dx: gradient of x, of shape (N, d_1, ..., d_k)
    - dw: gradient of w, of shape (D, M)
    - db: gradient of b, of shape (M,)
    """
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
