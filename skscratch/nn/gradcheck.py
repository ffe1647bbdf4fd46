"""The gradient check: a network's backward pass against central finite differences, in float64.

For a parameter w_i, the loss J seen as a function of w_i alone has the
derivative

    dJ/dw_i  ~  (J(w + h e_i) - J(w - h e_i)) / (2 h)

with an error of order h^2 (Taylor: the odd terms cancel), plus the
rounding of J, of order eps_64 * |J| / h. With h = 1e-6 in float64 both are
about 1e-10 to 1e-12, so a correct backward pass agrees to about 1e-7 or
better, and a wrong derivative shows at once (1e-2 or more).

:func:`check_network_gradients` checks a :class:`~skscratch.nn.Network`,
and so every layer in it, a layer of your own included. The arithmetic
(:func:`finite_difference_check`, :func:`relative_errors`) is also that of
:func:`skscratch.check_gradients`, which checks an estimator's network.

This module imports only NumPy (and the array-API seam).
"""

import numpy as np

from .._engine import array_api as seam
from .layers import Dropout
from .network import Network


class NetworkGradientCheck:
    """What :func:`check_network_gradients` found: the largest relative error, and where.

    Attributes
    ----------
    max_relative_error : float
        ``max_i |a_i - n_i| / max(|a_i| + |n_i|, r)`` over the checked
        parameters: ``a`` the backward pass, ``n`` the finite differences,
        ``r = 1e6 eps_64 max(|J|, 1) / h`` (see :func:`relative_errors`).
        The same definition as the one of :func:`skscratch.check_gradients`.
    layer : int
        The position, in ``network.layers``, of the layer of the worst parameter.
    layer_repr : str
        That layer, as ``repr`` writes it (``"Dense(4, 3)"``).
    name : str
        The parameter's name in that layer (``"W"``: ``network.layers[layer].W``).
    index : tuple of int
        Its index in that array.
    analytic, numeric : float
        The two derivatives there.
    n_checked : int
        How many parameters were compared.
    loss : float
        The loss J at the parameters checked.
    """

    def __init__(self, max_relative_error, layer, layer_repr, name, index, analytic, numeric, n_checked, loss):
        self.max_relative_error, self.layer, self.layer_repr = max_relative_error, layer, layer_repr
        self.name, self.index, self.analytic, self.numeric = name, index, analytic, numeric
        self.n_checked, self.loss = n_checked, loss

    @property
    def where(self):
        """The worst parameter, as code reaches it: ``"layers[2].W[1, 0]"``."""
        return f"layers[{self.layer}].{self.name}[{', '.join(map(str, self.index))}]"

    def __float__(self):
        return float(self.max_relative_error)

    def __repr__(self):
        return (f"NetworkGradientCheck(max_relative_error={self.max_relative_error:.3g} at {self.where} "
                f"({self.layer_repr}): analytic {self.analytic:.6g}, numeric {self.numeric:.6g}; "
                f"{self.n_checked} checked)")


