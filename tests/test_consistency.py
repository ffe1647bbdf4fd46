"""After every fit that returns, the fitted attributes exist and agree with each other.

The attributes: ``loss_``, ``loss_curve_``, ``n_iter_``, ``history_``, ``t_``.
The rules checked after every kind of ending (converged, max_iter, early
stopping, divergence in the first epoch or later, Ctrl-C, L-BFGS in trouble):

- ``history_`` has one row per entry of ``loss_curve_``, with the same losses;
- ``n_iter_`` is the number of epochs (iterations) the last fit completed,
  and ``loss_curve_`` grew by exactly that many;
- ``t_`` grew by n_iter_ times the number of training samples (stochastic);
- ``loss_`` is finite; it is ``loss_curve_[-1]`` when the last fit completed
  an epoch, and otherwise the loss J of the weights kept, over the whole
  training data (the documented definition).
"""

import warnings
from unittest import mock

import numpy as np
import pytest
from scipy.special import log_softmax
from sklearn.exceptions import ConvergenceWarning

from skscratch import MLPScratchClassifier, MLPScratchRegressor
from skscratch.nn import network as _network
from skscratch.nn import optimizers as _optimizers


def check_consistent(model, curve_before, t_before, n_train):
    """The rules of the module docstring, for a fit that started with the given curve and t_."""
    new_epochs = len(model.loss_curve_) - curve_before
    assert model.n_iter_ == new_epochs
    history = model.history_
    assert len(history) == len(model.loss_curve_)
    np.testing.assert_array_equal(history["train_loss"].to_numpy(), model.loss_curve_)
    assert np.isfinite(model.loss_curve_).all()
    assert np.isfinite(model.loss_)
    if model.solver != "lbfgs":
        assert model.t_ == t_before + model.n_iter_ * n_train
    if model.n_iter_ > 0:
        assert model.loss_ == model.loss_curve_[-1]
    for W in [*model.coefs_, *model.intercepts_]:
        assert np.isfinite(W).all()


def objective(model, X, y):
    """J = mean log-loss + alpha / (2 n) sum ||W||^2, computed here for a relu softmax network."""
    A = X
    for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1], strict=True):
        A = np.maximum(A @ W + b, 0)
    Z = A @ model.coefs_[-1] + model.intercepts_[-1]
    index = np.searchsorted(model.classes_, y)
    data = -log_softmax(Z, axis=1)[np.arange(len(y)), index].mean()
    return data + model.alpha / (2 * len(y)) * sum((W**2).sum() for W in model.coefs_)


def fit_quietly(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args, **kwargs)


def at_adam_step(step, action):
    """Patch the optimizer's step so that ``action(params)`` runs after its ``step``-th update (counted from 1)."""
    from skscratch._engine import dispatch

    update = dispatch.update
    calls = []

    def update_then_act(optimizer, params, grads):
        assert isinstance(optimizer, _optimizers.Adam)
        update(optimizer, params, grads)
        calls.append(1)
        if len(calls) == step:
            action(params)

    return mock.patch.object(dispatch, "update", update_then_act)


