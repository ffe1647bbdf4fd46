"""Threads for training: one minibatch's rows split across cores.

NumPy runs elementwise work (activations, derivatives, the optimizer's
update) on one core, and OpenBLAS's threads spin-wait between matrix
products, which keeps a second Python thread from using the other core. So a
large minibatch (with ``MIN_ROWS_PER_THREAD`` rows a thread at the least) is
trained data-parallel instead: BLAS is limited to one thread per call, each
of ``n`` threads runs the forward and backward pass on its share of the
rows, their gradients are summed, and the optimizer's elementwise update is
split over the same threads. Every NumPy loop releases the GIL, so the
threads really run at once.

The split is fixed by the batch and the number of threads, so results are
reproducible run to run; they differ from a one-thread run only by rounding.

- :func:`n_threads_for` and :func:`training_threads`: how many threads, and
  the BLAS limits they run under;
- :class:`ShardedGradient`: one minibatch's loss and gradient, its rows
  split over the threads;
- :func:`map_threads` and :func:`for_each_chunk`: the thread pool.

This module imports NumPy, threadpoolctl, the standard library and its
neighbours of ``_engine`` (the seam, the kernels, the passes).
"""

import concurrent.futures
import contextlib
import contextvars
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import threadpoolctl
from threadpoolctl import threadpool_info, threadpool_limits

from . import array_api as seam
from . import kernels as _kernels
from . import passes as _passes


def _thread_cap(environ=os.environ):
    """The thread cap: ``SKSCRATCH_NUM_THREADS`` if it is a positive integer, else the cores.

    Unset, empty or 0 means all the cores. Any other value that is not a
    positive integer is ignored with a warning, never an error: importing
    skscratch must not fail because of the environment. At most 4: beyond
    that the per-batch synchronisation costs more than it saves.
    """
    cores = os.cpu_count() or 1
    value = environ.get("SKSCRATCH_NUM_THREADS", "").strip()
    if value:
        try:
            requested = int(value)
        except ValueError:
            requested = -1
        if requested >= 1:
            cores = requested
        elif requested < 0:
            warnings.warn(
                f"SKSCRATCH_NUM_THREADS={value!r} is not a positive integer and is ignored; "
                f"using up to {min(4, cores)} threads.",
                RuntimeWarning,
                stacklevel=2,
            )
    return max(1, min(4, cores))


N_CORES = _thread_cap()
# batch rows x parameters below which threads cost more than they save
MIN_WORK_PER_BATCH = 50_000_000
# The rows each thread's share must have, at the least; a batch with fewer for each runs in one
# thread, BLAS's own threads sharing each product of the whole batch. With the fused passes the two
# are close: Fashion-MNIST's 512-256 network, batch 200, 2 cores (AMD EPYC, OpenBLAS Haswell),
# s/epoch split / BLAS's threads, interleaved runs: float32 1.42 / 1.37, float64 2.69 / 2.89. The
# split stays (and with it the bits of every fit on several cores as they were).
MIN_ROWS_PER_THREAD = 16
CHUNK = 1 << 17  # elements per chunk of an elementwise update

_local = threading.local()  # .threads: what the elementwise work of this thread's fit may use
_pool = None

# BLAS's limits are the process's: fits that overlap (from threads) share one limit of 1,
# set by the first to need it, and the limits found then are restored by the last to end
_blas_lock = threading.Lock()
_blas_fits = 0  # fits running with threads
_blas_limiter = None  # threadpoolctl's record of the limits before the first of them
_blas_before = None  # the BLAS thread count in force before the first of them
_blas_control = None  # the one thread that changes BLAS's limits (see _blas_single_threaded)