def check_network_gradients(network, X, Y, sample_weight=None, *, alpha=0.0, eps=1e-6, max_params=None,
                            random_state=0):
    """Compare a network's backward pass with central finite differences, in float64.

    For each parameter w_i (every entry of every layer's parameters, or
    ``max_params`` of them drawn at random) the derivative of the loss J
    that ``network.loss_and_gradients`` computes by backpropagation is
    compared with ``(J(w + eps e_i) - J(w - eps e_i)) / (2 eps)``. J is the
    network's loss on (X, Y), weighted by ``sample_weight``, plus the L2 term
    ``alpha``. The passes are training passes (``layer.training`` is True);
    with Dropout layers, one set of masks is drawn once, from
    ``random_state``, and held fixed for the whole check, so that J is a
    smooth function of w. A layer of your own must likewise be a
    deterministic function of its input and parameters.

    The network is not changed: the check runs on a float64 copy of its
    parameter vector (the layers are bound to it, then bound back).

    Parameters
    ----------
    network : Network
        Initialised (``network.init(random_state)``) or bound.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
        The targets as the loss takes them: one-hot rows for "softmax".
    sample_weight : ndarray of shape (n_samples,), default=None
    alpha : float, default=0.0
        The L2 penalty's strength, on the penalised parameters.
    eps : float, default=1e-6
        The step h of the central differences: a finite number above 0,
        large enough that ``w_i + eps`` and ``w_i - eps`` differ from
        ``w_i`` in float64 for every parameter checked, and small enough
        that the loss stays finite there.
    max_params : int, default=None
        Check only this many parameters (1 or more), drawn at random (each
        costs two passes over X); all of them by default, or when there are
        no more than ``max_params``.
    random_state : int, numpy.random.RandomState or None, default=0
        Which parameters ``max_params`` draws, and the Dropout masks.

    Returns
    -------
    NetworkGradientCheck
        ``max_relative_error`` (also ``float(result)``) and where it is
        largest: ``layer`` (its position in ``network.layers``), ``name``,
        ``index`` (``result.where`` says all three as code).

    Raises
    ------
    TypeError
        ``network`` not a Network; an argument of the wrong type.
    ValueError
        A network with no parameters yet; X, Y or ``sample_weight`` of the
        wrong shape, or not finite; ``alpha``, ``eps`` or ``max_params``
        out of range; a loss that is not finite at w, or at ``w +- eps e_i``
        (the message names the parameter).

    See Also
    --------
    skscratch.check_gradients : The same check of an estimator's network.

    Examples
    --------
    >>> import numpy as np
    >>> from skscratch import nn
    >>> X = np.random.RandomState(0).normal(size=(20, 4))
    >>> Y = np.eye(3)[np.arange(20) % 3]  # one-hot
    >>> net = nn.Network([nn.Dense(4, 5), nn.Tanh(), nn.Dropout(0.2), nn.Dense(5, 3)])
    >>> result = nn.check_network_gradients(net.init(random_state=0), X, Y, alpha=0.1)
    >>> result.max_relative_error < 1e-6, result.n_checked
    (True, 43)
    >>> result.where.startswith("layers[")
    True
    """
    X, Y, sample_weight = _checked_data(network, X, Y, sample_weight)
    alpha, eps = _positive("alpha", alpha, zero=True), _positive("eps", eps)
    random_state = _random_state(random_state)
    checked = checked_entries(network.n_params, max_params, random_state)
    original = network.params, network.grads
    params = np.array(seam.to_host(network.params), dtype=np.float64)  # a copy: the network's stays as it is
    network.bind(params)
    try:
        _check_outputs(network, X, Y)
        masks = _fixed_dropout_masks(network, X, random_state)

        def loss_and_gradient(w):
            params[...] = w
            J = network.loss_and_gradients(X, Y, sample_weight, alpha, dropout_masks=masks)
            return J, network.grads

        J, analytic, numeric, errors = finite_difference_check(
            loss_and_gradient, params.copy(), checked, eps, lambda i: _describe(network, i))
    finally:
        network.bind(*original)
        network.set_training(False)
    worst = int(np.argmax(errors))
    layer, name, index = _locate(network, int(checked[worst]))
    return NetworkGradientCheck(float(errors[worst]), layer, repr(network.layers[layer]), name, index,
                                float(analytic[worst]), float(numeric[worst]), int(checked.size), float(J))


# ----------------------------------------------------------------------
# the arithmetic, shared with skscratch.check_gradients


