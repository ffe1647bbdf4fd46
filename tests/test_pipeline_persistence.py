"""MLPScratchClassifier inside scikit-learn pipelines and model selection, and
persistence with joblib and pickle (including resuming training)."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from _weights import assert_same_weights, weights
from skscratch import MLPScratchClassifier


# ----------------------------------------------------------------------
# Pipeline + GridSearchCV


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_pipeline_on_digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    pipe = Pipeline(
        [("scale", StandardScaler()), ("mlp", MLPScratchClassifier(random_state=0, max_iter=150))]
    )
    grid = {"mlp__hidden_layer_sizes": [(32,), (64,), (64, 32)]}
    search = GridSearchCV(pipe, param_grid=grid, cv=3, n_jobs=1).fit(X_train, y_train)

    assert search.best_params_["mlp__hidden_layer_sizes"] in grid["mlp__hidden_layer_sizes"]
    assert search.cv_results_["mean_test_score"].shape == (3,)
    assert np.all(search.cv_results_["mean_test_score"] > 0.9)
    best = search.best_estimator_.named_steps["mlp"]
    assert best.hidden_layer_sizes == search.best_params_["mlp__hidden_layer_sizes"]
    assert best.n_features_in_ == 64
    assert search.score(X_test, y_test) >= 0.95
    proba = search.predict_proba(X_test)
    assert proba.shape == (len(y_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------
# joblib round trip of fitted models


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_joblib_round_trip(digits01, tmp_path, solver, dtype):
    X, y = digits01
    X = X.astype(dtype)
    clf = MLPScratchClassifier((16,), solver=solver, max_iter=20, random_state=0).fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    loaded = joblib.load(path)

    assert loaded is not clf
    assert loaded.get_params() == clf.get_params()
    assert_same_weights(loaded, clf)
    for w in weights(loaded):
        assert w.dtype == dtype
    proba, proba_loaded = clf.predict_proba(X), loaded.predict_proba(X)
    assert proba_loaded.dtype == dtype
    assert proba_loaded.tobytes() == proba.tobytes()
    assert loaded.predict_log_proba(X).tobytes() == clf.predict_log_proba(X).tobytes()
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.loss_curve_ == clf.loss_curve_
    assert loaded.n_iter_ == clf.n_iter_


# ----------------------------------------------------------------------
# Resuming partial_fit after a round trip


def joblib_round_trip(clf, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    return joblib.load(path)


def pickle_round_trip(clf, tmp_path):
    return pickle.loads(pickle.dumps(clf))


@pytest.mark.parametrize("round_trip", [joblib_round_trip, pickle_round_trip], ids=["joblib", "pickle"])
@pytest.mark.parametrize("seed", ["int", "RandomState"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_resumes_after_round_trip(digits01, tmp_path, solver, seed, round_trip):
    X, y = digits01
    classes = np.unique(y)

    def make():
        random_state = 0 if seed == "int" else np.random.RandomState(0)
        # momentum (sgd) and the moments (adam) make the optimizer state matter
        return MLPScratchClassifier((16,), solver=solver, momentum=0.9, random_state=random_state)

    a = make()
    for i in range(10):
        a.partial_fit(X, y, classes=classes if i == 0 else None)

    b = make()
    for i in range(5):
        b.partial_fit(X, y, classes=classes if i == 0 else None)
    b = round_trip(b, tmp_path)
    for _ in range(5):
        b.partial_fit(X, y)

    assert_same_weights(a, b)
    assert a.loss_curve_ == b.loss_curve_
    assert a.t_ == b.t_
    assert a.predict_proba(X).tobytes() == b.predict_proba(X).tobytes()


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_lost_optimizer_state_would_be_detected(digits01, solver):
    """The check above can fail: restarting the optimizer changes the result."""
    X, y = digits01
    classes = np.unique(y)
    a = MLPScratchClassifier((16,), solver=solver, random_state=0)
    b = MLPScratchClassifier((16,), solver=solver, random_state=0)
    for i in range(6):
        a.partial_fit(X, y, classes=classes if i == 0 else None)
    for i in range(5):
        b.partial_fit(X, y, classes=classes if i == 0 else None)
    # one more epoch with a fresh optimizer (a warm-started fit resets it)
    b.set_params(warm_start=True, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        b.fit(X, y)
    assert not np.array_equal(a.coefs_[0], b.coefs_[0])


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_assigned_coefs_after_load_keep_training(digits01, tmp_path, solver):
    X, y = digits01
    clf = MLPScratchClassifier((16,), solver=solver, random_state=0)
    for i in range(3):
        clf.partial_fit(X, y, classes=np.unique(y) if i == 0 else None)
    reference = joblib_round_trip(clf, tmp_path)
    loaded = joblib_round_trip(clf, tmp_path)

    # replace the arrays by copies: same values, no longer views of anything
    loaded.coefs_ = [W.copy() for W in loaded.coefs_]
    loaded.intercepts_ = [b.copy() for b in loaded.intercepts_]
    before = [w.copy() for w in weights(loaded)]
    for _ in range(2):
        loaded.partial_fit(X, y)
        reference.partial_fit(X, y)

    # the user's coefs_ and intercepts_ were updated, exactly as without the copy
    for w, w0 in zip(weights(loaded), before, strict=True):
        assert not np.array_equal(w, w0)
    assert_same_weights(loaded, reference)
    assert loaded.predict_proba(X).tobytes() == reference.predict_proba(X).tobytes()


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_assigned_weights_are_used(digits01, tmp_path, solver):
    X, y = digits01
    clf = MLPScratchClassifier((16,), solver=solver, random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    clf = joblib_round_trip(clf, tmp_path)

    # zero output layer: every class equally likely
    clf.coefs_ = [*clf.coefs_[:-1], np.zeros_like(clf.coefs_[-1])]
    clf.intercepts_ = [*clf.intercepts_[:-1], np.zeros_like(clf.intercepts_[-1])]
    np.testing.assert_allclose(clf.predict_proba(X), 0.1, rtol=1e-12)

    # training starts from the assigned weights and updates what the user sees
    clf.partial_fit(X, y)
    assert np.abs(clf.coefs_[-1]).max() > 0
    assert np.abs(clf.intercepts_[-1]).max() > 0
    proba = clf.predict_proba(X)
    assert not np.allclose(proba, 0.1)
    # after one epoch from a uniform output the loss is close to log(10)
    assert clf.loss_curve_[-1] < np.log(10) + 0.1
    # the arrays the user holds are the model's: editing them in place is seen
    clf.coefs_[-1][...] = 0
    clf.intercepts_[-1][...] = 0
    np.testing.assert_allclose(clf.predict_proba(X), 0.1, rtol=1e-12)
