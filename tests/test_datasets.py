"""skscratch.datasets on files the tests write, including every corruption and
the download path, served from a local HTTP server on 127.0.0.1."""

import bz2
import contextlib
import functools
import gzip
import http.server
import lzma
import os
import threading
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skscratch import datasets
from skscratch.datasets import fetch_fashion_mnist, fetch_mnist, load_idx, load_mnist_csv

RNG = np.random.RandomState(0)
IMAGES = RNG.randint(0, 256, size=(5, 28, 28)).astype(np.uint8)
LABELS = np.array([3, 0, 9, 1, 3], dtype=np.uint8)


def idx_bytes(array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data, gz=True):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture
def idx_pair(tmp_path):
    return (write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(IMAGES)),
            write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(LABELS)))


# ----------------------------------------------------------------------
# load_idx


@pytest.mark.parametrize("gz", [True, False])
def test_load_idx_reads_what_was_written(tmp_path, gz):
    images = write(tmp_path / "i.idx", idx_bytes(IMAGES), gz)
    labels = write(tmp_path / "l.idx", idx_bytes(LABELS), gz)
    bunch = load_idx(images, labels)
    np.testing.assert_array_equal(bunch.images, IMAGES)
    np.testing.assert_array_equal(bunch.data, IMAGES.reshape(5, 784))
    np.testing.assert_array_equal(bunch.target, LABELS)
    assert bunch.data.dtype == np.uint8 and bunch.feature_names[:2] == ["pixel0", "pixel1"]
    X, y = load_idx(images, labels, return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)
    frame_X, frame_y = load_idx(images, labels, return_X_y=True, as_frame=True)
    assert isinstance(frame_X, pd.DataFrame) and list(frame_X.columns) == bunch.feature_names
    assert frame_y.name == "label" and frame_y.tolist() == LABELS.tolist()
    assert load_idx(images).target is None


def test_load_idx_reads_other_type_codes(tmp_path):
    floats = RNG.rand(3, 4).astype(">f4")
    bunch = load_idx(write(tmp_path / "f.idx", idx_bytes(floats, 0x0D)))
    np.testing.assert_array_equal(bunch.data, floats.astype(np.float32))


def test_load_idx_corruptions_name_the_file_and_the_problem(tmp_path, idx_pair):
    images, labels = idx_pair
    good = idx_bytes(IMAGES)
    cases = {
        "bad-magic.idx": (b"\x00\x01\x08\x03" + good[4:], "bad magic number 00010803"),
        "bad-type.idx": (b"\x00\x00\x07\x03" + good[4:], "bad magic number"),
        "truncated.idx": (good[:-10], r"truncated or corrupt"),
        "too-long.idx": (good + b"\x00", r"truncated or corrupt"),
        "header-only.idx": (good[:6], "truncated header"),
        "empty.idx": (b"", "bad magic number none"),
    }
    for name, (data, message) in cases.items():
        path = write(tmp_path / name, data, gz=False)
        with pytest.raises(ValueError, match=message) as info:
            load_idx(path)
        assert name in str(info.value)
    broken_gzip = tmp_path / "broken.gz"
    broken_gzip.write_bytes(gzip.compress(good)[:-20])
    with pytest.raises(ValueError, match="broken.gz: corrupt gzip"):
        load_idx(broken_gzip)
    fewer = write(tmp_path / "fewer.gz", idx_bytes(LABELS[:4]))
    with pytest.raises(ValueError, match="has 5 images but .*fewer.gz has 4 labels"):
        load_idx(images, fewer)
    with pytest.raises(ValueError, match="not one label per image"):
        load_idx(images, images)
    with pytest.raises(ValueError, match="not images"):
        load_idx(labels)


