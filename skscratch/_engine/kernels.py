"""Fused kernels compiled by numba: the optimizers' steps, and the passes' elementwise work, each in one pass.

NumPy runs the Adam step as a dozen separate passes over every parameter
(``m *= b1``, ``step = g * (1 - b1)``, ``m += step``, ...), each reading and
writing the whole vector. A numba kernel does the same arithmetic for one
parameter at a time, in one loop, with the values in registers. The NumPy
code stays the specification: each kernel here is paired with the method it
replaces (named in its docstring), does the same operations in the same
order and the same dtype, and a test checks that both give the same bits.

- :func:`sgd_step` replaces ``skscratch.nn.SGD.step``;
- :func:`adam_step` replaces ``skscratch.nn.Adam.step`` and, with a decay,
  ``AdamW.step``;
- :func:`add_shards` replaces the summing pass of
  ``parallel.ShardedGradient._sum_shards`` (the threads' gradients and the
  L2 term);
- :func:`bias_activation`, :func:`output_delta`, :func:`hidden_delta`,
  :func:`column_sums` and :func:`add_scaled` replace the elementwise passes
  of ``skscratch.nn.Network.loss_and_gradients`` and its layers' ``forward``
  and ``backward`` (the bias, the activation and its derivative, the dropout
  mask, ``P - Y``, the bias's gradient, the L2 term).

``dispatch.update`` chooses between the optimizers' kernels and the NumPy
code, ``passes`` between the passes' kernels and the network's own passes.

They are used when numba is installed (``pip install "skscratch[fast]"``)
unless ``SKSCRATCH_KERNELS=0`` is set (:data:`ENABLED`), for networks of at
least :data:`MIN_PARAMS` parameters (:func:`use_for`). Compiled code is
cached on disk in the user's cache folder (:func:`cache_dir`), never in the
installed package: files pip does not know of would outlive an uninstall and
leave an empty ``skscratch`` folder that hides the next install. Where that
folder cannot be written, the kernels are compiled once per process.

This module is the only one that imports numba, and only when a kernel is
first needed: ``import skscratch`` and small fits never load it.
"""

import contextlib
import functools
import importlib.util
import logging
import os
import sys
import threading
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
#: epochs; the 512-256 network (535,818) pays back within four. (Measured
#: for Adam's step; the fused passes of ``passes`` follow the same threshold,
#: so that a network loads numba for both or for neither.)
MIN_PARAMS = 200_000


def use_for(params):
    """Whether the fused kernels run for a network of the flat parameter vector ``params``: its
    optimizer's step (``dispatch``) and its passes (``passes``)."""
    return ENABLED and params.size >= MIN_PARAMS


_log = logging.getLogger(__name__)  # notes on the cache, at debug level only


