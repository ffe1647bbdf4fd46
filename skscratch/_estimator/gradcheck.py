"""check_gradients: the backward pass against central finite differences, in float64.

The arithmetic, and why it can be trusted, is the network's gradient check,
``skscratch.nn.gradcheck`` (``finite_difference_check``): here is what makes
an estimator a network for it.

gradients: the backward pass alone, for a learner to compare with code of
their own, in the shapes of ``coefs_`` and ``intercepts_``.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from sklearn import get_config  # type: ignore[attr-defined]  # (sklearn resolves it lazily)
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_parameter_constraints

from .._engine import array_api as seam
from ..nn.dropout import dropout_masks
from ..nn.gradcheck import checked_entries, finite_difference_check
from .mlp import MLPScratchClassifier, MLPScratchRegressor

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
        The layer l (1 = the first hidden layer) of the worst parameter; in a
        layer of your own (in ``hidden_layer_sizes``), its place in the
        network's list of layers.
    kind : str
        "weight" or "bias": whether it is an entry of ``coefs_[l - 1]`` or of
        ``intercepts_[l - 1]``; in a layer of your own, the parameter's name.
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
    _validate("check_gradients", estimator, X, y, sample_weight, eps=eps, max_params=max_params,
              random_state=random_state)
    model, X, Y, sample_weight, dropout = _float64_model(estimator, X, y, sample_weight)
    layer_units = model._layer_units()
    masks = dropout_masks(X, dropout, layer_units[1:-1], step=0, seed=0, dtype=np.dtype(np.float64))
    params = model._get_flat_params()
    grads = np.empty_like(params)

    def loss_and_gradient(w):
        params[...] = w
        return model._loss_and_gradients(X, Y, sample_weight, grads, dropout_masks=masks), grads

    checked = checked_entries(params.size, max_params, check_random_state(random_state))
    network = model._network_of(layer_units)
    J, a, numeric, errors = finite_difference_check(loss_and_gradient, params.copy(), checked, float(eps),
                                                    lambda i: _describe(i, network))
    worst = int(np.argmax(errors))
    layer, kind, index = _locate(int(checked[worst]), network)
    return GradientCheck(float(errors[worst]), layer, kind, index, float(a[worst]), float(numeric[worst]),
                         int(checked.size), float(J))


class Gradients(NamedTuple):
    """What :func:`gradients` returns: the loss J and its gradient, in the shapes of the weights.

    A named tuple: ``loss, coef_grads, intercept_grads = gradients(...)``
    unpacks it, and ``result.coef_grads`` reads one field.

    Attributes
    ----------
    loss : float
        J at the weights.
    coef_grads : list of ndarray of shape (fan_in, fan_out)
        ``coef_grads[i]`` is dJ/d``coefs_[i]``, of its shape.
    intercept_grads : list of ndarray of shape (fan_out,)
        ``intercept_grads[i]`` is dJ/d``intercepts_[i]``, of its shape.
    """

    loss: float
    coef_grads: list
    intercept_grads: list

    def __repr__(self):
        shapes = [[tuple(g.shape) for g in grads] for grads in (self.coef_grads, self.intercept_grads)]
        return f"Gradients(loss={self.loss:.6g}, coef_grads shapes {shapes[0]}, intercept_grads shapes {shapes[1]})"


def gradients(estimator, X, y, sample_weight=None):
    """The loss of a network on (X, y) and its gradient by backpropagation, in float64.

    One forward and one backward pass, the ones ``fit`` runs, at the
    estimator's weights: those it learned if it is fitted, the initial
    weights ``fit`` would start from otherwise (drawn from its
    ``random_state``, so an int gives the very weights ``fit`` draws; the
    estimator itself stays unfitted). Compare them with a backward pass of
    your own: the page "The textbook version" does, for the classic
    one-hidden-layer notebook.

    The loss J is the one ``fit`` minimises: the mean loss over the samples,
    weighted by ``sample_weight`` and the class weights (S their sum, or
    n_samples), plus the L2 term ``alpha / (2 S) * sum ||W||^2`` (none for
    ``solver="adamw"``, which decays its weights outside the loss)::

        J = sum_i s_i loss(y_i, p_i) / S  +  alpha / (2 S) * sum_l ||coefs_[l]||^2

    Dropout is not applied: J and its gradient are those of the whole
    network, the one ``predict`` uses, whatever ``dropout`` is (fit's
    gradients with dropout are those of a network with units dropped at
    random, a different one at each step). The computation runs in float64
    on a copy of the weights (a float32 network's weights are exact in
    float64), with X, y and ``sample_weight`` checked as ``fit`` checks them.

    Parameters
    ----------
    estimator : MLPScratchClassifier or MLPScratchRegressor
        Fitted or not.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    Gradients
        A named tuple ``(loss, coef_grads, intercept_grads)``: J (a float),
        and lists of NumPy float64 arrays of the shapes of ``coefs_``
        (``(fan_in, fan_out)``) and of ``intercepts_`` (``(fan_out,)``).

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        An estimator that is not an MLPScratchClassifier or
        MLPScratchRegressor, or one of its parameters out of range (named as
        its ``fit`` names it).
    ValueError
        X, y or ``sample_weight`` that ``fit`` would refuse; weights at which
        the loss or its gradient is not finite.

    See Also
    --------
    check_gradients : The same gradient against finite differences.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skscratch import MLPScratchClassifier, gradients
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> clf = MLPScratchClassifier(hidden_layer_sizes=(32,), alpha=1e-3, random_state=0)
    >>> loss, coef_grads, intercept_grads = gradients(clf, X, y)  # clf is not fitted: fit's first weights
    >>> [g.shape for g in coef_grads], [g.shape for g in intercept_grads]
    ([(64, 32), (32, 10)], [(32,), (10,)])
    >>> round(loss, 4)
    2.4316

    A fitted estimator's are those at its learned weights, where the loss is
    lower and the slopes flatter:

    >>> clf = clf.set_params(tol=1e-2).fit(X, y)
    >>> result = gradients(clf, X, y)
    >>> result.loss < loss, bool(abs(result.coef_grads[1]).max() < abs(coef_grads[1]).max())
    (True, True)
    """
    _validate("gradients", estimator, X, y, sample_weight)
    model, X, Y, sample_weight, _ = _float64_model(estimator, X, y, sample_weight)
    grads = np.empty_like(model._get_flat_params())
    loss = model._loss_and_gradients(X, Y, sample_weight, grads)  # no dropout masks: the whole network
    if not np.isfinite(loss) or not np.isfinite(grads).all():
        raise ValueError(f"the loss or its gradient is not finite at these weights (loss {float(loss)!r}): the "
                         "network overflows on X. Scale X (a StandardScaler), or use weights that did not diverge")
    bound = model._network_of(model._layer_units()).bind(model._get_flat_params(), grads)
    return Gradients(float(loss), [layer.dW for layer in bound.dense], [layer.db for layer in bound.dense])


def _validate(caller, estimator, X, y, sample_weight, **arguments):
    """The function's own arguments, as scikit-learn checks a function's; then the estimator's, as its fit would."""
    if get_config()["skip_parameter_validation"]:
        return
    arguments = {"estimator": estimator, "X": X, "y": y, "sample_weight": sample_weight, **arguments}
    validate_parameter_constraints({name: _PARAMETER_CONSTRAINTS[name] for name in arguments}, arguments,
                                   caller_name=caller)
    estimator._validate_params()  # MLPScratchClassifier(alpha=-1) is refused, in its name


