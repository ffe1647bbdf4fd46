"""The user's layer of docs/custom_layer.rst (docs/custom_layer_example.py) trains in the nn loop, and a
network with it pickles and copies: the copy's layers are views into the copy's own parameter vector.

On scikit-learn's 8x8 digits (MNIST-like): MNIST itself is not available offline.
"""

import copy
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from skscratch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
from custom_layer_example import Residual, train  # noqa: E402


@pytest.fixture(scope="module")
def split(digits01):
    X, y = digits01
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def residual_network(n_hidden=32, dropout=0.0):
    layers = [nn.Dense(64, n_hidden), nn.Tanh(), Residual(n_hidden)]
    layers += [nn.Dropout(dropout, random_state=0)] if dropout else []
    return nn.Network(layers + [Residual(n_hidden), nn.Dense(n_hidden, 10)]).init(random_state=0)


def accuracy(network, X, y):
    return float((network.predict(X).argmax(axis=1) == y).mean())


def test_the_residual_block_trains_on_digits(split):
    X_train, X_test, y_train, y_test = split
    net = residual_network()
    assert accuracy(net, X_test, y_test) < 0.3  # untrained
    before = net.loss(X_train, np.eye(10)[y_train])
    train(net, X_train, np.eye(10)[y_train], epochs=15)
    assert net.loss(X_train, np.eye(10)[y_train]) < 0.1 * before
    assert accuracy(net, X_test, y_test) > 0.95


def test_it_trains_with_dropout_and_passes_the_check_there(split):
    X_train, X_test, y_train, y_test = split
    net = residual_network(dropout=0.2)
    train(net, X_train, np.eye(10)[y_train], epochs=15)
    assert accuracy(net, X_test, y_test) > 0.93  # predict passes every unit
    # at trained weights too, with the L2 term and sample weights
    result = nn.check_network_gradients(net, X_test[:40], np.eye(10)[y_test[:40]], np.linspace(0.5, 2, 40),
                                        alpha=1e-3, max_params=300)
    assert result.max_relative_error < 1e-5, result


@pytest.mark.parametrize("duplicate", [lambda net: pickle.loads(pickle.dumps(net)), copy.deepcopy],
                         ids=["pickle", "deepcopy"])
def test_a_copy_predicts_the_same_and_trains_on_as_the_original(split, duplicate):
    X_train, X_test, y_train, y_test = split
    Y_train = np.eye(10)[y_train]
    net = residual_network(dropout=0.1)
    train(net, X_train, Y_train, epochs=2)
    twin = duplicate(net)
    assert repr(twin) == repr(net)
    assert np.array_equal(twin.predict(X_test), net.predict(X_test))
    # the copy's layers are views into its own vectors, not the original's
    for layer in (twin.layers[0], twin.layers[2], twin.layers[5]):
        assert np.shares_memory(layer.W, twin.params) and np.shares_memory(layer.dW, twin.grads)
        assert not np.shares_memory(layer.W, net.params)
    assert twin.layers[0].input_gradient is False and twin.layers[2].input_gradient is True
    # so training the copy moves the copy alone, and both train on to the same weights
    train(twin, X_train, Y_train, epochs=1, seed=1)
    assert not np.array_equal(twin.params, net.params)
    train(net, X_train, Y_train, epochs=1, seed=1)
    assert np.array_equal(twin.params, net.params)
    assert np.array_equal(twin.predict(X_test), net.predict(X_test))


def test_a_pickle_holds_the_parameters_once_and_no_module():
    net = residual_network()
    state = pickle.loads(pickle.dumps(net)).layers[2].__dict__
    assert "W" not in net.layers[2].__getstate__() and "xp" not in net.layers[2].__getstate__()
    assert net.__getstate__().get("xp") is None and net.__getstate__().get("penalised") is None
    assert state["xp"] is np  # set again by the network, as bind sets it
    unbound = pickle.loads(pickle.dumps(nn.Network([Residual(4), nn.Dense(4, 2)])))  # never initialised
    assert unbound.params is None and not hasattr(unbound.layers[0], "W")
