"""Any array library, any device: the network on PyTorch (CPU here) and array-api-strict.

Under ``sklearn.config_context(array_api_dispatch=True)`` a fit on a torch
tensor must train in torch, keep its weights there, return torch outputs,
and give the NumPy fit's model to rounding: every feature (optimizers,
schedules, dropout, weights, early stopping, the guards, partial_fit,
warm_start, multilabel, the regressor) is run both ways and compared.
scikit-learn's own array-API checks are in ``test_common.py``.
"""

import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skscratch
from skscratch import MLPScratchClassifier, MLPScratchRegressor

torch = pytest.importorskip("torch")

# tolerances of the issue: predictions of a float64 fit to 1e-10, float32 to 1e-4
TOL = {np.float64: 1e-10, np.float32: 1e-4}


def dispatch():
    return sklearn.config_context(array_api_dispatch=True)


def t(a, dtype=None):
    """A torch tensor on the CPU (labels keep their integer dtype)."""
    return None if a is None else torch.asarray(np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype))


@pytest.fixture(scope="module")
def digits_small(digits01):
    X, y = digits01
    return X[:600], y[:600]


def fit_both(estimator, X, y, dtype, **fit_params):
    """The same estimator fitted on NumPy and on torch (dispatch on); both fitted copies."""
    X = X.astype(dtype)
    numpy_fit = sklearn.base.clone(estimator).fit(X, y, **fit_params)
    torch_params = {k: (t(v) if isinstance(v, np.ndarray) else v) for k, v in fit_params.items()}
    with dispatch():
        torch_fit = sklearn.base.clone(estimator).fit(t(X), t(y), **torch_params)
    return numpy_fit, torch_fit


def assert_same_model(numpy_fit, torch_fit, X, dtype):
    """Weights in torch, and the NumPy fit's predictions to the issue's tolerance."""
    X = X.astype(dtype)
    assert all(isinstance(W, torch.Tensor) for W in [*torch_fit.coefs_, *torch_fit.intercepts_])
    assert torch_fit.coefs_[0].dtype == getattr(torch, np.dtype(dtype).name)
    with dispatch():
        if hasattr(numpy_fit, "predict_proba"):
            proba = torch_fit.predict_proba(t(X))
            assert isinstance(proba, torch.Tensor) and proba.dtype == torch_fit.coefs_[0].dtype
            np.testing.assert_allclose(proba.numpy(), numpy_fit.predict_proba(X), rtol=0, atol=TOL[dtype])
        prediction = torch_fit.predict(t(X))
    assert isinstance(prediction, torch.Tensor)
    if isinstance(numpy_fit, MLPScratchRegressor):
        np.testing.assert_allclose(prediction.numpy(), numpy_fit.predict(X), rtol=TOL[dtype], atol=TOL[dtype])
    else:
        assert np.mean(prediction.numpy() == numpy_fit.predict(X)) > 0.99
    assert torch_fit.n_iter_ == numpy_fit.n_iter_ and torch_fit.t_ == numpy_fit.t_
    np.testing.assert_allclose(torch_fit.loss_curve_, numpy_fit.loss_curve_, rtol=10 * TOL[dtype])
    assert list(torch_fit.history_.columns) == list(numpy_fit.history_.columns)


CONFIGURATIONS = {
    "adam": dict(),
    "sgd-nesterov-invscaling": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.1,
                                    activation="tanh"),
    "sgd-momentum-adaptive": dict(solver="sgd", nesterovs_momentum=False, learning_rate="adaptive",
                                  activation="logistic", learning_rate_init=0.05),
    "adamw-cosine-warmup-clip": dict(solver="adamw", learning_rate="cosine", warmup_iter=2,
                                     max_grad_norm=0.5, activation="gelu", alpha=1e-3),
    "dropout": dict(dropout=[0.3, 0.1], hidden_layer_sizes=(24, 16), activation="elu"),
    "early-stopping": dict(early_stopping=True, n_iter_no_change=3, activation="leaky_relu"),
    "class-weight": dict(class_weight="balanced"),
    "no-shuffle-batch-64": dict(shuffle=False, batch_size=64),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_torch_fit_matches_numpy(digits_small, name, dtype):
    X, y = digits_small
    params = {"hidden_layer_sizes": (24,), "max_iter": 8, "random_state": 0, **CONFIGURATIONS[name]}
    estimator = MLPScratchClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        numpy_fit, torch_fit = fit_both(estimator, X, y, dtype)
    assert_same_model(numpy_fit, torch_fit, X, dtype)
    if name == "early-stopping":
        assert isinstance(torch_fit._best_params, torch.Tensor)
        np.testing.assert_allclose(torch_fit.validation_scores_, numpy_fit.validation_scores_, atol=1e-2)


