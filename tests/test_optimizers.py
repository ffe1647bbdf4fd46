"""Optimizer steps against steps computed by hand."""

import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skscratch import MLPScratchClassifier
from skscratch.nn import network as _network
from skscratch._engine.dispatch import update
from skscratch.nn.optimizers import SGD, Adam



@pytest.fixture(autouse=True, params=["numpy", "fused"])
def steps(request, monkeypatch):
    """Every hand-computed step is checked twice: the NumPy code, and the fused kernel (any size)."""
    from skscratch._engine import kernels as _kernels

    monkeypatch.setattr(_kernels, "ENABLED", request.param == "fused")
    monkeypatch.setattr(_kernels, "MIN_PARAMS", 0)
    return request.param


def test_sgd_nesterov_two_steps_by_hand():
    w = np.array([1.0, -2.0])
    opt = SGD(w, learning_rate_init=0.1, momentum=0.9, nesterov=True)
    # step 1: v = 0.9*0 - 0.1*[0.5, 0.25] = [-0.05, -0.025]
    #         w += 0.9*v - 0.1*g = [-0.045 - 0.05, -0.0225 - 0.025]
    update(opt, w, np.array([0.5, 0.25]))
    np.testing.assert_allclose(opt.velocity, [-0.05, -0.025], rtol=1e-15)
    np.testing.assert_allclose(w, [0.905, -2.0475], rtol=1e-15)
    # step 2, g = [-1, 2]: v = 0.9*[-0.05, -0.025] - 0.1*[-1, 2] = [0.055, -0.2225]
    #         w += 0.9*v - 0.1*g = [0.0495 + 0.1, -0.20025 - 0.2]
    update(opt, w, np.array([-1.0, 2.0]))
    np.testing.assert_allclose(opt.velocity, [0.055, -0.2225], rtol=1e-14)
    np.testing.assert_allclose(w, [1.0545, -2.44775], rtol=1e-14)


def test_sgd_plain_momentum_two_steps_by_hand():
    w = np.array([1.0, -2.0])
    opt = SGD(w, learning_rate_init=0.1, momentum=0.9, nesterov=False)
    update(opt, w, np.array([0.5, 0.25]))  # w += v = [-0.05, -0.025]
    np.testing.assert_allclose(w, [0.95, -2.025], rtol=1e-15)
    update(opt, w, np.array([-1.0, 2.0]))  # w += v = [0.055, -0.2225]
    np.testing.assert_allclose(w, [1.005, -2.2475], rtol=1e-14)


def test_sgd_invscaling_and_adaptive_schedules():
    w = np.zeros(1)
    opt = SGD(w, learning_rate_init=0.5, lr_schedule="invscaling", power_t=0.5)
    opt.iteration_ends(time_step=99)  # 0.5 / (99 + 1) ** 0.5
    assert opt.learning_rate == pytest.approx(0.05, rel=1e-15)
    opt = SGD(w, learning_rate_init=0.5, lr_schedule="adaptive")
    assert opt.trigger_stopping("stalled.", verbose=False) is False
    assert opt.learning_rate == pytest.approx(0.1)  # divided by 5


