"""Training benchmark: skscratch against scikit-learn and PyTorch on Fashion-MNIST.

Trains the same multi-layer perceptron with five contenders and reports, for
each network:

- **s/epoch**: the median time of ``--epochs`` timed epochs (at least 3),
  after one timed warm-up epoch that is left out of the median;
- **test acc %**: accuracy on the test images after all epochs (warm-up
  included), from the arg-max of ``predict_proba``;
- **predict_proba s**: the median time of 3 calls of ``predict_proba`` on the
  whole test set (10,000 images);
- **peak RSS MiB**: ``ru_maxrss`` of the contender's process, read right after
  training and before predicting. Each contender runs in a process of its own
  (this script again, in a hidden ``--worker`` mode), so the figure is its own:
  the interpreter, the libraries it imports, the data and the training.

The contenders:

``skscratch-float32``, ``skscratch-float64``
    ``skscratch.MLPScratchClassifier`` on float32 / float64 input.
``sklearn-float32``, ``sklearn-float64``
    ``sklearn.neural_network.MLPClassifier`` on float32 / float64 input.
``torch-float32``
    A ``torch.nn.Sequential`` of ``Linear`` and ``ReLU`` layers, trained with
    ``torch.optim.Adam`` and ``CrossEntropyLoss`` on float32 input.

All of them use ReLU hidden layers, Adam with learning rate 1e-3, minibatches
of 200 and an L2 penalty alpha = 1e-4, and shuffle the samples every epoch.
The two estimators train one epoch per ``partial_fit(X, y, classes=...)``
call, with ``random_state=np.random.RandomState(0)`` (an int seed would
reshuffle the same way every epoch); they draw the same initial weights and
the same shuffles. PyTorch is set up to match them:

- weights and biases drawn Glorot-uniform, U(-b, b) with
  b = sqrt(6 / (fan_in + fan_out)), as scikit-learn does for ReLU networks;
- scikit-learn's penalty ``alpha / (2 n) * sum ||W||^2`` (n the batch size,
  weights only) has the gradient ``(alpha / n) W``: Adam's (coupled)
  ``weight_decay = alpha / n`` on the weights and 0 on the biases adds exactly
  that, inside PyTorch's fused optimizer step (the reported loss leaves out
  the penalty term);
- the samples shuffled every epoch by a ``torch.Generator`` seeded 0;
- ``torch.set_num_threads`` set to the number of cores.

Below each network's table, the ratios skscratch / peer, and at the end the
project's targets with PASS or MISS. The machine is shared and timings are
noisy: the targets are reported, never asserted, and the script's exit status
does not depend on them.

Usage
-----
Full run (Fashion-MNIST, networks 512-256 and 100)::

    python benchmarks/bench_train.py

A quick check, a few seconds per contender on 3,000 training and 1,000 test
images, network 64 only; it falls back to scikit-learn's bundled digits
(64 features) when the Fashion-MNIST files are missing::

    python benchmarks/bench_train.py --quick

Some options::

    python benchmarks/bench_train.py --networks 100 --epochs 5
    python benchmarks/bench_train.py --only skscratch-float32 torch-float32

Results go to ``benchmarks/results/bench_train.{json,md}``
(``bench_train_quick.{json,md}`` with ``--quick``), or to ``--out-dir``; the
Markdown is printed to stdout as well.

Notes
-----
The data are the Fashion-MNIST IDX files (gzipped or plain) of Debian's
``dataset-fashion-mnist`` package, ``apt-get install -y dataset-fashion-mnist``,
read from ``--data-dir``. Pixels are scaled to [0, 1].

PyTorch is optional. Without it the ``torch-float32`` contender is skipped and
the ratios against it read "n/a". The CPU build is installed with
``pip install torch==2.13.0``.
"""

import argparse
import gzip
import importlib.metadata
import json
import os
import platform
import resource
import shlex
import statistics
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path

import numpy as np

DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "results"
INSTALL_HINT = "apt-get install -y dataset-fashion-mnist"

