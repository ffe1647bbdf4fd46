"""The command line's parser and its ``evaluate`` and ``predict`` commands (see :mod:`skscratch.cli`)."""

import argparse
import contextlib
import dataclasses
import math
import os
import sys
import warnings

import numpy as np

from ._demo import demo
from .._engine.ctrl_c import INTERRUPTED, handling_ctrl_c
from ._files import CommandError, check_features, check_output, load_images, load_model, write_atomically
from ._show import check_images, check_show, write_grid
from ._train import DEFAULTS, TrainOptions, train

__all__ = ["main", "demo", "train", "TrainOptions", "evaluate", "predict", "load_images", "CommandError"]

EXIT_STATUSES = {
    0: "done",
    1: "error: a mistake in the input, or a failure; nothing was written",
    2: "usage error: an unknown option or a bad value",
    3: "train: the loss blew up; the model of the last good epoch was saved",
    INTERRUPTED: "Ctrl-C; train saved the model as it stood if training had started",
}
_OUTCOME_STATUS = {"done": 0, "diverged": 3, "interrupted": INTERRUPTED}  # of train


def evaluate(model_path, data, stream=sys.stdout, *, show=None):
    """Print the accuracy, a classification report and the confusion matrix; return the accuracy.

    Parameters
    ----------
    model_path : str or path-like
        A model saved by ``skscratch train``.
    data : str
        Labelled images: a CSV, an IDX pair, or a data set's name (its test part).
    stream : file-like, default=sys.stdout
        Where the report goes.
    show : str, optional
        Also draw the images with their predicted and true labels, the
        mistakes first, to this .png (or .svg, .pdf): see
        :mod:`skscratch.cli._show`. Checked before the model is loaded.

    Returns
    -------
    accuracy : float
    """
    from sklearn.metrics import classification_report, confusion_matrix

    if show is not None:
        check_show(show, inputs=[model_path, *data.split(",")])
    model = load_model(model_path)
    X, y = load_images(data, subset="test")
    check_features(model, X, data)
    if show is not None:
        check_images(X, data)
    y_pred = model.predict(X)  # the model's own scaling first
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
    if show is not None:
        write_grid(show, X, y_pred, y, data, stream)
    return accuracy


def predict(model_path, data, out, stream=sys.stdout, *, show=None):
    """Write predictions in Kaggle's submission format: ImageId (from 1), Label; return them.

    Parameters
    ----------
    model_path : str or path-like
        A model saved by ``skscratch train``.
    data : str
        Images, with labels or without: a CSV, an IDX file or pair, or a
        data set's name (its test part).
    out : str or path-like
        The CSV to write, whole or not at all.
    stream : file-like, default=sys.stdout
        Where the line that says what was written goes.
    show : str, optional
        Also draw the first images with their predicted labels (and, where
        the data has them, the true ones, the mistakes first) to this .png
        (or .svg, .pdf). Checked before the model is loaded.

    Returns
    -------
    predictions : ndarray of shape (n_images,)
    """
    import pandas as pd

    inputs = [model_path, *data.split(",")]
    check_output(out, inputs=inputs, example="predictions.csv")
    if show is not None:
        check_show(show, inputs=inputs, out=out)
    model = load_model(model_path)
    X, y = load_images(data, subset="test", need_labels=False)
    check_features(model, X, data)
    if show is not None:
        check_images(X, data)
    predictions = model.predict(X)  # the model's own scaling first
    frame = pd.DataFrame({"ImageId": np.arange(1, len(X) + 1), "Label": predictions})
    try:
        write_atomically(out, lambda f: frame.to_csv(f, index=False))
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from exc
    print(f"Wrote {len(frame)} predictions to {out}", file=stream)
    if show is not None:
        write_grid(show, X, predictions, y, data, stream)
    return predictions


# ----------------------------------------------------------------------
# arguments


def _file_name(text):
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file name, got an empty one")
    return text


def _whole_number(text, least):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, got {text!r}")
    return value


def _positive_int(text):
    return _whole_number(text, 1)


def _seed(text):
    value = _whole_number(text, 0)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"must be below 2**32, got {text!r}")
    return value


def _hidden_sizes(text):
    try:
        return tuple(_positive_int(part) for part in text.split(","))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected positive sizes like 64 or 128,64, got {text!r}") from None


def _number(text, accept, what):
    """A finite float that ``accept`` takes, or an error that says it must be ``what``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and accept(value)):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def _positive_number(text):
    return _number(text, lambda value: value > 0, "a finite number above 0")


def _non_negative_number(text):
    return _number(text, lambda value: value >= 0, "a finite number, 0 or more")


def _fraction(text):
    return _number(text, lambda value: 0 <= value < 1, "at least 0 and below 1")


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported in one line (exit status 2), as every other error is."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions to the terminal; a text written in lines (the exit statuses) keeps them."""

    def _fill_text(self, text, width, indent):
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _exit_statuses():
    return "exit status:\n" + "\n".join(f"  {code:<4d}{meaning}" for code, meaning in EXIT_STATUSES.items())