def adam_by_hand(w, grads, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    """Adam, one scalar at a time, straight from Kingma & Ba's Algorithm 1."""
    w, m, v = list(w), [0.0] * len(w), [0.0] * len(w)
    for t, g in enumerate(grads, start=1):
        for i in range(len(w)):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
            w[i] -= lr_t * m[i] / (math.sqrt(v[i]) + eps)
    return w


def test_adam_first_step_by_hand():
    # t = 1: m = 0.1 g, v = 0.001 g^2, lr_t = lr sqrt(0.001) / 0.1, so the step is
    # lr * g / (|g| + eps / sqrt(0.001)): almost exactly lr * sign(g)
    w = np.array([1.0, -2.0, 0.0])
    opt = Adam(w, learning_rate_init=0.01)
    update(opt, w, np.array([0.5, -0.25, 0.0]))
    expected = [1.0 - 0.01 * 0.5 / (0.5 + 1e-8 / math.sqrt(0.001)),
                -2.0 + 0.01 * 0.25 / (0.25 + 1e-8 / math.sqrt(0.001)),
                0.0]  # fmt: skip
    np.testing.assert_allclose(w, expected, rtol=1e-13)


def test_adam_three_steps_by_hand():
    grads = [np.array([0.5, -0.25]), np.array([-1.0, 0.1]), np.array([0.3, 0.3])]
    w = np.array([1.0, -2.0])
    opt = Adam(w, learning_rate_init=0.01)
    for g in grads:
        update(opt, w, g)
    assert opt.t == 3
    np.testing.assert_allclose(w, adam_by_hand([1.0, -2.0], grads), rtol=1e-13)


def test_float32_parameters_stay_float32():
    for opt_class in (SGD, Adam):
        w = np.ones(4, dtype=np.float32)
        opt = opt_class(w, 0.01)
        update(opt, w, np.full(4, 0.5, dtype=np.float32))
        assert w.dtype == np.float32


def test_estimator_step_is_w_minus_lr_times_gradient():
    """One partial_fit with plain SGD on one full batch: w1 = w0 - lr * dJ/dw(w0)."""
    X, y = load_iris(return_X_y=True)
    clf = MLPScratchClassifier((5,), solver="sgd", momentum=0.0, learning_rate_init=0.1,
                               batch_size=len(X), shuffle=False, alpha=0.01, random_state=0)
    layer_units = [4, 5, 3]
    w0 = _network.init_params(layer_units, "relu", np.random.RandomState(0))
    grads = np.empty_like(w0)
    Y = np.eye(3, dtype=bool)[y]
    _network.Network.mlp(layer_units, "relu").bind(w0.copy(), grads).loss_and_gradients(X, Y, alpha=0.01)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    w1 = np.concatenate([a.ravel() for a in clf.coefs_ + clf.intercepts_])
    np.testing.assert_allclose(w1, w0 - 0.1 * grads, rtol=1e-12, atol=1e-15)


def test_adamw_two_steps_by_hand():
    from skscratch.nn.optimizers import AdamW

    grads = [np.array([0.5, -0.25, 0.1]), np.array([-1.0, 0.1, 0.2])]
    w = np.array([1.0, -2.0, 0.5])
    opt = AdamW(w, learning_rate_init=0.01, weight_decay=0.1, decay=slice(0, 2))  # the last entry is a bias
    for g in grads:
        update(opt, w, g)
    # by hand: decay the first two entries by (1 - 0.01 * 0.1) before each Adam step
    expected, m, v = [1.0, -2.0, 0.5], [0.0] * 3, [0.0] * 3
    for t, g in enumerate(grads, start=1):
        for i in range(3):
            if i < 2:
                expected[i] *= 1 - 0.01 * 0.1
            m[i] = 0.9 * m[i] + 0.1 * g[i]
            v[i] = 0.999 * v[i] + 0.001 * g[i] ** 2
            lr_t = 0.01 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            expected[i] -= lr_t * m[i] / (math.sqrt(v[i]) + 1e-8)
    np.testing.assert_allclose(w, expected, rtol=1e-13)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_adamw_decays_instead_of_penalising(digits01):
    X, y = digits01
    weak = MLPScratchClassifier((32,), solver="adamw", alpha=1e-4, max_iter=20, random_state=0).fit(X, y)
    strong = MLPScratchClassifier((32,), solver="adamw", alpha=5.0, max_iter=20, random_state=0).fit(X, y)
    norm = lambda clf: sum((W**2).sum() for W in clf.coefs_)  # noqa: E731
    assert norm(strong) < 0.5 * norm(weak)
    assert weak.score(X, y) > 0.9
    adam = MLPScratchClassifier((32,), solver="adam", alpha=1e-4, max_iter=20, random_state=0).fit(X, y)
    assert abs(weak.score(X, y) - adam.score(X, y)) < 0.02  # a tiny decay changes little
    assert hasattr(weak, "partial_fit")


def test_cosine_schedule_by_hand():
    opt = Adam(np.zeros(1), learning_rate_init=0.1, lr_schedule="cosine", max_iter=4)
    rates = [opt.rate]
    for epoch in range(4):
        opt.iteration_ends(time_step=100 * (epoch + 1))
        rates.append(opt.rate)
    # 0.1 * (1 + cos(pi * e / 4)) / 2 for e = 0..4
    expected = [0.1, 0.1 * (1 + math.sqrt(0.5)) / 2, 0.05, 0.1 * (1 - math.sqrt(0.5)) / 2, 0.0]
    np.testing.assert_allclose(rates, expected, rtol=1e-14, atol=1e-17)


def test_warmup_then_cosine_by_hand():
    opt = SGD(np.zeros(1), learning_rate_init=0.2, lr_schedule="cosine", max_iter=6, warmup_iter=2)
    rates = [opt.rate]
    for epoch in range(6):
        opt.iteration_ends(time_step=0)
        rates.append(opt.rate)
    # warm-up: 0.2 * 1/2, 0.2 * 2/2; then cosine over the remaining 4 epochs,
    # from 0.2 at epoch 2 to 0 at epoch 6
    expected = [0.1, 0.2, 0.2, 0.2 * (1 + math.cos(math.pi * 1 / 4)) / 2, 0.1,
                0.2 * (1 + math.cos(math.pi * 3 / 4)) / 2, 0.0]  # fmt: skip
    np.testing.assert_allclose(rates, expected, rtol=1e-14, atol=1e-17)


def test_warmup_with_a_constant_rate():
    opt = Adam(np.zeros(1), learning_rate_init=0.3, warmup_iter=3)
    rates = [opt.rate]
    for _ in range(4):
        opt.iteration_ends(time_step=0)
        rates.append(opt.rate)
    np.testing.assert_allclose(rates, [0.1, 0.2, 0.3, 0.3, 0.3], rtol=1e-15)


def test_adam_step_uses_the_scheduled_rate():
    """The same step as the by-hand Adam, at the schedule's rate (invscaling, after one epoch)."""
    w = np.array([1.0, -2.0])
    opt = Adam(w, learning_rate_init=0.04, lr_schedule="invscaling", power_t=0.5)
    opt.iteration_ends(time_step=3)  # rate = 0.04 / (3 + 1) ** 0.5 = 0.02
    assert opt.rate == pytest.approx(0.02, rel=1e-15)
    g = np.array([0.5, -0.25])
    update(opt, w, g)
    np.testing.assert_allclose(w, adam_by_hand([1.0, -2.0], [g], lr=0.02), rtol=1e-13)


def test_estimator_records_the_schedule(digits01):
    X, y = digits01
    clf = MLPScratchClassifier((16,), learning_rate="cosine", warmup_iter=2, learning_rate_init=0.01,
                               max_iter=6, random_state=0).fit(X, y)
    rates = clf.history_["learning_rate"].tolist()  # the rate each epoch trained with
    np.testing.assert_allclose(rates, [0.005, 0.01, 0.01, 0.01 * (1 + math.cos(math.pi / 4)) / 2, 0.005,
                                       0.01 * (1 + math.cos(3 * math.pi / 4)) / 2], atol=1e-15)
    assert clf.score(X, y) > 0.8


def test_a_finished_cosine_schedule_is_not_a_convergence_failure(digits01):
    X, y = digits01
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPScratchClassifier((16,), learning_rate="cosine", learning_rate_init=0.01, max_iter=8,
                                   random_state=0).fit(X, y)
    assert clf.n_iter_ == 8 and clf.score(X, y) > 0.85
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPScratchClassifier((16,), learning_rate_init=0.01, max_iter=8, random_state=0).fit(X, y)
