"""
Out-of-core training on Dask: a million augmented Fashion-MNIST images
======================================================================

``dask_ml.wrappers.Incremental`` trains an estimator over the chunks of a
Dask array, one ``partial_fit`` call per chunk, in order. The array here is
never held anywhere in full: 1,000,000 images of 784 float32 pixels are
3.1 GB (2.9 GiB), while each of the two Dask workers may use 1 GiB, of which
a worker process with scikit-learn, pandas and dask-ml imported already
takes about 380 MiB. Every chunk is made on a worker when it is needed, from
the 60,000 Fashion-MNIST training images (kept on each worker as uint8,
47 MB): random images, each shifted by up to two pixels and mirrored at
random, then standardised. The workers' peak memory at 1,000,000 rows is
within 6 % of that at 125,000 (``benchmarks/bench_dask_memory.py`` measures
it).

It needs the ``[dask]`` extra (``pip install "skscratch[dask]"``) and the
Fashion-MNIST IDX files (``apt-get install dataset-fashion-mnist``, a
directory named by ``FASHION_MNIST_DIR``, or a download). Set
``SKSCRATCH_QUICK=1`` for a small, fast run, or ``SKSCRATCH_STREAM_ROWS`` for
another number of rows. The script is not run by the documentation build:
it starts a cluster of its own.
"""

# %%
# The augmentation, run on the workers
# ------------------------------------
# One chunk of the stream: random training images, each shifted by up to two
# pixels and mirrored at random, then standardised. Its seed makes it
# reproducible.
import os
import time

import dask
import dask.array as da
import numpy as np
from dask_ml.wrappers import Incremental
from distributed import Client, LocalCluster

from skscratch import MLPScratchClassifier
from skscratch.datasets import fetch_fashion_mnist

CHUNK = 10_000  # rows per chunk: 31 MB of float32
WINDOW = 4  # chunks per call of Incremental.partial_fit
MEMORY_LIMIT = 2**30  # bytes per worker


def augmented_chunk(images, labels, mean, scale, seed, n_rows):
    """``n_rows`` random training images, shifted by up to 2 pixels and mirrored at random."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(len(images), size=n_rows)
    padded = np.pad(images[pick].reshape(n_rows, 28, 28), ((0, 0), (2, 2), (2, 2)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (28, 28), axis=(1, 2))
    rows, cols = rng.integers(5, size=(2, n_rows))
    shifted = windows[np.arange(n_rows), rows, cols]  # (n_rows, 28, 28), a copy
    mirrored = rng.random(n_rows) < 0.5
    shifted[mirrored] = shifted[mirrored, :, ::-1]
    return standardised(shifted.reshape(n_rows, 784), mean, scale), labels[pick]


def standardised(images, mean, scale):
    """uint8 pixels as float32, centred pixel by pixel and sharing one scale."""
    return (images.astype(np.float32) - mean) / scale


def peak_rss_mib():
    """This process's peak resident memory, in MiB.

    Linux's ``VmHWM``: ``ru_maxrss`` would not do, as a process started by
    another inherits its parent's peak.
    """
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


# %%
# The stream: a Dask array that is only a recipe
# ----------------------------------------------
# The training images go to each worker once (``scatter``). Each chunk of the
# stream is one delayed call of ``augmented_chunk`` with its own seed;
# nothing is computed until training asks for it.


def augmented_stream(client, train, n_rows, mean, scale):
    """``X, y``: Dask arrays of ``n_rows`` augmented images and their labels, in chunks of ``CHUNK`` rows."""
    images, labels = client.scatter([train.data, train.target], broadcast=True)
    sizes = [min(CHUNK, n_rows - start) for start in range(0, n_rows, CHUNK)]
    parts = [dask.delayed(augmented_chunk, nout=2, pure=True)(images, labels, mean, scale, seed, size)
             for seed, size in enumerate(sizes)]
    X = da.concatenate([da.from_delayed(part[0], (size, 784), np.float32) for part, size in zip(parts, sizes)])
    y = da.concatenate([da.from_delayed(part[1], (size,), train.target.dtype) for part, size in zip(parts, sizes)])
    return X, y


# %%
# Train, one ``partial_fit`` per chunk, and predict lazily
# --------------------------------------------------------
# A local cluster of two worker processes of one thread each, each allowed
# 1 GiB. Their nannies start them with one BLAS thread
# (``OPENBLAS_NUM_THREADS=1`` and friends), so two tasks at once use two
# cores, not four.
#
# ``Incremental.partial_fit`` passes the chunks of the array it is given to
# the estimator's ``partial_fit``, one after the other, and goes on from the
# model trained so far. It is given ``WINDOW`` chunks at a time: in a single
# call over the whole stream, the free worker would make chunks far faster
# than training uses them, and hold them all until their turn (then spill
# them to disk), see `dask-ml#765 <https://github.com/dask/dask-ml/issues/765>`_.
# A window bounds what is made ahead, so memory does not grow with the rows.
# The chunks are random already, so they are taken in order
# (``shuffle_blocks=False``). ``predict`` on a Dask array returns a Dask
# array, computed chunk by chunk on the workers.


def main():
    quick = os.environ.get("SKSCRATCH_QUICK") == "1"
    n_rows = int(os.environ.get("SKSCRATCH_STREAM_ROWS", 20_000 if quick else 1_000_000))
    data_home = os.environ.get("FASHION_MNIST_DIR")
    train = fetch_fashion_mnist(data_home, subset="train")
    test = fetch_fashion_mnist(data_home, subset="test")
    # pixels centred one by one and sharing one scale (every tenth image is enough for that one number)
    mean, scale = train.data.mean(axis=0, dtype=np.float32), np.float32(train.data[::10].std())

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=MEMORY_LIMIT,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        at_start = client.run(peak_rss_mib)  # the workers' interpreter and imports
        X, y = augmented_stream(client, train, n_rows, mean, scale)
        print(f"stream of {X.shape[0]:,} rows in {X.numblocks[0]} chunks: {X.nbytes / 2**30:.2f} GiB "
              f"of float32, against {MEMORY_LIMIT / 2**20:.0f} MiB per worker")

        model = Incremental(MLPScratchClassifier(hidden_layer_sizes=(64,) if quick else (256,), batch_size=256,
                                                 dtype=np.float32, random_state=0),
                            shuffle_blocks=False)
        started = time.perf_counter()
        for start in range(0, n_rows, WINDOW * CHUNK):
            window = slice(start, start + WINDOW * CHUNK)
            model.partial_fit(X[window], y[window], classes=np.arange(10))
        training_time = time.perf_counter() - started

        test_images = client.scatter(test.data)
        X_test = da.from_delayed(dask.delayed(standardised)(test_images, mean, scale), test.data.shape, np.float32)
        predicted = model.predict(X_test)
        print(f"lazy predictions: {predicted!r}")
        accuracy = float((predicted.compute() == test.target).mean())
        workers = client.run(peak_rss_mib)
    print(f"training time {training_time:.1f} s, held-out accuracy {accuracy:.4f}")
    print(f"peak RSS MiB: workers {' '.join(f'{mib:.0f}' for mib in workers.values())} "
          f"(at start {' '.join(f'{mib:.0f}' for mib in at_start.values())}; limit {MEMORY_LIMIT / 2**20:.0f} each), "
          f"client {peak_rss_mib():.0f}")


# Worker processes import this file too: only the script itself starts a cluster.
if __name__ == "__main__":
    main()
