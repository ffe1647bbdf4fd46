"""partial_fit's validation set (X_val, y_val, sample_weight_val): what it records, what it refuses,
that it never changes training, and its metadata routing."""

import doctest

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.metrics import f1_score
from sklearn.multioutput import MultiOutputClassifier, MultiOutputRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from _weights import assert_same_weights
from skscratch import MLPScratchClassifier, MLPScratchRegressor

ignore_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

VAL_COLUMNS = ["val_loss", "val_score"]


@pytest.fixture(scope="module")
def digits(digits01):
    """Training and validation rows of the 8x8 digits, and the classes."""
    X, y = digits01
    return X[:1200], y[:1200], X[1200:], y[1200:], np.unique(y)


@pytest.fixture(scope="module")
def regression(digits01):
    """A regression on the digits' pixels: two targets, scaled to unit variance."""
    X, y = digits01
    Y = np.column_stack([y, X[:, 20] * 3 - X[:, 43]])
    Y = (Y - Y.mean(axis=0)) / Y.std(axis=0)
    return X[:1200], Y[:1200], X[1200:], Y[1200:]


def epochs(model, X, y, n, **kwargs):
    """``n`` calls of partial_fit on the same data (the classic epoch loop)."""
    for _ in range(n):
        model.partial_fit(X, y, **kwargs)
    return model


def classes_for(model, classes):
    return {"classes": classes} if isinstance(model, MLPScratchClassifier) else {}


# ----------------------------------------------------------------------
# what each call records


def test_each_call_records_the_validation_loss_and_score_of_its_epoch(digits):
    X, y, X_val, y_val, classes = digits
    clf = MLPScratchClassifier((16,), random_state=0)
    scores = []
    for _ in range(4):
        clf.partial_fit(X, y, classes=classes, X_val=X_val, y_val=y_val)
        scores.append(clf.score(X_val, y_val))
        # the row of the epoch just ended, with the weights it ended with
        assert clf.history_["val_loss"].iloc[-1] == pytest.approx(
            -np.mean(np.log(clf.predict_proba(X_val)[np.arange(len(y_val)), y_val])), rel=1e-10)
    history = clf.history_
    assert list(history["epoch"]) == [1, 2, 3, 4]
    assert list(history["val_score"]) == scores
    assert history["val_loss"].is_monotonic_decreasing  # a learning curve, one point per call
    # records only: partial_fit keeps no early-stopping records
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None


def test_a_call_without_a_validation_set_leaves_nan_in_its_row(digits):
    X, y, X_val, y_val, classes = digits
    clf = MLPScratchClassifier((16,), random_state=0).partial_fit(X, y, classes=classes)
    assert VAL_COLUMNS[0] not in clf.history_  # no validation yet: no columns, as for fit
    clf.partial_fit(X, y, X_val=X_val, y_val=y_val)
    clf.partial_fit(X, y)
    # the validation set may change from call to call
    clf.partial_fit(X, y, X_val=X_val[:100], y_val=y_val[:100])
    history = clf.history_
    assert history[VAL_COLUMNS].isna().all(axis=1).tolist() == [True, False, True, False]
    assert history["val_score"].iloc[-1] == clf.score(X_val[:100], y_val[:100])


@pytest.mark.parametrize("scoring", ["loss", "f1_macro", "callable"])
def test_scoring_chooses_the_validation_score(digits, scoring):
    X, y, X_val, y_val, classes = digits
    if scoring == "callable":
        scoring = lambda estimator, X, y: float(np.mean(estimator.predict(X) == y)) - 1  # noqa: E731
    clf = MLPScratchClassifier((16,), scoring=scoring, random_state=0)
    for _ in range(2):
        clf.partial_fit(X, y, classes=classes, X_val=X_val, y_val=y_val)
        row = clf.history_.iloc[-1]
        if scoring == "loss":
            assert row["val_score"] == -row["val_loss"]
        elif scoring == "f1_macro":
            assert row["val_score"] == pytest.approx(f1_score(y_val, clf.predict(X_val), average="macro"))
        else:
            assert row["val_score"] == pytest.approx(clf.score(X_val, y_val) - 1)


def test_validation_weights_weigh_the_loss_and_the_score(digits):
    X, y, X_val, y_val, classes = digits
    weights = np.random.default_rng(0).uniform(0, 2, len(y_val))
    clf = MLPScratchClassifier((16,), random_state=0)
    clf.partial_fit(X, y, classes=classes, X_val=X_val, y_val=y_val, sample_weight_val=weights)
    assert clf.history_["val_score"].iloc[-1] == pytest.approx(clf.score(X_val, y_val, sample_weight=weights))
    unweighted = MLPScratchClassifier((16,), random_state=0).partial_fit(X, y, classes=classes, X_val=X_val,
                                                                       y_val=y_val)
    assert clf.history_["val_loss"].iloc[-1] != unweighted.history_["val_loss"].iloc[-1]


