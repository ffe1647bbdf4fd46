"""MLPScratchRegressor: behaviour beyond the estimator checks and the maths tests.

Topics it shares with the classifier are tests parametrized over both estimators: dtypes,
partial_fit and warm_start (test_partial_fit_warm_start.py), the same model as scikit-learn's
for the same seed (test_parity_sklearn.py), bad targets and divergence (test_bad_input.py).
"""

import joblib
import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, make_regression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler, scale

from _weights import assert_same_weights
from skscratch import MLPScratchRegressor

ignore_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def noisy_regression():
    """scikit-learn's own lbfgs regression test data: 200 x 10, noise 100, y scaled."""
    X, y = make_regression(n_samples=200, n_features=10, bias=20.0, noise=100.0, random_state=7)
    return X, scale(y)


@ignore_convergence
@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu", "identity"])
def test_lbfgs_fits_noisy_regression(noisy_regression, activation):
    X, y = noisy_regression
    reg = MLPScratchRegressor(solver="lbfgs", hidden_layer_sizes=50, max_iter=200,
                              activation=activation, random_state=0).fit(X, y)
    # 50 units on 200 samples: a nonlinear network fits the noise too
    assert reg.score(X, y) > (0.80 if activation == "identity" else 0.98)
    assert reg.out_activation_ == "identity" and reg.n_outputs_ == 1
    assert reg.predict(X).shape == (200,)


@ignore_convergence
def test_pipeline_grid_search_on_diabetes():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPScratchRegressor(solver="lbfgs", max_iter=300, random_state=0))])
    model = TransformedTargetRegressor(regressor=pipe, transformer=StandardScaler())
    grid = {"regressor__mlp__hidden_layer_sizes": [(8,), (16,)], "regressor__mlp__alpha": [1.0, 10.0]}
    search = GridSearchCV(model, grid, cv=3, scoring="r2").fit(X_train, y_train)
    assert search.cv_results_["mean_test_score"].shape == (4,)
    assert search.best_score_ > 0.3
    assert search.score(X_test, y_test) > 0.3  # linear models reach about 0.35-0.45 here
    assert search.predict(X_test).shape == (len(y_test),)


@ignore_convergence
def test_multi_output(noisy_regression):
    X, y = make_regression(n_samples=300, n_features=6, n_targets=3, noise=1.0, random_state=0)
    y = y / y.std(axis=0)
    reg = MLPScratchRegressor(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=300, random_state=0).fit(X, y)
    assert reg.n_outputs_ == 3 and reg.predict(X).shape == (300, 3)
    assert reg.score(X, y) > 0.99


@ignore_convergence
def test_sample_weight_counts_like_repeated_samples(noisy_regression):
    X, y = noisy_regression
    w = np.random.RandomState(0).randint(0, 3, size=len(y))
    params = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=50, random_state=0)
    weighted = MLPScratchRegressor(**params).fit(X, y, sample_weight=w)
    repeated = MLPScratchRegressor(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-6, atol=1e-6)


@ignore_convergence
def test_early_stopping_scores_r2(noisy_regression):
    X, y = noisy_regression
    reg = MLPScratchRegressor(hidden_layer_sizes=(16,), early_stopping=True, learning_rate_init=0.01,
                              max_iter=200, random_state=0).fit(X, y)
    assert reg.best_loss_ is None
    assert len(reg.validation_scores_) == reg.n_iter_ < 200
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert -1 < reg.best_validation_score_ <= 1  # an R^2, not an accuracy


def test_poisson_needs_non_negative_targets(noisy_regression):
    X, y = noisy_regression
    with pytest.raises(ValueError, match="poisson.*y >= 0"):
        MLPScratchRegressor(loss="poisson").fit(X, y)


@ignore_convergence
def test_poisson_regression_fits_counts():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 4))
    y = rng.poisson(np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1] + 0.5))
    reg = MLPScratchRegressor(loss="poisson", hidden_layer_sizes=(8,), solver="lbfgs",
                              max_iter=300, random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp"
    assert (reg.predict(X) > 0).all()
    # the mean prediction matches the mean count, as a log link with an intercept must
    assert reg.predict(X).mean() == pytest.approx(y.mean(), rel=0.05)


@ignore_convergence
def test_joblib_round_trip_and_resumed_partial_fit(noisy_regression, tmp_path):
    X, y = noisy_regression
    straight = MLPScratchRegressor(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(4):
        straight.partial_fit(X, y)
    resumed = MLPScratchRegressor(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(2):
        resumed.partial_fit(X, y)
    joblib.dump(resumed, tmp_path / "reg.joblib")
    resumed = joblib.load(tmp_path / "reg.joblib")
    assert resumed.predict(X).tobytes() == joblib.load(tmp_path / "reg.joblib").predict(X).tobytes()
    for _ in range(2):
        resumed.partial_fit(X, y)
    assert_same_weights(straight, resumed)
