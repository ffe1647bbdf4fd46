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

The files may be gzip, bzip2, xz or one-member zip files (the skscratch
command reads its ``--data`` through these loaders too). A decompression bomb
is refused before it inflates: an IDX file's header declares its size, which
must fit the compressed file (deflate cannot inflate more than about 1032
times) and ``max_bytes``, and no more than that size (plus one byte) is ever
inflated; a CSV is streamed through a counter that refuses it beyond
``max_bytes`` (1 GiB by default) before pandas parses it.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import decimal
import gzip
import io
import lzma
import os
import re
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch

if TYPE_CHECKING:
    from os import PathLike

    StrPath = str | PathLike[str]

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

# The most bytes a file may hold once decompressed, unless the caller says
# otherwise (max_bytes). MNIST's largest file holds 47 MB, as IDX, or 110 MB
# as CSV.
DEFAULT_MAX_BYTES = 2**30
# deflate emits at most 258 bytes per 2 bits of input: no gzip file inflates
# more than about 1032 times its size
_DEFLATE_MAX_RATIO = 1032
_CHUNK = 2**18  # bytes read at a time when counting or filling


def _decompressed(f, path, max_bytes):
    """(compression or None, a stream of the content, the content's declared size or None) of a file.

    The compression is told by the magic bytes. The declared size is a
    plain regular file's size, or a one-member zip's declared size (which
    must be within ``max_bytes``; reading stops at it).
    """
    magic = f.peek(6)[:6]
    if magic[:2] == b"\x1f\x8b":
        return "gzip", gzip.GzipFile(fileobj=f, mode="rb"), None
    if magic[:3] == b"BZh":
        return "bzip2", bz2.BZ2File(f), None
    if magic == b"\xfd7zXZ\x00":
        return "xz", lzma.LZMAFile(f), None
    if magic[:4] == b"PK\x03\x04":
        archive = zipfile.ZipFile(f)
        members = archive.infolist()
        if len(members) != 1:
            raise ValueError(f"{path}: a zip file of {len(members)} members; a data file zips one.")
        if max_bytes is not None and members[0].file_size > max_bytes:
            raise ValueError(f"{path}: its zip member declares {members[0].file_size} bytes, more than "
                             f"max_bytes={max_bytes}.")
        return "zip", archive.open(members[0]), members[0].file_size
    return None, f, _regular_size(f)


def _regular_size(f):
    """The size of an open file, or None for a stream (a FIFO, a device)."""
    status = os.fstat(f.fileno())
    return status.st_size if stat.S_ISREG(status.st_mode) else None


@contextlib.contextmanager
def _corrupt_data_is_value_error(path, compression):
    """Errors of a decompressor, as a ValueError naming the file."""
    try:
        yield
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
        if compression is None:  # an I/O error of a plain file is no format error
            raise
        raise ValueError(f"{path}: corrupt {compression} data ({exc}).") from exc


def _read_exactly(stream, n):
    """Up to ``n`` bytes: fewer only at the end of the stream."""
    buffer = np.empty(n, dtype=np.uint8)  # filled as the data comes: a lying header costs no memory
    view, done = memoryview(buffer), 0
    while done < n:
        got = stream.readinto(view[done : done + _CHUNK])
        if not got:
            break
        done += got
    return buffer[:done]


def _check_idx_size(path, shape, nbytes, header, compression, content_size, file_size, max_bytes):
    """Refuse a declared size that the file cannot hold, or that exceeds max_bytes, before reading it."""
    if max_bytes is not None and nbytes > max_bytes:
        raise ValueError(f"{path}: the header declares {shape} values ({nbytes} bytes), more than "
                         f"max_bytes={max_bytes}; pass a larger max_bytes (or None) to load it.")
    if content_size is not None and header + nbytes != content_size:
        raise ValueError(f"{path}: the header promises {shape} values ({nbytes} bytes) but the file "
                         f"holds {content_size - header} bytes: it is truncated or corrupt.")
    if compression == "gzip" and file_size is not None and header + nbytes > _DEFLATE_MAX_RATIO * file_size:
        raise ValueError(f"{path}: the header declares {shape} values ({nbytes} bytes), more than a gzip "
                         f"file of {file_size} bytes can hold (deflate inflates at most ~{_DEFLATE_MAX_RATIO} "
                         "times): it is corrupt, or a decompression bomb.")


