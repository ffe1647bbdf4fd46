"""What skscratch adds beyond scikit-learn's MLP: each feature's maths and behaviour."""

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from conftest import weights
from skscratch import MLPScratchClassifier, MLPScratchRegressor

ignore_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ----------------------------------------------------------------------
# More activations (their gradients are checked in test_gradients.py)


@ignore_convergence
@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "gelu"])
def test_new_activations_learn(digits01, activation):
    X, y = digits01
    clf = MLPScratchClassifier((32,), activation=activation, max_iter=30, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9


def test_new_activations_values():
    from skscratch._activations import ACTIVATIONS

    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(ACTIVATIONS["leaky_relu"](z.copy()), [-0.02, -0.005, 0, 0.5, 2])
    np.testing.assert_allclose(ACTIVATIONS["elu"](z.copy()), [np.exp(-2) - 1, np.exp(-0.5) - 1, 0, 0.5, 2])
    # GELU (tanh form) against the exact z * Phi(z), which it approximates to ~1e-3
    from scipy.special import ndtr

    np.testing.assert_allclose(ACTIVATIONS["gelu"](z.copy()), z * ndtr(z), atol=1e-3)
    with np.errstate(over="raise", invalid="raise"):
        big = np.array([-1000.0, 1000.0])
        assert np.isfinite(ACTIVATIONS["elu"](big.copy())).all()
        assert np.isfinite(ACTIVATIONS["leaky_relu"](big.copy())).all()


# ----------------------------------------------------------------------
# class_weight


@ignore_convergence
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_balanced_class_weight_equals_the_matching_sample_weight(digits01, solver):
    X, y = digits01
    keep = (y != 3) | (np.arange(len(y)) % 4 == 0)  # make class 3 rare
    X, y = X[keep], y[keep]
    params = dict(hidden_layer_sizes=(16,), solver=solver, max_iter=20, random_state=0)
    balanced = MLPScratchClassifier(class_weight="balanced", **params).fit(X, y)
    per_class = compute_class_weight("balanced", classes=np.unique(y), y=y)
    weighted = MLPScratchClassifier(**params).fit(X, y, sample_weight=per_class[y])
    for a, b in zip(weights(balanced), weights(weighted)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@ignore_convergence
def test_class_weight_dict_multiplies_sample_weight(digits01):
    X, y = digits01
    class_weight = {label: 1.0 + label for label in range(10)}
    sw = np.random.RandomState(0).uniform(0.5, 1.5, len(y))
    params = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    a = MLPScratchClassifier(class_weight=class_weight, **params).fit(X, y, sample_weight=sw)
    b = MLPScratchClassifier(**params).fit(X, y, sample_weight=sw * (1.0 + y))
    for wa, wb in zip(weights(a), weights(b)):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-14)


@ignore_convergence
def test_class_weight_shifts_predictions_toward_a_class(digits01):
    X, y = digits01
    plain = MLPScratchClassifier((8,), max_iter=30, random_state=0).fit(X, y)
    heavy = MLPScratchClassifier((8,), max_iter=30, random_state=0,
                                 class_weight={k: (20.0 if k == 8 else 1.0) for k in range(10)}).fit(X, y)
    assert (heavy.predict(X) == 8).sum() > (plain.predict(X) == 8).sum()


def test_balanced_class_weight_is_refused_by_partial_fit(digits01):
    X, y = digits01
    with pytest.raises(ValueError, match="balanced.*partial_fit"):
        MLPScratchClassifier(class_weight="balanced").partial_fit(X, y, classes=np.arange(10))
    # a dict works
    MLPScratchClassifier(class_weight={0: 2.0}).partial_fit(X, y, classes=np.arange(10))
