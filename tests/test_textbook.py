"""The textbook version (docs/textbook_backprop.py, columns as samples) and skscratch give the same numbers.

On scikit-learn's 8x8 digits (MNIST-like; MNIST itself is not available offline): the loss and
gradients of the notebook's backward_prop equal skscratch.gradients at the same weights, to
float64 rounding, for a fresh model and a trained one, with and without L2; its gradient descent
is skscratch's full-batch SGD.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

import skscratch
from skscratch import MLPScratchClassifier, MLPScratchRegressor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
import textbook_backprop as textbook  # noqa: E402

N_HIDDEN = 32


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


def from_package(model):
    """The notebook's W1, b1, W2, b2 from skscratch's coefs_ and intercepts_: transposed, b as a column."""
    (W1, W2), (b1, b2) = model.coefs_, model.intercepts_
    return W1.T, b1[:, None], W2.T, b2[:, None]


def textbook_gradients(W1, b1, W2, b2, X, y, alpha):
    """The notebook's loss and gradients, in the package's shapes (dW.T, db flattened)."""
    X, Y = X.T, textbook.one_hot(y, 10)  # columns as samples
    Z1, A1, Z2, A2 = textbook.forward_prop(W1, b1, W2, b2, X)
    dW1, db1, dW2, db2 = textbook.backward_prop(Z1, A1, A2, W1, W2, X, Y, alpha)
    return textbook.cross_entropy(A2, Y, W1, W2, alpha), [dW1.T, dW2.T], [db1.ravel(), db2.ravel()]


def assert_same(textbook_result, package_result):
    loss, coef_grads, intercept_grads = textbook_result
    assert loss == pytest.approx(package_result.loss, rel=1e-12)
    for mine, theirs in zip([*coef_grads, *intercept_grads],
                            [*package_result.coef_grads, *package_result.intercept_grads], strict=True):
        assert mine.shape == theirs.shape
        # float64 rounding: the two sum the same terms in another order; an entry that is a sum of
        # terms cancelling to near 0 keeps only an absolute accuracy, of the size of the largest
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-13 * np.abs(theirs).max())


@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_a_fresh_model_has_the_gradients_of_the_notebook_at_its_initial_weights(digits, alpha):
    """Its initial weights are those the notebook's init_params draws (Glorot-uniform, scikit-learn's order)."""
    X, y = digits
    model = MLPScratchClassifier(hidden_layer_sizes=(N_HIDDEN,), alpha=alpha, random_state=0)
    result = skscratch.gradients(model, X, y)
    weights = textbook.init_params(X.shape[1], N_HIDDEN, 10, np.random.RandomState(0))
    assert_same(textbook_gradients(*weights, X, y, alpha), result)
    assert not hasattr(model, "coefs_")  # the estimator itself stays unfitted
    assert result.loss == pytest.approx(np.log(10), rel=0.1)  # near chance at the start


@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_a_trained_model_has_the_gradients_of_the_notebook_at_its_weights(digits, alpha):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPScratchClassifier(hidden_layer_sizes=(N_HIDDEN,), alpha=alpha, max_iter=60,
                                     random_state=0).fit(X, y)
    before = [a.copy() for a in (*model.coefs_, *model.intercepts_)]
    result = skscratch.gradients(model, X, y)
    assert_same(textbook_gradients(*from_package(model), X, y, alpha), result)
    assert result.loss < 0.2
    for a, b in zip(before, [*model.coefs_, *model.intercepts_], strict=True):
        np.testing.assert_array_equal(a, b)  # the model is not changed


def test_the_notebooks_gradient_descent_is_full_batch_sgd(digits):
    """One batch of all m samples, no momentum, a constant rate: each epoch is one step W -= lr dW."""
    X, y = digits
    model = MLPScratchClassifier(hidden_layer_sizes=(N_HIDDEN,), alpha=0.01, solver="sgd", batch_size=len(X),
                                 momentum=0.0, nesterovs_momentum=False, learning_rate_init=0.5, shuffle=False,
                                 max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    weights = textbook.init_params(X.shape[1], N_HIDDEN, 10, np.random.RandomState(0))
    trained = textbook.gradient_descent(*weights, X.T, textbook.one_hot(y, 10), learning_rate=0.5, iterations=15,
                                        alpha=0.01)
    for mine, theirs in zip(trained, from_package(model), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-13)


def test_sample_weights_replace_the_mean_by_a_weighted_mean(digits):
    """With weights s and S = sum(s), 1/m becomes s/S, as the textbook page says; integer weights repeat rows."""
    X, y = digits
    alpha, s = 0.01, np.random.RandomState(1).uniform(0.5, 2.0, size=len(X))
    model = MLPScratchClassifier(hidden_layer_sizes=(N_HIDDEN,), alpha=alpha, random_state=0)
    W1, b1, W2, b2 = textbook.init_params(X.shape[1], N_HIDDEN, 10, np.random.RandomState(0))
    Y, S = textbook.one_hot(y, 10), s.sum()
    Z1, A1, Z2, A2 = textbook.forward_prop(W1, b1, W2, b2, X.T)
    loss = -np.sum(s * np.sum(Y * np.log(A2), axis=0)) / S + alpha / (2 * S) * (np.sum(W1**2) + np.sum(W2**2))
    dZ2 = (A2 - Y) * s / S
    dZ1 = W2.T @ dZ2 * textbook.ReLU_deriv(Z1)
    dW1, dW2 = dZ1 @ X + alpha / S * W1, dZ2 @ A1.T + alpha / S * W2  # the notebook's dZ1 @ X.T, its X being our X.T
    weighted = (loss, [dW1.T, dW2.T], [dZ1.sum(axis=1), dZ2.sum(axis=1)])
    assert_same(weighted, skscratch.gradients(model, X, y, sample_weight=s))

    counts = np.random.RandomState(2).randint(1, 4, size=len(X))
    repeated = skscratch.gradients(model, np.repeat(X, counts, axis=0), np.repeat(y, counts))
    assert_same(skscratch.gradients(model, X, y, sample_weight=counts), repeated)


def test_gradients_of_a_regressor_and_a_float32_model():
    """Any estimator of the package: the regressor's J is half the squared error; float32 weights in float64."""
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    regressor = MLPScratchRegressor(hidden_layer_sizes=(4,), activation="tanh", random_state=0)
    result = skscratch.gradients(regressor, X, y)
    assert [g.shape for g in result.coef_grads] == [(3, 4), (4, 1)]
    assert all(g.dtype == np.float64 for g in (*result.coef_grads, *result.intercept_grads))
    assert result.loss == pytest.approx(skscratch.check_gradients(regressor, X, y).loss, rel=1e-12)
    float32 = MLPScratchRegressor(hidden_layer_sizes=(4,), activation="tanh", random_state=0, dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPScratchRegressor(hidden_layer_sizes=(4,), activation="tanh", random_state=0, dtype="float32",
                                    max_iter=1).fit(X, y)
    assert model.coefs_[0].dtype == np.float32
    assert skscratch.gradients(model, X, y).coef_grads[0].dtype == np.float64
    # a fresh float32 model: fit's first weights, rounded to float32 as fit rounds them
    fresh = skscratch.gradients(float32, X, y)
    assert fresh.loss != result.loss and fresh.loss == pytest.approx(result.loss, rel=1e-5)


def test_gradients_ignores_dropout_and_says_what_it_refuses(digits):
    X, y = digits
    plain = skscratch.gradients(MLPScratchClassifier(hidden_layer_sizes=(8,), random_state=0), X, y)
    dropped = skscratch.gradients(MLPScratchClassifier(hidden_layer_sizes=(8,), dropout=0.5, random_state=0), X, y)
    assert dropped.loss == plain.loss  # the whole network, as predict sees it
    with pytest.raises(InvalidParameterError, match="'estimator' parameter of gradients"):
        skscratch.gradients("MLPScratchClassifier", X, y)
    with pytest.raises(InvalidParameterError, match="'alpha' parameter of MLPScratchClassifier"):
        skscratch.gradients(MLPScratchClassifier(alpha=-1), X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        skscratch.gradients(MLPScratchClassifier(), X, y[:-1])
    diverged = MLPScratchClassifier(hidden_layer_sizes=(8,), random_state=0)
    with pytest.raises(ValueError, match="not finite at these weights"), np.errstate(all="ignore"):
        skscratch.gradients(diverged, X * 1e306, y)
    assert "gradients" in skscratch.__all__ and "gradients" in dir(skscratch)
    assert repr(plain).startswith("Gradients(loss=") and "[(64, 8), (8, 10)]" in repr(plain)
