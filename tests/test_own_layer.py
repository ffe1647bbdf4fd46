"""A layer of the user's, inside the estimators: ``hidden_layer_sizes=(32, Residual(32))``.

The layer is the tutorial's residual block (docs/custom_layer_example.py). It
trains, passes check_gradients (and a planted mistake fails it), clones,
pickles and trains on, and the safe format and ONNX refuse it in words; a
network without one is bit for bit as before (tests/test_pinned_results.py).
"""

import copy
import io
import pickle
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split

import skscratch
from skscratch import MLPScratchClassifier, MLPScratchRegressor, check_gradients, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
from custom_layer_example import Residual  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, stratify=y, random_state=0)


def quiet_fit(model, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y, **kw)


def test_an_estimator_trains_with_a_layer_of_ones_own(digits):
    X_train, X_test, y_train, y_test = digits
    clf = quiet_fit(MLPScratchClassifier((32, Residual(32)), max_iter=60, random_state=0), X_train, y_train)
    assert clf.score(X_test, y_test) > 0.95
    assert [W.shape for W in clf.coefs_] == [(64, 32), (32, 10)]  # the Dense layers, as scikit-learn's
    network = clf._network()
    assert [type(layer).__name__ for layer in network.layers] == ["Dense", "ReLU", "Residual", "Dense"]
    residual = network.layers[2]
    assert np.shares_memory(residual.W, network.params) and np.abs(residual.W).sum() > 0
    assert network.n_params == network.n_penalised + 32 + 10 + 32  # the b's after every W
    assert clf.hidden_layer_sizes[1].__dict__ == {"n": 32}  # the parameter is left as given


@pytest.mark.parametrize("solver", ["adam", "sgd", "adamw", "lbfgs"])
def test_every_solver_trains_it(digits, solver):
    X_train, X_test, y_train, y_test = digits
    clf = quiet_fit(MLPScratchClassifier((16, Residual(16)), solver=solver, max_iter=60, learning_rate_init=0.01,
                                         random_state=0),
                    X_train[:400], y_train[:400])
    assert clf.score(X_test, y_test) > 0.8


def test_check_gradients_passes_it_and_finds_a_planted_mistake(digits):
    X, y = digits[0][:40], digits[2][:40]
    good = check_gradients(MLPScratchClassifier((6, Residual(6), 5), alpha=0.1, random_state=0), X, y)
    assert good.max_relative_error < 1e-5

    class ForgetsTheSkip(Residual):
        def backward(self, delta):
            dZ = delta * (1 - self.H**2)
            self.dW[...] = self.A.T @ dZ
            self.db[...] = dZ.sum(axis=0)
            return dZ @ self.W.T  # the mistake: dJ/dA without the skip path's delta

    bad = check_gradients(MLPScratchClassifier((6, ForgetsTheSkip(6), 5), alpha=0.1, random_state=0), X, y)
    assert bad.max_relative_error > 1e-2
    assert (bad.layer, bad.kind) == (1, "weight")  # found in the Dense layer below the block

    class WrongWeights(Residual):
        def backward(self, delta):
            out = super().backward(delta)
            self.dW[...] *= 2  # the mistake: in the layer's own parameters
            return out

    wrong = check_gradients(MLPScratchClassifier((6, WrongWeights(6)), random_state=0), X, y)
    assert wrong.kind == "W" and wrong.layer == 2  # the block's W, the network's third layer


def test_it_clones_and_searches(digits):
    X_train, _, y_train, _ = digits
    layer = Residual(8)
    clf = MLPScratchClassifier((8, layer), max_iter=5, random_state=0)
    twin = clone(clf)
    assert twin.hidden_layer_sizes[1] is not layer and isinstance(twin.hidden_layer_sizes[1], Residual)
    search = GridSearchCV(clf, {"hidden_layer_sizes": [(8, Residual(8)), (8,)]}, cv=2)
    quiet_fit(search, X_train[:300], y_train[:300])
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()  # each candidate fitted and scored
    assert isinstance(search.cv_results_["params"][0]["hidden_layer_sizes"][1], Residual)


def test_it_pickles_and_trains_on(digits):
    X_train, X_test, y_train, _ = digits
    clf = quiet_fit(MLPScratchClassifier((16, Residual(16)), max_iter=5, random_state=0), X_train, y_train)
    buffer = io.BytesIO()
    joblib.dump(clf, buffer)
    for loaded in (pickle.loads(pickle.dumps(clf)), joblib.load(io.BytesIO(buffer.getvalue()))):
        np.testing.assert_array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test))
        network = loaded._network()
        assert all(np.shares_memory(layer.W, network.params) for layer in network.layers if hasattr(layer, "W"))
        assert np.shares_memory(loaded.coefs_[0], loaded._get_flat_params())
        # partial_fit goes on from the loaded weights, the block's included, as it goes on in the original
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded.partial_fit(X_train, y_train)
    twin = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X_train, y_train)
    twin.partial_fit(X_train, y_train)
    np.testing.assert_array_equal(twin._get_flat_params(), clf._get_flat_params())


def test_a_coefs_array_assigned_by_hand_is_used(digits):
    X_train, X_test, y_train, _ = digits
    clf = quiet_fit(MLPScratchClassifier((8, Residual(8)), max_iter=3, random_state=0), X_train, y_train)
    clf.coefs_[1] = np.zeros_like(clf.coefs_[1])  # a new array, not a view
    clf.intercepts_[1] = np.zeros_like(clf.intercepts_[1])
    np.testing.assert_allclose(clf.predict_proba(X_test), 0.1)  # every class alike
    assert np.shares_memory(clf.coefs_[1], clf._get_flat_params())


