"""What skscratch adds beyond scikit-learn's MLP: each feature's maths and behaviour."""

import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from _weights import weights
from skscratch import MLPScratchClassifier, MLPScratchRegressor
from skscratch.nn.dropout import dropout_masks

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
    from skscratch.nn.activations import ACTIVATIONS

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
    for a, b in zip(weights(balanced), weights(weighted), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@ignore_convergence
def test_class_weight_dict_multiplies_sample_weight(digits01):
    X, y = digits01
    class_weight = {label: 1.0 + label for label in range(10)}
    sw = np.random.RandomState(0).uniform(0.5, 1.5, len(y))
    params = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    a = MLPScratchClassifier(class_weight=class_weight, **params).fit(X, y, sample_weight=sw)
    b = MLPScratchClassifier(**params).fit(X, y, sample_weight=sw * (1.0 + y))
    for wa, wb in zip(weights(a), weights(b), strict=True):
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


# ----------------------------------------------------------------------
# max_grad_norm


def test_clipping_scales_the_gradient_to_the_norm_by_hand():
    from skscratch._estimator.training import clip_norm

    g = np.array([3.0, 4.0])  # norm 5
    clip_norm(g, 2.5)
    np.testing.assert_allclose(g, [1.5, 2.0])  # halved, norm 2.5
    g = np.array([0.3, 0.4])
    clip_norm(g, 2.5)
    np.testing.assert_allclose(g, [0.3, 0.4])  # under the limit: unchanged


def test_clipped_sgd_step(iris):
    """One plain SGD step on one full batch: w1 = w0 - lr * g * min(1, c / |g|)."""
    from skscratch.nn import network as _network

    X, y = iris
    layer_units, c, lr = [4, 5, 3], 0.05, 0.1
    w0 = _network.init_params(layer_units, "relu", np.random.RandomState(0))
    g = np.empty_like(w0)
    _network.Network.mlp(layer_units, "relu").bind(w0.copy(), g).loss_and_gradients(X, np.eye(3, dtype=bool)[y],
                                                                                     alpha=1e-4)
    assert np.linalg.norm(g) > c  # the clip is active
    clf = MLPScratchClassifier((5,), solver="sgd", momentum=0.0, learning_rate_init=lr,
                               batch_size=len(X), shuffle=False, max_grad_norm=c, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    w1 = np.concatenate([a.ravel() for a in weights(clf)])
    np.testing.assert_allclose(w1, w0 - lr * g * c / np.linalg.norm(g), rtol=1e-12, atol=1e-15)


@ignore_convergence
def test_clipping_tames_a_learning_rate_that_diverges_without_it(digits01):
    X, y = digits01
    params = dict(hidden_layer_sizes=(32,), solver="sgd", learning_rate_init=10.0, max_iter=20, random_state=0)
    with pytest.warns(Warning, match="diverged"):
        MLPScratchClassifier(**params).fit(X, y)
    clipped = MLPScratchClassifier(max_grad_norm=0.1, **params).fit(X, y)
    assert clipped.score(X, y) > 0.8


# ----------------------------------------------------------------------
# history_


@ignore_convergence
def test_history_without_validation(digits01):
    X, y = digits01
    clf = MLPScratchClassifier((16,), max_iter=5, random_state=0).fit(X, y)
    history = clf.history_
    assert list(history.columns) == ["epoch", "train_loss", "learning_rate", "elapsed_s"]
    assert history["epoch"].tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(history["train_loss"], clf.loss_curve_)
    assert (history["learning_rate"] == 0.001).all()
    assert history["elapsed_s"].is_monotonic_increasing
    clf.partial_fit(X, y)  # continues the same history
    assert clf.history_["epoch"].tolist() == [1, 2, 3, 4, 5, 6]


@ignore_convergence
def test_history_with_early_stopping(digits01):
    X, y = digits01
    clf = MLPScratchClassifier((16,), early_stopping=True, max_iter=8, random_state=0).fit(X, y)
    history = clf.history_
    assert list(history.columns) == ["epoch", "train_loss", "val_loss", "val_score", "learning_rate", "elapsed_s"]
    np.testing.assert_array_equal(history["val_score"], clf.validation_scores_)
    assert (history["val_loss"] > 0).all() and history["val_loss"].iloc[-1] < history["val_loss"].iloc[0]


@ignore_convergence
def test_history_lbfgs_and_regressor(digits01):
    X, y = digits01
    clf = MLPScratchClassifier((16,), solver="lbfgs", max_iter=10, random_state=0).fit(X, y)
    assert len(clf.history_) == len(clf.loss_curve_) > 0 and clf.history_["learning_rate"].isna().all()
    reg = MLPScratchRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate="invscaling",
                              learning_rate_init=0.01, max_iter=3, random_state=0).fit(X, y / 9.0)
    rates = reg.history_["learning_rate"].tolist()
    assert rates[0] > rates[1] > rates[2]  # invscaling lowers it each epoch


# ----------------------------------------------------------------------
# The divergence guard and the did-not-learn warning


def test_a_loss_ten_times_the_initial_one_is_divergence(digits01):
    X, y = digits01
    clf = MLPScratchClassifier((16,), solver="sgd", learning_rate_init=5.0, momentum=0.99,
                               max_iter=20, random_state=0)
    with pytest.warns(Warning, match=r"diverged.*more than 10 times the freshly initialised"):
        clf.fit(X, y)
    assert all(np.isfinite(w).all() for w in weights(clf))
    assert all(loss <= 10 * clf._initial_loss for loss in clf.loss_curve_)


@pytest.mark.parametrize("momentum", [0.9, 0.99])
def test_learning_rate_sweep_never_ends_silently_at_chance(digits01, momentum):
    """sgd at lr 1e-3 .. 1e3 over 5 seeds: no NaN weights, no silent failure."""
    from sklearn.exceptions import ConvergenceWarning

    X, y = digits01
    for lr in [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0]:
        for seed in range(5):
            with warnings.catch_warnings(record=True) as record:  # a good fit may warn of nothing
                warnings.simplefilter("always")
                clf = MLPScratchClassifier((32,), solver="sgd", momentum=momentum, learning_rate_init=lr,
                                           max_iter=30, random_state=seed).fit(X, y)
            assert all(np.isfinite(w).all() for w in weights(clf)), (lr, seed)
            told = [str(w.message) for w in record if issubclass(w.category, ConvergenceWarning)
                    and "Maximum iterations" not in str(w.message)]
            if clf.score(X, y) < 0.25:  # chance is 0.10
                assert told, f"lr={lr}, seed={seed} ended at chance without a warning"


def test_a_network_that_cannot_learn_says_so():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(300, 5)), rng.randint(0, 3, size=300)  # labels unrelated to X
    with pytest.warns(Warning, match="barely learned"):
        MLPScratchClassifier((8,), alpha=1.0, max_iter=30, random_state=0).fit(X, y)


