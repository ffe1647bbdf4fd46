"""Loaders for MNIST-style data, modelled on :mod:`sklearn.datasets`.

- :func:`load_idx` reads the original IDX files, gzipped or not;
- :func:`load_mnist_csv` reads Kaggle's CSV format (a ``label`` column, then
  ``pixel0`` ... ``pixel783``; a test file has no label column);
- :func:`fetch_fashion_mnist` and :func:`fetch_mnist` find the IDX files on
  this machine (a directory you name, Debian's ``dataset-fashion-mnist``
  package, the cache under scikit-learn's data home) and download them only
  when nothing is found and the network is there.

Every loader returns a :class:`~sklearn.utils.Bunch`, or ``(X, y)`` with
``return_X_y=True``, or DataFrames with ``as_frame=True``. Pixels stay
``uint8`` (0-255): divide by 255 to train.
"""

import gzip
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch

__all__ = ["fetch_fashion_mnist", "fetch_mnist", "load_idx", "load_mnist_csv"]

# IDX type codes and the dtypes they mean (big-endian)
_IDX_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip


def _read_idx(path):
    """The array stored in one IDX file (gzipped or not), checked against its header."""
    path = Path(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: corrupt gzip data ({exc}).") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or not 1 <= raw[3] <= 4:
        raise ValueError(f"{path}: bad magic number {raw[:4].hex() or 'none'}; an IDX file starts with "
                         "two zero bytes, a type code and the number of dimensions (e.g. 00000803).")
    dtype, n_dims = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * n_dims
    if len(raw) < header:
        raise ValueError(f"{path}: truncated header.")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=n_dims, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: the header promises {shape} values ({expected} bytes) but the file "
                         f"holds {len(raw) - header} bytes: it is truncated or corrupt.")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _pixel_names(n_pixels):
    return [f"pixel{i}" for i in range(n_pixels)]


def _bunch(images, labels, *, return_X_y, as_frame, description, target_names=None):
    """Pack (n, ...) images and optional labels the way sklearn's loaders do."""
    X = images.reshape(len(images), -1)
    feature_names = _pixel_names(X.shape[1])
    frame = None
    if as_frame:
        X = pd.DataFrame(X, columns=feature_names)
        if labels is not None:
            labels = pd.Series(labels, name="label")
            frame = pd.concat([X, labels], axis=1)
        else:
            frame = X
    if return_X_y:
        return X, labels
    return Bunch(data=X, target=labels, frame=frame, images=images if images.ndim == 3 else None,
                 feature_names=feature_names, target_names=target_names, DESCR=description)


def load_idx(images, labels=None, *, return_X_y=False, as_frame=False):
    """Load images (and labels) from IDX files, gzipped or not.

    Parameters
    ----------
    images : str or path-like
        An IDX file of images (``...-images-idx3-ubyte[.gz]``).
    labels : str or path-like, optional
        The matching IDX file of labels.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Give ``data`` as a DataFrame with columns ``pixel0`` ... and
        ``target`` as a Series named ``label``.

    Returns
    -------
    data : Bunch
        ``data`` of shape (n_samples, n_pixels), uint8; ``target`` (or None);
        ``images`` of shape (n_samples, rows, cols); ``feature_names``;
        ``frame`` with ``as_frame=True``. Or ``(data, target)``.

    Raises
    ------
    ValueError
        Naming the file: a bad magic number, a truncated file, or a
        different number of images and labels.

    Examples
    --------
    >>> import gzip, tempfile, numpy as np
    >>> from skscratch.datasets import load_idx
    >>> path = tempfile.mkdtemp() + "/images-idx3-ubyte.gz"
    >>> header = bytes([0, 0, 8, 3]) + np.array([2, 3, 3], ">u4").tobytes()
    >>> _ = gzip.open(path, "wb").write(header + bytes(range(18)))
    >>> load_idx(path).data.shape
    (2, 9)
    """
    pixels = _read_idx(images)
    if pixels.ndim < 2:
        raise ValueError(f"{images}: holds {pixels.ndim}-d data, not images.")
    target = None
    if labels is not None:
        target = _read_idx(labels)
        if target.ndim != 1:
            raise ValueError(f"{labels}: holds {target.ndim}-d data, not one label per image.")
        if len(target) != len(pixels):
            raise ValueError(f"{images} has {len(pixels)} images but {labels} has {len(target)} labels.")
    return _bunch(pixels, target, return_X_y=return_X_y, as_frame=as_frame,
                  description=f"Images from {images}" + (f", labels from {labels}" if labels else ""))