def finite_difference_check(loss_and_gradient, w0, checked, eps, describe):
    """The gradient at ``w0`` against central differences, at the entries ``checked``.

    Parameters
    ----------
    loss_and_gradient : callable
        ``loss_and_gradient(w) -> (J, gradient)``: sets the parameters to
        ``w`` and returns the loss and its gradient by backpropagation (the
        gradient may be a buffer that the next call overwrites).
    w0 : ndarray of shape (n_params,)
        The float64 parameters at which to check.
    checked : ndarray of int
        The entries to check.
    eps : float
        The step h.
    describe : callable
        ``describe(i) -> str``: entry i in words, for the error messages.

    Returns
    -------
    J : float
    analytic, numeric, errors : ndarray of shape (len(checked),)
        Backpropagation's derivatives, the differences', and their
        relative errors (:func:`relative_errors`).
    """
    J, gradient = loss_and_gradient(w0)
    analytic = np.array(gradient[checked], dtype=np.float64)
    if not np.isfinite(J) or not np.isfinite(analytic).all():
        raise ValueError(f"the loss or its gradient is not finite at the parameters checked (loss {float(J)!r}); "
                         "the gradient check needs a finite loss: scale X, or start from weights that did "
                         "not diverge")
    vanishing = (w0[checked] + eps == w0[checked]) | (w0[checked] - eps == w0[checked])
    if vanishing.any():
        i = int(checked[np.argmax(vanishing)])
        raise ValueError(f"eps={eps!r} is too small a step for {describe(i)}, {float(w0[i])!r}: "
                         "w + eps == w in float64, so the difference would be 0 whatever the derivative; use a "
                         "larger eps, such as the default 1e-6")
    numeric = np.empty(checked.size)
    for k, i in enumerate(checked):
        step = np.zeros_like(w0)
        step[i] = eps
        with np.errstate(over="ignore", invalid="ignore"):  # a loss that overflows is refused just below
            above, below = loss_and_gradient(w0 + step)[0], loss_and_gradient(w0 - step)[0]
        if not (np.isfinite(above) and np.isfinite(below)):
            raise ValueError(f"the loss is not finite ({float(above)!r} at w + eps, {float(below)!r} at w - eps) for "
                             f"{describe(int(i))}: eps={eps!r} is too large a step for these "
                             "weights; use a smaller eps, such as the default 1e-6")
        numeric[k] = (above - below) / (2 * eps)  # dJ/dw_i ~ (J(w + h e_i) - J(w - h e_i)) / 2h
    return J, analytic, numeric, relative_errors(analytic, numeric, J, eps)


def relative_errors(analytic, numeric, J, eps):
    """``|a - n| / max(|a| + |n|, r)``, entry by entry, with ``r = resolution(J, eps)``.

    Derivatives smaller than r are lost in the differences' rounding,
    ``eps_64 |J| / h``: they are compared with r, not with themselves, so
    that rounding alone stays below 1e-6.
    """
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), resolution(J, eps))


def resolution(J, eps):
    """The smallest derivative the differences resolve to 1e-6: their rounding, eps_64 |J| / h, times 1e6."""
    return 1e6 * np.finfo(np.float64).eps * max(abs(J), 1.0) / eps


def checked_entries(n_params, max_params, random_state):
    """The entries to check, in order: all ``n_params``, or ``max_params`` of them drawn from ``random_state``."""
    if max_params is not None and (isinstance(max_params, bool) or not isinstance(max_params, (int, np.integer))
                                   or max_params < 1):
        raise ValueError(f"max_params must be a whole number of 1 or more, or None; got {max_params!r}")
    if max_params is None or max_params >= n_params:
        return np.arange(n_params)
    return np.sort(random_state.choice(n_params, int(max_params), replace=False))


# ----------------------------------------------------------------------
# check_network_gradients' own parts


