"""Layers: each a step of the network, its backward written next to its forward.

A layer maps its input ``A`` (one row per sample) to its output. Its
``backward(delta)`` takes ``delta = dJ/d(output)`` and returns
``dJ/d(input)``, having written the gradient of its own parameters. What the
backward pass needs from the forward pass (a Dense layer's input, an
activation's output) is kept on the layer by ``forward``: a network runs
one batch at a time (the training threads each run a network of their own
over the same weights).

A layer's parameters are not arrays of its own: they are views into the
network's one flat parameter vector, set by :meth:`Network.bind
<skscratch.nn.Network.bind>`, and their gradients views into its flat
gradient vector. So an optimizer updates the whole network in a few
vectorised passes, and L-BFGS sees one vector, as scikit-learn's MLP does.

============  ====================================  ==================================
layer         forward                               backward (delta = dJ/d output)
============  ====================================  ==================================
Dense         Z = A W + b                           dW = A^T delta, db = sum_i delta,
                                                    returns delta W^T
Elementwise   A = f(Z)                              returns delta * f'(Z)
Dropout       A * mask (training)                   returns delta * mask
============  ====================================  ==================================

Every layer takes the arrays' namespace from the network (``self.xp``,
NumPy by default); see ``skscratch._engine.array_api`` for the few places
where NumPy writes in place (``out=``) and other libraries return a new
array. This module imports only NumPy and that seam.
"""

import numpy as np

from .._engine import array_api as seam
from .activations import Activation, _check_signature, hidden

# How the network calls a layer's methods (with these arguments, by position), and how to write each
_CALLED_AS = {
    "forward": (("A",), "def forward(self, A):\n"
                        "    self.A = A  # what backward will need\n"
                        "    return A @ self.W + self.b  # the output: one row per sample"),
    "backward": (("delta",), "def backward(self, delta):  # delta = dJ/d(output)\n"
                             "    self.dW[...] = self.A.T @ delta  # into the network's gradient vector\n"
                             "    self.db[...] = delta.sum(axis=0)\n"
                             "    return delta @ self.W.T  # dJ/dA, for the layer below"),
    "parameters": ((), "def parameters(self):\n"
                       "    return [(\"W\", (self.n_in, self.n_out), True), (\"b\", (self.n_out,), False)]"),
    "initialize": (("random_state",), "def initialize(self, random_state):  # a NumPy RandomState\n"
                                      "    self.W[...] = random_state.uniform(-0.1, 0.1, self.W.shape)"),
}