def test_torch_digits_full_fit_matches_numpy(digits01):
    """The acceptance fit: all of digits, the default network, float64 and float32."""
    X, y = digits01
    for dtype in (np.float64, np.float32):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            numpy_fit, torch_fit = fit_both(MLPScratchClassifier(max_iter=15, random_state=0), X, y, dtype)
        assert_same_model(numpy_fit, torch_fit, X, dtype)
        with dispatch():
            assert torch_fit.score(t(X.astype(dtype)), t(y)) == pytest.approx(numpy_fit.score(X.astype(dtype), y))


def test_sample_weight_and_validation_set_on_torch(digits_small):
    X, y = digits_small
    rng = np.random.RandomState(0)
    sample_weight = rng.uniform(0, 3, len(y))
    X_val, y_val = X[:100], y[:100]
    estimator = MLPScratchClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0, scoring="loss")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        numpy_fit, torch_fit = fit_both(estimator, X, y, np.float64, sample_weight=sample_weight,
                                        X_val=X_val, y_val=y_val, sample_weight_val=sample_weight[:100])
    assert_same_model(numpy_fit, torch_fit, X, np.float64)
    np.testing.assert_allclose(torch_fit.history_["val_loss"], numpy_fit.history_["val_loss"], rtol=1e-10)


def test_validation_set_follows_x(digits_small):
    """X_val given as NumPy while X is torch: it moves to X's namespace, as y and the weights do."""
    X, y = digits_small
    with dispatch():
        clf = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(t(X), y, X_val=X[:50], y_val=t(y[:50]))
    assert clf.history_["val_score"].notna().all()


