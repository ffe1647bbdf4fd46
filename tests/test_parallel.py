"""Data-parallel minibatches: the rows of a batch split over threads."""

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from _weights import weights
from skscratch import MLPScratchClassifier
from skscratch._engine import parallel as _parallel


@pytest.fixture
def force_threads(monkeypatch):
    """Shard every batch over 2 threads, however small the network."""
    monkeypatch.setattr(_parallel, "MIN_WORK_PER_BATCH", 0)
    monkeypatch.setattr(_parallel, "N_CORES", 2)
    monkeypatch.setattr(_parallel, "CHUNK", 512)  # several chunks even for a small net


@pytest.fixture
def thread_counts(monkeypatch):
    """The number of threads each fit split its minibatches over, in order."""
    counts = []
    original = _parallel.ShardedGradient.__init__

    def spy(self, params, n_threads, network_for):
        counts.append(n_threads)
        original(self, params, n_threads, network_for)

    monkeypatch.setattr(_parallel.ShardedGradient, "__init__", spy)
    return counts


def test_threads_are_used_only_where_they_pay(monkeypatch):
    monkeypatch.setattr(_parallel, "N_CORES", 2)
    assert _parallel.n_threads_for(200, 1_000) == 1
    assert _parallel.n_threads_for(200, 535_818) == 2
    assert _parallel.n_threads_for(200, 535_818, max_threads=1) == 1  # a BLAS limit around us


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_blas_limit_around_fit_is_respected(digits01, force_threads, monkeypatch):
    """Inside threadpool_limits(1) (as in a joblib worker) fit uses one thread."""
    from threadpoolctl import threadpool_limits

    used = []
    original = _parallel.using_threads

    def spy(n):
        used.append(n)
        return original(n)

    monkeypatch.setattr(_parallel, "using_threads", spy)
    X, y = digits01
    with threadpool_limits(1, user_api="blas"):
        MLPScratchClassifier((16,), max_iter=1).fit(X, y)
    MLPScratchClassifier((16,), max_iter=1).fit(X, y)
    assert used == [1, 2]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_sharded_training_equals_one_thread_to_rounding(digits01, force_threads, monkeypatch, thread_counts,
                                                         solver, shuffle, weighted):
    X, y = digits01
    sw = np.random.RandomState(0).uniform(0.2, 2.0, len(y)) if weighted else None
    params = dict(hidden_layer_sizes=(32, 16), solver=solver, shuffle=shuffle, batch_size=100,
                  alpha=1e-3, max_iter=5, random_state=0)
    sharded = MLPScratchClassifier(**params).fit(X, y, sample_weight=sw)
    monkeypatch.setattr(_parallel, "MIN_WORK_PER_BATCH", 10**18)
    single = MLPScratchClassifier(**params).fit(X, y, sample_weight=sw)
    assert thread_counts == [2, 1]  # the comparison really is between two threads and one
    for a, b in zip(weights(sharded), weights(single), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sharded.loss_curve_, single.loss_curve_, rtol=1e-12)
    # and the same as scikit-learn's
    if not weighted:
        reference = MLPClassifier(**params).fit(X, y)
        for a, b in zip(weights(sharded), weights(reference), strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_sharded_partial_fit_in_float32(digits01, force_threads, monkeypatch, thread_counts):
    X, y = digits01[0].astype(np.float32), digits01[1]

    def train():
        clf = MLPScratchClassifier((64,), learning_rate_init=0.01, random_state=0)
        for _ in range(5):
            clf.partial_fit(X, y, classes=np.arange(10))
        return clf

    sharded = train()
    monkeypatch.setattr(_parallel, "MIN_WORK_PER_BATCH", 10**18)
    single = train()
    assert thread_counts == [2] * 5 + [1] * 5
    assert sharded.coefs_[0].dtype == np.float32
    for a, b in zip(weights(sharded), weights(single), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)
    assert sharded.score(X, y) > 0.9


def test_an_interrupted_batch_leaves_no_thread_running(monkeypatch):
    """Ctrl-C in the main thread's share: map_threads returns only once every thread is done."""
    import threading
    import time

    monkeypatch.setattr(_parallel, "N_CORES", 2)
    finished = threading.Event()

    def work(item):
        if item == 0:
            raise KeyboardInterrupt  # the main thread's share is interrupted at once
        time.sleep(0.3)  # the other thread is still writing
        finished.set()

    with pytest.raises(KeyboardInterrupt):
        _parallel.map_threads(work, [0, 1])
    assert finished.is_set()
