"""MLPScratchClassifier inside scikit-learn pipelines and model selection, and
persistence with joblib and pickle (including resuming training), and a scaler
and a network in the safe format."""

import copy
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MaxAbsScaler, MinMaxScaler, StandardScaler

import skscratch
from _weights import assert_same_weights, weights
from skscratch import MLPScratchClassifier, MLPScratchRegressor


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


# ----------------------------------------------------------------------
# A scaler and a network in the safe format: skscratch.save / skscratch.load


SCALERS = {"standard": StandardScaler(), "standard-unscaled": StandardScaler(with_std=False),
           "standard-uncentred": StandardScaler(with_mean=False),
           "standard-neither": StandardScaler(with_mean=False, with_std=False),
           "minmax": MinMaxScaler(), "minmax-clipped": MinMaxScaler((-1, 3), clip=True), "maxabs": MaxAbsScaler()}
if "clip" in MaxAbsScaler._get_param_names():  # scikit-learn >= 1.9
    SCALERS["maxabs-clipped"] = MaxAbsScaler(clip=True)


def _fit_quietly(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _digits(dtype):
    """300 digits to fit on (pixel 0 is always 0: a scale of 1, a range of 0) and 100 others to predict,
    some of them brighter than any training image (outside the fitted range: clip matters)."""
    X, y = load_digits(return_X_y=True)
    X_new = np.vstack([X[300:350], X[350:400] * 1.5])
    return X[:300].astype(dtype), y[:300], X_new.astype(dtype)


def _outputs(model, X):
    return [model.predict(X), *([model.predict_proba(X)] if hasattr(model, "predict_proba") else [])]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("Estimator", [MLPScratchClassifier, MLPScratchRegressor])
@pytest.mark.parametrize("scaler", SCALERS)
def test_a_scaler_and_a_network_round_trip_bit_for_bit(tmp_path, scaler, Estimator, dtype):
    X, y, X_new = _digits(dtype)
    target = y if Estimator is MLPScratchClassifier else y / 9
    pipeline = Pipeline([("scaler", clone(SCALERS[scaler])), ("net", Estimator(hidden_layer_sizes=(16,), max_iter=5,
                                                                               random_state=0))])
    _fit_quietly(pipeline, X, target)
    skscratch.save(pipeline, tmp_path / "model.npz")
    loaded = skscratch.load(tmp_path / "model.npz")

    assert type(loaded) is Pipeline and [name for name, _ in loaded.steps] == ["scaler", "net"]
    assert type(loaded[0]) is type(pipeline[0]) and loaded[0].get_params() == pipeline[0].get_params()
    fitted = {key: value for key, value in vars(pipeline[0]).items() if key.endswith("_")}
    assert {key for key in vars(loaded[0]) if key.endswith("_")} == set(fitted)
    for key, value in fitted.items():
        if isinstance(value, np.ndarray):
            assert loaded[0].__dict__[key].dtype == value.dtype, key
            assert loaded[0].__dict__[key].tobytes() == value.tobytes(), key
        else:
            assert loaded[0].__dict__[key] == value, key
    assert_same_weights(loaded[-1], pipeline[-1])
    for data in (X, X_new):
        assert loaded[0].transform(data).tobytes() == pipeline[0].transform(data).tobytes()
        for got, expected in zip(_outputs(loaded, data), _outputs(pipeline, data), strict=True):
            assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()


def test_a_pipeline_fitted_on_a_frame_keeps_its_feature_names(tmp_path):
    X, y, _ = _digits(np.float64)
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    pipeline = _fit_quietly(Pipeline([("scale", StandardScaler()), ("mlp", MLPScratchClassifier((16,), max_iter=5,
                                                                                               random_state=0))]),
                            frame, y)
    skscratch.save(pipeline, tmp_path / "model.npz")
    loaded = skscratch.load(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.feature_names_in_, pipeline.feature_names_in_)
    assert loaded.predict_proba(frame).tobytes() == pipeline.predict_proba(frame).tobytes()
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"pixel3": "three"}))


