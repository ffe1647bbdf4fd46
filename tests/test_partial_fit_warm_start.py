"""partial_fit, warm_start, early stopping, dtypes, input kinds, verbosity,
convergence warnings and bit-for-bit parity with scikit-learn's MLPClassifier;
where the regressor shares a topic, its test is parametrized over both estimators."""

import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from _weights import assert_same_weights, weights
from skscratch import MLPScratchClassifier, MLPScratchRegressor

ignore_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def target(Estimator, y):
    """y for the classifier; for the regressor, the labels as a real target in [0, 1]."""
    return y if Estimator is MLPScratchClassifier else y / y.max()


def first_call(Estimator, y):
    """The arguments of a first partial_fit besides X and y: the classes, for the classifier."""
    return {"classes": np.unique(y)} if Estimator is MLPScratchClassifier else {}


# ----------------------------------------------------------------------
# partial_fit


@pytest.mark.parametrize("Estimator, solver", [(MLPScratchClassifier, "adam"), (MLPScratchClassifier, "sgd"),
                                               (MLPScratchRegressor, "sgd")])
def test_partial_fit_equals_fit(digits01, Estimator, solver):
    X, y = digits01
    y = target(Estimator, y)
    params = dict(hidden_layer_sizes=(16,), solver=solver, shuffle=False, random_state=0)
    incremental = Estimator(**params)
    for i in range(20):
        incremental.partial_fit(X, y, **(first_call(Estimator, y) if i == 0 else {}))
    batch = Estimator(max_iter=20, tol=0, n_iter_no_change=1000, **params)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        batch.fit(X, y)

    assert batch.n_iter_ == 20
    assert_same_weights(incremental, batch)
    assert len(incremental.loss_curve_) == 20
    assert incremental.loss_curve_ == batch.loss_curve_
    assert incremental.t_ == batch.t_ == 20 * X.shape[0]
    # training did make progress
    assert incremental.loss_curve_[-1] < incremental.loss_curve_[0]


def test_partial_fit_with_changed_classes_raises(iris):
    X, y = iris
    clf = MLPScratchClassifier((5,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"classes=.*is not the same as on the last call"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"classes=.*is not the same as on the last call"):
        clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    # the same classes again are fine, and y need not hold every class
    clf.partial_fit(X[y < 2], y[y < 2], classes=[2, 1, 0])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])


def test_partial_fit_with_unknown_label_raises(iris):
    X, y = iris
    # on the first call: y has a label not in `classes`
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`: \[2\]"):
        MLPScratchClassifier((5,), random_state=0).partial_fit(X, y, classes=[0, 1])
    # on a later call
    clf = MLPScratchClassifier((5,), random_state=0)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`: \[2\]"):
        clf.partial_fit(X, y)


def test_partial_fit_with_early_stopping_raises(iris):
    X, y = iris
    clf = MLPScratchClassifier((5,), early_stopping=True, random_state=0)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        clf.partial_fit(X, y, classes=np.unique(y))


# ----------------------------------------------------------------------
# warm_start