# ----------------------------------------------------------------------
# dropout


def test_inverted_dropout_masks_preserve_the_expectation():
    X = np.random.RandomState(0).normal(size=(20_000, 3))
    masks = dropout_masks(X.astype(np.float32), [0.3, 0.0], [50, 7], step=0, seed=123, dtype=np.dtype(np.float32))
    assert masks[1] is None and masks[0].dtype == np.float32 and masks[0].shape == (20_000, 50)
    assert (masks[0] == 0).mean() == pytest.approx(0.3, abs=0.005)
    assert set(np.unique(masks[0])) == {0.0, np.float32(1 / 0.7)}
    assert masks[0].mean() == pytest.approx(1.0, abs=0.01)  # E[mask] = 0.7 / 0.7
    # units and samples are not correlated with each other
    dropped = (masks[0] == 0).astype(float)
    assert abs(np.corrcoef(dropped[:, 0], dropped[:, 1])[0, 1]) < 0.03
    assert abs(np.corrcoef(dropped[:-1, 0], dropped[1:, 0])[0, 1]) < 0.03


def test_dropout_masks_depend_on_the_sample_and_the_step():
    X = np.random.RandomState(0).normal(size=(4, 3))
    X[2] = X[0]  # a repeated sample
    step0 = dropout_masks(X, [0.5], [64], step=0, seed=7, dtype=np.dtype(np.float64))[0]
    step1 = dropout_masks(X, [0.5], [64], step=1, seed=7, dtype=np.dtype(np.float64))[0]
    assert np.array_equal(step0[0], step0[2])  # same sample, same step: same mask
    assert not np.array_equal(step0[0], step0[1])
    assert not np.array_equal(step0[0], step1[0])  # a new step draws anew
    other_seed = dropout_masks(X, [0.5], [64], step=0, seed=8, dtype=np.dtype(np.float64))[0]
    assert not np.array_equal(step0, other_seed)


