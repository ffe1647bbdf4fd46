"""The guards around training: divergence, overflow diagnosis, and fits that barely learned.

- :func:`has_diverged` and :func:`warn_diverged`: a training loss that turns
  non-finite, or ten times the fresh network's, is a blow-up; the caller
  restores the last good weights and this module says so.
- :func:`raise_non_finite`: the loss at weights that were fine is not
  finite, so an input overflows the network; the ValueError names which
  (X, y, the sample or class weights, alpha), in scikit-learn's words.
- a user's activation that makes finite numbers non-finite is named, not X
  (:func:`skscratch.nn.activations.activation_fault`).
- :func:`warn_if_not_learned`: a fit that ends barely better than the best
  constant prediction (the class frequencies, the mean target), or unstable.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._engine import array_api as seam
from ..nn.activations import activation_fault
from ..nn.losses import LOSSES

# a training loss this many times the fresh network's is a blow-up
DIVERGENCE_FACTOR = 10.0

# scikit-learn's words for a fit that cannot be done in floating point; its
# tests (and code written against them) match on them
NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain "
              "large values and need to be preprocessed.")

# The yardstick of "learned" is the best constant prediction.
NOT_LEARNED = 0.9  # loss above this fraction of the constant's: barely learned
POOR = 0.75  # loss above this fraction of the constant's...
UNSTABLE_RISE = 1.05  # ...and this much above its best: unstable


def has_diverged(loss, params, initial_loss):
    """Whether a loss (or the weights) blew up: not finite, or 10x the fresh network's (None: unchecked)."""
    if loss is None:
        return False
    if not (np.isfinite(loss) and seam.all_finite(seam.array_namespace(params), params)):
        return True
    return initial_loss is not None and loss > DIVERGENCE_FACTOR * initial_loss


def warn_diverged(epoch, loss, initial_loss, learning_rate_init, activation_fault=None):
    """Say that training blew up in ``epoch`` and that the previous epoch's weights were restored.

    ``activation_fault``: what a user's activation returned (an infinity
    for finite inputs), named first: it may be the function's own doing.
    """
    if np.isfinite(loss):
        cause = (f"became {loss:.4g}, more than {DIVERGENCE_FACTOR:g} times the "
                 f"freshly initialised network's {initial_loss:.4g}")
    else:
        cause = f"became {loss}"
    first = "the" if activation_fault is None else f"{activation_fault} The"
    remedy = ("If that is an honest overflow, try a smaller learning_rate_init" if activation_fault else
              "Try a smaller learning_rate_init")
    warnings.warn(
        f"Training diverged in epoch {epoch}: {first} training loss {cause}. The weights from "
        f"the end of epoch {epoch - 1} were restored. {remedy} (now {learning_rate_init}).",
        ConvergenceWarning,
    )


