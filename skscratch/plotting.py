"""Pictures of a network and its training, in scikit-learn's ``Display`` style.

Each display is built with ``from_estimator`` (or from its data) and drawn
with ``plot``; it keeps the matplotlib objects it made (``figure_``,
``ax_`` or ``axes_``, ...) for you to restyle. Needs matplotlib
(``pip install "skscratch[plot]"``).

- :class:`TrainingHistoryDisplay`: the training loss and the validation
  score, epoch by epoch;
- :class:`PredictionGridDisplay`: images with their predicted (and true)
  labels, mistakes in red;
- :class:`HiddenUnitsDisplay`: the first layer's weights drawn as images,
  what each hidden unit looks for;
- :class:`TrainingAnimation`: both of these, epoch by epoch, saved as a GIF
  or an MP4; a :class:`TrainingRecorder` takes the snapshots while the
  network trains (a scikit-learn callback, or a call after each
  ``partial_fit``);
- :class:`~sklearn.metrics.ConfusionMatrixDisplay`, scikit-learn's own,
  works on our classifiers as it is.
"""

from __future__ import annotations

import errno
import math
import numbers
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval, InvalidParameterError, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from ._array_api import to_host
from ._cli_entry import current_ctrl_c
from ._file_access import replaceable_mode, write_atomically

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike
    from typing_extensions import Self

__all__ = ["ConfusionMatrixDisplay", "HiddenUnitsDisplay", "PredictionGridDisplay", "TrainingAnimation",
           "TrainingHistoryDisplay", "TrainingRecorder"]


def _pyplot():
    """matplotlib.pyplot, or an ImportError that says how to get matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError('skscratch.plotting draws with matplotlib, which is not installed: '
                          'pip install "skscratch[plot]"') from exc
    return plt


def _final_estimator(estimator):
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def _square_side(n_features, image_shape):
    """The (rows, cols) of an input image: ``image_shape`` if given, else a square."""
    if image_shape is not None:
        try:
            rows, cols = image_shape
        except (TypeError, ValueError):
            rows = cols = None
        if not all(_is_count(n) for n in (rows, cols)):
            raise ValueError(f"image_shape must be (rows, cols), two whole numbers of 1 or more, got {image_shape!r}")
        rows, cols = int(rows), int(cols)
        if rows * cols != n_features:
            raise ValueError(f"image_shape {tuple(image_shape)} holds {rows * cols} pixels, but there are "
                             f"{n_features} features")
        return rows, cols
    side = int(round(np.sqrt(n_features)))
    if side * side != n_features:
        raise ValueError(f"{n_features} features are not a square image; pass image_shape=(rows, cols).")
    return side, side


def _is_count(n):
    """Whether ``n`` is a whole number of 1 or more (a bool is not)."""
    return isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1


# more units than this draw slowly (a frame is a figure of that many images), each too small to see
_MAX_UNITS = 100


def _score_name(model):
    """What the model's validation score measures: "validation accuracy", "validation R²", ..."""
    scoring = getattr(model, "scoring", None)
    return ("validation loss" if scoring == "loss" else
            f"validation {scoring}" if isinstance(scoring, str) else
            "validation accuracy" if hasattr(model, "classes_") else "validation R²")


def _grid(n):
    cols = int(np.ceil(np.sqrt(n)))
    return int(np.ceil(n / cols)), cols