def gzip_of(prefix, n_bytes, filler=b"\0"):
    """A gzip file of ``prefix`` and ``n_bytes`` of ``filler``, compressed chunk by chunk (a bomb, for large n)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = (filler * (2**20 // len(filler) + 1))[: 2**20]
    parts = [compressor.compress(prefix)]
    parts += [compressor.compress(chunk) for _ in range(n_bytes // 2**20)]
    return b"".join(parts) + compressor.flush()


def refused_fast_and_small(load, *args, match, **kwargs):
    """The loader raises a ValueError matching ``match`` within 1 s, having traced < 4 MiB."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=match):
            load(*args, **kwargs)
        seconds, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 1 and peak < 4 * 2**20, (seconds, peak)


def test_idx_bombs_are_refused_by_their_header_before_inflating(tmp_path):
    # 64 MB of zeros behind a header that declares 10 bytes: 11 bytes are inflated, not 64 MB
    inflates = tmp_path / "inflates-idx1-ubyte.gz"
    inflates.write_bytes(gzip_of(idx_bytes(np.zeros(10, np.uint8)), 64 * 2**20))
    assert inflates.stat().st_size < 100_000
    refused_fast_and_small(load_idx, inflates, match=r"inflates-idx1-ubyte.gz: the header promises \(10,\) "
                           r"values \(10 bytes\) but the file holds more: it is truncated or corrupt")
    # a 35-byte gzip cannot hold 47 MB: deflate inflates at most ~1032 times
    tiny = write(tmp_path / "tiny.gz", bytes([0, 0, 8, 3]) + np.array([60000, 28, 28], ">u4").tobytes())
    refused_fast_and_small(load_idx, tiny, match=r"\(60000, 28, 28\) values \(47040000 bytes\), more than a "
                           "gzip file of .* bytes can hold")
    huge = write(tmp_path / "huge.idx", bytes([0, 0, 8, 3]) + np.array([2**32 - 1] * 3, ">u4").tobytes(), gz=False)
    refused_fast_and_small(load_idx, huge, match="more than max_bytes=1073741824")
    # declared sizes a plain or zipped file does not hold are refused before reading
    plain = write(tmp_path / "plain.idx", bytes([0, 0, 8, 1]) + np.array([2**29], ">u4").tobytes() + b"\0" * 99,
                  gz=False)
    refused_fast_and_small(load_idx, plain, match=r"promises \(536870912,\) values .* holds 99 bytes")
    with zipfile.ZipFile(tmp_path / "images.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("images-idx3-ubyte", idx_bytes(IMAGES)[:-1])
    refused_fast_and_small(load_idx, tmp_path / "images.zip", match="truncated or corrupt")


def test_load_idx_max_bytes_and_other_compressions(tmp_path):
    good = idx_bytes(IMAGES)
    path = write(tmp_path / "images.gz", good)
    with pytest.raises(ValueError, match=r"\(5, 28, 28\) values \(3920 bytes\), more than max_bytes=3000"):
        load_idx(path, max_bytes=3000)
    np.testing.assert_array_equal(load_idx(path, max_bytes=None).images, IMAGES)
    np.testing.assert_array_equal(load_idx(path, max_bytes=3920).images, IMAGES)
    for name, data in [("images.bz2", bz2.compress(good)), ("images.xz", lzma.compress(good))]:
        np.testing.assert_array_equal(load_idx(write(tmp_path / name, data, gz=False)).images, IMAGES)
    with zipfile.ZipFile(tmp_path / "images.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train-images-idx3-ubyte", good)
    np.testing.assert_array_equal(load_idx(tmp_path / "images.zip").images, IMAGES)
    with pytest.raises(ValueError, match="zip member declares 3936 bytes, more than max_bytes=100"):
        load_idx(tmp_path / "images.zip", max_bytes=100)
    wide = RNG.randint(-(2**31), 2**31, size=(3, 4)).astype(">i4")  # big-endian on disk, native in memory
    loaded = load_idx(write(tmp_path / "wide.gz", idx_bytes(wide, 0x0C))).data
    assert loaded.dtype == np.dtype("=i4") and loaded.flags.writeable
    np.testing.assert_array_equal(loaded, wide)


# ----------------------------------------------------------------------
# load_mnist_csv


def kaggle_csv(path, with_label=True, n_pixels=784):
    frame = pd.DataFrame(IMAGES.reshape(5, -1)[:, :n_pixels], columns=[f"pixel{i}" for i in range(n_pixels)])
    if with_label:
        frame.insert(0, "label", LABELS)
    frame.to_csv(path, index=False)
    return path


def test_load_mnist_csv_with_and_without_labels(tmp_path):
    bunch = load_mnist_csv(kaggle_csv(tmp_path / "train.csv"))
    np.testing.assert_array_equal(bunch.data, IMAGES.reshape(5, -1))
    np.testing.assert_array_equal(bunch.images, IMAGES)
    np.testing.assert_array_equal(bunch.target, LABELS)
    X, y = load_mnist_csv(kaggle_csv(tmp_path / "test.csv", with_label=False), return_X_y=True)
    np.testing.assert_array_equal(X, IMAGES.reshape(5, -1))
    assert y is None
    frame = load_mnist_csv(tmp_path / "train.csv", as_frame=True).frame
    assert list(frame.columns[[0, -1]]) == ["pixel0", "label"] and len(frame) == 5


def test_load_mnist_csv_corruptions(tmp_path):
    path = kaggle_csv(tmp_path / "train.csv", n_pixels=4)
    text = path.read_text().splitlines()
    cases = {
        "columns.csv": ([text[0].replace("pixel2", "pixel_2")] + text[1:], "found 'pixel_2'"),
        "order.csv": ([text[0].replace("pixel1,pixel2", "pixel2,pixel1")] + text[1:], "found 'pixel2'"),
        "text.csv": (text[:2] + [text[2].replace(",", ",abc,", 1).rsplit(",", 1)[0]] + text[3:],
                     r"row 3, column 'pixel0': 'abc' is not an integer"),
        "fraction.csv": (text[:1] + ["3,0.5,1,2,3"] + text[2:], r"row 2, column 'pixel0': '0.5'"),
        "empty-cell.csv": (text[:1] + ["3,,1,2,3"] + text[2:], r"row 2, column 'pixel0': '' is not"),
        "range.csv": (text[:1] + ["3,0,256,2,3"] + text[2:], r"row 2, column 'pixel1': pixel value 256"),
        "negative.csv": (text[:1] + ["3,0,1,-1,3"] + text[2:], "pixel value -1 is outside 0-255"),
        "ragged.csv": (text[:1] + ["3,0,1,2,3,4,5"] + text[2:], "more fields than the header"),
        "short.csv": (text[:1] + ["3,0,1"] + text[2:], r"row 2, column 'pixel2': .* is not an integer"),
    }
    for name, (lines, message) in cases.items():
        bad = tmp_path / name
        bad.write_text("\n".join(lines) + "\n")
        with pytest.raises(ValueError, match=message) as info:
            load_mnist_csv(bad)
        assert name in str(info.value)
    (tmp_path / "blank.csv").write_text("")
    with pytest.raises(ValueError, match="blank.csv: empty file"):
        load_mnist_csv(tmp_path / "blank.csv")
    broken = bytearray(gzip.compress(path.read_bytes()))
    broken[len(broken) // 2] ^= 0xFF
    (tmp_path / "broken.csv.gz").write_bytes(bytes(broken))
    with pytest.raises(ValueError, match="broken.csv.gz: corrupt gzip data"):
        load_mnist_csv(tmp_path / "broken.csv.gz")


def test_load_mnist_csv_compressed(tmp_path):
    data = kaggle_csv(tmp_path / "train.csv").read_bytes()
    with zipfile.ZipFile(tmp_path / "train.csv.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.csv", data)
    for name, compressed in [("train.csv.gz", gzip.compress(data)), ("train.csv.bz2", bz2.compress(data)),
                             ("train.csv.xz", lzma.compress(data)), ("train.csv.zip", None)]:
        if compressed is not None:
            (tmp_path / name).write_bytes(compressed)
        X, y = load_mnist_csv(tmp_path / name, return_X_y=True)
        np.testing.assert_array_equal(X, IMAGES.reshape(5, -1))
        np.testing.assert_array_equal(y, LABELS)


def test_csv_bombs_are_refused_before_pandas_parses_them(tmp_path):
    header = b"label," + b",".join(b"pixel%d" % i for i in range(4)) + b"\n"
    # 64 MB of rows in a 70 KB gzip, with max_bytes=1 MB: refused by its gzip trailer, inflating nothing
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip_of(header, 64 * 2**20, b"1,0,0,0,0\n"))
    refused_fast_and_small(load_mnist_csv, bomb, max_bytes=2**20, match="gzip trailer declares 6710.* bytes, more "
                           "than max_bytes=1048576")
    # the default cap, 1 GiB, from the trailer of a 1 KB file: nothing is inflated
    claims = tmp_path / "claims.csv.gz"
    claims.write_bytes(gzip.compress(header)[:-4] + (2**31).to_bytes(4, "little"))
    refused_fast_and_small(load_mnist_csv, claims, match="declares 2147483648 bytes, more than max_bytes=1073741824")
    # a trailer that understates (a second, small gzip member): counted in constant memory, then refused
    hidden = tmp_path / "hidden.csv.gz"
    hidden.write_bytes(gzip_of(header, 16 * 2**20, b"1,0,0,0,0\n") + gzip.compress(b"1,0,0,0,0\n"))
    refused_fast_and_small(load_mnist_csv, hidden, max_bytes=2**20, match="more than max_bytes=1048576 bytes once "
                           "decompressed")
    for name, data in [("bomb.csv.bz2", bz2.compress(header + b"1,0,0,0,0\n" * 200_000)),
                       ("plain.csv", header + b"1,0,0,0,0\n" * 200_000)]:
        (tmp_path / name).write_bytes(data)
        refused_fast_and_small(load_mnist_csv, tmp_path / name, max_bytes=2**20, match="more than max_bytes")
    with zipfile.ZipFile(tmp_path / "bomb.csv.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.csv", header + b"1,0,0,0,0\n" * 200_000)
    refused_fast_and_small(load_mnist_csv, tmp_path / "bomb.csv.zip", max_bytes=2**20,
                           match="zip member declares 2000034 bytes, more than max_bytes=1048576")


class FifoWriter(threading.Thread):
    """Writes ``data`` into a FIFO from a thread; ``finish()`` never hangs, whether the loader read it or not."""

    def __init__(self, fifo, data):
        super().__init__(daemon=True)
        self.fifo, self.data = fifo, data
        self.start()

    def run(self):
        with contextlib.suppress(BrokenPipeError), open(self.fifo, "wb") as out:
            out.write(self.data)

    def finish(self):
        if self.is_alive():  # blocked in open() (nobody read) or in write(): a reader that goes away frees it
            os.close(os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK))
        self.join(5)
        assert not self.is_alive()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_csv_from_a_fifo_streams_and_is_capped(tmp_path):
    header = b"label," + b",".join(b"pixel%d" % i for i in range(4)) + b"\n"
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    writer = FifoWriter(fifo, header + b"7,0,255,12,0\n" * 2)
    try:
        X, y = load_mnist_csv(fifo, return_X_y=True)
    finally:
        writer.finish()
    assert X.tolist() == [[0, 255, 12, 0]] * 2 and y.tolist() == [7, 7]
    writer = FifoWriter(fifo, header + b"7,0,255,12,0\n" * 300_000)
    try:
        with pytest.raises(ValueError, match="more than max_bytes=1048576 bytes once decompressed"):
            load_mnist_csv(fifo, max_bytes=2**20)
    finally:
        writer.finish()


