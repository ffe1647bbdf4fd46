"""Threads for training: one minibatch's rows split across cores.

NumPy runs elementwise work (activations, derivatives, the optimizer's
update) on one core, and OpenBLAS's threads spin-wait between matrix
products, which keeps a second Python thread from using the other core. So a
large minibatch is trained data-parallel instead: BLAS is limited to one
thread per call, each of ``n`` threads runs the forward and backward pass on
its share of the rows, their gradients are summed, and the optimizer's
elementwise update is split over the same threads. Every NumPy loop releases
the GIL, so the threads really run at once.

The split is fixed by the batch and the number of threads, so results are
reproducible run to run; they differ from a one-thread run only by rounding.

- :func:`n_threads_for` and :func:`training_threads`: how many threads, and
  the BLAS limits they run under;
- :class:`ShardedGradient`: one minibatch's loss and gradient, its rows
  split over the threads;
- :func:`map_threads` and :func:`for_each_chunk`: the thread pool.

This module imports NumPy, threadpoolctl and the standard library.
"""

import concurrent.futures
import contextlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from . import _array_api as seam
from . import _kernels, _network


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
CHUNK = 1 << 17  # elements per chunk of an elementwise update

_threads = 1  # threads the elementwise work may use right now
_pool = None


def n_threads_for(batch_size, n_params, max_threads=None):
    """Threads worth using for minibatches of this size on a network this big.

    ``max_threads`` caps the count, e.g. at the BLAS thread limit a caller
    (joblib, threadpoolctl) has set, so that nested parallelism does not
    oversubscribe the cores.
    """
    if N_CORES == 1 or batch_size * n_params < MIN_WORK_PER_BATCH:
        return 1
    cap = N_CORES if max_threads is None else min(N_CORES, max_threads)
    return max(1, min(cap, batch_size // 16))


def blas_threads():
    """The BLAS thread count in force here, e.g. 1 inside a joblib worker (None without a BLAS)."""
    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return min(counts) if counts else None


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
            stack.enter_context(threadpool_limits(1, user_api="blas"))
        stack.enter_context(using_threads(n))
        yield


@contextlib.contextmanager
def using_threads(n):
    """Let ``map_threads`` and ``for_each_chunk`` use ``n`` threads inside the block."""
    global _threads
    previous, _threads = _threads, n
    try:
        yield
    finally:
        _threads = previous


def map_threads(function, items):
    """``[function(item) for item in items]``, one item per thread."""
    global _pool
    if len(items) == 1:
        return [function(items[0])]
    if _pool is None:  # one pool for the process; extra items just queue
        _pool = ThreadPoolExecutor(N_CORES, thread_name_prefix="skscratch")
    futures = [_pool.submit(function, item) for item in items[1:]]
    try:
        first = function(items[0])
    finally:  # even on Ctrl-C: no thread may still write into the weights after we return
        concurrent.futures.wait(futures)
    return [first] + [future.result() for future in futures]


def for_each_chunk(kernel, size):
    """Call ``kernel(chunk)`` on slices covering ``range(size)``, spread over the threads."""
    chunks = [slice(start, start + CHUNK) for start in range(0, size, CHUNK)]
    n = min(_threads, len(chunks))
    if n <= 1:
        for chunk in chunks:
            kernel(chunk)
    else:
        map_threads(lambda i: [kernel(c) for c in chunks[i::n]], list(range(n)))


class ShardedGradient:
    """The loss and gradient of a minibatch, its rows split over ``n_threads`` threads.

    Holds one flat gradient vector, and its per-layer views, per thread.
    Each thread takes a contiguous share of the batch's rows, normalised by
    the whole batch's S, so the shards' gradients add up to the batch's
    data gradient; the L2 penalty is added once, in the summing pass. The
    result is in ``grads``, the first shard's vector.

    Parameters
    ----------
    params : ndarray of shape (n_params,)
        The network's flat parameter vector (the weights come first).
    layer_units : list of int
        Units per layer, input and output included.
    n_threads : int
        1 for parameters that are not NumPy arrays.
    """

    def __init__(self, params, layer_units, n_threads):
        self.params = params
        self.xp = xp = seam.array_namespace(params)
        self.rows = seam.empty(xp, (n_threads, params.shape[0]), params)  # one flat gradient per thread
        self.shards = [(flat, _network.unpack(flat, layer_units, xp))
                       for flat in (self.rows[k, ...] for k in range(n_threads))]
        self.grads = self.shards[0][0]
        self.n_weights = sum(a * b for a, b in zip(layer_units[:-1], layer_units[1:]))

    def __call__(self, loss_and_gradients, X, Y, rows, sample_weight, l2, masks=None):
        """The loss of the batch ``X[rows]``; its gradient goes to ``self.grads``.

        ``loss_and_gradients(X, Y, sample_weight, grad_views, alpha, normalizer,
        masks)`` computes one shard's share (the network's own function).
        ``sample_weight`` is the batch's, ``masks`` the batch's dropout masks.
        """
        if len(self.shards) == 1:
            X, Y = seam.rows(self.xp, X, rows), seam.rows(self.xp, Y, rows)
            return loss_and_gradients(X, Y, sample_weight, self.shards[0][1], l2, None, masks)
        if isinstance(rows, slice):
            rows = np.arange(X.shape[0])[rows]
        S = len(rows) if sample_weight is None else sample_weight.sum()
        bounds = np.linspace(0, len(rows), len(self.shards) + 1).astype(int)

        def shard(k):
            part = slice(bounds[k], bounds[k + 1])  # of the batch's rows and weights
            sw = None if sample_weight is None else sample_weight[part]
            masks_part = None if masks is None else [m if m is None else m[part] for m in masks]
            return loss_and_gradients(X[rows[part]], Y[rows[part]], sw, self.shards[k][1], 0.0, S, masks_part)

        losses = map_threads(shard, list(range(len(self.shards))))
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
                for grads, _ in self.shards[1:]:
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
