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
``_engine.array_api``), so the same code runs on PyTorch or CuPy arrays on a GPU.
Where NumPy would write in place with ``out=``, ``_engine.array_api.into`` does, and
other namespaces return a new array: always use the returned array.

A user's own activation is a subclass of ``Activation`` (forward and
derivative written plainly, returning new arrays); ``hidden`` below gives the
network the forward and backward functions of a name or of such an object.

This module imports only NumPy (and the seam, ``_engine.array_api``).
"""

import inspect
from abc import ABC, abstractmethod

import numpy as np

from .._engine.array_api import all_finite, as_factor, astype, into


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
    slope = (0.5 * (1.0 + t)
             + 0.5 * Z * (1.0 - t**2) * _GELU_C * (1.0 + 3 * 0.044715 * Z**2))
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


class Activation(ABC):
    """Base class for an activation of your own, for the hidden layers.

    A subclass defines the function and its derivative, elementwise, and an
    instance goes where a name would: ``MLPScratchClassifier(activation=Swish())``.
    Backpropagation needs f'(z) at every unit: the network calls ``forward``
    on the pre-activations ``Z = A @ W + b`` of a batch, keeps ``Z``, and calls
    ``derivative(Z, A)`` on the way back, multiplying the error signal by it::

        delta_{l-1} = (delta_l @ W_l^T) * f'(Z_{l-1})

    A ``forward`` or ``derivative`` that cannot be called so (the classic
    notebooks' one-argument ``derivative(Z)``, a lambda without ``self``)
    is refused with a TypeError when the class is defined, which says how
    to write it. Check the derivative with :func:`skscratch.check_gradients`:
    a mistake in it shows as a relative error far above 1e-6. The tutorial
    "Write your own activation" derives, writes and checks one.

    The arrays are NumPy's, or those of the Array API library the network
    lives in (see "GPUs and other array libraries"): write ``forward`` and
    ``derivative`` with operators, or with the namespace of ``Z``, to serve
    both. Neither may change ``Z`` in place, and neither may keep anything
    on ``self`` for the other: on a large network the batch is split over
    threads, which call them at the same time (``derivative`` is given both
    Z and A, so it needs nothing kept). The class must be importable
    (defined in a module, not in ``__main__``) for a pickle or joblib file
    to load elsewhere. skscratch's safe ``.npz`` format refuses it: it stores
    data, not code. Non-finite values that come out of the function for
    finite Z are blamed on it, by name, in every solver, before X, y or the
    learning rate: a NaN from ``forward`` or ``derivative``, or an infinite
    slope, is a ValueError (in fit, ``predict`` and
    :func:`skscratch.check_gradients`) as it comes. An infinite ``forward``
    may be an honest overflow (exp of a large Z): where the weights were fine
    (the first minibatch, ``predict``) it is a ValueError that names the
    function and the range of Z; where training had moved them, the warning
    that reports the divergence names it first, and the last good weights
    are kept.

    Methods
    -------
    forward(Z)
        f(Z), an array of Z's shape (and dtype).
    derivative(Z, A)
        f'(Z), given Z and A = f(Z): the slope of f at each entry.
    onnx(op, Z)
        Optional: f written in ONNX operators, for :func:`skscratch.to_onnx`.
        ``op(op_type, *inputs, **attributes)`` adds one node and returns
        its output; a number among the inputs becomes a constant.

    Examples
    --------
    Swish, f(z) = z s(z) with s the logistic sigmoid, whose slope is
    s(z) + z s(z) (1 - s(z)) = A + s(z) (1 - A):

    >>> import numpy as np
    >>> from skscratch import Activation
    >>> class Swish(Activation):
    ...     def forward(self, Z):
    ...         return Z / (1 + np.exp(-Z))
    ...     def derivative(self, Z, A):
    ...         s = 1 / (1 + np.exp(-Z))
    ...         return A + s * (1 - A)
    ...     def onnx(self, op, Z):
    ...         return op("Mul", Z, op("Sigmoid", Z))
    >>> swish = Swish()
    >>> swish
    Swish()
    >>> swish.forward(np.array([-1.0, 0.0, 2.0])).round(4)
    array([-0.2689,  0.    ,  1.7616])
    """

    def __init_subclass__(cls, **kwargs):
        """Refuse, when the class is defined, a method the network cannot call as it does: ``derivative(Z, A)``."""
        super().__init_subclass__(**kwargs)
        for name in _CALLED_AS:
            if name in vars(cls):
                _check_signature(cls, name)

    @abstractmethod
    def forward(self, Z):
        """f(Z), elementwise: a new array of Z's shape."""

    @abstractmethod
    def derivative(self, Z, A):
        """f'(Z), elementwise, given Z and A = f(Z): a new array of Z's shape."""

    def onnx(self, op, Z):
        """f in ONNX operators (optional); without it, ``to_onnx`` refuses the model."""
        raise NotImplementedError(
            f"{self!r} has no ONNX form: define {type(self).__name__}.onnx(op, Z), e.g. "
            'return op("Mul", Z, op("Sigmoid", Z)) for z * sigmoid(z), to convert it to ONNX'
        )

    def __repr__(self):
        """``Name(param=value, ...)``, from the parameters of ``__init__`` (as scikit-learn's estimators)."""
        names = [p.name for p in inspect.signature(type(self).__init__).parameters.values()
                 if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in names if hasattr(self, name))
        return f"{type(self).__name__}({args})"

    # the network's view of it: in the registries' form, with shape and dtype kept

    def _forward(self, Z, xp=np):
        return self._checked(self.forward(Z), Z, None, "forward", xp)

    def _backward(self, A, delta, Z, xp=np):
        delta *= self._checked(self.derivative(Z, A), Z, A, "derivative", xp)
        return delta

    def _checked(self, out, Z, A, method, xp):
        """``out``, which must have Z's shape, in Z's dtype (a float64 result in a float32 network)."""
        if type(out) is not type(Z):
            raise TypeError(f"{self!r}.{method} returned a {_type_name(out)} for Z of type {_type_name(Z)}; "
                            "write it with Z's own operations (see skscratch.Activation)")
        if not _real(out.dtype):
            raise TypeError(f"{self!r}.{method} returned an array of dtype {out.dtype} for Z of dtype {Z.dtype}; "
                            "it must return real numbers")
        if out.shape != Z.shape:
            raise ValueError(f"{self!r}.{method} returned shape {tuple(out.shape)} for Z of shape "
                             f"{tuple(Z.shape)}; it must work elementwise")
        out = out if out.dtype == Z.dtype else astype(xp, out, Z.dtype)
        if not all_finite(xp, out):
            self._check_fault(out, Z, A, method, xp)
        return out

    def _check_fault(self, out, Z, A, method, xp):
        """Raise if ``out`` is not finite by the function's own doing, not the input's, y's or the rate's.

        A NaN from finite Z is always the function's (the square root of a
        negative number); so is an infinite slope where Z and A are finite (a
        derivative of 1 / sqrt(A) at 0). An infinite ``forward`` may be an
        honest overflow (exp of a large Z, as weights diverge): the divergence
        guard reports it, and where the weights were fine the overflow
        diagnosis names the function then (:func:`activation_fault`).
        """
        if not all_finite(xp, Z) or (A is not None and not all_finite(xp, A)):
            return
        nan = bool(xp.any(xp.isnan(out)))
        if method == "forward" and not nan:
            return
        what = "NaN" if nan else "infinity"
        raise ValueError(f"The {'forward' if method == 'forward' else 'backward'} pass gave {what}: "
                         f"{_fault_words(self, what, '', method, Z, xp)}")


# How the network calls a user's methods (with these arguments, by position), and how to write each
_CALLED_AS = {
    "forward": (("Z",), "def forward(self, Z):\n    return np.tanh(Z)  # f(Z): a new array of Z's shape"),
    "derivative": (("Z", "A"), "def derivative(self, Z, A):\n"
                               "    return 1 - A**2  # f'(Z), from Z or from A = f(Z), whichever is simpler"),
    "onnx": (("op", "Z"), "def onnx(self, op, Z):\n    return op(\"Tanh\", Z)  # f in ONNX operators"),
}
_WHY_BOTH = (": it passes the pre-activation Z and the output A = f(Z), so that f'(Z) can be written from either "
             "(tanh's from A, GELU's from Z) with nothing kept between the passes")


def _check_signature(cls, name, called_as=_CALLED_AS):
    """A TypeError, with the way to write it, if ``cls.name`` cannot be called as the network calls it.

    A plain method (a ``def`` or a lambda in the class body) is given self
    first; a staticmethod is not; a classmethod is given the class. ``*args``
    and parameters with defaults are fine. ``called_as``: how the network
    calls each method, and how to write it (an Activation's by default; a
    Layer's in ``layers``).
    """
    arguments, example = called_as[name]
    called = f"{name}({', '.join(arguments)})"
    write = f"Write it as\n\n{_indent(example)}"
    method = vars(cls)[name]
    function, receives = method, ("self",)
    if isinstance(method, staticmethod):
        function, receives = method.__func__, ()
    elif isinstance(method, classmethod):
        function, receives = method.__func__, ("cls",)
    elif not inspect.isfunction(method):
        if not callable(method):
            raise TypeError(f"{cls.__name__}.{name} is {method!r}, not a method: the network calls {called}. {write}")
        receives = ()  # another callable (np.tanh, a functools.partial ...) is called as it is
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return
    shown = f"{cls.__name__}.{name}{signature}"
    if getattr(function, "__name__", "") == "<lambda>":
        shown = f"{cls.__name__}.{name} = lambda {str(signature)[1:-1]}: ...".replace("lambda : ", "lambda: ")
    try:
        signature.bind(*receives, *arguments)
    except TypeError:
        raise TypeError(f"{shown} {_what_it_takes(method, function, receives, name)}, but the network calls "
                        f"{called}{_WHY_BOTH if name == 'derivative' else ''}. "
                        f"{'Keep your formula and take both: w' if name == 'derivative' else 'W'}{write[1:]}") from None
    positional = [p.name for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][len(receives):]
    if name == "derivative" and [n.lower() for n in positional[:2]] == ["a", "z"]:
        raise TypeError(f"{shown} names its parameters A, Z, but the network calls {called}, Z first: its A "
                        f"would be Z. {write}")


def _what_it_takes(method, function, receives, name):
    """What a method the network cannot call takes, in words: "takes 1 argument, Z, as in the classic notebooks"."""
    parameters = inspect.signature(function).parameters.values()
    every = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keyword_only = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    if len(every) < len(receives):
        return f"takes no arguments, not even {receives[0]}"
    positional = every[len(receives):]
    taken = f"{len(positional)} argument{'s' * (len(positional) != 1)}" if positional else "no arguments"
    if positional:
        taken += f", {', '.join(positional)}"
    if getattr(function, "__name__", "") == "<lambda>" and receives and every[0] not in receives:
        return (f"is a method (a lambda in the class body is one), whose first parameter, {every[0]}, receives the "
                f"instance; it then takes {taken}")
    if receives == ("self",) and every[0] not in ("self", "cls"):  # a def in the class body without self
        return f"is a method, whose first parameter, {every[0]}, receives the instance; it then takes {taken}"
    if keyword_only:
        return f"takes {', '.join(keyword_only)} by keyword only"
    if name == "derivative" and len(positional) == 1:
        taken += ", as in the classic notebooks"
    if isinstance(method, staticmethod):
        taken += " (a staticmethod is given no self)"
    return f"takes {taken}"


def _indent(code):
    return "\n".join("    " + line for line in code.splitlines())


def _fault_words(activation, what, where, method, Z, xp):
    """How a fault of a user's activation is told: "activation=... returned NaN for finite inputs ..."."""
    return (f"activation={activation!r} returned {what} for finite inputs{where} (its {method}(Z), for Z between "
            f"{float(xp.min(Z)):.3g} and {float(xp.max(Z)):.3g}). Check its {method} method.")


def activation_fault(activation, X, coefs, intercepts, xp=np):
    """``(what, message)``: what a user's ``Activation`` made of finite pre-activations ("NaN", "infinity"); or None.

    Asked once the forward pass overflowed (at weights known to be fine, or
    at those with which training blew up): the hidden layers are run one by
    one, and the first whose finite Z the function turns into NaN or
    infinity is named, with the range of Z (so that exp of a Z of 800 reads
    as what it is). An overflow before the activation is not its doing
    (None). NumPy's overflow warnings are silenced meanwhile.
    """
    if not isinstance(activation, Activation):
        return None
    A = X
    with np.errstate(all="ignore"):
        for layer, (W, b) in enumerate(zip(coefs[:-1], intercepts[:-1]), start=1):
            Z = A @ W + b
            if not all_finite(xp, Z):
                return None  # the overflow came before the activation
            A = activation.forward(Z)
            if not all_finite(xp, A):
                what = "NaN" if bool(xp.any(xp.isnan(A))) else "infinity"
                return what, _fault_words(activation, what, f" in hidden layer {layer}", "forward", Z, xp)
    return None


def _real(dtype):
    """Whether ``dtype`` holds real numbers (floating, integer or bool), in any namespace."""
    try:
        return np.dtype(dtype).kind in "fiub"
    except TypeError:  # another library's dtype (torch.float32 ...)
        return not (getattr(dtype, "is_complex", False) or "complex" in str(dtype))


def _type_name(a):
    return f"{type(a).__module__}.{type(a).__qualname__}"


def hidden(activation):
    """``(f, backward, keeps_Z)``: the hidden layers' activation, from its name or an ``Activation``.

    ``f(Z, xp)`` returns A; ``backward(A, delta, Z, xp)`` returns delta * f'(Z);
    ``keeps_Z`` says whether the backward pass needs the pre-activation Z.
    """
    if isinstance(activation, Activation):
        return activation._forward, activation._backward, True
    return ACTIVATIONS[activation], DERIVATIVES[activation], activation in NEEDS_PREACTIVATION


Activation.__module__ = "skscratch"  # its public name, in messages and the docs
__test__ = {"Activation": Activation}  # (doctest finds a class by its __module__: name it, so that its examples run)
