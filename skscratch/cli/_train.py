"""``skscratch train``: every check before the first epoch, then epoch by epoch, then the save.

Everything that can refuse the run is checked before training starts, so a
mistake never costs an hour of training: the output file, the data (rows,
classes, the validation split) and the memory the network needs. Then
training runs one ``partial_fit`` per epoch, which also lets Ctrl-C and a
diverging loss stop it cleanly, and the model is saved with Ctrl-C held: a
Pipeline of the scaling the network was trained with (pixels / 255) and the
network, so that the file takes raw pixels wherever it is loaded.
With ``--animate``, a :class:`skscratch.plotting.TrainingRecorder` takes a
snapshot after every epoch, and the animation is written after the model.
"""

import gc
import math
import sys
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._engine.ctrl_c import current_ctrl_c
from ._files import (CommandError, check_output, load_images, pixel_scaling, same_file, square_side,
                     with_pixel_scaling)

DONE, DIVERGED, INTERRUPTED = "done", "diverged", "interrupted"

# What ``skscratch train`` does with no options. Chosen by a measured search on
# 4,000 real MNIST digits that no test uses (benchmarks/bench_cli_defaults.py;
# the search and its result: benchmarks/README.md), to beat
# scikit-learn's MLPClassifier() on held-out data in seconds. The estimators'
# own defaults stay scikit-learn's.
DEFAULTS: dict[str, Any] = dict(hidden=(512, 256), epochs=40, batch_size=128, learning_rate=0.003, solver="adamw",
                                activation="relu", alpha=0.2,  # (with adamw; adam and sgd get 1e-4)
                                dropout=0.2, schedule="cosine", validation_fraction=0.1, seed=0)
ANIMATION_FPS = 5  # epochs a second, for --animate


@dataclass(frozen=True)
class TrainOptions:
    """How ``skscratch train`` trains: its options, each with the command line's default (:data:`DEFAULTS`).

    Parameters
    ----------
    hidden : tuple of int, default=(512, 256)
        Hidden layer sizes.
    epochs : int, default=40
        Passes over the training images; also the length of the cosine
        schedule.
    batch_size : int, optional
        Images per minibatch: 128 by default, or all of them when fewer.
    learning_rate : float, default=0.003
        The first epoch's learning rate.
    solver : {"adamw", "adam", "sgd"}, default="adamw"
    activation : {"relu", "tanh", "logistic", "leaky_relu", "elu", "gelu"}, default="relu"
        The hidden layers' activation.
    alpha : float, optional
        Decoupled weight decay with adamw (0.2 by default), L2 penalty with
        adam and sgd (1e-4 by default, scikit-learn's): see :attr:`penalty`.
    dropout : float, default=0.2
        Dropout rate of the hidden layers, in [0, 1).
    schedule : {"cosine", "constant"}, default="cosine"
        The learning rate over the epochs: from ``learning_rate`` down to 0
        along half a cosine, or constant.
    validation_fraction : float, default=0.1
        Share of the training images held out to report the validation
        accuracy after every epoch; 0 holds out none.
    seed : int, default=0
        Seeds the hold-out, the initial weights and the shuffling.

    Examples
    --------
    >>> options = TrainOptions(hidden=(64,), epochs=5)
    >>> options.penalty, TrainOptions(solver="adam").penalty
    (0.2, 0.0001)
    >>> options.classifier(batch_size=32).hidden_layer_sizes
    (64,)
    """

    hidden: tuple = DEFAULTS["hidden"]
    epochs: int = DEFAULTS["epochs"]
    batch_size: int | None = None
    learning_rate: float = DEFAULTS["learning_rate"]
    solver: str = DEFAULTS["solver"]
    activation: str = DEFAULTS["activation"]
    alpha: float | None = None
    dropout: float = DEFAULTS["dropout"]
    schedule: str = DEFAULTS["schedule"]
    validation_fraction: float = DEFAULTS["validation_fraction"]
    seed: int = DEFAULTS["seed"]

    @property
    def penalty(self):
        """``alpha``, or the solver's default: adamw's decay is a rate per step, adam's and sgd's L2 scikit-learn's."""
        if self.alpha is not None:
            return self.alpha
        return DEFAULTS["alpha"] if self.solver == "adamw" else 1e-4

    def classifier(self, batch_size):
        """The MLPScratchClassifier these options train (float32), with minibatches of ``batch_size``."""
        from .._estimator.mlp import MLPScratchClassifier

        return MLPScratchClassifier(hidden_layer_sizes=self.hidden, batch_size=batch_size,
                                    learning_rate_init=self.learning_rate, solver=self.solver,
                                    activation=self.activation, alpha=self.penalty, dropout=self.dropout,
                                    learning_rate=self.schedule, max_iter=self.epochs,  # the cosine's length
                                    dtype=np.float32, random_state=np.random.RandomState(self.seed))


