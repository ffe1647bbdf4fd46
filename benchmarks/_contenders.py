"""The training benchmark's contenders, and how one is measured in a process of its own.

A contender is named ``LIBRARY-DTYPE``: ``skscratch-float32``,
``sklearn-float64``, ``torch-float32``... A baseline contender names a git
revision of skscratch as well, ``skscratch@46bc5cd-float32``: it is the same
trainer, run in a worker whose ``PYTHONPATH`` holds that revision's package
(see ``_baseline.py``).

The array-library contenders (``ARRAY_API_CONTENDERS``, run only when asked)
name where their arrays live in the LIBRARY part:
``skscratch-torch-cpu-float32``, ``skscratch-torch-cuda-float32`` and
``skscratch-cupy-float32`` are skscratch on PyTorch tensors (CPU, CUDA) and on
CuPy arrays, under scikit-learn's ``array_api_dispatch=True``;
``torch-cuda-float32`` is the ``torch-float32`` network on CUDA. Their
LIBRARY is a key of ``DEVICES`` (see ``_devices.py``).

Each contender runs in a fresh Python process, the benchmark script again in
its hidden ``--worker`` mode (:func:`spawn_worker` starts it,
:func:`worker_main` runs in it), so that its peak memory is its own: the
interpreter, the libraries it imports, the data and the training. There it
also measures its cold start: the import of its library, numba's import and
compilation of skscratch's fused kernels, and the first epoch; and it reports
the threads each pool ran with, and PyTorch's BLAS where PyTorch is loaded.
"""

import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from itertools import pairwise
from pathlib import Path

import numpy as np
from _conditions import limit_threads
from _data import load_data
from _devices import Device
from _machine import (
    blas_pools,
    kernels_state,
    library_versions,
    n_cores,
    peak_rss_mib,
    reset_peak_rss,
    rss_mib,
    threadpool_info,
    torch_blas,
)

CONTENDERS = (
    "skscratch-float32",
    "skscratch-float64",
    "sklearn-float32",
    "sklearn-float64",
    "torch-float32",
)
# not in the default run: bench_train's --array-api or --only runs them
ARRAY_API_CONTENDERS = (
    "skscratch-torch-cpu-float32",
    "skscratch-torch-cuda-float32",
    "skscratch-cupy-float32",
    "torch-cuda-float32",
)
# the array library and device of each array-library contender's LIBRARY
DEVICES = {
    "skscratch-torch-cpu": Device("torch", "cpu"),
    "skscratch-torch-cuda": Device("torch", "cuda"),
    "skscratch-cupy": Device("cupy", "cuda"),
    "torch-cuda": Device("torch", "cuda"),
}
TORCH_CPU_DEVICE = Device("torch", "cpu")  # torch-float32's
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


def make_estimator(library, hidden, batch_size=SETTINGS["batch_size"]):
    """skscratch's ``MLPScratchClassifier`` or scikit-learn's ``MLPClassifier``, with ``SETTINGS``
    (and minibatches of ``batch_size``)."""
    if library == "skscratch":
        from skscratch import MLPScratchClassifier as Estimator
    else:
        from sklearn.neural_network import MLPClassifier as Estimator
    return Estimator(
        hidden_layer_sizes=hidden,
        activation=SETTINGS["activation"],
        solver=SETTINGS["solver"],
        learning_rate_init=SETTINGS["learning_rate_init"],
        batch_size=batch_size,
        alpha=SETTINGS["alpha"],
        shuffle=SETTINGS["shuffle"],
        # an instance, so that each partial_fit call shuffles differently
        random_state=np.random.RandomState(SETTINGS["seed"]),
    )


class Trainer:
    """What every trainer does alike: the data on its ``device``, the results back in NumPy.

    A trainer is made as ``Trainer(library, hidden, n_features, batch_size)``;
    :meth:`prepare` puts the data on its ``device`` (a ``_devices.Device``;
    None: NumPy's arrays as they are) once, before anything is timed, and
    :meth:`host` brings its probabilities back to NumPy after the timing.
    """

    device = None

    def prepare(self, *arrays):
        """The arrays as this trainer trains on them."""
        if self.device is None:
            return arrays
        return tuple(self.device.put(array) for array in arrays)

    def host(self, array):
        """An array this trainer returned, as a NumPy array."""
        return np.asarray(array) if self.device is None else self.device.to_numpy(array)


class EstimatorTrainer(Trainer):
    """skscratch's or scikit-learn's MLP classifier, one epoch per ``partial_fit``."""

    def __init__(self, library, hidden, n_features, batch_size):
        self.model = make_estimator(library, hidden, batch_size)

    def train_epoch(self, X, y):
        self.model.partial_fit(X, y, classes=np.arange(N_CLASSES))
        return float(self.model.loss_)

    def predict_proba(self, X):
        return self.model.predict_proba(X)


