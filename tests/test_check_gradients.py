"""skscratch.check_gradients itself: its arguments (every kind of estimator and target), its result, its refusals,
and a planted mistake caught.

The backward pass's cases (every activation x output x alpha x sample weights x dropout) are one matrix in
tests/test_gradients.py.
"""

import numpy as np
import pytest
from sklearn.datasets import load_iris

import skscratch
from skscratch import MLPScratchClassifier, MLPScratchRegressor, check_gradients
from skscratch.nn import activations as _activations

# The largest relative error a right gradient may show. check_gradients divides by at least
# 1e6 eps J / h, so 1e-6 would be the rounding noise of one eps in the loss J: the loss sums many
# rounded terms whose last bits depend on the BLAS kernel (1.06e-6 was measured with OpenBLAS's
# Sandybridge kernels). 1e-5 allows 10 eps of noise; a wrong derivative gives 1e-2 or more.
RIGHT = 1e-5


def problem(target, n=12, seed=0):
    """(estimator class, params, X, y) for each kind of target, and so of output layer."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    if target == "binary":
        return MLPScratchClassifier, {}, X, rng.randint(2, size=n)
    if target == "multiclass":
        return MLPScratchClassifier, {}, X, rng.randint(3, size=n)
    if target == "multilabel":
        return MLPScratchClassifier, {}, X, rng.randint(2, size=(n, 3))
    if target == "regression":
        return MLPScratchRegressor, {}, X, rng.normal(size=(n, 2))
    return MLPScratchRegressor, {"loss": "poisson"}, X, rng.poisson(2.0, size=n).astype(float)


N_OUTPUTS = {"binary": 1, "multiclass": 3, "multilabel": 3, "regression": 2, "poisson": 1}


@pytest.mark.parametrize("target", N_OUTPUTS)
def test_every_kind_of_estimator_and_target_passes(target):
    Estimator, params, X, y = problem(target)
    sample_weight = np.random.RandomState(1).uniform(0.2, 3, size=len(X))
    estimator = Estimator(hidden_layer_sizes=(5, 4), activation="tanh", alpha=0.05, random_state=0, **params)
    result = check_gradients(estimator, X, y, sample_weight)
    assert result.max_relative_error < RIGHT, result
    assert result.n_checked == sum((a + 1) * b for a, b in zip([4, 5, 4], [5, 4, N_OUTPUTS[target]]))
    assert not hasattr(estimator, "coefs_")  # the estimator itself stays unfitted


def test_dropout_class_weight_and_a_fitted_float32_model():
    X, y = load_iris(return_X_y=True)
    clf = MLPScratchClassifier(hidden_layer_sizes=(8, 6), dropout=[0.3, 0.2], class_weight="balanced",
                               dtype="float32", max_iter=20, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X, y)
    before = [W.copy() for W in clf.coefs_]
    result = check_gradients(clf, X, y)
    assert result.max_relative_error < RIGHT
    assert clf.coefs_[0].dtype == np.float32 and all(np.array_equal(a, b) for a, b in zip(before, clf.coefs_))


def test_a_planted_mistake_is_caught_and_located(monkeypatch):
    X, y = load_iris(return_X_y=True)
    estimator = MLPScratchClassifier(hidden_layer_sizes=(6,), activation="tanh", random_state=0)
    assert check_gradients(estimator, X, y).max_relative_error < RIGHT

    def wrong(A, delta, Z=None, xp=np):  # f'(z) = 1 - A (should be 1 - A^2)
        delta *= 1.0 - A
        return delta

    monkeypatch.setitem(_activations.DERIVATIVES, "tanh", wrong)
    result = check_gradients(estimator, X, y)
    assert result.max_relative_error > 1e-2
    assert result.layer == 1  # the hidden layer's derivative is wrong: only layer 1's gradient is
    assert abs(result.analytic - result.numeric) > 1e-4


def test_a_random_subset_of_parameters_and_the_location():
    X, y = load_iris(return_X_y=True)
    estimator = MLPScratchClassifier(hidden_layer_sizes=(30, 20), random_state=0)
    result = check_gradients(estimator, X, y, max_params=25, random_state=3)
    assert result.n_checked == 25 and result.max_relative_error < RIGHT
    assert result.kind in ("weight", "bias") and 1 <= result.layer <= 3
    assert len(result.index) == (2 if result.kind == "weight" else 1)
    assert float(result) == result.max_relative_error


def test_bad_arguments_are_refused():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="eps"):
        check_gradients(MLPScratchClassifier(), X, y, eps=0)
    with pytest.raises(ValueError, match="NaN"):
        check_gradients(MLPScratchClassifier(), np.where(X > 7, np.nan, X), y)
    clf = MLPScratchClassifier(solver="lbfgs", max_iter=5, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="classes not in"):
        check_gradients(clf, X, y + 10)
    assert skscratch.check_gradients is check_gradients
