"""The benchmarks' data: Fashion-MNIST read from its IDX files, or scikit-learn's digits.

The Fashion-MNIST files are those of Debian's ``dataset-fashion-mnist``
package (gzipped or plain), read by a small IDX reader that converts the bytes
chunk by chunk straight into the result, so loading never holds two full-size
copies. Pixels are scaled to [0, 1]. scikit-learn's bundled 8x8 digits stand
in where the files are missing and a benchmark's quick mode allows it.
"""

import gzip
import struct
from pathlib import Path

import numpy as np

DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
INSTALL_HINT = "apt-get install -y dataset-fashion-mnist"

IDX_IMAGES, IDX_LABELS = 2051, 2049  # magic numbers: unsigned bytes, 3 dims / 1 dim
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def add_data_dir_argument(parser):
    """The ``--data-dir`` option every benchmark takes."""
    parser.add_argument(
        "--data-dir", default=DEFAULT_DATA_DIR,
        help="directory of the Fashion-MNIST IDX files (default: %(default)s)",
    )  # fmt: skip


# ----------------------------------------------------------------------
# Fashion-MNIST: a small IDX reader


def find_idx_file(data_dir, name):
    """Path of the IDX file ``name`` in ``data_dir``, gzipped or plain."""
    for candidate in (Path(data_dir) / f"{name}.gz", Path(data_dir) / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"Fashion-MNIST file {name}(.gz) not found in {data_dir}. "
        f"Install the data set with `{INSTALL_HINT}`, or pass --data-dir."
    )


def open_idx(path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx_header(f, path, expected_magic):
    """Read and check an IDX header (magic number, dimensions); return the dimensions."""
    n_dims = expected_magic & 0xFF
    header = f.read(4 + 4 * n_dims)
    if len(header) < 4 + 4 * n_dims:
        raise ValueError(f"{path} is too short to be an IDX file ({len(header)} bytes).")
    (magic,) = struct.unpack(">i", header[:4])
    if magic != expected_magic:
        raise ValueError(
            f"{path} is not an IDX file of the expected kind: magic number "
            f"{magic}, expected {expected_magic}."
        )
    return struct.unpack(f">{n_dims}i", header[4:])


def read_idx(path, expected_magic, n_items=None, dtype=np.uint8, chunk_items=4096):
    """The first ``n_items`` items (all if None) of an IDX file, as ``dtype``.

    The bytes are read and converted chunk by chunk straight into the result,
    so no second full-size copy of the data ever exists: the peak memory of
    loading is the result's own. The file must hold as many bytes as its
    header says (checked to the end when all items are read).
    """
    with open_idx(path) as f:
        dims = read_idx_header(f, path, expected_magic)
        n_total, item_shape = dims[0], tuple(dims[1:])
        n_items = n_total if n_items is None else min(n_items, n_total)
        item_size = int(np.prod(item_shape, dtype=np.int64))
        out = np.empty((n_items, *item_shape), dtype=dtype)
        for start in range(0, n_items, chunk_items):
            stop = min(start + chunk_items, n_items)
            chunk = f.read((stop - start) * item_size)
            if len(chunk) != (stop - start) * item_size:
                raise ValueError(f"{path} ends early: its header {dims} promises more bytes.")
            out[start:stop] = np.frombuffer(chunk, dtype=np.uint8).reshape(-1, *item_shape)
        if n_items == n_total and f.read(1):
            raise ValueError(f"{path} holds more bytes than its header {dims} says.")
    return out


def check_fashion_mnist(data_dir):
    """Check that the four files exist and that their headers agree; return the sizes."""
    sizes = {}
    for split, (images_name, labels_name) in IDX_FILES.items():
        counts = []
        for name, magic in ((images_name, IDX_IMAGES), (labels_name, IDX_LABELS)):
            path = find_idx_file(data_dir, name)
            with open_idx(path) as f:
                counts.append(read_idx_header(f, path, magic)[0])
        if counts[0] != counts[1]:
            raise ValueError(f"{split}: {counts[0]} images but {counts[1]} labels.")
        sizes[split] = counts[0]
    return sizes


# ----------------------------------------------------------------------
# Loading a split


def scale_pixels(raw, max_value, dtype):
    """Pixels as ``dtype`` in [0, 1], converted once, without a float64 detour."""
    X = raw.astype(dtype)
    X /= max_value
    return X


def load_fashion_split(data_dir, split, n_samples, dtype):
    """Images of one split as an (n, 784) ``dtype`` array in [0, 1], and their labels."""
    images_name, labels_name = IDX_FILES[split]
    images = read_idx(find_idx_file(data_dir, images_name), IDX_IMAGES, n_samples, dtype)
    labels = read_idx(find_idx_file(data_dir, labels_name), IDX_LABELS, n_samples, np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{split}: {len(images)} images but {len(labels)} labels.")
    X = images.reshape(len(images), -1)
    X /= 255  # in place
    return X, labels


def load_digits_split(n_train, n_test, dtype):
    """scikit-learn's bundled 8x8 digits (64 features), 75 % / 25 % stratified."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    return (
        scale_pixels(X_train[:n_train], 16, dtype),
        y_train[:n_train].astype(np.int64),
        scale_pixels(X_test[:n_test], 16, dtype),
        y_test[:n_test].astype(np.int64),
    )


def load_data(dataset, dtype):
    """X_train, y_train, X_test, y_test of the data set described by ``dataset``.

    ``dataset`` is a dict with ``name`` ("fashion-mnist" or "digits"),
    ``data_dir``, and ``n_train`` and ``n_test`` (None for all).
    """
    n_train, n_test = dataset["n_train"], dataset["n_test"]
    if dataset["name"] == "digits":
        return load_digits_split(n_train, n_test, dtype)
    X_train, y_train = load_fashion_split(dataset["data_dir"], "train", n_train, dtype)
    X_test, y_test = load_fashion_split(dataset["data_dir"], "test", n_test, dtype)
    return X_train, y_train, X_test, y_test
