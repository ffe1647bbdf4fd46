"""The backward pass against central finite differences, in float64."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from skscratch import _network
from skscratch._activations import ACTIVATIONS, DERIVATIVES

HIDDEN_ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu"]

# output type -> (output activation, number of output units)
OUTPUTS = {
    "binary": ("logistic", 1),
    "multiclass": ("softmax", 3),
    "multilabel": ("logistic", 3),
    "regression": ("identity", 1),
    "multioutput-regression": ("identity", 3),
    "poisson": ("exp", 2),
}


def make_problem(output, seed=0, n_samples=9, n_features=5, hidden=(4, 3)):
    rng = np.random.RandomState(seed)
    out_activation, n_outputs = OUTPUTS[output]
    X = rng.normal(size=(n_samples, n_features))
    if output == "multiclass":
        Y = np.eye(n_outputs, dtype=bool)[rng.randint(n_outputs, size=n_samples)]
    elif out_activation == "identity":
        Y = rng.normal(size=(n_samples, n_outputs))
    elif out_activation == "exp":
        Y = rng.poisson(2.0, size=(n_samples, n_outputs)).astype(float)
    else:
        Y = rng.randint(2, size=(n_samples, n_outputs)).astype(bool)
    layer_units = [n_features, *hidden, n_outputs]
    return X, Y, layer_units, out_activation


def loss_at(flat, X, Y, layer_units, activation, out_activation, alpha, sample_weight):
    """J(flat) and dJ/dflat from the backward pass."""
    flat = flat.copy()
    grads = np.empty_like(flat)
    coefs, intercepts = _network.unpack(flat, layer_units)
    coef_grads, intercept_grads = _network.unpack(grads, layer_units)
    loss = _network.loss_and_gradients(
        X, Y, coefs, intercepts, coef_grads, intercept_grads,
        activation, out_activation, alpha, sample_weight,
    )  # fmt: skip
    return loss, grads


def finite_difference_gradient(f, flat, h=1e-6):
    """Central differences: (J(w + h e_i) - J(w - h e_i)) / 2h for every i."""
    grad = np.empty_like(flat)
    for i in range(flat.size):
        step = np.zeros_like(flat)
        step[i] = h
        grad[i] = (f(flat + step) - f(flat - step)) / (2 * h)
    return grad


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize(
    "activation, output, alpha, weighted",
    list(itertools.product(HIDDEN_ACTIVATIONS, OUTPUTS, [0.0, 0.01], [False, True])),
)
def test_backward_matches_finite_differences(activation, output, alpha, weighted):
    X, Y, layer_units, out_activation = make_problem(output)
    rng = np.random.RandomState(1)
    flat = _network.init_params(layer_units, activation, rng)
    # larger weights than Glorot's, so that the hidden units are far from linear
    # (not for the exp output, where they would make exp(z) astronomically large)
    flat *= 1.0 if out_activation == "exp" else 3.0
    sample_weight = rng.uniform(0.1, 3.0, size=X.shape[0]) if weighted else None
    args = (X, Y, layer_units, activation, out_activation, alpha, sample_weight)

    loss, grads = loss_at(flat, *args)
    numeric = finite_difference_gradient(lambda w: loss_at(w, *args)[0], flat)

    assert np.isfinite(loss)
    assert np.abs(grads).max() > 1e-3  # a gradient that is not trivially zero
    assert relative_error(grads, numeric) < 1e-6
    np.testing.assert_allclose(grads, numeric, rtol=1e-5, atol=1e-8)


def test_sparse_input_gives_the_dense_gradient():
    X, Y, layer_units, out_activation = make_problem("multiclass")
    X[X < 0.3] = 0.0
    flat = _network.init_params(layer_units, "tanh", np.random.RandomState(0))
    args = (Y, layer_units, "tanh", out_activation, 0.01, None)
    loss_dense, grads_dense = loss_at(flat, X, *args)
    loss_sparse, grads_sparse = loss_at(flat, sp.csr_matrix(X), *args)
    assert loss_sparse == pytest.approx(loss_dense, rel=1e-12)
    np.testing.assert_allclose(grads_sparse, grads_dense, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_each_derivative_matches_finite_differences(activation):
    """f'(z), written in terms of A = f(z), against (f(z+h) - f(z-h)) / 2h."""
    z = np.linspace(-4, 4, 41) + 0.013  # avoid relu's kink at exactly 0
    h = 1e-6
    f = ACTIVATIONS[activation]
    numeric = (f(z + h) - f(z - h)) / (2 * h)
    analytic = DERIVATIVES[activation](f(z.copy()), np.ones_like(z), z.copy())
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


def test_softmax_jacobian_with_cross_entropy_gives_p_minus_y():
    """d/dz of -log softmax(z)_k is softmax(z) - e_k, the delta backward starts from."""
    rng = np.random.RandomState(0)
    z, k, h = rng.normal(size=5), 2, 1e-6
    loss = lambda z: -np.log(ACTIVATIONS["softmax"](z.copy()[None, :])[0, k])  # noqa: E731
    numeric = np.array([(loss(z + h * e) - loss(z - h * e)) / (2 * h) for e in np.eye(5)])
    expected = ACTIVATIONS["softmax"](z.copy()[None, :])[0] - np.eye(5)[k]
    np.testing.assert_allclose(numeric, expected, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("output", ["multiclass", "multioutput-regression"])
def test_backward_through_fixed_dropout_masks(activation, output):
    """With the masks held fixed, the network is a function of its weights: check its gradient."""
    X, Y, layer_units, out_activation = make_problem(output)
    rng = np.random.RandomState(2)
    flat = _network.init_params(layer_units, activation, rng) * 2.0
    rates = [0.5, 0.0]  # the second hidden layer keeps all its units
    masks = [None if p == 0 else (rng.random_sample((X.shape[0], n)) >= p) / (1 - p)
             for p, n in zip(rates, layer_units[1:-1])]
    assert 0 < (masks[0] == 0).mean() < 1

    def loss_at_masked(w):
        w = w.copy()
        grads = np.empty_like(w)
        loss = _network.loss_and_gradients(
            X, Y, *_network.unpack(w, layer_units), *_network.unpack(grads, layer_units),
            activation, out_activation, 0.01, None, None, masks,
        )  # fmt: skip
        return loss, grads

    loss, grads = loss_at_masked(flat)
    numeric = finite_difference_gradient(lambda w: loss_at_masked(w)[0], flat)
    assert relative_error(grads, numeric) < 1e-6
    # dropping units changes the loss: the masks are really applied
    plain, _ = loss_at(flat, X, Y, layer_units, activation, out_activation, 0.01, None)
    assert loss != pytest.approx(plain, rel=1e-6)