# ----------------------------------------------------------------------
# fetchers: local files first, then the cache, then a download


@pytest.fixture
def no_local_copies(tmp_path, monkeypatch):
    """No Debian copy and an empty scikit-learn data home."""
    monkeypatch.setattr(datasets, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "data-home"))
    return tmp_path / "data-home"


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving a directory of IDX files the test wrote."""
    root = tmp_path / "served"
    root.mkdir()
    for subset, (images_name, labels_name) in datasets._FILES.items():
        n = 5 if subset == "train" else 3
        write(root / images_name, idx_bytes(IMAGES[:n]))
        write(root / labels_name, idx_bytes(LABELS[:n]))
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root, QuietHandler.requests
    httpd.shutdown()
    httpd.server_close()
    thread.join()
    QuietHandler.requests.clear()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, *args):
        QuietHandler.requests.append(self.path)


def test_download_then_cache(no_local_copies, server):
    url, _, requests = server
    X, y = fetch_fashion_mnist(subset="test", base_url=url, return_X_y=True)
    np.testing.assert_array_equal(y, LABELS[:3])
    assert sorted(requests) == ["/t10k-images-idx3-ubyte.gz", "/t10k-labels-idx1-ubyte.gz"]
    cached = no_local_copies / "fashion_mnist"
    assert sorted(p.name for p in cached.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    requests.clear()
    bunch = fetch_fashion_mnist(subset="test", base_url=url)  # from the cache: no request
    assert requests == [] and bunch.target_names[0] == "T-shirt/top"
    np.testing.assert_array_equal(bunch.data, X)
    mnist = fetch_mnist(base_url=url)  # its own cache directory
    np.testing.assert_array_equal(mnist.target, LABELS)
    assert (no_local_copies / "mnist" / "train-labels-idx1-ubyte.gz").is_file()


def test_data_home_comes_first_and_receives_downloads(no_local_copies, server, tmp_path):
    url, _, requests = server
    mine = tmp_path / "mine"
    mine.mkdir()
    write(mine / "train-images-idx3-ubyte", idx_bytes(IMAGES[:2]), gz=False)  # plain files count
    write(mine / "train-labels-idx1-ubyte", idx_bytes(LABELS[:2]), gz=False)
    assert len(fetch_fashion_mnist(mine, base_url=url).data) == 2 and requests == []
    other = tmp_path / "other"
    fetch_mnist(other, subset="test", base_url=url)
    assert (other / "t10k-images-idx3-ubyte.gz").is_file()


def test_offline_with_nothing_found_says_how_to_get_the_files(no_local_copies, tmp_path):
    # a port on 127.0.0.1 that nothing listens on: the download fails at once
    unreachable = "http://127.0.0.1:9/"
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist") as info:
        fetch_fashion_mnist(base_url=unreachable)
    assert "could not be downloaded" in str(info.value)
    assert not list((no_local_copies / "fashion_mnist").iterdir())  # no partial file left
    with pytest.raises(FileNotFoundError, match="not found"):
        fetch_mnist(download_if_missing=False)


def test_a_corrupt_download_is_refused_and_not_cached(no_local_copies, server):
    url, root, _ = server
    (root / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(IMAGES)[:-7]))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        fetch_mnist(base_url=url)
    assert not (no_local_copies / "mnist" / "train-images-idx3-ubyte.gz").exists()


def test_bad_subset(no_local_copies):
    with pytest.raises(ValueError, match="subset must be 'train' or 'test'"):
        fetch_mnist(subset="validation")


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="needs Debian's dataset-fashion-mnist, which .ci/run installs")
def test_fashion_mnist_from_debian(monkeypatch, tmp_path):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    bunch = fetch_fashion_mnist(subset="test", download_if_missing=False)
    assert bunch.data.shape == (10000, 784) and bunch.images.shape == (10000, 28, 28)
    assert np.bincount(bunch.target).tolist() == [1000] * 10
    assert bunch.data.max() == 255


def test_load_mnist_csv_with_a_header_and_no_rows(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("label,pixel0,pixel1\n")
    with pytest.raises(ValueError, match="header.csv has a header but no rows of pixels"):
        load_mnist_csv(path)


def test_an_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    from skscratch import datasets

    def interrupted(url, timeout):
        raise KeyboardInterrupt

    monkeypatch.setattr(datasets.urllib.request, "urlopen", interrupted)
    with pytest.raises(KeyboardInterrupt):
        datasets.fetch_mnist(tmp_path, subset="test")
    assert list(tmp_path.iterdir()) == []