def test_a_loaded_pipeline_never_changes_the_array_it_is_given(tmp_path):
    X, y, X_new = _digits(np.float64)
    pipeline = _fit_quietly(Pipeline([("scale", MaxAbsScaler()), ("mlp", MLPScratchClassifier((16,), max_iter=5,
                                                                                              random_state=0))]),
                            X, y)
    skscratch.save(pipeline, tmp_path / "model.npz")
    before = X_new.copy()
    skscratch.load(tmp_path / "model.npz").predict_proba(X_new)
    assert X_new.tobytes() == before.tobytes()
    pipeline[0].set_params(copy=False)  # a scaler that would divide the caller's array in place is not stored
    with pytest.raises(ValueError, match="cannot store a MaxAbsScaler with copy=False: loaded, it would scale the "
                       "arrays it is given in place. Set copy=True."):
        skscratch.save(pipeline, tmp_path / "model.npz")


def test_a_pipeline_fitted_on_pytorch_is_saved_in_numpy(tmp_path):
    torch = pytest.importorskip("torch")
    import sklearn

    X, y, _ = _digits(np.float64)
    with sklearn.config_context(array_api_dispatch=True):
        pipeline = _fit_quietly(Pipeline([("scale", StandardScaler()), ("mlp", MLPScratchClassifier(
            (16,), max_iter=5, random_state=0))]), torch.asarray(X), torch.asarray(y))
        expected = pipeline.predict_proba(torch.asarray(X)).numpy()
    skscratch.save(pipeline, tmp_path / "model.npz")
    assert isinstance(pipeline[0].scale_, torch.Tensor)  # the pipeline is left as it was
    loaded = skscratch.load(tmp_path / "model.npz")
    assert isinstance(loaded[0].scale_, np.ndarray) and isinstance(loaded[-1].coefs_[0], np.ndarray)
    np.testing.assert_allclose(loaded.predict_proba(X), expected, rtol=0, atol=1e-12)


class _MyScaler(StandardScaler):
    pass


class _MyPipeline(Pipeline):
    pass


@pytest.fixture(scope="module")
def fitted_parts():
    """A classifier fitted on 4 features, and a StandardScaler fitted on the same."""
    X, y, _ = _digits(np.float64)
    return X[:, :4], _fit_quietly(MLPScratchClassifier((8,), max_iter=5, random_state=0), X[:, :4], y), \
        StandardScaler().fit(X[:, :4])


def _with_scale(scaler, **changes):
    scaler = copy.deepcopy(scaler)
    for key, value in changes.items():
        getattr(scaler, key)[0] = value
    return scaler


ACCEPTED = (r"It stores Pipeline\(\[\(name, scaler\), \(name, network\)\]\), the scaler a StandardScaler, "
            r"MinMaxScaler or MaxAbsScaler, fitted, and the network an MLPScratchClassifier or MLPScratchRegressor\.")