# ----------------------------------------------------------------------
# the same records as fit's


def make(kind, **params):
    Estimator = MLPScratchClassifier if kind == "classifier" else MLPScratchRegressor
    return Estimator(hidden_layer_sizes=(16,), tol=0, n_iter_no_change=1000, **params)


@ignore_convergence
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "adamw"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_k_calls_record_what_fit_with_max_iter_k_records(digits, regression, kind, solver, dtype):
    """Bit for bit: without shuffling, k calls train as fit's k epochs, and each epoch's validation
    loss and score are computed from the same weights in the same way. (With shuffling they differ, as
    in scikit-learn: each of fit's epochs shuffles the order the last one left, each partial_fit call
    the rows as given.)"""
    X, y, X_val, y_val = regression if kind == "regressor" else digits[:4]
    X, X_val = X.astype(dtype), X_val.astype(dtype)
    weights = np.linspace(0.5, 1.5, len(X_val))
    validation = dict(X_val=X_val, y_val=y_val, sample_weight_val=weights)
    params = dict(solver=solver, shuffle=False, random_state=0)
    k = 5
    fitted = make(kind, max_iter=k, **params).fit(X, y, **validation)
    model = make(kind, **params)
    model.partial_fit(X, y, **classes_for(model, digits[4]), **validation)
    epochs(model, X, y, k - 1, **validation)

    assert fitted.n_iter_ == k and len(model.history_) == k
    assert_same_weights(model, fitted)
    for column in ["train_loss", *VAL_COLUMNS]:
        np.testing.assert_array_equal(model.history_[column], fitted.history_[column], err_msg=column)
    assert model.history_["val_loss"].notna().all()
    assert model.coefs_[0].dtype == dtype


def test_sparse_input_records_what_dense_input_records(digits):
    X, y, X_val, y_val, classes = digits
    dense = MLPScratchClassifier((16,), random_state=0).partial_fit(X, y, classes=classes, X_val=X_val, y_val=y_val)
    sparse = MLPScratchClassifier((16,), random_state=0).partial_fit(sp.csr_matrix(X), y, classes=classes,
                                                                     X_val=sp.csr_matrix(X_val), y_val=y_val)
    np.testing.assert_allclose(sparse.history_[VAL_COLUMNS], dense.history_[VAL_COLUMNS], rtol=1e-12)


def test_float64_validation_rows_are_scored_in_the_network_s_float32(digits):
    X, y, X_val, y_val, classes = digits
    X = X.astype(np.float32)
    as_float64 = MLPScratchClassifier((16,), random_state=0).partial_fit(X, y, classes=classes, X_val=X_val,
                                                                       y_val=y_val)
    as_float32 = MLPScratchClassifier((16,), random_state=0).partial_fit(X, y, classes=classes,
                                                                       X_val=X_val.astype(np.float32), y_val=y_val)
    assert as_float64.coefs_[0].dtype == np.float32
    np.testing.assert_array_equal(as_float64.history_[VAL_COLUMNS], as_float32.history_[VAL_COLUMNS])


def test_the_regressor_records_half_squared_error_and_r2(regression):
    X, Y, X_val, Y_val = regression
    reg = epochs(MLPScratchRegressor(hidden_layer_sizes=(16,), random_state=0), X, Y, 3, X_val=X_val, y_val=Y_val)
    row = reg.history_.iloc[-1]
    assert row["val_score"] == pytest.approx(reg.score(X_val, Y_val), rel=1e-10)
    assert row["val_loss"] == pytest.approx(np.mean(np.sum((reg.predict(X_val) - Y_val) ** 2, axis=1)) / 2,
                                            rel=1e-10)
    # one target: y_val of shape (n,) and (n, 1) alike
    one = [MLPScratchRegressor(hidden_layer_sizes=(8,), random_state=0).partial_fit(X, Y[:, 0], X_val=X_val,
                                                                                   y_val=y_val)
           for y_val in (Y_val[:, 0], Y_val[:, :1])]
    np.testing.assert_array_equal(one[0].history_[VAL_COLUMNS], one[1].history_[VAL_COLUMNS])