@ignore_convergence
def test_dropout_trains_and_is_off_at_predict_time(digits01):
    X, y = digits01
    clf = MLPScratchClassifier((64,), dropout=0.3, max_iter=40, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95
    first, second = clf.predict_proba(X), clf.predict_proba(X)
    assert first.tobytes() == second.tobytes()  # no random masks at predict time
    from skscratch.nn import network as _network

    Z = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0) @ clf.coefs_[1] + clf.intercepts_[1]
    expected = np.exp(Z - Z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(first, expected / expected.sum(axis=1, keepdims=True), rtol=1e-10)
    # the training loss is measured through the masks, so it stays above the plain run's
    plain = MLPScratchClassifier((64,), max_iter=40, random_state=0).fit(X, y)
    assert clf.loss_ > plain.loss_


@ignore_convergence
def test_dropout_per_layer_and_its_errors(digits01):
    X, y = digits01
    MLPScratchClassifier((32, 16), dropout=(0.2, 0.0), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="one per hidden layer"):
        MLPScratchClassifier((32, 16), dropout=(0.2,)).fit(X, y)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        MLPScratchClassifier((32,), dropout=(1.0,)).fit(X, y)
    with pytest.raises(ValueError, match="stochastic solver"):
        MLPScratchClassifier((32,), dropout=0.2, solver="lbfgs").fit(X, y)
    # no dropout, no change: a rate of 0, for all or per layer, gives scikit-learn's model
    from sklearn.neural_network import MLPRegressor

    reference = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y / 9.0)
    for rates in (0.0, (0.0,), [0]):
        ours = MLPScratchRegressor(hidden_layer_sizes=(8,), max_iter=3, dropout=rates, random_state=0).fit(X, y / 9.0)
        for u, v in zip(weights(ours), weights(reference), strict=True):
            np.testing.assert_allclose(u, v, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------
# A user-given validation set


@ignore_convergence
def test_x_val_is_used_when_given(digits01):
    X, y = digits01
    X_train, y_train, X_val, y_val = X[:1200], y[:1200], X[1200:], y[1200:]
    clf = MLPScratchClassifier((16,), max_iter=5, random_state=0).fit(X_train, y_train, X_val=X_val, y_val=y_val)
    history = clf.history_
    assert len(history) == 5 and history["val_score"].iloc[-1] == clf.score(X_val, y_val)
    stopped = MLPScratchClassifier((16,), early_stopping=True, max_iter=60, random_state=0)
    stopped.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    # the restored best weights score exactly the best validation score on X_val
    assert stopped.score(X_val, y_val) == stopped.best_validation_score_ == max(stopped.validation_scores_)
    # nothing was split off: every training sample was trained on
    assert stopped.t_ == stopped.n_iter_ * len(X_train)


@ignore_convergence
def test_x_val_for_the_regressor_with_weights(digits01):
    X, y = digits01
    y = y / 9.0
    w = np.linspace(0.5, 1.5, 597)
    reg = MLPScratchRegressor(hidden_layer_sizes=(16,), max_iter=4, random_state=0)
    reg.fit(X[:1200], y[:1200], X_val=X[1200:], y_val=y[1200:], sample_weight_val=w)
    assert reg.history_["val_score"].iloc[-1] == pytest.approx(reg.score(X[1200:], y[1200:], sample_weight=w))


def test_x_val_errors(digits01):
    X, y = digits01
    with pytest.raises(ValueError, match="together"):
        MLPScratchClassifier().fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="stochastic"):
        MLPScratchClassifier(solver="lbfgs").fit(X, y, X_val=X, y_val=y)
    with pytest.raises(ValueError, match="classes not in y"):
        MLPScratchClassifier(max_iter=1).fit(X[y < 5], y[y < 5], X_val=X, y_val=y)
    with pytest.raises(ValueError, match="features"):
        MLPScratchClassifier(max_iter=1).fit(X, y, X_val=X[:, :10], y_val=y)


@ignore_convergence
def test_x_val_through_metadata_routing_in_a_pipeline(digits01):
    import sklearn
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = digits01
    with sklearn.config_context(enable_metadata_routing=True):
        mlp = MLPScratchClassifier((16,), max_iter=5, random_state=0).set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)], transform_input=["X_val"])
        pipe.fit(X[:1200], y[:1200], X_val=X[1200:], y_val=y[1200:])
    fitted = pipe.named_steps["mlp"]
    # the scaler transformed X_val before it reached the network
    assert fitted.history_["val_score"].iloc[-1] == pipe.score(X[1200:], y[1200:])