def _read_idx(path, max_bytes=DEFAULT_MAX_BYTES):
    """The array stored in one IDX file (compressed or not), checked against its header.

    The header's declared size is checked before the data is read, and no
    more than that size and one byte is ever decompressed.
    """
    path = Path(path)
    with open(path, "rb") as f:
        file_size = _regular_size(f)
        with _corrupt_data_is_value_error(path, "compressed"):
            compression, stream, content_size = _decompressed(f, path, max_bytes)
        with _corrupt_data_is_value_error(path, compression):
            magic = stream.read(4)
            if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in _IDX_DTYPES or not 1 <= magic[3] <= 4:
                raise ValueError(f"{path}: bad magic number {magic.hex() or 'none'}; an IDX file starts with "
                                 "two zero bytes, a type code and the number of dimensions (e.g. 00000803).")
            dtype, n_dims = _IDX_DTYPES[magic[2]], magic[3]
            dims = stream.read(4 * n_dims)
            if len(dims) < 4 * n_dims:
                raise ValueError(f"{path}: truncated header.")
            shape = tuple(int(d) for d in np.frombuffer(dims, ">u4"))
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
            _check_idx_size(path, shape, nbytes, 4 + 4 * n_dims, compression, content_size, file_size, max_bytes)
            data = _read_exactly(stream, nbytes)
            more = stream.read(1)
    if len(data) != nbytes or more:
        held = f"{len(data)} bytes" if len(data) != nbytes else "more"
        raise ValueError(f"{path}: the header promises {shape} values ({nbytes} bytes) but the file "
                         f"holds {held}: it is truncated or corrupt.")
    array = data.view(dtype).reshape(shape)
    if dtype.byteorder == ">":  # big-endian on a little-endian machine: swap in place
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array


class _CappedReader(io.RawIOBase):
    """A readable stream of a CSV's bytes that raises a ValueError naming the file once more than ``limit``
    bytes have come out of ``stream``, or at the first byte that is not UTF-8 (with its line).

    pandas decodes the CSV as UTF-8 too, but its error names no file, and a
    position within the piece it was decoding, not in the file.
    """

    def __init__(self, stream, limit, path):
        super().__init__()
        self.stream, self.limit, self.path, self.total = stream, limit, path, 0
        self.lines = 0  # newlines before what is being checked
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def readable(self):
        return True

    def readinto(self, buffer):
        n = self.stream.readinto(buffer)
        if n is None:  # (a non-blocking stream with nothing yet: never a file)
            return None
        self.total += n
        if self.limit is not None and self.total > self.limit:
            raise ValueError(f"{self.path}: it holds more than max_bytes={self.limit} bytes once decompressed; "
                             "pass a larger max_bytes (or None) to load it.")
        self._check_utf8(bytes(memoryview(buffer)[:n]))
        return n

    def _check_utf8(self, data):
        """Refuse ``data``, the bytes that follow those checked so far, at its first byte that is not UTF-8."""
        pending = self.decoder.getstate()[0]  # the start of a character split between two reads
        try:
            self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            seen = pending + data
            line = self.lines + seen.count(b"\n", 0, exc.start) + 1
            what = (f"it ends in the middle of a character, on line {line}" if not data else
                    f"line {line} holds the byte 0x{seen[exc.start]:02x}, which UTF-8 cannot decode there")
            utf16 = self.total == len(data) and seen[:2] in (b"\xff\xfe", b"\xfe\xff")  # its byte order mark
            raise ValueError(f"{self.path}: not UTF-8 text{' (it looks like UTF-16)' if utf16 else ''}: {what}; a "
                             "CSV is read as UTF-8 (ASCII is UTF-8): save it as UTF-8.") from None
        self.lines += data.count(b"\n")


def _gzip_declared_size(f):
    """The size a gzip file's trailer declares (modulo 2**32): the last member's ISIZE."""
    f.seek(-4, os.SEEK_END)
    size = int.from_bytes(f.read(4), "little")
    f.seek(0)
    return size


def _inflates_beyond(stream, limit):
    """Whether ``stream`` holds more than ``limit`` bytes; read in chunks, so in constant memory."""
    total = 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            return True
    return False


