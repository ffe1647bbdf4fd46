"""The fused kernels (numba, the [fast] extra) give the very bits of the NumPy code they replace.

The NumPy code in ``_optimizers`` and ``_parallel`` is the specification.
Each kernel is checked against it on random inputs (every optimizer and
schedule, float32 and float64, chunks that cut the decayed entries), and whole
fits with the kernels are checked against fits without them. Then: the
switch, the cache fallback, and everything without numba at all.
"""

import concurrent.futures
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from _weights import weights
from skscratch import MLPScratchClassifier, MLPScratchRegressor
from skscratch._engine import kernels as _kernels
from skscratch._engine import parallel as _parallel
from skscratch._engine.dispatch import update
from skscratch.nn.network import Network
from skscratch.nn.optimizers import SGD, Adam, AdamW

ROOT = Path(__file__).resolve().parents[1]
numba = pytest.importorskip("numba")  # without numba the kernels run as plain Python: tested below, apart


@pytest.fixture
def kernels(monkeypatch):
    """``kernels(True)`` or ``kernels(False)``: the fused kernels on (for any size) or off."""

    def switch(on):
        monkeypatch.setattr(_kernels, "ENABLED", on)
        monkeypatch.setattr(_kernels, "MIN_PARAMS", 0)

    return switch