def test_multilabel_and_one_class_on_torch(digits_small):
    X, y = digits_small
    Y = np.column_stack([y % 2, y > 4, y == 3]).astype(int)
    estimator = MLPScratchClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        numpy_fit, torch_fit = fit_both(estimator, X, Y, np.float64)
        assert_same_model(numpy_fit, torch_fit, X, np.float64)
        numpy_fit, torch_fit = fit_both(estimator, X, np.full(len(y), 7), np.float64)
    with dispatch():
        assert (torch_fit.predict(t(X)) == 7).all()
        assert (torch_fit.predict_proba(t(X)) == 1).all()


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_regressor_on_torch(digits_small, loss, solver):
    X, y = digits_small
    target = y / 9.0
    estimator = MLPScratchRegressor(loss=loss, solver=solver, hidden_layer_sizes=(16,), max_iter=6,
                                    learning_rate_init=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        numpy_fit, torch_fit = fit_both(estimator, X, target, np.float64)
    assert_same_model(numpy_fit, torch_fit, X, np.float64)
    with dispatch():
        score = torch_fit.score(t(X), t(target))
    assert isinstance(score, float) and score == pytest.approx(numpy_fit.score(X, target), abs=1e-10)


def test_partial_fit_and_warm_start_on_torch(digits_small):
    X, y = digits_small
    classes = np.unique(y)
    numpy_model = MLPScratchClassifier(hidden_layer_sizes=(16,), random_state=0)
    torch_model = sklearn.base.clone(numpy_model)
    for start in range(0, 600, 200):
        numpy_model.partial_fit(X[start : start + 200], y[start : start + 200], classes=classes)
        with dispatch():
            torch_model.partial_fit(t(X[start : start + 200]), t(y[start : start + 200]), classes=t(classes))
    assert torch_model._optimizer.t == numpy_model._optimizer.t and isinstance(torch_model._optimizer.m, torch.Tensor)
    assert_same_model(numpy_model, torch_model, X, np.float64)
    # warm_start goes on from the same weights, in torch
    numpy_model.set_params(warm_start=True, max_iter=3)
    torch_model.set_params(warm_start=True, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        numpy_model.fit(X, y)
        with dispatch():
            torch_model.fit(t(X), t(y))
    assert_same_model(numpy_model, torch_model, X, np.float64)


def test_lbfgs_converts_once_and_returns_to_torch(digits_small):
    """L-BFGS is SciPy's, on NumPy: the fit runs on the host, the fitted weights go back to torch."""
    X, y = digits_small
    estimator = MLPScratchClassifier(solver="lbfgs", hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        numpy_fit, torch_fit = fit_both(estimator, X, y, np.float64)
    assert_same_model(numpy_fit, torch_fit, X, np.float64)
    for a, b in zip(numpy_fit.coefs_, torch_fit.coefs_, strict=True):
        assert np.array_equal(a, b.numpy())  # the same computation, bit for bit


def test_numpy_input_under_dispatch_is_the_numpy_path(digits_small):
    """NumPy arrays with dispatch on run the NumPy path itself: the very same bits."""
    X, y = digits_small
    estimator = MLPScratchClassifier(hidden_layer_sizes=(16,), max_iter=3, dropout=0.2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = sklearn.base.clone(estimator).fit(X, y)
        with dispatch():
            dispatched = sklearn.base.clone(estimator).fit(X, y)
    for a, b in zip([*plain.coefs_, *plain.intercepts_], [*dispatched.coefs_, *dispatched.intercepts_], strict=True):
        assert type(b) is np.ndarray and np.array_equal(a, b)


def test_big_network_on_torch_skips_the_numpy_kernels(digits_small):
    """Above the fused kernels' size (200,000 parameters) torch trains with its own operations."""
    X, y = digits_small
    estimator = MLPScratchClassifier(hidden_layer_sizes=(3200,), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        numpy_fit, torch_fit = fit_both(estimator, X[:200], y[:200], np.float32)
    assert torch_fit._get_flat_params().shape[0] > 200_000
    assert_same_model(numpy_fit, torch_fit, X[:200], np.float32)


def test_pipeline_and_grid_search_stay_on_torch(digits_small):
    X, y = digits_small
    with dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline = make_pipeline(StandardScaler(), MLPScratchClassifier(hidden_layer_sizes=(16,), max_iter=5,
                                                                        random_state=0))
        pipeline.fit(t(X), t(y))
        proba = pipeline.predict_proba(t(X))
        search = GridSearchCV(MLPScratchClassifier(max_iter=3, random_state=0),
                              {"hidden_layer_sizes": [(8,), (16,)]}, cv=2).fit(t(X), t(y))
    assert isinstance(proba, torch.Tensor) and proba.shape == (600, 10)
    assert isinstance(search.best_estimator_.coefs_[0], torch.Tensor)


def test_divergence_guard_on_torch(digits_small):
    X, y = digits_small
    with dispatch(), pytest.warns(ConvergenceWarning, match="diverged"):
        clf = MLPScratchClassifier(solver="sgd", learning_rate_init=1e6, momentum=0.0, hidden_layer_sizes=(16,),
                                   max_iter=5, random_state=0).fit(t(X * 100), t(y))
    assert all(bool(torch.isfinite(W).all()) for W in clf.coefs_)
    assert np.isfinite(clf.loss_)


def test_overflowing_input_on_torch_names_x(digits_small):
    X, y = digits_small
    with dispatch(), pytest.raises(ValueError, match="X has values too large"):
        MLPScratchClassifier(max_iter=2, random_state=0).fit(t(X * 1e306), t(y))


def test_bad_input_on_torch_is_refused(digits_small):
    X, y = digits_small
    bad = X.copy()
    bad[3, 3] = np.nan
    with dispatch():
        with pytest.raises(ValueError, match="NaN"):
            MLPScratchClassifier(max_iter=2).fit(t(bad), t(y))
        clf = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(t(X), t(y))
        with pytest.raises(ValueError, match="features"):
            clf.predict(t(X[:, :10]))
        with pytest.raises(ValueError, match="NaN"):
            clf.predict(t(bad))


def test_namespace_mismatch_is_a_clear_error(digits_small):
    X, y = digits_small
    with dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(t(X), t(y))
        with pytest.raises(ValueError, match=r"MLPScratchClassifier.predict\(\) must use the same namespace"):
            clf.predict(X)
        with pytest.raises(ValueError, match=r"partial_fit\(\) must use the same namespace"):
            clf.partial_fit(X, y)
        clf.set_params(warm_start=True)
        with pytest.raises(ValueError, match=r"fit\(\) must use the same namespace"):
            clf.fit(X, y)
    # without dispatch, torch input becomes NumPy, and the torch network says so
    with pytest.raises(ValueError, match="array_api_dispatch=True"):
        clf.predict_proba(t(X))
    numpy_model = skscratch.to_numpy(clf)
    with dispatch():
        assert isinstance(numpy_model.predict(X), np.ndarray)  # moved: NumPy works again


def test_move_estimator_to_torch_and_back(digits_small):
    """scikit-learn's move_estimator_to moves the weights, the optimizer and the best weights together."""
    from sklearn.utils._array_api import get_namespace_and_device, move_estimator_to

    X, y = digits_small
    clf = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    with dispatch():
        xp, _, device = get_namespace_and_device(t(X))
        moved = move_estimator_to(clf, xp, device)
        assert isinstance(moved._optimizer.m, torch.Tensor)
        np.testing.assert_allclose(moved.predict_proba(t(X)).numpy(), clf.predict_proba(X), atol=1e-12)
        moved.partial_fit(t(X), t(y))  # training goes on, in torch
    twin = pickle.loads(pickle.dumps(clf))  # an independent NumPy copy, trained on alike
    before = clf.coefs_[0].copy()
    twin.partial_fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], before)  # moving and training shared nothing
    np.testing.assert_allclose(moved.coefs_[0].numpy(), twin.coefs_[0], atol=1e-12)
    back = skscratch.to_numpy(moved)
    assert isinstance(back.coefs_[0], np.ndarray) and isinstance(back._optimizer.v, np.ndarray)
    assert isinstance(moved.coefs_[0], torch.Tensor)  # the original is left as it was


@pytest.mark.parametrize("source", ["numpy", "torch"])
def test_to_numpy_shares_nothing_with_the_original(digits_small, source):
    X, y = digits_small
    if source == "torch":
        clf = _fitted_on_torch(X, y, early_stopping=True)
    else:
        clf = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0, early_stopping=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    weights, curve, m = (np.array(seam_host(a)) for a in (clf._get_flat_params(), clf.loss_curve_, clf._optimizer.m))
    copy = skscratch.to_numpy(clf)
    copy.set_params(early_stopping=False).partial_fit(X, y)
    copy.coefs_[0][...] = 0
    assert np.array_equal(seam_host(clf._get_flat_params()), weights)
    assert np.array_equal(clf.loss_curve_, curve) and np.array_equal(seam_host(clf._optimizer.m), m)
    assert not np.shares_memory(copy._best_params, seam_host(clf._best_params))


def seam_host(a):
    return a.numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def test_a_float32_torch_model_predicts_on_float64_and_int_input(digits_small):
    X, y = digits_small
    X32 = X.astype(np.float32)
    with dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(t(X32), t(y))
        reg = MLPScratchRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(t(X32), t(y / 9.0))
        proba64 = clf.predict_proba(t(X))
        ints = clf.predict(t((X * 16).astype(np.int64)))
        score = reg.score(t(X), t(y / 9.0))
    assert proba64.dtype == torch.float32
    with dispatch():
        np.testing.assert_allclose(proba64.numpy(), clf.predict_proba(t(X32)).numpy(), atol=1e-6)
    assert ints.shape == (600,) and isinstance(score, float)


@pytest.mark.parametrize("scoring", ["balanced_accuracy", "neg_log_loss", "loss"])
def test_scorers_during_fit_see_labels_where_x_is(digits_small, scoring):
    X, y = digits_small
    with dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0, early_stopping=True,
                                   scoring=scoring).fit(t(X), t(y))
        given = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0, scoring=scoring).fit(
            t(X), t(y), X_val=t(X[:60]), y_val=t(y[:60]))
    assert np.isfinite(clf.validation_scores_).all() and given.history_["val_score"].notna().all()


def test_callbacks_score_the_model_on_torch(digits_small):
    callback = pytest.importorskip("sklearn.callback")
    X, y = digits_small
    for solver in ("adam", "lbfgs"):
        monitor = callback.ScoringMonitor(scoring="balanced_accuracy")
        with dispatch(), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0, solver=solver)
            clf.set_callbacks(monitor).fit(t(X), t(y))
        assert isinstance(clf.coefs_[0], torch.Tensor)