class ArrayAPITrainer(EstimatorTrainer):
    """skscratch on another array library's arrays (PyTorch, CuPy), on their device.

    The data go to the device once (:meth:`prepare`); every ``partial_fit``
    and ``predict_proba`` runs under ``array_api_dispatch=True`` and waits
    for the device before it returns, so that its time is the work's.
    """

    def __init__(self, library, hidden, n_features, batch_size):
        super().__init__("skscratch", hidden, n_features, batch_size)
        self.device = DEVICES[library]

    def train_epoch(self, X, y):
        from sklearn import config_context

        with config_context(array_api_dispatch=True):
            loss = super().train_epoch(X, y)
        self.device.synchronize()
        return loss

    def predict_proba(self, X):
        from sklearn import config_context

        with config_context(array_api_dispatch=True):
            proba = self.model.predict_proba(X)
        self.device.synchronize()
        return proba


class TorchTrainer(Trainer):
    """The same network in PyTorch, set up as scikit-learn trains it, on the CPU or on CUDA.

    The weights are drawn and the samples shuffled on the CPU, by the same
    seeded generators on every device, so that CUDA trains from the same
    weights on the same minibatches; each minibatch is then gathered, and
    the whole step done, on the device. The epoch's loss is summed on the
    device and read once, at the end of the epoch, so that no step waits
    for the device.
    """

    def __init__(self, library, hidden, n_features, batch_size):
        import torch

        self.torch = torch  # its threads are the worker's to set (_conditions.limit_threads)
        self.device = DEVICES.get(library, TORCH_CPU_DEVICE)
        self.batch_size = batch_size
        sizes = [n_features, *hidden, N_CLASSES]
        linears = [torch.nn.Linear(fan_in, fan_out) for fan_in, fan_out in pairwise(sizes)]
        generator = torch.Generator().manual_seed(SETTINGS["seed"])
        with torch.no_grad():
            for layer in linears:
                self._glorot_uniform(layer, generator)
        layers = []
        for layer in linears[:-1]:
            layers += [layer, torch.nn.ReLU()]
        # moved in place: the layers' parameters stay the objects the optimizer is given
        self.model = torch.nn.Sequential(*layers, linears[-1]).to(self.device.kind)
        # scikit-learn's penalty alpha / (2 n) ||W||^2 (weights only, n the batch
        # size) has the gradient (alpha / n) W: Adam's coupled weight_decay on
        # the weights, none on the biases, computes exactly that, fused
        decay = SETTINGS["alpha"] / batch_size
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
        n_samples, batch_size = len(X), self.batch_size
        order = torch.randperm(n_samples, generator=self.shuffle_generator).to(X.device)
        self.model.train()
        total_loss = torch.zeros((), dtype=torch.float64, device=X.device)
        for start in range(0, n_samples, batch_size):
            rows = order[start : start + batch_size]
            loss = self.loss_function(self.model(X[rows]), y[rows])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total_loss += loss.detach() * len(rows)
        return total_loss.item() / n_samples  # waits for the device

    def predict_proba(self, X):
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            proba = torch.softmax(self.model(X), dim=1)
        self.device.synchronize()
        return proba


class MatmulFloor(Trainer):
    """Only the matrix products of an epoch, in NumPy's BLAS: the floor every contender stands on.

    Per minibatch, the forward pass's ``A_{l-1} W_l`` and the backward pass's
    ``A_{l-1}^T delta_l`` and ``delta_l W_l^T`` (none for the input layer),
    on arrays of the network's shapes, with no other work at all.
    """

    def __init__(self, library, hidden, n_features, batch_size):
        sizes = [n_features, *hidden, N_CLASSES]
        self.shapes = list(pairwise(sizes))
        self.batch_size = batch_size

    def train_epoch(self, X, y):
        batch, dtype = self.batch_size, X.dtype
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
            "floor": MatmulFloor, "skscratch-torch-cpu": ArrayAPITrainer,
            "skscratch-torch-cuda": ArrayAPITrainer, "skscratch-cupy": ArrayAPITrainer,
            "torch-cuda": TorchTrainer}
# what each contender imports before it can train: a module, and a name in it (None: the
# module alone). ``import skscratch`` is lazy: its estimator is what loads the package.
IMPORTS = {"skscratch": ("skscratch", "MLPScratchClassifier"),
           "sklearn": ("sklearn.neural_network", "MLPClassifier"), "torch": ("torch", None),
           "floor": ("numpy", None), "skscratch-torch-cpu": ("skscratch", "MLPScratchClassifier"),
           "skscratch-torch-cuda": ("skscratch", "MLPScratchClassifier"),
           "skscratch-cupy": ("skscratch", "MLPScratchClassifier"), "torch-cuda": ("torch", None)}


