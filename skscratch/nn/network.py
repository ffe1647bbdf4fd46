"""The network: a list of layers, and the loss at its output. Pure NumPy, no scikit-learn.

Notation. Batches are rows. For layers l = 1 .. L::

    A_0 = X                           (n_samples, n_features)
    Z_l = A_{l-1} @ W_l + b_l         W_l has shape (fan_in, fan_out)
    A_l = f(Z_l)  for hidden layers,  P = A_L = g(Z_L) at the output

The loss is a weighted mean over samples, plus an L2 penalty scaled as
scikit-learn scales it (S = sum of the sample weights, or n_samples)::

    J = sum_i s_i loss(y_i, p_i) / S  +  alpha / (2 S) * sum_l ||W_l||^2

Backpropagation is the chain rule applied from the output back, one layer
at a time (each layer's ``backward`` in ``layers``)::

    delta_L     = s * (P - Y) / S                     (canonical link, see losses)
    dJ/dW_l     = A_{l-1}^T delta_l + (alpha / S) W_l
    dJ/db_l     = sum_i delta_l
    delta_{l-1} = (delta_l @ W_l^T) * f'(Z_{l-1})

All parameters live in one flat vector: first every penalised parameter (the
W_l), then the others (the b_l), layer by layer: the order in which
scikit-learn packs them for L-BFGS. The layers' parameters are views into
it, so an optimizer can update the whole network in a few vectorised passes.

Every pass takes the array namespace of the parameters: NumPy by default,
or the Array API namespace of a PyTorch, CuPy ... array, on its device.
What NumPy does its own way (``out=``) is in ``skscratch._engine.array_api``,
the seam.
"""

import copy

import numpy as np

from .._engine import array_api as seam
from .layers import Dense, Dropout, Layer, activation_layer
from .losses import LOSSES
from .activations import ACTIVATIONS