class TrainingHistoryDisplay:
    """The training loss and, when there is one, the validation score per epoch.

    Parameters
    ----------
    train_loss : array-like of shape (n_epochs,)
    val_score : array-like of shape (n_epochs,), optional
    score_name : str, default="validation score"

    Attributes
    ----------
    ax_ : matplotlib Axes
        The loss axes; ``ax_score_`` is the twin axes of the score (or None).
    figure_ : matplotlib Figure
    lines_ : list of Line2D

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skscratch import MLPScratchClassifier
    >>> from skscratch.plotting import TrainingHistoryDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPScratchClassifier(max_iter=15, early_stopping=True, random_state=0).fit(X / 16, y)
    >>> display = TrainingHistoryDisplay.from_estimator(clf)
    >>> len(display.lines_), display.ax_score_.get_ylabel()
    (2, 'validation accuracy')
    """

    def __init__(self, train_loss: ArrayLike, val_score: ArrayLike | None = None,
                 score_name: str = "validation score") -> None:
        self.train_loss = np.asarray(train_loss, dtype=float)
        self.val_score = None if val_score is None else np.asarray(val_score, dtype=float)
        self.score_name = score_name

    @classmethod
    def from_estimator(cls, estimator: Any, *, ax: Axes | None = None) -> TrainingHistoryDisplay:
        """From a fitted estimator (or Pipeline): its ``history_``, else ``loss_curve_``."""
        model = _final_estimator(estimator)
        history = getattr(model, "history_", None)
        if history is not None and len(history):
            val = history["val_score"] if "val_score" in history else None
            train_loss = history["train_loss"].to_numpy()
        else:
            train_loss, val = np.asarray(model.loss_curve_), getattr(model, "validation_scores_", None)
        return cls(train_loss, None if val is None else np.asarray(val, dtype=float),
                   _score_name(model)).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw; returns self."""
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots()
        epochs = np.arange(1, len(self.train_loss) + 1)
        self.lines_ = ax.plot(epochs, self.train_loss, color="tab:blue", label="training loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        self.ax_score_ = None
        if self.val_score is not None and len(self.val_score):
            self.ax_score_ = ax.twinx()
            self.lines_ += self.ax_score_.plot(epochs, self.val_score, color="tab:orange", label=self.score_name)
            self.ax_score_.set_ylabel(self.score_name)
        ax.legend(handles=self.lines_, loc="center right")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class PredictionGridDisplay:
    """Images with their predicted labels; with true labels, mistakes in red.

    Parameters
    ----------
    images : array of shape (n, rows, cols)
    y_pred : array of shape (n,)
    y_true : array of shape (n,), optional
    label_names : sequence, optional
        Names to show for the labels, indexed by label (for integer labels).

    Attributes
    ----------
    axes_ : array of Axes
    figure_ : matplotlib Figure
    n_mistakes_ : int or None

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skscratch import MLPScratchClassifier
    >>> from skscratch.plotting import PredictionGridDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPScratchClassifier(max_iter=30, random_state=0).fit(X[:1000] / 16, y[:1000])
    >>> display = PredictionGridDisplay.from_estimator(clf, X[1000:] / 16, y[1000:], n_images=16)
    >>> display.axes_.size, display.axes_[0].get_title()[:10]
    (16, 'predicted ')
    """

    def __init__(self, images: ArrayLike, y_pred: ArrayLike, y_true: ArrayLike | None = None,
                 label_names: Sequence[str] | None = None) -> None:
        self.images, self.y_pred = np.asarray(images), np.asarray(y_pred)
        self.y_true = None if y_true is None else np.asarray(y_true)
        self.label_names = label_names

    @classmethod
    def from_estimator(cls, estimator: Any, X: ArrayLike, y: ArrayLike | None = None, *, n_images: int = 25,
                       image_shape: tuple[int, int] | None = None,
                       label_names: Sequence[str] | None = None) -> PredictionGridDisplay:
        """Predict the first ``n_images`` rows of X and draw them."""
        X = np.asarray(X)[:n_images]
        shape = _square_side(X.shape[1], image_shape)
        y_true = None if y is None else np.asarray(y)[:n_images]
        return cls(X.reshape(-1, *shape), estimator.predict(X), y_true, label_names).plot()

    def _name(self, label):
        if self.label_names is not None and isinstance(label, (int, np.integer)):
            return str(self.label_names[label])
        return str(label)

    def plot(self, fig: Figure | None = None) -> Self:
        """Draw; returns self."""
        plt = _pyplot()
        rows, cols = _grid(len(self.images))
        fig = fig or plt.figure(figsize=(1.6 * cols, 1.8 * rows), layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
        self.n_mistakes_ = None if self.y_true is None else int(np.sum(self.y_pred != self.y_true))
        for i, ax in enumerate(axes):
            ax.set_axis_off()
            if i >= len(self.images):
                continue
            ax.imshow(self.images[i], cmap="gray_r")
            title = f"predicted {self._name(self.y_pred[i])}"
            truth = None if self.y_true is None else self.y_true[i]
            wrong = truth is not None and self.y_pred[i] != truth
            if wrong:
                title += f"\ntrue {self._name(truth)}"
            ax.set_title(title, fontsize=8, color="red" if wrong else "black")
        self.axes_, self.figure_ = axes[: len(self.images)], fig
        return self


class HiddenUnitsDisplay:
    """The first layer's weights, one image per hidden unit.

    Unit j's incoming weights ``coefs_[0][:, j]`` are drawn at the shape of
    the input image, on a color scale centred on 0: red pixels excite the
    unit, blue ones inhibit it.

    Parameters
    ----------
    weights : array of shape (n_features, n_units)
    image_shape : (rows, cols)

    Attributes
    ----------
    axes_ : array of Axes
    images_ : list of AxesImage
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skscratch import MLPScratchClassifier
    >>> from skscratch.plotting import HiddenUnitsDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPScratchClassifier((16,), max_iter=30, random_state=0).fit(X / 16, y)
    >>> len(HiddenUnitsDisplay.from_estimator(clf).images_)
    16
    """

    def __init__(self, weights: ArrayLike, image_shape: tuple[int, int]) -> None:
        self.weights, self.image_shape = np.asarray(weights), image_shape

    @classmethod
    def from_estimator(cls, estimator: Any, *, n_units: int = 36,
                       image_shape: tuple[int, int] | None = None) -> HiddenUnitsDisplay:
        """The first ``n_units`` hidden units of a fitted estimator (or Pipeline)."""
        weights = _final_estimator(estimator).coefs_[0][:, :n_units]
        return cls(weights, _square_side(weights.shape[0], image_shape)).plot()

    def plot(self, fig: Figure | None = None) -> Self:
        """Draw; returns self."""
        plt = _pyplot()
        n_units = self.weights.shape[1]
        rows, cols = _grid(n_units)
        fig = fig or plt.figure(figsize=(1.3 * cols, 1.4 * rows), layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
        limit = float(np.abs(self.weights).max()) or 1.0
        self.images_ = []
        for j, ax in enumerate(axes):
            ax.set_axis_off()
            if j < n_units:
                self.images_.append(ax.imshow(self.weights[:, j].reshape(self.image_shape), cmap="RdBu_r",
                                              vmin=-limit, vmax=limit))
                ax.set_title(f"unit {j}", fontsize=7)
        self.axes_, self.figure_ = axes[:n_units], fig
        return self


# ----------------------------------------------------------------------
# training, epoch by epoch


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
        if not _is_count(n_units) or n_units > _MAX_UNITS:
            raise ValueError(f"n_units must be a whole number from 1 to {_MAX_UNITS}, got {n_units!r}")
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


class TrainingAnimation:
    """Training, epoch by epoch: the first layer's weights and the learning curves, as a GIF or MP4.

    Each frame, titled "epoch k", shows the weights of the recorded hidden
    units as images, drawn as :class:`HiddenUnitsDisplay` draws them but on
    one color scale for the whole animation, beside the learning curves up
    to that epoch, drawn as :class:`TrainingHistoryDisplay` draws them, on
    axes that fit the whole run. One frame per recorded epoch.

    Parameters
    ----------
    weights : array-like of shape (n_frames, n_features, n_units)
        The first layer's weights after each epoch, of 1 to 100 units (more
        would draw slowly, each image too small to see), finite (the frames
        share one color scale, which one NaN would blank).
    train_loss : array-like of shape (n_frames,)
    val_score : array-like of shape (n_frames,), optional
        NaN where an epoch has none; None, or all NaN, draws no score.
    epochs : array-like of int of shape (n_frames,), optional
        The number of each frame's epoch, whole numbers that increase from
        frame to frame; 1, 2, ... by default.
    image_shape : (rows, cols), optional
        The shape of an input image; a square by default.
    score_name : str, default="validation score"

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure the frames are drawn on (after ``plot`` or ``save``).
    units_ : HiddenUnitsDisplay
        Its left part: the weights as images.
    curves_ : TrainingHistoryDisplay
        Its right part: the learning curves.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        (a ValueError and a TypeError) An argument of the wrong type, in
        scikit-learn's words: ``weights`` or ``train_loss`` not array-like,
        ``score_name`` not a str, ...
    ValueError
        No frames; arrays of the wrong shape or not numbers; weights with
        NaN or infinity (the message names the first such frame); epochs
        that are not whole numbers or do not increase; an ``image_shape``
        that does not hold ``n_features`` pixels.

    See Also
    --------
    TrainingRecorder : Records the frames while a network trains.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from sklearn.datasets import load_digits
    >>> from skscratch import MLPScratchClassifier
    >>> from skscratch.plotting import TrainingAnimation, TrainingRecorder
    >>> X, y = load_digits(return_X_y=True)
    >>> recorder = TrainingRecorder(n_units=4)
    >>> clf = MLPScratchClassifier((16,), random_state=0)
    >>> for epoch in range(3):
    ...     _ = clf.partial_fit(X[:1200] / 16, y[:1200], classes=range(10))
    ...     recorder.record(clf, val_score=clf.score(X[1200:] / 16, y[1200:]))
    >>> animation = TrainingAnimation.from_recorder(recorder)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     animation.save(Path(folder) / "training.gif", fps=2)
    ...     Image.open(Path(folder) / "training.gif").n_frames
    3
    >>> animation.figure_.get_suptitle()
    'epoch 3'
    """

    def __init__(self, weights: ArrayLike, train_loss: ArrayLike, val_score: ArrayLike | None = None, *,
                 epochs: ArrayLike | None = None, image_shape: tuple[int, int] | None = None,
                 score_name: str = "validation score") -> None:
        validate_parameter_constraints(
            _ANIMATION_CONSTRAINTS, {"weights": weights, "train_loss": train_loss, "val_score": val_score,
                                     "epochs": epochs, "image_shape": image_shape, "score_name": score_name},
            caller_name="TrainingAnimation")
        self.weights = _numbers(weights, "weights")
        if not len(self.weights):
            raise ValueError("no epochs recorded, so there is nothing to animate: record after each epoch, "
                             "with estimator.set_callbacks(recorder) before fit (a stochastic solver: L-BFGS "
                             "has no epochs) or recorder.record(estimator) after each partial_fit")
        if self.weights.ndim != 3 or not self.weights.shape[2]:
            raise ValueError(f"weights must be of shape (n_frames, n_features, n_units), got {self.weights.shape}")
        if self.weights.shape[2] > _MAX_UNITS:
            raise ValueError(f"weights hold {self.weights.shape[2]} units, but at most {_MAX_UNITS} are drawn: "
                             f"pass weights[:, :, :{_MAX_UNITS}]")
        n_frames, n_features = self.weights.shape[:2]
        finite = np.isfinite(self.weights).reshape(n_frames, -1).all(axis=1)
        if not finite.all():  # one NaN would blank every frame: they share one color scale
            first = int(np.argmin(finite))
            raise ValueError(f"weights must be finite, but frame {first} holds NaN or infinity (did the training "
                             f"diverge?); its color scale, shared by every frame, would blank them all: animate "
                             f"the frames before it, weights[:{first}]")
        self.train_loss = _numbers(train_loss, "train_loss")
        self.val_score = None if val_score is None else _numbers(val_score, "val_score")
        if self.val_score is not None and np.isnan(self.val_score).all():
            self.val_score = None
        self.epochs = np.arange(1, n_frames + 1) if epochs is None else np.asarray(epochs)
        for name in ("train_loss", "val_score", "epochs"):
            values = getattr(self, name)
            if values is not None and values.shape != (n_frames,):
                raise ValueError(f"{name} has shape {values.shape}, but there are {n_frames} frames of weights")
        if epochs is not None:
            self.epochs = _epoch_numbers(self.epochs)
        self.image_shape = _square_side(n_features, image_shape)
        self.score_name = score_name

    @classmethod
    def from_recorder(cls, recorder: TrainingRecorder, *,
                      image_shape: tuple[int, int] | None = None) -> TrainingAnimation:
        """The animation of what a :class:`TrainingRecorder` recorded.

        Parameters
        ----------
        recorder : TrainingRecorder
        image_shape : (rows, cols), optional
            The shape of an input image; a square by default.

        Returns
        -------
        TrainingAnimation

        Examples
        --------
        >>> from skscratch.plotting import TrainingAnimation, TrainingRecorder
        >>> TrainingAnimation.from_recorder(TrainingRecorder())
        Traceback (most recent call last):
        ...
        ValueError: no epochs recorded, so there is nothing to animate: ...
        """
        weights = np.stack(recorder.weights) if len(recorder) else np.empty((0, 0, 0))
        return cls(weights, recorder.train_loss, recorder.val_score, epochs=recorder.epochs,
                   image_shape=image_shape, score_name=recorder.score_name)

    def plot(self, frame: int = -1) -> Self:
        """Draw one frame on ``figure_`` (made at the first call); returns self.

        Parameters
        ----------
        frame : int, default=-1
            Which frame, counted from 0; -1 is the last (from ``-n_frames``
            to ``n_frames - 1``).

        Returns
        -------
        self

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError
            (a ValueError and a TypeError) ``frame`` is not a whole number
            in that range.

        Examples
        --------
        >>> import numpy as np
        >>> from skscratch.plotting import TrainingAnimation
        >>> weights = np.random.RandomState(0).normal(size=(5, 16, 3))  # 5 epochs, 4x4 images, 3 units
        >>> animation = TrainingAnimation(weights, train_loss=[2.0, 1.5, 1.2, 1.0, 0.9]).plot(frame=1)
        >>> animation.figure_.get_suptitle(), len(animation.units_.images_)
        ('epoch 2', 3)
        >>> animation.curves_.lines_[0].get_ydata()
        array([2. , 1.5])
        """
        n_frames = len(self.epochs)
        validate_parameter_constraints(
            {"frame": [Interval(numbers.Integral, -n_frames, n_frames - 1, closed="both")]}, {"frame": frame},
            caller_name="TrainingAnimation.plot")
        if not hasattr(self, "figure_"):
            self._draw()
        self._show(range(n_frames)[frame])
        return self

    def save(self, path: str | Path, *, fps: float = 5, dpi: float = 80) -> None:
        """Write every frame to ``path``: a .gif (with Pillow) or an .mp4 (with ffmpeg).

        The file is written whole or not at all: the frames go to a
        temporary file, which then replaces ``path``. Every argument is
        checked before any frame is drawn: a folder that is not there, a
        file that ``open(path, "wb")`` could not open, an ``fps`` or a
        ``dpi`` the format or the frame size cannot take.

        Parameters
        ----------
        path : str or path-like
            Ending in .gif or .mp4 (in any case). An existing file is
            replaced only if ``open(path, "wb")`` could open it: a file
            made read-only is refused with the PermissionError ``open``
            gives.
        fps : float, default=5
            Frames (epochs) per second: for a .gif from 1/655.35 to 100 (a
            GIF holds each frame's delay in hundredths of a second, from
            0.01 s to 655.35 s); for an .mp4 from 1e-6 to 1e6 (ffmpeg reads
            the rate as a fraction of whole numbers up to 1,001,000).
        dpi : float, default=80
            Pixels per inch of the figure, above 0, and such that the
            smallest text is at least one pixel tall (``dpi >= 72 /
            points``: 10.29 for the 7-point titles of the units) and a
            frame holds at most 89,478,485 pixels, Pillow's
            ``Image.MAX_IMAGE_PIXELS`` (it treats larger images as
            decompression bombs); the figure is ``figure_.get_size_inches()``
            inches, 6.7 x 3.2 for up to 2 units, 15.5 x 11.6 for 100.

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError
            (a ValueError and a TypeError) ``path`` is not a str or
            path-like; ``fps`` or ``dpi`` is not a number in the range
            above (the message gives the range for this animation, and
            why).
        ValueError
            ``path`` ends in neither .gif nor .mp4.
        OSError
            ``path`` cannot be written: its folder is missing
            (``FileNotFoundError``), it is a folder, it is a file that
            ``open(path, "wb")`` could not open (``PermissionError``) ...
            The error names ``path``.
        RuntimeError
            An .mp4 without ffmpeg installed.
        ImportError
            matplotlib is not installed.

        Examples
        --------
        >>> import numpy as np
        >>> from skscratch.plotting import TrainingAnimation
        >>> animation = TrainingAnimation(np.ones((2, 4, 1)), train_loss=[1.0, 0.5])
        >>> animation.save("training.avi")
        Traceback (most recent call last):
        ...
        ValueError: cannot write an animation to training.avi: the name must end in .gif ...
        """
        validate_parameter_constraints(
            {"path": [str, os.PathLike], "dpi": [Interval(numbers.Real, 0, None, closed="neither")]},
            {"path": path, "dpi": dpi}, caller_name="TrainingAnimation.save")
        path = Path(path)
        writer = _movie_writer(path, fps)
        self._check_dpi(dpi)
        _check_destination(path)  # before the frames are drawn, which takes a while
        ctrl_c = current_ctrl_c()  # the skscratch command's; elsewhere an idle one: see _write_frames
        with ctrl_c.held():
            if not hasattr(self, "figure_"):
                self._draw()
            with tempfile.TemporaryDirectory() as folder:
                drawn = Path(folder) / f"animation{path.suffix.lower()}"
                _write_frames(writer, self, drawn, dpi, ctrl_c)
                try:
                    with drawn.open("rb") as movie:
                        write_atomically(path, lambda file: shutil.copyfileobj(movie, file))
                except OSError as exc:
                    if exc.errno is None:
                        raise
                    # named as the user named it, not as the temporary file beside it that failed
                    raise OSError(exc.errno, exc.strerror, str(path)) from exc

    def _draw(self):
        """The figure: the units' images on the left, the learning curves on the right."""
        _pyplot()  # matplotlib, or how to install it
        from matplotlib.figure import Figure  # no pyplot figure: nothing to close, no window

        rows, cols = _grid(self.weights.shape[2])
        figure = Figure(figsize=self._figsize(), layout="constrained")
        units, curves = figure.subfigures(1, 2, width_ratios=[1.1 * cols, 4.5])
        self.units_ = HiddenUnitsDisplay(self.weights[0], self.image_shape).plot(fig=units)
        limit = float(np.abs(self.weights).max()) or 1.0  # one color scale for every frame
        for image in self.units_.images_:
            image.set_clim(-limit, limit)
        # drawn whole first, so that the axes fit the whole run; each frame then shows its part
        self.curves_ = TrainingHistoryDisplay(self.train_loss, self.val_score, self.score_name).plot(
            ax=curves.subplots())
        for line in self.curves_.lines_:
            line.set(marker="o", markersize=4, markevery=[-1])  # a dot on the frame's epoch
        first, last = self.epochs[0], self.epochs[-1]
        self.curves_.ax_.set_xlim(first - 0.5, last + 0.5)
        figure.suptitle(f"epoch {last}")  # (each frame puts its own; the layout leaves room for it)
        # every frame has the same layout: lay the figure out once, then drop the engine, for which
        # savefig would lay out (draw) each frame twice
        figure.draw_without_rendering()
        figure.set_layout_engine(None)
        self.figure_ = figure

    def _figsize(self):
        """(width, height) of the figure in inches: ``figure_``'s, or the one ``_draw`` will make."""
        if hasattr(self, "figure_"):
            return tuple(float(v) for v in self.figure_.get_size_inches())
        rows, cols = _grid(self.weights.shape[2])
        return 1.1 * cols + 4.5, max(3.2, 1.1 * rows + 0.6)

    def _check_dpi(self, dpi):
        """Refuse, before drawing, a dpi that makes text under a pixel or a frame larger than Pillow takes.

        FreeType cannot draw a font under about half a pixel (matplotlib's
        "invalid ppem value"); Pillow treats an image of more than
        ``Image.MAX_IMAGE_PIXELS`` (89,478,485) pixels as a decompression
        bomb, and such a frame takes a long time and a lot of memory to draw.
        """
        width, height = self._figsize()
        points = _smallest_text_points(getattr(self, "figure_", None))
        low = math.ceil(72 / points * 100) / 100  # the smallest text one pixel tall, rounded up
        high = math.floor(math.sqrt(_MAX_FRAME_PIXELS / (width * height)) * 100) / 100
        if high < low:  # a figure_ made very large after plot
            raise ValueError(f"no dpi can draw this figure ({width:g} x {height:g} inches): its smallest text "
                             f"({points:g} points) needs a dpi of {low:g} or more, at which a frame would hold more "
                             f"than the {_MAX_FRAME_PIXELS:,} pixels that Pillow takes; make figure_ smaller "
                             "(figure_.set_size_inches)")
        try:
            validate_parameter_constraints({"dpi": [Interval(numbers.Real, low, high, closed="both")]},
                                           {"dpi": dpi}, caller_name="TrainingAnimation.save")
        except InvalidParameterError as exc:
            why = (f"At a dpi below {low:g}, the smallest text ({points:g} points) would be under a pixel tall, "
                   "which FreeType cannot draw." if dpi < low else
                   f"At a dpi above {high:g}, a frame of this figure ({width:g} x {height:g} inches) would hold "
                   f"more than the {_MAX_FRAME_PIXELS:,} pixels that Pillow takes ({width * dpi:.0f} x "
                   f"{height * dpi:.0f} at dpi={dpi!r}): it treats larger images as decompression bombs.")
            raise InvalidParameterError(f"{exc} {why}") from None

    def _show(self, frame):
        """Put frame ``frame``'s weights, curves and title on the figure."""
        for j, image in enumerate(self.units_.images_):
            image.set_data(self.weights[frame][:, j].reshape(self.image_shape))
        curves = [self.train_loss] + ([] if self.val_score is None else [self.val_score])
        for line, values in zip(self.curves_.lines_, curves):
            line.set_data(self.epochs[: frame + 1], values[: frame + 1])
        self.figure_.suptitle(f"epoch {self.epochs[frame]}")


