"""The ``skscratch`` command line: ``skscratch demo`` trains a network and shows the result.

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


def demo(epochs=30, hidden=(64,), seed=0, out=sys.stdout):
    """Train on scikit-learn's bundled digits, one line per epoch; return the test accuracy.

    Parameters
    ----------
    epochs : int, default=30
        Number of passes over the training data.
    hidden : tuple of int, default=(64,)
        Hidden layer sizes.
    seed : int, default=0
        Seeds the split, the initial weights and the shuffling.
    out : file-like, default=sys.stdout
        Where the progress lines go.

    Returns
    -------
    accuracy : float
        Accuracy on the held-out quarter of the digits.

    Examples
    --------
    >>> import io
    >>> log = io.StringIO()
    >>> accuracy = demo(epochs=10, out=log)
    >>> print(log.getvalue().splitlines()[1])  # doctest: +ELLIPSIS
    epoch   1/10  loss ...  train acc ...  test acc ...
    >>> accuracy > 0.85
    True
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from ._mlp import MLPScratchClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    # a RandomState instance (not an int) so that every epoch shuffles anew
    clf = MLPScratchClassifier(hidden_layer_sizes=hidden, random_state=np.random.RandomState(seed))
    classes = np.unique(y)
    print(
        f"Training a {X.shape[1]}-{'-'.join(map(str, hidden))}-{len(classes)} network on "
        f"{len(X_train)} digits (8x8 images), testing on {len(X_test)}.",
        file=out,
    )
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        clf.partial_fit(X_train, y_train, classes=classes)
        print(
            f"epoch {epoch:3d}/{epochs}  loss {clf.loss_:.4f}  "
            f"train acc {clf.score(X_train, y_train):.4f}  "
            f"test acc {clf.score(X_test, y_test):.4f}  "
            f"{time.perf_counter() - start:6.2f}s",
            file=out,
        )
    accuracy = clf.score(X_test, y_test)
    print(f"Test accuracy: {accuracy:.4f}", file=out)
    return accuracy


def main(argv=None):
    """Entry point of the ``skscratch`` console script."""
    parser = argparse.ArgumentParser(
        prog="skscratch",
        description="A multi-layer perceptron written from scratch in NumPy, as a scikit-learn estimator.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo_parser = commands.add_parser(
        "demo",
        help="train on scikit-learn's bundled digits and show the test accuracy",
        description="Train an MLP on scikit-learn's bundled 8x8 digits, printing a line per "
        "epoch, then the accuracy on a held-out quarter of the data.",
    )
    demo_parser.add_argument("--epochs", type=_positive_int, default=30, help="passes over the data (default 30)")
    demo_parser.add_argument("--hidden", type=_hidden_sizes, default=(64,), help="hidden layer sizes, e.g. 128,64 (default 64)")
    demo_parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)

    if args.command == "demo":
        demo(epochs=args.epochs, hidden=args.hidden, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
