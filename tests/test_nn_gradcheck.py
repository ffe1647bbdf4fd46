"""skscratch.nn.check_network_gradients: a network's backward pass (a user's layer's included) against
central finite differences; its refusals; and a Layer the network cannot call, refused when it is defined.

The estimators' own check (skscratch.check_gradients) is tests/test_check_gradients.py; both use the
arithmetic of skscratch.nn.gradcheck, which the last test here holds to the same numbers.
"""

import inspect
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris

import skscratch
from skscratch import nn
from skscratch._estimator import gradcheck as estimator_gradcheck
from skscratch.nn import gradcheck

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
from custom_layer_example import Residual  # noqa: E402

# the largest relative error a right gradient may show: see tests/test_check_gradients.py
RIGHT = 1e-5
OUTPUTS = {"softmax": 3, "logistic": 2, "identity": 2, "exp": 1}


def data(output, n=15, n_features=4, seed=0):
    """(X, Y) with targets as the loss of ``output`` takes them."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_features))
    n_outputs = OUTPUTS[output]
    if output == "softmax":
        return X, np.eye(n_outputs)[rng.randint(n_outputs, size=n)]
    if output == "logistic":
        return X, rng.randint(2, size=(n, n_outputs)).astype(float)
    if output == "exp":
        return X, rng.poisson(2.0, size=(n, n_outputs)).astype(float)
    return X, rng.normal(size=(n, n_outputs))


class Scale(nn.Layer):
    """``A * s``, one learned factor per feature (unpenalised): the example of nn.Layer's docstring."""

    def __init__(self, n):
        self.n = n

    def parameters(self):
        return [("s", (self.n,), False)]

    def initialize(self, random_state):
        self.s[...] = random_state.uniform(0.5, 1.5, self.n)

    def forward(self, A):
        self.A = A
        return A * self.s

    def backward(self, delta):
        self.ds[...] = (delta * self.A).sum(axis=0)
        return delta * self.s


class ForgotTheSkip(Residual):
    """The planted mistake of docs/custom_layer.rst: dJ/dA without the skip path."""

    def backward(self, delta):
        dZ = delta * (1 - self.H**2)
        self.dW[...] = self.A.T @ dZ
        self.db[...] = dZ.sum(axis=0)
        return dZ @ self.W.T


class WrongSlope(Residual):
    """tanh' written 1 - H instead of 1 - H^2: the block's own gradients are wrong."""

    def backward(self, delta):
        dZ = delta * (1 - self.H)
        self.dW[...] = self.A.T @ dZ
        self.db[...] = dZ.sum(axis=0)
        return delta + dZ @ self.W.T


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ["tanh", "logistic", "relu", "gelu"])
def test_dense_and_activation_networks_pass(activation, output):
    X, Y = data(output)
    sample_weight = np.random.RandomState(1).uniform(0.2, 3, size=len(X))
    net = nn.Network.mlp([4, 5, 4, OUTPUTS[output]], activation, output).init(random_state=0)
    result = nn.check_network_gradients(net, X, Y, sample_weight, alpha=0.1)
    assert result.max_relative_error < RIGHT, result
    assert result.n_checked == net.n_params == (4 + 1) * 5 + (5 + 1) * 4 + (4 + 1) * OUTPUTS[output]
    assert 0 < result.loss < np.inf and float(result) == result.max_relative_error


def test_a_dropout_network_passes_with_its_masks_held_fixed():
    X, Y = data("softmax", n=30)
    net = nn.Network.mlp([4, 8, 6, 3], "tanh", dropout=[0.5, 0.3]).init(random_state=0)
    state = [layer.random_state for layer in net.layers if isinstance(layer, nn.Dropout)]
    first = nn.check_network_gradients(net, X, Y, alpha=0.01, random_state=3)
    assert first.max_relative_error < RIGHT
    # the masks come from the check's random_state, not from the layers' own draws
    again = nn.check_network_gradients(net, X, Y, alpha=0.01, random_state=3)
    assert (again.loss, again.max_relative_error) == (first.loss, first.max_relative_error)
    other = nn.check_network_gradients(net, X, Y, alpha=0.01, random_state=4)
    assert other.loss != first.loss  # other masks drop other units
    assert [layer._rng for layer in net.layers if isinstance(layer, nn.Dropout)] == [None, None]
    assert [layer.random_state for layer in net.layers if isinstance(layer, nn.Dropout)] == state
    without = nn.check_network_gradients(nn.Network.mlp([4, 8, 6, 3], "tanh").init(random_state=0), X, Y,
                                         alpha=0.01)
    assert without.loss != first.loss  # the check's passes do drop units


