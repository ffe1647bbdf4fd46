"""The ``skscratch`` command line: ``skscratch demo`` trains a network and shows the result.

``skscratch demo`` classifies scikit-learn's bundled digits; ``skscratch demo
--task regression`` fits the bundled diabetes data.

Also runs as ``python -m skscratch``.
"""

import argparse
import sys
import time

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


def _digits(seed):
    """Scaled digits, split 75/25: the classification demo's data."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return _split_and_scale(X, y, seed, stratify=y) + ("8x8 digit images", "acc")


def _diabetes(seed):
    """Scaled diabetes data (X and y), split 75/25: the regression demo's data."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = _split_and_scale(X, y, seed)
    # R^2 is the same for y and for y scaled: train and score on scaled y
    center, spread = y_train.mean(), y_train.std()
    return X_train, X_test, (y_train - center) / spread, (y_test - center) / spread, "diabetes patients", "R2"


def _split_and_scale(X, y, seed, stratify=None):
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=stratify, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def demo(epochs=30, hidden=(64,), seed=0, task="classification", out=sys.stdout):
    """Train on a dataset bundled with scikit-learn, one line per epoch; return the test score.

    Parameters
    ----------
    epochs : int, default=30
        Number of passes over the training data.
    hidden : tuple of int, default=(64,)
        Hidden layer sizes.
    seed : int, default=0
        Seeds the split, the initial weights and the shuffling.
    task : {"classification", "regression"}, default="classification"
        "classification" trains an MLPScratchClassifier on the 8x8 digits and
        scores accuracy; "regression" trains an MLPScratchRegressor on the
        diabetes data and scores R^2.
    out : file-like, default=sys.stdout
        Where the progress lines go.

    Returns
    -------
    score : float
        Accuracy (classification) or R^2 (regression) on the held-out quarter.

    Examples
    --------
    >>> import io
    >>> log = io.StringIO()
    >>> accuracy = demo(epochs=10, out=log)
    >>> print(log.getvalue().splitlines()[1])  # doctest: +ELLIPSIS
    epoch   1/10  loss ...  train acc ...  test acc ...
    >>> accuracy > 0.85
    True
    >>> r2 = demo(epochs=10, hidden=(16,), task="regression", out=log)
    >>> r2 > 0.3
    True
    """
    from ._mlp import MLPScratchClassifier, MLPScratchRegressor

    X_train, X_test, y_train, y_test, what, metric = (
        _digits(seed) if task == "classification" else _diabetes(seed)
    )
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
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.partial_fit(X_train, y_train, **fit_kwargs)
        print(
            f"epoch {epoch:3d}/{epochs}  loss {model.loss_:.4f}  "
            f"train {metric} {model.score(X_train, y_train):.4f}  "
            f"test {metric} {model.score(X_test, y_test):.4f}  "
            f"{time.perf_counter() - start:6.2f}s",
            file=out,
        )
    score = model.score(X_test, y_test)
    name = "accuracy" if task == "classification" else "R^2"
    print(f"Test {name}: {score:.4f}", file=out)
    return score


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
    args = parser.parse_args(argv)

    if args.command == "demo":
        regression = args.task == "regression"
        demo(
            epochs=args.epochs or (40 if regression else 30),
            hidden=args.hidden or ((16,) if regression else (64,)),
            seed=args.seed,
            task=args.task,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
