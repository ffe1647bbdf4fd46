"""``skscratch demo``: train on a data set bundled with scikit-learn and show the test score.

With an output folder, it writes the model (a Pipeline of the scaling and
the network, which takes the raw data) and its plots there, and removes the
plots an earlier run of the demo left that this run does not draw
(:data:`DEMO_FILES`): the folder shows one run. No other file is touched.
"""

import gc
import sys
import time
from pathlib import Path

import numpy as np

from .._engine.ctrl_c import current_ctrl_c
from ._files import CommandError, check_output, class_names, pixel_scaling
from ._train import DIVERGED, DONE, fit_epoch, last_loss

# every file the demo writes in its folder; classification alone draws the last two, and the last one
# only for Fashion-MNIST (see NO_HIDDEN_UNITS)
DEMO_FILES = ("model.npz", "learning_curves.png", "predictions.png", "hidden_units.png")
# Why the digits get no hidden_units.png: a unit's 64 weights on 8x8 digits show no strokes. Measured on the
# default demo: neighbouring pixels' weights correlate at 0.09 (noise: 0) on the digits, at 0.59 on Fashion-MNIST.
NO_HIDDEN_UNITS = ("Not drawn: hidden_units.png, since the weights of a unit on 8x8 digits look like noise; "
                   "skscratch demo --dataset fashion-mnist draws them at 28x28.")


def _digits(seed):
    """Scaled digits, split 75/25: the classification demo's data."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test, raw_test, scaler = _split_and_scale(X, y, seed, stratify=y)
    return X_train, X_test, y_train, y_test, "8x8 digit images", "acc", raw_test.reshape(-1, 8, 8), scaler


def _diabetes(seed):
    """Scaled diabetes data (X and y), split 75/25: the regression demo's data."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test, _, scaler = _split_and_scale(X, y, seed)
    # R^2 is the same for y and for y scaled: train and score on scaled y
    center, spread = y_train.mean(), y_train.std()
    return (X_train, X_test, (y_train - center) / spread, (y_test - center) / spread, "diabetes patients", "R2",
            None, scaler)


def _split_and_scale(X, y, seed, stratify=None):
    """75/25 split, standardised on the training part; also the raw test rows (to show as images), and the scaler."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=stratify, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test, X_test, scaler


def _fashion_mnist(seed):
    """Fashion-MNIST's own train/test split, pixels / 255; only if the files are on this machine."""
    from ..datasets import fetch_fashion_mnist

    try:
        train = fetch_fashion_mnist(subset="train", download_if_missing=False)
        test = fetch_fashion_mnist(subset="test", download_if_missing=False)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from exc
    scaling = pixel_scaling(train.data.shape[1])  # float32 pixels / 255, as skscratch train scales them
    return (scaling.transform(train.data.astype(np.float32)), scaling.transform(test.data.astype(np.float32)),
            train.target, test.target, "Fashion-MNIST images", "acc", test.images, scaling)


class _Progress:
    """One line per epoch; on a terminal, a bar redrawn in place instead."""

    def __init__(self, epochs, stream, width=24):
        self.epochs, self.stream, self.width = epochs, stream, width
        self.live = hasattr(stream, "isatty") and stream.isatty()
        self.start = time.perf_counter()

    def update(self, epoch, text):
        elapsed = time.perf_counter() - self.start
        eta = elapsed / epoch * (self.epochs - epoch)
        if self.live:
            done = round(self.width * epoch / self.epochs)
            bar = "#" * done + "-" * (self.width - done)
            end = "\n" if epoch == self.epochs else ""
            print(f"\r[{bar}] epoch {epoch}/{self.epochs}  {text}  ETA {eta:5.1f}s", end=end,
                  file=self.stream, flush=True)
        else:
            print(f"epoch {epoch:3d}/{self.epochs}  {text}  {elapsed:6.2f}s  ETA {eta:5.1f}s",
                  file=self.stream, flush=True)