@ignore_convergence
def test_warm_start_with_different_classes_raises(iris):
    X, y = iris
    clf = MLPScratchClassifier((5,), warm_start=True, max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
        clf.fit(X[y < 2], y[y < 2])
    y_new = y.copy()
    y_new[y_new == 2] = 3
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
        clf.fit(X, y_new)


@ignore_convergence
@pytest.mark.parametrize("Estimator", [MLPScratchClassifier, MLPScratchRegressor])
def test_warm_start_continues_from_previous_weights(digits01, Estimator):
    X, y = digits01
    y = target(Estimator, y)
    params = dict(
        hidden_layer_sizes=(16,), solver="sgd", momentum=0, learning_rate_init=0.1,
        shuffle=False, random_state=0,
    )  # fmt: skip
    warm = Estimator(warm_start=True, max_iter=3, **params).fit(X, y)
    after_3 = [w.copy() for w in weights(warm)]
    warm.set_params(max_iter=2).fit(X, y)
    straight = Estimator(max_iter=5, **params).fit(X, y)

    assert_same_weights(warm, straight)
    assert warm.loss_curve_ == straight.loss_curve_
    assert warm.n_iter_ == 2 and straight.n_iter_ == 5
    assert warm.t_ == straight.t_ == 5 * X.shape[0]
    # the second fit did train
    assert any(not np.array_equal(w, w3) for w, w3 in zip(weights(warm), after_3, strict=True))
    # without warm_start the second fit starts afresh instead
    cold = Estimator(max_iter=3, **params).fit(X, y)
    cold.set_params(max_iter=2).fit(X, y)
    assert not np.array_equal(cold.coefs_[0], straight.coefs_[0])


@ignore_convergence
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_warm_start_matches_sklearn(digits01, solver):
    X, y = digits01
    params = dict(hidden_layer_sizes=(16,), solver=solver, warm_start=True, random_state=0)
    ours = MLPScratchClassifier(max_iter=4, **params).fit(X, y)
    ref = MLPClassifier(max_iter=4, **params).fit(X, y)
    ours.set_params(max_iter=3).fit(X, y)
    ref.set_params(max_iter=3).fit(X, y)
    assert ours.n_iter_ == ref.n_iter_
    # the same maths, summed in another order: equal to rounding, far inside 1e-8
    for a, b in zip(weights(ours), weights(ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8 if solver == "lbfgs" else 1e-11)


@ignore_convergence
def test_warm_start_with_changed_hidden_layer_sizes_raises(iris):
    X, y = iris
    clf = MLPScratchClassifier((5,), warm_start=True, max_iter=5, random_state=0).fit(X, y)
    clf.set_params(hidden_layer_sizes=(6,))
    with pytest.raises(ValueError, match=r"(?s)layer sizes \[4, 5, 3\].*\[4, 6, 3\].*warm_start=False"):
        clf.fit(X, y)
    clf.set_params(hidden_layer_sizes=(5, 5))
    with pytest.raises(ValueError, match="Cannot continue training"):
        clf.fit(X, y)


# ----------------------------------------------------------------------
# early stopping

EARLY = dict(
    hidden_layer_sizes=(16,), solver="adam", learning_rate_init=0.01,
    early_stopping=True, shuffle=False, random_state=3, max_iter=60,
)  # fmt: skip


@pytest.fixture(scope="module")
def early_stopped(digits01):
    X, y = digits01
    return MLPScratchClassifier(**EARLY).fit(X, y)


def test_early_stopping_attributes(early_stopped):
    clf = early_stopped
    assert isinstance(clf.validation_scores_, list)
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.n_iter_ < EARLY["max_iter"]  # it did stop early
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    assert all(0 <= s <= 1 for s in clf.validation_scores_)


def test_early_stopping_restores_best_weights_on_validation_split(early_stopped, digits01):
    X, y = digits01
    clf = early_stopped
    # the best epoch is not the last: restoring the weights matters
    assert np.argmax(clf.validation_scores_) + 1 < clf.n_iter_
    # reproduce the split: the random state draws W then b of every layer, then splits
    rng = np.random.RandomState(EARLY["random_state"])
    for W, b in zip(clf.coefs_, clf.intercepts_, strict=True):
        rng.uniform(-1, 1, W.shape)
        rng.uniform(-1, 1, b.shape)
    _, X_val, _, y_val = train_test_split(
        X, y, test_size=EARLY.get("validation_fraction", 0.1), stratify=y, random_state=rng
    )
    assert clf.score(X_val, y_val) == clf.best_validation_score_


@ignore_convergence
def test_early_stopping_restores_best_epoch_weights(early_stopped, digits01):
    X, y = digits01
    clf = early_stopped
    best_epoch = int(np.argmax(clf.validation_scores_)) + 1
    assert best_epoch < clf.n_iter_
    truncated = MLPScratchClassifier(**{**EARLY, "max_iter": best_epoch}).fit(X, y)
    assert truncated.n_iter_ == best_epoch
    assert truncated.validation_scores_ == clf.validation_scores_[:best_epoch]
    assert truncated.validation_scores_[-1] == clf.best_validation_score_
    assert_same_weights(clf, truncated)


# ----------------------------------------------------------------------
# dtypes


@ignore_convergence
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize(
    "in_dtype, expected",
    [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64), (np.int32, np.float64)],
)
@pytest.mark.parametrize("Estimator", [MLPScratchClassifier, MLPScratchRegressor])
def test_dtypes(iris, Estimator, solver, in_dtype, expected):
    X, y = iris
    X = (X * 10).astype(in_dtype)
    y = target(Estimator, y)
    model = Estimator(hidden_layer_sizes=(5,), solver=solver, max_iter=5, random_state=0).fit(X, y)
    for w in weights(model):
        assert w.dtype == expected
    if Estimator is MLPScratchClassifier:
        outputs = [model.predict_proba(X), model.predict_log_proba(X)]
    else:
        outputs = [model.predict(X)]
    assert all(output.dtype == expected for output in outputs)
    assert np.isfinite(outputs[0]).all()
    # a float32 network stays float32 when it keeps learning from float64 input
    if solver == "adam":
        model.partial_fit(X.astype(np.float64), y)
        for w in weights(model):
            assert w.dtype == expected


# ----------------------------------------------------------------------
# kinds of input and targets


@ignore_convergence
def test_string_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    clf = MLPScratchClassifier((8,), solver="lbfgs", max_iter=200, random_state=0).fit(X, names[y])
    np.testing.assert_array_equal(clf.classes_, names)
    pred = clf.predict(X)
    assert set(pred) <= set(names)
    assert np.mean(pred == names[y]) > 0.9
    # the same model as with integer labels
    ints = MLPScratchClassifier((8,), solver="lbfgs", max_iter=200, random_state=0).fit(X, y)
    np.testing.assert_array_equal(pred, names[ints.predict(X)])


@ignore_convergence
def test_pandas_dataframe(iris):
    X, y = iris
    columns = ["sepal length", "sepal width", "petal length", "petal width"]
    df = pd.DataFrame(X, columns=columns)
    clf = MLPScratchClassifier((5,), max_iter=5, random_state=0).fit(df, pd.Series(y))
    np.testing.assert_array_equal(clf.feature_names_in_, columns)
    assert clf.n_features_in_ == 4
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(df.rename(columns={"petal width": "width"}))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        clf.predict(X)
    # the same model as from the numpy array, which has no feature names
    clf_np = MLPScratchClassifier((5,), max_iter=5, random_state=0).fit(X, y)
    assert not hasattr(clf_np, "feature_names_in_")
    assert_same_weights(clf, clf_np)
    assert clf.predict_proba(df).tobytes() == clf_np.predict_proba(X).tobytes()


@ignore_convergence
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_matches_dense(digits01, fmt):
    X, y = digits01
    X_sparse = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    params = dict(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=30, random_state=0)
    dense = MLPScratchClassifier(**params).fit(X, y)
    sparse = MLPScratchClassifier(**params).fit(X_sparse, y)
    assert sparse.n_iter_ == dense.n_iter_
    for a, b in zip(weights(sparse), weights(dense), strict=True):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    np.testing.assert_allclose(sparse.predict_proba(X_sparse), dense.predict_proba(X), rtol=0, atol=1e-10)
    np.testing.assert_array_equal(sparse.predict(X_sparse), dense.predict(X))


@pytest.fixture(scope="module")
def multilabel_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] > 0.5]).astype(int)
    return X, Y