@pytest.mark.parametrize("layers", [
    lambda: [nn.Dense(4, 6), nn.Tanh(), Residual(6), nn.Dense(6, 3)],
    lambda: [nn.Dense(4, 6), nn.Tanh(), Residual(6), nn.Dropout(0.2), Residual(6), nn.Dense(6, 3)],
    lambda: [Scale(4), nn.Dense(4, 5), nn.ELU(), Scale(5), nn.Dense(5, 3)],
], ids=["residual", "residuals and dropout", "scale first"])
def test_a_users_layer_passes(layers):
    X, Y = data("softmax", n=20)
    net = nn.Network(layers()).init(random_state=0)
    result = nn.check_network_gradients(net, X, Y, np.linspace(0.5, 2, 20), alpha=0.05)
    assert result.max_relative_error < RIGHT, result


@pytest.mark.parametrize("layers, blamed", [
    (lambda: [nn.Dense(4, 6), nn.Tanh(), ForgotTheSkip(6), nn.Dense(6, 3)], 0),
    (lambda: [WrongSlope(4), nn.Dense(4, 3)], 0),
], ids=["skip path forgotten", "wrong slope"])
def test_a_planted_wrong_backward_is_caught_and_located(layers, blamed):
    X, Y = data("softmax", n=20)
    net = nn.Network(layers()).init(random_state=0)
    result = nn.check_network_gradients(net, X, Y)
    assert result.max_relative_error > 1e-2
    # the skip path forgotten: the block's gradients are right, those below it wrong; a wrong slope in the
    # first layer: its own (nothing below it)
    assert result.layer == blamed and result.layer_repr == repr(net.layers[blamed])
    assert abs(result.analytic - result.numeric) > 1e-4
    assert result.where.startswith(f"layers[{blamed}].")
    assert f"at {result.where} ({result.layer_repr})" in repr(result)


def test_a_gradient_not_written_into_the_view_is_caught():
    class Rebound(Residual):
        def backward(self, delta):
            dZ = delta * (1 - self.H**2)
            self.dW = self.A.T @ dZ  # a new array: the network's gradient vector never sees it
            self.db[...] = dZ.sum(axis=0)
            return delta + dZ @ self.W.T

    X, Y = data("softmax", n=20)
    net = nn.Network([nn.Dense(4, 6), nn.Tanh(), Rebound(6), nn.Dense(6, 3)]).init(random_state=0)
    net.grads[...] = 0.0
    result = nn.check_network_gradients(net, X, Y)
    assert result.max_relative_error > 1e-2 and result.layer == 2 and result.name == "W"


def test_the_network_is_left_as_it_was():
    X, Y = data("softmax")
    net = nn.Network([nn.Dense(4, 5), nn.Tanh(), nn.Dropout(0.3), Residual(5), nn.Dense(5, 3)])
    net.init(random_state=0, dtype=np.float32)
    params, grads = net.params, net.grads
    before, grads[...] = params.copy(), 7.0
    result = nn.check_network_gradients(net, X, Y)
    assert result.max_relative_error < RIGHT  # in float64, though the network is float32
    assert net.params is params and net.grads is grads and params.dtype == np.float32
    assert np.array_equal(params, before) and (grads == 7.0).all()
    assert np.shares_memory(net.layers[3].W, params) and np.shares_memory(net.layers[3].dW, grads)
    assert not any(layer.training for layer in net.layers) and net.layers[2].mask is None