def _checked_data(network, X, Y, sample_weight):
    """(X, Y, sample_weight) in float64 on the host, once network, shapes and values are found fit to check."""
    if not isinstance(network, Network):
        raise TypeError(f"network must be a skscratch.nn.Network, got {type(network).__name__}")
    if network.params is None:
        raise ValueError(f"{network!r} has no parameters yet: call network.init(random_state) first")
    if network.n_params == 0:
        raise ValueError(f"{network!r} has no parameters to check")
    sparse = hasattr(X, "toarray")
    X = X.astype(np.float64) if sparse else np.asarray(seam.to_host(X), dtype=np.float64)
    Y = np.asarray(seam.to_host(Y), dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, (n_samples, n_features): one row per sample; got shape {X.shape}")
    if Y.ndim != 2:
        raise ValueError(f"Y must be 2-D, (n_samples, n_outputs): one-hot rows for classes (np.eye(n_classes)[y]), "
                         f"or y[:, None] for one output; got shape {Y.shape}")
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but Y has {Y.shape[0]}: one row of Y per row of X")
    if not (np.isfinite(X.data if sparse else X).all() and np.isfinite(Y).all()):
        raise ValueError(f"{'X' if not np.isfinite(X.data if sparse else X).all() else 'Y'} contains NaN or "
                         "infinity: the loss would not be finite")
    if sample_weight is not None:
        sample_weight = np.asarray(seam.to_host(sample_weight), dtype=np.float64)
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(f"sample_weight must have shape ({X.shape[0]},), one weight per sample; got "
                             f"{sample_weight.shape}")
        if not np.isfinite(sample_weight).all() or (sample_weight < 0).any() or not sample_weight.sum() > 0:
            raise ValueError("sample_weight must be finite and 0 or more, with a sum above 0")
    return X, Y, sample_weight


def _positive(name, value, zero=False):
    """``value`` as a float, if it is a finite real number above 0 (or 0, with ``zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not (np.isfinite(value) and (value >= 0 if zero else value > 0)):
        raise ValueError(f"{name} must be a finite number {'of 0 or more' if zero else 'above 0'}, got {value!r}")
    return float(value)


def _random_state(random_state):
    """A RandomState from a seed, None (a fresh one) or a RandomState, as ``Network.init`` takes it."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if random_state is None or (isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)
                                and 0 <= random_state < 2**32):
        return np.random.RandomState(random_state)
    raise ValueError(f"random_state must be an int in [0, 2**32 - 1], a numpy.random.RandomState or None; "
                     f"got {random_state!r}")


def _check_outputs(network, X, Y):
    """Refuse a Y whose columns are not the network's outputs (one row through the network tells)."""
    n_outputs = network.predict(X[:1]).shape[1]
    if Y.shape[1] != n_outputs:
        raise ValueError(f"Y has {Y.shape[1]} columns, but the network has {n_outputs} outputs")


def _fixed_dropout_masks(network, X, random_state):
    """One mask per Dropout layer (None at rate 0), drawn from ``random_state`` in one training forward pass."""
    if not any(isinstance(layer, Dropout) for layer in network.layers):
        return None
    network.set_training(True)
    masks, A = [], X
    for layer in network.layers:
        if isinstance(layer, Dropout):
            keep = random_state.uniform(size=A.shape) >= layer.rate
            layer.mask = keep / (1 - layer.rate) if layer.rate else None  # inverted dropout: kept units scaled up
            masks.append(layer.mask)
        A = layer.forward(A)
    return masks


def _locate(network, i):
    """``(position in network.layers, parameter name, index)`` of entry i of the flat parameter vector."""
    start = 0
    for layer, name, shape in network._parameters():
        size = int(np.prod(shape))
        if i < start + size:
            position = next(k for k, candidate in enumerate(network.layers) if candidate is layer)
            return position, name, tuple(int(v) for v in np.unravel_index(i - start, shape))
        start += size
    raise IndexError(i)


def _describe(network, i):
    """Entry i of the flat parameter vector in words: "layers[2].W[1, 0] (Dense(4, 3))"."""
    layer, name, index = _locate(network, i)
    return f"layers[{layer}].{name}[{', '.join(map(str, index))}] ({network.layers[layer]!r})"