class Layer:
    """Base class of a layer: ``forward(A)``, ``backward(delta)`` and its parameters, if any.

    A subclass with parameters lists them in :meth:`parameters`; the network
    then sets, for each name ``W``, the attributes ``self.W`` (a view into
    the flat parameter vector) and ``self.dW`` (the view into the gradient
    vector that ``backward`` must fill), before any pass. It draws their
    first values in :meth:`initialize`.

    ``backward`` may change ``delta`` in place and return it. A layer must
    not keep anything on ``self`` between two batches but what its backward
    pass needs from the forward pass of the same batch.

    A ``forward``, ``backward``, ``parameters`` or ``initialize`` that the
    network cannot call as it does (``forward(A)``, ``backward(delta)``,
    ``parameters()``, ``initialize(random_state)``) is refused with a
    TypeError when the class is defined, which says how to write it. Check
    a backward of your own with :func:`skscratch.nn.check_network_gradients`;
    the tutorial "Write your own layer" derives, writes, checks and trains
    one. Pickle or copy the network, not a layer alone: the parameters live
    in the network's vector, and the network binds them again. The
    estimators take one among the integers of ``hidden_layer_sizes``
    (``MLPScratchClassifier((64, Residual(64)))``), if it keeps the width
    of its input.

    Attributes
    ----------
    xp : namespace
        The arrays' Array API namespace (NumPy by default), set by the network.
    input_gradient : bool
        Whether ``backward`` must return dJ/d(input); the network sets it to
        False for its first layer, whose input is the data.
    training : bool
        True during the network's training passes (dropout drops units then).

    Examples
    --------
    A layer that scales its input by a learned vector ``s``, one entry per
    feature (the diagonal of a matrix): ``Z = A * s``, so
    ``dJ/ds = sum_i delta_i * A_i`` and ``dJ/dA = delta * s``:

    >>> import numpy as np
    >>> from skscratch import nn
    >>> class Scale(nn.Layer):
    ...     def __init__(self, n):
    ...         self.n = n
    ...     def parameters(self):
    ...         return [("s", (self.n,), False)]  # name, shape, whether alpha penalises it
    ...     def initialize(self, random_state):
    ...         self.s[...] = 1.0
    ...     def forward(self, A):
    ...         self.A = A
    ...         return A * self.s
    ...     def backward(self, delta):
    ...         self.ds[...] = (delta * self.A).sum(axis=0)
    ...         return delta * self.s
    >>> net = nn.Network([Scale(4), nn.Dense(4, 3)], output="softmax")
    >>> net.init(random_state=0)
    Network([Scale(n=4), Dense(4, 3)], output='softmax')
    >>> net.forward(np.ones((2, 4))).shape
    (2, 3)
    """

    xp = np
    input_gradient = True
    training = False
    cache: tuple[str, ...] = ()  # what a forward pass keeps for the backward pass (one batch's: never pickled)

    def __init_subclass__(cls, **kwargs):
        """Refuse, when the class is defined, a method the network cannot call as it does: ``backward(delta)``."""
        super().__init_subclass__(**kwargs)
        for name in _CALLED_AS:
            if name in vars(cls):
                _check_signature(cls, name, _CALLED_AS)

    def __getstate__(self):
        """What pickle and deepcopy keep: not the namespace (a module), nor the views the network binds
        again, nor the last batch's ``cache`` (data rows would travel with the network)."""
        bound = {name for name, _, _ in self.parameters()}
        bound |= {"d" + name for name in bound}
        return {key: None if key in self.cache else value for key, value in vars(self).items()
                if key != "xp" and key not in bound}

    def parameters(self):
        """``[(name, shape, penalised), ...]``: the layer's parameters (none by default).

        ``penalised``: whether the L2 penalty ``alpha`` and AdamW's weight
        decay act on it, as on a Dense layer's weights and not its biases.
        """
        return []

    def initialize(self, random_state):
        """Draw the parameters' first values into their views, with ``random_state`` (a RandomState)."""

    def forward(self, A):
        """The layer's output for the batch ``A``."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, A)")

    def backward(self, delta):
        """dJ/d(input), given ``delta = dJ/d(output)``; writes the parameters' gradients."""
        raise NotImplementedError(f"{type(self).__name__} must define backward(self, delta)")

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                         if not k.startswith("_") and isinstance(v, (int, float, str)) and k not in ("training", "input_gradient"))
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """A fully connected layer: ``Z = A W + b``.

    ``W`` has shape ``(n_in, n_out)`` (batches are rows), ``b`` shape
    ``(n_out,)``. Its first values are Glorot's uniform draws,
    ``U(-r, r)`` with ``r = sqrt(glorot / (n_in + n_out))``, W before b: with
    ``glorot = 6`` (2 for the logistic activation) the very numbers
    scikit-learn's MLP draws from the same random state.

    Parameters
    ----------
    n_in, n_out : int
        Units in and out.
    glorot : float, default=6.0
        The numerator of Glorot's bound.

    Examples
    --------
    >>> import numpy as np
    >>> from skscratch import nn
    >>> dense = nn.Dense(2, 1)
    >>> net = nn.Network([dense], output="identity").init(random_state=0)
    >>> dense.W[...] = [[1.0], [2.0]]
    >>> dense.b[...] = 0.5
    >>> dense.forward(np.array([[1.0, 1.0]]))  # 1 + 2 + 0.5
    array([[3.5]])
    """

    cache = ("A",)

    def __init__(self, n_in, n_out, glorot=6.0):
        self.n_in, self.n_out, self.glorot = n_in, n_out, glorot

    def parameters(self):
        return [("W", (self.n_in, self.n_out), True), ("b", (self.n_out,), False)]

    def initialize(self, random_state):
        bound = np.sqrt(self.glorot / (self.n_in + self.n_out))
        self.W[...] = random_state.uniform(-bound, bound, self.W.shape)
        self.b[...] = random_state.uniform(-bound, bound, self.b.shape)

    def forward(self, A):
        self.A = A  # A may be a SciPy sparse matrix (the data): only A @ W touches it
        Z = A @ self.W  # Z = A W + b
        Z += self.b
        return Z

    def backward(self, delta):
        # dJ/dW = A^T delta;  dJ/db = sum_i delta_i
        _matmul_into(self.dW, self.A.T, delta, self.xp)
        seam.into(self.xp, self.db, self.xp.sum, delta, axis=0)
        if self.input_gradient:
            return delta @ self.W.T  # dJ/dA = delta W^T
        return None

    def __repr__(self):
        glorot = "" if self.glorot == 6.0 else f", glorot={self.glorot!r}"
        return f"Dense({self.n_in}, {self.n_out}{glorot})"


def _matmul_into(out, a, b, xp):
    """out[...] = a @ b, where ``a`` may be sparse (the data, in the first layer)."""
    if isinstance(a, np.ndarray) or xp is not np:
        seam.into(xp, out, xp.matmul, a, b)
    else:
        out[...] = a @ b