def train(data, out, options=None, *, animate=None, stream=sys.stdout, **settings):
    """Train a classifier epoch by epoch, printing progress, and save it to ``out``.

    A share of the training images (``validation_fraction``) is held out to
    report the validation accuracy after every epoch.

    - Ctrl-C stops training after the current minibatch and saves the model
      as it stands (nothing is saved if the network did not exist yet).
    - If the loss blows up, training stops and the model of the last good
      epoch is saved, with a one-line warning on stderr; a blow-up in the
      first epoch leaves nothing to save, which is an error.
    - With ``animate``, the animation of the epochs that ran is written
      after the model, in these cases too. A Ctrl-C while it is drawn
      stops it between two frames: the model is saved, no animation is
      written (KeyboardInterrupt).

    Parameters
    ----------
    data : str
        A Kaggle-style CSV, an IDX file or pair, or a data set's name (see
        :func:`skscratch.cli._files.load_images`).
    out : str or path-like
        Where to save the model (skscratch's safe ``.npz`` format): a
        Pipeline of the scaling (pixels / 255, a ``MaxAbsScaler``) and the
        network.
    options : TrainOptions, optional
        How to train; the command line's defaults by default.
    animate : str or path-like, optional
        Where to write an animation of training (.gif, or .mp4 with
        ffmpeg): the first layer's weights as images and the learning
        curves, a frame per epoch. Needs matplotlib, and square images.
    stream : file-like, default=sys.stdout
        Where the progress goes.
    **settings
        Fields of :class:`TrainOptions` (``epochs=5`` ...), which replace
        those of ``options``.

    Returns
    -------
    model : Pipeline
        The model saved: the scaling, then the MLPScratchClassifier.
    outcome : {"done", "diverged", "interrupted"}
        Whether every epoch ran, the loss blew up, or Ctrl-C stopped training.

    Raises
    ------
    CommandError
        A mistake found before training, or a blow-up in the first epoch.
    KeyboardInterrupt
        Ctrl-C before the network existed: nothing was saved.
    """
    options = replace(options or TrainOptions(), **settings)
    check_output(out, inputs=data.split(","))
    if animate is not None:
        _check_animation(animate, out, data)
    X, y, classes, validation, scaling = _training_data(data, options.validation_fraction, options.seed, stream)
    batch_size = _batch_size(options.batch_size, len(X))
    check_memory([X.shape[1], *options.hidden, len(classes)], batch_size, len(validation[0]) if validation else 0)
    recorder = None if animate is None else _recorder(X.shape[1], data)

    model = options.classifier(batch_size)
    print(f"Training a {X.shape[1]}-{'-'.join(map(str, options.hidden))}-{len(classes)} network on {len(X)} images"
          + (f", validating on {len(validation[0])}." if validation else "."), file=stream, flush=True)
    outcome, epochs_done, whole = _train_epochs(model, X, y, classes, validation, options.epochs, stream, recorder)
    _say_why_it_stopped(outcome, epochs_done, whole, options.learning_rate, stream)
    pipeline = with_pixel_scaling(model, scaling)
    _save(pipeline, out, stream)
    if recorder is not None:
        _write_animation(recorder, animate, stream)
    return pipeline, outcome


def _say_why_it_stopped(outcome, epochs_done, whole, learning_rate, stream):
    """Warn of a blow-up, or say Ctrl-C stopped training; raise when there is no model to save."""
    if outcome == DIVERGED:
        advice = f"try a smaller --learning-rate (now {learning_rate:g})"
        if epochs_done == 0:
            raise CommandError(f"training diverged in the first epoch (the loss blew up), so there is no "
                               f"model to save; {advice}")
        _warn(f"training diverged in epoch {epochs_done + 1} (the loss blew up), so the model of epoch "
              f"{epochs_done} is saved; {advice}")
    elif outcome == INTERRUPTED:
        if not whole:
            raise KeyboardInterrupt  # before the network existed: nothing to save
        print(f"Interrupted after {epochs_done} full epoch(s): saving the model as it is.", file=stream)


def _warn(text):
    print(f"skscratch train: warning: {text}", file=sys.stderr, flush=True)


def _training_data(data, validation_fraction, seed, stream):
    """Pixels / 255 and labels to train on, the classes, the validation set (or None), and the scaling."""
    print(f"Loading {data}", file=stream, flush=True)
    X, y = load_images(data)
    classes = _classes(y, data)
    scaling = pixel_scaling(X.shape[1])
    X /= scaling.scale_  # scaling.transform(X), in place: float32 pixels / 255 in float32
    X, y, validation = _hold_out(X, y, validation_fraction, seed)
    return X, y, classes, validation, scaling