def demo(epochs=30, hidden=(64,), seed=0, task="classification", out=sys.stdout, dataset="digits",
         out_dir=None):
    """Train on a dataset bundled with scikit-learn, showing progress; return the test score.

    Parameters
    ----------
    epochs : int, default=30
        Number of passes over the training data.
    hidden : tuple of int, default=(64,)
        Hidden layer sizes.
    seed : int, default=0
        Seeds the split, the initial weights and the shuffling.
    task : {"classification", "regression"}, default="classification"
        "classification" trains an MLPScratchClassifier and scores accuracy;
        "regression" trains an MLPScratchRegressor on the diabetes data and
        scores R^2.
    out : file-like, default=sys.stdout
        Where the progress goes: a bar redrawn in place on a terminal, one
        line per epoch otherwise.
    dataset : {"digits", "fashion-mnist"}, default="digits"
        For classification: scikit-learn's 8x8 digits, or Fashion-MNIST when
        its files are on this machine (``apt-get install dataset-fashion-mnist``).
    out_dir : str or path-like, optional
        If given, the model (``model.npz``, the safe format: a Pipeline of
        the scaler and the network, which takes the raw data; the
        regression's network predicts the target standardised on the
        training part) and, with matplotlib, PNG plots are written there
        (no ``hidden_units.png`` for the 8x8 digits: their weights look like
        noise). Files of an earlier run that this run does not write (the
        classification's ``predictions.png`` after a regression, say) are
        removed, so the folder shows this run; no other file is touched.

    Returns
    -------
    score : float
        Accuracy (classification) or R^2 (regression) on the held-out data.

    Examples
    --------
    >>> import io
    >>> log = io.StringIO()
    >>> accuracy = demo(epochs=10, out=log)
    >>> print(log.getvalue().splitlines()[1])  # doctest: +ELLIPSIS
    epoch   1/10  loss ...  train acc ...  test acc ...  ETA ...
    >>> accuracy > 0.85
    True
    >>> r2 = demo(epochs=10, hidden=(16,), task="regression", out=log)
    >>> r2 > 0.3
    True
    """
    if out_dir is not None:
        _prepare_out_dir(out_dir)
    if task == "regression":
        data = _diabetes(seed)
    else:
        data = _fashion_mnist(seed) if dataset == "fashion-mnist" else _digits(seed)
    X_train, X_test, y_train, y_test, what, metric, images, scaler = data
    model, fit_kwargs, n_outputs = _demo_model(task, hidden, seed, y_train)
    print(
        f"Training a {X_train.shape[1]}-{'-'.join(map(str, hidden))}-{n_outputs} network on "
        f"{len(X_train)} {what}, testing on {len(X_test)}.",
        file=out,
    )
    progress, test_scores = _Progress(epochs, out), []
    for epoch in range(1, epochs + 1):
        outcome = fit_epoch(model, X_train, y_train, **fit_kwargs)
        if outcome == DIVERGED:
            raise CommandError(f"training diverged in epoch {epoch} (the loss blew up)")
        if outcome != DONE:
            raise KeyboardInterrupt  # the estimator stopped on Ctrl-C; so does the demo
        test_scores.append(model.score(X_test, y_test))
        progress.update(epoch, f"loss {last_loss(model):.4f}  train {metric} {model.score(X_train, y_train):.4f}  "
                               f"test {metric} {test_scores[-1]:.4f}")
    score = test_scores[-1]
    name = "accuracy" if task == "classification" else "R^2"
    print(f"Test {name}: {score:.4f}", file=out)
    if out_dir is not None:
        with current_ctrl_c().held():  # a Ctrl-C meanwhile waits until the files are written
            _write_demo_files(model, scaler, out_dir, X_test, y_test, images, test_scores, dataset, task, out)
    return score