def load_mnist_csv(path, *, return_X_y=False, as_frame=False):
    """Load Kaggle's MNIST CSV: a ``label`` column, then ``pixel0`` ... ``pixelN``.

    Kaggle's ``test.csv`` has no label column; then ``target`` is None.

    Parameters
    ----------
    path : str or path-like
    return_X_y : bool, default=False
    as_frame : bool, default=False

    Returns
    -------
    data : Bunch or (data, target)
        As for :func:`load_idx`; ``data`` is uint8 and ``images`` is
        (n, side, side) when the pixel count is a square.

    Raises
    ------
    ValueError
        Naming the file: columns other than ``label`` and ``pixel0`` ...
        in order, non-numeric cells (with their row and column), or pixel
        values outside 0-255.

    Examples
    --------
    >>> import tempfile
    >>> from skscratch.datasets import load_mnist_csv
    >>> path = tempfile.mkdtemp() + "/train.csv"
    >>> _ = open(path, "w").write("label,pixel0,pixel1,pixel2,pixel3\\n7,0,255,12,0\\n")
    >>> X, y = load_mnist_csv(path, return_X_y=True)
    >>> X.tolist(), y.tolist()
    ([[0, 255, 12, 0]], [7])
    """
    try:
        with warnings.catch_warnings():  # a row longer than the header: an error, not a warning
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.ParserWarning as exc:
        raise ValueError(f"{path}: not a well-formed CSV: a row has more fields than the header.") from exc
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: not a well-formed CSV ({exc}).") from exc
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{path}: empty file.") from exc
    columns = list(frame.columns)
    has_label = bool(columns) and columns[0] == "label"
    pixel_columns = columns[1:] if has_label else columns
    if not pixel_columns or pixel_columns != _pixel_names(len(pixel_columns)):
        wrong = next((c for c, e in zip(pixel_columns, _pixel_names(len(pixel_columns))) if c != e), None)
        raise ValueError(f"{path}: expected columns 'label' (optional), then pixel0, pixel1, ...; "
                         f"found {wrong!r}" if wrong else f"{path}: no pixel columns.")
    numbers = frame.apply(pd.to_numeric, errors="coerce")
    bad = numbers.isna() | (numbers % 1 != 0)
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise ValueError(f"{path}: row {row + 2}, column {columns[col]!r}: {frame.iat[row, col]!r} is not "
                         "an integer.")
    values = numbers.to_numpy(dtype=np.int64)
    pixels = values[:, 1:] if has_label else values
    if pixels.size and (pixels.min() < 0 or pixels.max() > 255):
        row, col = np.argwhere((pixels < 0) | (pixels > 255))[0]
        raise ValueError(f"{path}: row {row + 2}, column {pixel_columns[col]!r}: pixel value "
                         f"{pixels[row, col]} is outside 0-255.")
    pixels = pixels.astype(np.uint8)
    side = int(round(np.sqrt(pixels.shape[1])))
    images = pixels.reshape(-1, side, side) if side * side == pixels.shape[1] else pixels
    labels = values[:, 0] if has_label else None
    return _bunch(images, labels, return_X_y=return_X_y, as_frame=as_frame,
                  description=f"MNIST-style CSV {path}")


def _fetch(name, base_url, debian_dir, data_home, subset, download_if_missing, return_X_y, as_frame):
    if subset not in _FILES:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    wanted = _FILES[subset]
    cache = Path(get_data_home()) / name
    places = [Path(data_home)] if data_home is not None else []
    places += [p for p in (debian_dir, cache) if p is not None]

    def find(directory):
        found = []
        for file in wanted:  # gzipped or not
            for candidate in (directory / file, directory / file[: -len(".gz")]):
                if candidate.is_file():
                    found.append(candidate)
                    break
        return found if len(found) == 2 else None

    for directory in places:
        files = find(directory)
        if files:
            break
    else:
        if not download_if_missing:
            raise FileNotFoundError(_missing_message(name, places, base_url))
        target = Path(data_home) if data_home is not None else cache
        files = [_download(base_url + file, target / file, name, places) for file in wanted]
    return load_idx(*files, return_X_y=return_X_y, as_frame=as_frame)


