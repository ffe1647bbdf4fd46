"""Losses, each paired with the output activation that makes its gradient simple.

Every loss here takes the output layer's pre-activation ``Z`` (the logits),
not the probabilities ``P = g(Z)``. Written in terms of ``Z`` the losses are
exact and finite for any finite logit: a probability that rounds to 0 or 1
in floating point (``p = sigma(40)``) still has its true, finite loss. That
also makes ``P - Y`` the exact gradient everywhere, with no clipping region
where the loss is flat but the gradient is not.

For these four pairs (the "canonical links") the error at the output
pre-activation is the same expression, ``dLoss/dZ = P - Y``. That is why
``Network.loss_and_gradients`` starts backpropagation from ``P - Y``:

=========  ==========================  ==============================================
output g   loss                        per-sample loss, written in z
=========  ==========================  ==============================================
softmax    categorical cross-entropy   ``logsumexp(z) - sum_k y_k z_k``
logistic   binary cross-entropy        ``sum_k log(1 + exp(z_k)) - y_k z_k``
identity   half squared error          ``sum_k (y_k - z_k)^2 / 2``
exp        half Poisson deviance       ``sum_k exp(z_k) - y_k z_k + y_k log y_k - y_k``
=========  ==========================  ==============================================

(``-log softmax(z)_k = logsumexp(z) - z_k``,
``-y log sigma(z) - (1 - y) log(1 - sigma(z)) = log(1 + exp(z)) - y z``, and
the Poisson deviance ``y log(y / p) - y + p`` with ``p = exp(z)``; its last
two terms make it 0 for a perfect fit, as scikit-learn's.)

Each function returns the loss of every sample; ``nn.network`` takes their
weighted mean, as scikit-learn's MLP does.

Each takes the array namespace ``xp`` (NumPy by default). With NumPy, Y may
be boolean (one-hot); other namespaces need it in the logits' float dtype.

This module imports only NumPy.
"""

import numpy as np


def categorical_cross_entropy(Y, Z, xp=np):
    """``-log softmax(z)[true class]`` per sample; Y is one-hot.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.array([[True, False], [True, False]])
    >>> categorical_cross_entropy(Y, np.array([[0.0, 0.0], [0.0, 1000.0]])).round(4).tolist()
    [0.6931, 1000.0]
    """
    z_max = xp.max(Z, axis=1, keepdims=True)
    logsumexp = xp.log(xp.sum(xp.exp(Z - z_max), axis=1)) + z_max[:, 0]
    return logsumexp - xp.sum(Z * Y, axis=1)


def binary_cross_entropy(Y, Z, xp=np):
    """Sum over outputs of the binary log-loss of ``sigma(z)``, per sample.

    Examples
    --------
    >>> import numpy as np
    >>> binary_cross_entropy(np.array([[True], [True]]), np.array([[0.0], [-1000.0]])).round(4).tolist()
    [0.6931, 1000.0]
    """
    return xp.sum(xp.logaddexp(0, Z) - Z * Y, axis=1)


def half_squared_error(Y, Z, xp=np):
    """``sum_k (y_k - z_k)^2 / 2`` per sample.

    Summing over outputs (not averaging) keeps ``Z - Y`` the exact gradient
    for multi-output targets too.
    """
    return 0.5 * xp.sum((Y - Z) ** 2, axis=1)


def half_poisson_deviance(Y, Z, xp=np):
    """``sum_k exp(z_k) - y_k z_k + y_k log y_k - y_k`` per sample (y >= 0).

    Examples
    --------
    >>> import numpy as np
    >>> half_poisson_deviance(np.array([[2.0], [0.0]]), np.log([[2.0], [1.0]])).round(12).tolist()
    [0.0, 1.0]
    """
    y_log_y = Y * xp.log(xp.where(Y > 0, Y, 1.0))  # y log y, with 0 log 0 = 0
    return xp.sum(xp.exp(Z) - Y * Z + y_log_y - Y, axis=1)


LOSSES = {
    "softmax": categorical_cross_entropy,
    "logistic": binary_cross_entropy,
    "identity": half_squared_error,
    "exp": half_poisson_deviance,
}
