"""check_gradients: the backward pass against central finite differences, in float64.

For a parameter w_i, the loss J seen as a function of w_i alone has the
derivative

    dJ/dw_i  ~  (J(w + h e_i) - J(w - h e_i)) / (2 h)

with an error of order h^2 (Taylor: the odd terms cancel), plus the
rounding of J, of order eps_64 * |J| / h. With h = 1e-6 in float64 both are
about 1e-10 to 1e-12, so a correct backward pass agrees to about 1e-7 or
better, and a wrong derivative shows at once (1e-2 or more).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn import get_config  # type: ignore[attr-defined]  # (sklearn resolves it lazily)
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_parameter_constraints

from . import _array_api as seam
from ._dropout import dropout_masks
from ._mlp import MLPScratchClassifier, MLPScratchRegressor

# check_gradients' own arguments, checked as scikit-learn checks a function's (InvalidParameterError);
# the estimator's parameters are then checked as its fit checks them, in its own name
_PARAMETER_CONSTRAINTS = {
    "estimator": [MLPScratchClassifier, MLPScratchRegressor],
    "X": ["array-like", "sparse matrix"],
    "y": ["array-like"],
    "sample_weight": ["array-like", None],
    "eps": [Interval(Real, 0, None, closed="neither")],  # no 0, no inf, no NaN
    "max_params": [Interval(Integral, 1, None, closed="left"), None],
    "random_state": ["random_state"],
}


@dataclass
class GradientCheck:
    """What :func:`check_gradients` found: the largest relative error, and where.

    Attributes
    ----------
    max_relative_error : float
        ``max_i |a_i - n_i| / max(|a_i| + |n_i|, r)`` over the checked
        parameters: ``a`` the backward pass, ``n`` the finite differences.
        ``r = 1e6 eps_64 max(|J|, 1) / h`` (2.2e-4 for h = 1e-6 and J <= 1)
        is the size below which a derivative is lost in the differences'
        rounding, ``eps_64 |J| / h``: smaller ones are compared with r, not
        with themselves, so that rounding alone stays below 1e-6.
    layer : int
        The layer l (1 = the first hidden layer) of the worst parameter.
    kind : {"weight", "bias"}
        Whether it is an entry of ``coefs_[l - 1]`` or of ``intercepts_[l - 1]``.
    index : tuple of int
        Its index in that array: ``(i, j)`` for a weight, ``(j,)`` for a bias.
    analytic, numeric : float
        The two derivatives there.
    n_checked : int
        How many parameters were compared.
    loss : float
        The loss J at the weights checked.
    """

    max_relative_error: float
    layer: int
    kind: str
    index: tuple
    analytic: float
    numeric: float
    n_checked: int
    loss: float

    def __float__(self):
        return float(self.max_relative_error)


def check_gradients(estimator, X, y, sample_weight=None, *, eps=1e-6, max_params=None, random_state=0):
    """Compare the network's backward pass with central finite differences, in float64.

    For each parameter w_i (every weight and bias, or ``max_params`` of them
    drawn at random) the derivative of the loss J that backpropagation gives
    is compared with ``(J(w + eps e_i) - J(w - eps e_i)) / (2 eps)``. J is
    the loss the estimator minimises on (X, y): the mean loss weighted by
    ``sample_weight`` and the class weights, plus the L2 term (alpha; AdamW
    decays its weights outside the loss instead). With dropout, one fixed set
    of masks is drawn for the whole check, so J is a smooth function of w.

    The estimator is not changed: the check runs on a float64 copy, fitted
    weights included (a fresh estimator gets the initial weights ``fit``
    would draw from its ``random_state``).

    Parameters
    ----------
    estimator : MLPScratchClassifier or MLPScratchRegressor
        Fitted or not.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : array-like of shape (n_samples,), default=None
    eps : float, default=1e-6
        The step h of the central differences: a finite number above 0,
        large enough that ``w_i + eps`` and ``w_i - eps`` differ from
        ``w_i`` in float64 for every parameter checked, and small enough
        that the loss stays finite there.
    max_params : int, default=None
        Check only this many parameters (1 or more), drawn at random (each
        costs two forward passes over X); all of them by default, or when
        there are no more than ``max_params``.
    random_state : int, RandomState instance or None, default=0
        Which parameters ``max_params`` draws (an int in [0, 2**32 - 1]).

    Returns
    -------
    GradientCheck
        ``max_relative_error`` (also ``float(result)``) and where it is
        largest: ``layer``, ``kind`` ("weight" or "bias"), ``index``.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        (a ValueError and a TypeError) An argument of the wrong type or
        out of range, in scikit-learn's words: an estimator that is not an
        MLPScratchClassifier or MLPScratchRegressor, ``eps`` not a finite
        number above 0, ``max_params`` not a whole number of 1 or more, a
        ``random_state`` that is not a seed; or one of the estimator's own
        parameters, named as its ``fit`` names it.
    ValueError
        X, y or ``sample_weight`` that ``fit`` would refuse; an ``eps`` so
        small that ``w_i + eps == w_i`` in float64 for a parameter checked
        (the difference would be 0 whatever the derivative), or so large
        that the loss is not finite at ``w + eps e_i`` or ``w - eps e_i``
        (NaN or infinity instead of a relative error). The message names
        the parameter.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skscratch import MLPScratchClassifier, check_gradients
    >>> X, y = load_iris(return_X_y=True)
    >>> result = check_gradients(MLPScratchClassifier(hidden_layer_sizes=(5,), alpha=0.1,
    ...                                               activation="tanh", random_state=0), X, y)
    >>> result.max_relative_error < 1e-6
    True
    >>> result.kind in ("weight", "bias"), result.n_checked
    (True, 43)
    """
    if not get_config()["skip_parameter_validation"]:
        validate_parameter_constraints(
            _PARAMETER_CONSTRAINTS,
            {"estimator": estimator, "X": X, "y": y, "sample_weight": sample_weight, "eps": eps,
             "max_params": max_params, "random_state": random_state},
            caller_name="check_gradients")
        estimator._validate_params()  # as its fit would: MLPScratchClassifier(alpha=-1) is refused, in its name
    model = _float64_copy(estimator)
    X, y, sample_weight = (seam.to_host(a) for a in (X, y, sample_weight))
    first_pass = not hasattr(model, "coefs_")
    X, Y, _, sample_weight, _, dropout, _ = model._prepare_fit(
        X, y, sample_weight, incremental=False, classes=None, validation=None, first_pass=first_pass)
    layer_units = model._layer_units()
    masks = dropout_masks(X, dropout, layer_units[1:-1], step=0, seed=0, dtype=np.dtype(np.float64))
    params = model._get_flat_params()
    grads = np.empty_like(params)

    def loss(w):
        params[...] = w
        return model._loss_and_gradients(X, Y, sample_weight, grads, dropout_masks=masks)

    w0 = params.copy()
    J = loss(w0)
    analytic = grads.copy()
    checked = np.arange(w0.size)
    if max_params is not None and max_params < w0.size:
        checked = np.sort(check_random_state(random_state).choice(w0.size, max_params, replace=False))
    if not np.isfinite(J) or not np.isfinite(analytic[checked]).all():
        raise ValueError(f"the loss or its gradient is not finite at the weights checked (loss {float(J)!r}); "
                         "check_gradients needs a finite loss")
    eps = float(eps)
    vanishing = (w0[checked] + eps == w0[checked]) | (w0[checked] - eps == w0[checked])
    if vanishing.any():
        i = int(checked[np.argmax(vanishing)])
        raise ValueError(f"eps={eps!r} is too small a step for {_describe(i, layer_units)}, {float(w0[i])!r}: "
                         "w + eps == w in float64, so the difference would be 0 whatever the derivative; use a "
                         "larger eps, such as the default 1e-6")
    numeric = np.empty(checked.size)
    for k, i in enumerate(checked):
        step = np.zeros_like(w0)
        step[i] = eps
        with np.errstate(over="ignore", invalid="ignore"):  # a loss that overflows is refused just below
            above, below = loss(w0 + step), loss(w0 - step)
        if not (np.isfinite(above) and np.isfinite(below)):
            params[...] = w0
            raise ValueError(f"the loss is not finite ({float(above)!r} at w + eps, {float(below)!r} at w - eps) for "
                             f"{_describe(int(i), layer_units)}: eps={eps!r} is too large a step for these "
                             "weights; use a smaller eps, such as the default 1e-6")
        numeric[k] = (above - below) / (2 * eps)
    params[...] = w0
    a = analytic[checked]
    errors = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), resolution(J, eps))
    worst = int(np.argmax(errors))
    layer, kind, index = _locate(int(checked[worst]), layer_units)
    return GradientCheck(float(errors[worst]), layer, kind, index, float(a[worst]), float(numeric[worst]),
                         int(checked.size), float(J))


def resolution(J, eps):
    """The smallest derivative the differences resolve to 1e-6: their rounding, eps_64 |J| / h, times 1e6."""
    return 1e6 * np.finfo(np.float64).eps * max(abs(J), 1.0) / eps


def _float64_copy(estimator):
    """A copy to check: float64, no early-stopping split, fitted weights kept (as float64)."""
    if not hasattr(estimator, "coefs_"):
        model = clone(estimator)
    else:
        model = seam.convert_estimator(estimator, seam.to_host)  # a copy that shares nothing
        flat = model._get_flat_params().astype(np.float64)
        model._set_flat_params(flat, model._layer_units())
    model.set_params(dtype="float64", early_stopping=False, warm_start=False)
    return model


def _describe(i, layer_units):
    """Entry i of the flat parameter vector in words: "the weight coefs_[0][2, 1]" or "the bias intercepts_[1][0]"."""
    layer, kind, index = _locate(i, layer_units)
    array = "coefs_" if kind == "weight" else "intercepts_"
    return f"the {kind} {array}[{layer - 1}][{', '.join(str(v) for v in index)}]"


def _locate(i, layer_units):
    """(layer, "weight" or "bias", index) of entry i of the flat parameter vector."""
    n_weights = [a * b for a, b in zip(layer_units[:-1], layer_units[1:])]
    if i < sum(n_weights):
        for l, size in enumerate(n_weights):
            if i < size:
                return l + 1, "weight", tuple(int(v) for v in divmod(i, layer_units[l + 1]))
            i -= size
    i -= sum(n_weights)
    for l, size in enumerate(layer_units[1:]):
        if i < size:
            return l + 1, "bias", (int(i),)
        i -= size
    raise IndexError(i)
