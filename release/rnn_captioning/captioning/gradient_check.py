"""Numeric gradients by centred differences, provided in full."""

import numpy as np


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numeric gradient of a scalar function f at x.

    Inputs:
    - f: function of one argument returning a scalar
    - x: numpy array, the point at which to evaluate the gradient; it is
      modified in place during the evaluation and restored afterwards
    - verbose: print every entry as it is computed
    - h: the step of the centred difference

    Returns:
    - grad: numpy array of the shape of x
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old_value = x[ix]
        x[ix] = old_value + h
        fxph = f(x)
        x[ix] = old_value - h
        fxmh = f(x)
        x[ix] = old_value
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numeric gradient of sum(f(x) * df) at x, for an array-valued f.

    Inputs:
    - f: function of one argument returning a numpy array
    - x: numpy array, modified in place during the evaluation and restored
    - df: upstream gradient, of the shape of f(x)
    - h: the step of the centred difference

    Returns:
    - grad: numpy array of the shape of x
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old_value = x[ix]
        x[ix] = old_value + h
        pos = f(x).copy()
        x[ix] = old_value - h
        neg = f(x).copy()
        x[ix] = old_value
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def rel_error(x, y):
    """Largest relative error between two arrays: max |x - y| / (|x| + |y|)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def norm_rel_error(x, y):
    """Relative error of whole arrays: ||x - y|| / (||x|| + ||y||).

    Unlike rel_error it does not blow up on entries that are almost zero, so
    it is the one to use for numeric gradients.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return np.linalg.norm(x - y) / max(1e-12, np.linalg.norm(x) + np.linalg.norm(y))


def check_close(name, actual, expected, tol=1e-6, error=rel_error):
    """Print the relative error of one check and whether it passes.

    Inputs:
    - name: what is checked, for example "rnn_step_forward next_h"
    - actual: your result
    - expected: the correct result
    - tol: the largest relative error that passes
    - error: rel_error (entrywise, default) or norm_rel_error

    Returns:
    - True if the check passes
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        print(f"FAIL  {name}: shape {actual.shape}, expected {expected.shape}")
        return False
    err = error(actual, expected)
    ok = bool(np.isfinite(err) and err <= tol)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: relative error {err:.2e} (must be <= {tol:.0e})")
    return ok