def test_a_random_subset_and_sparse_X():
    X, Y = data("softmax", n=20)
    net = nn.Network.mlp([4, 30, 20, 3], "tanh").init(random_state=0)
    result = nn.check_network_gradients(net, X, Y, max_params=25, random_state=3)
    assert result.n_checked == 25 and result.max_relative_error < RIGHT
    assert nn.check_network_gradients(net, X, Y, max_params=10**6).n_checked == net.n_params
    X[X < 0] = 0.0
    dense = nn.check_network_gradients(net, X, Y, max_params=25)
    sparse = nn.check_network_gradients(net, sp.csr_matrix(X), Y, max_params=25)
    assert sparse.max_relative_error < RIGHT
    assert sparse.loss == pytest.approx(dense.loss, rel=1e-12)


X4, Y3 = data("softmax")


def fresh():
    return nn.Network.mlp([4, 5, 3], "tanh").init(random_state=0)


@pytest.mark.parametrize("arguments, error, says", [
    ({"network": "mlp"}, TypeError, "network must be a skscratch.nn.Network, got str"),
    ({"network": nn.Network([nn.Dense(4, 3)])}, ValueError, "has no parameters yet: call network.init"),
    ({"network": nn.Network([nn.Tanh()]).init()}, ValueError, "has no parameters to check"),
    ({"X": X4[:, 0]}, ValueError, "X must be 2-D, (n_samples, n_features)"),
    ({"Y": Y3.argmax(axis=1)}, ValueError, "Y must be 2-D, (n_samples, n_outputs): one-hot rows"),
    ({"Y": Y3[:5]}, ValueError, "X has 15 samples but Y has 5"),
    ({"Y": Y3[:, :2]}, ValueError, "Y has 2 columns, but the network has 3 outputs"),
    ({"X": np.where(X4 > 1, np.nan, X4)}, ValueError, "X contains NaN or infinity"),
    ({"Y": np.full_like(Y3, np.inf)}, ValueError, "Y contains NaN or infinity"),
    ({"sample_weight": np.ones(3)}, ValueError, "sample_weight must have shape (15,)"),
    ({"sample_weight": -np.ones(15)}, ValueError, "sample_weight must be finite and 0 or more"),
    ({"alpha": -1.0}, ValueError, "alpha must be a finite number of 0 or more, got -1.0"),
    ({"alpha": "0.1"}, TypeError, "alpha must be a real number, got '0.1'"),
    ({"eps": 0}, ValueError, "eps must be a finite number above 0, got 0"),
    ({"eps": np.nan}, ValueError, "eps must be a finite number above 0, got nan"),
    ({"eps": True}, TypeError, "eps must be a real number, got True"),
    ({"max_params": 0}, ValueError, "max_params must be a whole number of 1 or more, or None; got 0"),
    ({"max_params": 2.5}, ValueError, "max_params must be a whole number"),
    ({"random_state": -1}, ValueError, "random_state must be an int in [0, 2**32 - 1]"),
    ({"eps": 1e-300}, ValueError, "eps=1e-300 is too small a step for layers[0].W[0, 0] (Dense(4, 5))"),
    ({"network": nn.Network.mlp([4, 5, 3], "identity", "exp").init(random_state=0), "eps": 1e300}, ValueError,
     "at w - eps) for layers[0].W[0, 0] (Dense(4, 5)): eps=1e+300 is too large a step for these weights"),
])  # fmt: skip
def test_bad_arguments_are_refused_with_what_to_do(arguments, error, says):
    arguments = {"network": fresh(), "X": X4, "Y": Y3, **arguments}
    network = arguments.pop("network")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warning on the way
        with pytest.raises(error) as raised:
            nn.check_network_gradients(network, **arguments)
    assert says in str(raised.value)


def test_a_loss_that_is_not_finite_is_refused():
    net = nn.Network.mlp([4, 5, 3], "identity", "exp").init(random_state=0)
    net.params[...] = 1e200  # exp of the logits overflows
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="the loss or its gradient is not finite"):
        nn.check_network_gradients(net, X4, Y3)