def test_sparse_validation_set_with_torch_x(digits_small):
    from scipy import sparse

    X, y = digits_small
    with dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(
            t(X), t(y), X_val=sparse.csr_matrix(X[:60]), y_val=y[:60])
    assert clf.history_["val_score"].notna().all()


def _fitted_on_torch(X, y, **params):
    with dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0, **params).fit(t(X), t(y))


LOAD_WITHOUT_TORCH = """
import sys

class NoTorch:  # importing torch now fails: the file must not need it
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError("no torch on this machine")

sys.meta_path.insert(0, NoTorch())
import joblib, numpy as np
model = joblib.load(sys.argv[1])
X = np.load(sys.argv[2])
np.save(sys.argv[3], model.predict_proba(X))
assert "torch" not in sys.modules
"""


def test_joblib_file_of_a_torch_model_loads_without_torch(digits_small, tmp_path):
    X, y = digits_small
    clf = _fitted_on_torch(X, y, early_stopping=True)
    joblib.dump(skscratch.to_numpy(clf), tmp_path / "model.joblib")
    np.save(tmp_path / "X.npy", X)
    subprocess.run([sys.executable, "-c", LOAD_WITHOUT_TORCH, tmp_path / "model.joblib", tmp_path / "X.npy",
                    tmp_path / "proba.npy"], check=True)
    with dispatch():
        expected = clf.predict_proba(t(X)).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "proba.npy"), expected, atol=1e-12)