def _demo_model(task, hidden, seed, y_train):
    """The demo's estimator, the keyword arguments of its partial_fit, and its number of outputs."""
    from .._estimator.mlp import MLPScratchClassifier, MLPScratchRegressor

    # a RandomState instance (not an int) so that every epoch shuffles anew
    random_state = np.random.RandomState(seed)
    if task == "classification":
        classes = np.unique(y_train)
        return MLPScratchClassifier(hidden_layer_sizes=hidden, random_state=random_state), {"classes": classes}, \
            len(classes)
    # a small data set: smaller batches, a larger step and more L2 than the defaults
    model = MLPScratchRegressor(hidden_layer_sizes=hidden, batch_size=32, learning_rate_init=0.01, alpha=1.0,
                                random_state=random_state)
    return model, {}, 1


def _prepare_out_dir(out_dir):
    """Create ``out_dir`` and make sure files can be written there, before training."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise CommandError(f"{out_dir} exists and is not a folder; give --out-dir a folder") from exc
    except OSError as exc:
        raise CommandError(f"cannot create the folder {out_dir}: {exc.strerror or exc}") from exc
    check_output(out_dir / "model.npz")


def _write_demo_files(model, scaler, out_dir, X_test, y_test, images, test_scores, dataset, task, out):
    """The model (with its scaler) and the plots if matplotlib is there; the demo's other files removed."""
    from sklearn.pipeline import Pipeline

    from ..io.persistence import save

    out_dir = Path(out_dir)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    drawn = () if plt is None else _plots(task, dataset)
    _remove_other_demo_files(out_dir, keep=("model.npz", *drawn))
    save(Pipeline([("scale", scaler), ("mlp", model)]), out_dir / "model.npz")
    if plt is None:
        print(f"Wrote {out_dir / 'model.npz'}; for the plots, pip install 'skscratch[plot]'.", file=out)
        return
    from ..plotting import HiddenUnitsDisplay, PredictionGridDisplay, TrainingHistoryDisplay

    metric = "accuracy" if task == "classification" else "R²"
    grid = units = None
    display = TrainingHistoryDisplay(getattr(model, "loss_curve_", []), test_scores, f"test {metric}").plot()
    display.ax_.set_title(f"Training: test {metric} {test_scores[-1]:.4f}")
    display.figure_.savefig(out_dir / "learning_curves.png", dpi=100)
    if "predictions.png" in drawn:
        grid = PredictionGridDisplay(images[:25], model.predict(X_test[:25]), y_test[:25], class_names(dataset)).plot()
        grid.figure_.suptitle(f"{grid.n_mistakes_} mistakes in 25 test images (in red)")
        grid.figure_.savefig(out_dir / "predictions.png", dpi=100)
    if "hidden_units.png" in drawn:
        units = HiddenUnitsDisplay.from_estimator(model, n_units=min(36, model.coefs_[0].shape[1]))
        units.figure_.suptitle("What the first hidden units respond to")
        units.figure_.savefig(out_dir / "hidden_units.png", dpi=100)
    plt.close("all")
    del display, grid, units  # (None where not drawn)
    gc.collect()  # the figures' finalizers run now, Ctrl-C held, not later where a press would break them
    print(f"Wrote {', '.join(['model.npz', *drawn])} to {out_dir}/", file=out)
    if task == "classification" and "hidden_units.png" not in drawn:
        print(NO_HIDDEN_UNITS, file=out)


def _plots(task, dataset):
    """The plots the demo draws: the learning curves; for classification the predictions, and the
    hidden units where their images show more than noise (28x28 Fashion-MNIST, not the 8x8 digits)."""
    if task != "classification":
        return DEMO_FILES[1:2]
    return DEMO_FILES[1:] if dataset == "fashion-mnist" else DEMO_FILES[1:3]


def _remove_other_demo_files(out_dir, keep):
    """Remove the demo's files (by name, :data:`DEMO_FILES`) other than ``keep``, which an earlier run wrote.

    A file only (or a link, not what it points to): a folder of that name is
    no plot of ours.
    """
    for name in DEMO_FILES:
        path = out_dir / name
        if name not in keep and (path.is_symlink() or path.is_file()):
            path.unlink()