def build_parser():
    """The argument parser of the ``skscratch`` command."""
    parser = _Parser(
        prog="skscratch", epilog=_exit_statuses(), formatter_class=_Formatter,
        description="A multi-layer perceptron written from scratch in NumPy, as a scikit-learn estimator.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_help = ('a Kaggle-style CSV (label, pixel0, ...), an IDX pair "IMAGES,LABELS", an IDX file '
                 'of images, or one of "digits", "mnist", "fashion-mnist"')
    _add_demo(commands)
    _add_train(commands, data_help)
    _add_model_command(
        commands, "evaluate", data_help + " (its test part)",
        help="accuracy, classification report and confusion matrix of a saved model",
        description="Evaluate a saved model on labelled images: accuracy, a classification report and a "
        "confusion matrix.")
    predict_parser = _add_model_command(
        commands, "predict", data_help + "; labels are not needed",
        help="predict labels into a Kaggle submission CSV",
        description="Predict the label of every image and write them in Kaggle's submission format, "
        "ImageId (from 1) and Label. The file is written whole or not at all.")
    predict_parser.add_argument("--out", required=True, type=_file_name, help="the CSV to write (its folder must exist)")
    return parser


def _add_model_command(commands, name, data_help, **texts):
    """A command that runs a saved model on images: its --model and --data."""
    command = commands.add_parser(name, **texts)
    command.add_argument("--model", required=True, type=_file_name,
                         help="a model saved by skscratch train (.npz), which scales the pixels itself; a file of "
                         "a bare network (from an earlier skscratch train) gets pixels / 255")
    command.add_argument("--data", required=True, type=_file_name, help=data_help)
    command.add_argument("--show", type=_file_name, default=None, metavar="FILE",
                         help="also draw 25 of the images with the labels predicted and, where the data has them, "
                         "the true ones, the mistakes first and their count in the title (.png, .svg or .pdf; "
                         "needs matplotlib; its folder must exist); written whole or not at all")
    return command


def _add_demo(commands):
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
    demo_parser.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    demo_parser.add_argument("--dataset", choices=["digits", "fashion-mnist"], default="digits",
                             help="classification data: the bundled digits (default) or Fashion-MNIST, "
                             "when its files are on this machine")
    demo_parser.add_argument("--out-dir", default="skscratch-demo", type=_file_name,
                             help="where to write the model (model.npz: the scaler and the network, which take "
                             "the raw data) and the plots (default ./skscratch-demo). The folder shows the last "
                             "run: the demo's plots of an earlier run that this one does not draw "
                             "(predictions.png, which only classification draws, and hidden_units.png, which only "
                             "--dataset fashion-mnist draws: the weights of 8x8 digits look like noise) are "
                             "removed; no other file is touched")


def _add_train(commands, data_help):
    train_parser = commands.add_parser(
        "train", help="train a classifier on images and save it", epilog=_exit_statuses(),
        formatter_class=_Formatter,
        description="Train an MLP classifier on images, printing the loss and validation accuracy after "
        "every epoch, and save it in skscratch's safe .npz format. Everything is checked before training "
        "starts. Ctrl-C stops training after the current minibatch and saves the model as it is (exit "
        "status 130); if the loss blows up, the model of the last good epoch is saved (exit status 3).")
    train_parser.add_argument("--data", required=True, type=_file_name, help=data_help + " (its training part)")
    train_parser.add_argument("--out", required=True, type=_file_name,
                              help="where to save the model (.npz; its folder must exist)")
    defaults = DEFAULTS
    train_parser.add_argument("--hidden", type=_hidden_sizes, default=defaults["hidden"],
                              help="hidden layer sizes (default %s)" % ",".join(map(str, defaults["hidden"])))
    train_parser.add_argument("--epochs", type=_positive_int, default=defaults["epochs"],
                              help="passes over the data (default %(default)s)")
    train_parser.add_argument("--batch-size", type=_positive_int, default=None,
                              help=f"minibatch size (default {defaults['batch_size']}, or all the images when fewer)")
    train_parser.add_argument("--learning-rate", type=_positive_number, default=defaults["learning_rate"],
                              help="the first epoch's learning rate (default %(default)s)")
    train_parser.add_argument("--schedule", choices=["cosine", "constant"], default=defaults["schedule"],
                              help="the learning rate over the epochs: down to 0 along half a cosine, or "
                              "constant (default %(default)s)")
    train_parser.add_argument("--solver", choices=["adam", "adamw", "sgd"], default=defaults["solver"],
                              help="default %(default)s")
    train_parser.add_argument("--activation", choices=["relu", "tanh", "logistic", "leaky_relu", "elu", "gelu"],
                              default=defaults["activation"], help="hidden activation (default %(default)s)")
    train_parser.add_argument("--alpha", type=_non_negative_number, default=None,
                              help=f"decoupled weight decay with adamw (default {defaults['alpha']}), L2 "
                              "penalty with adam and sgd (default 1e-4)")
    train_parser.add_argument("--dropout", type=_fraction, default=defaults["dropout"],
                              help="dropout rate of the hidden layers, in [0, 1) (default %(default)s)")
    train_parser.add_argument("--validation-fraction", type=_fraction, default=0.1,
                              help="share of the training images held out to report accuracy, in [0, 1) "
                              "(default 0.1)")
    train_parser.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    train_parser.add_argument("--animate", type=_file_name, default=None, metavar="FILE",
                              help="also write an animation of training, a frame per epoch: the first layer's "
                              "weights as images and the learning curves (.gif, or .mp4 with ffmpeg; needs "
                              "matplotlib); written after the model, also after Ctrl-C or a blow-up; Ctrl-C "
                              "while it is drawn stops it between two frames, and no animation is written")


