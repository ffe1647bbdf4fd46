"""The displays: the learning curves, a grid of predictions, the first layer's weights.

Public as :mod:`skscratch.plotting`; also the helpers that the animation
shares with them (matplotlib or how to install it, the image shape, the
grid of a figure).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.pipeline import Pipeline

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike
    from typing_extensions import Self


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


def _score_name(model):
    """What the model's validation score measures: "validation accuracy", "validation R²", ..."""
    scoring = getattr(model, "scoring", None)
    return ("validation loss" if scoring == "loss" else
            f"validation {scoring}" if isinstance(scoring, str) else
            "validation accuracy" if hasattr(model, "classes_") else "validation R²")


# the color bar of the weights: what its colors mean
WEIGHT_COLORS = "weight: negative (blue) … positive (red)"
UNIT_TITLE_POINTS = 7  # the size of the units' titles ("unit j") and of the color bar's text


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
        """``label_names[label]`` for an integer label that indexes it, else the label itself."""
        names = self.label_names
        if names is not None and isinstance(label, (int, np.integer)) and 0 <= label < len(names):
            return str(names[label])
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
    """The first layer's weights, one image per hidden unit, and a color bar of their scale.

    Unit j's incoming weights ``coefs_[0][:, j]`` are drawn at the shape of
    the input image, on one color scale centred on 0 for every unit: red
    pixels excite the unit, blue ones inhibit it, white ones leave it be.
    The color bar under the images says so, ticked at the largest weight
    either way.

    Parameters
    ----------
    weights : array of shape (n_features, n_units)
    image_shape : (rows, cols)

    Attributes
    ----------
    axes_ : array of Axes
    images_ : list of AxesImage
        They share one ``norm``: a change of scale (``set_clim``) of one is
        a change of all, and of the color bar.
    colorbar_ : matplotlib Colorbar
        The scale of the weights, labelled "weight: negative (blue) …
        positive (red)".
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skscratch import MLPScratchClassifier
    >>> from skscratch.plotting import HiddenUnitsDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPScratchClassifier((16,), max_iter=30, random_state=0).fit(X / 16, y)
    >>> display = HiddenUnitsDisplay.from_estimator(clf)
    >>> len(display.images_), display.colorbar_.ax.get_xlabel()
    (16, 'weight: negative (blue) … positive (red)')
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
        """Draw the units' images and the color bar of their weights; returns self."""
        plt = _pyplot()
        from matplotlib.colors import Normalize

        n_units = self.weights.shape[1]
        rows, cols = _grid(n_units)
        # (at least 2.6 inches wide: the color bar's label fits)
        fig = fig or plt.figure(figsize=(max(1.3 * cols, 2.6), 1.4 * rows + 0.6), layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
        limit = float(np.abs(self.weights).max()) or 1.0
        norm = Normalize(-limit, limit)  # one scale for every unit, centred on 0 (white)
        self.images_ = []
        for j, ax in enumerate(axes):
            ax.set_axis_off()
            if j < n_units:
                self.images_.append(ax.imshow(self.weights[:, j].reshape(self.image_shape), cmap="RdBu_r",
                                              norm=norm))
                ax.set_title(f"unit {j}", fontsize=UNIT_TITLE_POINTS)
        self.colorbar_ = _weight_colorbar(fig, self.images_[0], axes)
        self.axes_, self.figure_ = axes[:n_units], fig
        return self


def _weight_colorbar(fig, image, axes):
    """A color bar under ``axes`` that says what the colors of ``image`` mean, ticked at -max, 0 and +max.

    The ticks follow the scale: they are placed and written when the bar is
    drawn, so a later ``set_clim`` (the animation's one scale for all its
    frames) moves them too.
    """
    from matplotlib.ticker import FuncFormatter, LinearLocator

    bar = fig.colorbar(image, ax=axes, location="bottom", shrink=0.9, aspect=30)
    bar.set_label(WEIGHT_COLORS, fontsize=UNIT_TITLE_POINTS)
    bar.ax.tick_params(labelsize=UNIT_TITLE_POINTS)
    bar.locator = LinearLocator(numticks=3)  # the ends of the scale and its middle, 0
    bar.formatter = FuncFormatter(lambda value, _: "0" if value == 0 else f"{value:+.2g}")
    return bar