def cache_dir(environ=os.environ, platform=sys.platform):
    """The folder of skscratch's compiled kernels, or None where no folder can be named.

    In order: ``$SKSCRATCH_CACHE_DIR/numba``; ``$NUMBA_CACHE_DIR`` (numba's
    own setting, for all its caches); else the platform's user cache folder:
    ``$XDG_CACHE_HOME/skscratch/numba`` (``~/.cache/skscratch/numba``) on
    Linux, ``~/Library/Caches/skscratch/numba`` on macOS,
    ``%LOCALAPPDATA%\\skscratch\\Cache\\numba`` on Windows. Each installation
    of skscratch caches in a subfolder of its own (numba names it after the
    folder of the source file). Deleting the folder clears the cache.
    """

    def absolute(name):
        value = environ.get(name, "")
        return value if os.path.isabs(value) else None  # unset, empty or relative: ignored (XDG's rule)

    if environ.get("SKSCRATCH_CACHE_DIR"):
        return os.path.join(os.path.abspath(environ["SKSCRATCH_CACHE_DIR"]), "numba")
    if environ.get("NUMBA_CACHE_DIR"):
        return os.path.abspath(environ["NUMBA_CACHE_DIR"])
    home = environ.get("HOME") or os.path.expanduser("~")
    if platform == "win32":
        base = absolute("LOCALAPPDATA") or os.path.join(environ.get("USERPROFILE") or home, "AppData", "Local")
        return os.path.join(base, "skscratch", "Cache", "numba")
    if not os.path.isabs(home):  # no home folder (e.g. a user without a passwd entry)
        return None
    if platform == "darwin":
        return os.path.join(home, "Library", "Caches", "skscratch", "numba")
    return os.path.join(absolute("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "skscratch", "numba")


@functools.cache
def _kernel_cache_class(folder):
    """numba's on-disk ``FunctionCache``, with ``folder`` as its one place (numba imported here).

    ``njit(cache=True)`` would try numba's locators in turn, the first being
    the ``__pycache__`` next to this file: inside the installed package. This
    cache has a single locator, so it is the user's cache folder or nothing.
    numba's settings for the user's own functions are left as they are.
    """
    from numba.core.caching import CompileResultCacheImpl, FunctionCache, _CacheLocator, _SourceFileBackedLocatorMixin

    class Locator(_SourceFileBackedLocatorMixin, _CacheLocator):
        # from_function (the mixin's) returns None where the folder cannot be created or written
        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = os.path.join(folder, self.get_suitable_cache_subpath(py_file))

        def get_cache_path(self):
            return self._cache_path

    class Impl(CompileResultCacheImpl):
        _locator_classes = [Locator]

    class KernelCache(FunctionCache):
        """A cache entry that cannot be read or written is a miss: the kernel is compiled, the same bits."""

        _impl_class = Impl

        def load_overload(self, sig, target_context):
            try:
                return super().load_overload(sig, target_context)
            except Exception:  # an unreadable or corrupt entry: start the index afresh (else no save could read it)
                _log.debug("cannot load a kernel from %s", self.cache_path, exc_info=True)
                with contextlib.suppress(Exception):  # a folder that cannot be written: nothing to do
                    self.flush()
                return None

        def save_overload(self, sig, data):
            try:
                super().save_overload(sig, data)
            except Exception:
                _log.debug("cannot save a kernel in %s", self.cache_path, exc_info=True)

    return KernelCache


def _disk_cache(py_func):
    """The on-disk cache for the kernel ``py_func``, or None (compile once per process) where there is none."""
    import numba

    folder = cache_dir()
    if folder is None:
        _log.debug("no cache folder (no home folder): kernels compiled per process")
        return None
    if getattr(numba.config, "CACHE_LOCATOR_CLASSES", ""):  # would replace our locator: it might be the package's
        _log.debug("NUMBA_CACHE_LOCATOR_CLASSES is set: kernels compiled per process")
        return None
    try:
        return _kernel_cache_class(folder)(py_func)
    except RuntimeError:  # "no locator available": the folder cannot be created or written
        _log.debug("cannot write in %s: kernels compiled per process", folder)
        return None


def _jit(function):
    """numba's njit, cached in :func:`cache_dir` where it can be written, else compiled once per process."""
    import numba

    # serial, releasing the GIL: the callers split the vector over skscratch's own
    # threads (_parallel.for_each_chunk). numba's parallel loops would start a
    # second pool, whose threads spin between steps and take the cores from ours.
    kernel = numba.njit(cache=False, nogil=True, fastmath=False, error_model="numpy")(function)
    if hasattr(kernel, "py_func"):  # a Dispatcher (not the function itself, as under NUMBA_DISABLE_JIT=1)
        cache = _disk_cache(kernel.py_func)
        if cache is not None:
            kernel._cache = cache  # what njit(cache=True) does (Dispatcher.enable_caching), with our cache
    return kernel


_compiled: dict = {}  # the plain function -> its compiled kernel
_compiling = threading.Lock()  # training threads meet a kernel's first use together: compile it once


def _after_fork_in_child():  # a child forked while a thread compiled would wait for it forever
    global _compiling
    _compiling = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _kernel(function):
    """``function`` compiled by numba, on first use (numba is imported then, not before).

    Without numba (the kernels forced on in a test) it runs as the plain
    Python it is, slowly, with the same arithmetic.
    """
    if function not in _compiled:
        with _compiling:
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
    """Fused ``SGD.step``: ``v = mu v - lr g``, then ``w += v`` (or ``w += mu v - lr g``)."""
    scalar = params.dtype.type
    _kernel(_sgd_step)(params[chunk], grads[chunk], velocity[chunk], scalar(lr), scalar(mu), bool(nesterov))


def adam_step(chunk, params, grads, m, v, lr, b1, b2, eps, decayed=slice(0, 0), decay=1.0):
    """Fused ``Adam.step`` (and ``AdamW``'s: the entries ``decayed`` multiplied by ``decay`` first)."""
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


# ----------------------------------------------------------------------
# The forward and backward passes' elementwise work (``passes.FusedMLP`` calls them).
#
# After a matrix product, NumPy runs the bias, the activation (and, on the way
# back, the dropout mask, the derivative, the bias's gradient) as passes of
# their own over the (rows, units) array; each kernel here does them in one,
# with the same operations in the same order and dtype. Only the activations
# written in arithmetic alone are fused: the others need NumPy's exp or tanh,
# whose bits numba's need not match. Their codes:

RELU, LEAKY_RELU, IDENTITY, TANH, LOGISTIC, ELU = range(6)
#: The activations whose derivative ``hidden_delta`` applies, and those whose forward pass ``bias_activation`` does.
BACKWARD = {"relu": RELU, "leaky_relu": LEAKY_RELU, "identity": IDENTITY, "tanh": TANH, "logistic": LOGISTIC,
            "elu": ELU}
FORWARD = {"relu": RELU, "leaky_relu": LEAKY_RELU}


def _bias_activation(Z, b, kind, zero, slope):
    n, m = Z.shape
    if kind == RELU:
        for i in range(n):
            for j in range(m):
                z = Z[i, j] + b[j]  # Dense.forward: Z += b
                # relu: np.maximum(Z, 0), as NumPy gives it: -0 made +0 (at every length, with and
                # without AVX2), a NaN kept (NumPy's may come back as another NaN)
                Z[i, j] = z if z > zero or z != z else zero
    else:  # LEAKY_RELU
        for i in range(n):
            for j in range(m):
                z = Z[i, j] + b[j]
                s = slope * z  # leaky_relu: np.maximum(Z, 0.01 * Z)
                Z[i, j] = z if z >= s or z != z else s


def _hidden_delta_for(kind, masked):
    """The kernel of :func:`hidden_delta` for one activation, with a mask or without.

    ``kind`` and ``masked`` are constants of the compiled code (a closure's):
    the compiler drops the branches not taken, and the loop that remains is
    one it vectorises.
    """

    def hidden_delta(delta, A, mask, one, zero, slope, db):
        n, m = delta.shape
        db[:] = 0  # Dense.backward: db = delta.sum(axis=0), which NumPy adds up row after row from 0
        for i in range(n):
            for j in range(m):
                d = delta[i, j]
                if masked:
                    d = d * mask[i, j]  # Dropout.backward: delta *= mask
                a = A[i, j]  # the activation's output: delta *= f'(Z), written in A
                if kind == RELU:
                    d = d * (one if a > zero else zero)
                elif kind == LEAKY_RELU:
                    d = d * (one if a > zero else slope)
                elif kind == TANH:
                    d = d * (one - a * a)
                elif kind == LOGISTIC:  # delta *= A; delta *= 1 - A
                    d = d * a
                    d = d * (one - a)
                elif kind == ELU:
                    d = d * (one if a > zero else a + one)
                delta[i, j] = d
                db[j] += d

    # a name of its own for each: numba's disk cache keeps one index file per name, which processes
    # compiling two of these at once (joblib's, xdist's) would otherwise write over each other's
    hidden_delta.__name__ = hidden_delta.__qualname__ = f"_hidden_delta_{kind}{'_masked' if masked else ''}"
    return hidden_delta


_HIDDEN_DELTA = {(kind, masked): _hidden_delta_for(kind, masked) for kind in range(6) for masked in (False, True)}


def _output_delta(delta, Y, factor, db):
    n, m = delta.shape
    db[:] = 0  # NumPy's sum, from 0 (so that -0 + -0 + ... is +0), row after row
    per_row = factor.shape[0] > 1
    for i in range(n):
        f = factor[i] if per_row else factor[0]
        for j in range(m):
            d = delta[i, j] - Y[i, j]  # P - Y
            delta[i, j] = d * f  # then * s_i / S (or 1 / S), in the dtype NumPy multiplies in,
            db[j] += delta[i, j]  # and summed as stored: rounded to delta's dtype


def _column_sums(delta, db):
    n, m = delta.shape
    db[:] = 0  # NumPy's sum, from 0 (so that -0 + -0 + ... is +0), row after row
    for i in range(n):
        for j in range(m):
            db[j] += delta[i, j]


def _add_scaled(total, values, coefficient):
    for i in range(total.size):
        total[i] = total[i] + coefficient * values[i]


def bias_activation(Z, b, activation):
    """Fused ``Z += b`` (``Dense.forward``) and ``relu(Z)`` or ``leaky_relu(Z)`` (in ``FORWARD``), in place."""
    scalar = Z.dtype.type
    _kernel(_bias_activation)(Z, b, FORWARD[activation], scalar(0), scalar(0.01))


def hidden_delta(delta, A, mask, activation, db):
    """Fused backward of Dropout and activation, and the Dense layer's ``db``, in place on ``delta``.

    ``delta *= mask`` (if not None), ``delta *= f'(A)`` (an activation in
    ``BACKWARD``, its derivative written in its output ``A``), then
    ``db[...] = delta.sum(axis=0)``.
    """
    scalar = delta.dtype.type
    kernel = _kernel(_HIDDEN_DELTA[BACKWARD[activation], mask is not None])
    kernel(delta, A, A if mask is None else mask, scalar(1), scalar(0), scalar(0.01), db)
    _one_column_sum(delta, db)


def output_delta(delta, Y, factor, db):
    """Fused ``delta -= Y``, ``delta *= factor`` and ``db[...] = delta.sum(axis=0)``, in place.

    ``Y`` in ``delta``'s dtype; ``factor`` of shape (1,) or one per row, in
    the dtype NumPy would multiply in (a wider one is rounded back on storing).
    """
    _kernel(_output_delta)(delta, Y, factor, db)
    _one_column_sum(delta, db)


def column_sums(delta, db):
    """``db[...] = delta.sum(axis=0)``, row after row as NumPy adds them."""
    _kernel(_column_sums)(delta, db)
    _one_column_sum(delta, db)


def _one_column_sum(delta, db):
    """A single column's sum is NumPy's own: it adds up one column as a vector, pairwise, not row after row."""
    if delta.shape[1] == 1:
        np.sum(delta, axis=0, out=db)


def add_scaled(total, values, coefficient):
    """``total += coefficient * values``, the product in ``coefficient``'s dtype (a NumPy scalar)."""
    _kernel(_add_scaled)(total, values, coefficient)
