"""A multi-layer perceptron's forward and backward passes, their elementwise work fused.

:meth:`Network.loss_and_gradients <skscratch.nn.Network.loss_and_gradients>`
is the specification: layer after layer, each step a NumPy pass over the
batch's (rows, units) arrays. After each matrix product it adds the bias and
applies the activation; on the way back it multiplies by the dropout mask
and by the activation's derivative and sums the columns for the bias's
gradient: up to six passes over memory that the product has just written,
each reading and writing the whole array.

For the estimators' networks (:meth:`Network.mlp <skscratch.nn.Network.mlp>`:
Dense, activation, Dropout, ..., Dense), with the fused kernels on
(``kernels.use_for``), :class:`FusedMLP` runs the same matrix products and
gives each run of elementwise passes to one kernel of ``kernels``:

=======================================================  ======================
NumPy, in ``nn``                                         kernel
=======================================================  ======================
``Z += b``, then ``relu`` or ``leaky_relu``              ``bias_activation``
``delta -= Y``, ``delta *= s / S``, ``db = delta.sum``   ``output_delta``
``delta *= mask``, ``delta *= f'(A)``, ``db = ...``      ``hidden_delta``
``dW += (alpha / S) W``, layer by layer                  ``add_scaled``
=======================================================  ======================

The same operations in the same order and dtype give the same bits
(``tests/test_passes.py``; where both are NaN, the NaN's sign and payload
may differ: the compiler may swap a product's operands). What a kernel could
not do to the same bits is
left to the layers' own code: the functions NumPy computes with its own
``exp`` and ``tanh`` (the output's softmax and the loss, the forward pass
of tanh, logistic, elu and gelu, gelu's derivative), whose results numba's
need not match.

:func:`loss_and_gradients` and :func:`forward` choose: these passes for such
a network, the network's own otherwise (a layer or activation of the
user's, sparse or another library's input, numba absent or switched off, a
small network), and for inputs that NumPy would broadcast or compute in
another dtype (:meth:`FusedMLP.takes`).

This module knows the layers by their class and module (``_engine`` imports
nothing of ``nn``; see ``dispatch`` for the optimizers).
"""

import numpy as np

from . import kernels

