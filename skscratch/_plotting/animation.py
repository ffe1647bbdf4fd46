"""Training as a movie: :class:`TrainingAnimation` (public in :mod:`skscratch.plotting`).

A frame per recorded epoch: the first layer's weights, drawn as
:class:`~skscratch.plotting.HiddenUnitsDisplay` draws them, beside the
learning curves so far. The arguments are checked here; writing the frames
to a file is :mod:`.movie`'s.
"""

from __future__ import annotations

import math
import numbers
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils._param_validation import Interval, InvalidParameterError, validate_parameter_constraints

from .._engine.ctrl_c import current_ctrl_c
from ..io.file_access import write_atomically
from .displays import (UNIT_TITLE_POINTS, HiddenUnitsDisplay, TrainingHistoryDisplay, _grid, _pyplot,
                       _square_side)
from .movie import check_destination, movie_writer, write_frames
from .recorder import MAX_UNITS, TrainingRecorder

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self

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

class TrainingAnimation:
    """Training, epoch by epoch: the first layer's weights and the learning curves, as a GIF or MP4.

    Each frame, titled "epoch k", shows the weights of the recorded hidden
    units as images, drawn as :class:`HiddenUnitsDisplay` draws them, with
    the color bar of their weights, but on one color scale for the whole
    animation (the largest weight of any frame), beside the learning curves up
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
        if self.weights.shape[2] > MAX_UNITS:
            raise ValueError(f"weights hold {self.weights.shape[2]} units, but at most {MAX_UNITS} are drawn: "
                             f"pass weights[:, :, :{MAX_UNITS}]")
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
        writer = movie_writer(path, fps)
        self._check_dpi(dpi)
        check_destination(path)  # before the frames are drawn, which takes a while
        ctrl_c = current_ctrl_c()  # the skscratch command's; elsewhere an idle one: see write_frames
        with ctrl_c.held():
            if not hasattr(self, "figure_"):
                self._draw()
            with tempfile.TemporaryDirectory() as folder:
                drawn = Path(folder) / f"animation{path.suffix.lower()}"
                write_frames(writer, self, drawn, dpi, ctrl_c)
                _copy_whole(drawn, path)

    def _draw(self):
        """The figure: the units' images on the left, the learning curves on the right."""
        _pyplot()  # matplotlib, or how to install it
        from matplotlib.figure import Figure  # no pyplot figure: nothing to close, no window

        figure = Figure(figsize=self._figsize(), layout="constrained")
        units, curves = figure.subfigures(1, 2, width_ratios=[self._units_width(), 4.5])
        self.units_ = HiddenUnitsDisplay(self.weights[0], self.image_shape).plot(fig=units)
        limit = float(np.abs(self.weights).max()) or 1.0  # one color scale for every frame
        self.units_.images_[0].set_clim(-limit, limit)  # (the units share one norm, and the color bar follows)
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
        rows, _ = _grid(self.weights.shape[2])
        return self._units_width() + 4.5, max(3.2, 1.1 * rows + 0.6)

    def _units_width(self):
        """The width in inches of the units' part: 1.1 a column, at least 2.2 (the color bar's label fits)."""
        return max(1.1 * _grid(self.weights.shape[2])[1], 2.2)

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
        sizes = [UNIT_TITLE_POINTS] + [FontProperties(size=rcParams[key]).get_size_in_points() for key in
                                        ("xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.labelsize",
                                         "figure.titlesize")]
    return float(min(sizes or [UNIT_TITLE_POINTS]))


def _copy_whole(drawn, path):
    """Copy the movie ``drawn`` to ``path``, whole or not at all; an OSError names ``path``."""
    try:
        with drawn.open("rb") as movie:
            write_atomically(path, lambda file: shutil.copyfileobj(movie, file))
    except OSError as exc:
        if exc.errno is None:
            raise
        # named as the user named it, not as the temporary file beside it that failed
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