CONTENDERS = (
    "skscratch-float32",
    "skscratch-float64",
    "sklearn-float32",
    "sklearn-float64",
    "torch-float32",
)
DEFAULT_NETWORKS = ["512,256", "100"]
QUICK_NETWORKS = ["64"]
QUICK_N_TRAIN, QUICK_N_TEST = 3_000, 1_000
WARMUP_EPOCHS = 1
MIN_EPOCHS = 3
PREDICT_REPEATS = 7

# The training settings every contender shares.
SETTINGS = {
    "activation": "relu",
    "solver": "adam",
    "learning_rate_init": 1e-3,
    "batch_size": 200,
    "alpha": 1e-4,
    "seed": 0,
    "shuffle": True,
}
N_CLASSES = 10

IDX_IMAGES, IDX_LABELS = 2051, 2049  # magic numbers: unsigned bytes, 3 dims / 1 dim
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


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
    """X_train, y_train, X_test, y_test of the data set described by ``dataset``."""
    n_train, n_test = dataset["n_train"], dataset["n_test"]
    if dataset["name"] == "digits":
        return load_digits_split(n_train, n_test, dtype)
    X_train, y_train = load_fashion_split(dataset["data_dir"], "train", n_train, dtype)
    X_test, y_test = load_fashion_split(dataset["data_dir"], "test", n_test, dtype)
    return X_train, y_train, X_test, y_test


# ----------------------------------------------------------------------
# The contenders: one trainer class per kind of library


class EstimatorTrainer:
    """skscratch's or scikit-learn's MLP classifier, one epoch per ``partial_fit``."""

    def __init__(self, library, hidden, n_features):
        if library == "skscratch":
            from skscratch import MLPScratchClassifier as Estimator
        else:
            from sklearn.neural_network import MLPClassifier as Estimator
        self.model = Estimator(
            hidden_layer_sizes=hidden,
            activation=SETTINGS["activation"],
            solver=SETTINGS["solver"],
            learning_rate_init=SETTINGS["learning_rate_init"],
            batch_size=SETTINGS["batch_size"],
            alpha=SETTINGS["alpha"],
            shuffle=SETTINGS["shuffle"],
            # an instance, so that each partial_fit call shuffles differently
            random_state=np.random.RandomState(SETTINGS["seed"]),
        )

    def train_epoch(self, X, y):
        self.model.partial_fit(X, y, classes=np.arange(N_CLASSES))
        return float(self.model.loss_)

    def predict_proba(self, X):
        return self.model.predict_proba(X)


class TorchTrainer:
    """The same network in PyTorch, set up as scikit-learn trains it."""

    def __init__(self, library, hidden, n_features):
        import torch

        self.torch = torch
        torch.set_num_threads(n_cores())
        sizes = [n_features, *hidden, N_CLASSES]
        linears = [torch.nn.Linear(fan_in, fan_out) for fan_in, fan_out in pairwise(sizes)]
        generator = torch.Generator().manual_seed(SETTINGS["seed"])
        with torch.no_grad():
            for layer in linears:
                self._glorot_uniform(layer, generator)
        layers = []
        for layer in linears[:-1]:
            layers += [layer, torch.nn.ReLU()]
        self.model = torch.nn.Sequential(*layers, linears[-1])
        # scikit-learn's penalty alpha / (2 n) ||W||^2 (weights only, n the batch
        # size) has the gradient (alpha / n) W: Adam's coupled weight_decay on
        # the weights, none on the biases, computes exactly that, fused
        decay = SETTINGS["alpha"] / SETTINGS["batch_size"]
        self.optimizer = torch.optim.Adam(
            [
                {"params": [layer.weight for layer in linears], "weight_decay": decay},
                {"params": [layer.bias for layer in linears], "weight_decay": 0.0},
            ],
            lr=SETTINGS["learning_rate_init"],
        )
        self.loss_function = torch.nn.CrossEntropyLoss()
        self.shuffle_generator = torch.Generator().manual_seed(SETTINGS["seed"])

    @staticmethod
    def _glorot_uniform(layer, generator):
        """U(-b, b), b = sqrt(6 / (fan_in + fan_out)), for weights and biases, as sklearn."""
        fan_out, fan_in = layer.weight.shape
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)

    def train_epoch(self, X, y):
        torch = self.torch
        X, y = torch.from_numpy(X), torch.from_numpy(y)
        n_samples, batch_size = len(X), SETTINGS["batch_size"]
        order = torch.randperm(n_samples, generator=self.shuffle_generator)
        self.model.train()
        total_loss = 0.0
        for start in range(0, n_samples, batch_size):
            rows = order[start : start + batch_size]
            loss = self.loss_function(self.model(X[rows]), y[rows])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total_loss += loss.item() * len(rows)
        return total_loss / n_samples

    def predict_proba(self, X):
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            return torch.softmax(self.model(torch.from_numpy(X)), dim=1).numpy()


