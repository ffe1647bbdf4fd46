"""Snapshots of a network as it trains, epoch by epoch: :class:`TrainingRecorder` (public in skscratch.plotting)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._engine.array_api import to_host
from .displays import _final_estimator, _is_count, _score_name

# more units than this draw slowly (a frame is a figure of that many images), each too small to see
MAX_UNITS = 100


class TrainingRecorder:
    """Snapshots of a network after every epoch, for :class:`TrainingAnimation`.

    After each epoch it keeps the incoming weights of the first ``n_units``
    hidden units (``coefs_[0][:, :n_units]``, copied to NumPy on the host,
    wherever the network trains) and the epoch's training loss and
    validation score. It records in two ways:

    - as a scikit-learn callback (scikit-learn >= 1.9):
      ``estimator.set_callbacks(recorder)``, then ``fit`` or ``partial_fit``.
      Every epoch of the stochastic solvers is recorded; L-BFGS has no
      epochs, so it records nothing.
    - by hand, with any scikit-learn version: ``recorder.record(estimator)``
      after each ``partial_fit``.

    A recording follows one estimator and its own count of epochs (the
    ``epoch`` column of ``history_``). Another estimator, or a fit that
    starts afresh (its epochs counted from 1 again), starts a new recording;
    ``partial_fit`` and fits with ``warm_start=True`` carry on the current
    one. So a recorder set on an estimator that is fitted twice holds the
    second fit, and one set on the estimator of a search holds the last fit.

    Parameters
    ----------
    n_units : int, default=16
        How many hidden units to keep, from 1 to 100 (an animation of more
        would draw slowly, each image too small to see); a network with
        fewer has all of its own kept. Memory grows by ``n_features *
        n_units`` numbers an epoch; the weights of the other units are not
        copied.

    Attributes
    ----------
    epochs : list of int
        The estimator's number of each recorded epoch.
    weights : list of ndarray of shape (n_features, min(n_units, n_hidden))
        The first layer's weights at the end of each recorded epoch.
    train_loss : list of float
        The training loss of each recorded epoch.
    val_score : list of float
        The validation score of each recorded epoch, NaN where there is none.
    score_name : str
        What ``val_score`` measures, such as "validation accuracy".

    See Also
    --------
    TrainingAnimation : Draws the recording, a frame per epoch.

    Notes
    -----
    A callback is part of its estimator: a pickle (or ``joblib.dump``) of an
    estimator that has the recorder among its callbacks holds the recorder,
    every recorded frame with it. Take the recorder off before saving
    (``estimator.set_callbacks()``), or save with :func:`skscratch.save`,
    which keeps the network alone.

    Examples
    --------
    After each ``partial_fit``:

    >>> from sklearn.datasets import load_digits
    >>> from skscratch import MLPScratchClassifier
    >>> from skscratch.plotting import TrainingRecorder
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPScratchClassifier((16,), random_state=0)
    >>> recorder = TrainingRecorder(n_units=9)
    >>> for epoch in range(3):
    ...     recorder.record(clf.partial_fit(X / 16, y, classes=range(10)))
    >>> recorder
    TrainingRecorder(n_units=9, 3 epochs recorded)
    >>> recorder.epochs, recorder.weights[-1].shape
    ([1, 2, 3], (64, 9))

    As a callback (scikit-learn >= 1.9), with early stopping: a frame for
    every epoch that ran.

    >>> clf = MLPScratchClassifier((16,), max_iter=100, early_stopping=True, n_iter_no_change=2, random_state=0)
    >>> clf = clf.set_callbacks(recorder).fit(X / 16, y)
    >>> clf.n_iter_ < 100, len(recorder) == clf.n_iter_, recorder.score_name
    (True, True, 'validation accuracy')
    """

    def __init__(self, n_units: int = 16) -> None:
        if not _is_count(n_units) or n_units > MAX_UNITS:
            raise ValueError(f"n_units must be a whole number from 1 to {MAX_UNITS}, got {n_units!r}")
        self.n_units = int(n_units)
        self._start()

    def _start(self) -> None:
        """Forget what was recorded."""
        self.epochs: list[int] = []
        self.weights: list[np.ndarray] = []
        self.train_loss: list[float] = []
        self.val_score: list[float] = []
        self.score_name = "validation score"
        self._model: int | None = None

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        return f"TrainingRecorder(n_units={self.n_units}, {len(self)} epochs recorded)"

    def record(self, estimator: Any, *, val_score: float | None = None) -> None:
        """Record the epoch the estimator has just trained.

        Recording the same epoch again replaces its snapshot. Another
        estimator, or an epoch before the last one recorded (a fit that
        started afresh), starts a new recording.

        Parameters
        ----------
        estimator : MLPScratchClassifier, MLPScratchRegressor or Pipeline
            The model after an epoch. (scikit-learn's own MLPs work too.)
        val_score : float, optional
            The epoch's validation score, when you compute it yourself;
            by default the estimator's own (its ``history_``), if any.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skscratch import MLPScratchRegressor
        >>> from skscratch.plotting import TrainingRecorder
        >>> X, y = load_digits(return_X_y=True)
        >>> reg, recorder = MLPScratchRegressor(hidden_layer_sizes=(8,), random_state=0), TrainingRecorder()
        >>> recorder.record(reg.partial_fit(X[:1000] / 16, y[:1000]), val_score=reg.score(X[1000:] / 16, y[1000:]))
        >>> recorder.epochs, recorder.score_name, recorder.val_score[0] < 1
        ([1], 'validation R²', True)
        """
        model = _final_estimator(estimator)
        check_is_fitted(model, "coefs_")
        epoch, train_loss, own_score = _last_epoch(model)
        weights = np.array(to_host(model.coefs_[0][:, : self.n_units]), copy=True)
        if self.epochs and (id(model) != self._model or epoch < self.epochs[-1]
                            or weights.shape != self.weights[-1].shape):
            self._start()  # another estimator, or a fresh fit
        elif self.epochs and epoch == self.epochs[-1]:
            for recorded in (self.epochs, self.weights, self.train_loss, self.val_score):
                recorded.pop()
        self._model = id(model)  # its identity, not a reference: the recorder keeps no estimator alive
        self.epochs.append(int(epoch))
        self.weights.append(weights)
        self.train_loss.append(float(train_loss))
        self.val_score.append(float(own_score if val_score is None else val_score))
        self.score_name = _score_name(model)

    # scikit-learn's callback API: the fit is a task, each of its epochs a subtask named "epoch"

    def setup(self, estimator: Any, context: Any) -> None:
        """scikit-learn's callback hook as a fit begins: nothing to do."""

    def on_fit_task_begin(self, estimator: Any, context: Any) -> None:
        """scikit-learn's callback hook as a task begins: nothing to do."""

    def on_fit_task_end(self, estimator: Any, context: Any) -> bool:
        """scikit-learn's callback hook as a task ends: record it if it is an epoch; never stop training."""
        if context.task_name == "epoch":
            self.record(estimator)
        return False

    def teardown(self, estimator: Any, context: Any) -> None:
        """scikit-learn's callback hook as a fit ends: nothing to do."""


def _last_epoch(model):
    """(number, training loss, validation score or NaN) of the model's last epoch."""
    rows = getattr(model, "_history", None)  # skscratch's history_, without building its DataFrame
    if rows:
        row = rows[-1]
        return row["epoch"], row["train_loss"], row.get("val_score", np.nan)
    curve = getattr(model, "loss_curve_", None)
    if not curve:
        raise ValueError(f"{type(model).__name__} has trained no epoch yet: record after fit or partial_fit")
    scores = getattr(model, "validation_scores_", None)
    return len(curve), curve[-1], scores[-1] if scores else np.nan