# ----------------------------------------------------------------------
# scoring


@ignore_convergence
def test_scoring_loss_and_named_and_callable(digits01):
    from sklearn.metrics import f1_score, make_scorer

    X, y = digits01
    split = dict(X_val=X[1200:], y_val=y[1200:])
    by_loss = MLPScratchClassifier((16,), scoring="loss", early_stopping=True, max_iter=6,
                                   n_iter_no_change=100, random_state=0).fit(X[:1200], y[:1200], **split)
    np.testing.assert_allclose(by_loss.validation_scores_, -by_loss.history_["val_loss"])
    f1 = MLPScratchClassifier((16,), scoring="f1_macro", max_iter=4, random_state=0).fit(X[:1200], y[:1200], **split)
    assert f1.history_["val_score"].iloc[-1] == pytest.approx(f1_score(y[1200:], f1.predict(X[1200:]), average="macro"))
    custom = make_scorer(lambda t, p: float((t == p).mean()) - 1.0)
    clf = MLPScratchClassifier((16,), scoring=custom, max_iter=3, random_state=0).fit(X[:1200], y[:1200], **split)
    assert clf.history_["val_score"].iloc[-1] == pytest.approx(clf.score(X[1200:], y[1200:]) - 1.0)
    reg = MLPScratchRegressor(hidden_layer_sizes=(8,), scoring="neg_mean_absolute_error", early_stopping=True,
                              max_iter=5, random_state=0).fit(X, y / 9.0)
    assert all(score < 0 for score in reg.validation_scores_)


def test_unknown_scoring_is_refused(digits01):
    X, y = digits01
    with pytest.raises(ValueError, match="not a valid scoring|scoring"):
        MLPScratchClassifier(scoring="no_such_metric", early_stopping=True).fit(X, y)


@ignore_convergence
def test_scoring_callable_with_scikit_learns_three_argument_signature(digits01):
    """scikit-learn documents a scorer as scorer(estimator, X, y): no sample_weight needed."""
    X, y = digits01
    seen = []

    def top_class_share(estimator, X, y):
        seen.append(len(y))
        return float((estimator.predict(X) == y).mean())

    split = dict(X_val=X[1200:], y_val=y[1200:])
    clf = MLPScratchClassifier((16,), scoring=top_class_share, max_iter=3, random_state=0)
    clf.fit(X[:1200], y[:1200], **split)
    assert seen == [len(X) - 1200] * 3
    assert clf.history_["val_score"].iloc[-1] == pytest.approx(clf.score(X[1200:], y[1200:]))
    # with validation weights it cannot use, it says so, and still scores
    with pytest.warns(UserWarning, match="does not take sample_weight"):
        clf.fit(X[:1200], y[:1200], sample_weight_val=np.ones(len(X) - 1200), **split)


@ignore_convergence
def test_scoring_callable_that_takes_weights_gets_them(digits01):
    X, y = digits01
    weights_seen = []

    def weighted(estimator, X, y, sample_weight=None):
        weights_seen.append(sample_weight)
        return float(np.average(estimator.predict(X) == y, weights=sample_weight))

    weights = np.r_[np.ones(300), np.zeros(len(X) - 1500)]
    clf = MLPScratchClassifier((16,), scoring=weighted, max_iter=2, random_state=0)
    clf.fit(X[:1200], y[:1200], X_val=X[1200:], y_val=y[1200:], sample_weight_val=weights)
    assert all(w is not None and (w == weights).all() for w in weights_seen)
    clf.fit(X[:1200], y[:1200], X_val=X[1200:], y_val=y[1200:])
    assert weights_seen[-1] is None


# ----------------------------------------------------------------------
# scikit-learn's callback API (experimental, scikit-learn >= 1.9)

try:
    from sklearn import callback
except ImportError:  # scikit-learn < 1.9
    callback = None
needs_callbacks = pytest.mark.skipif(callback is None, reason="scikit-learn < 1.9 has no callback API")


@needs_callbacks
@ignore_convergence
def test_scoring_monitor_sees_every_epoch(digits01):
    X, y = digits01
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = MLPScratchClassifier((16,), max_iter=5, random_state=0).set_callbacks(monitor)
    clf.fit(X, y)
    log = monitor.get_logs().data_as_pandas
    epochs = log[log["task_name"] == "epoch"]
    assert epochs["task_id"].tolist() == [0, 1, 2, 3, 4]
    assert epochs["accuracy"].iloc[-1] == pytest.approx(clf.score(X, y))
    assert epochs["accuracy"].is_monotonic_increasing  # it learns, epoch by epoch


