"""skscratch.nn on its own: the network as layers, its views into one flat vector, a learner's loop."""

import copy
import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris

from skscratch import MLPScratchClassifier, nn
from skscratch.nn.network import init_params, unpack


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), np.eye(3)[y], y


def test_the_layers_are_views_in_scikit_learns_order():
    """Every W first, then every b: the layout ``unpack`` reads and L-BFGS packs, the estimator's coefs_."""
    units = [5, 7, 4, 3]
    net = nn.Network.mlp(units, "relu").init(random_state=0)
    coefs, intercepts = unpack(net.params, units)
    dense = [layer for layer in net.layers if isinstance(layer, nn.Dense)]
    for layer, W, b in zip(dense, coefs, intercepts, strict=True):
        assert np.shares_memory(layer.W, W) and np.array_equal(layer.W, W)
        assert np.shares_memory(layer.b, b) and np.array_equal(layer.b, b)
    assert net.n_penalised == sum(W.size for W in coefs)
    np.testing.assert_array_equal(net.params, init_params(units, "relu", np.random.RandomState(0)))


def test_the_estimator_draws_the_networks_first_weights(iris):
    X, _, y = iris
    first = nn.Network.mlp([4, 6, 3], "relu").init(random_state=3)
    # one epoch with a step far below the weights' rounding: they stay as fit drew them
    fresh = MLPScratchClassifier((6,), max_iter=1, random_state=3, learning_rate_init=1e-300)
    with pytest.warns(Warning):
        fresh.fit(X, y)
    np.testing.assert_array_equal(np.concatenate([a.ravel() for a in [*fresh.coefs_, *fresh.intercepts_]]),
                                  first.params)


def test_a_learners_loop_trains(iris):
    X, Y, y = iris
    net = nn.Network([nn.Dense(4, 16), nn.Tanh(), nn.Dense(16, 3)], output="softmax").init(random_state=0)
    adam = nn.Adam(net.params, learning_rate_init=0.02)
    losses = []
    for _ in range(150):
        losses.append(net.loss_and_gradients(X, Y))
        adam.update_params(net.params, net.grads)
    assert losses[-1] < 0.1 < losses[0]
    assert (net.predict(X).argmax(axis=1) == y).mean() > 0.95


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_copied_network_trains_its_own_views(iris, how):
    """A pickled view is a copy: loading binds the layers again, or the optimizer's steps would miss them."""
    X, Y, _ = iris
    net = nn.Network.mlp([4, 5, 3], "relu").init(random_state=0)
    copied = pickle.loads(pickle.dumps(net)) if how == "pickle" else copy.deepcopy(net)
    for layer in copied.layers:
        if isinstance(layer, nn.Dense):
            assert np.shares_memory(layer.W, copied.params) and np.shares_memory(layer.dW, copied.grads)
    before = copied.forward(X).copy()
    copied.loss_and_gradients(X, Y)
    nn.SGD(copied.params, learning_rate_init=0.5, momentum=0.0).update_params(copied.params, copied.grads)
    assert not np.array_equal(copied.forward(X), before)  # the step reached the layers
    np.testing.assert_array_equal(net.forward(X), before)  # and not the original


def test_dropout_drops_only_in_training(iris):
    X, Y, _ = iris
    net = nn.Network([nn.Dense(4, 32), nn.ReLU(), nn.Dropout(0.5, random_state=0), nn.Dense(32, 3)])
    net.init(random_state=0)
    assert np.array_equal(net.predict(X), net.predict(X))  # prediction: no mask
    first, second = net.loss_and_gradients(X, Y), net.loss_and_gradients(X, Y)
    assert first != second  # each training pass draws its own mask
    mask = np.ones((len(X), 32))
    given = net.loss_and_gradients(X, Y, dropout_masks=[mask])  # a mask of ones: no unit dropped
    assert given == pytest.approx(net.loss(X, Y), rel=1e-12)


def test_a_network_refuses_what_it_cannot_run():
    with pytest.raises(TypeError, match="list of skscratch.nn.Layer"):
        nn.Network([nn.Dense(2, 2), np.tanh])
    with pytest.raises(ValueError, match="output must be one of"):
        nn.Network([nn.Dense(2, 2)], output="sigmoid")
    net = nn.Network.mlp([2, 3, 1])
    with pytest.raises(ValueError, match="13 parameters; the vector has 12"):
        net.bind(np.zeros(12))


def test_a_layer_without_a_backward_says_so():
    class Forward(nn.Layer):
        def forward(self, A):
            return A

    net = nn.Network([nn.Dense(3, 3), Forward(), nn.Dense(3, 2)]).init(random_state=0)
    X, Y = load_digits(return_X_y=True)[0][:4, :3], np.eye(2)[[0, 1, 0, 1]]
    with pytest.raises(NotImplementedError, match="Forward must define backward"):
        net.loss_and_gradients(X, Y)


def test_a_pickled_network_holds_no_rows_of_the_last_batch(iris):
    """The layers' caches (a Dense layer's input, a mask) are one batch's: they never travel in a file."""
    X, Y, _ = iris
    net = nn.Network.mlp([4, 8, 3], "gelu", dropout=[0.3]).init(random_state=0)
    net.loss_and_gradients(X, Y)
    data = pickle.dumps(net)
    assert X.tobytes()[:64] not in data and X[:, :1].tobytes() not in data
    loaded = pickle.loads(data)
    assert loaded.layers[0].A is None and loaded.layers[2].mask is None
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
