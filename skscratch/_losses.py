"""Losses, each paired with the output activation that makes its gradient simple.

For these three pairs (the "canonical links") the error at the output
pre-activation is the same expression, ``dLoss/dZ_out = P - Y``, where
``P = out_activation(Z_out)``. That is why ``_network.backward`` starts from
``P - Y`` whatever the pair:

=============  ========================  ==================================
output         loss                      per-sample loss
=============  ========================  ==================================
softmax        categorical cross-entropy ``-sum_k y_k log p_k``
logistic       binary cross-entropy      ``-sum_k y_k log p_k + (1-y_k) log(1-p_k)``
identity       half squared error        ``sum_k (y_k - p_k)^2 / 2``
=============  ========================  ==================================

Every loss is a weighted mean over samples (weights ``sample_weight``, or all
ones), exactly as scikit-learn's MLP computes it. Probabilities are clipped to
``[eps, 1 - eps]`` so the log-loss is finite even at p = 0 and p = 1.

This module imports only NumPy.
"""

import numpy as np


def _clip_probabilities(P):
    eps = np.finfo(P.dtype).eps
    return np.clip(P, eps, 1 - eps)


def categorical_cross_entropy(Y, P, sample_weight=None):
    """Mean of ``-log p[true class]`` for softmax outputs; Y is one-hot."""
    per_sample = -(np.log(_clip_probabilities(P)) * Y).sum(axis=1)
    return np.average(per_sample, weights=sample_weight)


def binary_cross_entropy(Y, P, sample_weight=None):
    """Sum over outputs of the mean binary log-loss, for logistic outputs."""
    P = _clip_probabilities(P)
    per_sample = -np.where(Y, np.log(P), np.log1p(-P)).sum(axis=1)
    return np.average(per_sample, weights=sample_weight)


def half_squared_error(Y, P, sample_weight=None):
    """Mean over samples of ``sum_k (y_k - p_k)^2 / 2``, for identity outputs.

    Summing over outputs (not averaging) keeps ``P - Y`` the exact gradient
    for multi-output targets too.
    """
    per_sample = ((Y - P) ** 2).sum(axis=1)
    return 0.5 * np.average(per_sample, weights=sample_weight)


LOSSES = {
    "softmax": categorical_cross_entropy,
    "logistic": binary_cross_entropy,
    "identity": half_squared_error,
}