OPTIMIZERS = {
    "sgd-nesterov": lambda p, **s: SGD(p, 0.05, momentum=0.9, nesterov=True, **s),
    "sgd-momentum": lambda p, **s: SGD(p, 0.05, momentum=0.8, nesterov=False, **s),
    "adam": lambda p, **s: Adam(p, 0.01, **s),
    "adamw": lambda p, **s: AdamW(p, 0.01, weight_decay=0.3, decay=slice(1234, 4321), **s),
    "adamw-all": lambda p, **s: AdamW(p, 0.01, weight_decay=0.3, **s),
}
SCHEDULES = {
    "constant": {},
    "invscaling": {"lr_schedule": "invscaling", "power_t": 0.5},
    "adaptive": {"lr_schedule": "adaptive"},
    "cosine-warmup": {"lr_schedule": "cosine", "max_iter": 6, "warmup_iter": 2},
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_step_is_bit_identical(kernels, monkeypatch, name, schedule, dtype):
    monkeypatch.setattr(_parallel, "CHUNK", 1000)  # chunks that cut the decayed entries
    rng = np.random.RandomState(0)
    start = rng.normal(size=5003).astype(dtype)
    results = {}
    for fused in (False, True, "whole vector"):  # NumPy in chunks, the kernel in chunks, NumPy's update_params
        kernels(fused is True)
        params = start.copy()
        optimizer = OPTIMIZERS[name](params, **SCHEDULES[schedule])
        for step in range(6):
            grads = (rng.normal(size=params.size) * 10.0 ** rng.randint(-3, 3)).astype(dtype)
            if fused == "whole vector":
                optimizer.update_params(params, grads)
            else:
                update(optimizer, params, grads)
            if step % 2:
                optimizer.iteration_ends(time_step=100 * (step + 1))
                if schedule == "adaptive":
                    optimizer.trigger_stopping("stalled", verbose=False)  # the rate / 5
        rng = np.random.RandomState(0)  # the same gradients for the other run
        rng.normal(size=5003)
        results[fused] = (params, {k: v for k, v in vars(optimizer).items() if isinstance(v, np.ndarray)})
    assert results[True][0].dtype == dtype
    for other in (True, "whole vector"):
        np.testing.assert_array_equal(results[other][0], results[False][0])
        for key, array in results[False][1].items():  # the moments and velocities too
            np.testing.assert_array_equal(results[other][1][key], array, err_msg=key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [2, 3])
@pytest.mark.parametrize("l2, weighted", [(0.0, False), (1e-2, False), (1e-2, True)])
def test_summing_the_threads_gradients_is_bit_identical(kernels, monkeypatch, dtype, n_threads, l2, weighted):
    monkeypatch.setattr(_parallel, "CHUNK", 700)
    rng = np.random.RandomState(1)
    layer_units = [30, 40, 7]
    params = rng.normal(size=30 * 40 + 40 * 7 + 40 + 7).astype(dtype)
    rows = rng.normal(size=(n_threads, params.size)).astype(dtype)
    S = np.float32(37.5) if weighted else 40  # a weighted batch's S is a float of the dtype
    outcome = {}
    for fused in (False, True):
        kernels(fused)
        gradient = _parallel.ShardedGradient(params, n_threads,
                                             lambda grads: Network.mlp(layer_units).bind(params, grads))
        gradient.rows[...] = rows
        penalty = gradient._sum_shards(l2, S)
        outcome[fused] = (gradient.grads.copy(), penalty)
    np.testing.assert_array_equal(outcome[True][0], outcome[False][0])
    assert outcome[True][1] == outcome[False][1]


FITS = {
    "adam": (MLPScratchClassifier, dict(hidden_layer_sizes=(32, 16))),
    "adamw-dropout-clip-cosine": (MLPScratchClassifier, dict(hidden_layer_sizes=(32,), solver="adamw", alpha=0.01,
                                                             dropout=0.2, max_grad_norm=0.5, learning_rate="cosine",
                                                             warmup_iter=1)),
    "sgd-weighted": (MLPScratchClassifier, dict(hidden_layer_sizes=(32,), solver="sgd", learning_rate_init=0.05)),
    "regressor-early-stopping": (MLPScratchRegressor, dict(hidden_layer_sizes=(16,), early_stopping=True)),
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", FITS)
def test_whole_fits_are_bit_identical(kernels, monkeypatch, case, dtype, threads):
    """Five epochs with and without the kernels, one thread or the batch split over two."""
    if threads == 2:
        monkeypatch.setattr(_parallel, "MIN_WORK_PER_BATCH", 0)
        monkeypatch.setattr(_parallel, "N_CORES", 2)
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(dtype)
    Estimator, params = FITS[case]
    target = y / 9.0 if Estimator is MLPScratchRegressor else y
    sample_weight = np.linspace(0.5, 2.0, len(y)) if case == "sgd-weighted" else None
    fits = {}
    for fused in (False, True):
        kernels(fused)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits[fused] = Estimator(max_iter=5, random_state=0, **params).fit(X, target, sample_weight=sample_weight)
    assert fits[True].coefs_[0].dtype == dtype
    for a, b in zip(weights(fits[True]), weights(fits[False]), strict=True):
        np.testing.assert_array_equal(a, b)
    assert fits[True].loss_curve_ == fits[False].loss_curve_


def test_the_kernels_really_ran(monkeypatch):
    """A big enough network is stepped by the kernels (a spy counts their calls), a small one is not."""
    calls = []
    original = _kernels.adam_step
    monkeypatch.setattr(_kernels, "adam_step", lambda *args, **kw: calls.append(1) or original(*args, **kw))
    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPScratchClassifier((16,), max_iter=1, random_state=0).fit(X / 16, y)  # 1,210 parameters
        assert calls == []
        MLPScratchClassifier((3200,), max_iter=1, random_state=0).fit(X / 16, y)  # 240,010: fused
    assert len(calls) == 9 * 2  # 9 minibatches, of 2 chunks each
    assert _kernels.MIN_PARAMS <= 240_010


@pytest.mark.parametrize("value, on, warns", [("", True, False), ("1", True, False), ("0", False, False),
                                              ("yes", True, True), ("off", True, True)])
def test_the_switch(value, on, warns):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert _kernels._switch({"SKSCRATCH_KERNELS": value}) is on
    assert bool(record) is warns


def run_python(code, **env):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


FINGERPRINT = """
import hashlib, warnings, numpy as np
from sklearn.datasets import load_digits
from skscratch import MLPScratchClassifier
from skscratch._engine import kernels as _kernels
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
clf = MLPScratchClassifier((3200,), solver="adamw", max_iter=3, random_state=0).fit((X / 16).astype(np.float32), y)
assert clf._get_flat_params().size >= _kernels.MIN_PARAMS
print(_kernels.ENABLED, hashlib.sha256(clf._get_flat_params().tobytes()).hexdigest())
"""


def test_switched_off_and_without_numba_the_same_bits():
    with_kernels = run_python(FINGERPRINT)
    switched_off = run_python(FINGERPRINT, SKSCRATCH_KERNELS="0")
    without_numba = run_python("import sys; sys.modules['numba'] = None\n" + FINGERPRINT)
    assert with_kernels.startswith("True ")
    assert switched_off.startswith("False ") and without_numba.startswith("False ")
    assert with_kernels.split()[1] == switched_off.split()[1] == without_numba.split()[1]


def test_numba_is_imported_only_when_a_kernel_is_needed():
    """import skscratch and a small fit leave numba (0.2 s, 60 MiB) unimported; a big fit loads it."""
    code = """
import sys, warnings, numpy as np
from sklearn.datasets import load_digits
import skscratch
X, y = load_digits(return_X_y=True)
warnings.simplefilter("ignore")
skscratch.MLPScratchClassifier((16,), max_iter=2).fit(X / 16, y)
print("numba" in sys.modules, end=" ")
skscratch.MLPScratchClassifier((3200,), max_iter=1).fit(X / 16, y)
print("numba" in sys.modules)
"""
    assert run_python(code) == "False True"


def test_numbas_own_cache_is_never_asked_for(monkeypatch, tmp_path):
    """njit(cache=True) would cache in the package's __pycache__ first: the kernels bring their own cache.

    Where it goes, and the folders it cannot use: tests/test_install.py.
    """
    monkeypatch.setenv("SKSCRATCH_CACHE_DIR", str(tmp_path))
    real_njit, asked = numba.njit, []
    monkeypatch.setattr(numba, "njit", lambda *args, cache=False, **options: asked.append(cache) or
                        real_njit(*args, cache=cache, **options))
    square = _kernels._jit(lambda x: x * x)
    assert square(3.0) == 9.0
    assert asked == [False] and square.stats.cache_path.startswith(str(tmp_path))


def test_the_suite_passes_without_numba(tmp_path):
    """The tests of the maths and of training, in a process where numba cannot be imported."""
    tests = ["tests/test_optimizers.py", "tests/test_parallel.py", "tests/test_pinned_results.py",
             "tests/test_parity_sklearn.py", "tests/test_consistency.py", "tests/test_gradients.py"]
    code = ("import sys; sys.modules['numba'] = None\n"
            "import pytest\n"
            f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', *{tests!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_threads_meeting_a_kernels_first_use_compile_it_once(monkeypatch):
    """Training threads reach a kernel's first use together: one dispatcher, compiled once."""
    calls = []

    def slow_jit(function):
        calls.append(function)
        time.sleep(0.05)  # wide open, the race this lock closes
        return object()

    def fresh(x):
        return x

    monkeypatch.setattr(_kernels, "_jit", slow_jit)
    monkeypatch.setattr(_kernels, "_compiled", {})
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        kernels = list(pool.map(lambda _: _kernels._kernel(fresh), range(8)))
    assert calls == [fresh]
    assert all(kernel is kernels[0] for kernel in kernels)