@pytest.mark.parametrize("params", [
    {"max_iter": 5},  # max_iter reached
    {"max_iter": 300, "tol": 1e-2, "n_iter_no_change": 2},  # the stopping rule
    {"max_iter": 50, "early_stopping": True, "n_iter_no_change": 3},
    {"solver": "sgd", "max_iter": 7, "learning_rate": "adaptive"},
    {"solver": "lbfgs", "max_iter": 15},
])
def test_normal_endings(digits01, params):
    X, y = digits01
    model = fit_quietly(MLPScratchClassifier((16,), random_state=0, **params), X, y)
    n_train = X.shape[0] - (round(0.1 * X.shape[0]) if params.get("early_stopping") else 0)
    check_consistent(model, 0, 0, n_train)
    assert model.n_iter_ > 0


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_divergence_in_the_first_epoch_keeps_the_initial_weights_and_defines_loss(digits01):
    X, y = digits01
    model = MLPScratchClassifier((16,), solver="sgd", learning_rate_init=1e6, momentum=0,
                                 max_iter=10, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 1"):
        model.fit(X, y)
    check_consistent(model, 0, 0, X.shape[0])
    assert model.n_iter_ == 0 and model.loss_curve_ == [] and len(model.history_) == 0
    # the weights kept are the fresh network's, drawn as scikit-learn draws them
    initial = _network.init_params([64, 16, 10], "relu", np.random.RandomState(0))
    np.testing.assert_array_equal(np.concatenate([W.ravel() for W in model.coefs_]),
                                  initial[: 64 * 16 + 16 * 10])
    # loss_ is J of those weights over all the training data
    assert model.loss_ == pytest.approx(objective(model, X, y), rel=1e-12)
    assert np.isfinite(model.predict_proba(X)).all()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_divergence_of_a_warm_start_after_good_epochs(digits01):
    X, y = digits01
    model = fit_quietly(MLPScratchClassifier((16,), solver="sgd", max_iter=3, warm_start=True,
                                             random_state=0), X, y)
    curve, t_before = len(model.loss_curve_), model.t_
    kept = [W.copy() for W in model.coefs_]
    model.set_params(learning_rate_init=1e6)
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 4.*end of epoch 3 were restored"):
        model.fit(X, y)  # epochs count over every fit, as history_ does
    check_consistent(model, curve, t_before, X.shape[0])
    assert model.n_iter_ == 0 and len(model.loss_curve_) == 3
    for W, W0 in zip(model.coefs_, kept, strict=True):  # the last good epoch's weights
        np.testing.assert_array_equal(W, W0)
    assert model.loss_ == pytest.approx(objective(model, X, y), rel=1e-12)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_divergence_of_a_first_partial_fit(digits01):
    X, y = digits01
    model = MLPScratchClassifier((16,), solver="sgd", learning_rate_init=1e6, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 1"):
        model.partial_fit(X, y, classes=np.unique(y))
    check_consistent(model, 0, 0, X.shape[0])
    assert model.loss_ == pytest.approx(objective(model, X, y), rel=1e-12)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_divergence_in_a_later_epoch(digits01):
    """Weights blown up in the third epoch (9 batches an epoch): the second epoch's are kept."""
    X, y = digits01

    def blow_up(params):
        params *= 1e150

    model = MLPScratchClassifier((16,), max_iter=20, random_state=0)
    with at_adam_step(22, blow_up):
        with pytest.warns(ConvergenceWarning, match="diverged in epoch 3"):
            model.fit(X, y)
    assert model.n_iter_ == 2
    check_consistent(model, 0, 0, X.shape[0])
    twin = fit_quietly(MLPScratchClassifier((16,), max_iter=2, random_state=0), X, y)
    for W, W2 in zip(model.coefs_, twin.coefs_, strict=True):
        np.testing.assert_array_equal(W, W2)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("n_samples", [100, 250])  # one minibatch an epoch, and several
def test_the_weights_kept_after_divergence_are_checked_ones(digits01, n_samples):
    """Each minibatch's loss is that of the weights before its step: the weights an epoch
    ends with are checked too, so the weights restored never are the ones that blew up."""
    X, y = digits01[0][:n_samples], digits01[1][:n_samples]
    model = MLPScratchClassifier((16,), solver="sgd", learning_rate_init=1e6, momentum=0, batch_size=100,
                                 random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 1"):
        model.partial_fit(X, y, classes=np.arange(10))
    initial = _network.init_params([64, 16, 10], "relu", np.random.RandomState(0))
    np.testing.assert_array_equal(model._get_flat_params(), initial)
    assert model.loss_ == pytest.approx(objective(model, X, y), rel=1e-12) and model.loss_ < 3


def test_ctrl_c_in_the_first_epoch(digits01):
    """Interrupted mid-epoch: the weights of the last minibatch stay, loss_ is theirs."""
    X, y = digits01

    def interrupt(params):
        raise KeyboardInterrupt

    model = MLPScratchClassifier((16,), batch_size=100, max_iter=10, random_state=0)
    with at_adam_step(4, interrupt):
        with pytest.warns(UserWarning, match="interrupted"):
            model.fit(X, y)
    check_consistent(model, 0, 0, X.shape[0])
    assert model.n_iter_ == 0 and model.loss_curve_ == []
    assert model.loss_ == pytest.approx(objective(model, X, y), rel=1e-12)


def test_lbfgs_that_cannot_step_keeps_finite_loss(iris):
    """alpha = 1e300: the line search fails at once (scikit-learn's MLP then reports loss_ = nan)."""
    X, y = iris
    model = MLPScratchClassifier((8,), solver="lbfgs", alpha=1e300, max_iter=20, random_state=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    check_consistent(model, 0, 0, X.shape[0])
    assert model.loss_ == pytest.approx(objective(model, X, y), rel=1e-9)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
@pytest.mark.parametrize("alpha", [1e10, 1e100, 1e250])
def test_extreme_alpha_ends_with_a_finite_loss(iris, solver, alpha):
    X, y = iris
    model = fit_quietly(MLPScratchClassifier((8,), solver=solver, alpha=alpha, max_iter=20,
                                             random_state=0), X, y)
    check_consistent(model, 0, 0, X.shape[0])


@pytest.mark.parametrize("scale", [1e50, 1e100, 1e150])
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_lbfgs_with_huge_targets_ends_finite_or_names_y(scale):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(100, 3)), rng.normal(size=100) * scale
    model = MLPScratchRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20, random_state=0)
    try:
        fit_quietly(model, X, y)
    except ValueError as error:
        assert "targets y are too large" in str(error)
    else:
        check_consistent(model, 0, 0, X.shape[0])


def test_a_batch_skipped_for_zero_weight_does_not_change_loss(digits01):
    """Half the samples weigh 0 and fill whole batches: loss_ is that of the other half alone."""
    X, y = digits01
    X, y = X[:400], y[:400]
    weights = np.r_[np.zeros(200), np.ones(200)]
    params = dict(hidden_layer_sizes=(16,), batch_size=100, shuffle=False, max_iter=3, random_state=0)
    weighted = fit_quietly(MLPScratchClassifier(**params), X, y, sample_weight=weights)
    alone = fit_quietly(MLPScratchClassifier(**params), X[200:], y[200:])
    # the same training, up to rounding (weighted sums add up in another order)
    np.testing.assert_allclose(weighted.loss_curve_, alone.loss_curve_, rtol=1e-12)
    assert weighted.loss_ == pytest.approx(alone.loss_, rel=1e-12)
    for a, b in zip(weighted.coefs_, alone.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_the_epoch_loss_is_the_weighted_mean_of_the_batch_losses(digits01):
    """Batches of unequal weight count by their weight, not their size."""
    X, y = digits01
    X, y = X[:300], y[:300]
    weights = np.r_[np.full(100, 5.0), np.ones(200)]
    params = dict(hidden_layer_sizes=(16,), batch_size=100, shuffle=False, max_iter=1,
                  solver="sgd", learning_rate_init=1e-12, momentum=0, alpha=0, random_state=0)
    model = fit_quietly(MLPScratchClassifier(**params), X, y, sample_weight=weights)
    # with a learning rate of 1e-12 the three batches see (nearly) the initial weights:
    # their weighted mean is the weighted mean loss over all the samples
    reference = fit_quietly(MLPScratchClassifier(**{**params, "batch_size": 300}), X, y,
                            sample_weight=weights)
    assert model.loss_ == pytest.approx(reference.loss_, rel=1e-9)


def test_unweighted_epoch_loss_is_unchanged_from_scikit_learn(digits01):
    """Without weights the rule is scikit-learn's: sum of batch loss x batch size over n."""
    from sklearn.neural_network import MLPClassifier

    X, y = digits01
    params = dict(hidden_layer_sizes=(16,), batch_size=64, max_iter=3, random_state=0)
    ours = fit_quietly(MLPScratchClassifier(**params), X, y)
    theirs = fit_quietly(MLPClassifier(**params), X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)


# ----------------------------------------------------------------------
# A call that fails leaves the model as it was


@pytest.mark.parametrize("bad_call", [
    lambda m, X, y: m.fit(X, y[:-1]),
    lambda m, X, y: m.fit(X, y, sample_weight=np.full(len(y), np.nan)),
    lambda m, X, y: m.set_params(class_weight={99: 1.0}).fit(X, y),
    lambda m, X, y: m.set_params(early_stopping=True).fit(X, y, X_val=X[:5, :3], y_val=y[:5]),
    lambda m, X, y: m.set_params(scoring="no_such_scorer", early_stopping=True).fit(X, y),
    lambda m, X, y: m.fit(X * 1e308, y),  # overflows the fresh network
])
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_failed_refit_loses_nothing(iris, bad_call):
    X, y = iris
    model = fit_quietly(MLPScratchClassifier((8,), solver="adam", max_iter=30, random_state=0), X, y)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(model).items()}
    coefs = [W.copy() for W in model.coefs_]
    proba = model.predict_proba(X)
    with pytest.raises(ValueError):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            bad_call(model, X, y)
    model.set_params(class_weight=None, early_stopping=False, scoring=None)
    assert set(vars(model)) == set(before)
    for W, W0 in zip(model.coefs_, coefs, strict=True):
        np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(model.predict_proba(X), proba)
    assert model.n_features_in_ == 4 and model.loss_curve_ == before["loss_curve_"]
