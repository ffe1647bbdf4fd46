"""The Array API seam: the one place that tells NumPy from the other array libraries.

The network (``nn.network``, ``nn.activations``, ``nn.losses``, ``nn.optimizers``) is
written against a namespace ``xp``: NumPy itself for NumPy input, or, under
``sklearn.config_context(array_api_dispatch=True)``, the Array API namespace
of the input (PyTorch, CuPy, array-api-strict ...), which
``array_api_compat`` provides as scikit-learn does. What the standard cannot
say the way NumPy says it fastest is here, and nowhere else:

- :func:`into`: ``function(*args)`` written into a preallocated array, with
  NumPy's ``out=`` (no temporary), elsewhere by assignment;
- :func:`as_factor`: NumPy multiplies by a boolean mask directly; the
  standard needs it as numbers;
- :func:`dot`, :func:`copy`, :func:`copy_into`, :func:`concat`,
  :func:`all_finite`, :func:`rows`: NumPy's calls for these, and the
  standard's.

And how arrays cross between the host and a device: :func:`namespace_of`,
:func:`to_host`, :func:`to_device`, :func:`numpy_dtype`,
:func:`full_precision_weights`.

With NumPy input every function here runs the very NumPy call the code ran
before the seam existed, so the NumPy path stays bit for bit what it was.

This module imports NumPy and scikit-learn's array API helpers; the array
library itself only through the arrays it is handed.
"""

import sys

import numpy as np
import scipy.sparse as sp


def _compat():
    """array_api_compat: the [array-api] extra, or the copy scikit-learn vendors."""
    try:
        import array_api_compat
    except ImportError:  # scikit-learn ships a copy
        from sklearn.externals import array_api_compat
    return array_api_compat


def is_numpy(xp):
    """Whether ``xp`` is NumPy (the module, or array_api_compat's wrapper of it)."""
    return xp is np or getattr(xp, "__name__", "").endswith("array_api_compat.numpy")


def namespace_of(*arrays):
    """``(xp, device)`` that the arrays' computation runs in: ``(numpy, None)`` for NumPy.

    Non-NumPy arrays get their Array API namespace only under scikit-learn's
    ``array_api_dispatch=True``; without it scikit-learn's input checks turn
    them into NumPy arrays, and so does this (NumPy, None). Sparse matrices
    and None are NumPy's.
    """
    from sklearn import get_config

    arrays = [a for a in arrays if a is not None and not sp.issparse(a) and not isinstance(a, np.ndarray)]
    arrays = [a for a in arrays if hasattr(a, "__array_namespace__") or _compat().is_array_api_obj(a)]
    if not arrays or not get_config()["array_api_dispatch"]:
        return np, None
    compat = _compat()
    xp = compat.array_namespace(*arrays)
    if is_numpy(xp):
        return np, None
    device = compat.device(arrays[0])
    if not compat.is_writeable_array(arrays[0]):
        raise TypeError(
            f"skscratch trains by updating arrays in place, and {xp.__name__} arrays are "
            "read-only (JAX, for example). Use NumPy, PyTorch, CuPy or array-api-strict arrays."
        )
    return xp, device


def array_namespace(array):
    """The namespace of an array the network already holds (NumPy's for NumPy and lists), whatever the config."""
    if isinstance(array, np.ndarray) or not _compat().is_array_api_obj(array):
        return np
    xp = _compat().array_namespace(array)
    return np if is_numpy(xp) else xp


def empty(xp, shape, like):
    """An uninitialised array of ``shape``, of ``like``'s dtype and on its device."""
    if xp is np:
        return np.empty(shape, dtype=like.dtype)
    return xp.empty(shape, dtype=like.dtype, device=_compat().device(like))


def device(array):
    """The device an array lives on (array_api_compat's ``device``)."""
    return _compat().device(array)


def move(array, xp, device):
    """``array`` in ``xp`` on ``device``, copied over through the host if it is elsewhere.

    Lists and DataFrames are left to scikit-learn's checks for NumPy, and
    turned into NumPy arrays first for another namespace.
    """
    if array is None:
        return array
    if sp.issparse(array):  # only NumPy has sparse matrices
        return array if xp is np else to_device(array.toarray(), xp, device)
    if isinstance(array, np.ndarray) or _compat().is_array_api_obj(array):
        if array_namespace(array) is xp and (xp is np or _compat().device(array) == device):
            return array
        return to_device(to_host(array), xp, device)
    return array if xp is np else to_device(np.asarray(array), xp, device)


def without_autograd(X):
    """X without PyTorch's autograd history: the network computes its own gradients, and in place."""
    if getattr(X, "requires_grad", False) and hasattr(X, "detach"):
        return X.detach()
    return X