@contextlib.contextmanager
def _csv_content(path, max_bytes):
    """A binary stream of a CSV file's content, decompressed, that never gives more than ``max_bytes``.

    A compressed regular file is refused before pandas sees it if it
    inflates beyond ``max_bytes``: at once if its gzip trailer says so,
    else after counting its content in constant memory. A stream (a FIFO)
    is refused when the count passes ``max_bytes`` while pandas reads it.
    """
    with open(path, "rb") as f:
        file_size = _regular_size(f)
        if max_bytes is not None and file_size and f.peek(2)[:2] == b"\x1f\x8b":
            declared = _gzip_declared_size(f)
            if declared > max_bytes:
                raise ValueError(f"{path}: its gzip trailer declares {declared} bytes, more than "
                                 f"max_bytes={max_bytes}; pass a larger max_bytes (or None) to load it.")
        with _corrupt_data_is_value_error(path, "compressed"):
            compression, stream, content_size = _decompressed(f, path, max_bytes)
        with _corrupt_data_is_value_error(path, compression):
            too_large = max_bytes is not None and (
                content_size > max_bytes if content_size is not None
                else file_size is not None and _inflates_beyond(stream, max_bytes)
            )  # fmt: skip
            if too_large:
                raise ValueError(f"{path}: it holds more than max_bytes={max_bytes} bytes once decompressed; "
                                 "pass a larger max_bytes (or None) to load it.")
            if compression is not None and file_size is not None:  # counted: read it again
                f.seek(0)
                compression, stream, content_size = _decompressed(f, path, max_bytes)
            yield io.BufferedReader(_CappedReader(stream, max_bytes, path))


def _pixel_names(n_pixels):
    return [f"pixel{i}" for i in range(n_pixels)]


def _bunch(images, labels, *, return_X_y, as_frame, description, target_names=None):
    """Pack (n, ...) images and optional labels the way sklearn's loaders do."""
    X = images.reshape(len(images), -1)
    feature_names = _pixel_names(X.shape[1])
    frame = None
    if as_frame:
        import pandas as pd  # only for DataFrames: the arrays need NumPy alone

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