def test_the_safe_format_and_onnx_refuse_it_in_words(digits, tmp_path):
    X_train, _, y_train, _ = digits
    clf = quiet_fit(MLPScratchClassifier((8, Residual(8)), max_iter=2, random_state=0), X_train, y_train)
    with pytest.raises(ValueError, match=r"layer of your own, Residual\(n=8\), in the safe format, which stores data, "
                                         r"not code.*joblib"):
        skscratch.save(clf, tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()
    pytest.importorskip("skl2onnx")
    with pytest.raises(ValueError, match="layer of your own, Residual.*no ONNX form"):
        skscratch.to_onnx(clf, X_train[:1].astype(np.float32))


def test_a_layer_that_changes_the_width_is_refused_before_training(digits):
    class Halves(nn.Layer):
        def forward(self, A):
            return A[:, ::2]

        def backward(self, delta):
            raise AssertionError("never reached")

    X_train, _, y_train, _ = digits
    clf = MLPScratchClassifier((16, Halves()), random_state=0)
    with pytest.raises(ValueError, match=r"Halves\(\), whose forward turned rows of 16 values into shape \(2, 8\)"):
        clf.fit(X_train, y_train)
    assert not hasattr(clf, "coefs_")  # refused before training: the model is as it was


def test_what_is_not_a_layer_is_refused(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="positive integers .and layers of your own"):
        MLPScratchClassifier((16, np.tanh)).fit(X_train, y_train)


def test_a_warm_start_keeps_the_layers_it_was_fitted_with(digits):
    X_train, _, y_train, _ = digits
    clf = quiet_fit(MLPScratchClassifier((8, Residual(8)), max_iter=2, warm_start=True, random_state=0),
                    X_train, y_train)
    clf.set_params(hidden_layer_sizes=(8,))
    with pytest.raises(ValueError, match="Cannot continue training"):
        clf.fit(X_train, y_train)


def test_a_regressor_takes_one_too():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0] + np.tanh(X[:, 0])
    reg = quiet_fit(MLPScratchRegressor(hidden_layer_sizes=(16, Residual(16)), max_iter=300, random_state=0), X, y)
    assert reg.score(X, y) > 0.95


def test_an_input_layer_of_ones_own(digits):
    """A layer before the first hidden one works on the input itself (64 pixels)."""
    X_train, X_test, y_train, y_test = digits
    clf = quiet_fit(MLPScratchClassifier((Residual(64), 32), max_iter=40, random_state=0), X_train, y_train)
    assert type(clf._network().layers[0]).__name__ == "Residual"
    assert clf.score(X_test, y_test) > 0.9


def test_a_dense_layer_of_ones_own_is_not_taken_for_one_of_the_mlps(digits):
    """nn.Dense(16, 16) among the sizes is the user's: coefs_ are still the MLP's own Dense layers."""
    X_train, X_test, y_train, y_test = digits
    clf = quiet_fit(MLPScratchClassifier((16, nn.Dense(16, 16), 16), max_iter=80, random_state=0), X_train, y_train)
    assert [W.shape for W in clf.coefs_] == [(64, 16), (16, 16), (16, 10)]
    assert len(clf._network().dense) == 3 and len(clf._network().layers) == 6  # Dense ReLU [Dense] Dense ReLU Dense
    assert clf.score(X_test, y_test) > 0.9
    assert check_gradients(MLPScratchClassifier((4, nn.Dense(4, 4)), random_state=0), X_train[:30],
                           y_train[:30]).max_relative_error < 1e-5


def test_the_safe_format_refuses_a_fitted_layer_whatever_the_parameters_say_now(digits, tmp_path):
    X_train, _, y_train, _ = digits
    clf = quiet_fit(MLPScratchClassifier((8, Residual(8)), max_iter=2, random_state=0), X_train, y_train)
    clf.set_params(hidden_layer_sizes=(8,))  # the fitted network still holds the block
    with pytest.raises(ValueError, match=r"layer of your own, Residual\(n=8\), in the safe format"):
        skscratch.save(clf, tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()


def test_coefs_assigned_by_hand_survive_a_pickle(digits):
    X_train, X_test, y_train, _ = digits
    clf = quiet_fit(MLPScratchClassifier((8, Residual(8)), max_iter=3, random_state=0), X_train, y_train)
    clf.coefs_[1] = np.zeros_like(clf.coefs_[1])
    clf.intercepts_[1] = np.zeros_like(clf.intercepts_[1])
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(loaded.predict_proba(X_test), 0.1)


def test_an_activation_layer_of_ones_own_keeps_its_attributes(digits):
    class Scaled(nn.Elementwise):
        def __init__(self, factor):
            super().__init__("tanh")
            self.factor = factor

        def forward(self, Z):
            return super().forward(Z * self.factor)

        def backward(self, delta):
            return super().backward(delta) * self.factor

    X_train, _, y_train, _ = digits
    check = check_gradients(MLPScratchClassifier((6, Scaled(2.0)), random_state=0), X_train[:30], y_train[:30])
    assert check.max_relative_error < 1e-5
    copied = copy.deepcopy(nn.Network([nn.Dense(3, 3), Scaled(2.0)]))  # (pickle needs the class in a module)
    assert copied.layers[1].factor == 2.0 and copied.layers[1].forward(np.ones((1, 3))) == pytest.approx(np.tanh(2))
