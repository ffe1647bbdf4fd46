"""The backward pass against central finite differences, in float64: one matrix of every case.

The matrix builds the network from ``skscratch.nn`` directly. ``skscratch.check_gradients``
runs the same comparison through an estimator; tests/test_check_gradients.py tests that
function itself (its arguments, its result, its refusals, a planted mistake), not the cases.
"""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from skscratch.nn import network as _network
from skscratch.nn.activations import ACTIVATIONS, DERIVATIVES

HIDDEN_ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu"]

# output type -> (output activation, which picks the loss; number of output units)
OUTPUTS = {
    "binary": ("logistic", 1),
    "multiclass": ("softmax", 3),
    "multilabel": ("logistic", 3),
    "regression": ("identity", 1),
    "multioutput-regression": ("identity", 3),
    "poisson": ("exp", 2),
}

# (activation, output, alpha, weighted, dropout), each combination once: every hidden activation x every
# output and its loss x L2 or none x sample weights or none, without dropout (168); and with fixed dropout
# masks, for one classification and one regression output (14)
MATRIX = [
    *itertools.product(HIDDEN_ACTIVATIONS, OUTPUTS, [0.0, 0.01], [False, True], [False]),
    *itertools.product(HIDDEN_ACTIVATIONS, ["multiclass", "multioutput-regression"], [0.01], [False], [True]),
]
DROPOUT_RATES = [0.5, 0.0]  # the second hidden layer keeps all its units, and has no Dropout layer


def case_id(case):
    activation, output, alpha, weighted, dropout = case
    return "-".join([activation, output, f"alpha{alpha:g}", "weighted" if weighted else "unweighted",
                     "dropout" if dropout else "no_dropout"])


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


def loss_function(X, Y, layer_units, activation, out_activation, alpha=0.0, sample_weight=None, rates=None,
                  masks=None):
    """``J, grads``: the loss J(flat), and the vector its backward pass writes dJ/dflat into at each call.

    One network, bound once to its own vector (cheaper than one per call: the finite differences call J
    twice per parameter).
    """
    network = _network.Network.mlp(layer_units, activation, out_activation, dropout=rates)
    network.bind(np.empty(network.n_params))

    def J(flat):
        network.params[...] = flat
        return network.loss_and_gradients(X, Y, sample_weight, alpha, dropout_masks=masks)

    return J, network.grads


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


@pytest.mark.parametrize("activation, output, alpha, weighted, dropout", MATRIX, ids=map(case_id, MATRIX))
def test_backward_matches_finite_differences(activation, output, alpha, weighted, dropout):
    X, Y, layer_units, out_activation = make_problem(output)
    rng = np.random.RandomState(1)
    flat = _network.init_params(layer_units, activation, rng)
    # larger weights than Glorot's, so that the hidden units are far from linear
    # (not for the exp output, where they would make exp(z) astronomically large)
    flat *= 1.0 if out_activation == "exp" else 3.0
    sample_weight = rng.uniform(0.1, 3.0, size=X.shape[0]) if weighted else None
    rates = masks = None
    if dropout:  # masks held fixed: the network is then a smooth function of its weights
        rates, p = DROPOUT_RATES, DROPOUT_RATES[0]
        masks = [(np.random.RandomState(2).random_sample((X.shape[0], layer_units[1])) >= p) / (1 - p)]
        assert 0 < (masks[0] == 0).mean() < 1
    problem = (X, Y, layer_units, activation, out_activation, alpha, sample_weight)
    J, backward = loss_function(*problem, rates, masks)

    loss = J(flat)
    grads = backward.copy()
    numeric = finite_difference_gradient(J, flat)

    assert np.isfinite(loss)
    assert np.abs(grads).max() > 1e-3  # a gradient that is not trivially zero
    assert relative_error(grads, numeric) < 1e-6
    np.testing.assert_allclose(grads, numeric, rtol=1e-5, atol=1e-8)
    if dropout:  # dropping units changes the loss: the masks are really applied
        assert loss != pytest.approx(loss_function(*problem)[0](flat), rel=1e-6)


def test_sparse_input_gives_the_dense_gradient():
    X, Y, layer_units, out_activation = make_problem("multiclass")
    X[X < 0.3] = 0.0
    flat = _network.init_params(layer_units, "tanh", np.random.RandomState(0))
    J_dense, grads_dense = loss_function(X, Y, layer_units, "tanh", out_activation, 0.01)
    J_sparse, grads_sparse = loss_function(sp.csr_matrix(X), Y, layer_units, "tanh", out_activation, 0.01)
    assert J_sparse(flat) == pytest.approx(J_dense(flat), rel=1e-12)
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