@ignore_convergence
def test_multilabel(multilabel_data):
    X, Y = multilabel_data
    clf = MLPScratchClassifier((16,), solver="lbfgs", max_iter=200, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic"
    assert clf.n_outputs_ == 3
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    pred = clf.predict(X)
    assert pred.shape == (200, 3)
    assert set(np.unique(pred)) <= {0, 1}
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 3)
    assert ((proba >= 0) & (proba <= 1)).all()
    # labels are independent: rows do not sum to 1, and predict thresholds at 0.5
    assert not np.allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert np.mean(pred == Y) > 0.9


@ignore_convergence
def test_binary(iris):
    X, y = iris
    mask = y > 0
    X, y = X[mask], np.where(y[mask] == 1, "a", "b")
    clf = MLPScratchClassifier((8,), solver="lbfgs", max_iter=200, random_state=0).fit(X, y)
    assert clf.out_activation_ == "logistic"
    assert clf.n_outputs_ == 1
    assert clf.coefs_[-1].shape[1] == 1
    np.testing.assert_array_equal(clf.classes_, ["a", "b"])
    proba = clf.predict_proba(X)
    assert proba.shape == (X.shape[0], 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, y) > 0.9


@ignore_convergence
def test_multiclass(iris):
    X, y = iris
    clf = MLPScratchClassifier((8,), solver="lbfgs", max_iter=200, random_state=0).fit(X, y)
    assert clf.out_activation_ == "softmax"
    assert clf.n_outputs_ == 3
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), proba.argmax(axis=1))
    assert clf.score(X, y) > 0.9


