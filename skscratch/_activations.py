"""Activation functions and their derivatives, as two small registries.

Each activation works **in place** on the pre-activation ``Z = A @ W + b`` and
returns it, so the forward pass allocates nothing extra. Each derivative is
written in terms of the activation's *output* ``A = f(Z)``, because that is
what backpropagation has at hand, and multiplies the incoming error signal
``delta`` (dLoss/dA) by ``f'(Z)`` in place, turning it into dLoss/dZ. GELU
is not a function of its output alone (it is not monotonic), so its
derivative takes the pre-activation ``Z``, which the forward pass keeps for
the activations in ``NEEDS_PREACTIVATION``.

Every function takes the array namespace ``xp`` (NumPy by default; see
``_array_api``), so the same code runs on PyTorch or CuPy arrays on a GPU.
Where NumPy would write in place with ``out=``, ``_array_api.into`` does, and
other namespaces return a new array: always use the returned array.

This module imports only NumPy (and the seam, ``_array_api``).
"""

import numpy as np

from ._array_api import as_factor, into


def identity(Z, xp=np):
    """f(z) = z."""
    return Z


def logistic(Z, xp=np):
    """f(z) = 1 / (1 + exp(-z)), written so that exp never overflows.

    With e = exp(-|z|) <= 1: f(z) = 1 / (1 + e) for z >= 0 and e / (1 + e)
    for z < 0. Both are exact to rounding, even at z = +-1000 and for
    probabilities far below machine epsilon.
    """
    e = xp.exp(-xp.abs(Z))
    return into(xp, Z, xp.divide, xp.where(Z >= 0, 1.0, e), 1.0 + e)


def tanh(Z, xp=np):
    """f(z) = tanh(z)."""
    return into(xp, Z, xp.tanh, Z)


def relu(Z, xp=np):
    """f(z) = max(z, 0)."""
    return into(xp, Z, xp.maximum, Z, 0)


def leaky_relu(Z, xp=np):
    """f(z) = z if z > 0 else 0.01 z."""
    return into(xp, Z, xp.maximum, Z, 0.01 * Z)


def elu(Z, xp=np):
    """f(z) = z if z > 0 else exp(z) - 1 (alpha = 1)."""
    negative_part = xp.expm1(xp.minimum(Z, 0))
    Z = into(xp, Z, xp.maximum, Z, 0)
    Z += negative_part
    return Z


_GELU_C = float(np.sqrt(2 / np.pi))


def gelu(Z, xp=np):
    """f(z) = z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))), the tanh approximation."""
    inner = xp.tanh(_GELU_C * (Z + 0.044715 * Z**3))
    inner += 1.0
    Z *= 0.5
    Z *= inner
    return Z


def exp(Z, xp=np):
    """f(z) = exp(z): the output of Poisson regression (a log link)."""
    return into(xp, Z, xp.exp, Z)


def softmax(Z, xp=np):
    """f(z)_k = exp(z_k) / sum_j exp(z_j), row by row.

    Subtracting the row maximum first leaves the result unchanged and keeps
    every exponent <= 0, so exp cannot overflow.
    """
    Z -= xp.max(Z, axis=1, keepdims=True)
    Z = into(xp, Z, xp.exp, Z)
    Z /= xp.sum(Z, axis=1, keepdims=True)
    return Z


ACTIVATIONS = {
    "identity": identity,
    "logistic": logistic,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "gelu": gelu,
    "softmax": softmax,
    "exp": exp,
}


def identity_derivative(A, delta, Z=None, xp=np):
    """f'(z) = 1: delta is unchanged."""
    return delta


def logistic_derivative(A, delta, Z=None, xp=np):
    """f'(z) = f(z) (1 - f(z)) = A (1 - A)."""
    delta *= A
    delta *= 1.0 - A
    return delta


def tanh_derivative(A, delta, Z=None, xp=np):
    """f'(z) = 1 - tanh(z)^2 = 1 - A^2."""
    delta *= 1.0 - A**2
    return delta


def relu_derivative(A, delta, Z=None, xp=np):
    """f'(z) = 1 if z > 0 else 0, and z > 0 exactly where A > 0."""
    # multiplying by the 0/1 mask is ~10x faster than masked assignment
    return into(xp, delta, xp.multiply, delta, as_factor(xp, A > 0, delta.dtype))


def leaky_relu_derivative(A, delta, Z=None, xp=np):
    """f'(z) = 1 if z > 0 else 0.01, and z > 0 exactly where A > 0."""
    delta *= xp.where(A > 0, 1.0, xp.full_like(delta, 0.01))
    return delta


def elu_derivative(A, delta, Z=None, xp=np):
    """f'(z) = 1 if z > 0 else exp(z) = A + 1."""
    delta *= xp.where(A > 0, 1.0, A + 1.0)
    return delta


def gelu_derivative(A, delta, Z, xp=np):
    """f'(z) = (1 + t)/2 + z/2 (1 - t^2) c (1 + 3 * 0.044715 z^2), t = tanh(c (z + 0.044715 z^3))."""
    t = xp.tanh(_GELU_C * (Z + 0.044715 * Z**3))
    slope = 0.5 * (1.0 + t) + 0.5 * Z * (1.0 - t**2) * _GELU_C * (1.0 + 3 * 0.044715 * Z**2)
    delta *= slope
    return delta


NEEDS_PREACTIVATION = {"gelu"}

DERIVATIVES = {
    "identity": identity_derivative,
    "logistic": logistic_derivative,
    "tanh": tanh_derivative,
    "relu": relu_derivative,
    "leaky_relu": leaky_relu_derivative,
    "elu": elu_derivative,
    "gelu": gelu_derivative,
}
