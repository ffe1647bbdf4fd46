"""Scaling out on Dask: out-of-core ``partial_fit`` and distributed grid search.

Every test runs on a ``LocalCluster`` of two worker processes on 127.0.0.1
that this module starts and closes itself. Nothing here asserts a timing;
waits are bounded so that a hang fails instead of blocking the suite.
"""

import contextlib
import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

from _weights import assert_same_weights
from skscratch import MLPScratchClassifier
from skscratch._engine import parallel as _parallel

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
joblib = pytest.importorskip("joblib")
psutil = pytest.importorskip("psutil")
threadpoolctl = pytest.importorskip("threadpoolctl")

N_WORKERS, THREADS_PER_WORKER = 2, 1
SEARCH_TIMEOUT_S = 120  # a search that has not ended by then counts as hung
GRID = {"hidden_layer_sizes": [(16,), (32,)], "alpha": [1e-4, 1e-1]}

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@contextlib.contextmanager
def local_cluster():
    """A client of a new LocalCluster on 127.0.0.1, closed on exit.

    The nannies put ``OMP_NUM_THREADS=1`` and the like into this process's
    environment before spawning the workers (distributed's
    ``pre-spawn-environ``); it is restored on exit, so that the processes
    later tests start get the usual threads.
    """
    environ = dict(os.environ)
    try:
        with distributed.LocalCluster(n_workers=N_WORKERS, threads_per_worker=THREADS_PER_WORKER, processes=True,
                                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
                distributed.Client(cluster) as client:
            yield client
    finally:
        os.environ.clear()
        os.environ.update(environ)


def spawned_children():
    """This process's children started by multiprocessing's spawn: Dask's worker processes."""
    children = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                children.append(child.pid)
        except psutil.Error:  # it ended meanwhile
            pass
    return children


def assert_gone(pids, timeout=30):
    """Every process of ``pids`` has exited (waiting up to ``timeout`` s for them)."""
    _, alive = psutil.wait_procs([p for p in map(_process, pids) if p is not None], timeout=timeout)
    assert not alive, f"worker processes left behind: {[p.pid for p in alive]}"


def _process(pid):
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


@contextlib.contextmanager
def own_cluster():
    """``local_cluster()``; on exit, every worker process it ever had has ended, restarted ones too."""
    before = set(spawned_children())
    with local_cluster() as client:
        pids = set(client.run(os.getpid).values())
        assert len(pids) == N_WORKERS and pids <= set(spawned_children()) - before
        yield client
        client.wait_for_workers(N_WORKERS, timeout=60)  # a killed worker's nanny has restarted it
        pids |= set(client.run(os.getpid).values())
    assert_gone(pids)
    assert set(spawned_children()) <= before


@pytest.fixture(scope="module")
def client():
    with own_cluster() as client:
        yield client


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture(scope="module")
def digits_scaled():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def local_search(digits_scaled):
    """The grid search run locally, one fit after the other: the reference.

    With one BLAS thread, as in the workers: the thread count of a matrix
    product may change its rounding, and many epochs can turn that into a
    different score.
    """
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        return GridSearchCV(MLPScratchClassifier(max_iter=30, random_state=0), GRID, cv=3).fit(*digits_scaled)


def assert_same_search(search, reference):
    assert search.cv_results_["params"] == reference.cv_results_["params"]
    for key in ["mean_test_score", "split0_test_score", "split1_test_score", "split2_test_score"]:
        np.testing.assert_allclose(search.cv_results_[key], reference.cv_results_[key], rtol=0, atol=1e-12)
    assert search.best_params_ == reference.best_params_
    assert_same_weights(search.best_estimator_, reference.best_estimator_)


def run_and_kill_a_worker(client, work, wanted=lambda key: True):
    """Run ``work()`` and SIGKILL the first worker seen running a task whose key is ``wanted``.

    Returns ``{"result": ...}`` or ``{"error": ...}``, what the user would
    see; fails if ``work`` ends before the kill (the test would prove
    nothing) or is still running ``SEARCH_TIMEOUT_S`` after it (a hang).
    """
    pids, outcome = client.run(os.getpid), {}

    def target():
        try:
            outcome["result"] = work()
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline = time.monotonic() + SEARCH_TIMEOUT_S
    busy = None
    while busy is None and thread.is_alive() and time.monotonic() < deadline:
        busy = next((worker for worker, keys in client.processing().items() if any(map(wanted, keys))), None)
        time.sleep(0.01)
    assert busy is not None and thread.is_alive(), "the work ended before a worker could be killed"
    os.kill(pids[busy], signal.SIGKILL)  # a crash: no goodbye to the scheduler
    thread.join(SEARCH_TIMEOUT_S)
    assert not thread.is_alive(), f"the work still runs {SEARCH_TIMEOUT_S} s after a worker died"
    return outcome


# ----------------------------------------------------------------------
# out-of-core training: Incremental over the chunks of a dask array


def test_incremental_trains_through_partial_fit_chunk_by_chunk(client, digits_split):
    X_train, X_test, y_train, y_test = digits_split
    n_chunks, passes = 10, 5
    chunk = -(-len(X_train) // n_chunks)
    dX, dy = da.from_array(X_train, chunks=(chunk, -1)), da.from_array(y_train, chunks=chunk)
    assert dX.numblocks == (n_chunks, 1)

    estimator = MLPScratchClassifier(hidden_layer_sizes=(64,), batch_size=32, random_state=0)
    model = dask_ml_wrappers.Incremental(estimator, shuffle_blocks=False)  # the chunks in order
    for _ in range(passes):  # each partial_fit call is one more pass over the chunks
        model.partial_fit(dX, dy, classes=np.arange(10))

    dX_test = da.from_array(X_test, chunks=(100, -1))
    assert model.score(dX_test, da.from_array(y_test, chunks=100)) >= 0.9

    # the same as partial_fit on each chunk in turn, here, with the workers' one BLAS thread
    local = MLPScratchClassifier(hidden_layer_sizes=(64,), batch_size=32, random_state=0)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        for _ in range(passes):
            for start in range(0, len(X_train), chunk):
                local.partial_fit(X_train[start:start + chunk], y_train[start:start + chunk], classes=np.arange(10))
    assert_same_weights(model.estimator_, local)
    assert model.estimator_.t_ == local.t_ == passes * len(X_train)
    assert estimator.__sklearn_is_fitted__() is False  # the wrapper trained a clone

    # predictions are lazy: dask arrays, chunk by chunk, computed on demand
    labels, proba = model.predict(dX_test), model.predict_proba(dX_test)
    assert isinstance(labels, da.Array) and isinstance(proba, da.Array)
    assert labels.chunks == ((100,) * 4 + (50,),) and proba.shape == (len(X_test), 10)
    np.testing.assert_array_equal(labels.compute(), model.estimator_.predict(X_test))
    np.testing.assert_allclose(proba.compute(), model.estimator_.predict_proba(X_test), rtol=1e-12, atol=0)


# ----------------------------------------------------------------------
# distributed grid search through joblib's dask backend


def test_grid_search_on_the_cluster_matches_the_local_run(client, digits_scaled, local_search):
    with distributed.get_task_stream(client) as tasks, joblib.parallel_config(backend="dask"):
        search = GridSearchCV(MLPScratchClassifier(max_iter=30, random_state=0), GRID, cv=3, n_jobs=-1)
        search.fit(*digits_scaled)
    assert_same_search(search, local_search)
    # the fits really ran on the workers, on both of them
    fits = [task for task in tasks.data if "fit_and_score" in task["key"]]
    assert fits and {task["worker"] for task in fits} == set(client.scheduler_info()["workers"])


def blas_and_skscratch_threads():
    """Train a network big enough for skscratch's own threads; report what it used."""
    used, using_threads = [], _parallel.using_threads

    def recording(n):
        used.append(n)
        return using_threads(n)

    rng = np.random.RandomState(0)
    X, y = rng.rand(1000, 784), rng.randint(0, 10, 1000)
    _parallel.using_threads = recording
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # 1000 rows x 50,890 weights a batch: over skscratch's threshold for threads
            MLPScratchClassifier(hidden_layer_sizes=(64,), batch_size=1000, max_iter=1).fit(X, y)
    finally:
        _parallel.using_threads = using_threads
    blas = [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
    return {"blas": blas, "skscratch": used, "cores": os.cpu_count()}


def test_fits_in_workers_do_not_oversubscribe_the_cores(client):
    here = blas_and_skscratch_threads()
    if max(here["blas"]) > 1 and _parallel.N_CORES > 1:  # here, unconstrained, it does use threads
        assert here["skscratch"][0] > 1
    reports = client.run(blas_and_skscratch_threads)
    assert len(reports) == N_WORKERS
    threads_per_worker = {w["id"]: w["nthreads"] for w in client.scheduler_info()["workers"].values()}
    assert sum(threads_per_worker.values()) == N_WORKERS * THREADS_PER_WORKER
    for report in reports.values():
        # the nanny starts each worker with one BLAS thread, and skscratch follows that limit
        assert report["blas"] and max(report["blas"]) == 1
        assert report["skscratch"] == [1]
        busiest = THREADS_PER_WORKER * max(max(report["blas"]), max(report["skscratch"]))
        assert N_WORKERS * busiest <= report["cores"]


# ----------------------------------------------------------------------
# a worker killed in the middle of a search


def test_a_worker_killed_mid_search_never_hangs_the_search(digits_scaled, local_search):
    def search():
        with joblib.parallel_config(backend="dask"):
            return GridSearchCV(MLPScratchClassifier(max_iter=30, random_state=0), GRID, cv=3,
                                n_jobs=-1).fit(*digits_scaled)

    with own_cluster() as client:
        outcome = run_and_kill_a_worker(client, search)
        if "result" in outcome:  # the lost work was redone elsewhere
            assert_same_search(outcome["result"], local_search)
        else:  # the dead worker held inputs that joblib had scattered to it alone: they are lost
            error = outcome["error"]
            assert isinstance(error, (distributed.client.FutureCancelledError, distributed.KilledWorker)), error
            assert "cancelled" in str(error) or "died" in str(error)

        # the nanny restarts the worker, and the same search then gives the local results
        client.wait_for_workers(N_WORKERS, timeout=60)
        assert_same_search(search(), local_search)


@pytest.mark.filterwarnings("ignore:Sending large graph:UserWarning")  # the 20 MB array, in the graph
def test_incremental_training_survives_a_killed_worker():
    """The scheduler recomputes the lost chunks and models; the fit ends with the uninterrupted model."""
    rng = np.random.RandomState(0)
    X = rng.rand(40_000, 64)
    y = (X[:, :32].sum(axis=1) > X[:, 32:].sum(axis=1)).astype(int)
    dX, dy = da.from_array(X, chunks=(1000, -1)), da.from_array(y, chunks=1000)

    def model():
        return MLPScratchClassifier(hidden_layer_sizes=(256,), batch_size=50, random_state=0)

    with threadpoolctl.threadpool_limits(1, user_api="blas"):  # as in the workers
        local = model()
        for start in range(0, len(X), 1000):
            local.partial_fit(X[start:start + 1000], y[start:start + 1000], classes=[0, 1])

    with own_cluster() as client:
        incremental = dask_ml_wrappers.Incremental(model(), shuffle_blocks=False)
        # dask-ml's tasks ("fit-<token>", i) hold the model after chunk i: ten chunks in, the dead
        # worker takes the model trained so far with it
        outcome = run_and_kill_a_worker(client, lambda: incremental.fit(dX, dy, classes=[0, 1]),
                                        lambda key: str(key[0]).startswith("fit-") and key[1] >= 10)
    assert "error" not in outcome, outcome.get("error")
    assert_same_weights(outcome["result"].estimator_, local)
    assert outcome["result"].estimator_.t_ == len(X)
