"""What the ``skscratch`` commands read and write, checked so that a mistake costs no work.

Inputs (images, a saved model) are read with one-line errors that name the
file. Outputs are checked before any work starts (the folder exists, the
name fits the file system, it is not a folder, it is not an input), and
written to a temporary file that is then renamed, with Ctrl-C held, so an
output is complete or absent.

Pixels are read as 0-255; the network sees them divided by 255
(:func:`pixel_scaling`), and a model file holds that scaling with the
network, as a Pipeline (:func:`with_pixel_scaling`).
"""

import errno
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from .._engine.ctrl_c import current_ctrl_c
from ..io.file_access import replaceable_mode

DATASET_NAMES = ("digits", "mnist", "fashion-mnist")
PIXEL_MAX = 255  # pixels are read from 0 to 255; the network sees them divided by this
CSV_NAME = re.compile(r"\.csv(\.(gz|bz2|xz|zip))?$", re.IGNORECASE)  # Kaggle's CSV, compressed or not
# what a temporary file's name adds to the name of the file it becomes: mkstemp's random part, ".tmp"


class CommandError(Exception):
    """A user's mistake, reported as one line with exit status 1."""


# ----------------------------------------------------------------------
# reading


def load_images(data, subset="train", need_labels=True):
    """Pixels and labels from a CSV, an IDX file or pair, or a data set's name.

    Parameters
    ----------
    data : str
        A Kaggle-style CSV, an IDX file of images, an IDX pair
        ``"IMAGES,LABELS"``, or one of "digits", "mnist", "fashion-mnist".
    subset : {"train", "test"}, default="train"
        For a named data set, which part.
    need_labels : bool, default=True
        Refuse images without labels.

    Returns
    -------
    X : ndarray of shape (n_images, n_pixels), float32
        Pixels from 0 to 255 (digits' 0-16 are rescaled to it).
    y : ndarray of shape (n_images,) or None
        Integers (an IDX file's floats are whole numbers, or refused).

    Raises
    ------
    CommandError
        In one line, naming the file: missing, a folder, unreadable,
        malformed (a CSV: not UTF-8, a cell that is not a whole number
        written exactly, with its row and column), empty, without the
        labels needed, or with labels that are not whole numbers (an IDX
        file of floats).
    """
    try:
        X, y = _read_images(data, subset)
    except FileNotFoundError as exc:
        raise CommandError(f"{exc.filename}: no such file" if exc.filename else str(exc)) from exc
    except IsADirectoryError as exc:
        raise CommandError(f"{exc.filename} is a folder; --data takes a CSV file, an IDX file, an IDX pair "
                           f"IMAGES,LABELS or one of {', '.join(DATASET_NAMES)}") from exc
    except OSError as exc:
        raise CommandError(f"{exc.filename or data}: cannot read it ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if len(X) == 0:
        raise CommandError(f"{data} holds no images")
    if need_labels and y is None:
        raise CommandError(f"{data} has no labels (a 'label' column or a labels IDX file), which this needs")
    if y is not None:
        y = _whole_labels(np.asarray(y), data.split(",", 1)[-1])
    X = np.asarray(X)
    if X.dtype != np.uint8:  # an IDX file may hold any numbers
        outside = ~((X >= 0) & (X <= 255))  # NaN included
        if outside.any():
            raise CommandError(f"{data}: pixel values must be from 0 to 255, found {X[outside][0]:g}")
    return X.astype(np.float32), y


def _whole_labels(y, source):
    """Labels as integers: those of an IDX file of floats must be whole numbers that fit 64 bits, or an error.

    (A CSV's labels are read as integers already, exactly as written.)
    """
    if y.dtype.kind != "f":
        return y
    whole = np.isfinite(y) & (y == np.round(y)) & (y >= -(2.0**63)) & (y < 2.0**63)
    if not whole.all():
        i = int(np.argmin(whole))
        problem = (": a label must be a whole number (a class)" if not np.isfinite(y[i]) or y[i] != np.round(y[i])
                   else ", which does not fit a 64-bit integer")
        raise CommandError(f"{source}: label {i + 1} is {float(y[i])!r}{problem}")
    return y.astype(np.int64)


def _read_images(data, subset):
    from .. import datasets

    if data == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
        X, y = (X_train, y_train) if subset == "train" else (X_test, y_test)
        return X * (255 / 16), y
    if data in ("mnist", "fashion-mnist"):
        fetch = datasets.fetch_mnist if data == "mnist" else datasets.fetch_fashion_mnist
        return fetch(subset=subset, return_X_y=True)
    if "," in data:
        images, labels = data.split(",", 1)
        if not (images.strip() and labels.strip()):
            raise ValueError(f"{data}: an IDX pair is two file names, IMAGES,LABELS")
        return datasets.load_idx(images, labels, return_X_y=True)
    if CSV_NAME.search(data):
        return datasets.load_mnist_csv(data, return_X_y=True)
    return datasets.load_idx(data, return_X_y=True)


def pixel_scaling(n_pixels):
    """The commands' scaling of pixels, ``X / 255``, as a fitted scikit-learn ``MaxAbsScaler``.

    It is fitted on one image whose every pixel is 255, so its ``scale_`` is
    255 in float32, and ``transform`` divides float32 pixels by 255 in
    float32: the very bits of ``X / 255`` (float64 input is divided in
    float64, as ``X / 255`` does). A plain scaler, so the safe format
    stores it like any other.

    Parameters
    ----------
    n_pixels : int

    Returns
    -------
    MaxAbsScaler
    """
    from sklearn.preprocessing import MaxAbsScaler

    return MaxAbsScaler().fit(np.full((1, n_pixels), PIXEL_MAX, dtype=np.float32))


def with_pixel_scaling(network, scaling=None):
    """``Pipeline([("scale", scaling), ("mlp", network)])``: what ``skscratch train`` saves.

    ``scaling`` is :func:`pixel_scaling` of the network's inputs by default.
    """
    from sklearn.pipeline import Pipeline

    if scaling is None:
        scaling = pixel_scaling(network.n_features_in_)
    return Pipeline([("scale", scaling), ("mlp", network)])


def load_model(path):
    """A model saved by ``skscratch train``, or a one-line error that says what is wrong with the file.

    The model takes pixels from 0 to 255 as they are read: a file of
    ``skscratch train`` holds the scaling and the network, as a Pipeline. A
    file that holds a bare network (written by ``skscratch train`` before
    it saved its scaling, or by ``skscratch.save(network)``) gets pixels /
    255, as ``evaluate`` and ``predict`` always gave it.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Pipeline
        The scaling, then an MLPScratchClassifier.
    """
    from sklearn.pipeline import Pipeline

    from ..io.persistence import load

    if os.path.isdir(path):
        raise CommandError(f"{path} is a folder, not a model file (.npz)")
    try:
        model = load(path)
    except FileNotFoundError as exc:
        raise CommandError(f"{path}: no such file") from exc
    except OSError as exc:
        raise CommandError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    bare = not isinstance(model, Pipeline)
    network = model if bare else model[-1]
    if not hasattr(network, "classes_"):
        what = "" if bare else f"Pipeline of {type(model[0]).__name__} and "
        raise CommandError(f"{path} holds a {what}{type(network).__name__}; this command needs a classifier, as "
                           "skscratch train saves")
    return with_pixel_scaling(network) if bare else model  # a bare network: pixels / 255, as always


def check_features(model, X, data):
    """Refuse images of another size than the model was trained on."""
    expected = getattr(model, "n_features_in_", X.shape[1])
    if X.shape[1] != expected:
        raise CommandError(f"{data} has {X.shape[1]} pixels per image but the model was trained on {expected}")


def square_side(n_pixels, data, option, what, advice):
    """The side of a square image of ``n_pixels``, or a CommandError: ``option`` draws ``what`` as squares."""
    side = math.isqrt(n_pixels)
    if side * side != n_pixels:
        raise CommandError(f"{option} draws {what} as square images, but the images of {data} have {n_pixels} "
                           f"pixels, not a square number; {advice}")
    return side


def class_names(data):
    """The class names of a data set that has them (Fashion-MNIST's, by its name), else None.

    Parameters
    ----------
    data : str
        What ``--data`` names.

    Returns
    -------
    list of str or None
        ``names[label]`` is the name of the integer label ``label``.
    """
    if data == "fashion-mnist":
        from ..datasets import FASHION_MNIST_CLASSES

        return FASHION_MNIST_CLASSES
    return None


# ----------------------------------------------------------------------
# writing


def check_output(path, inputs=(), example="model.npz"):
    """Refuse, before any work, an output that could not be written.

    Tries what writing will do: create a temporary file beside ``path``
    (named as :func:`skscratch.save` names its own) and remove it; and,
    if ``path`` exists, open it for writing as ``open(path, "wb")`` would
    (not truncating it): a file made read-only is refused, though the
    rename that replaces it would only ask the folder.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    inputs : sequence of str
        Files the command reads, which the output must not overwrite.
    example : str
        A file name to suggest when ``path`` is a folder.

    Raises
    ------
    CommandError
        The folder is missing or not writable, ``path`` is a folder or one
        of the inputs, a file that ``open(path, "wb")`` could not open (made
        read-only, say), or its name is too long for the file system.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise CommandError(f"{path} is a folder; give a file name, such as {path / example}")
        for name in inputs:
            if path.exists() and Path(name).exists() and path.samefile(name):
                raise CommandError(f"{path} is also an input of this command; write to another file")
        if not path.parent.is_dir():
            missing = "is not a folder" if path.parent.exists() else "does not exist"
            raise CommandError(f"cannot write {path}: the folder {path.parent} {missing}")
        with current_ctrl_c().held():  # never leave the probe behind
            handle, probe = _temporary_beside(path)
            os.close(handle)
            os.unlink(probe)
        replaceable_mode(os.path.realpath(path), str(path))  # a read-only file: open's PermissionError
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise CommandError(_name_too_long(path)) from exc
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc


def same_file(a, b):
    """Whether two existing paths are one file (a hard link, say); False when either is not there (yet)."""
    try:
        return Path(a).samefile(b)
    except OSError:
        return False


def _temporary_beside(path):
    """(file descriptor, name) of a new temporary file beside ``path``, short-named as skscratch.save's."""
    return tempfile.mkstemp(dir=path.parent, prefix=".skscratch-", suffix=".tmp")


def _name_too_long(path):
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    length = len(os.fsencode(path.name))
    shown = path.name if len(path.name) <= 40 else path.name[:20] + "..." + path.name[-12:]
    if length <= limit:  # then a folder in the path is too long
        return f"cannot write {path}: a name in it is too long for the file system"
    return f"the file name {shown} is {length} bytes long; at most {limit} fit here"


def write_atomically(path, write, mode="w"):
    """Write a file whole or not at all: to a temporary file, renamed over ``path``, Ctrl-C held.

    An existing ``path`` that ``open(path, "wb")`` could not open (made
    read-only, say) is refused with the PermissionError ``open`` gives,
    just before the rename, which would only ask the folder.

    Parameters
    ----------
    path : str or path-like
    write : callable
        Called with the open temporary file.
    mode : {"w", "wb"}, default="w"
    """
    path = Path(path)
    with current_ctrl_c().held():
        handle, temporary = _temporary_beside(path)
        try:
            os.chmod(temporary, 0o666 & ~_umask())  # as open() would create it, not mkstemp's 0600
            with os.fdopen(handle, mode, newline="" if "b" not in mode else None) as f:
                write(f)
            replaceable_mode(os.path.realpath(path), str(path))
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