def raise_non_finite(model, loss, X, Y, sample_weight, params):
    """The loss at the starting weights ``params``, which the network holds, is not finite.

    Raise a ValueError that says which input is to blame. Each term of the
    loss is computed in turn: the forward pass (X), the per-sample losses
    (the targets y, unless the network's output alone overflows them), their
    weighted sum (the sample and class weights), the L2 penalty (alpha), the
    division by the summed weights. The first that is not finite is named.
    The terms are computed in NumPy, on the host (a network on a device is
    copied over: this is the error path).
    """
    X, Y, sample_weight, params = (seam.to_host(a) for a in (X, Y, sample_weight, params))
    if not np.isfinite(params).all():
        raise ValueError(
            f"The network's weights contain NaN or infinity (loss = {loss}). "
            "Fit with warm_start=False to start from fresh weights."
        )
    network = model._network_of(model._layer_units()).bind(params)
    coefs, intercepts = [layer.W for layer in network.dense], [layer.b for layer in network.dense]
    dtype = params.dtype.name
    loss_of = LOSSES[model.out_activation_]
    with np.errstate(all="ignore"):
        network.set_training(False)
        Z = network.forward(X)
        losses = loss_of(Y, Z)
        # which side overflows the loss: the network's output, or the targets?
        output_losses = loss_of(np.zeros_like(Y), Z)
        output_overflows = not np.isfinite(output_losses).all()
        weighted = losses.sum() if sample_weight is None else np.dot(losses, sample_weight)
        penalty = 0.5 * model._l2 * sum(np.dot(W.ravel(), W.ravel()) for W, _ in network.penalised)
        # finite losses whose plain sum overflows: too large an output, or too large targets
        # (whatever the weights: only a sum that overflows when weighted blames them)
        sum_overflows = np.isfinite(losses).all() and not np.isfinite(losses.sum())
        if sum_overflows and (Y.dtype == bool or not np.isfinite(output_losses.sum())):
            output_overflows = True
    # (the activation's fault is told in a network of Dense layers and activations alone)
    fault = None if model._layers_fitted() else activation_fault(model.activation, X, coefs, intercepts)
    if fault:
        culprit = fault[1]
    elif not np.isfinite(Z).all() or output_overflows or (not np.isfinite(losses).all() and Y.dtype == bool):
        culprit = (f"X has values too large for this network (largest |x| = {abs(X).max():.3g}) "
                   f"and the forward pass overflows {dtype}. Scale X first, e.g. with StandardScaler.")
    elif not np.isfinite(losses).all() or sum_overflows:
        culprit = (f"the targets y are too large (largest |y| = {np.abs(Y).max():.3g}): the loss "
                   f"overflows {dtype}. Scale y first, e.g. with sklearn.compose."
                   "TransformedTargetRegressor(transformer=StandardScaler()).")
    elif not np.isfinite(weighted):
        culprit = (f"the sample weights are too large (largest {sample_weight.max():.3g}): the "
                   f"weighted loss overflows {dtype}. Divide sample_weight (or class_weight) "
                   "by its mean.")
    elif not np.isfinite(penalty):
        raise ValueError(
            f"The loss is {loss} before any update: alpha={model.alpha:g} is so large that "
            f"the L2 penalty overflows {dtype}. Use a smaller alpha."
        )
    elif sample_weight is not None:  # finite terms, but divided by a tiny S they overflow
        culprit = (f"the sample weights are too small (they sum to {sample_weight.sum():.3g}): "
                   f"the loss, divided by their sum, overflows {dtype}. Divide sample_weight "
                   "(or class_weight) by its mean.")
    else:
        culprit = "X or y overflows the network."
    raise ValueError(f"{NON_FINITE} The loss is {loss} before any update: {culprit}")


def constant_prediction_loss(out_activation, Y, sample_weight):
    """The loss of the best constant prediction (its logits: the inverse link of mean Y)."""
    if Y.shape[0] < 2:
        return np.nan
    mean = np.average(Y, axis=0, weights=sample_weight)
    log = lambda m: np.log(np.clip(m, np.finfo(np.float64).eps, None))  # noqa: E731
    inverse_link = {
        "softmax": log,
        "logistic": lambda m: log(m) - log(1 - m),
        "identity": lambda m: m,
        "exp": log,
    }[out_activation]
    Z = np.broadcast_to(inverse_link(mean), Y.shape).astype(np.float64)
    return float(np.average(LOSSES[out_activation](Y, Z), weights=sample_weight))


def warn_if_not_learned(model, Y, sample_weight, n_epochs_before, stochastic):
    """Warn when the network predicts barely better than a constant would, or ended unstable.

    ``n_epochs_before``: the length of ``loss_curve_`` before this fit;
    ``stochastic``: whether the solver was (an unstable end is theirs alone).
    """
    baseline = constant_prediction_loss(model.out_activation_, Y, sample_weight)
    loss = model.loss_
    if not (np.isfinite(loss) and baseline > 0):
        return
    classifier = model.out_activation_ in ("softmax", "logistic")
    if classifier and baseline < 0.01:
        return  # (nearly) one class: no yardstick, the L2 term alone is larger
    constant = "class frequencies" if classifier else "mean target"
    curve = model.loss_curve_[n_epochs_before:]
    if loss > NOT_LEARNED * baseline:
        warnings.warn(
            f"The network has barely learned: its training loss ended at {loss:.4g}, "
            f"against {baseline:.4g} for always predicting the {constant}. If the loss "
            f"rose or oscillated (see loss_curve_), lower learning_rate_init (now "
            f"{model.learning_rate_init}); if it fell slowly, raise max_iter.",
            ConvergenceWarning,
        )
    elif (
        stochastic and not model.early_stopping and len(curve) > 1
        and loss > POOR * baseline and loss > UNSTABLE_RISE * min(curve)
    ):  # fmt: skip
        best = int(np.argmin(curve))
        warnings.warn(
            f"Training became unstable: the loss ended at {loss:.4g}, above the "
            f"{curve[best]:.4g} it reached in epoch {n_epochs_before + best + 1} and "
            f"not far below the {baseline:.4g} of always predicting the {constant}. "
            f"Lower learning_rate_init (now {model.learning_rate_init}).",
            ConvergenceWarning,
        )
