"""One optimizer step on the fastest path to the same bits: a fused kernel, threaded chunks, or one pass.

``update(optimizer, params, grads)`` does what ``optimizer.update_params(params,
grads)`` does (see :mod:`skscratch.nn.optimizers`, where the maths is), and
chooses how:

- NumPy parameters, numba installed and a network large enough
  (``kernels.use_for``): the optimizer's fused kernel, one pass per chunk of
  the flat vectors, the chunks spread over the training threads;
- NumPy parameters otherwise: the optimizer's own ``step`` on the same
  chunks, over the same threads;
- another array library's (PyTorch, CuPy ...): ``step`` on the whole vectors,
  on their device, in one pass.

Each path runs the same operations in the same order on every entry, so all
give the same bits (``tests/test_kernels.py``). An optimizer this module
does not know (a user's subclass) takes the NumPy path with its own ``step``.

This module imports nothing of ``skscratch.nn``: it knows the optimizers by
their ``state``, ``next_step`` and ``step``, and their kernels by name.
"""

import numpy as np

from . import kernels
from .array_api import array_namespace
from .parallel import for_each_chunk


def update(optimizer, params, grads):
    """One step of ``optimizer``: ``params`` updated in place from ``grads``."""
    scalars = optimizer.next_step()
    state = [getattr(optimizer, name) for name in optimizer.state]
    if array_namespace(params) is not np:
        optimizer.step(params, grads, *state, **scalars)
        return
    fused = _fused_kernel(optimizer, scalars) if kernels.use_for(params) else None
    decayed = getattr(optimizer, "decay", None)  # AdamW's: the entries that decay

    def chunk_step(chunk):
        if fused is not None:
            fused(chunk, params, grads)
            return
        local = {} if decayed is None else {"decayed": _within(decayed, chunk, params.size)}
        optimizer.step(params[chunk], grads[chunk], *(s[chunk] for s in state), **scalars, **local)

    for_each_chunk(chunk_step, params.size)


def _within(entries, chunk, size):
    """The slice ``entries`` of the whole vector, as a slice of the chunk ``chunk``."""
    start, stop, _ = chunk.indices(size)
    first, last, _ = entries.indices(size)
    return slice(min(max(first, start), stop) - start, min(max(last, start), stop) - start)


def _fused_kernel(optimizer, scalars):
    """``kernel(chunk, params, grads)``: the optimizer's step fused into one pass; None for one we do not know."""
    if type(optimizer).__module__ != "skscratch.nn.optimizers":
        return None
    kind = type(optimizer).__name__  # the exact class: a subclass may have changed the step
    if kind == "SGD":
        return lambda c, w, g: kernels.sgd_step(c, w, g, optimizer.velocity, scalars["lr"], optimizer.momentum,
                                                optimizer.nesterov)
    if kind in ("Adam", "AdamW"):
        decay = {} if kind == "Adam" else {"decayed": optimizer.decay, "decay": scalars["decay"]}
        return lambda c, w, g: kernels.adam_step(c, w, g, optimizer.m, optimizer.v, scalars["lr"], optimizer.beta_1,
                                                 optimizer.beta_2, optimizer.epsilon, **decay)
    return None