_NETWORK = ("skscratch.nn.network", "Network")  # not a subclass: its own passes may differ
_LAYERS = "skscratch.nn.layers"
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # numba's kernels are compiled for these
_ACTIVATION_LAYERS = {"Elementwise", "Identity", "Logistic", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU"}


def loss_and_gradients(network, X, Y, sample_weight=None, alpha=0.0, normalizer=None, dropout_masks=None):
    """``network.loss_and_gradients(...)``: the same loss, and the same bits in ``network.grads``."""
    fused = _fused(network, X)
    if fused is None or not fused.takes(network, X, Y, dropout_masks):
        return network.loss_and_gradients(X, Y, sample_weight, alpha, normalizer, dropout_masks)
    return fused.loss_and_gradients(network, X, Y, sample_weight, alpha, normalizer, dropout_masks)


def forward(network, X):
    """``network.forward(X)`` out of training (no dropout): the logits, the same bits."""
    network.set_training(False)
    fused = _fused(network, X)
    return network.forward(X) if fused is None else fused.forward(X)


def _fused(network, X):
    """The network's :class:`FusedMLP` if the kernels run for it and for X, a matrix, else None.

    Planned at each call, from the layers the network has now (walking them
    costs microseconds; a plan kept would miss a layer the user swapped).
    """
    params = network.params
    if not ((type(network).__module__, type(network).__name__) == _NETWORK and isinstance(X, np.ndarray)
            and X.ndim == 2 and isinstance(params, np.ndarray) and params.dtype in _DTYPES
            and X.dtype == params.dtype and kernels.use_for(params)):
        return None
    return FusedMLP.of(network)


def _is(layer, *names):
    return type(layer).__module__ == _LAYERS and type(layer).__name__ in names


class FusedMLP:
    """The passes of a network of Dense layers, each hidden one followed by an activation of ours by
    name (and a Dropout layer).

    Build it with :meth:`of`, which returns None for any other network.
    ``hidden`` lists, per hidden layer, its Dense layer, its activation
    layer and its Dropout layer (or None); ``last`` is the output Dense
    layer. The layers' parameters and gradients are views into the
    network's flat vectors: the passes read and write those.
    """

    def __init__(self, hidden, last, n_weights):
        self.hidden, self.last = hidden, last
        self.n_weights = n_weights  # the weights: the first entries of the flat vectors

    @classmethod
    def of(cls, network):
        """The passes of ``network``, or None if its layers are not Dense, activation (Dropout), ..., Dense."""
        layers, hidden = list(network.layers), []
        while len(layers) > 1:
            dense, activation = layers[:2]
            if not (_is(dense, "Dense") and _is(activation, *_ACTIVATION_LAYERS)
                    and isinstance(activation.activation, str)):
                return None  # a layer or an Activation of the user's
            layers, dropout = layers[2:], None
            if layers and _is(layers[0], "Dropout"):
                dropout, layers = layers[0], layers[1:]
            hidden.append((dense, activation, dropout))
        if len(layers) != 1 or not _is(layers[0], "Dense"):
            return None
        return cls(hidden, layers[0], network.n_penalised)

    def takes(self, network, X, Y, dropout_masks):
        """Whether the kernels compute this training pass as NumPy would, in the parameters' dtype.

        The gradient vector in that dtype, ``Y`` of the output's shape and
        each mask an array of its layer's shape in that dtype: NumPy would
        broadcast another shape (the kernels would read past the array) and
        compute the layers above a mask of another dtype in that dtype.
        """
        n, dtype = X.shape[0], network.params.dtype
        if not (isinstance(network.grads, np.ndarray) and network.grads.dtype == dtype
                and isinstance(Y, np.ndarray) and Y.shape == (n, self.last.W.shape[1])):
            return False
        units = [dense.W.shape[1] for dense, _, dropout in self.hidden if dropout is not None]
        return all(mask is None or (isinstance(mask, np.ndarray) and mask.dtype == dtype and mask.shape == (n, m))
                   for mask, m in zip(dropout_masks or (), units))

    def forward(self, X):
        """The logits of X, in the layers' current mode.

        Each Dense layer keeps its input ``A`` (which the backward pass reads),
        the activation layers their output (and gelu its input), and the
        Dropout layers their mask, as their own ``forward`` does.
        """
        A = X
        for dense, activation, dropout in self.hidden:
            dense.A = A  # what Dense.forward keeps
            Z = A @ dense.W
            if activation.activation in kernels.FORWARD:
                kernels.bias_activation(Z, dense.b, activation.activation)
                activation.A, activation.Z = Z, None  # what its backward reads
            else:  # Dense.forward's bias, then the layer's own activation
                Z += dense.b
                Z = activation.forward(Z)
            A = Z if dropout is None else dropout.forward(Z)
        self.last.A = A
        Z_out = A @ self.last.W
        Z_out += self.last.b
        return Z_out

    def loss_and_gradients(self, network, X, Y, sample_weight, alpha, normalizer, dropout_masks):
        """As :meth:`Network.loss_and_gradients <skscratch.nn.Network.loss_and_gradients>`, step for step."""
        network.set_training(True, dropout_masks)
        Z_out = self.forward(X)
        if normalizer is not None:
            S = normalizer
        else:
            S = X.shape[0] if sample_weight is None else np.sum(sample_weight)
        loss = network.objective(Z_out, Y, sample_weight, alpha, S)
        # backward: delta_L = s (P - Y) / S, and the last layer's db
        delta = network.output_activation(Z_out)
        _output_delta(delta, Y, (1 / S) if sample_weight is None else sample_weight / S, self.last.db)
        for l in range(len(self.hidden), -1, -1):
            dense = self.last if l == len(self.hidden) else self.hidden[l][0]
            np.matmul(dense.A.T, delta, out=dense.dW)  # dJ/dW = A^T delta
            if l == 0:
                break
            delta = delta @ dense.W.T  # dJ/dA; then back through the Dropout and the activation below
            below, activation, dropout = self.hidden[l - 1]
            delta = _hidden_delta(delta, activation, None if dropout is None else dropout._used, below.db)
        if alpha:  # dJ/dW += (alpha / S) W for every layer at once: the weights come first in the vectors
            n, coefficient = self.n_weights, alpha / S
            dtype = np.result_type(network.params, coefficient)  # NumPy's: a Python float takes the vector's
            kernels.add_scaled(network.grads[:n], network.params[:n], dtype.type(coefficient))
        return float(loss)


def _output_delta(delta, Y, factor, db):
    """``delta -= Y; delta *= factor; db = delta.sum(0)``, as the network does (factor: 1 / S or s / S)."""
    if Y.dtype != np.bool_ and Y.dtype != delta.dtype:  # NumPy would subtract in Y's dtype: let it
        delta -= Y
        delta *= factor if np.ndim(factor) == 0 else factor[:, None]
        kernels.column_sums(delta, db)
        return
    dtype = np.result_type(delta, factor)  # NumPy's: a Python float takes delta's dtype, an array keeps its own
    factor = np.asarray(factor, dtype=dtype).reshape(-1)
    kernels.output_delta(delta, Y.astype(delta.dtype, copy=False), factor, db)


def _hidden_delta(delta, activation, mask, db):
    """Back through a Dropout layer's ``mask`` (or None) and ``activation``; its Dense layer's ``db``.

    Returns the new delta: ``delta`` itself, or what the activation's own
    ``backward`` returned (a layer's backward need not work in place).
    """
    if mask is not None and (mask.dtype != delta.dtype or mask.shape != delta.shape):  # NumPy would multiply
        # in the mask's dtype, or broadcast it: let it
        delta *= mask
        mask = None
    if activation.activation not in kernels.BACKWARD:  # gelu: its derivative needs NumPy's tanh
        if mask is not None:
            delta *= mask
        delta = activation.backward(delta)
        kernels.column_sums(delta, db)
        return delta
    kernels.hidden_delta(delta, activation.A, mask, activation.activation, db)
    return delta
