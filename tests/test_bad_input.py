"""Bad input, bad parameters and numerical safety of MLPScratchClassifier.

Every error must be raised with a message that says what is wrong, the way
scikit-learn's own messages do, and the estimator must never hand back NaN.
"""

import copy
import re
import warnings

import numpy as np
import pytest
from scipy.special import expit, log_softmax, softmax
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skscratch import MLPScratchClassifier

def make_clf(**params):
    params.setdefault("hidden_layer_sizes", (5,))
    params.setdefault("max_iter", 5)
    params.setdefault("random_state", 0)
    return MLPScratchClassifier(**params)


@pytest.fixture(scope="module")
def fitted_iris(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning):
        return make_clf().fit(X, y)


def all_weights(clf):
    return [*clf.coefs_, *clf.intercepts_]


# ----------------------------------------------------------------------
# Invalid X and y at fit


def test_nan_in_X(iris):
    X, y = iris
    X = X.copy()
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        make_clf().fit(X, y)


def test_inf_in_X(iris):
    X, y = iris
    X = X.copy()
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        make_clf().fit(X, y)


def test_nan_in_y(iris):
    X, y = iris
    y = y.astype(float)
    y[7] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        make_clf().fit(X, y)


def test_empty_X():
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        make_clf().fit(np.empty((0, 4)), np.array([], dtype=int))


def test_1d_X(iris):
    X, y = iris
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        make_clf().fit(X[:, 0], y)


def test_3d_X(iris):
    X, y = iris
    with pytest.raises(ValueError, match="Found array with dim 3"):
        make_clf().fit(X.reshape(150, 2, 2), y)


def test_complex_X(iris):
    X, y = iris
    with pytest.raises(ValueError, match="Complex data not supported"):
        make_clf().fit(X + 1j, y)


def test_non_numeric_strings_in_X(iris):
    X, y = iris
    X = X.astype(object)
    X[0, 0] = "abc"
    with pytest.raises((ValueError, TypeError), match="could not convert string to float: 'abc'"):
        make_clf().fit(X, y)


def test_continuous_y(iris):
    X, _ = iris
    y = np.linspace(0.5, 1.7, X.shape[0])
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        make_clf().fit(X, y)


def test_X_y_different_lengths(iris):
    X, y = iris
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[150, 149\]"):
        make_clf().fit(X, y[:-1])


# ----------------------------------------------------------------------
# Wrong number of features after fitting


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba"])
def test_wrong_n_features_at_predict(fitted_iris, iris, method):
    X, _ = iris
    with pytest.raises(ValueError, match="X has 3 features, but MLPScratchClassifier is expecting 4"):
        getattr(fitted_iris, method)(X[:, :3])


def test_wrong_n_features_at_partial_fit(iris):
    X, y = iris
    clf = make_clf().partial_fit(X, y, classes=np.unique(y))
    before = [w.copy() for w in all_weights(clf)]
    with pytest.raises(ValueError, match="X has 3 features, but MLPScratchClassifier is expecting 4"):
        clf.partial_fit(X[:, :3], y)
    # the failed call left the model untouched
    for w, w0 in zip(all_weights(clf), before):
        np.testing.assert_array_equal(w, w0)


def test_unfitted_predict(iris):
    X, _ = iris
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(make_clf(), method)(X)