def _batch_size(asked, n_images):
    """The batch size asked for (128 by default), at most the number of images."""
    if asked is None:
        return min(DEFAULTS["batch_size"], n_images)
    if asked > n_images:
        _warn(f"--batch-size {asked} is more than the {n_images} training images; using {n_images}")
    return min(asked, n_images)


def _classes(y, data):
    """The classes of ``y``: at least two, or a CommandError."""
    classes = np.unique(y)
    if len(classes) < 2:
        which = "its only image has" if len(y) == 1 else f"all its {len(y)} images have"
        raise CommandError(f"{data}: {which} the label {classes[0]}; a classifier needs images of at "
                           "least two classes")
    return classes


def _hold_out(X, y, fraction, seed):
    """``(X_train, y_train, (X_val, y_val))``, or no validation set when ``fraction`` is 0.

    The split is stratified when every class can be in both parts.
    """
    from sklearn.model_selection import train_test_split

    if not fraction:
        return X, y, None
    n_val = math.ceil(fraction * len(X))  # as train_test_split counts a float test_size
    n_train = len(X) - n_val
    if n_train < 1:
        raise CommandError(f"--validation-fraction {fraction:g} of {len(X)} image(s) leaves none to train on; "
                           "lower it, or give 0 to hold out none")
    counts = np.unique(y, return_counts=True)[1]
    stratify = y if counts.min() >= 2 and min(n_val, n_train) >= len(counts) else None
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=n_val, random_state=seed, stratify=stratify)
    return X_train, y_train, (X_val, y_val)


# ----------------------------------------------------------------------
# memory


def check_memory(layer_units, batch_size, validation_rows=0, itemsize=4):
    """Refuse a network that training could not hold in memory, before allocating any of it.

    Linux lends memory lazily: ``np.empty`` of more than there is can
    succeed, and the process is killed later, when the pages are written.
    So what training needs is estimated and compared first.

    Parameters
    ----------
    layer_units : list of int
        Inputs, hidden layer sizes, outputs.
    batch_size : int
    validation_rows : int, default=0
        Images scored at once after every epoch.
    itemsize : int, default=4
        Bytes per number (float32).

    Raises
    ------
    CommandError
        When the estimate exceeds the memory available.
    """
    from ..nn.network import n_params
    from .._engine.parallel import n_threads_for

    weights = n_params(layer_units)
    largest_layer = max((fan_in + 1) * fan_out for fan_in, fan_out in zip(layer_units, layer_units[1:]))
    # the weights, their copy from the last good epoch, one gradient per thread, Adam's two moments
    # and a scratch vector; activations and their gradients for a batch (or the validation images
    # scored at once); the largest layer, drawn in float64 first
    copies = 5 + n_threads_for(batch_size, weights)
    rows = max(batch_size, validation_rows)
    needed = itemsize * (copies * weights + 4 * rows * sum(layer_units)) + 8 * largest_layer
    available = available_memory()
    if available is not None and needed > available:
        raise CommandError(f"a {'-'.join(map(str, layer_units))} network has {weights:,} weights, which need "
                           f"about {_size(needed)} to train, but {_size(available)} of memory is available; "
                           "choose a smaller --hidden")


def available_memory():
    """Bytes of memory this process can still get, as far as Linux says; None elsewhere.

    The smaller of the system's available memory and what is left under this
    process's cgroup (container) limit.

    Returns
    -------
    int or None
    """
    found = []
    try:
        meminfo = Path("/proc/meminfo").read_text()
        found += [int(line.split()[1]) * 1024 for line in meminfo.splitlines() if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    try:  # cgroup v2: the line "0::/path" names this process's group
        group = next(line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines() if line.startswith("0::"))
        folder = Path("/sys/fs/cgroup") / group.lstrip("/")
        limit = (folder / "memory.max").read_text().strip()
        if limit != "max":
            found.append(int(limit) - int((folder / "memory.current").read_text()))
    except (OSError, ValueError, StopIteration):
        pass
    return min(found) if found else None


def _size(n_bytes):
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.1f} {unit}" if unit != "B" else f"{n_bytes} B"
        n_bytes /= 1024


# ----------------------------------------------------------------------
# epochs


def fit_epoch(model, X, y, **fit_params):
    """One epoch of ``partial_fit``; say whether it ran to its end.

    The estimator ends an epoch early on Ctrl-C (keeping the weights of the
    last finished minibatch) and when the loss blows up (restoring the
    weights of the epoch before). Its warnings then are the command's to
    word, so only the others are passed on.

    Returns
    -------
    outcome : {"done", "diverged", "interrupted"}
    """
    epochs_before = len(getattr(model, "loss_curve_", None) or ())
    with warnings.catch_warnings(record=True) as caught:
        model.partial_fit(X, y, **fit_params)
    if current_ctrl_c().presses:
        outcome = INTERRUPTED
    elif len(getattr(model, "loss_curve_", None) or ()) > epochs_before:
        outcome = DONE
    else:
        outcome = DIVERGED
    for warning in caught:
        if outcome == DONE or (outcome == DIVERGED and not issubclass(warning.category, ConvergenceWarning)):
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return outcome