class Network:
    """A list of layers and the loss at its output: forward, backward, and the loss with its gradient.

    The last layer's output is the logits ``Z_L``; ``output`` names the
    output activation ``g`` ("softmax", "logistic", "identity" or "exp"),
    which also picks the loss (see :mod:`skscratch.nn.losses`): the loss is
    written in the logits, and ``dJ/dZ_L = s (g(Z_L) - Y) / S`` for every
    pair.

    Parameters
    ----------
    layers : list of Layer
    output : {"softmax", "logistic", "identity", "exp"}, default="softmax"

    Attributes
    ----------
    params, grads : ndarray of shape (n_params,)
        The flat parameter and gradient vectors, once bound (:meth:`bind`).
    n_params : int

    Examples
    --------
    A network of 4 inputs, 8 hidden units and 3 classes, trained with Adam
    in a plain loop:

    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from skscratch import nn
    >>> X, y = load_iris(return_X_y=True)
    >>> X, Y = (X - X.mean(0)) / X.std(0), np.eye(3)[y]  # one-hot targets
    >>> net = nn.Network([nn.Dense(4, 8), nn.ReLU(), nn.Dense(8, 3)], output="softmax").init(random_state=0)
    >>> adam = nn.Adam(net.params, learning_rate_init=0.01)
    >>> for epoch in range(200):
    ...     loss = net.loss_and_gradients(X, Y)  # forward and backward: net.grads holds dJ/dparams
    ...     adam.update_params(net.params, net.grads)
    >>> bool(loss < 0.1), bool((net.predict(X).argmax(axis=1) == y).mean() > 0.95)
    (True, True)
    """

    def __init__(self, layers, output="softmax"):
        if output not in LOSSES:
            raise ValueError(f"output must be one of {sorted(LOSSES)}, got {output!r}")
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"A network is a list of skscratch.nn.Layer; got {layer!r}")
        if not layers:
            raise ValueError("A network needs at least one layer.")
        self.layers, self.output = list(layers), output
        for i, layer in enumerate(self.layers):  # the first one's input is the data: nothing below needs dJ/dA
            layer.input_gradient = i > 0
        self.dense = [layer for layer in self.layers if type(layer) is Dense]  # the MLP's own, by mlp()
        self.params = self.grads = None
        self.xp = np

    @classmethod
    def mlp(cls, layer_units, activation="relu", output="softmax", dropout=None, inserted=()):
        """The multi-layer perceptron of scikit-learn's MLP: Dense, activation (and Dropout), ..., Dense.

        Parameters
        ----------
        layer_units : list of int
            Units per layer, the input and the output included.
        activation : str or Activation
            The hidden layers' activation.
        output : str
            The output activation, which picks the loss.
        dropout : list of float or None
            The dropout rate of each hidden layer (0: no Dropout layer).
        inserted : list of (int, Layer)
            Layers of your own, each after the hidden layer of that number
            (0: before the first, on the input), as copies: a network's layers
            are its own.

        Examples
        --------
        >>> from skscratch import nn
        >>> nn.Network.mlp([4, 8, 3], "tanh", dropout=[0.1])
        Network([Dense(4, 8), Tanh(), Dropout(0.1), Dense(8, 3)], output='softmax')
        """
        glorot = 2.0 if isinstance(activation, str) and activation == "logistic" else 6.0
        rates = dropout or [0.0] * (len(layer_units) - 2)
        layers, dense = [copy.deepcopy(layer) for k, layer in inserted if k == 0], []
        for l, (fan_in, fan_out) in enumerate(zip(layer_units[:-1], layer_units[1:])):
            dense.append(Dense(fan_in, fan_out, glorot))
            layers.append(dense[-1])
            if l < len(layer_units) - 2:  # a hidden layer
                layers.append(activation_layer(activation))
                if rates[l]:
                    layers.append(Dropout(rates[l]))
                layers += [copy.deepcopy(layer) for k, layer in inserted if k == l + 1]
        network = cls(layers, output)
        network.dense = dense  # its Dense layers (coefs_, intercepts_), not a user's Dense among them
        return network

    def __repr__(self):
        return f"Network([{', '.join(map(repr, self.layers))}], output={self.output!r})"

    def __getstate__(self):
        """The layers without their parameters' views, which loading binds again into the flat vectors.

        (A pickled view is a copy: the layers of a loaded network would no
        longer see the optimizer's steps on ``params``.)
        """
        # each layer leaves out its views and its namespace itself (Layer.__getstate__); so does the
        # network its namespace, a module, which pickle refuses
        return dict(self.__dict__, penalised=None, xp=None)

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.xp = np
        if self.params is not None:
            self.bind(self.params, self.grads)

    # ------------------------------------------------------------------
    # parameters: views into one flat vector

    @property
    def n_params(self):
        return sum(int(np.prod(shape)) for _, _, shape in self._parameters())

    def _parameters(self):
        """``(layer, name, shape)`` in the flat vector's order: the penalised ones, then the others."""
        listed = [(layer, name, shape, penalised) for layer in self.layers
                  for name, shape, penalised in layer.parameters()]
        return ([(layer, name, shape) for layer, name, shape, penalised in listed if penalised]
                + [(layer, name, shape) for layer, name, shape, penalised in listed if not penalised])

    def bind(self, params, grads=None):
        """Make the layers' parameters views into ``params`` (and their gradients into ``grads``).

        ``grads`` is a new vector like ``params`` by default. Returns the network.
        """
        xp = seam.array_namespace(params)
        grads = xp.empty_like(params) if grads is None else grads
        if params.shape[0] != self.n_params:
            raise ValueError(f"{self!r} has {self.n_params} parameters; the vector has {params.shape[0]}")
        self.params, self.grads, self.penalised, self.xp = params, grads, [], xp
        start, n_penalised = 0, self.n_penalised
        for layer, name, shape in self._parameters():
            size = int(np.prod(shape))
            view, grad_view = (xp.reshape(v[start : start + size], shape) for v in (params, grads))
            setattr(layer, name, view)
            setattr(layer, "d" + name, grad_view)
            if start < n_penalised:
                self.penalised.append((view, grad_view))
            start += size
        for layer in self.layers:
            layer.xp = xp
        return self

    @property
    def n_penalised(self):
        """How many entries come first in the flat vector and are penalised (the weights)."""
        return sum(int(np.prod(shape)) for layer in self.layers
                   for _, shape, penalised in layer.parameters() if penalised)

    def init(self, random_state=None, dtype=np.float64):
        """Bind a new flat vector of ``dtype`` and draw the first values, layer by layer. Returns the network.

        The draws are in float64 with NumPy's ``random_state`` (seed or
        RandomState), whatever ``dtype``, so that a seed gives the same
        network in float32 as in float64 (rounded).
        """
        if not isinstance(random_state, np.random.RandomState):
            random_state = np.random.RandomState(random_state)
        self.bind(np.empty(self.n_params, dtype=dtype))
        for layer in self.layers:
            layer.initialize(random_state)
        return self

    # ------------------------------------------------------------------
    # the passes

    def forward(self, X):
        """The logits ``Z_L`` for the batch ``X`` (rows are samples)."""
        A = X
        for layer in self.layers:
            A = layer.forward(A)
        return A

    def backward(self, delta):
        """Backpropagate ``delta = dJ/dZ_L``: every layer writes its parameters' gradients."""
        for layer in reversed(self.layers):
            delta = layer.backward(delta)

    def predict(self, X):
        """The output ``P = g(Z_L)``: probabilities, or the regression's predictions."""
        self.set_training(False)
        return self.output_activation(self.forward(X))

    def output_activation(self, Z_out):
        """``P = g(Z_L)`` from the logits: the output activation named by ``output``.

        Parameters
        ----------
        Z_out : array of shape (n_samples, n_outputs)
            The logits, the output of the last layer. On NumPy they are
            overwritten by P (``loss_and_gradients`` needs them no more);
            another array library may return a new array instead.

        Returns
        -------
        P : array of shape (n_samples, n_outputs)
            Probabilities (softmax, logistic), or the regression's predictions
            (identity, exp).

        Examples
        --------
        >>> import numpy as np
        >>> from skscratch import nn
        >>> net = nn.Network.mlp([2, 3, 2]).init(random_state=0)
        >>> net.output_activation(np.array([[0.0, np.log(3.0)]])).round(2)
        array([[0.25, 0.75]])
        """
        return ACTIVATIONS[self.output](Z_out, self.xp)

    def loss(self, X, Y, sample_weight=None, alpha=0.0):
        """The loss J on (X, Y): a forward pass alone, no dropout."""
        self.set_training(False)
        S = X.shape[0] if sample_weight is None else self.xp.sum(sample_weight)
        return float(self.objective(self.forward(X), Y, sample_weight, alpha, S))

    def loss_and_gradients(self, X, Y, sample_weight=None, alpha=0.0, normalizer=None,
                           dropout_masks=None):
        """One forward and one backward pass: returns J; its gradient is in ``self.grads``.

        Parameters
        ----------
        X : ndarray or sparse matrix of shape (n_samples, n_features)
        Y : ndarray of shape (n_samples, n_outputs)
            Targets: one-hot or 0/1 indicators for classification.
        sample_weight : ndarray of shape (n_samples,) or None
        alpha : float
            L2 penalty strength.
        normalizer : float or None
            S. By default the sum of ``sample_weight`` (n_samples when None). A
            batch split into shards gives every shard the whole batch's S, and
            alpha to one shard only: then the shards' losses and gradients add
            up to the batch's.
        dropout_masks : list or None
            One mask (or None) per Dropout layer, for this pass; by default
            the Dropout layers draw their own.

        Returns
        -------
        loss : float
        """
        xp = self.xp
        self.set_training(True, dropout_masks)
        # forward
        Z_out = self.forward(X)  # the logits: the loss is exact when written in them
        if normalizer is not None:
            S = normalizer
        else:
            S = X.shape[0] if sample_weight is None else xp.sum(sample_weight)
        loss = self.objective(Z_out, Y, sample_weight, alpha, S)
        # backward
        # P = g(Z_L), in place: Z_L is not needed again
        delta = self.output_activation(Z_out)
        delta -= Y  # P - Y = dloss/dZ_L, the same for every canonical pair
        # delta_L = dJ/dZ_L = s (P - Y) / S: scaling it here scales every gradient below
        delta *= (1 / S) if sample_weight is None else (sample_weight / S)[:, None]
        self.backward(delta)
        if alpha:
            for W, dW in self.penalised:
                dW += (alpha / S) * W  # dJ/dW += (alpha / S) W, the penalty's share
        return float(loss)

    def objective(self, Z_out, Y, sample_weight, alpha, S):
        """The loss J from the logits: ``sum_i s_i loss(y_i, z_i) / S + alpha / (2 S) sum ||W||^2``.

        The loss of ``output``'s canonical pair (cross-entropy for softmax and
        logistic, half the squared error for identity, half Poisson's deviance
        for exp), written in the logits, where it is exact.

        Parameters
        ----------
        Z_out : array of shape (n_samples, n_outputs)
            The logits, the output of the last layer (not changed).
        Y : array of shape (n_samples, n_outputs)
            Targets: one-hot or 0/1 indicators for classification.
        sample_weight : array of shape (n_samples,) or None
            ``s_i``; None: every sample weighs 1.
        alpha : float
            L2 penalty strength, as given to the estimators: the penalty is
            ``alpha / (2 S)`` times the squared norm of the weights (not the
            biases).
        S : float
            The normaliser: the sum of ``sample_weight``, or n_samples (see
            ``normalizer`` of :meth:`loss_and_gradients`).

        Returns
        -------
        J : scalar (a 0-d array on NumPy)

        Examples
        --------
        >>> import numpy as np
        >>> from skscratch import nn
        >>> net = nn.Network.mlp([2, 3, 2]).init(random_state=0)
        >>> Z, Y = np.zeros((2, 2)), np.eye(2, dtype=bool)
        >>> round(float(net.objective(Z, Y, None, 0.0, 2)), 6)  # two classes, no preference: log 2
        0.693147
        """
        xp = self.xp
        losses = LOSSES[self.output](Y, Z_out, xp)
        squared_norm = sum(seam.squared_norm(xp, W) for W, _ in self.penalised) if alpha else 0.0
        weighted_sum = xp.sum(losses) if sample_weight is None else seam.dot(xp, losses, sample_weight)
        return (weighted_sum + 0.5 * alpha * squared_norm) / S

    def set_training(self, training, dropout_masks=None):
        """Set the layers' mode (``training``: dropout drops); hand each Dropout layer its mask, if given.

        ``predict``, ``loss`` and ``loss_and_gradients`` set it themselves;
        call it before ``forward`` alone.
        """
        masks = iter(dropout_masks or ())
        for layer in self.layers:
            layer.training = training
            if isinstance(layer, Dropout):
                layer.mask = next(masks, None) if training else None