def test_partial_fit_without_classes_on_first_call(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        make_clf().partial_fit(X, y)


# ----------------------------------------------------------------------
# sample_weight


def test_all_zero_sample_weight(iris):
    X, y = iris
    with pytest.raises(ValueError, match=r"(?i)sample.weight.*(non-zero|sums? to zero)"):
        make_clf().fit(X, y, sample_weight=np.zeros(X.shape[0]))


def test_negative_sample_weight(iris):
    X, y = iris
    sample_weight = np.ones(X.shape[0])
    sample_weight[10] = -1.0
    with pytest.raises(ValueError, match=r"Negative values.*sample_weight"):
        make_clf().fit(X, y, sample_weight=sample_weight)


# ----------------------------------------------------------------------
# A single class (documented: ValueError, unlike scikit-learn)


def test_single_class_fit(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="class"):
        make_clf().fit(X, np.full(X.shape[0], 7))


def test_single_class_partial_fit(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="class"):
        make_clf().partial_fit(X, np.zeros(X.shape[0], dtype=int), classes=[0])


# ----------------------------------------------------------------------
# Constructor parameters, validated at fit


@pytest.mark.parametrize(
    "params, message",
    [
        ({"activation": "softplus"}, "'activation' parameter"),
        ({"solver": "foo"}, "'solver' parameter"),
        ({"alpha": -1}, "'alpha' parameter"),
        ({"learning_rate_init": 0}, "'learning_rate_init' parameter"),
        ({"max_iter": 0}, "'max_iter' parameter"),
        ({"momentum": 1.5}, "'momentum' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
    ],
)
def test_invalid_constructor_params(iris, params, message):
    X, y = iris
    clf = make_clf(**params)  # the constructor itself does not validate
    with pytest.raises(InvalidParameterError, match=message):
        clf.fit(X, y)


@pytest.mark.parametrize("sizes", [(0,), (2.5,), (4, -1)])
def test_invalid_hidden_layer_sizes(iris, sizes):
    X, y = iris
    with pytest.raises(ValueError, match=r"hidden_layer_sizes must hold positive integers"):
        make_clf(hidden_layer_sizes=sizes).fit(X, y)


def test_no_partial_fit_for_lbfgs():
    assert not hasattr(make_clf(solver="lbfgs"), "partial_fit")
    assert hasattr(make_clf(solver="adam"), "partial_fit")
    assert hasattr(make_clf(solver="sgd"), "partial_fit")


# ----------------------------------------------------------------------
# Numerical safety


def overflowing_input(X):
    # X in [0, 1] times nearly the largest float64: finite, but X @ W overflows
    return X * 1.7e308


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_overflowing_input_raises_at_fit(digits01, solver):
    X, y = digits01
    X_big = overflowing_input(X)
    assert np.isfinite(X_big).all()  # validation alone cannot catch it
    clf = make_clf(hidden_layer_sizes=(16,), solver=solver)
    with pytest.raises(ValueError, match="overflow"):
        clf.fit(X_big, y)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_overflowing_samples_in_a_later_batch_raise_at_fit(digits01, solver):
    X, y = digits01
    X = X.copy()
    X[-100:] = overflowing_input(X[-100:])  # only the last samples are huge
    clf = make_clf(hidden_layer_sizes=(16,), solver=solver, shuffle=False)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            clf.fit(X, y)
        except ValueError as error:
            assert re.search("overflow", str(error)), str(error)
            return
    messages = [str(w.message) for w in record if w.category is ConvergenceWarning]
    raise AssertionError(
        f"fit did not raise ValueError; n_iter_={clf.n_iter_}, warnings: {messages}"
    )


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba"])
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_overflowing_input_raises_at_predict(digits01, method):
    X, y = digits01
    with pytest.warns(ConvergenceWarning):
        clf = make_clf(hidden_layer_sizes=(16,), max_iter=10).fit(X, y)
    # the premise: the same network on the same input is fine
    assert np.isfinite(clf.predict_proba(X)).all()
    with pytest.raises(ValueError, match="forward pass overflowed"):
        getattr(clf, method)(overflowing_input(X))


@pytest.mark.parametrize("where", ["coefs_", "intercepts_"])
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba"])
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_weights_raise_at_predict(fitted_iris, iris, where, method):
    X, _ = iris
    clf = copy.deepcopy(fitted_iris)
    getattr(clf, where)[0][0, ...] = np.nan
    with pytest.raises(ValueError, match=r"weights contain NaN"):
        getattr(clf, method)(X)


def logits_of(clf, X):
    """The output layer's pre-activation, computed here (relu network)."""
    A = X
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        A = np.maximum(A @ W + b, 0)
    return A @ clf.coefs_[-1] + clf.intercepts_[-1]


@pytest.fixture(scope="module", params=["binary", "multiclass"])
def huge_logit_model(request, iris):
    """A fitted model whose last layer is scaled so its logits reach +-1000."""
    X, y = iris
    if request.param == "binary":
        y = (y == 2).astype(int)
    clf = MLPScratchClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=200, random_state=0)
    clf.fit(X, y)
    Z = logits_of(clf, X)
    factor = 1000.0 / min(Z.max(), -Z.min())  # the smaller side reaches 1000 too
    clf.coefs_[-1] *= factor
    clf.intercepts_[-1] *= factor
    Z = logits_of(clf, X)
    # the premise: logits of both signs beyond where exp over/underflows
    assert Z.max() > 750 and Z.min() < -750
    assert (clf.out_activation_ == "logistic") == (request.param == "binary")
    return clf, X, Z


def test_huge_logits_give_finite_predict_proba(huge_logit_model):
    clf, X, Z = huge_logit_model
    proba = clf.predict_proba(X)
    assert proba.shape == (X.shape[0], len(clf.classes_))
    assert not np.isnan(proba).any()
    assert np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    if clf.n_outputs_ == 1:
        expected = np.hstack([expit(-Z), expit(Z)])
    else:
        expected = softmax(Z, axis=1)
    np.testing.assert_allclose(proba, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(proba, axis=1)])


def test_huge_logits_give_predict_log_proba_without_nan(huge_logit_model):
    """log(predict_proba): exact where the probability is representable, -inf
    only where it underflows to 0 (as sklearn's check_classifiers_train demands)."""
    clf, X, Z = huge_logit_model
    log_proba = clf.predict_log_proba(X)
    assert log_proba.shape == (X.shape[0], len(clf.classes_))
    assert not np.isnan(log_proba).any()
    assert (log_proba <= 0).all()
    if clf.n_outputs_ == 1:
        expected = np.hstack([-np.logaddexp(0, Z), -np.logaddexp(0, -Z)])
    else:
        expected = log_softmax(Z, axis=1)
    proba = clf.predict_proba(X)
    normal = proba >= np.finfo(proba.dtype).tiny
    subnormal = (proba > 0) & ~normal
    underflow = proba == 0
    assert normal.any() and underflow.any()  # both regimes occur
    np.testing.assert_allclose(log_proba[normal], expected[normal], rtol=1e-9, atol=1e-12)
    # subnormal probabilities carry fewer digits, their logs stay close
    np.testing.assert_allclose(log_proba[subnormal], expected[subnormal], rtol=1e-3)
    assert (log_proba[underflow] == -np.inf).all()
    assert (expected[underflow] < -700).all()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_divergence_warns_and_keeps_finite_weights():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    max_iter = 20
    clf = MLPScratchClassifier(
        hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=1e4,
        momentum=0.9, max_iter=max_iter, random_state=0,
    )  # fmt: skip
    with pytest.warns(ConvergenceWarning, match="diverged"):
        clf.fit(X, y)
    assert clf.n_iter_ < max_iter  # training stopped when it blew up
    assert len(clf.loss_curve_) == clf.n_iter_
    assert np.isfinite(clf.loss_curve_).all()
    for w in all_weights(clf):
        assert np.isfinite(w).all()
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert not np.isnan(clf.predict_log_proba(X)).any()
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(proba, axis=1)])