REFUSED = {
    "function-transformer": (lambda net, scaler: Pipeline([("log", FunctionTransformer(np.log1p)), ("mlp", net)]),
                             TypeError, r"cannot store step 'log' \(FunctionTransformer\): the first step must be a "
                             r"StandardScaler, MinMaxScaler or MaxAbsScaler \(a step of any other kind would need code "
                             r"to load\)\. " + ACCEPTED),
    "other-transformer": (lambda net, scaler: Pipeline([("pca", PCA()), ("mlp", net)]), TypeError,
                          r"cannot store step 'pca' \(PCA\): the first step must be"),
    "passthrough": (lambda net, scaler: Pipeline([("skip", "passthrough"), ("mlp", net)]), TypeError,
                    r"cannot store step 'skip' \('passthrough'\): the first step must be"),
    "subclassed-scaler": (lambda net, scaler: Pipeline([("scale", _MyScaler()), ("mlp", net)]), TypeError,
                          r"cannot store step 'scale' \(_MyScaler\): the first step must be"),
    "nested-scaler": (lambda net, scaler: Pipeline([("inner", Pipeline([("scale", scaler)])), ("mlp", net)]), TypeError,
                      r"cannot store step 'inner' \(a Pipeline: a pipeline in a pipeline is not stored, flatten it\)"),
    "nested-network": (lambda net, scaler: Pipeline([("scale", scaler), ("inner", Pipeline([("mlp", net)]))]),
                       TypeError, r"cannot store step 'inner' \(a Pipeline.*\): the last step must be an "
                       "MLPScratchClassifier or MLPScratchRegressor"),
    "two-scalers": (lambda net, scaler: Pipeline([("a", scaler), ("b", MinMaxScaler()), ("mlp", net)]), TypeError,
                    r"this Pipeline has 3 steps, \['a', 'b', 'mlp'\]"),
    "network-alone": (lambda net, scaler: Pipeline([("mlp", net)]), TypeError,
                      r"this Pipeline has 1 step, \['mlp'\]"),
    "network-first": (lambda net, scaler: Pipeline([("mlp", net), ("scale", scaler)]), TypeError,
                      r"cannot store step 'mlp' \(MLPScratchClassifier\): the first step must be"),
    "another-network": (lambda net, scaler: Pipeline([("scale", scaler), ("mlp", MLPClassifier())]), TypeError,
                        r"cannot store step 'mlp' \(MLPClassifier\): the last step must be an MLPScratchClassifier"),
    "pipeline-subclass": (lambda net, scaler: _MyPipeline([("scale", scaler), ("mlp", net)]), TypeError,
                          "cannot store a _MyPipeline, a subclass of Pipeline: its code would be needed to load it"),
    "memory": (lambda net, scaler: Pipeline([("scale", scaler), ("mlp", net)], memory="cache"), ValueError,
               r"cannot store a Pipeline with memory='cache' \(a cache of fitted steps, not data\); set memory=None"),
    "transform-input": (lambda net, scaler: Pipeline([("scale", scaler), ("mlp", net)], transform_input=["groups"]),
                        ValueError, r"cannot store a Pipeline with transform_input=\['groups'\]"),
    "set-output": (lambda net, scaler: Pipeline([("scale", copy.deepcopy(scaler).set_output(transform="pandas")),
                                                 ("mlp", net)]), ValueError,
                   r"cannot store step 'scale' with set_output\(transform='pandas'\)"),
    "unfitted-scaler": (lambda net, scaler: Pipeline([("scale", StandardScaler()), ("mlp", net)]), NotFittedError,
                        "StandardScaler instance is not fitted yet"),
    "unfitted-network": (lambda net, scaler: Pipeline([("scale", scaler), ("mlp", MLPScratchClassifier())]),
                         NotFittedError, "MLPScratchClassifier instance is not fitted yet"),
    "scaler-of-other-features": (lambda net, scaler: Pipeline([("scale", StandardScaler().fit(np.ones((2, 3)))),
                                                               ("mlp", net)]), ValueError,
                                 "cannot store a StandardScaler of 3 features before a network of 4"),
    "scaler-with-nan": (lambda net, scaler: Pipeline([("scale", _with_scale(scaler, mean_=np.nan)), ("mlp", net)]),
                        ValueError, r"cannot store a StandardScaler whose mean_ has non-finite values \(feature 0\)"),
    "scaler-negative-scale": (lambda net, scaler: Pipeline([("scale", _with_scale(scaler, scale_=-2.0)),
                                                            ("mlp", net)]), ValueError,
                              r"cannot store step 'scale': array scaler_scale_ has a scale that is not positive "
                              r"\(feature 0: -2.0\)"),
    "scaler-inconsistent": (lambda net, scaler: Pipeline([("scale", _with_scale(scaler, scale_=2.0)), ("mlp", net)]),
                            ValueError, "cannot store step 'scale': array scaler_scale_ does not agree with the "
                            r"square root of var_ \(feature 0: 2.0, not "),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSED)
def test_save_refuses_a_pipeline_it_cannot_store_naming_the_step(fitted_parts, tmp_path, case):
    _, network, scaler = fitted_parts
    make, error, message = REFUSED[case]
    with pytest.raises(error, match=message):
        skscratch.save(make(copy.deepcopy(network), copy.deepcopy(scaler)), tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_the_save_docstring_says_what_is_accepted_and_refused():
    doc = skscratch.save.__doc__
    for name in ("StandardScaler", "MinMaxScaler", "MaxAbsScaler", "FunctionTransformer", "nested Pipeline",
                 "more than one", "memory=", "set_output"):
        assert name in doc, name