TRAINERS = {"skscratch": EstimatorTrainer, "sklearn": EstimatorTrainer, "torch": TorchTrainer}
IMPORTS = {"skscratch": "skscratch", "sklearn": "sklearn.neural_network", "torch": "torch"}


def split_contender(name):
    """``"skscratch-float32"`` -> ``("skscratch", "float32")``."""
    library, dtype = name.rsplit("-", 1)
    return library, dtype


# ----------------------------------------------------------------------
# The worker: one contender, one network, in a process of its own


def peak_rss_mib():
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes on macOS
        kib /= 1024
    return kib / 1024


def timed(function, *args):
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def train(trainer, X, y, n_epochs):
    """Train ``n_epochs`` epochs; return the seconds and the loss of each."""
    times, losses = [], []
    for _ in range(n_epochs):
        seconds, loss = timed(trainer.train_epoch, X, y)
        times.append(seconds)
        losses.append(loss)
    return times, losses


def time_predict_proba(trainer, X):
    """Seconds of each of ``PREDICT_REPEATS`` calls, and the last probabilities."""
    times = []
    for _ in range(PREDICT_REPEATS):
        seconds, proba = timed(trainer.predict_proba, X)
        times.append(seconds)
    return times, proba


def library_versions():
    """Installed versions, read from the package metadata (nothing is imported)."""
    versions = {"python": platform.python_version()}
    for package in ("numpy", "scikit-learn", "torch", "skscratch", "threadpoolctl"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def threadpool_info():
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl.threadpool_info()


def run_contender(config):
    """Measure one contender on one network; the result as a dict."""
    library, dtype = split_contender(config["contender"])
    try:
        __import__(IMPORTS[library])
    except ImportError as error:
        return {"status": "skipped", "reason": f"{IMPORTS[library]} cannot be imported: {error}"}

    X_train, y_train, X_test, y_test = load_data(config["dataset"], np.dtype(dtype))
    trainer = TRAINERS[library](library, tuple(config["network"]), X_train.shape[1])
    rss_before_fit = peak_rss_mib()  # interpreter, libraries and data
    epoch_times, losses = train(trainer, X_train, y_train, WARMUP_EPOCHS + config["epochs"])
    rss = peak_rss_mib()  # after training, before predicting
    predict_times, proba = time_predict_proba(trainer, X_test)
    accuracy = float(np.mean(np.argmax(proba, axis=1) == y_test))
    return {
        "status": "ok",
        "s_per_epoch": statistics.median(epoch_times[WARMUP_EPOCHS:]),
        "accuracy_pct": 100 * accuracy,
        "predict_proba_s": statistics.median(predict_times),
        "peak_rss_mib": rss,
        "peak_rss_before_fit_mib": rss_before_fit,
        "warmup_epochs": WARMUP_EPOCHS,
        "epoch_times_s": epoch_times,
        "predict_proba_times_s": predict_times,
        "loss_curve": losses,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "n_features": X_train.shape[1],
        "dtype": str(X_train.dtype),
        "versions": library_versions(),
        "threadpool_info": threadpool_info(),
    }


def worker_main(config_json):
    """Hidden ``--worker`` mode: print the result as one JSON line."""
    result = run_contender(json.loads(config_json))
    print(json.dumps(result))


def spawn_worker(config):
    """Run one contender in a fresh Python process; its result, or why it failed."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(config)]
    process = subprocess.run(command, capture_output=True, text=True)
    sys.stderr.write(process.stderr)  # warnings and tracebacks stay visible
    lines = process.stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        tail = process.stderr.strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
        return {"status": "failed", "reason": tail[0]}
    return json.loads(lines[-1])


# ----------------------------------------------------------------------
# Comparisons and targets


@dataclass(frozen=True)
class Comparison:
    """skscratch's ``metric`` against a peer's: a ratio, or a difference in points."""

    metric: str
    ours: str
    peer: str
    kind: str = "ratio"

    @property
    def key(self):
        sign = "/" if self.kind == "ratio" else "-"
        return f"{self.metric}: {self.ours} {sign} {self.peer}"

    def value(self, results):
        a, b = results.get(self.ours, {}), results.get(self.peer, {})
        if a.get("status") != "ok" or b.get("status") != "ok":
            return None
        if self.kind == "ratio":
            return a[self.metric] / b[self.metric]
        return a[self.metric] - b[self.metric]


COMPARISONS = (
    Comparison("s_per_epoch", "skscratch-float32", "torch-float32"),
    Comparison("s_per_epoch", "skscratch-float32", "sklearn-float32"),
    Comparison("s_per_epoch", "skscratch-float64", "sklearn-float64"),
    Comparison("predict_proba_s", "skscratch-float32", "torch-float32"),
    Comparison("predict_proba_s", "skscratch-float32", "sklearn-float32"),
    Comparison("peak_rss_mib", "skscratch-float32", "sklearn-float32"),
    Comparison("accuracy_pct", "skscratch-float32", "sklearn-float32", "difference"),
    Comparison("accuracy_pct", "skscratch-float64", "sklearn-float64", "difference"),
)
METRIC_LABELS = {
    "s_per_epoch": "s/epoch",
    "predict_proba_s": "predict_proba s",
    "peak_rss_mib": "peak RSS",
    "accuracy_pct": "test accuracy",
}


@dataclass(frozen=True)
class Target:
    """A goal on one comparison: ``value <= limit`` (ratios) or ``value >= limit``
    (accuracy differences), for one network or, if ``network`` is None, for each."""

    label: str
    goal: str
    comparison: Comparison
    limit: float
    network: tuple | None = None

    def passes(self, value):
        if self.comparison.kind == "ratio":
            return value <= self.limit
        return value >= self.limit


def _comparison(metric, ours, peer, kind="ratio"):
    return next(
        c for c in COMPARISONS if (c.metric, c.ours, c.peer, c.kind) == (metric, ours, peer, kind)
    )


F32, F64 = "skscratch-float32", "skscratch-float64"
TARGETS = (
    Target("s/epoch, float32 input, 512-256 net", "≤ 0.80 × PyTorch",
           _comparison("s_per_epoch", F32, "torch-float32"), 0.80, (512, 256)),
    Target("s/epoch, float32 input, 100 net", "≤ 0.80 × PyTorch",
           _comparison("s_per_epoch", F32, "torch-float32"), 0.80, (100,)),
    Target("s/epoch, float64 input, 512-256 net", "≤ 0.60 × sklearn (float64)",
           _comparison("s_per_epoch", F64, "sklearn-float64"), 0.60, (512, 256)),
    Target("predict_proba of the test set, float32", "≤ PyTorch",
           _comparison("predict_proba_s", F32, "torch-float32"), 1.0),
    Target("peak RSS during fit, float32 input", "≤ sklearn on float32 input",
           _comparison("peak_rss_mib", F32, "sklearn-float32"), 1.0),
    Target("test accuracy after the same epochs, float32 input",
           "within 0.5 points of sklearn or better",
           _comparison("accuracy_pct", F32, "sklearn-float32", "difference"), -0.5),
    Target("test accuracy after the same epochs, float64 input",
           "within 0.5 points of sklearn or better",
           _comparison("accuracy_pct", F64, "sklearn-float64", "difference"), -0.5),
)  # fmt: skip


def network_name(network):
    return "-".join(map(str, network))


def evaluate_targets(runs):
    """One row per target and network it applies to; "n/a" where not measured."""
    rows = []
    measured = {tuple(run["network"]): run for run in runs}
    for target in TARGETS:
        networks = [target.network] if target.network else list(measured)
        for network in networks:
            label = (
                target.label if target.network else f"{target.label}, {network_name(network)} net"
            )
            run = measured.get(network)
            value = target.comparison.value(run["results"]) if run else None
            if value is None:
                result = "n/a"
            else:
                result = "PASS" if target.passes(value) else "MISS"
            rows.append({
                "target": label,
                "goal": target.goal,
                "comparison": target.comparison.key,
                "network": list(network),
                "value": value,
                "measured": format_comparison(target.comparison, value)
                if run else "not run",
                "result": result,
            })  # fmt: skip
    return rows


# ----------------------------------------------------------------------
# The machine


def n_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def read_proc_field(path, field):
    """The value of the first ``field : value`` line of a /proc file, or None."""
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() == field:
                    return value.strip()
    except OSError:
        pass
    return None


def machine_info():
    mem_kib = read_proc_field("/proc/meminfo", "MemTotal")
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": read_proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "cores": n_cores(),
        "logical_cpus": os.cpu_count(),
        "memory_gib": round(int(mem_kib.split()[0]) / 2**20, 1) if mem_kib else None,
    }


# ----------------------------------------------------------------------
# The report


def format_comparison(comparison, value):
    if value is None:
        return "n/a"
    if comparison.kind == "ratio":
        return f"{value:.3f}×"
    return f"{value:+.2f} points"


def format_seconds(seconds):
    """Three significant digits, trailing zeros kept: 0.300, 0.0153, 12.4, 125."""
    return f"{seconds:.0f}" if seconds >= 100 else f"{seconds:#.3g}"


METRIC_FORMATS = {
    "s_per_epoch": lambda v: f"{format_seconds(v)} s",
    "predict_proba_s": lambda v: f"{format_seconds(v)} s",
    "peak_rss_mib": lambda v: f"{v:.0f} MiB",
    "accuracy_pct": lambda v: f"{v:.2f} %",
}


def format_metric(metric, result):
    if result.get("status") != "ok":
        return "n/a"
    return METRIC_FORMATS[metric](result[metric])


def contender_row(name, result):
    status = result.get("status")
    if status != "ok":
        return f"| {name} | {status}: {result.get('reason', '')} | | | |"
    return (
        f"| {name} | {format_seconds(result['s_per_epoch'])} | {result['accuracy_pct']:.2f} "
        f"| {format_seconds(result['predict_proba_s'])} | {result['peak_rss_mib']:.0f} |"
    )


def network_section(run):
    name = network_name(run["network"])
    lines = [
        f"## Network {name}",
        "",
        "| contender | s/epoch | test acc % | predict_proba s | peak RSS MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [contender_row(c, result) for c, result in run["results"].items()]
    lines += ["", "| skscratch vs peer | skscratch | peer | ratio or difference |"]
    lines += ["|---|---:|---:|---:|"]
    for comparison in COMPARISONS:
        value = run["comparisons"][comparison.key]
        sign = "/" if comparison.kind == "ratio" else "−"
        label = f"{METRIC_LABELS[comparison.metric]}: {comparison.ours} {sign} {comparison.peer}"
        ours, peer = (
            format_metric(comparison.metric, run["results"].get(name, {}))
            for name in (comparison.ours, comparison.peer)
        )
        lines.append(f"| {label} | {ours} | {peer} | {format_comparison(comparison, value)} |")
    return lines


def dataset_description(dataset, runs):
    first = next(
        (r for run in runs for r in run["results"].values() if r.get("status") == "ok"), {}
    )
    if first:
        sizes = (
            f"{first['n_train']:,} train / {first['n_test']:,} test samples, "
            f"{first['n_features']} features"
        )
    else:
        sizes = "no contender ran"
    if dataset["name"] == "digits":
        return (
            f"scikit-learn's bundled digits (Fashion-MNIST not found in "
            f"{dataset['data_dir']}: quick mode fell back to them), {sizes}"
        )
    return f"Fashion-MNIST from {dataset['data_dir']}, {sizes}"


def markdown_report(report):
    machine, versions = report["machine"], report["versions"]
    lines = [
        "# Training benchmark: skscratch, scikit-learn and PyTorch",
        "",
        f"- Data: {dataset_description(report['dataset'], report['runs'])}; "
        "pixels scaled to [0, 1].",
        f"- Training: ReLU, Adam (learning rate 1e-3), batch 200, alpha 1e-4, "
        f"{WARMUP_EPOCHS} warm-up + {report['epochs']} timed epochs; s/epoch is the "
        f"median of the timed epochs, accuracy is after all of them; predict_proba s "
        f"is the median of {PREDICT_REPEATS} calls on the whole test set; peak RSS is "
        f"each contender's own process, read after training.",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB, {machine['platform']}.",
        f"- Versions: Python {versions['python']}, NumPy {versions['numpy']}, "
        f"scikit-learn {versions['scikit-learn']}, PyTorch {versions['torch'] or 'not installed'}, "
        f"skscratch {versions['skscratch']}.",
        f"- Command: `{report['command']}`",
        f"- Date: {report['created']}",
        "",
        "Timings on a shared machine are noisy; the targets below are reported, not asserted.",
        "",
    ]
    if report["quick"]:
        lines += [
            "**Quick mode**: a small subset, for checking that the benchmark runs; "
            "its numbers say little about the targets.",
            "",
        ]
    for run in report["runs"]:
        lines += network_section(run) + [""]
    lines += ["## Targets", "", "| target | goal | measured | result |", "|---|---|---:|---|"]
    lines += [
        f"| {row['target']} | {row['goal']} | {row['measured']} | {row['result']} |"
        for row in report["targets"]
    ]
    return "\n".join(lines) + "\n"


def publish(report, lines, out_dir, name):
    """Write ``report`` to ``name``.json and ``lines`` (Markdown, ending with the command) to ``name``.md; print them."""
    lines = [*lines, f"Command: `{report['command']}`", ""]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / f"{name}.md").write_text("\n".join(lines))
    print("\n".join(lines))


def write_outputs(report, out_dir, quick):
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "bench_train_quick" if quick else "bench_train"
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    markdown = markdown_report(report)
    md_path.write_text(markdown)
    return json_path, md_path, markdown


# ----------------------------------------------------------------------
# The command line


def parse_network(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a network: give hidden layer sizes like 512,256 or 100."
        )
    return sizes


def parse_epochs(text):
    epochs = int(text)
    if epochs < MIN_EPOCHS:
        raise argparse.ArgumentTypeError(f"--epochs must be at least {MIN_EPOCHS}, got {epochs}.")
    return epochs


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}.")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        description="Time skscratch's MLP against scikit-learn and PyTorch on Fashion-MNIST.",
    )
    parser.add_argument(
        "--networks", nargs="+", type=parse_network, metavar="SIZES",
        help="hidden layer sizes of each network, comma-separated "
        f"(default: {' '.join(DEFAULT_NETWORKS)}; {' '.join(QUICK_NETWORKS)} with --quick)",
    )  # fmt: skip
    parser.add_argument(
        "--epochs", type=parse_epochs, default=MIN_EPOCHS,
        help=f"timed epochs after the warm-up epoch, at least {MIN_EPOCHS} (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--only", nargs="+", choices=CONTENDERS, metavar="CONTENDER",
        help=f"run only these contenders, among: {', '.join(CONTENDERS)}",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help=f"{QUICK_N_TRAIN:,} training and {QUICK_N_TEST:,} test samples, network "
        f"{' '.join(QUICK_NETWORKS)}; falls back to scikit-learn's digits without Fashion-MNIST",
    )  # fmt: skip
    parser.add_argument(
        "--data-dir", default=DEFAULT_DATA_DIR,
        help="directory of the Fashion-MNIST IDX files (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--out-dir", type=Path, default=DEFAULT_OUT_DIR,
        help="where to write the JSON and Markdown results (default: benchmarks/results)",
    )  # fmt: skip
    parser.add_argument(
        "--n-train", type=positive_int, help="use only the first N training samples"
    )
    parser.add_argument("--n-test", type=positive_int, help="use only the first N test samples")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def choose_dataset(args):
    """The data set the workers load; checks the files before anything runs."""
    n_train = args.n_train or (QUICK_N_TRAIN if args.quick else None)
    n_test = args.n_test or (QUICK_N_TEST if args.quick else None)
    dataset = {
        "name": "fashion-mnist",
        "data_dir": args.data_dir,
        "n_train": n_train,
        "n_test": n_test,
    }
    try:
        dataset["available"] = check_fashion_mnist(args.data_dir)
    except FileNotFoundError as error:
        if not args.quick:
            raise SystemExit(f"error: {error}") from None
        print(
            f"note: {error}\nnote: quick mode falls back to scikit-learn's bundled "
            "digits (64 features).",
            file=sys.stderr,
        )
        dataset["name"] = "digits"
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    return dataset


def run_network(network, contenders, dataset, epochs):
    """All the contenders on one network, each in its own process."""
    results = {}
    for contender in contenders:
        print(f"network {network_name(network)}: {contender} ...", file=sys.stderr, flush=True)
        config = {
            "contender": contender,
            "network": list(network),
            "dataset": dataset,
            "epochs": epochs,
        }
        result = spawn_worker(config)
        results[contender] = result
        print(f"    {summary(result)}", file=sys.stderr, flush=True)
    comparisons = {c.key: c.value(results) for c in COMPARISONS}
    return {"network": list(network), "results": results, "comparisons": comparisons}


def summary(result):
    if result["status"] != "ok":
        return f"{result['status']}: {result.get('reason', '')}"
    return (
        f"{format_seconds(result['s_per_epoch'])} s/epoch, "
        f"{result['accuracy_pct']:.2f} % test accuracy, "
        f"predict_proba {format_seconds(result['predict_proba_s'])} s, "
        f"peak RSS {result['peak_rss_mib']:.0f} MiB"
    )


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.worker is not None:
        worker_main(args.worker)
        return 0
    networks = args.networks or [
        parse_network(n) for n in (QUICK_NETWORKS if args.quick else DEFAULT_NETWORKS)
    ]
    contenders = args.only or list(CONTENDERS)
    dataset = choose_dataset(args)
    started = time.perf_counter()
    runs = [run_network(network, contenders, dataset, args.epochs) for network in networks]
    report = {
        "benchmark": "bench_train",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join([sys.executable, *sys.argv]),
        "argv": sys.argv,
        "quick": args.quick,
        "epochs": args.epochs,
        "warmup_epochs": WARMUP_EPOCHS,
        "settings": SETTINGS,
        "dataset": dataset,
        "machine": machine_info(),
        "versions": library_versions(),
        "runs": runs,
        "targets": evaluate_targets(runs),
        "wall_time_s": time.perf_counter() - started,
    }
    json_path, md_path, markdown = write_outputs(report, args.out_dir, args.quick)
    print(markdown)
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    failed = [c for run in runs for c, r in run["results"].items() if r["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
