"""The from-scratch core of the multi-layer perceptron: pure NumPy, no scikit-learn.

Notation. Batches are rows. For layers l = 1 .. L::

    A_0 = X                           (n_samples, n_features)
    Z_l = A_{l-1} @ W_l + b_l         W_l has shape (fan_in, fan_out)
    A_l = f(Z_l)  for hidden layers,  P = A_L = g(Z_L) at the output

The loss is a weighted mean over samples, plus an L2 penalty scaled as
scikit-learn scales it (S = sum of the sample weights, or n_samples)::

    J = sum_i s_i loss(y_i, p_i) / S  +  alpha / (2 S) * sum_l ||W_l||^2

Backpropagation is the chain rule applied from the output back::

    delta_L     = s * (P - Y) / S                     (canonical link, see _losses)
    dJ/dW_l     = A_{l-1}^T delta_l + (alpha / S) W_l
    dJ/db_l     = sum_i delta_l
    delta_{l-1} = (delta_l @ W_l^T) * f'(Z_{l-1})     (f' from A_{l-1}, or from Z_{l-1})

All parameters live in one flat vector: first every W_l, then every b_l, the
order in which scikit-learn packs them for L-BFGS. ``coefs`` and ``intercepts``
are views into it, so an optimizer can update the whole network in a few
vectorised passes.

Every function takes the array namespace ``xp``: NumPy by default, or the
Array API namespace of a PyTorch, CuPy ... array, on its device. What NumPy
does its own way (``out=``) is in ``_array_api``, the seam.
"""

import numpy as np

from . import _array_api as seam
from ._activations import ACTIVATIONS, hidden
from ._losses import LOSSES


def unpack(flat, layer_units, xp=np):
    """Views of the weight matrices and bias vectors inside ``flat``.

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
    """Number of weights and biases of a network with these layer sizes."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(layer_units, layer_units[1:]))


