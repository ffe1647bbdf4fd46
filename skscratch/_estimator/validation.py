"""The validation data of a fit, and how it is scored.

A fit with a stochastic solver may watch a validation set: one the user
gives (``fit(X, y, X_val=..., y_val=...)``) or, with ``early_stopping``,
``validation_fraction`` of the training data split off. Each epoch it gets
a loss and a score: the estimator's own (accuracy, R^2), ``"loss"`` (minus
the validation loss), or a scikit-learn scorer.
"""

import inspect
import warnings

import numpy as np
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split

from .._engine import array_api as seam


class ValidationSet:
    """Validation rows: X, the encoded targets Y, the sample weights, and the labels scorers see.

    ``labels`` decodes Y once, on first use (only a scorer needs them).
    """

    def __init__(self, X, Y, sample_weight, decode):
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self._decode, self._labels, self._device_weights = decode, None, None

    @property
    def labels(self):
        if self._labels is None:  # in X's namespace, where a scorer's predictions are
            self._labels = seam.like(self._decode(self.Y), self.X)
        return self._labels

    def scorer_weights(self):
        """The ``sample_weight`` a scorer is called with: the weights, or None.

        Where the labels are another library's, the weights go to their
        device, ones where there are none, in its most precise float dtype,
        so that a metric of integer labels (accuracy) is averaged there as
        NumPy averages it, not in float32 (PyTorch's default float dtype).
        """
        if seam.array_namespace(self.labels) is np:
            return self.sample_weight
        if self._device_weights is None:
            self._device_weights = seam.full_precision_weights(self.sample_weight, self.labels)
        return self._device_weights


def split_off(X, Y, y, sample_weight, *, fraction, stratify, random_state, decode):
    """Hold out ``fraction`` of the rows, stratified by ``stratify`` (None: not stratified).

    Returns the training part ``(X, Y, y, sample_weight)`` and the held-out
    :class:`ValidationSet`. Raises ValueError, in ``train_test_split``'s own
    words first, when the split cannot be made. X may be another array
    library's (on a device): its rows are split by their positions, which
    are drawn as for NumPy, so the split is the same.
    """
    if fraction == 0:
        raise ValueError("early_stopping=True needs validation_fraction > 0.")
    X_device = None
    if not (isinstance(X, np.ndarray) or hasattr(X, "toarray")):
        X_device, X = X, np.arange(X.shape[0])[:, None]  # split positions on the host
    arrays = (X, Y, y) if sample_weight is None else (X, Y, y, sample_weight)
    try:
        parts = train_test_split(*arrays, stratify=stratify, random_state=random_state, test_size=fraction)
    except ValueError as error:
        if stratify is None:
            raise
        # train_test_split's own words first, as scikit-learn's MLP reports them
        raise ValueError(
            f"{error} (The early-stopping validation split is stratified by class: "
            "give every class at least 2 samples, or pass X_val and y_val to fit, "
            "or set early_stopping=False.)"
        ) from error
    X_train, X_val, Y_train, Y_val, y_train = parts[:5]
    sw_train, sw_val = parts[6:8] if sample_weight is not None else (None, None)
    if X_device is not None:
        xp, device = seam.array_namespace(X_device), seam.device(X_device)
        X_train, X_val = (xp.take(X_device, xp.asarray(p[:, 0], device=device), axis=0) for p in (X_train, X_val))
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    check_weights(sw_val, "sample_weight of the rows the early-stopping split held out",
                  advice=" Give more samples a positive weight, or pass X_val and y_val to fit.")
    if sw_train is not None and not sw_train.sum() > 0:
        raise ValueError(
            "After the early-stopping split, the training part has sample weights that "
            "sum to zero: nothing is left to train on. Give more samples a positive "
            "weight, or pass X_val and y_val to fit."
        )
    return (X_train, Y_train, y_train, sw_train), ValidationSet(X_val, Y_val, sw_val, decode)


def check_weights(sample_weight, what, advice=""):
    """Refuse validation weights that cannot average a loss or a score: all zero, or a sum that overflows.

    Checked before training, so that no epoch is spent before the first
    validation score fails.
    """
    if sample_weight is None:
        return
    with np.errstate(over="ignore"):
        total = sample_weight.sum()
    if not np.isfinite(total):
        raise ValueError(
            f"The validation set's weights ({what}) are too large: their sum overflows "
            f"{sample_weight.dtype.name}. Rescale them, e.g. divide them by their mean."
        )
    if not total > 0:
        raise ValueError(
            f"The validation set's weights ({what}) sum to zero, so its loss and score, "
            "averages weighted by them, are not defined: give at least one validation "
            f"sample a positive weight.{advice}"
        )


def _takes_sample_weight(function):
    """Whether ``function`` accepts a ``sample_weight`` keyword argument."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # no signature to read: do not risk a TypeError
        return False
    return any(p.name == "sample_weight" or p.kind is p.VAR_KEYWORD for p in parameters)


def resolve_scorer(estimator, scoring, weighted):
    """None (the built-in score), "loss", or a scorer ``scorer(estimator, X, y, sample_weight=None)``.

    A scorer is passed ``sample_weight`` only if it takes it (scikit-learn's
    scorers do; a plain callable ``scorer(estimator, X, y)`` need not).
    ``weighted``: the validation set has weights, which a scorer that cannot
    take them ignores, with a warning.
    """
    if scoring is None or (isinstance(scoring, str) and scoring == "loss"):
        return scoring
    scorer = check_scoring(estimator, scoring=scoring)
    if _takes_sample_weight(scorer):
        return scorer
    if weighted:
        warnings.warn(
            f"The scoring callable {scorer!r} does not take sample_weight, so the "
            "validation score ignores the validation set's weights.",
            UserWarning,
        )
    return lambda estimator, X, y, sample_weight=None: scorer(estimator, X, y)


def validation_score(scorer, estimator, validation, loss, builtin_score):
    """The epoch's validation score that ``scoring`` asks for (greater is better)."""
    if scorer is None:
        return builtin_score
    if isinstance(scorer, str):  # "loss": greater is better, as for every score
        return -loss
    weights = validation.scorer_weights()
    weights = {} if weights is None else {"sample_weight": weights}
    # The validation rows are an array, without the column names the estimator was fitted
    # with: its predict would warn of that. The names step aside while the scorer runs (a
    # warnings filter would not do: the filters are the process's, and fits run in threads).
    names = estimator.__dict__.pop("feature_names_in_", None)
    try:
        return float(scorer(estimator, validation.X, validation.labels, **weights))
    finally:
        if names is not None:
            estimator.feature_names_in_ = names
