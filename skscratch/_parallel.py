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

This module imports only NumPy and the standard library.
"""

import contextlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor


def _thread_cap(environ=os.environ):
    """The thread cap: ``SKSCRATCH_NUM_THREADS`` if it is a positive integer, else the cores.

    Unset, empty or 0 means all the cores. Any other value that is not a
    positive integer is ignored with a warning, never
    an error: importing skscratch must not fail because of the environment.
    At most 4: beyond that the per-batch synchronisation costs more than it saves.
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
    return [function(items[0])] + [future.result() for future in futures]


def for_each_chunk(kernel, size):
    """Call ``kernel(chunk)`` on slices covering ``range(size)``, spread over the threads."""
    chunks = [slice(start, start + CHUNK) for start in range(0, size, CHUNK)]
    n = min(_threads, len(chunks))
    if n <= 1:
        for chunk in chunks:
            kernel(chunk)
    else:
        map_threads(lambda i: [kernel(c) for c in chunks[i::n]], list(range(n)))
