"""The ``skscratch`` command line.

- ``skscratch demo`` classifies scikit-learn's bundled digits; ``skscratch
  demo --task regression`` fits the bundled diabetes data.
- ``skscratch train --data DATA --out model.npz`` trains a classifier on
  images (a Kaggle-style CSV, an IDX pair, "digits", "mnist" or
  "fashion-mnist") and saves it in the safe format.
- ``skscratch evaluate --model model.npz --data DATA`` prints the accuracy,
  a classification report and the confusion matrix.
- ``skscratch predict --model model.npz --data test.csv --out predictions.csv``
  writes Kaggle's submission format (``ImageId,Label``).

Pixels are read as 0-255 (digits' 0-16 are rescaled to it) and the network
sees them divided by 255, in every command alike. Also runs as
``python -m skscratch``.
"""

import argparse
import signal
import sys
import threading
import time
import warnings

import numpy as np


def _hidden_sizes(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 64 or 128,64, got {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"hidden layer sizes must be positive, got {text!r}")
    return sizes


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _digits(seed):
    """Scaled digits, split 75/25: the classification demo's data."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test, raw_test = _split_and_scale(X, y, seed, stratify=y)
    return X_train, X_test, y_train, y_test, "8x8 digit images", "acc", raw_test.reshape(-1, 8, 8)


def _diabetes(seed):
    """Scaled diabetes data (X and y), split 75/25: the regression demo's data."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test, _ = _split_and_scale(X, y, seed)
    # R^2 is the same for y and for y scaled: train and score on scaled y
    center, spread = y_train.mean(), y_train.std()
    return (X_train, X_test, (y_train - center) / spread, (y_test - center) / spread, "diabetes patients", "R2",
            None)


def _split_and_scale(X, y, seed, stratify=None):
    """75/25 split, standardised on the training part; also the raw test rows (to show as images)."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=stratify, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test, X_test


def _fashion_mnist(seed):
    """Fashion-MNIST's own train/test split, pixels / 255; only if the files are on this machine."""
    from .datasets import fetch_fashion_mnist

    try:
        train = fetch_fashion_mnist(subset="train", download_if_missing=False)
        test = fetch_fashion_mnist(subset="test", download_if_missing=False)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from exc
    return (train.data / np.float32(255), test.data / np.float32(255), train.target, test.target,
            "Fashion-MNIST images", "acc", test.images)


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
        If given, the model (``model.npz``, the safe format) and, when
        matplotlib is installed, PNG plots are written there.

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
    from ._mlp import MLPScratchClassifier, MLPScratchRegressor

    if task == "regression":
        data = _diabetes(seed)
    else:
        data = _fashion_mnist(seed) if dataset == "fashion-mnist" else _digits(seed)
    X_train, X_test, y_train, y_test, what, metric, images = data
    # a RandomState instance (not an int) so that every epoch shuffles anew
    random_state = np.random.RandomState(seed)
    if task == "classification":
        model = MLPScratchClassifier(hidden_layer_sizes=hidden, random_state=random_state)
        fit_kwargs, n_outputs = {"classes": np.unique(y_train)}, len(np.unique(y_train))
    else:
        # a small data set: smaller batches, a larger step and more L2 than the defaults
        model = MLPScratchRegressor(hidden_layer_sizes=hidden, batch_size=32, learning_rate_init=0.01,
                                    alpha=1.0, random_state=random_state)
        fit_kwargs, n_outputs = {}, 1
    print(
        f"Training a {X_train.shape[1]}-{'-'.join(map(str, hidden))}-{n_outputs} network on "
        f"{len(X_train)} {what}, testing on {len(X_test)}.",
        file=out,
    )
    progress, test_scores = _Progress(epochs, out), []
    for epoch in range(1, epochs + 1):
        model.partial_fit(X_train, y_train, **fit_kwargs)
        test_scores.append(model.score(X_test, y_test))
        progress.update(epoch, f"loss {model.loss_:.4f}  train {metric} {model.score(X_train, y_train):.4f}  "
                               f"test {metric} {test_scores[-1]:.4f}")
    score = test_scores[-1]
    name = "accuracy" if task == "classification" else "R^2"
    print(f"Test {name}: {score:.4f}", file=out)
    if out_dir is not None:
        _write_demo_files(model, out_dir, X_test, y_test, images, test_scores, dataset, task, out)
    return score


def _write_demo_files(model, out_dir, X_test, y_test, images, test_scores, dataset, task, out):
    """The model, and the plots if matplotlib is there."""
    from pathlib import Path

    from ._persistence import save

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save(model, out_dir / "model.npz")
    written = ["model.npz"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"Wrote {out_dir / 'model.npz'}; for the plots, pip install 'skscratch[plot]'.", file=out)
        return
    from .plotting import HiddenUnitsDisplay, PredictionGridDisplay, TrainingHistoryDisplay

    metric = "accuracy" if task == "classification" else "R²"
    display = TrainingHistoryDisplay(model.loss_curve_, test_scores, f"test {metric}").plot()
    display.ax_.set_title(f"Training: test {metric} {test_scores[-1]:.4f}")
    display.figure_.savefig(out_dir / "learning_curves.png", dpi=100)
    written.append("learning_curves.png")
    if task == "classification":
        from .datasets import FASHION_MNIST_CLASSES

        names = FASHION_MNIST_CLASSES if dataset == "fashion-mnist" else None
        grid = PredictionGridDisplay(images[:25], model.predict(X_test[:25]), y_test[:25], names).plot()
        grid.figure_.suptitle(f"{grid.n_mistakes_} mistakes in 25 test images (in red)")
        grid.figure_.savefig(out_dir / "predictions.png", dpi=100)
        units = HiddenUnitsDisplay.from_estimator(model, n_units=min(36, model.coefs_[0].shape[1]))
        units.figure_.suptitle("What the first hidden units respond to")
        units.figure_.savefig(out_dir / "hidden_units.png", dpi=100)
        written += ["predictions.png", "hidden_units.png"]
    plt.close("all")
    print(f"Wrote {', '.join(written)} to {out_dir}/", file=out)


# ----------------------------------------------------------------------
# train, evaluate, predict


class CommandError(Exception):
    """A problem to report in one line, with exit status 1."""


def load_images(data, subset="train", need_labels=True):
    """(pixels 0-255 as float, labels or None) from a CSV, an IDX pair or a data set's name."""
    from . import datasets

    try:
        if data == "digits":
            from sklearn.datasets import load_digits
            from sklearn.model_selection import train_test_split

            X, y = load_digits(return_X_y=True)
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
            X, y = (X_train, y_train) if subset == "train" else (X_test, y_test)
            X = X * (255 / 16)
        elif data in ("mnist", "fashion-mnist"):
            fetch = datasets.fetch_mnist if data == "mnist" else datasets.fetch_fashion_mnist
            X, y = fetch(subset=subset, return_X_y=True)
        elif "," in data:
            images, labels = data.split(",", 1)
            X, y = datasets.load_idx(images, labels, return_X_y=True)
        elif data.lower().endswith(".csv"):
            X, y = datasets.load_mnist_csv(data, return_X_y=True)
        else:
            X, y = datasets.load_idx(data, return_X_y=True)
    except FileNotFoundError as exc:
        raise CommandError(f"{exc.filename or exc}: no such file" if exc.filename else str(exc)) from exc
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if need_labels and y is None:
        raise CommandError(f"{data} has no labels (a 'label' column or a labels IDX file), which this needs.")
    return np.asarray(X, dtype=np.float32), y


def _load_model(path):
    from ._persistence import load

    try:
        return load(path)
    except FileNotFoundError as exc:
        raise CommandError(f"{path}: no such file") from exc
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


def train(data, out, *, hidden=(128,), epochs=20, batch_size=128, learning_rate=1e-3, solver="adam",
          activation="relu", alpha=1e-4, dropout=0.0, validation_fraction=0.1, seed=0, stream=sys.stdout):
    """Train a classifier epoch by epoch, printing progress, and save it to ``out``.

    A tenth of the training images (``validation_fraction``) is held out to
    report the validation accuracy after every epoch. On Ctrl-C, training
    stops after the current minibatch and the model is saved as it stands.

    Returns
    -------
    model : MLPScratchClassifier
    interrupted : bool
        Whether Ctrl-C stopped training early (the model was saved anyway).
    """
    from sklearn.model_selection import train_test_split

    from ._mlp import MLPScratchClassifier
    from ._persistence import save

    X, y = load_images(data)
    X /= 255
    if validation_fraction:
        counts = np.unique(y, return_counts=True)[1]
        X, X_val, y, y_val = train_test_split(X, y, test_size=validation_fraction, random_state=seed,
                                              stratify=y if counts.min() >= 2 else None)
    model = MLPScratchClassifier(hidden_layer_sizes=hidden, batch_size=batch_size, learning_rate_init=learning_rate,
                                 solver=solver, activation=activation, alpha=alpha, dropout=dropout,
                                 dtype=np.float32, random_state=np.random.RandomState(seed))
    classes = np.unique(y)
    print(f"Training a {X.shape[1]}-{'-'.join(map(str, hidden))}-{len(classes)} network on {len(X)} images"
          + (f", validating on {len(X_val)}." if validation_fraction else "."), file=stream)
    start, finished, interrupted = time.perf_counter(), 0, []

    def on_interrupt(signum, frame):  # remember it: fit swallows the KeyboardInterrupt and returns
        interrupted.append(signum)
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()  # signals go to the main thread only
    previous = signal.signal(signal.SIGINT, on_interrupt) if main_thread else None
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Training interrupted by user")
            for epoch in range(1, epochs + 1):
                model.partial_fit(X, y, classes=classes)
                if interrupted:
                    break
                finished = epoch
                elapsed = time.perf_counter() - start
                line = f"epoch {epoch:3d}/{epochs}  loss {model.loss_:.4f}"
                if validation_fraction:
                    line += f"  val acc {model.score(X_val, y_val):.4f}"
                line += f"  {elapsed:6.1f}s  ETA {elapsed / epoch * (epochs - epoch):5.1f}s"
                print(line, file=stream, flush=True)
    except KeyboardInterrupt:
        interrupted.append(signal.SIGINT)
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    if interrupted:
        if not hasattr(model, "coefs_"):
            raise CommandError("interrupted before any training: nothing to save")
        # the weights are those of the last finished minibatch: valid, and never NaN
        print(f"Interrupted after {finished} full epoch(s): saving the model as it is.", file=stream)
    save(model, out)
    print(f"Saved the model to {out}", file=stream)
    return model, bool(interrupted)


def evaluate(model_path, data, stream=sys.stdout):
    """Print the accuracy, a classification report and the confusion matrix; return the accuracy."""
    from sklearn.metrics import classification_report, confusion_matrix

    model = _load_model(model_path)
    X, y = load_images(data, subset="test")
    _check_features(model, X, data)
    y_pred = model.predict(X / 255)
    accuracy = float(np.mean(y_pred == y))
    print(f"Accuracy: {accuracy:.4f} on {len(y)} images", file=stream)
    print(classification_report(y, y_pred, digits=4, zero_division=0), file=stream)
    labels = np.union1d(model.classes_, np.unique(y))
    matrix = confusion_matrix(y, y_pred, labels=labels)
    print("Confusion matrix (rows: true, columns: predicted)", file=stream)
    width = max(len(str(v)) for v in [*labels, matrix.max()]) + 1
    print(" " * width + "".join(f"{str(c):>{width}}" for c in labels), file=stream)
    for c, row in zip(labels, matrix):
        print(f"{str(c):>{width}}" + "".join(f"{v:>{width}}" for v in row), file=stream)
    return accuracy


def predict(model_path, data, out, stream=sys.stdout):
    """Write predictions in Kaggle's submission format: ImageId (from 1), Label."""
    import pandas as pd

    model = _load_model(model_path)
    X, _ = load_images(data, subset="test", need_labels=False)
    _check_features(model, X, data)
    predictions = model.predict(X / 255)
    frame = pd.DataFrame({"ImageId": np.arange(1, len(X) + 1), "Label": predictions})
    try:
        frame.to_csv(out, index=False)
    except OSError as exc:
        raise CommandError(f"{out}: cannot write ({exc.strerror})") from exc
    print(f"Wrote {len(frame)} predictions to {out}", file=stream)
    return predictions


def _check_features(model, X, data):
    if X.shape[1] != model.n_features_in_:
        raise CommandError(f"{data} has {X.shape[1]} pixels per image but the model was trained on "
                           f"{model.n_features_in_}.")


def main(argv=None):
    """Entry point of the ``skscratch`` console script."""
    parser = argparse.ArgumentParser(
        prog="skscratch",
        description="A multi-layer perceptron written from scratch in NumPy, as a scikit-learn estimator.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo_parser = commands.add_parser(
        "demo",
        help="train on scikit-learn's bundled digits (or diabetes) and show the test score",
        description="Train an MLP on scikit-learn's bundled 8x8 digits (or, with --task "
        "regression, the diabetes data), printing a line per epoch, then the accuracy "
        "(R^2) on a held-out quarter of the data.",
    )
    demo_parser.add_argument("--task", choices=["classification", "regression"],
                             default="classification", help="what to demonstrate (default classification)")
    demo_parser.add_argument("--epochs", type=_positive_int, default=None,
                             help="passes over the data (default 30, 40 for regression)")
    demo_parser.add_argument("--hidden", type=_hidden_sizes, default=None,
                             help="hidden layer sizes, e.g. 128,64 (default 64, 16 for regression)")
    demo_parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo_parser.add_argument("--dataset", choices=["digits", "fashion-mnist"], default="digits",
                             help="classification data: the bundled digits (default) or Fashion-MNIST, "
                             "when its files are on this machine")
    demo_parser.add_argument("--out-dir", default="skscratch-demo",
                             help="where to write the model and the plots (default ./skscratch-demo)")

    data_help = ('a Kaggle-style CSV (label, pixel0, ...), an IDX pair "IMAGES,LABELS", an IDX file '
                 'of images, or one of "digits", "mnist", "fashion-mnist"')
    train_parser = commands.add_parser(
        "train", help="train a classifier on images and save it",
        description="Train an MLP classifier on images, printing the loss and validation accuracy after "
        "every epoch, and save it in skscratch's safe .npz format. Ctrl-C saves the model as it is.")
    train_parser.add_argument("--data", required=True, help=data_help + " (its training part)")
    train_parser.add_argument("--out", required=True, help="where to save the model (.npz)")
    train_parser.add_argument("--hidden", type=_hidden_sizes, default=(128,), help="hidden layer sizes (default 128)")
    train_parser.add_argument("--epochs", type=_positive_int, default=20, help="passes over the data (default 20)")
    train_parser.add_argument("--batch-size", type=_positive_int, default=128, help="minibatch size (default 128)")
    train_parser.add_argument("--learning-rate", type=_positive_float, default=1e-3, help="default 0.001")
    train_parser.add_argument("--solver", choices=["adam", "adamw", "sgd"], default="adam", help="default adam")
    train_parser.add_argument("--activation", choices=["relu", "tanh", "logistic", "leaky_relu", "elu", "gelu"],
                              default="relu", help="hidden activation (default relu)")
    train_parser.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty / weight decay (default 1e-4)")
    train_parser.add_argument("--dropout", type=float, default=0.0, help="dropout rate of the hidden layers")
    train_parser.add_argument("--validation-fraction", type=float, default=0.1,
                              help="share of the training images held out to report accuracy (default 0.1)")
    train_parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    evaluate_parser = commands.add_parser(
        "evaluate", help="accuracy, classification report and confusion matrix of a saved model",
        description="Evaluate a saved model on labelled images: accuracy, a classification report and a "
        "confusion matrix.")
    evaluate_parser.add_argument("--model", required=True, help="a model saved by skscratch train (.npz)")
    evaluate_parser.add_argument("--data", required=True, help=data_help + " (its test part)")

    predict_parser = commands.add_parser(
        "predict", help="predict labels into a Kaggle submission CSV",
        description="Predict the label of every image and write them in Kaggle's submission format, "
        "ImageId (from 1) and Label.")
    predict_parser.add_argument("--model", required=True, help="a model saved by skscratch train (.npz)")
    predict_parser.add_argument("--data", required=True, help=data_help + "; labels are not needed")
    predict_parser.add_argument("--out", required=True, help="the CSV to write")
    args = parser.parse_args(argv)

    try:
        if args.command == "demo":
            regression, fashion = args.task == "regression", args.dataset == "fashion-mnist"
            demo(
                epochs=args.epochs or (40 if regression else 10 if fashion else 30),
                hidden=args.hidden or ((16,) if regression else (128,) if fashion else (64,)),
                seed=args.seed,
                task=args.task,
                dataset=args.dataset,
                out_dir=args.out_dir,
            )
        elif args.command == "train":
            if not 0 <= args.dropout < 1 or not 0 <= args.validation_fraction < 1:
                parser.error("--dropout and --validation-fraction must be in [0, 1)")
            _, interrupted = train(args.data, args.out, hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size,
                  learning_rate=args.learning_rate, solver=args.solver, activation=args.activation,
                  alpha=args.alpha, dropout=args.dropout, validation_fraction=args.validation_fraction,
                  seed=args.seed)
            if interrupted:
                return 130  # the shell's code for Ctrl-C, after the model was saved
        elif args.command == "evaluate":
            evaluate(args.model, args.data)
        else:
            predict(args.model, args.data, args.out)
    except CommandError as exc:
        print(f"skscratch {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
