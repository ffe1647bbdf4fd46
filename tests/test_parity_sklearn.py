"""Numerical parity with scikit-learn's MLPClassifier from the same starting weights."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skscratch import MLPScratchClassifier, MLPScratchRegressor

SOLVERS = {
    "sgd-nesterov": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, learning_rate_init=0.05),
    "sgd-momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False, learning_rate_init=0.05),
    "sgd-invscaling": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}


def digits(n_classes):
    X, y = load_digits(n_class=n_classes, return_X_y=True)
    return X[:300] / 16.0, y[:300]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 10])
def test_five_epochs_from_sklearn_weights(solver, activation, n_classes):
    X, y = digits(n_classes)
    params = dict(
        hidden_layer_sizes=(20, 15), activation=activation, alpha=1e-3, batch_size=64,
        shuffle=False, random_state=0, **SOLVERS[solver],
    )  # fmt: skip

    reference = MLPClassifier(max_iter=1, **params).fit(X, y)
    ours = MLPScratchClassifier(max_iter=1, random_state=1, **{k: v for k, v in params.items() if k != "random_state"})
    ours.fit(X, y)  # another seed: the weights we start from are sklearn's
    ours.coefs_ = [W.copy() for W in reference.coefs_]
    ours.intercepts_ = [b.copy() for b in reference.intercepts_]

    start = [W.copy() for W in reference.coefs_]
    reference.set_params(warm_start=True, max_iter=5).fit(X, y)
    ours.set_params(warm_start=True, max_iter=5).fit(X, y)

    assert ours.n_iter_ == reference.n_iter_ == 5
    for ours_W, ref_W in zip(ours.coefs_ + ours.intercepts_, reference.coefs_ + reference.intercepts_, strict=True):
        assert ours_W.dtype == np.float64
        np.testing.assert_allclose(ours_W, ref_W, rtol=0, atol=1e-8)
    # the weights moved: the comparison is not between two untouched copies
    assert max(np.abs(W - W0).max() for W, W0 in zip(ours.coefs_, start, strict=True)) > 1e-3
    np.testing.assert_allclose(ours.loss_curve_[-5:], reference.loss_curve_[-5:], rtol=1e-10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("Estimator", [MLPScratchClassifier, MLPScratchRegressor])
def test_same_seed_same_model_as_sklearn(Estimator, solver):
    """Same random_state: the same initial weights, shuffles and final model."""
    classifier = Estimator is MLPScratchClassifier
    X, y = digits(10) if classifier else regression_data(1)
    params = dict(hidden_layer_sizes=(32,), solver=solver, max_iter=15, random_state=3)
    ours = Estimator(**params).fit(X, y)
    reference = (MLPClassifier if classifier else MLPRegressor)(**params).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, reference.coefs_ + reference.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8)
    if classifier:
        np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), rtol=0, atol=1e-8)
    else:
        np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=0, atol=1e-10)
    assert ours.n_iter_ == reference.n_iter_


def test_initial_weights_are_glorot_uniform_like_sklearn():
    X, y = digits(10)
    for activation, factor in [("relu", 6.0), ("logistic", 2.0)]:
        with pytest.warns(ConvergenceWarning):
            ours = MLPScratchClassifier((50,), activation=activation, solver="sgd",
                                        learning_rate_init=1e-12, max_iter=1, random_state=0).fit(X, y)
        for W, b in zip(ours.coefs_, ours.intercepts_, strict=True):
            bound = np.sqrt(factor / (W.shape[0] + W.shape[1]))
            assert np.abs(W).max() <= bound and np.abs(W).max() > 0.95 * bound
            assert np.abs(b).max() <= bound
            # uniform on [-bound, bound]: variance bound^2 / 3
            assert np.var(W) == pytest.approx(bound**2 / 3, rel=0.1)


def regression_data(n_outputs):
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=300, n_features=12, n_targets=n_outputs, noise=10.0, random_state=0)
    X = X / X.std(axis=0)
    return X, y / y.std(axis=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("target", ["single", "multi", "poisson"])
def test_regressor_five_epochs_from_sklearn_weights(solver, activation, target):
    X, y = regression_data(3 if target == "multi" else 1)
    loss = "squared_error"
    if target == "poisson":
        loss, y = "poisson", np.exp(y / 2)
    params = dict(
        loss=loss, hidden_layer_sizes=(20, 15), activation=activation, alpha=1e-3,
        batch_size=64, shuffle=False, **SOLVERS[solver],
    )  # fmt: skip
    params["learning_rate_init"] = min(params["learning_rate_init"], 0.01)

    reference = MLPRegressor(max_iter=1, random_state=0, **params).fit(X, y)
    ours = MLPScratchRegressor(max_iter=1, random_state=1, **params).fit(X, y)
    ours.coefs_ = [W.copy() for W in reference.coefs_]
    ours.intercepts_ = [b.copy() for b in reference.intercepts_]
    start = [W.copy() for W in reference.coefs_]

    reference.set_params(warm_start=True, max_iter=5).fit(X, y)
    ours.set_params(warm_start=True, max_iter=5).fit(X, y)

    assert ours.n_iter_ == reference.n_iter_ == 5
    for a, b in zip(ours.coefs_ + ours.intercepts_, reference.coefs_ + reference.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8)
    assert max(np.abs(W - W0).max() for W, W0 in zip(ours.coefs_, start, strict=True)) > 1e-4
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=0, atol=1e-8)
    # the reported loss is the same for one output (for several, scikit-learn
    # reports the outputs' mean squared error while descending their sum)
    if target != "multi":
        np.testing.assert_allclose(ours.loss_curve_[-5:], reference.loss_curve_[-5:], rtol=1e-10)