# TrainingAnimation's arguments, checked as scikit-learn checks a function's; their values then in __init__
# (image_shape by _square_side, with HiddenUnitsDisplay's message)
_ANIMATION_CONSTRAINTS = {
    "weights": ["array-like"],
    "train_loss": ["array-like"],
    "val_score": ["array-like", None],
    "epochs": ["array-like", None],
    "score_name": [str],
}
# Pillow's Image.MAX_IMAGE_PIXELS: it treats a larger image as a decompression bomb (warns, and refuses one twice
# as large); a frame that large already takes seconds and hundreds of megabytes to draw
_MAX_FRAME_PIXELS = 89_478_485
_UNIT_TITLE_POINTS = 7  # HiddenUnitsDisplay's titles, "unit j"
# the range of fps each format can hold, and why
_FPS_RANGES = {".gif": (1 / 655.35, 100, "A GIF holds each frame's delay in hundredths of a second, from 0.01 s "
                                         "to 655.35 s."),
               ".mp4": (1e-6, 1e6, "ffmpeg reads the frame rate as a fraction of whole numbers up to 1,001,000.")}


def _numbers(values, name):
    """``values`` as an array of floats, or a ValueError that names them."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers: {exc}") from None


def _epoch_numbers(epochs):
    """``epochs`` as int64: whole numbers that increase from frame to frame (each frame is titled with its epoch)."""
    if epochs.dtype.kind not in "iuf":
        raise ValueError(f"epochs must be whole numbers, got an array of {epochs.dtype}: {epochs[:3].tolist()!r}...")
    whole = np.isfinite(epochs) & (epochs == np.round(epochs)) if epochs.dtype.kind == "f" else np.ones(len(epochs), bool)
    if not whole.all():
        k = int(np.argmin(whole))
        raise ValueError(f"epochs must be whole numbers, but frame {k}'s is {epochs[k].item()!r}")
    increasing = np.diff(epochs) > 0
    if not increasing.all():
        k = int(np.argmin(increasing)) + 1
        raise ValueError(f"epochs must increase from frame to frame, but frame {k} is epoch {epochs[k].item()!r}, "
                         f"after epoch {epochs[k - 1].item()!r}")
    low, high = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    beyond = [k for k, e in enumerate(epochs.tolist()) if not low <= e <= high]  # (exactly: Python's numbers)
    if beyond:
        raise ValueError(f"epochs must be whole numbers that fit a 64-bit integer, but frame {beyond[0]}'s is "
                         f"{epochs[beyond[0]].item()!r}")
    return epochs.astype(np.int64)


def _smallest_text_points(figure):
    """The size in points of the smallest text of ``figure``, or of the figure TrainingAnimation draws."""
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties
    from matplotlib.text import Text

    if figure is not None:
        sizes = [text.get_fontsize() for text in figure.findobj(Text) if text.get_visible() and text.get_text()]
    else:
        sizes = [_UNIT_TITLE_POINTS] + [FontProperties(size=rcParams[key]).get_size_in_points() for key in
                                        ("xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.labelsize",
                                         "figure.titlesize")]
    return float(min(sizes or [_UNIT_TITLE_POINTS]))


def _write_frames(writer, animation, outfile, dpi, ctrl_c):
    """Draw every frame of ``animation`` into ``outfile`` with ``writer``: a whole file, or none and the error.

    matplotlib's ``writer.saving`` finishes the file even when a frame
    failed, and that fails in its turn (Pillow's writer with no frame
    raises an IndexError), hiding the first error. Here a drawing that
    fails or is interrupted is abandoned, and its own exception raised.

    ``ctrl_c`` is the skscratch command's Ctrl-C, held meanwhile: a
    KeyboardInterrupt raised anywhere inside matplotlib would leave it
    broken, or be swallowed by one of its finalizers ("Exception
    ignored"), so a press is delivered between two frames
    (``ctrl_c.checkpoint()``). In a program of yours it is an idle one, and
    Ctrl-C is Python's as ever.
    """
    import matplotlib as mpl

    writer.setup(animation.figure_, str(outfile), dpi)
    try:
        with mpl.rc_context({"savefig.bbox": None}):  # as writer.saving: every frame the same size
            for frame in range(len(animation.epochs)):
                ctrl_c.checkpoint()
                animation._show(frame)
                writer.grab_frame()
            ctrl_c.checkpoint()
            writer.finish()
        ctrl_c.checkpoint()
    except BaseException:
        proc = getattr(writer, "_proc", None)  # ffmpeg's writer: its encoder, which must not outlive us
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate()
        ctrl_c.checkpoint()  # a failure that a press caused (a terminal's Ctrl-C stops ffmpeg too) is that press
        raise


def _check_destination(path):
    """Refuse a ``path`` whose folder is missing, that is a folder, or that open(path, "wb") could not open.

    The OSError names ``path``.
    """
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if path.parent.exists() and not path.parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{path.parent} is not a folder", str(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"the folder {path.parent} does not exist", str(path))
    replaceable_mode(os.path.realpath(path), str(path))  # a read-only file: open's PermissionError


def _movie_writer(path, fps):
    """matplotlib's writer for ``path``: Pillow's for a .gif, ffmpeg's for an .mp4.

    Raises
    ------
    ValueError
        Another suffix; an ``fps`` outside the range the format holds (an
        InvalidParameterError).
    ImportError
        matplotlib is not installed.
    RuntimeError
        An .mp4, and ffmpeg is not installed.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"cannot write an animation to {path}: the name must end in .gif (written with Pillow) "
                         "or .mp4 (written with ffmpeg)")
    low, high, why = _FPS_RANGES[suffix]
    try:
        validate_parameter_constraints({"fps": [Interval(numbers.Real, low, high, closed="both")]}, {"fps": fps},
                                       caller_name="TrainingAnimation.save")
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"{exc} {why}") from None
    _pyplot()
    from matplotlib import animation

    if suffix == ".gif":

        class PalettedPillowWriter(animation.PillowWriter):
            """Keeps each frame in 256 colors, a byte a pixel instead of RGBA's four, as the GIF will."""

            def grab_frame(self, **savefig_kwargs):
                super().grab_frame(**savefig_kwargs)
                self._frames[-1] = self._frames[-1].convert("RGB").quantize()

        return PalettedPillowWriter(fps=fps)
    if not animation.FFMpegWriter.isAvailable():
        raise RuntimeError(f"writing {Path(path).name} needs ffmpeg, which is not installed (matplotlib looks for "
                           f"{animation.FFMpegWriter.bin_path()!r}); install ffmpeg, or write a .gif")
    return animation.FFMpegWriter(fps=fps)