def init_params(layer_units, activation, random_state, dtype=np.float64):
    """Glorot-uniform initialisation, drawn in the same order as scikit-learn.

    Every W_l and b_l is drawn from U(-r, r) with r = sqrt(c / (fan_in + fan_out)),
    c = 2 for the logistic activation and 6 otherwise (Glorot & Bengio, 2010).
    Drawing layer by layer, W before b, in float64, gives the very numbers
    ``sklearn.neural_network.MLPClassifier`` draws from the same random state.

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
    flat = np.empty(n_params(layer_units), dtype=dtype)
    coefs, intercepts = unpack(flat, layer_units)
    factor = 2.0 if isinstance(activation, str) and activation == "logistic" else 6.0
    for W, b in zip(coefs, intercepts, strict=True):
        bound = np.sqrt(factor / (W.shape[0] + W.shape[1]))
        W[...] = random_state.uniform(-bound, bound, W.shape)
        b[...] = random_state.uniform(-bound, bound, b.shape)
    return flat


def forward(X, coefs, intercepts, activation, out_activation, preactivations=None,
            dropout_masks=None, undropped=None, xp=np):
    """Forward pass. Returns the list ``[A_0 = X, A_1, ..., A_L = P]``.

    ``X`` may be a SciPy sparse matrix: only ``X @ W`` touches it. The hidden
    ``activation`` is a name or an ``Activation`` of the user's. If
    ``preactivations`` is a list, it receives ``Z_l`` of each hidden layer
    whose activation's derivative needs it (GELU, a user's), None for the others.

    Dropout (training only): ``dropout_masks`` holds, per hidden layer, None
    or an array of 0 and 1 / (1 - p) ("inverted dropout": the kept units are
    scaled up so that the expected output is unchanged). The layer's output
    is multiplied by it; the list ``undropped`` receives the output before
    the mask, which the derivative needs.
    """
    activations = [X]
    last = len(coefs) - 1
    f_hidden, _, keeps_Z = hidden(activation)
    for l, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        Z = activations[-1] @ W  # Z_l = A_{l-1} W_l + b_l
        Z += b
        if preactivations is not None and l != last:
            preactivations.append(seam.copy(xp, Z) if keeps_Z else None)
        f = ACTIVATIONS[out_activation] if l == last else f_hidden
        A = f(Z, xp)  # A_l = f(Z_l), in place on NumPy
        mask = dropout_masks[l] if dropout_masks is not None and l != last else None
        if undropped is not None and l != last:
            undropped.append(A if mask is not None else None)
        activations.append(A if mask is None else A * mask)
    return activations


def objective(Z_out, Y, coefs, out_activation, alpha, sample_weight, S, xp=np):
    """J = sum_i s_i loss(y_i, z_i) / S + alpha / (2 S) * sum_l ||W_l||^2, from the logits Z_out."""
    losses = LOSSES[out_activation](Y, Z_out, xp)
    squared_norm = sum(seam.squared_norm(xp, W) for W in coefs) if alpha else 0.0
    weighted_sum = xp.sum(losses) if sample_weight is None else seam.dot(xp, losses, sample_weight)
    return (weighted_sum + 0.5 * alpha * squared_norm) / S


def loss(X, Y, coefs, intercepts, activation, out_activation, alpha, sample_weight=None, xp=np):
    """The loss J of the network on (X, Y): a forward pass alone, no dropout."""
    Z_out = forward(X, coefs, intercepts, activation, "identity", xp=xp)[-1]
    S = X.shape[0] if sample_weight is None else xp.sum(sample_weight)
    return float(objective(Z_out, Y, coefs, out_activation, alpha, sample_weight, S, xp))


def _matmul_into(out, a, b, xp):
    """out[...] = a @ b, where ``a`` may be sparse (the input layer)."""
    if isinstance(a, np.ndarray) or xp is not np:
        seam.into(xp, out, xp.matmul, a, b)
    else:
        out[...] = a @ b


def loss_and_gradients(
    X, Y, coefs, intercepts, coef_grads, intercept_grads,
    activation, out_activation, alpha, sample_weight=None, normalizer=None, dropout_masks=None, xp=np,
):  # fmt: skip
    """One forward and one backward pass: the loss J and its gradient.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
        Targets: one-hot or 0/1 indicators for classification.
    coefs, intercepts : lists of ndarray
        W_l of shape (fan_in, fan_out) and b_l of shape (fan_out,).
    coef_grads, intercept_grads : lists of ndarray
        Same shapes; overwritten with dJ/dW_l and dJ/db_l.
    activation : str or Activation
        The hidden layers': a key of ``ACTIVATIONS`` or a user's ``Activation``.
    out_activation : str
        A key of ``ACTIVATIONS``; it also picks the loss.
    alpha : float
        L2 penalty strength.
    sample_weight : ndarray of shape (n_samples,) or None
    normalizer : float or None
        S. By default the sum of ``sample_weight`` (n_samples when None). A
        batch split into shards gives every shard the whole batch's S, and
        alpha to one shard only: then the shards' losses and gradients add up
        to the batch's.
    dropout_masks : list or None
        Per hidden layer, None or the inverted-dropout mask (see ``forward``).
        The gradient is that of the network with these units dropped.
    xp : namespace
        The arrays' Array API namespace; NumPy by default.

    Returns
    -------
    loss : float
        J, the weighted mean loss plus the L2 penalty.
    """
    # forward
    preactivations = []  # Z_l where f'(Z_l) is not a function of A_l
    undropped = []  # A_l before its dropout mask, where there is one
    activations = forward(X, coefs, intercepts, activation, "identity", preactivations,
                          dropout_masks, undropped, xp)
    Z_out = activations[-1]  # the logits: the loss is exact when written in them
    if normalizer is not None:
        S = normalizer
    else:
        S = X.shape[0] if sample_weight is None else xp.sum(sample_weight)
    loss = objective(Z_out, Y, coefs, out_activation, alpha, sample_weight, S, xp)

    # backward
    _, f_prime, _ = hidden(activation)  # delta -> delta * f'(Z), in place on NumPy
    delta = ACTIVATIONS[out_activation](Z_out, xp)  # P = g(Z_L), in place: Z_L is not needed again
    delta -= Y  # P - Y = dloss/dZ_L, the same for every canonical pair
    # delta_L = dJ/dZ_L = s (P - Y) / S: scaling it here scales every gradient below
    delta *= (1 / S) if sample_weight is None else (sample_weight / S)[:, None]
    for l in range(len(coefs) - 1, -1, -1):
        # dJ/dW_l = A_{l-1}^T delta_l + (alpha / S) W_l;  dJ/db_l = sum_i delta_l
        _matmul_into(coef_grads[l], activations[l].T, delta, xp)
        if alpha:
            coef_grads[l] += (alpha / S) * coefs[l]
        seam.into(xp, intercept_grads[l], xp.sum, delta, axis=0)
        if l > 0:
            # delta_{l-1} = (delta_l W_l^T) * mask_{l-1} * f'(Z_{l-1})
            delta = delta @ coefs[l].T
            A = activations[l]
            if undropped[l - 1] is not None:  # the layer's output went through a mask
                delta *= dropout_masks[l - 1]
                A = undropped[l - 1]
            delta = f_prime(A, delta, preactivations[l - 1], xp)
    return float(loss)