def _float64_model(estimator, X, y, sample_weight):
    """``(model, X, Y, sample_weight, dropout rates)``: a float64 copy of the network, and the data fit would train on.

    A fresh estimator is first given the initial weights its fit would
    draw, in fit's dtype (float32 ones rounded, as fit rounds them).
    """
    X, y, sample_weight = (seam.to_host(a) for a in (X, y, sample_weight))
    if not hasattr(estimator, "coefs_"):
        estimator = clone(estimator).set_params(early_stopping=False, warm_start=False)
        estimator._prepare_fit(X, y, sample_weight, incremental=False, classes=None, validation=None,
                               first_pass=True)
    model = _float64_copy(estimator)
    X, Y, _, sample_weight, _, dropout, _ = model._prepare_fit(
        X, y, sample_weight, incremental=False, classes=None, validation=None, first_pass=False)
    return model, X, Y, sample_weight, dropout


def _float64_copy(estimator):
    """A copy of a network (fitted or initialised): float64, no early-stopping split, its weights (as float64)."""
    model = seam.convert_estimator(estimator, seam.to_host)  # a copy that shares nothing
    flat = model._get_flat_params().astype(np.float64)
    model._set_flat_params(flat, model._layer_units())
    model.set_params(dtype="float64", early_stopping=False, warm_start=False)
    return model


def _describe(i, network):
    """Entry i of the flat parameter vector in words: "the weight coefs_[0][2, 1]", "the bias intercepts_[1][0]",
    or, in a layer of the user's, "the parameter W[0, 3] of Residual(n=64)"."""
    layer, kind, index = _locate(i, network)
    where = ", ".join(str(v) for v in index)
    if kind in ("weight", "bias"):
        return f"the {kind} {'coefs_' if kind == 'weight' else 'intercepts_'}[{layer - 1}][{where}]"
    return f"the parameter {kind}[{where}] of {network.layers[layer]!r}"


def _locate(i, network):
    """``(layer, kind, index)`` of entry i of the flat parameter vector: for a Dense layer, its number
    (1 = the first) and "weight" or "bias"; for a layer of the user's, its place in ``network.layers``
    and the parameter's name."""
    for layer, name, shape in network._parameters():
        size = int(np.prod(shape))
        if i < size:
            index = tuple(int(v) for v in np.unravel_index(i, shape))
            if any(layer is d for d in network.dense):  # the MLP's own (not a user's Dense among them)
                return [id(d) for d in network.dense].index(id(layer)) + 1, "weight" if name == "W" else "bias", index
            return network.layers.index(layer), name, index
        i -= size
    raise IndexError(i)
