"""The training benchmark's contenders, and how one is measured in a process of its own.

A contender is named ``LIBRARY-DTYPE``: ``skscratch-float32``,
``sklearn-float64``, ``torch-float32``... A baseline contender names a git
revision of skscratch as well, ``skscratch@46bc5cd-float32``: it is the same
trainer, run in a worker whose ``PYTHONPATH`` holds that revision's package
(see ``_baseline.py``).

Each contender runs in a fresh Python process, the benchmark script again in
its hidden ``--worker`` mode (:func:`spawn_worker` starts it,
:func:`worker_main` runs in it), so that its peak memory is its own: the
interpreter, the libraries it imports, the data and the training.
"""

import json
import statistics
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
from _data import load_data
from _machine import library_versions, n_cores, peak_rss_mib, reset_peak_rss, rss_mib, threadpool_info

CONTENDERS = (
    "skscratch-float32",
    "skscratch-float64",
    "sklearn-float32",
    "sklearn-float64",
    "torch-float32",
)
WARMUP_EPOCHS = 1
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


# ----------------------------------------------------------------------
# One trainer class per kind of library


def make_estimator(library, hidden):
    """skscratch's ``MLPScratchClassifier`` or scikit-learn's ``MLPClassifier``, with ``SETTINGS``."""
    if library == "skscratch":
        from skscratch import MLPScratchClassifier as Estimator
    else:
        from sklearn.neural_network import MLPClassifier as Estimator
    return Estimator(
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


class EstimatorTrainer:
    """skscratch's or scikit-learn's MLP classifier, one epoch per ``partial_fit``."""

    def __init__(self, library, hidden, n_features):
        self.model = make_estimator(library, hidden)

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


class MatmulFloor:
    """Only the matrix products of an epoch, in NumPy's BLAS: the floor every contender stands on.

    Per minibatch, the forward pass's ``A_{l-1} W_l`` and the backward pass's
    ``A_{l-1}^T delta_l`` and ``delta_l W_l^T`` (none for the input layer),
    on arrays of the network's shapes, with no other work at all.
    """

    def __init__(self, library, hidden, n_features):
        sizes = [n_features, *hidden, N_CLASSES]
        self.shapes = list(pairwise(sizes))

    def train_epoch(self, X, y):
        batch, dtype = SETTINGS["batch_size"], X.dtype
        weights = [np.full(shape, 0.01, dtype) for shape in self.shapes]
        outputs = [np.empty((batch, fan_out), dtype) for _, fan_out in self.shapes]
        for start in range(0, len(X), batch):
            A = X[start : start + batch]
            rows = len(A)
            activations = [A]
            for W, Z in zip(weights, outputs, strict=True):
                activations.append(np.matmul(activations[-1], W, out=Z[:rows]))
            for layer in range(len(weights) - 1, -1, -1):
                delta = activations[layer + 1]
                _ = activations[layer].T @ delta  # the weights' gradient
                if layer > 0:
                    _ = delta @ weights[layer].T  # the error sent back
        return 0.0


TRAINERS = {"skscratch": EstimatorTrainer, "sklearn": EstimatorTrainer, "torch": TorchTrainer,
            "floor": MatmulFloor}
IMPORTS = {"skscratch": "skscratch", "sklearn": "sklearn.neural_network", "torch": "torch", "floor": "numpy"}


def split_contender(name):
    """``"skscratch-float32"`` -> ``("skscratch", "float32")``; a baseline's revision is
    left out: ``"skscratch@46bc5cd-float32"`` -> ``("skscratch", "float32")``."""
    library, dtype = name.rsplit("-", 1)
    return library.partition("@")[0], dtype


# ----------------------------------------------------------------------
# The worker: one contender, one network, in a process of its own


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


def import_library(library, root=None):
    """Import the contender's library; None if it went as asked, else why not, as a result.

    A baseline contender's skscratch must come from its revision's checkout
    ``root``, not from the installed package.
    """
    module_name = IMPORTS[library]
    try:
        module = __import__(module_name)
    except ImportError as error:
        return {"status": "skipped", "reason": f"{module_name} cannot be imported: {error}"}
    if root is not None and not Path(module.__file__).resolve().is_relative_to(Path(root).resolve()):
        return {
            "status": "failed",
            "reason": f"{module_name} was imported from {module.__file__}, not from {root}",
        }
    return None


def run_contender(config):
    """Measure one contender on one network; the result as a dict."""
    library, dtype = split_contender(config["contender"])
    failure = import_library(library, config.get("package_root"))
    if failure is not None:
        return failure
    X_train, y_train, X_test, y_test = load_data(config["dataset"], np.dtype(dtype))
    trainer = TRAINERS[library](library, tuple(config["network"]), X_train.shape[1])
    rss_before_fit = peak_rss_mib()  # interpreter, libraries and data
    resident, _ = rss_mib()
    reset_peak_rss()
    epoch_times, losses = train(trainer, X_train, y_train, WARMUP_EPOCHS + config["epochs"])
    rss = peak_rss_mib()  # after training, before predicting
    fit_adds = rss_mib()[1] - resident  # the peak during fit, above what was resident before it
    if library == "floor":
        return {"status": "ok", "s_per_epoch": statistics.median(epoch_times[WARMUP_EPOCHS:]),
                "epoch_times_s": epoch_times, "threadpool_info": threadpool_info()}
    predict_times, proba = time_predict_proba(trainer, X_test)
    accuracy = float(np.mean(np.argmax(proba, axis=1) == y_test))
    return {
        "status": "ok",
        "s_per_epoch": statistics.median(epoch_times[WARMUP_EPOCHS:]),
        "accuracy_pct": 100 * accuracy,
        "predict_proba_s": statistics.median(predict_times),
        "peak_rss_mib": rss,
        "peak_rss_before_fit_mib": rss_before_fit,
        "fit_rss_mib": fit_adds,
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


def spawn_worker(script, config, env=None):
    """Run one contender in a fresh Python process; its result, or why it failed.

    The process is ``script --worker CONFIG`` under this interpreter, with the
    environment ``env`` (this process's if None).
    """
    command = [sys.executable, str(Path(script).resolve()), "--worker", json.dumps(config)]
    process = subprocess.run(command, capture_output=True, text=True, env=env)
    sys.stderr.write(process.stderr)  # warnings and tracebacks stay visible
    lines = process.stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        tail = process.stderr.strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
        return {"status": "failed", "reason": tail[0]}
    return json.loads(lines[-1])