def n_threads_for(batch_size, n_params, max_threads=None):
    """Threads worth using for minibatches of this size on a network this big.

    ``max_threads`` caps the count, e.g. at the BLAS thread limit a caller
    (joblib, threadpoolctl) has set, so that nested parallelism does not
    oversubscribe the cores. Each thread gets :data:`MIN_ROWS_PER_THREAD`
    rows of the batch at the least.
    """
    if N_CORES == 1 or batch_size * n_params < MIN_WORK_PER_BATCH:
        return 1
    cap = N_CORES if max_threads is None else min(N_CORES, max_threads)
    return max(1, min(cap, batch_size // MIN_ROWS_PER_THREAD))


def blas_threads():
    """The BLAS thread count set around us, e.g. 1 inside a joblib worker (None without a BLAS).

    While fits of ours run with threads, BLAS's limit is theirs (1): the
    count is the one in force before they set it, so that a fit's threads
    never depend on the fits that run beside it.
    """
    with _blas_lock:  # (read under the lock: a fit that starts meanwhile must not set the limit first)
        return _blas_before if _blas_fits else _blas_count()


def training_threads(X, batch_size, n_params):
    """The threads that train each minibatch: 1 for sparse or non-NumPy X, never above a BLAS limit set around us."""
    if not isinstance(X, np.ndarray):  # sparse rows are not worth splitting; other libraries thread themselves
        return 1
    n_threads = n_threads_for(batch_size, n_params)
    if n_threads > 1:  # respect a BLAS thread limit set around us (joblib, threadpoolctl)
        n_threads = n_threads_for(batch_size, n_params, blas_threads())
    return n_threads


@contextlib.contextmanager
def threads_for_training(n):
    """Run ``n`` training threads: BLAS then runs one thread per call, as each thread has a share of the rows."""
    with contextlib.ExitStack() as stack:
        if n > 1:
            stack.enter_context(_blas_single_threaded())
        stack.enter_context(using_threads(n))
        yield


@contextlib.contextmanager
def _blas_single_threaded():
    """BLAS at one thread per call while any fit with threads runs; as it was once the last has ended.

    Counted, not nested: fits from several threads may start and end in any
    order, and the limits found before the first are the ones restored.

    OpenBLAS's limit is the process's, and threadpoolctl (3.6 and later) lets
    only one thread change it: the first that does, while it lives. So the
    limit is set and restored by one thread of skscratch's own, which then
    lets go of the control, and a restore never depends on which fit ended
    last. Where another thread holds the control (the user's own
    ``threadpool_limits`` in the main thread, say), the fit's thread sets and
    restores it, as threadpoolctl allows. (Where a limit is a thread's own, as
    with OpenMP, the fits' threads keep theirs: slower, never other results.)
    """
    global _blas_fits, _blas_limiter, _blas_before, _blas_control
    with _blas_lock:
        if _blas_fits == 0:
            if _blas_control is None:
                _blas_control = ThreadPoolExecutor(1, thread_name_prefix="skscratch-blas")
            _blas_before = _blas_count()
            future = _blas_control.submit(threadpool_limits, 1, user_api="blas")
            try:
                limiter = future.result()
            except BaseException:  # Ctrl-C while waiting: the limit still comes, so its restore must follow
                future.add_done_callback(lambda done: done.exception() or _restore_and_let_go(done.result()))
                raise
            if _blas_before not in (None, 1) and _blas_count() != 1:  # another thread has the control
                limiter = threadpool_limits(1, user_api="blas")
                _blas_limiter = (limiter, threading.current_thread())
            else:
                _blas_limiter = (limiter, None)
        _blas_fits += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_fits -= 1
            if _blas_fits == 0:
                limiter, setter = _blas_limiter
                if setter is None:
                    _blas_control.submit(_restore_and_let_go, limiter).result()
                else:
                    limiter.restore_original_limits()
                _blas_limiter = None


def _blas_count():
    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return min(counts) if counts else None


def _restore_and_let_go(limiter):
    """In skscratch's BLAS thread: the limits back, and the control of OpenBLAS's with them."""
    limiter.restore_original_limits()
    let_go = getattr(getattr(threadpoolctl, "OpenBLASController", None), "clear_controlling_thread", None)
    if let_go is not None:  # threadpoolctl >= 3.6
        let_go()


def _after_fork_in_child():
    """A forked child starts with none of the parent's threads: its pools, locks and counts start afresh.

    (A pool or a lock of the parent's would wait forever for threads the
    child does not have.)
    """
    global _pool, _blas_control, _blas_lock, _blas_fits, _blas_limiter, _local
    _pool, _blas_control, _blas_limiter = None, None, None
    _blas_lock, _blas_fits, _local = threading.Lock(), 0, threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _current_threads():
    return getattr(_local, "threads", 1)


@contextlib.contextmanager
def using_threads(n):
    """Let ``map_threads`` and ``for_each_chunk`` use ``n`` threads inside the block (in this thread only)."""
    previous, _local.threads = _current_threads(), n
    try:
        yield
    finally:
        _local.threads = previous


def map_threads(function, items):
    """``[function(item) for item in items]``, one item per thread."""
    global _pool
    if len(items) == 1:
        return [function(items[0])]
    if _pool is None:  # one pool for the process; extra items just queue
        _pool = ThreadPoolExecutor(N_CORES, thread_name_prefix="skscratch")
    # each in a copy of this thread's context: NumPy's errstate (a context variable since NumPy 2) holds there too
    futures = [_pool.submit(contextvars.copy_context().run, function, item) for item in items[1:]]
    try:
        first = function(items[0])
    finally:  # even on Ctrl-C: no thread may still write into the weights after we return
        concurrent.futures.wait(futures)
    return [first] + [future.result() for future in futures]


def for_each_chunk(kernel, size):
    """Call ``kernel(chunk)`` on slices covering ``range(size)``, spread over the threads."""
    chunks = [slice(start, start + CHUNK) for start in range(0, size, CHUNK)]
    n = min(_current_threads(), len(chunks))
    if n <= 1:
        for chunk in chunks:
            kernel(chunk)
    else:
        map_threads(lambda i: [kernel(c) for c in chunks[i::n]], list(range(n)))


class ShardedGradient:
    """The loss and gradient of a minibatch, its rows split over ``n_threads`` threads.

    Each thread has a network of its own (layers keep what their backward
    pass needs) over the same parameters, and a flat gradient vector of its
    own: a row of ``rows``. Each takes a contiguous share of the batch's
    rows, normalised by the whole batch's S, so the shards' gradients add up
    to the batch's data gradient; the L2 penalty is added once, in the
    summing pass. The result is in ``grads``, the first shard's vector.

    Parameters
    ----------
    params : ndarray of shape (n_params,)
        The network's flat parameter vector (the penalised weights come first).
    n_threads : int
        1 for parameters that are not NumPy arrays.
    network_for : callable
        ``network_for(grads)``: a network (:class:`skscratch.nn.Network`) over
        ``params``, its gradient into the flat vector ``grads``.
    """

    def __init__(self, params, n_threads, network_for):
        self.params = params
        self.xp = xp = seam.array_namespace(params)
        self.rows = seam.empty(xp, (n_threads, params.shape[0]), params)  # one flat gradient per thread
        self.networks = [network_for(self.rows[k, ...]) for k in range(n_threads)]
        self.grads = self.networks[0].grads
        self.n_weights = self.networks[0].n_penalised

    def __call__(self, X, Y, rows, sample_weight, l2, masks=None):
        """The loss of the batch ``X[rows]``; its gradient goes to ``self.grads``.

        ``sample_weight`` is the batch's, ``masks`` the batch's dropout masks
        (one per Dropout layer).
        """
        if len(self.networks) == 1:
            X, Y = seam.rows(self.xp, X, rows), seam.rows(self.xp, Y, rows)
            return _passes.loss_and_gradients(self.networks[0], X, Y, sample_weight, l2, None, masks)
        if isinstance(rows, slice):
            rows = np.arange(X.shape[0])[rows]
        S = len(rows) if sample_weight is None else sample_weight.sum()
        bounds = np.linspace(0, len(rows), len(self.networks) + 1).astype(int)

        def shard(k):
            part = slice(bounds[k], bounds[k + 1])  # of the batch's rows and weights
            sw = None if sample_weight is None else sample_weight[part]
            masks_part = None if masks is None else [m[part] for m in masks]
            return _passes.loss_and_gradients(self.networks[k], X[rows[part]], Y[rows[part]], sw, 0.0, S,
                                              masks_part)

        losses = map_threads(shard, list(range(len(self.networks))))
        return sum(losses) + self._sum_shards(l2, S)

    def _sum_shards(self, l2, S):
        """Add the shards into ``grads``, with the L2 term (l2 / S) W, in one parallel pass; the penalty."""
        total, params, n_weights = self.grads, self.params, self.n_weights
        fused = _kernels.use_for(params)
        squared_norms = {}

        def add(chunk):
            if fused:  # the same sums, in one pass (_kernels.add_shards)
                _kernels.add_shards(chunk, total, self.rows[1:], params, n_weights if l2 else 0,
                                    l2 / S if l2 else 0.0)
            else:
                for grads in self.rows[1:]:
                    total[chunk] += grads[chunk]
            if l2 and chunk.start < n_weights:
                W = params[chunk.start : min(chunk.stop, n_weights)]
                if not fused:
                    total[chunk.start : chunk.start + W.size] += (l2 / S) * W
                squared_norms[chunk.start] = np.dot(W, W)

        for_each_chunk(add, total.size)
        # summed in a fixed order, so the loss does not depend on thread timing
        squared_norm = sum(squared_norms[start] for start in sorted(squared_norms))
        return 0.5 * l2 * squared_norm / S