def _missing_message(name, places, base_url):
    hint = "`apt-get install dataset-fashion-mnist`, or " if name == "fashion_mnist" else ""
    return (f"{name}: IDX files not found in {', '.join(str(p) for p in places)} and could not be "
            f"downloaded from {base_url}. Get them with {hint}by downloading the four "
            f"*-ubyte.gz files from {base_url} into one of those directories.")


def _download(url, path, name, places):
    """Fetch url to path, atomically: a failed download leaves no partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
            shutil.copyfileobj(response, out)
        _read_idx(temporary)  # refuse a corrupt download before it enters the cache
        os.replace(temporary, path)
    except (urllib.error.URLError, OSError) as exc:
        os.unlink(temporary)
        raise FileNotFoundError(_missing_message(name, places, url.rsplit("/", 1)[0] + "/")
                                + f" ({exc})") from exc
    except ValueError:
        os.unlink(temporary)
        raise
    return path


def fetch_fashion_mnist(data_home=None, *, subset="train", download_if_missing=True, return_X_y=False,
                        as_frame=False, base_url=FASHION_MNIST_URL):
    """Zalando's Fashion-MNIST: 60,000 training and 10,000 test images, 28x28, 10 classes.

    Looks for the IDX files (gzipped or not) in order: ``data_home``; Debian's
    ``/usr/share/datasets/fashion-mnist/`` (``apt-get install
    dataset-fashion-mnist``); ``fashion_mnist/`` under scikit-learn's data home
    (``~/scikit_learn_data``). Only if none has them does it download them,
    into ``data_home`` or that cache. Offline with nothing found, it raises a
    FileNotFoundError that says how to get the files.

    Parameters
    ----------
    data_home : str or path-like, optional
    subset : {"train", "test"}, default="train"
    download_if_missing : bool, default=True
    return_X_y : bool, default=False
    as_frame : bool, default=False
    base_url : str
        Where to download from.

    Returns
    -------
    data : Bunch or (data, target)
        As for :func:`load_idx`, with ``target_names`` the class names.

    Examples
    --------
    With the Debian package installed, ``fetch_fashion_mnist(subset="test")``
    gives the 10,000 test images. Here, a tiny test set written on the spot
    stands in for the real files in ``data_home``:

    >>> import gzip, tempfile, numpy as np
    >>> from pathlib import Path
    >>> from skscratch.datasets import fetch_fashion_mnist
    >>> home = Path(tempfile.mkdtemp())
    >>> def idx(a):
    ...     return bytes([0, 0, 8, a.ndim]) + np.array(a.shape, ">u4").tobytes() + a.tobytes()
    >>> _ = (home / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx(np.zeros((3, 28, 28), np.uint8))))
    >>> _ = (home / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx(np.array([0, 9, 3], np.uint8))))
    >>> bunch = fetch_fashion_mnist(home, subset="test")
    >>> bunch.data.shape, [bunch.target_names[i] for i in bunch.target]
    ((3, 784), ['T-shirt/top', 'Ankle boot', 'Dress'])
    """
    result = _fetch("fashion_mnist", base_url, DEBIAN_FASHION_MNIST, data_home, subset, download_if_missing,
                    return_X_y, as_frame)
    if not return_X_y:
        result.target_names = FASHION_MNIST_CLASSES
    return result


def fetch_mnist(data_home=None, *, subset="train", download_if_missing=True, return_X_y=False,
                as_frame=False, base_url=MNIST_URL):
    """LeCun's MNIST digits: 60,000 training and 10,000 test images, 28x28.

    Looks in ``data_home``, then ``mnist/`` under scikit-learn's data home,
    and downloads only if neither has the IDX files. See
    :func:`fetch_fashion_mnist` for the parameters.

    Examples
    --------
    Offline, with nothing found, it says where it looked and how to get the
    files:

    >>> import tempfile
    >>> from skscratch.datasets import fetch_mnist
    >>> fetch_mnist(tempfile.mkdtemp(), download_if_missing=False)
    Traceback (most recent call last):
    ...
    FileNotFoundError: mnist: IDX files not found in ...
    """
    result = _fetch("mnist", base_url, None, data_home, subset, download_if_missing, return_X_y, as_frame)
    if not return_X_y:
        result.target_names = [str(i) for i in range(10)]
    return result