def usable(array, input_name="X", fitted_on=None):
    """``array`` as every namespace takes it: what NumPy's checks refuse, refused in their words.

    scikit-learn's checks see only NumPy's dtypes, so another library's array
    is held to the same rules here, whether or not ``array_api_dispatch`` is
    on, before any check or copy:

    - complex values are refused with check_array's own "Complex data not
      supported" (NumPy's complex arrays are);
    - an array on PyTorch's ``meta`` device (a shape and a dtype, no values)
      is refused with a ValueError that says where it is, and where the
      network lives (``fitted_on``, if fitted);
    - a float dtype NumPy does not have (PyTorch's ``bfloat16``) becomes
      float64, as NumPy's own float16 does;
    - PyTorch's autograd history is dropped (:func:`without_autograd`).

    NumPy arrays, sparse matrices, lists, DataFrames and None are returned
    as they are (scikit-learn's checks handle them).
    """
    compat = _compat()
    if array is None or isinstance(array, np.ndarray) or sp.issparse(array) or not compat.is_array_api_obj(array):
        return array
    xp = compat.array_namespace(array)
    if str(compat.device(array)) == "meta":
        where = "" if fitted_on is None else f" The network was fitted on {fitted_on}."
        raise ValueError(
            f"{input_name} is a {type(array).__module__.split('.')[0]} array on the 'meta' device, which "
            f"holds a shape and a dtype but no values: there is nothing to compute with.{where} Create "
            f"{input_name} on a device that holds its values ('cpu', 'cuda')."
        )
    if xp.isdtype(array.dtype, "complex floating"):
        raise ValueError(f"Complex data not supported\n{array}\n")  # scikit-learn's words for NumPy's
    # bfloat16 and the like, which NumPy's own dtypes lack (ml_dtypes may give NumPy a bfloat16 that
    # scikit-learn's checks cannot convert to): upcast, as NumPy upcasts float16
    if xp.isdtype(array.dtype, "real floating") and str(array.dtype).rsplit(".", 1)[-1] not in _NUMPY_FLOATS:
        array = xp.astype(array, xp.float64)
    return without_autograd(array)


_NUMPY_FLOATS = ("float16", "float32", "float64")


def like(labels, X):
    """Host labels in X's namespace and on its device (numeric labels only: strings stay NumPy)."""
    xp = np if X is None or isinstance(X, np.ndarray) or sp.issparse(X) else array_namespace(X)
    if xp is np or labels is None or labels.dtype.kind not in "biuf":
        return labels
    return to_device(labels, xp, device(X))


def name(xp, device=None):
    """How errors name a namespace and device: "NumPy", "torch on cuda:0"."""
    if xp is np:
        return "NumPy"
    library = xp.__name__.rsplit(".", 1)[-1]
    return library if device is None else f"{library} on {device}"


def convert_estimator(estimator, converter):
    """A copy of ``estimator`` (or of a Pipeline, a search...) with every array passed through ``converter``.

    scikit-learn's convention: an estimator that defines
    ``__sklearn_array_api_convert__`` converts itself; others are cloned and
    their fitted attributes converted, recursively through lists, tuples and
    dicts (a Pipeline's steps). Arrays are copied, so nothing is shared.
    """
    from sklearn.base import clone

    if hasattr(estimator, "__sklearn_array_api_convert__") and not isinstance(estimator, type):
        return estimator.__sklearn_array_api_convert__(converter)
    if type(estimator) in (list, tuple):
        return type(estimator)(convert_estimator(v, converter) for v in estimator)
    if type(estimator) is dict:
        return {k: convert_estimator(v, converter) for k, v in estimator.items()}
    if isinstance(estimator, np.ndarray) or _compat().is_array_api_obj(estimator):
        converted = converter(estimator)
        return copy(array_namespace(converted), converted)
    if not hasattr(estimator, "get_params") or isinstance(estimator, type):
        return estimator
    new = clone(estimator)
    for key, value in vars(estimator).items():
        setattr(new, key, convert_estimator(value, converter))
    return new


def numpy_dtype(dtype):
    """The NumPy dtype of the same name as an array library's dtype (``torch.float32`` -> float32)."""
    if isinstance(dtype, np.dtype):
        return dtype
    return np.dtype(str(dtype).rsplit(".", 1)[-1])