def unpack(flat, layer_units, xp=np):
    """Views of the weight matrices and bias vectors of an MLP inside ``flat``: ``coefs, intercepts``.

    Parameters
    ----------
    flat : ndarray of shape (n_params,)
        Every W_l (row-major), then every b_l.
    layer_units : list of int
        Units per layer, input and output included.

    Returns
    -------
    coefs, intercepts : lists of ndarray views into ``flat``
    """
    coefs, intercepts, start = [], [], 0
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        coefs.append(xp.reshape(flat[start : start + fan_in * fan_out], (fan_in, fan_out)))
        start += fan_in * fan_out
    for fan_out in layer_units[1:]:
        intercepts.append(flat[start : start + fan_out])
        start += fan_out
    if start != flat.shape[0]:
        raise ValueError(
            f"expected {start} parameters for layers {layer_units}, got {flat.shape[0]}"
        )
    return coefs, intercepts


def n_params(layer_units):
    """Number of weights and biases of an MLP with these layer sizes."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(layer_units, layer_units[1:]))


def init_params(layer_units, activation, random_state, dtype=np.float64):
    """The flat vector of a fresh MLP: Glorot's uniform draws, in the order scikit-learn draws them.

    Parameters
    ----------
    layer_units : list of int
    activation : str or Activation
    random_state : numpy.random.RandomState
    dtype : numpy dtype

    Returns
    -------
    flat : ndarray of shape (n_params(layer_units),)
    """
    return Network.mlp(layer_units, activation).init(random_state, dtype).params