def last_loss(model):
    """The training loss of the last full epoch, NaN before any."""
    curve = getattr(model, "loss_curve_", None)
    return curve[-1] if curve else math.nan


def _train_epochs(model, X, y, classes, validation, epochs, stream, recorder=None):
    """Train epoch by epoch, a line of progress each, and a snapshot each for ``recorder``, if any.

    Returns
    -------
    outcome : {"done", "diverged", "interrupted"}
    epochs_done : int
        Epochs that ran to their end.
    whole : bool
        Whether the model is complete: ``partial_fit`` returned at least
        once. (A Ctrl-C that escapes it the first time may have cut the
        network's creation short.)
    """
    epochs_done, whole, start = 0, False, time.perf_counter()
    try:
        for epoch in range(1, epochs + 1):
            outcome = fit_epoch(model, X, y, classes=classes)
            whole = True
            if outcome != DONE:
                return outcome, epochs_done, whole
            epochs_done = epoch
            with current_ctrl_c().held():  # an epoch done is an epoch recorded
                accuracy = model.score(*validation) if validation else None
                if recorder is not None:
                    recorder.record(model, val_score=accuracy)
            elapsed = time.perf_counter() - start
            line = f"epoch {epoch:3d}/{epochs}  loss {last_loss(model):.4f}"
            if validation:
                line += f"  val acc {accuracy:.4f}"
            line += f"  {elapsed:6.1f}s  ETA {elapsed / epoch * (epochs - epoch):5.1f}s"
            print(line, file=stream, flush=True)
    except KeyboardInterrupt:
        return INTERRUPTED, epochs_done, whole
    return DONE, epochs_done, whole


def _save(model, out, stream):
    """Save with Ctrl-C held: the file is written whole, then a Ctrl-C pressed meanwhile ends the command."""
    from ..io.persistence import save

    with current_ctrl_c().held():
        print(f"Saving the model to {out}", file=stream, flush=True)
        try:
            save(model, out)
        except OSError as exc:
            raise CommandError(f"cannot save the model to {out}: {exc.strerror or exc}") from exc
        print(f"Saved the model to {out}", file=stream, flush=True)


# ----------------------------------------------------------------------
# --animate


def _check_animation(path, out, data):
    """Refuse, before any work, an animation that could not be written: its file, its format, matplotlib."""
    from .._plotting.movie import movie_writer

    if Path(path).resolve() == Path(out).resolve():
        raise CommandError(f"--animate and --out both name {path}; give the animation a file of its own")
    if same_file(path, out):  # two names of one file: a hard link
        raise CommandError(f"--animate {path} and --out {out} name one file (hard links); give the animation a "
                           "file of its own")
    check_output(path, inputs=data.split(","), example="training.gif")
    try:
        movie_writer(path, fps=ANIMATION_FPS)
    except (ValueError, ImportError, RuntimeError) as exc:
        raise CommandError(str(exc)) from exc


def _recorder(n_pixels, data):
    """The recorder of --animate, which draws each hidden unit's weights as a square image."""
    from ..plotting import TrainingRecorder

    square_side(n_pixels, data, "--animate", "the weights", "train without --animate")
    return TrainingRecorder()


def _write_animation(recorder, path, stream):
    """Write what ``recorder`` recorded (nothing, when no epoch finished)."""
    from ..plotting import TrainingAnimation

    n = len(recorder)
    if not n:
        print(f"No epoch finished, so no animation is written to {path}.", file=stream, flush=True)
        return
    print(f"Writing the animation of {n} epoch(s) to {path}", file=stream, flush=True)
    # Ctrl-C held throughout, so that matplotlib never sees a KeyboardInterrupt: the animation stops
    # between two frames (before its file is written), and its figure is collected here
    with current_ctrl_c().held():
        problem = None
        try:
            TrainingAnimation.from_recorder(recorder).save(path, fps=ANIMATION_FPS)
        except KeyboardInterrupt:
            print(f"Interrupted: the animation is not written to {path} (the model is saved).", file=stream,
                  flush=True)
            raise
        except OSError as exc:
            problem = f"cannot write the animation to {path}: {exc.strerror or exc} (the model is saved)"
        gc.collect()  # the figure's finalizers run now, Ctrl-C held, not later where a press would break them
        if problem:
            raise CommandError(problem)
        print(f"Wrote the animation of {n} epoch(s) to {path}", file=stream, flush=True)
