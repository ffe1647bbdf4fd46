"""Bad input, bad parameters and numerical safety of MLPScratchClassifier, and of
MLPScratchRegressor where a test is parametrized over both.

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

from _weights import weights
from skscratch import MLPScratchClassifier, MLPScratchRegressor

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
    before = [w.copy() for w in weights(clf)]
    with pytest.raises(ValueError, match="X has 3 features, but MLPScratchClassifier is expecting 4"):
        clf.partial_fit(X[:, :3], y)
    # the failed call left the model untouched
    for w, w0 in zip(weights(clf), before, strict=True):
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


@pytest.mark.parametrize("Estimator", [MLPScratchClassifier, MLPScratchRegressor])
def test_no_partial_fit_for_lbfgs(Estimator):
    assert not hasattr(Estimator(solver="lbfgs"), "partial_fit")
    assert hasattr(Estimator(solver="adam"), "partial_fit")
    assert hasattr(Estimator(solver="sgd"), "partial_fit")


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
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1], strict=True):
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
@pytest.mark.parametrize("Estimator", [MLPScratchClassifier, MLPScratchRegressor])
def test_divergence_warns_and_keeps_finite_weights(Estimator):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    if Estimator is MLPScratchRegressor:
        y = 100.0 * y  # large targets, large first steps
    max_iter = 20
    model = Estimator(
        hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=1e4,
        momentum=0.9, max_iter=max_iter, random_state=0,
    )  # fmt: skip
    with pytest.warns(ConvergenceWarning, match="diverged"):
        model.fit(X, y)
    assert model.n_iter_ < max_iter  # training stopped when it blew up
    assert len(model.loss_curve_) == model.n_iter_
    assert np.isfinite(model.loss_curve_).all()
    for w in weights(model):
        assert np.isfinite(w).all()
    prediction = model.predict(X)
    if Estimator is MLPScratchRegressor:
        assert np.isfinite(prediction).all()
        return
    proba = model.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert not np.isnan(model.predict_log_proba(X)).any()
    np.testing.assert_array_equal(prediction, model.classes_[np.argmax(proba, axis=1)])


# ----------------------------------------------------------------------
# The bad-input matrix: every bad input, every public method, both estimators.
# Each must raise ValueError or TypeError with words that say what was wrong.


def _with(X, value):
    X = X.astype(object if isinstance(value, str) else X.dtype)
    X[3, 1] = value
    return X


BAD_X = {  # name: (the bad X made from a good one, the words of the error)
    "NaN": (lambda X: _with(X, np.nan), "Input X contains NaN"),
    "inf": (lambda X: _with(X, np.inf), "Input X contains infinity"),
    "-inf": (lambda X: _with(X, -np.inf), "Input X contains infinity"),
    "a string": (lambda X: _with(X, "abc"), "could not convert string to float: 'abc'"),
    "None in a cell": (lambda X: _with(X.astype(object), None), "Input X contains NaN"),
    "complex": (lambda X: X + 1j, "Complex data not supported"),
    "1-D": (lambda X: X[:, 0], "Expected 2D array, got 1D array"),
    "3-D": (lambda X: X.reshape(len(X), 2, 2), "Found array with dim 3"),
    "no rows": (lambda X: X[:0], r"0 sample\(s\)"),
    "no columns": (lambda X: X[:, :0], r"0 feature\(s\)"),
    "None": (lambda X: None, "Expected 2D array, got scalar array"),
    "ragged rows": (lambda X: [[1.0, 2.0], [3.0]], "inhomogeneous"),
    "a dict": (lambda X: {"x": 1}, "float\\(\\) argument must be a string or a real number, not 'dict'"),
}
WRONG_FEATURES = (lambda X: X[:, :3], r"X has 3 features, but MLPScratch\w+ is expecting 4 features")
BAD_Y = {
    "NaN": (lambda y: np.where(np.arange(len(y)) == 7, np.nan, y), "Input (y|y_true) contains NaN"),
    "inf": (lambda y: np.where(np.arange(len(y)) == 7, np.inf, y), "Input (y|y_true) contains infinity"),
    "wrong length": (lambda y: y[:-1], r"inconsistent numbers of samples: \[(150, 149|149, 150)\]"),
    "None": (lambda y: None, "requires y to be passed, but the target y is None"),
    "2-D of the wrong length": (lambda y: np.column_stack([y, y])[:-2],
                                r"inconsistent numbers of samples: \[(150, 148|148, 150)\]"),
}
BAD_WEIGHTS = {
    "NaN": (lambda w: np.where(np.arange(len(w)) == 7, np.nan, w), "Input sample_weight contains NaN"),
    "inf": (lambda w: np.where(np.arange(len(w)) == 7, np.inf, w), "Input sample_weight contains infinity"),
    "negative": (lambda w: np.where(np.arange(len(w)) == 7, -1.0, w), "Negative values in data passed to `sample_weight`"),
    "wrong length": (lambda w: w[:-1], r"sample_weight.shape == \(149,\), expected \(150,\)"),
    "2-D": (lambda w: np.column_stack([w, w]), "Sample weights must be 1D"),
    "all zero": (lambda w: 0 * w, "Sample weights must contain at least one non-zero number"),
    "sum overflows": (lambda w: np.full_like(w, 1e307), "sample weights \\(sample_weight\\) are too large"),
    "strings": (lambda w: w.astype(str).astype(object) + "kg", "could not convert string to float"),
}
ESTIMATORS = {"classifier": MLPScratchClassifier, "regressor": MLPScratchRegressor}
METHODS = ["fit", "partial_fit", "partial_fit after fit", "predict", "predict_proba", "predict_log_proba", "score"]


@pytest.fixture(scope="module")
def fitted_models(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {kind: Estimator(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
                for kind, Estimator in ESTIMATORS.items()}


def call(kind, method, fitted_models, X, y, sample_weight=None):
    """Call ``method`` the way a user would, on a fresh or a fitted estimator."""
    if method in ("fit", "partial_fit"):
        model = ESTIMATORS[kind](hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    else:
        model = copy.deepcopy(fitted_models[kind])
    if not hasattr(model, method.split()[0]):
        pytest.skip(f"the {kind} has no {method}")
    weights = {} if sample_weight is None else {"sample_weight": sample_weight}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if method == "fit":
            return model.fit(X, y, **weights)
        if method.startswith("partial_fit"):
            extra = {"classes": [0, 1, 2]} if kind == "classifier" else {}
            return model.partial_fit(X, y, **weights, **extra)
        if method == "score":
            return model.score(X, y, **weights)
        return getattr(model, method)(X)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize("bad", [*BAD_X, "3 features instead of 4"])
def test_bad_X_everywhere(iris, fitted_models, kind, method, bad):
    X, y = iris
    make, words = WRONG_FEATURES if bad == "3 features instead of 4" else BAD_X[bad]
    if bad == "3 features instead of 4" and method in ("fit", "partial_fit"):
        pytest.skip("a fresh model takes any number of features")
    bad_X = make(X)
    n = len(bad_X) if hasattr(bad_X, "__len__") and not isinstance(bad_X, dict) else len(y)
    with pytest.raises((ValueError, TypeError), match=words):
        call(kind, method, fitted_models, bad_X, y[:n] if n <= len(y) else y)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "partial_fit after fit", "score"])
@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize("bad", BAD_Y)
def test_bad_y_everywhere(iris, fitted_models, kind, method, bad):
    X, y = iris
    make, words = BAD_Y[bad]
    if method == "score" and bad == "None":
        words = "y_true|y_pred|None|Expected array-like"
    with pytest.raises((ValueError, TypeError), match=words):
        call(kind, method, fitted_models, X, make(y.astype(float)))


@pytest.mark.parametrize("method", ["fit", "partial_fit", "partial_fit after fit"])
@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize("bad", BAD_WEIGHTS)
def test_bad_sample_weight_everywhere(iris, fitted_models, kind, method, bad):
    X, y = iris
    make, words = BAD_WEIGHTS[bad]
    with pytest.raises((ValueError, TypeError), match=words):
        call(kind, method, fitted_models, X, y, make(np.ones(len(y))))


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_unknown_labels_and_non_numeric_targets(iris, fitted_models, kind):
    X, y = iris
    if kind == "classifier":
        with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`: \[7\]"):
            call(kind, "partial_fit after fit", fitted_models, X, np.where(y == 2, 7, y))
        with pytest.raises(ValueError, match="Unknown label type: continuous"):
            call(kind, "fit", fitted_models, X, y + 0.5)
    else:
        with pytest.raises(ValueError, match="(needs numeric targets|could not convert)"):
            call(kind, "fit", fitted_models, X, np.array(["a", "b", "c"])[y])
        # numbers written as text are refused too, not read as numbers
        with pytest.raises(ValueError, match="numeric"):
            call(kind, "fit", fitted_models, X, (y / 3).astype(str).astype("U20"))


# ----------------------------------------------------------------------
# class_weight is checked like sample_weight, before any training


@pytest.mark.parametrize("class_weight, words", [
    ({0: np.nan}, r"class_weight\[0\] = nan: class weights must be finite, non-negative numbers"),
    ({1: np.inf}, r"class_weight\[1\] = inf"),
    ({2: -1.0}, r"class_weight\[2\] = -1.0"),
    ({0: "heavy"}, r"class_weight\[0\] = 'heavy'"),
    ({0: True}, r"class_weight\[0\] = True"),
    ({0: 1.0, 7: 2.0}, r"class_weight has keys that are not classes: \[7\]. The classes are \[0, 1, 2\]"),
    ({"0": 2.0}, r"keys that are not classes: \['0'\]"),
    ({0: 0.0, 1: 0.0, 2: 0.0}, r"sample weights \(class_weight\) sum to zero"),
    ({0: 1e308, 1: 1e308, 2: 1e308}, r"sample weights \(class_weight\) are too large"),
])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_class_weight_is_refused_before_training(iris, class_weight, words, method):
    X, y = iris
    clf = make_clf(class_weight=class_weight)
    with pytest.raises(ValueError, match=words):
        if method == "fit":
            clf.fit(X, y)
        else:
            clf.partial_fit(X, y, classes=[0, 1, 2])
    assert not hasattr(clf, "coefs_")  # nothing was trained, nothing half-set
    assert not hasattr(clf, "classes_")


def test_class_weight_zero_for_the_classes_present_is_refused_in_partial_fit(iris):
    """classes= names 3 classes; the batch holds only the two weighted 0: nothing to learn."""
    X, y = iris
    clf = make_clf(class_weight={0: 0.0, 1: 0.0})
    with pytest.raises(ValueError, match="sum to zero"):
        clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])


def test_class_weight_times_sample_weight_zero_everywhere(iris):
    X, y = iris
    sample_weight = (y == 0).astype(float)  # only class 0 counts...
    with pytest.raises(ValueError, match=r"\(sample_weight times class_weight\) sum to zero"):
        make_clf(class_weight={0: 0.0}).fit(X, y, sample_weight=sample_weight)  # ...and it weighs 0


def test_class_weight_dict_for_multilabel_is_refused_clearly(iris):
    X, y = iris
    Y = np.column_stack([y == 0, y == 1]).astype(int)
    with pytest.raises(ValueError, match="class_weight as a dict is not supported for multilabel"):
        make_clf(class_weight={0: 2.0}).fit(X, Y)


def test_class_weight_with_string_classes(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = make_clf(class_weight={"virginica": 3.0}).fit(X, names)
    with pytest.raises(ValueError, match=r"not classes: \['Virginica'\]"):
        make_clf(class_weight={"Virginica": 3.0}).fit(X, names)
    assert clf.predict(X).dtype.kind == "U"


# ----------------------------------------------------------------------
# Overflow messages name the real culprit


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("culprit, make, words", [
    ("X", lambda X, y, w: (X * 1.7e308, y, w, {}), r"X has values too large for this network"),
    ("y", lambda X, y, w: (X, y * 1e200, w, {}), r"the targets y are too large \(largest \|y\| = 1\.2e\+200\)"),
    ("y, float32", lambda X, y, w: (X.astype(np.float32), y * 1e20, w, {}), r"targets y are too large.*float32"),
    ("weights", lambda X, y, w: (X, 10 * y, w * 1e306, {}), r"the sample weights are too large"),
    ("tiny weights", lambda X, y, w: (X, y, w * 1e-320, {"alpha": 1.0}), r"the sample weights are too small"),
    ("alpha", lambda X, y, w: (X, y, w, {"alpha": 1.7e308}), r"alpha=1\.7e\+308 is so large that the L2 penalty overflows"),
])
def test_overflow_names_the_culprit(culprit, make, words, solver):
    rng = np.random.RandomState(0)
    X, y, w = rng.uniform(size=(50, 3)), 1.2 * np.linspace(-1, 1, 50), np.ones(50)
    X, y, w, params = make(X, y, w)
    model = MLPScratchRegressor(hidden_layer_sizes=(4,), solver=solver, max_iter=3, random_state=0, **params)
    with pytest.raises(ValueError, match=words) as error:
        model.fit(X, y, sample_weight=w)
    if culprit != "alpha":  # input data to blame: scikit-learn's words come first
        assert str(error.value).startswith("Solver produced non-finite parameter weights. The input data")
    for other in ("X has values", "targets y", "sample weights", "alpha="):  # one culprit, no other
        assert (other in str(error.value)) == (other in words.replace("\\", "")), other


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_learning_rate_that_blows_up_is_named(digits01):
    X, y = digits01
    with pytest.warns(ConvergenceWarning, match=r"diverged.*smaller learning_rate_init \(now 1000000.0\)"):
        make_clf(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=1e6).fit(X, y)


# ----------------------------------------------------------------------
# The environment never breaks the import


@pytest.mark.parametrize("value, threads, warns", [
    ("2", 2, False), ("1", 1, False), ("64", 4, False), ("", None, False), ("0", None, False),
    (" 3 ", 3, False), ("abc", None, True), ("-2", None, True), ("1.5", None, True), ("2e3", None, True),
])
def test_skscratch_num_threads_from_the_environment(value, threads, warns, monkeypatch):
    import os

    from skscratch._engine import parallel as _parallel

    auto = max(1, min(4, os.cpu_count() or 1))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        cap = _parallel._thread_cap({"SKSCRATCH_NUM_THREADS": value})
    assert cap == (auto if threads is None else threads)
    told = [str(w.message) for w in record if "SKSCRATCH_NUM_THREADS" in str(w.message)]
    assert bool(told) == warns, told
    if warns:
        assert f"SKSCRATCH_NUM_THREADS={value!r} is not a positive integer and is ignored" in told[0]


def test_importing_with_a_bad_thread_variable_warns_and_works():
    import os
    import subprocess
    import sys

    env = {**os.environ, "SKSCRATCH_NUM_THREADS": "lots"}
    code = ("import warnings; warnings.simplefilter('always');"
            "import skscratch, numpy as np; from sklearn.datasets import load_iris;"
            "X, y = load_iris(return_X_y=True);"
            "print(skscratch.MLPScratchClassifier(max_iter=50, random_state=0).fit(X, y).score(X, y) > 0.8)")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    assert "SKSCRATCH_NUM_THREADS='lots' is not a positive integer and is ignored" in result.stderr


# ----------------------------------------------------------------------
# Parameter fuzzing: any constructor setting either works or is refused with
# InvalidParameterError / ValueError. Never another exception, never NaN.

FUZZ_VALUES = {
    "hidden_layer_sizes": [(4,), (3, 2), [], 4, np.array([3, 2]), (np.int64(3),), (0,), (-2,), (2.5,),
                           "4", None, (True,), ((3,),)],
    "activation": ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus", None, 1],
    "solver": ["lbfgs", "sgd", "adam", "adamw", "newton", None],
    "alpha": [0, 1e-4, 10.0, 1e300, np.inf, -1.0, np.nan, "1", None],
    "batch_size": ["auto", 1, 7, 1000, 0, -5, 2.5, "big", None],
    "learning_rate": ["constant", "invscaling", "adaptive", "cosine", "fast"],
    "learning_rate_init": [1e-3, 0.1, 1e6, np.inf, 0, -1.0, np.nan],
    "power_t": [0.5, 0, 3.0, -1.0, np.nan],
    "max_iter": [1, 3, 0, -1, 2.5, None],
    "shuffle": [True, False, 1, "yes", None],
    "random_state": [0, None, np.random.RandomState(1), -1, "seed", 2**32],
    "tol": [1e-4, 0, np.inf, -1.0, np.nan],
    "warm_start": [False, True, "no"],
    "momentum": [0.9, 0, 1, 1.5, -0.1, np.nan],
    "nesterovs_momentum": [True, False, None],
    "early_stopping": [False, True, "yes"],
    "validation_fraction": [0.1, 0.5, 0.99, 0, 1, -0.1, np.nan],
    "beta_1": [0.9, 0, 0.999, 1, -0.1, np.nan],
    "beta_2": [0.999, 0, 1, 2.0],
    "epsilon": [1e-8, np.inf, 0, -1.0],
    "n_iter_no_change": [10, 1, np.inf, 0, -1, 2.5],
    "max_fun": [15000, 1, 0, -1],
    "dtype": [None, "float32", "float64", np.float32, np.float64, "int32", float, "float16"],
    "max_grad_norm": [None, 1.0, 1e-30, np.inf, 0, -1.0, np.nan],
    "warmup_iter": [0, 2, 100, -1, 2.5],
    "dropout": [0.0, 0.5, 0.999, (0.1,), [0.2, 0.3], 1.0, -0.1, np.nan, "0.1", (0.5, 0.5, 0.5), None],
    "scoring": [None, "loss", "neg_log_loss", "no_such_scorer", 5, lambda est, X, y: 0.5],
    "verbose": [False, True, 0, "loud"],
}
CLASSIFIER_VALUES = {"class_weight": [None, "balanced", {0: 2.0}, {9: 1.0}, {0: -1.0}, {0: np.nan}, "weird"]}
REGRESSOR_VALUES = {"loss": ["squared_error", "poisson", "huber", None]}


def random_settings(rng, values):
    """Each parameter changed from its default with probability 0.1, to a value from the list."""
    settings = {"max_iter": 4}  # small fits, unless the fuzz picks max_iter
    for name, options in values.items():
        if rng.uniform() < 0.1:
            settings[name] = options[rng.randint(len(options))]
    return settings


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.filterwarnings("ignore")
def test_parameter_fuzzing(iris, kind, capsys):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = iris
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    Estimator = ESTIMATORS[kind]
    values = {**FUZZ_VALUES, **(CLASSIFIER_VALUES if kind == "classifier" else REGRESSOR_VALUES)}
    target = y if kind == "classifier" else y.astype(float)
    rng = np.random.RandomState(0)
    outcomes = {"fitted": 0, "refused": 0}
    for trial in range(400):
        settings = random_settings(rng, values)
        model = Estimator(**copy.deepcopy(settings))
        try:
            model.fit(X, target)
        except (InvalidParameterError, ValueError) as error:
            assert str(error), settings  # a message that says something
            outcomes["refused"] += 1
            continue
        except Exception as error:  # anything else is a defect
            raise AssertionError(f"{settings} raised {type(error).__name__}: {error}") from error
        outcomes["fitted"] += 1
        assert np.isfinite(model.loss_), settings
        out = model.predict_proba(X) if kind == "classifier" else model.predict(X)
        assert np.isfinite(out).all(), settings
    capsys.readouterr()  # verbose=True prints
    assert outcomes["fitted"] > 20 and outcomes["refused"] > 20, outcomes


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("Estimator, make, words", [
    # each sample's loss is finite (about 1e305), and only their sum overflows
    (MLPScratchClassifier, lambda X, y: (X * 1e306, y), r"X has values too large for this network"),
    (MLPScratchRegressor, lambda X, y: (X, (y + 1) * 1e153), r"the targets y are too large"),
])
def test_unweighted_losses_whose_sum_overflows_name_the_culprit(digits01, Estimator, make, words, solver):
    """Found by the array-API work: without sample weights, the message used to fail on ``None.max()``."""
    X, y = make(*digits01)
    with pytest.raises(ValueError, match=words) as error:
        Estimator(hidden_layer_sizes=(16,), solver=solver, max_iter=2, random_state=0).fit(X[:600], y[:600])
    assert "sample weights" not in str(error.value)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_weights_of_one_are_not_blamed_for_an_overflowing_sum(digits01):
    X, y = digits01
    with pytest.raises(ValueError, match="X has values too large") as error:
        MLPScratchClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(
            X[:600] * 1e306, y[:600], sample_weight=np.ones(600))
    assert "sample weights" not in str(error.value)