def split_contender(name):
    """``"skscratch-float32"`` -> ``("skscratch", "float32")``; a baseline's revision is
    left out: ``"skscratch@46bc5cd-float32"`` -> ``("skscratch", "float32")``; an
    array-library contender's LIBRARY keeps its device:
    ``"skscratch-torch-cuda-float32"`` -> ``("skscratch-torch-cuda", "float32")``."""
    library, dtype = name.rsplit("-", 1)
    return library.partition("@")[0], dtype


def device_of(name):
    """The ``Device`` of an array-library contender, None for the others (NumPy, or torch-float32)."""
    return DEVICES.get(split_contender(name)[0])


def runs_on_gpu(name):
    """Whether the contender ``name`` trains on a GPU."""
    device = device_of(name)
    return device is not None and device.is_gpu


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
    """Import the contender's library (``IMPORTS``): ``(seconds, None)`` if it went as asked, else
    ``(None, why not)``, why not as a result.

    A baseline contender's skscratch must come from its revision's checkout
    ``root``, not from the installed package.
    """
    module_name, attribute = IMPORTS[library]
    start = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
        if attribute is not None:
            getattr(module, attribute)
    except ImportError as error:
        return None, {"status": "skipped", "reason": f"{module_name} cannot be imported: {error}"}
    seconds = time.perf_counter() - start
    if root is not None and not Path(module.__file__).resolve().is_relative_to(Path(root).resolve()):
        return None, {
            "status": "failed",
            "reason": f"{module_name} was imported from {module.__file__}, not from {root}",
        }
    return seconds, None


def n_parameters(n_features, hidden):
    """Weights and biases of a network with these layers (and ``N_CLASSES`` outputs)."""
    sizes = [n_features, *hidden, N_CLASSES]
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in pairwise(sizes))


class CompileTimer:
    """How often, and how long, numba compiles skscratch's fused kernels while its block runs.

    :meth:`start` is called, just before training, only where the kernels will
    run (skscratch's NumPy path, kernels enabled, a network of at least their
    ``MIN_PARAMS``): it imports numba, timed, then records numba's
    ``numba:compile`` events (a kernel compiled; loading one from numba's cache
    is not an event). Elsewhere numba is not imported at all. numba compiles
    under one lock, so the events come in start/end pairs.
    """

    def __init__(self):
        self.import_s = None  # None: the kernels were not expected to run
        self._recorder = None

    def start(self, stack, library, n_params):
        if library != "skscratch":
            return
        try:
            from skscratch._engine import kernels as _kernels
        except ImportError:  # a baseline revision older than the kernels
            return
        if not (_kernels.ENABLED and n_params >= _kernels.MIN_PARAMS):
            return
        self.import_s, _ = timed(importlib.import_module, "numba")
        from numba.core import event

        self._recorder = stack.enter_context(event.install_recorder("numba:compile"))

    def compiled(self):
        """``(compilations, their seconds)``, or ``(None, None)`` where the kernels were not expected."""
        if self._recorder is None:
            return None, None
        starts = [ts for ts, e in self._recorder.buffer if e.is_start]
        ends = [ts for ts, e in self._recorder.buffer if e.is_end]
        return len(ends), sum(end - start for start, end in zip(starts, ends))


# numba's own need, in a process of its own: the RSS that importing numba and compiling the kernels
# of one fit (a ReLU network's passes, Adam's step, and the threads' gradients summed with the L2
# term) add to skscratch's, at their peak
NUMBA_NEED_PROBE = """
import sys
import numpy as np
sys.path.insert(0, {benchmarks!r})
from _machine import reset_peak_rss, rss_mib
from skscratch import nn
from skscratch._engine import dispatch, kernels, passes
kernels.MIN_PARAMS = 0
network = nn.Network.mlp([8, 6, 4, 3]).init(random_state=0, dtype=np.{dtype})
X, Y = np.ones((5, 8), np.{dtype}), np.eye(3, dtype=bool)[[0, 1, 2, 0, 1]]
adam = nn.Adam(network.params, 1e-3)
before = rss_mib()[0]
reset_peak_rss()
import numba
passes.loss_and_gradients(network, X, Y, None, 1e-4)
dispatch.update(adam, network.params, network.grads)
kernels.add_shards(slice(0, network.params.size), network.grads.copy(), network.grads[None], network.params,
                   network.n_penalised, 1e-4)
passes.forward(network, X)
print(kernels.ENABLED, rss_mib()[1] - before)
"""


