"""Fused kernels compiled by numba: the optimizers' steps in one pass over the parameters.

NumPy runs the Adam step as a dozen separate passes over every parameter
(``m *= b1``, ``step = g * (1 - b1)``, ``m += step``, ...), each reading and
writing the whole vector. A numba kernel does the same arithmetic for one
parameter at a time, in one loop, with the values in registers. The NumPy
code stays the specification: each kernel here is paired with the method it
replaces (named in its docstring), does the same operations in the same
order and the same dtype, and a test checks that both give the same bits.

- :func:`sgd_step` replaces ``_optimizers.SGD.update_params``;
- :func:`adam_step` replaces ``_optimizers.Adam.update_params`` and, with a
  decay, ``AdamW.update_params``;
- :func:`add_shards` replaces the summing pass of
  ``_parallel.ShardedGradient._sum_shards`` (the threads' gradients and the
  L2 term).

They are used when numba is installed (``pip install "skscratch[fast]"``)
unless ``SKSCRATCH_KERNELS=0`` is set (:data:`ENABLED`), for networks of at
least :data:`MIN_PARAMS` parameters (:func:`use_for`). Compiled code is
cached on disk (``cache=True``) where the package folder or numba's cache
folder is writable; elsewhere it is compiled once per process.

This module is the only one that imports numba, and only when a kernel is
first needed: ``import skscratch`` and small fits never load it.
"""

import importlib.util
import os
import warnings

import numpy as np


def _switch(environ=os.environ):
    """``SKSCRATCH_KERNELS``: "0" turns the kernels off, "1" or unset leaves them on (with numba)."""
    value = environ.get("SKSCRATCH_KERNELS", "").strip()
    if value in ("", "1"):
        return True
    if value == "0":
        return False
    warnings.warn(f"SKSCRATCH_KERNELS={value!r} is neither 0 nor 1 and is ignored.", RuntimeWarning, stacklevel=2)
    return True


def _numba_installed():
    """Whether numba can be imported, found without importing it (that costs 0.2 s and 60 MiB)."""
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):  # e.g. sys.modules["numba"] = None
        return False


#: Whether the fused kernels run: numba is installed and SKSCRATCH_KERNELS is not "0".
ENABLED = _numba_installed() and _switch()

#: Parameter vectors smaller than this are stepped by NumPy. A fused Adam
#: step saves about 0.9 ns per parameter here (1.1 against 0.2), while
#: loading numba and its compiled kernels costs about 0.5 s once per process
#: (2.5 s the very first time, compiling; cached on disk afterwards). At
#: 200,000 parameters that pays back in 3,000 steps, ten Fashion-MNIST
#: epochs; the 512-256 network (535,818) pays back within four.
MIN_PARAMS = 200_000


def use_for(params):
    """Whether to step the flat parameter vector ``params`` with the fused kernels."""
    return ENABLED and params.size >= MIN_PARAMS


def _jit(function):
    """numba's njit with ``cache=True`` where a cache folder is writable, else without a cache."""
    import numba

    # serial, releasing the GIL: the callers split the vector over skscratch's own
    # threads (_parallel.for_each_chunk). numba's parallel loops would start a
    # second pool, whose threads spin between steps and take the cores from ours.
    options = dict(nogil=True, fastmath=False, error_model="numpy")
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # no writable place for the cache: compile once per process
        return numba.njit(cache=False, **options)(function)


_compiled: dict = {}  # the plain function -> its compiled kernel


def _kernel(function):
    """``function`` compiled by numba, on first use (numba is imported then, not before).

    Without numba (the kernels forced on in a test) it runs as the plain
    Python it is, slowly, with the same arithmetic.
    """
    if function not in _compiled:
        try:
            _compiled[function] = _jit(function)
        except ImportError:
            _compiled[function] = function
    return _compiled[function]


def _sgd_step(params, grads, velocity, lr, mu, nesterov):
    if nesterov:
        for i in range(params.size):
            step = grads[i] * lr  # lr g
            v = velocity[i] * mu - step  # v = mu v - lr g
            velocity[i] = v
            params[i] -= step - mu * v  # w += mu v - lr g
    else:
        for i in range(params.size):
            v = velocity[i] * mu - grads[i] * lr
            velocity[i] = v
            params[i] += v  # w += v


def _adam_step(params, grads, m, v, lr, b1, one_minus_b1, b2, one_minus_b2, eps, decay):
    for i in range(params.size):
        g = grads[i]
        m_i = m[i] * b1 + g * one_minus_b1  # m = b1 m + (1 - b1) g
        v_i = v[i] * b2 + (g * g) * one_minus_b2  # v = b2 v + (1 - b2) g^2
        m[i] = m_i
        v[i] = v_i
        # AdamW's decay first (1 for Adam), then w = w - lr_t m / (sqrt(v) + eps)
        params[i] = params[i] * decay - (m_i / (np.sqrt(v_i) + eps)) * lr


def _add_shards(total, others, params, n_weights, coefficient):
    for k in range(others.shape[0]):  # each thread's gradient, in order
        row = others[k]
        for i in range(total.size):
            total[i] += row[i]
    for i in range(n_weights):  # the L2 term (alpha / S) W, weights only
        total[i] += coefficient * params[i]


# The kernels as the callers use them: on the entries ``chunk`` (a slice) of
# the flat vectors, passed as views (a loop over a whole view is what LLVM
# vectorises), with the scalars in the parameters' dtype, as NumPy casts
# them. The callers spread the chunks over their threads.


def sgd_step(chunk, params, grads, velocity, lr, mu, nesterov):
    """Fused ``SGD.update_params``: ``v = mu v - lr g``, then ``w += v`` (or ``w += mu v - lr g``)."""
    scalar = params.dtype.type
    _kernel(_sgd_step)(params[chunk], grads[chunk], velocity[chunk], scalar(lr), scalar(mu), bool(nesterov))


def adam_step(chunk, params, grads, m, v, lr, b1, b2, eps, decayed=slice(0, 0), decay=1.0):
    """Fused ``Adam.update_params`` (and ``AdamW``'s: the entries ``decayed`` multiplied by ``decay`` first)."""
    scalar = params.dtype.type
    constants = (scalar(lr), scalar(b1), scalar(1 - b1), scalar(b2), scalar(1 - b2), scalar(eps))
    start, stop, _ = chunk.indices(params.size)
    decay_start, decay_stop, _ = decayed.indices(params.size)
    cut_start, cut_stop = min(max(decay_start, start), stop), min(max(decay_stop, start), stop)
    # the chunk in up to three runs: before, inside and after the decayed entries
    for run_start, run_stop, factor in ((start, cut_start, 1.0), (cut_start, cut_stop, decay), (cut_stop, stop, 1.0)):
        if run_stop > run_start:
            run = slice(run_start, run_stop)
            _kernel(_adam_step)(params[run], grads[run], m[run], v[run], *constants, scalar(factor))


def add_shards(chunk, total, others, params, n_weights, coefficient):
    """Fused summing pass of ``ShardedGradient._sum_shards``: total += each shard, + coefficient * W."""
    start, stop, _ = chunk.indices(total.size)
    n_weighted = min(max(n_weights - start, 0), stop - start)
    _kernel(_add_shards)(total[chunk], others[:, chunk], params[chunk], n_weighted, params.dtype.type(coefficient))