def test_safe_file_skops_and_onnx_of_a_torch_model(digits_small, tmp_path):
    X, y = digits_small
    clf = _fitted_on_torch(X, y)
    with dispatch():
        expected = clf.predict_proba(t(X)).numpy()
    skscratch.save(clf, tmp_path / "model.npz")  # converts by itself
    assert isinstance(clf.coefs_[0], torch.Tensor)  # and leaves the model as it was
    np.testing.assert_allclose(skscratch.load(tmp_path / "model.npz").predict_proba(X), expected, atol=1e-12)
    skops_io = pytest.importorskip("skops.io")
    data = skops_io.dumps(skscratch.to_numpy(clf))
    loaded = skops_io.loads(data, trusted=skops_io.get_untrusted_types(data=data))
    np.testing.assert_allclose(loaded.predict_proba(X), expected, atol=1e-12)
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    onx = skscratch.to_onnx(clf, X[:1].astype(np.float32))
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    _, probabilities = session.run(None, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)


def test_array_api_strict_two_devices(digits_small):
    """array-api-strict's second device: everything stays there, and matches NumPy."""
    xps = pytest.importorskip("array_api_strict")
    X, y = digits_small
    device = xps.Device("device1")
    estimator = MLPScratchClassifier(hidden_layer_sizes=(16,), max_iter=4, random_state=0, dropout=0.2,
                                     early_stopping=True, n_iter_no_change=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        numpy_fit = sklearn.base.clone(estimator).fit(X, y)
        with dispatch():
            strict_fit = sklearn.base.clone(estimator).fit(xps.asarray(X, device=device),
                                                           xps.asarray(y, device=device))
            proba = strict_fit.predict_proba(xps.asarray(X, device=device))
    assert proba.device == device and strict_fit.coefs_[0].device == device
    np.testing.assert_allclose(np.asarray(xps.asarray(proba, device=xps.Device("CPU_DEVICE"))),
                               numpy_fit.predict_proba(X), atol=1e-10)


def test_to_numpy_of_a_numpy_model_is_a_copy(iris):
    X, y = iris
    clf = MLPScratchClassifier(solver="lbfgs", max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    copy = skscratch.to_numpy(clf)
    assert copy is not clf and np.array_equal(copy.predict_proba(X), clf.predict_proba(X))
    pipeline = skscratch.to_numpy(make_pipeline(StandardScaler(), clf))
    assert pipeline[-1] is not clf


def test_y_and_weights_from_torch_with_numpy_x_are_the_numpy_fit(digits_small):
    """Everything follows X: torch y and sample_weight with NumPy X give the NumPy fit, bit for bit."""
    X, y = digits_small
    sample_weight = np.linspace(0.5, 2, len(y))
    estimator = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = sklearn.base.clone(estimator).fit(X, y, sample_weight=sample_weight)
        with dispatch():
            mixed = sklearn.base.clone(estimator).fit(X, t(y), sample_weight=t(sample_weight))
    assert type(mixed.coefs_[0]) is np.ndarray and np.array_equal(mixed.coefs_[0], plain.coefs_[0])


def test_tensors_with_autograd_history_train_without_it(digits_small):
    X, y = digits_small
    X_grad = t(X).requires_grad_(True)
    with dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPScratchClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X_grad, t(y))
        proba = clf.predict_proba(X_grad)
    assert not proba.requires_grad and not clf.coefs_[0].requires_grad


def test_a_torch_model_pickles_and_loads_on_torch(digits_small):
    X, y = digits_small
    clf = _fitted_on_torch(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    with dispatch():
        np.testing.assert_array_equal(copy.predict_proba(t(X)).numpy(), clf.predict_proba(t(X)).numpy())
        copy.partial_fit(t(X), t(y))  # the flat vector is rebuilt in torch, and training goes on
    assert isinstance(copy._get_flat_params(), torch.Tensor)


def test_a_saved_torch_model_resumes_on_numpy(digits_small, tmp_path):
    """skscratch.save keeps the optimizer state: partial_fit on NumPy goes on as on torch."""
    X, y = digits_small
    clf = _fitted_on_torch(X, y)
    skscratch.save(clf, tmp_path / "m.npz")
    loaded = skscratch.load(tmp_path / "m.npz")
    loaded.partial_fit(X, y)
    with dispatch():
        clf.partial_fit(t(X), t(y))
    np.testing.assert_allclose(loaded.coefs_[0], clf.coefs_[0].numpy(), atol=1e-12)


def _exact_mean(correct, sample_weight=None):
    """The (weighted) fraction of True, as NumPy computes it on the host: in float64."""
    return float(np.average(np.asarray(correct), weights=sample_weight))


def skip_where_float32_is_exact(expected):
    """These tests tell float64 from float32 only at an accuracy float32 rounds; the network's answers
    (after one epoch on this machine's BLAS) decide the accuracy, so on another machine it may be exact."""
    if float(np.float32(expected)) == expected:
        pytest.skip(f"the accuracy {expected!r} is exact in float32 on this machine: float64 cannot be told apart")


@pytest.mark.parametrize("array_dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("weights", [None, "float64", "float32"])
def test_score_is_counted_in_float64_on_torch(digits_small, array_dtype, weights):
    """An accuracy of torch input is NumPy's float64 fraction of the model's own right answers.

    scikit-learn averages integer labels of PyTorch in its default float32:
    0.8999999761581421 for 0.9. max_iter=1 leaves the network far from every
    label right, at an accuracy float32 cannot hold.
    """
    X, y = digits_small
    X = X.astype(array_dtype)
    sample_weight = None if weights is None else np.random.RandomState(0).randint(0, 3, len(y)).astype(weights)
    with dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPScratchClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(t(X), t(y))
        predicted = clf.predict(t(X)).numpy()
        score = clf.score(t(X), t(y), sample_weight=t(sample_weight))
        score_numpy_y = clf.score(t(X), y, sample_weight=sample_weight)
    expected = _exact_mean(predicted == y, sample_weight)
    skip_where_float32_is_exact(expected)
    assert type(score) is float and score == expected and score_numpy_y == expected


def test_multilabel_score_is_counted_in_float64_on_torch(digits_small):
    X, y = digits_small
    Y = np.column_stack([y % 2, y > 4, y == 3]).astype(int)
    with dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPScratchClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(t(X), t(Y))
        predicted = clf.predict(t(X)).numpy()
        score = clf.score(t(X), t(Y))
    expected = _exact_mean((predicted == Y).all(axis=1))
    skip_where_float32_is_exact(expected)
    assert score == expected


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("array_dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("scoring", ["accuracy", "balanced_accuracy", None])
def test_early_stopping_scores_are_float64_on_torch(digits_small, array_dtype, scoring, weighted):
    """The validation score of an epoch is the NumPy metric of the network's own predictions, in float64.

    One epoch, so the fitted network is the one the score was taken of.
    scikit-learn's accuracies of PyTorch labels without weights are float32.
    """
    X, y = digits_small
    X = X.astype(array_dtype)
    X_val, y_val = X[:59], y[:59]  # a prime count: k / 59 is not a float32 for 0 < k < 59
    weights = np.random.RandomState(1).randint(1, 6, 59).astype(array_dtype) if weighted else None
    with dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPScratchClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0, early_stopping=True,
                                   scoring=scoring).fit(t(X), t(y), X_val=t(X_val), y_val=t(y_val),
                                                        sample_weight_val=t(weights))
        predicted = clf.predict(t(X_val)).numpy()
    metric = balanced_accuracy_score if scoring == "balanced_accuracy" else accuracy_score
    expected = metric(y_val, predicted, sample_weight=weights)
    skip_where_float32_is_exact(expected)
    score = clf.validation_scores_[0]
    assert type(score) is float and score == pytest.approx(expected, rel=1e-15, abs=0)
    assert clf.history_["val_score"].iloc[0] == score
