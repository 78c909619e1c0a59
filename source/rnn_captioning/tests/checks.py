"""Assertions of the self-check tests: each message gives the relative error."""

import numpy as np

from captioning.gradient_check import norm_rel_error, rel_error

VALUE_TOL = 1e-6
GRAD_TOL = 1e-6


def assert_values(name, actual, expected, tol=VALUE_TOL):
    """Check a forward output against published values (entrywise relative error)."""
    expected = np.asarray(expected)
    assert isinstance(actual, np.ndarray), (
        f"{name}: expected a numpy array, got {type(actual).__name__}"
    )
    assert actual.shape == expected.shape, (
        f"{name}: shape {actual.shape}, expected {expected.shape}"
    )
    err = rel_error(actual, expected)
    assert err <= tol, f"{name}: relative error {err:.2e} is above {tol:.0e}"


def assert_gradient(name, analytic, numeric, finding=None, tol=GRAD_TOL):
    """Check an analytic gradient against a numeric one (relative error of the whole array);
    `finding` (a diagnose.Finding) says where the bug is when it fails."""
    where = f"\nDIAGNOSIS  {finding.text()}" if finding is not None else ""
    assert analytic is not None, f"{name}: the backward pass returned None{where}"
    analytic = np.asarray(analytic)
    assert analytic.shape == numeric.shape, (
        f"{name}: shape {analytic.shape}, expected {numeric.shape}{where}"
    )
    err = norm_rel_error(analytic, numeric)
    assert err <= tol, (
        f"{name}: relative error {err:.2e} against the numeric gradient is above {tol:.0e}" + where
    )