# ----------------------------------------------------------------------
# validation never changes training


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("extras", [{}, {"dropout": 0.2, "scoring": "loss"}], ids=["plain", "dropout"])
def test_the_weights_are_bit_identical_with_and_without_validation(digits, regression, kind, extras):
    """Shuffled (a seed), with dropout: the validation set draws nothing and touches no weight."""
    X, y, X_val, y_val = regression if kind == "regressor" else digits[:4]
    plain, watched = (make(kind, random_state=0, **extras) for _ in range(2))
    first = classes_for(plain, digits[4])
    plain.partial_fit(X, y, **first)
    watched.partial_fit(X, y, **first, X_val=X_val, y_val=y_val, sample_weight_val=np.ones(len(X_val)))
    epochs(plain, X, y, 3)
    epochs(watched, X, y, 3, X_val=X_val, y_val=y_val)
    assert_same_weights(plain, watched)
    assert plain.loss_curve_ == watched.loss_curve_ and plain.t_ == watched.t_
    assert plain.history_["learning_rate"].tolist() == watched.history_["learning_rate"].tolist()
    assert watched.history_["val_loss"].notna().all()


# ----------------------------------------------------------------------
# refusals: before any work, the model left as it was


def bad_validation_sets(X_val, y_val):
    nan = X_val.copy()
    nan[3, 5] = np.nan
    unknown = y_val.copy()
    unknown[:2] = 42
    n = len(y_val)
    return {
        "X_val without y_val": (dict(X_val=X_val), "X_val and y_val must be given together"),
        "y_val without X_val": (dict(y_val=y_val), "X_val and y_val must be given together"),
        "weights without X_val": (dict(sample_weight_val=np.ones(n)), "sample_weight_val was given without"),
        "wrong feature count": (dict(X_val=X_val[:, :10], y_val=y_val), "features"),
        "unknown classes": (dict(X_val=X_val, y_val=unknown),
                            r"y_val has classes not in y: \[42\]\. The model's classes: \[0 1 2"),
        "NaN in X_val": (dict(X_val=nan, y_val=y_val), "NaN"),
        "negative weights": (dict(X_val=X_val, y_val=y_val, sample_weight_val=-np.ones(n)),
                             r"sample_weight_val\) are not valid: Negative values"),
        "weights summing to zero": (dict(X_val=X_val, y_val=y_val, sample_weight_val=np.zeros(n)),
                                    "(sum to zero|non-zero)"),
        "wrong length": (dict(X_val=X_val, y_val=y_val[:-1]), "samples but y_val has"),
    }


CASES = list(bad_validation_sets(np.zeros((4, 64)), np.zeros(4)))


@pytest.mark.parametrize("case", CASES)
def test_a_bad_validation_set_is_refused_on_any_call(digits, case):
    X, y, X_val, y_val, classes = digits
    arguments, message = bad_validation_sets(X_val, y_val)[case]
    clf = MLPScratchClassifier((16,), random_state=0)
    with pytest.raises(ValueError, match=message):  # first call: still unfitted
        clf.partial_fit(X, y, classes=classes, **arguments)
    assert not hasattr(clf, "coefs_")
    clf.partial_fit(X, y, classes=classes, X_val=X_val, y_val=y_val)
    before = [a.copy() for a in (*clf.coefs_, *clf.intercepts_)]
    history = clf.history_
    with pytest.raises(ValueError, match=message):  # a later call: no epoch, no record
        clf.partial_fit(X, y, **arguments)
    assert all(np.array_equal(a, b) for a, b in zip(before, [*clf.coefs_, *clf.intercepts_], strict=True))
    assert clf.history_.equals(history) and clf.n_iter_ == 1


@pytest.mark.parametrize("case", ["wrong feature count", "NaN in X_val", "wrong length", "X_val without y_val"])
def test_the_regressor_refuses_a_bad_validation_set(regression, case):
    X, Y, X_val, Y_val = regression
    arguments, message = bad_validation_sets(X_val, Y_val)[case]
    with pytest.raises(ValueError, match=message):
        MLPScratchRegressor(hidden_layer_sizes=(8,), random_state=0).partial_fit(X, Y, **arguments)


def test_early_stopping_is_refused_with_or_without_a_validation_set(digits):
    X, y, X_val, y_val, classes = digits
    clf = MLPScratchClassifier((16,), early_stopping=True, random_state=0)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        clf.partial_fit(X, y, classes=classes, X_val=X_val, y_val=y_val)
    assert not hasattr(clf, "coefs_")


def test_the_arguments_are_keyword_only(digits):
    X, y, X_val, y_val, classes = digits
    with pytest.raises(TypeError):
        MLPScratchClassifier((16,)).partial_fit(X, y, None, classes, X_val, y_val)
    with pytest.raises(TypeError):
        MLPScratchRegressor(hidden_layer_sizes=(16,)).partial_fit(X, y, None, X_val, y_val)


