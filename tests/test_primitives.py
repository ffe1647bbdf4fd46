"""Numerically stable primitives: no overflow, no NaN, exact where it matters."""

import numpy as np
import pytest

from skscratch._activations import ACTIVATIONS
from skscratch._losses import LOSSES


@pytest.fixture(autouse=True)
def fail_on_floating_point_warnings():
    # underflow to 0 is the right answer for exp(-1000); overflow, NaN and 1/0 are not
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        yield


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_subtracts_the_row_max(dtype):
    Z = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0], [1.0, 2.0, 3.0]], dtype=dtype)
    P = ACTIVATIONS["softmax"](Z.copy())
    assert P.dtype == dtype and np.isfinite(P).all()
    np.testing.assert_allclose(P[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(P[1], [1 / 3] * 3, rtol=1e-6)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(P[2], e / e.sum(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logistic_does_not_overflow(dtype):
    z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0], dtype=dtype)
    p = ACTIVATIONS["logistic"](z.copy())
    assert p.dtype == dtype and np.isfinite(p).all()
    assert p[0] == 0.0 and p[-1] == 1.0 and p[2] == 0.5
    if dtype == np.float64:  # tiny probabilities keep full relative precision
        assert p[1] == pytest.approx(np.exp(-40.0) / (1 + np.exp(-40.0)), rel=1e-14)


def test_log_losses_are_finite_and_exact_at_p_0_and_1():
    # logit 1000 for the wrong class: p(true) = 0 in floating point, loss = 1000
    Y = np.array([[True, False]])
    assert LOSSES["softmax"](Y, np.array([[0.0, 1000.0]])) == pytest.approx(1000.0)
    assert LOSSES["softmax"](Y, np.array([[1000.0, 0.0]])) == 0.0
    assert LOSSES["logistic"](np.array([[True]]), np.array([[-1000.0]])) == pytest.approx(1000.0)
    assert LOSSES["logistic"](np.array([[True]]), np.array([[1000.0]])) == 0.0
    # against the textbook formula where that one is accurate
    z, y = np.array([[-2.0, 0.5, 3.0]]), np.array([[True, False, True]])
    p = 1 / (1 + np.exp(-z))
    expected = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum()
    assert LOSSES["logistic"](y, z) == pytest.approx(expected, rel=1e-14)


def test_weighted_losses_are_weighted_means():
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(6, 3))
    Y = np.eye(3, dtype=bool)[[0, 1, 2, 0, 1, 2]]
    w = rng.uniform(size=6)
    per_sample = [LOSSES["softmax"](Y[i : i + 1], Z[i : i + 1]) for i in range(6)]
    assert LOSSES["softmax"](Y, Z, w) == pytest.approx(np.dot(per_sample, w) / w.sum(), rel=1e-14)