def numba_need_mib(dtype, environ=None):
    """What numba needs (MiB) to import and compile a fit's kernels, in a fresh process with an empty
    cache; None where the kernels do not run (numba missing, ``SKSCRATCH_KERNELS=0``)."""
    import tempfile

    code = NUMBA_NEED_PROBE.format(benchmarks=str(Path(__file__).resolve().parent), dtype=np.dtype(dtype).name)
    with tempfile.TemporaryDirectory(prefix="skscratch-numba-need-") as cache:
        env = {**(os.environ if environ is None else environ), "SKSCRATCH_CACHE_DIR": cache}
        process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    if process.returncode != 0:
        raise RuntimeError(f"the numba probe failed: {process.stderr.strip()[-2000:]}")
    enabled, mib = process.stdout.split()
    return float(mib) if enabled == "True" else None


def threads_seen(library, X, batch_size, n_params):
    """The threads each pool of this process runs with now: BLAS and OpenMP (threadpoolctl),
    PyTorch's, and skscratch's row split (for skscratch's NumPy path)."""
    seen = {"blas": [pool["threads"] for pool in blas_pools()],
            "openmp": [p["num_threads"] for p in threadpool_info() or [] if p["user_api"] == "openmp"]}  # fmt: skip
    if "torch" in sys.modules:
        seen["torch"] = sys.modules["torch"].get_num_threads()
    if library == "skscratch":
        try:
            from skscratch._engine.parallel import training_threads
        except ImportError:  # a baseline revision without it
            pass
        else:
            seen["skscratch"] = training_threads(X, batch_size, n_params)
    return seen


def check_device(library):
    """None if the contender's device is here (or it needs none), else why not, as a result."""
    device = DEVICES.get(library)
    reason = None if device is None else device.unavailable()
    return None if reason is None else {"status": "skipped", "reason": reason}


def device_entries(library):
    """An array-library contender's own entries in its result: its device, and the most
    memory it held there (None on the CPU); nothing for the others."""
    device = DEVICES.get(library)
    if device is None:
        return {}
    return {"device": device.describe(), "device_peak_mib": device.peak_memory_mib()}


def run_contender(config):
    """Measure one contender on one network, under ``config["threads"]`` threads; the result as a dict."""
    library, dtype = split_contender(config["contender"])
    if library in DEVICES:
        # array_api_dispatch needs SciPy's array API support, switched on before SciPy is imported
        os.environ["SCIPY_ARRAY_API"] = "1"
    failure = check_device(library)
    if failure is not None:
        return failure
    import_s, failure = import_library(library, config.get("package_root"))
    if failure is not None:
        return failure
    X_train, y_train, X_test, y_test = load_data(config["dataset"], np.dtype(dtype))
    batch_size = config.get("batch_size", SETTINGS["batch_size"])
    threads = config.get("threads") or n_cores()
    trainer = TRAINERS[library](library, tuple(config["network"]), X_train.shape[1], batch_size)
    X_train, y_train, X_test = trainer.prepare(X_train, y_train, X_test)  # on the device, untimed
    n_params = n_parameters(X_train.shape[1], config["network"])
    compile_timer = CompileTimer()
    with ExitStack() as stack:
        limit_threads(stack, threads, sys.modules.get("torch"))
        threads_used = threads_seen(library, X_train, batch_size, n_params)
        rss_before_fit = peak_rss_mib()  # interpreter, libraries and data
        resident, _ = rss_mib()
        compile_timer.start(stack, library, n_params)  # numba, if the kernels will run: counted in fit adds
        reset_peak_rss()
        epoch_times, losses = train(trainer, X_train, y_train, WARMUP_EPOCHS + config["epochs"])
        rss = peak_rss_mib()  # after training, before predicting
        fit_adds = rss_mib()[1] - resident  # the peak during fit, above what was resident before it
        device = device_entries(library)  # the device's peak too, before predicting
        if library == "floor":
            return {"status": "ok", "s_per_epoch": statistics.median(epoch_times[WARMUP_EPOCHS:]),
                    "epoch_times_s": epoch_times, "threads": threads_used, "threadpool_info": threadpool_info()}
        predict_times, proba = time_predict_proba(trainer, X_test)
    compiles, compile_s = compile_timer.compiled()
    accuracy = float(np.mean(np.argmax(trainer.host(proba), axis=1) == y_test))
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
        # the cold start: the library's import (NumPy already loaded), numba's import and the
        # kernels' compilation (None where they did not run), the first (warm-up) epoch
        "import_s": import_s,
        "numba_import_s": compile_timer.import_s,
        "jit_compiles": compiles,
        "jit_compile_s": compile_s,
        "first_epoch_s": epoch_times[0],
        "predict_proba_times_s": predict_times,
        "loss_curve": losses,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "n_features": X_train.shape[1],
        "n_parameters": n_params,
        "dtype": str(np.dtype(dtype)),
        "batch_size": batch_size,
        "threads": threads_used,
        "kernels": kernels_state(),
        "torch_blas": torch_blas(sys.modules["torch"]) if "torch" in sys.modules else None,
        "versions": library_versions(),
        "threadpool_info": threadpool_info(),
        **device,
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
