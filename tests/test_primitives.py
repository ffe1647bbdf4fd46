"""Numerically stable primitives: no overflow, no NaN, exact where it matters."""

import numpy as np
import pytest

from skscratch.nn.activations import ACTIVATIONS
from skscratch.nn.losses import LOSSES


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
    assert LOSSES["softmax"](Y, np.array([[0.0, 1000.0]])) == pytest.approx([1000.0])
    assert LOSSES["softmax"](Y, np.array([[1000.0, 0.0]])) == [0.0]
    assert LOSSES["logistic"](np.array([[True]]), np.array([[-1000.0]])) == pytest.approx([1000.0])
    assert LOSSES["logistic"](np.array([[True]]), np.array([[1000.0]])) == [0.0]
    # against the textbook formula where that one is accurate
    z, y = np.array([[-2.0, 0.5, 3.0]]), np.array([[True, False, True]])
    p = 1 / (1 + np.exp(-z))
    expected = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum()
    assert LOSSES["logistic"](y, z) == pytest.approx([expected], rel=1e-14)


def test_network_loss_is_the_weighted_mean_plus_penalty():
    from skscratch.nn import network as _network

    rng = np.random.RandomState(0)
    X = rng.normal(size=(6, 4))
    Y = np.eye(3, dtype=bool)[[0, 1, 2, 0, 1, 2]]
    w = rng.uniform(size=6)
    units = [4, 5, 3]
    flat = _network.init_params(units, "tanh", rng)
    coefs, intercepts = _network.unpack(flat, units)
    loss = _network.Network.mlp(units, "tanh").bind(flat).loss_and_gradients(X, Y, w, alpha=0.1)
    Z = np.tanh(X @ coefs[0] + intercepts[0]) @ coefs[1] + intercepts[1]
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    per_sample = -np.log(P[Y])
    penalty = 0.05 * sum((W**2).sum() for W in coefs) / w.sum()
    assert loss == pytest.approx(np.dot(per_sample, w) / w.sum() + penalty, rel=1e-13)