def to_host(array):
    """``array`` as a NumPy array on the host (itself if it already is one; None and sparse unchanged)."""
    compat = _compat()
    if array is None or isinstance(array, np.ndarray) or sp.issparse(array) or not compat.is_array_api_obj(array):
        return array
    if compat.is_torch_array(array):
        return array.detach().cpu().numpy()
    if compat.is_cupy_array(array):  # pragma: no cover (needs a GPU)
        return array.get()
    if compat.is_array_api_strict_namespace(compat.array_namespace(array)):
        xp = compat.array_namespace(array)
        return np.asarray(xp.asarray(array, device=xp.Device("CPU_DEVICE")))
    return np.asarray(compat.to_device(array, "cpu") if hasattr(array, "to_device") else array)


def to_device(array, xp, device, dtype=None):
    """A host (NumPy) array as an ``xp`` array on ``device``, optionally cast to ``dtype`` (a NumPy dtype).

    With ``xp`` NumPy, the array itself (cast if asked, without a copy if it need not).
    """
    if array is None:
        return None
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if xp is np:
        return array
    return xp.asarray(np.ascontiguousarray(array), device=device)


def full_precision_weights(sample_weight, like):
    """Host sample weights (ones for None) in ``like``'s namespace and on its device, in its most precise float.

    What a scikit-learn metric of integer labels needs to average as NumPy
    does: it averages in the float dtype of its weights or, without weights,
    in the namespace's default float dtype (float32 for PyTorch, float64 for
    NumPy). float64 wherever the device has it.
    """
    from sklearn.utils._array_api import _max_precision_float_dtype

    xp, on = array_namespace(like), device(like)
    dtype = numpy_dtype(_max_precision_float_dtype(xp, on))
    return to_device(np.ones(like.shape[0]) if sample_weight is None else sample_weight, xp, on, dtype)


# functions that PyTorch and CuPy, beyond the standard, also write into ``out=``
_WITH_OUT = {"matmul", "multiply", "divide", "sqrt", "square", "exp", "tanh", "log"}


def into(xp, out, function, *args, **kwargs):
    """``out[...] = function(*args, **kwargs)``, returning ``out``.

    NumPy writes the result straight into ``out`` (its ``out=`` argument, no
    temporary array). The Array API has no ``out=``, so other namespaces
    compute the result and assign it, except where PyTorch and CuPy take
    ``out=`` as NumPy does (the functions in ``_WITH_OUT``).
    """
    if xp is np:
        return function(*args, out=out, **kwargs)
    # the library's own function of the same name (array_api_compat's wrappers keep the
    # names, and PyTorch and CuPy name these as NumPy does); found, never imported, here
    called = getattr(function, "__name__", "")
    library = sys.modules.get(type(out).__module__.split(".")[0]) if called in _WITH_OUT else None
    if library is not None and library.__name__ in ("torch", "cupy") and not kwargs:
        return getattr(library, called)(*args, out=out)
    out[...] = function(*args, **kwargs)
    return out


def as_factor(xp, mask, dtype):
    """A boolean mask to multiply by: NumPy takes it as it is, the standard as 0 and 1 of ``dtype``."""
    return mask if xp is np else xp.astype(mask, dtype)


def astype(xp, a, dtype):
    """``a`` cast to ``dtype``, in its namespace."""
    return a.astype(dtype) if xp is np else xp.astype(a, dtype)


def dot(xp, a, b):
    """The dot product of two vectors: ``np.dot`` (BLAS) for NumPy, ``vecdot`` elsewhere."""
    return np.dot(a, b) if xp is np else xp.vecdot(a, b)


def ravel(xp, a):
    """``a`` as one flat vector (a view where it can be)."""
    return a.ravel() if xp is np else xp.reshape(a, (-1,))


def squared_norm(xp, W):
    """``sum(W**2)`` over every entry of ``W``."""
    flat = ravel(xp, W)
    return dot(xp, flat, flat)


def copy(xp, a):
    """A copy of ``a``, in its namespace and on its device."""
    return a.copy() if xp is np else xp.asarray(a, copy=True)


def copy_into(xp, dst, src):
    """``dst[...] = src`` (``np.copyto`` for NumPy)."""
    if xp is np:
        np.copyto(dst, src)
    else:
        dst[...] = src


def concat(xp, arrays, axis):
    """Arrays joined along ``axis`` (``np.concatenate``, the standard's ``concat``)."""
    return np.concatenate(arrays, axis=axis) if xp is np else xp.concat(arrays, axis=axis)


def all_finite(xp, a):
    """Whether every entry of ``a`` is finite, as a Python bool."""
    return bool(np.isfinite(a).all()) if xp is np else bool(xp.all(xp.isfinite(a)))


def rows(xp, a, index):
    """The rows ``index`` (a slice, or an integer array in ``a``'s namespace) of ``a``."""
    if a is None:
        return None
    if xp is np:
        return a[index]
    if isinstance(index, slice):
        return a[index, ...]
    return xp.take(a, index, axis=0)