def load_idx(images: StrPath, labels: StrPath | None = None, *, return_X_y: bool = False, as_frame: bool = False,
             max_bytes: int | None = DEFAULT_MAX_BYTES) -> Any:
    """Load images (and labels) from IDX files, gzipped or not.

    The files may also be bzip2, xz or one-member zip files. Each file's
    header declares its shape, so its size is checked before the data is
    read: a file whose header promises more than it can hold (a gzip file
    inflates at most ~1032 times its size), or more than ``max_bytes``, is
    refused at once, and nothing beyond the declared size is decompressed.

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
    max_bytes : int or None, default=2**30
        The most bytes of data a file's header may declare (1 GiB; MNIST's
        training images take 47 MB). None for no limit.

    Returns
    -------
    data : Bunch
        ``data`` of shape (n_samples, n_pixels), uint8; ``target`` (or None);
        ``images`` of shape (n_samples, rows, cols); ``feature_names``;
        ``frame`` with ``as_frame=True``. Or ``(data, target)``.

    Raises
    ------
    ValueError
        Naming the file: a bad magic number, a truncated file, a header
        that declares more than the file can hold or than ``max_bytes``,
        corrupt compressed data, or a different number of images and labels.

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
    pixels = _read_idx(images, max_bytes)
    if pixels.ndim < 2:
        raise ValueError(f"{images}: holds {pixels.ndim}-d data, not images.")
    target = None
    if labels is not None:
        target = _read_idx(labels, max_bytes)
        if target.ndim != 1:
            raise ValueError(f"{labels}: holds {target.ndim}-d data, not one label per image.")
        if len(target) != len(pixels):
            raise ValueError(f"{images} has {len(pixels)} images but {labels} has {len(target)} labels.")
    return _bunch(pixels, target, return_X_y=return_X_y, as_frame=as_frame,
                  description=f"Images from {images}" + (f", labels from {labels}" if labels else ""))


def load_mnist_csv(path: StrPath, *, return_X_y: bool = False, as_frame: bool = False,
                   max_bytes: int | None = DEFAULT_MAX_BYTES) -> Any:
    """Load Kaggle's MNIST CSV: a ``label`` column, then ``pixel0`` ... ``pixelN``.

    Kaggle's ``test.csv`` has no label column; then ``target`` is None. The
    file may be gzip, bzip2, xz or a one-member zip; its text is UTF-8 (or
    ASCII).

    Every cell is read exactly as written: a whole number, in decimal (``7``,
    ``+7``, ``007``, ``7.0``, ``7e0``; blanks around it are ignored), a pixel
    from 0 to 255 and a label within 64-bit integers. Anything else is
    refused, never rounded, clipped or wrapped around: ``3.5``,
    ``1.0000000000000000001``, ``nan``, ``inf``, ``0x10``, ``1_000``, an
    empty cell, a pixel ``256`` or a label ``1e20``.

    Parameters
    ----------
    path : str or path-like
    return_X_y : bool, default=False
    as_frame : bool, default=False
    max_bytes : int or None, default=2**30
        The most bytes the CSV may hold once decompressed (1 GiB; Kaggle's
        ``train.csv`` holds 76 MB). A larger file, or a decompression bomb,
        is refused with a ValueError before pandas parses it. None for no
        limit.

    Returns
    -------
    data : Bunch or (data, target)
        As for :func:`load_idx`; ``data`` is uint8 and ``images`` is
        (n, side, side) when the pixel count is a square.

    Raises
    ------
    ValueError
        Naming the file: text that is not UTF-8 (with its line), columns
        other than ``label`` and ``pixel0`` ... in order, a cell that is
        not a whole number, a pixel value outside 0-255 or a label beyond
        64-bit integers (with its row and column, quoted as written),
        corrupt compressed data, or more than ``max_bytes`` of content.

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
    import pandas as pd  # its CSV reader; imported here so that the rest of the package never loads it

    try:
        with _csv_content(path, max_bytes) as content:
            # no header: pandas would rename the header's names (a second pixel0 as pixel0.1, an empty
            # one as "Unnamed: 3"); its first row is the header, as written
            frame = pd.read_csv(content, header=None, dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.ParserError as exc:
        longer = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if longer:
            raise ValueError(f"{path}: not a well-formed CSV: line {longer[2]} has more fields than the header "
                             f"({longer[3]}, not {longer[1]}).") from exc
        raise ValueError(f"{path}: not a well-formed CSV ({' '.join(str(exc).split())}).") from exc
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{path}: empty file.") from exc
    columns = list(frame.iloc[0])
    has_label = columns[0] == "label"
    pixel_columns = columns[1:] if has_label else columns
    if not pixel_columns or pixel_columns != _pixel_names(len(pixel_columns)):
        wrong = next(((j, c) for j, (c, e) in enumerate(zip(pixel_columns, _pixel_names(len(pixel_columns))))
                      if c != e), None)
        if wrong is None:
            raise ValueError(f"{path}: no pixel columns.")
        separator = next((f" (a {name}: the columns of a CSV are separated by commas)" for name, sign in
                          [("semicolon", ";"), ("tab", "\t")] if sign in wrong[1]), "")
        raise ValueError(f"{path}: expected columns 'label' (optional), then pixel0, pixel1, ...; found "
                         f"{wrong[1]!r} as column {wrong[0] + has_label + 1}{separator}.")
    if len(frame) == 1:
        raise ValueError(f"{path} has a header but no rows of pixels.")
    pixels = np.empty((len(frame) - 1, len(pixel_columns)), dtype=np.uint8)
    labels, problems = None, []  # (row, column, message) of each column's first bad cell
    for j, name in enumerate(columns):
        is_label = has_label and j == 0
        cells = frame[j].to_numpy(dtype=object)[1:]
        values, problem = _integer_column(cells, *(_LABEL if is_label else _PIXEL))
        if problem is not None:
            row, text = problem
            problems.append((row, j, f"{path}: row {row + 2}, column {name!r}: {text}"))
        elif is_label:
            labels = values
        else:
            pixels[:, j - has_label] = values
    if problems:
        raise ValueError(min(problems)[2])  # the first bad cell, row by row
    side = int(round(np.sqrt(pixels.shape[1])))
    images = pixels.reshape(-1, side, side) if side * side == pixels.shape[1] else pixels
    return _bunch(images, labels, return_X_y=return_X_y, as_frame=as_frame,
                  description=f"MNIST-style CSV {path}")


# ----------------------------------------------------------------------
# a CSV's cells, read exactly

# A number as a cell may write it: a sign, ASCII digits with a fraction or not, and an exponent or not
# (7, +7, 007, 7.0, 7., 7e0, 0.7e1), with blanks (spaces, tabs) around it or not. Not nan, inf, 0x10,
# 1_000, other scripts' digits or an empty cell.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BLANKS = " \t"
_INT64 = np.iinfo(np.int64)
# what a column holds: its values' name, their least and greatest, their dtype, and what a value beyond is
_LABEL = ("label", int(_INT64.min), int(_INT64.max), np.int64,
          f"does not fit a 64-bit integer (from {_INT64.min} to {_INT64.max})")
_PIXEL = ("pixel value", 0, 255, np.uint8, "is outside 0-255")


def _whole_number(text, low, high):
    """The integer that a cell's text writes, exactly; or what is wrong: "not an integer", or "beyond".

    "beyond" when the integer is not from ``low`` to ``high``.
    """
    text = text.strip(_BLANKS)
    if not _NUMBER.fullmatch(text):
        return "not an integer"
    try:
        value = decimal.Decimal(text)  # exact, however it is written: 1e20, 2.55e2, 3.0000000000000000001
        whole = value == value.to_integral_value()
    except decimal.InvalidOperation:  # an exponent beyond what decimal computes with: 1e99999999999999999999
        mantissa, _, exponent = text.lower().partition("e")
        if not mantissa.strip("+-.0"):
            return 0  # zero, however it is written (0e-99999999999999999999)
        return "not an integer" if exponent.startswith("-") else "beyond"
    if not whole:
        return "not an integer"
    if not low <= value <= high:  # compared exactly, before any conversion: 1e999999999 costs nothing
        return "beyond"
    return int(value)


def _quoted(text, limit=40):
    """A cell's text as a message quotes it: whole, or its two ends when it is long."""
    return repr(text if len(text) <= limit else f"{text[: limit // 2]}...{text[-limit // 2 :]}")


def _integer_column(cells, what, low, high, dtype, beyond):
    """A CSV column of whole numbers from ``low`` to ``high``, each parsed exactly as written.

    Parameters
    ----------
    cells : ndarray of object
        The cells' texts (NaN for a cell missing from a short row).
    what, low, high, dtype, beyond
        As in ``_LABEL`` and ``_PIXEL``.

    Returns
    -------
    values : ndarray of ``dtype``, or None
    problem : (row, message) or None
        The column's first bad cell (its row counted from 0, after the
        header) and what is wrong with it, quoting the cell as written.
    """
    import pandas as pd

    codes, texts = pd.factorize(cells)  # each distinct text is parsed once; a missing cell has code -1
    values = np.zeros(len(texts), dtype=dtype)
    problems = {}  # code: what is wrong with that text
    for code, text in enumerate(texts):
        value = _whole_number(text, low, high) if isinstance(text, str) else None
        if value is None:
            problems[code] = "the row ends before this column: a missing cell is not an integer"
        elif value == "not an integer":
            empty = " (the cell is empty)" if not text.strip(_BLANKS) else ""
            problems[code] = f"{_quoted(text)} is not an integer{empty}"
        elif value == "beyond":
            shown = text.strip(_BLANKS)  # as written: 1e20, never the number a conversion made of it
            problems[code] = f"{what} {shown if len(shown) <= 40 else _quoted(shown)} {beyond}"
        else:
            values[code] = value
    bad = (codes < 0) | np.isin(codes, list(problems))
    if not bad.any():
        return values[codes], None
    row = int(np.argmax(bad))
    return None, (row, problems[int(codes[row])] + ".")


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
    except BaseException:  # a corrupt download, Ctrl-C: no partial file stays behind
        os.unlink(temporary)
        raise
    return path


def fetch_fashion_mnist(data_home: StrPath | None = None, *, subset: Literal["train", "test"] = "train",
                        download_if_missing: bool = True, return_X_y: bool = False, as_frame: bool = False,
                        base_url: str = FASHION_MNIST_URL) -> Any:
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


def fetch_mnist(data_home: StrPath | None = None, *, subset: Literal["train", "test"] = "train",
                download_if_missing: bool = True, return_X_y: bool = False, as_frame: bool = False,
                base_url: str = MNIST_URL) -> Any:
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