@needs_callbacks
@ignore_convergence
def test_progress_bar_draws_the_fit(digits01):
    """rich's bar, drawn on stdout, names the estimator and finishes."""
    pytest.importorskip("rich")
    code = """
import warnings; warnings.simplefilter("ignore")
from sklearn import callback
from sklearn.datasets import load_digits
from skscratch import MLPScratchRegressor
X, y = load_digits(return_X_y=True)
MLPScratchRegressor(hidden_layer_sizes=(8,), max_iter=4, random_state=0).set_callbacks(
    callback.ProgressBar()).fit(X / 16, y / 9.0)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "MLPScratchRegressor - fit" in result.stdout and "100%" in result.stdout, result.stdout


@needs_callbacks
def test_progress_bar_without_rich_says_what_to_install():
    code = "import sys; sys.modules['rich'] = None\nfrom sklearn import callback\ncallback.ProgressBar()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "ImportError: Progressbar requires rich." in result.stderr


def test_progress_extra_brings_rich():
    """README promises pip install "skscratch[progress]" for ProgressBar: the extra must hold rich."""
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11's")

    extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert any(requirement.startswith("rich") for requirement in extras["progress"])
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert 'pip install "skscratch[progress]"' in readme


class StopAfter:
    """A callback that asks to stop after ``n`` epochs."""

    def __init__(self, n):
        self.n, self.seen = n, 0

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, **kwargs):
        if context.task_name == "epoch":
            self.seen += 1
            return self.seen >= self.n
        return False

    def teardown(self, estimator, context):
        pass


@needs_callbacks
@ignore_convergence
def test_a_fit_with_callbacks_keeps_none_of_the_callers_data(digits01):
    """Neither X nor the sample weights stay on the estimator, or end up in its pickle."""
    X, y = digits01
    weights = np.linspace(1.0, 2.0, len(X)) + np.pi  # values no weight of the network takes
    clf = MLPScratchClassifier((16,), max_iter=2, random_state=0).set_callbacks(StopAfter(5))
    clf.fit(X, y, sample_weight=weights)

    def arrays_in(value):
        if isinstance(value, np.ndarray):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from arrays_in(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from arrays_in(item)

    for name, value in vars(clf).items():
        for array in arrays_in(value):
            assert array.shape != weights.shape or not np.array_equal(array, weights), name
            assert array.shape != X.shape, name
    blob = pickle.dumps(clf)
    assert weights.tobytes()[:64] not in blob and X[10:20].tobytes() not in blob


class Recorder(StopAfter):
    """A callback that never stops training and notes its teardown."""

    def __init__(self):
        super().__init__(n=10**9)
        self.torn_down = 0

    def teardown(self, estimator, context):
        self.torn_down += 1


@needs_callbacks
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_fit_that_fails_still_tears_its_callbacks_down(digits01):
    X, y = digits01
    recorder = Recorder()
    clf = MLPScratchClassifier((16,), max_iter=3, random_state=0).set_callbacks(recorder)
    with pytest.raises(ValueError, match="X has values too large"):
        clf.fit(X * 1.7e308, y)
    assert recorder.torn_down == 1
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "_callback_fit_ctx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)  # and the estimator fits again
    assert recorder.torn_down == 2 and clf.n_iter_ == 3


@needs_callbacks
@ignore_convergence
def test_a_callback_can_stop_training(digits01):
    X, y = digits01
    clf = MLPScratchClassifier((16,), max_iter=50, random_state=0).set_callbacks(StopAfter(3)).fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3


@needs_callbacks
@ignore_convergence
def test_callbacks_in_a_pipeline_inside_grid_search(digits01):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = digits01
    monitor = callback.ScoringMonitor(scoring="accuracy")
    pipe = make_pipeline(StandardScaler(), MLPScratchClassifier(max_iter=3, random_state=0).set_callbacks(monitor))
    GridSearchCV(pipe, {"mlpscratchclassifier__hidden_layer_sizes": [(8,), (16,)]}, cv=2).fit(X, y)
    rows = [row for run in monitor.get_logs(select="all") for row in run.data]
    # 2 candidates x 2 folds + the refit = 5 fits, each of 1 fit task + 3 epochs
    assert sum(row["task_name"] == "epoch" for row in rows) == 15
    assert sum(row["task_name"] == "fit" for row in rows) == 5