def test_a_scorer_that_raises_leaves_the_records_as_they_were(iris):
    X, y = iris
    calls = []

    def scorer(estimator, X, y):
        calls.append(None)
        if len(calls) == 2:
            raise RuntimeError("the scorer failed")
        return 0.5

    clf = MLPScratchClassifier((5,), scoring=scorer, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2], X_val=X, y_val=y)
    with pytest.raises(RuntimeError, match="the scorer failed"):
        clf.partial_fit(X, y, X_val=X, y_val=y)
    assert len(clf.loss_curve_) == len(clf.history_) == 1 and clf.t_ == len(X)


# ----------------------------------------------------------------------
# metadata routing


@pytest.mark.parametrize("Estimator", [MLPScratchClassifier, MLPScratchRegressor])
def test_partial_fit_requests_the_validation_set_as_fit_does(Estimator):
    with sklearn.config_context(enable_metadata_routing=True):
        routing = Estimator().get_metadata_routing()
        model = Estimator().set_partial_fit_request(X_val=True, y_val=True, sample_weight_val="w_val")
        requests = model.get_metadata_routing().partial_fit.requests
    for method in ("fit", "partial_fit"):
        assert {"X_val", "y_val", "sample_weight_val"} <= set(getattr(routing, method).requests)
    assert requests["X_val"] is True and requests["y_val"] is True and requests["sample_weight_val"] == "w_val"


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_meta_estimator_routes_the_validation_set_to_partial_fit(digits, regression, kind):
    """MultiOutputClassifier and MultiOutputRegressor route partial_fit's metadata (a Pipeline has no
    partial_fit); with one output, the sub-estimator records what a direct call records."""
    if kind == "classifier":
        X, y, X_val, y_val, classes = digits
        Y, Meta, first, direct_first = y[:, None], MultiOutputClassifier, {"classes": [classes]}, {"classes": classes}
    else:
        X, Y, X_val, Y_val = regression
        Y, y_val, Meta, first, direct_first = Y[:, :1], Y_val[:, 0], MultiOutputRegressor, {}, {}
    weights = np.linspace(1, 2, len(y_val))
    direct = make(kind, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        meta = Meta(make(kind, random_state=0).set_partial_fit_request(X_val=True, y_val=True,
                                                                        sample_weight_val="w_val"))
        for i in range(3):
            meta.partial_fit(X, Y, **(first if i == 0 else {}), X_val=X_val, y_val=y_val, w_val=weights)
            direct.partial_fit(X, Y.ravel(), **(direct_first if i == 0 else {}),
                               X_val=X_val, y_val=y_val, sample_weight_val=weights)
        # not requested: refused, not dropped
        unrequested = Meta(make(kind, random_state=0))
        with pytest.raises(UnsetMetadataPassedError, match="X_val"):
            unrequested.partial_fit(X, Y, **first, X_val=X_val, y_val=y_val)
    routed = meta.estimators_[0]
    assert len(routed.history_) == 3
    assert_same_weights(routed, direct)
    np.testing.assert_array_equal(routed.history_[VAL_COLUMNS], direct.history_[VAL_COLUMNS])


@ignore_convergence
def test_fit_and_partial_fit_are_requested_apart_in_a_pipeline(digits):
    """Each method routes what its own request names: partial_fit's request does not route fit's X_val."""
    X, y, X_val, y_val, _ = digits
    with sklearn.config_context(enable_metadata_routing=True):
        mlp = MLPScratchClassifier((16,), max_iter=3, random_state=0).set_partial_fit_request(X_val=True, y_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)], transform_input=["X_val"])
        with pytest.raises(UnsetMetadataPassedError, match="X_val"):
            pipe.fit(X, y, X_val=X_val, y_val=y_val)
        mlp.set_fit_request(X_val=True, y_val=True)
        pipe.fit(X, y, X_val=X_val, y_val=y_val)
    assert pipe.named_steps["mlp"].history_["val_score"].iloc[-1] == pipe.score(X_val, y_val)


# ----------------------------------------------------------------------
# the docstrings' examples (method docstrings are not collected by --doctest-modules)


@pytest.mark.parametrize("Estimator", [MLPScratchClassifier, MLPScratchRegressor])
def test_the_partial_fit_example_runs(Estimator):
    doc = Estimator.partial_fit.__doc__
    assert "%(" not in doc and "X_val, y_val : array-like" in doc
    test = doctest.DocTestParser().get_doctest(doc, {}, f"{Estimator.__name__}.partial_fit", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 8