class Elementwise(Layer):
    """An activation as a layer: ``A = f(Z)``, and ``delta * f'(Z)`` on the way back.

    Parameters
    ----------
    activation : str or Activation
        A name of ``ACTIVATIONS`` ("relu", "tanh" ...) or an
        :class:`~skscratch.Activation` of your own.

    Examples
    --------
    >>> import numpy as np
    >>> from skscratch import nn
    >>> relu = nn.Elementwise("relu")
    >>> relu.forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    >>> relu.backward(np.array([[5.0, 5.0]]))  # f'(z) = 0 for z < 0, 1 for z > 0
    array([[0., 5.]])
    """

    def __init__(self, activation):
        self.activation = activation
        self._f, self._times_slope, self._keeps_Z = hidden(activation)

    def forward(self, Z):
        # the derivatives are written in the output A, but GELU's (and a user's) needs Z too
        self.Z = seam.copy(self.xp, Z) if self._keeps_Z else None
        self.A = self._f(Z, self.xp)  # in place on NumPy: Z becomes A
        return self.A

    def backward(self, delta):
        # delta * f'(Z), in place on NumPy
        return self._times_slope(self.A, delta, self.Z, self.xp)

    def __repr__(self):
        if type(self) is Elementwise:
            return f"Elementwise({self.activation!r})"
        return f"{type(self).__name__}()"  # ReLU() ...

    cache = ("A", "Z")

    def __getstate__(self):  # the functions are found again from the activation
        state = super().__getstate__()
        for name in ("_f", "_times_slope", "_keeps_Z"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._f, self._times_slope, self._keeps_Z = hidden(self.activation)


class Dropout(Layer):
    """Inverted dropout: in training, each unit is kept with probability 1 - rate and scaled by 1 / (1 - rate).

    The expected output is unchanged, so prediction passes ``A`` through.
    The mask of a training pass is ``mask`` if one was given (the
    estimators hash theirs from the data, see ``skscratch.nn.dropout``), or
    drawn from ``random_state``.

    Parameters
    ----------
    rate : float in [0, 1)
    random_state : int, RandomState or None
        For the masks this layer draws itself.

    Examples
    --------
    >>> import numpy as np
    >>> from skscratch import nn
    >>> drop = nn.Dropout(0.5, random_state=0)
    >>> drop.training = True
    >>> drop.forward(np.ones((1, 6)))  # the kept units doubled
    array([[2., 2., 2., 2., 0., 2.]])
    >>> drop.backward(np.ones((1, 6)))  # the same units pass the error back
    array([[2., 2., 2., 2., 0., 2.]])
    """

    cache = ("mask", "_used")

    def __init__(self, rate, random_state=None):
        self.rate, self.random_state = rate, random_state
        self.mask = None
        self._rng = None

    def forward(self, A):
        if not self.training or not self.rate:
            self._used = None
            return A
        mask = self.mask if self.mask is not None else self._draw(A)
        self._used = mask
        return A * mask  # a new array: the activation before it keeps its own output

    def _draw(self, A):
        if self._rng is None:  # (only a learner's own loop draws here)
            given = self.random_state
            self._rng = given if isinstance(given, np.random.RandomState) else np.random.RandomState(given)
        keep = self._rng.uniform(size=A.shape) >= self.rate
        return keep.astype(A.dtype) * A.dtype.type(1 / (1 - self.rate))

    def backward(self, delta):
        if self._used is not None:
            delta *= self._used  # dJ/dA = delta * mask
        return delta

    def __repr__(self):
        return f"Dropout({self.rate!r})"


class Identity(Elementwise):
    """f(z) = z."""

    def __init__(self):
        super().__init__("identity")


class Logistic(Elementwise):
    """f(z) = 1 / (1 + exp(-z)); f'(z) = A (1 - A)."""

    def __init__(self):
        super().__init__("logistic")


class Tanh(Elementwise):
    """f(z) = tanh(z); f'(z) = 1 - A^2."""

    def __init__(self):
        super().__init__("tanh")


class ReLU(Elementwise):
    """f(z) = max(z, 0); f'(z) = 1 where A > 0, else 0."""

    def __init__(self):
        super().__init__("relu")


class LeakyReLU(Elementwise):
    """f(z) = z if z > 0 else 0.01 z."""

    def __init__(self):
        super().__init__("leaky_relu")


class ELU(Elementwise):
    """f(z) = z if z > 0 else exp(z) - 1; f'(z) = A + 1 where A <= 0."""

    def __init__(self):
        super().__init__("elu")


class GELU(Elementwise):
    """f(z) = z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))); f' needs Z, which it keeps."""

    def __init__(self):
        super().__init__("gelu")


_BY_NAME = {"identity": Identity, "logistic": Logistic, "tanh": Tanh, "relu": ReLU,
            "leaky_relu": LeakyReLU, "elu": ELU, "gelu": GELU}


def activation_layer(activation):
    """The layer of an activation name or of a user's ``Activation``: ``ReLU()`` for "relu"."""
    if isinstance(activation, Activation):
        return Elementwise(activation)
    return _BY_NAME[activation]()