# ----------------------------------------------------------------------
# running a command


def main(argv=None):
    """Run the ``skscratch`` command line; return its exit status.

    Every error is one line on stderr, ``skscratch COMMAND: error: ...``;
    set the environment variable ``SKSCRATCH_DEBUG=1`` to get the traceback
    of an unexpected one instead.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``skscratch``; ``sys.argv[1:]`` by default.

    Returns
    -------
    status : int
        One of ``EXIT_STATUSES``: 0 done, 1 error, 3 diverged (train),
        130 Ctrl-C. (A usage error exits with 2 from argparse.)
    """
    args = build_parser().parse_args(argv)
    command, message = f"skscratch {args.command}", None
    with handling_ctrl_c() as ctrl_c, _warnings_in_one_line(command):
        try:
            status = _run(args)
        except KeyboardInterrupt:
            status = INTERRUPTED
        except BrokenPipeError:
            raise  # the reader went away: the entry point ends quietly
        except Exception as exc:
            if os.environ.get("SKSCRATCH_DEBUG"):
                raise
            status, message = 1, "error: " + _describe(exc, args.command)
            if ctrl_c.delivered and _unexpected(exc):  # C code may report a KeyboardInterrupt as an error
                message = None  # of its own: the press is what ended the command. (A file it could not
                # save, after the press, is said.)
        if ctrl_c.presses:
            status = INTERRUPTED
        if status == INTERRUPTED:
            message = message or "interrupted"
        if message:
            print(f"{command}: {message}", file=sys.stderr, flush=True)
    return status


def _run(args):
    if args.command == "demo":
        regression, fashion = args.task == "regression", args.dataset == "fashion-mnist"
        demo(epochs=args.epochs or (40 if regression else 10 if fashion else 30),
             hidden=args.hidden or ((16,) if regression else (128,) if fashion else (64,)),
             seed=args.seed, task=args.task, dataset=args.dataset, out_dir=args.out_dir)
        return 0
    if args.command == "train":
        options = TrainOptions(**{field.name: getattr(args, field.name) for field in dataclasses.fields(TrainOptions)})
        _, outcome = train(args.data, args.out, options, animate=args.animate)
        return _OUTCOME_STATUS[outcome]
    if args.command == "evaluate":
        evaluate(args.model, args.data, show=args.show)
    else:
        predict(args.model, args.data, args.out, show=args.show)
    return 0


def _unexpected(exc):
    """Whether ``exc`` is none of the errors a command reports as the user's or the system's: a bug, or worse."""
    return not (isinstance(exc, (CommandError, ValueError, MemoryError)) or isinstance(exc, OSError) and exc.strerror)


def _describe(exc, command):
    """One line that says what went wrong."""
    if isinstance(exc, (CommandError, ValueError)):
        text = str(exc)
    elif isinstance(exc, MemoryError):
        text = "out of memory" + ("; choose a smaller --hidden or --batch-size" if command == "train" else "")
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    else:
        text = (f"unexpected {type(exc).__name__}: {exc}. This is a bug in skscratch: please report it with "
                "the command line (SKSCRATCH_DEBUG=1 shows the traceback)")
    return " ".join(text.split())


@contextlib.contextmanager
def _warnings_in_one_line(command):
    """Show each warning once, as one line ``skscratch COMMAND: warning: ...``."""
    shown = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        if text not in shown:
            shown.add(text)
            print(f"{command}: warning: {text}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


if __name__ == "__main__":
    sys.exit(main())