# ----------------------------------------------------------------------
# verbose output and convergence warnings


@ignore_convergence
def test_verbose(iris, capsys):
    X, y = iris
    MLPScratchClassifier((5,), max_iter=3, verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    for i in (1, 2, 3):
        assert re.search(rf"^Iteration {i}, loss = \d+\.\d{{8}}$", out, flags=re.M)
    assert "Iteration 4" not in out
    assert "Validation score" not in out


@ignore_convergence
def test_verbose_early_stopping(iris, capsys):
    X, y = iris
    MLPScratchClassifier((5,), max_iter=3, verbose=True, early_stopping=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"^Iteration 1, loss = \d+\.\d{8}$", out, flags=re.M)
    assert len(re.findall(r"^Validation score: \d\.\d{6}$", out, flags=re.M)) == 3


def test_silent_by_default(iris, capsys):
    X, y = iris
    with pytest.warns(ConvergenceWarning):
        MLPScratchClassifier((5,), max_iter=3, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_convergence_warning_adam(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPScratchClassifier((5,), solver="adam", max_iter=3, random_state=0).fit(X, y)


def test_convergence_warning_lbfgs(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match=r"(?s)lbfgs failed to converge.*max_iter=3"):
        MLPScratchClassifier((5,), solver="lbfgs", max_iter=3, random_state=0).fit(X, y)


# ----------------------------------------------------------------------
# parity with scikit-learn


@pytest.fixture(scope="module", params=["adam", "sgd", "lbfgs"])
def both_fitted(request, digits01):
    X, y = digits01
    params = dict(hidden_layer_sizes=(16,), solver=request.param, max_iter=30, random_state=0)
    with pytest.warns(ConvergenceWarning):
        ours = MLPScratchClassifier(**params).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        ref = MLPClassifier(**params).fit(X, y)
    return request.param, ours, ref, X


def test_matches_sklearn(both_fitted):
    solver, ours, ref, X = both_fitted
    assert ours.n_iter_ == ref.n_iter_ == 30
    assert ours.n_layers_ == ref.n_layers_
    assert ours.n_outputs_ == ref.n_outputs_
    assert ours.out_activation_ == ref.out_activation_
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    for a, b in zip(weights(ours), weights(ref), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        # the same maths, summed in another order: equal to rounding, inside 1e-8
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8 if solver == "lbfgs" else 1e-11)
    if solver != "lbfgs":
        assert ours.t_ == ref.t_
        assert len(ours.loss_curve_) == len(ref.loss_curve_)
        # a few ulps at most (the loss is computed from the logits here)
        np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-12, atol=0)
        assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-12)
    atol = 1e-8 if solver == "lbfgs" else 1e-11
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=atol)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