def test_the_estimators_check_is_the_same_arithmetic():
    """skscratch.check_gradients on a model, and the nn check on that model's network, give the same numbers."""
    assert estimator_gradcheck.finite_difference_check is gradcheck.finite_difference_check
    X, y = load_iris(return_X_y=True)
    X, y = X[::5], y[::5]
    clf = skscratch.MLPScratchClassifier(hidden_layer_sizes=(5,), activation="tanh", alpha=0.1, solver="lbfgs",
                                         max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 3 iterations: not converged
        clf.fit(X, y)
    by_estimator = skscratch.check_gradients(clf, X, y)
    by_network = nn.check_network_gradients(clf._network(), X, np.eye(3)[y], alpha=0.1)
    assert by_network.loss == by_estimator.loss
    assert by_network.max_relative_error == by_estimator.max_relative_error
    assert (by_network.analytic, by_network.numeric) == (by_estimator.analytic, by_estimator.numeric)
    assert by_network.layer == 2 * (by_estimator.layer - 1)  # Dense, Tanh, Dense: the l-th Dense layer
    assert by_network.name == {"weight": "W", "bias": "b"}[by_estimator.kind]
    assert by_network.index == by_estimator.index


# ----------------------------------------------------------------------
# a Layer the network cannot call is refused when the class is defined

def define(**methods):
    return type("Mine", (nn.Layer,), methods)


def forward_of_nothing(self):
    return 0


def backward_with_A(self, delta, A):
    return delta


def parameters_of_n(self, n):
    return []


def initialize_without_state(self):
    pass


def forward_without_self(A):
    return A


@pytest.mark.parametrize("name, method, says", [
    ("forward", forward_of_nothing, "Mine.forward(self) takes no arguments, but the network calls forward(A). "
                                    "Write it as\n\n    def forward(self, A):\n"),
    ("backward", backward_with_A, "Mine.backward(self, delta, A) takes 2 arguments, delta, A, but the network calls "
                                  "backward(delta). Write it as\n\n    def backward(self, delta):"),
    ("parameters", parameters_of_n, "Mine.parameters(self, n) takes 1 argument, n, but the network calls "
                                    "parameters(). Write it as\n\n    def parameters(self):\n"),
    ("initialize", initialize_without_state, "Mine.initialize(self) takes no arguments, but the network calls "
                                             "initialize(random_state). Write it as\n\n"
                                             "    def initialize(self, random_state):"),
    ("forward", forward_without_self, "Mine.forward(A) is a method, whose first parameter, A, receives the "
                                      "instance; it then takes no arguments, but the network calls forward(A)."),
    ("backward", None, "Mine.backward is None, not a method: the network calls backward(delta)."),
    ("forward", staticmethod(lambda: 0), "Mine.forward = lambda: ... takes no arguments (a staticmethod is given "
                                         "no self), but the network calls forward(A)."),
])  # fmt: skip
def test_a_method_the_network_cannot_call_is_refused_with_the_way_to_write_it(name, method, says):
    with pytest.raises(TypeError) as raised:
        define(**{name: method})
    assert str(raised.value).startswith(says)


def test_whatever_can_be_called_as_the_network_calls_it_is_accepted():
    def forward(self, A, scale=1.0):
        return A * scale

    def backward(self, *args):
        return args[0]

    Mine = define(forward=forward, backward=backward, parameters=lambda self: [],
                  initialize=staticmethod(lambda random_state: None))
    net = nn.Network([nn.Dense(4, 3), Mine()]).init(random_state=0)
    assert nn.check_network_gradients(net, X4, Y3).max_relative_error < RIGHT
    # the built-in layers are Layers too, and a subclass of a checked class inherits its methods
    assert issubclass(type(Residual(3)), nn.Layer) and issubclass(nn.ReLU, nn.Layer)
    with pytest.raises(TypeError, match=r"Broken\.backward\(self\) takes no arguments"):
        class Broken(Residual):
            def backward(self):
                return None


def test_every_parameter_is_documented_in_signature_order():
    from numpydoc.docscrape import NumpyDocString

    doc = NumpyDocString(nn.check_network_gradients.__doc__)
    documented = [name.strip() for item in doc["Parameters"] for name in item.name.split(",")]
    assert documented == list(inspect.signature(nn.check_network_gradients).parameters)
    assert doc["Examples"] and doc["Returns"] and doc["Raises"]
    assert {"check_network_gradients", "NetworkGradientCheck"} <= set(nn.__all__)
