"""y with one class is fitted, and right: one class, one column of probability 1.

scikit-learn's MLP fits it too, but returns two probability columns for one
class (inconsistent with ``classes_``). Tools that meet one class in real
use: MultiOutputClassifier on a constant label column, learning_curve on
small unshuffled subsets, partial_fit on a stream whose first batch holds one
class.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, learning_curve
from sklearn.multioutput import MultiOutputClassifier

import skscratch
from skscratch import MLPScratchClassifier

ignore_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@ignore_convergence
@pytest.mark.parametrize("label", [7, "only", True, 2.0])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_one_class_is_fitted_and_predicted(iris, label, solver):
    X, _ = iris
    y = np.full(len(X), label)
    clf = MLPScratchClassifier((5,), solver=solver, max_iter=20, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [label])
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    np.testing.assert_array_equal(clf.predict(X), y)
    assert clf.predict(X).dtype == y.dtype
    np.testing.assert_array_equal(clf.predict_proba(X), np.ones((len(X), 1)))
    np.testing.assert_array_equal(clf.predict_log_proba(X), np.zeros((len(X), 1)))
    assert clf.score(X, y) == 1.0
    assert np.isfinite(clf.loss_) and clf.loss_ < 0.5  # it trained: the fresh network's is about log 2


@ignore_convergence
def test_one_class_with_early_stopping_and_a_validation_set(iris):
    X, _ = iris
    y = np.zeros(len(X), dtype=int)
    clf = MLPScratchClassifier((5,), early_stopping=True, max_iter=5, random_state=0).fit(X, y)
    assert clf.validation_scores_ == [1.0] * clf.n_iter_
    clf = MLPScratchClassifier((5,), max_iter=5, random_state=0).fit(X, y, X_val=X[:10], y_val=y[:10])
    assert (clf.history_["val_score"] == 1.0).all()
    with pytest.raises(ValueError, match=r"y_val has classes not in y: \[1\]"):
        clf.fit(X, y, X_val=X[:10], y_val=np.ones(10, dtype=int))


@ignore_convergence
def test_partial_fit_sees_more_classes_when_classes_named_them(iris):
    X, y = iris
    clf = MLPScratchClassifier((8,), learning_rate_init=0.01, random_state=0)
    first = y == 0
    clf.partial_fit(X[first], y[first], classes=[0, 1, 2])  # the first batch: one class
    assert clf.classes_.tolist() == [0, 1, 2] and clf.n_outputs_ == 3
    for _ in range(150):
        clf.partial_fit(X, y)
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert clf.score(X, y) > 0.9


@ignore_convergence
def test_partial_fit_with_one_class_named_refuses_another(iris):
    X, y = iris
    clf = MLPScratchClassifier((8,), random_state=0).partial_fit(X, np.zeros(len(X), int), classes=[0])
    np.testing.assert_array_equal(clf.predict(X), 0)
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`: \[1 2\]"):
        clf.partial_fit(X, y)


@ignore_convergence
def test_multioutput_classifier_with_a_constant_column(iris):
    X, y = iris
    Y = np.column_stack([y, np.full(len(y), 5), y == 2])
    model = MultiOutputClassifier(MLPScratchClassifier((8,), solver="lbfgs", max_iter=200, random_state=0))
    model.fit(X, Y)
    predicted = model.predict(X)
    np.testing.assert_array_equal(predicted[:, 1], 5)
    assert (predicted[:, 0] == y).mean() > 0.9
    probabilities = model.predict_proba(X)
    assert [p.shape[1] for p in probabilities] == [3, 1, 2]
    np.testing.assert_array_equal(probabilities[1], 1.0)


@ignore_convergence
def test_learning_curve_on_small_unshuffled_subsets(iris):
    """The first subsets of sorted iris hold class 0 alone: each fit works and scores."""
    X, y = iris
    sizes, train_scores, test_scores = learning_curve(
        MLPScratchClassifier((8,), solver="lbfgs", max_iter=200, random_state=0), X, y,
        train_sizes=[10, 30, 120], cv=KFold(5), shuffle=False, error_score="raise")
    assert train_scores[0].tolist() == [1.0] * 5  # one class: always right on its own data
    assert np.isfinite(test_scores).all()


@ignore_convergence
def test_one_class_model_survives_the_safe_format_and_pickle(iris, tmp_path):
    import pickle

    X, _ = iris
    clf = MLPScratchClassifier((5,), max_iter=5, random_state=0).fit(X, np.full(len(X), "a"))
    skscratch.save(clf, tmp_path / "one.npz")
    for loaded in (skscratch.load(tmp_path / "one.npz"), pickle.loads(pickle.dumps(clf))):
        np.testing.assert_array_equal(loaded.predict(X), "a")
        np.testing.assert_array_equal(loaded.predict_proba(X), 1.0)


@ignore_convergence
def test_warm_start_keeps_the_one_class(iris):
    X, y = iris
    clf = MLPScratchClassifier((5,), max_iter=3, warm_start=True, random_state=0)
    clf.fit(X, np.zeros(len(X), int)).fit(X, np.zeros(len(X), int))
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 6
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
        clf.fit(X, y)


def test_zero_weight_for_every_other_class(iris):
    """Weights leave one class: the model trains on it (scikit-learn's check_classifiers_one_label_sample_weights)."""
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPScratchClassifier((8,), max_iter=50, random_state=0).fit(X, y, sample_weight=(y == 1) * 1.0)
    assert (clf.predict(X) == 1).mean() > 0.9
