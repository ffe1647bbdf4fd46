"""The same seed gives the same bits: fits pinned against checksums committed before a refactor.

A redesign of the code must not change a single bit of what a fit computes.
Each case below fits a model with a fixed seed; its weights, loss curve and
iteration count are hashed and compared with ``pinned_results.json``.

Bits depend on the arithmetic of the machine as well as on the code: the BLAS
kernel OpenBLAS picks for the CPU (Haswell, SkylakeX, Zen ...) and the SIMD
paths NumPy dispatches to (AVX2, AVX-512 ...) round differently. So the bits
are pinned for *arithmetic families* that any x86-64 machine can be made to
run, each in a subprocess whose environment forces them:

- ``Haswell``: OpenBLAS's Haswell kernels and NumPy's paths up to AVX2/FMA3
  (every x86-64 CPU with AVX2, Intel or AMD, AVX-512 or not);
- ``Sandybridge``: OpenBLAS's Sandybridge kernels and NumPy's baseline paths
  (every CPU with AVX), a second kernel family exercised on every machine.

Both with one BLAS thread. A family whose CPU features are missing is skipped
(with the reason). If the forced family's arithmetic still differs from the
pinned one (a NumPy or OpenBLAS of another version, say), a short *probe*
of the primitives the network uses (matrix products, ``exp``, ``tanh``,
sums ...) tells so, and the fits are compared with the tolerance below
instead, with a warning that says why.

``test_same_seed_close_values`` runs the fits in this process, on whatever
arithmetic the machine has, and compares a float summary of each fit within
a tolerance that follows the dtype.

To pin again (only on code whose bits are known to be right, e.g. a clean
checkout of the commit before a redesign)::

    python tests/test_pinned_results.py > tests/pinned_results.json
"""

import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from sklearn.datasets import load_diabetes, load_digits

from skscratch import MLPScratchClassifier, MLPScratchRegressor

PINNED = Path(__file__).with_name("pinned_results.json")


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def _fit(case):
    """Fit one pinned case; returns the fitted model."""
    X, y = _digits()
    C, R = MLPScratchClassifier, MLPScratchRegressor
    small = dict(hidden_layer_sizes=(24, 12), random_state=0)
    if case == "adam":
        return C(max_iter=6, **small).fit(X, y)
    if case == "sgd-nesterov-invscaling":
        return C(solver="sgd", learning_rate="invscaling", learning_rate_init=0.1, max_iter=6, **small).fit(X, y)
    if case == "sgd-adaptive-no-shuffle":
        return C(solver="sgd", learning_rate="adaptive", nesterovs_momentum=False, shuffle=False,
                 max_iter=30, n_iter_no_change=2, tol=1e-2, **small).fit(X, y)
    if case == "lbfgs":
        return C(solver="lbfgs", max_iter=15, **small).fit(X, y)
    if case == "adamw-gelu-dropout-cosine-warmup-clip":
        return C(solver="adamw", activation="gelu", dropout=(0.2, 0.1), learning_rate="cosine", warmup_iter=2,
                 max_grad_norm=0.5, alpha=0.01, max_iter=6, **small).fit(X, y)
    if case == "early-stopping-sample-weight":
        weights = np.linspace(0.5, 2.0, len(y))
        return C(early_stopping=True, n_iter_no_change=3, max_iter=20, **small).fit(X, y, sample_weight=weights)
    if case == "class-weight-balanced-x-val":
        return C(class_weight="balanced", scoring="loss", max_iter=5, **small).fit(
            X[:500], y[:500] % 3, X_val=X[500:], y_val=y[500:] % 3)
    if case == "multilabel-tanh":
        Y = np.column_stack([y % 2, y > 4, y == 3]).astype(int)
        return C(activation="tanh", max_iter=6, **small).fit(X, Y)
    if case == "binary-float32-batch-64":
        return C(batch_size=64, max_iter=4, **small).fit(X.astype(np.float32), np.where(y > 4, "hi", "lo"))
    if case == "sparse-logistic":
        return C(activation="logistic", max_iter=4, **small).fit(scipy.sparse.csr_matrix(X), y)
    if case == "partial-fit-x3":
        model = C(solver="sgd", **small)
        for start in (0, 200, 400):
            model.partial_fit(X[start:start + 200], y[start:start + 200], classes=np.arange(10))
        return model
    if case == "warm-start-x2":
        model = C(warm_start=True, max_iter=3, **small)
        return model.fit(X, y).fit(X, y)
    Xd, yd = load_diabetes(return_X_y=True)
    yd = (yd - yd.mean()) / yd.std()
    if case == "regressor-adam":
        return R(max_iter=8, **small).fit(Xd, yd)
    if case == "regressor-poisson-leaky-relu":
        return R(loss="poisson", activation="leaky_relu", learning_rate_init=0.01, max_iter=8, **small).fit(
            Xd, np.abs(yd))
    if case == "regressor-2-outputs-elu-lbfgs":
        return R(solver="lbfgs", activation="elu", max_iter=10, **small).fit(Xd, np.column_stack([yd, yd ** 2]))
    raise KeyError(case)


CASES = ["adam", "sgd-nesterov-invscaling", "sgd-adaptive-no-shuffle", "lbfgs",
         "adamw-gelu-dropout-cosine-warmup-clip", "early-stopping-sample-weight", "class-weight-balanced-x-val",
         "multilabel-tanh", "binary-float32-batch-64", "sparse-logistic", "partial-fit-x3", "warm-start-x2",
         "regressor-adam", "regressor-poisson-leaky-relu", "regressor-2-outputs-elu-lbfgs"]
FLOAT32_CASES = {"binary-float32-batch-64"}

# The tolerance where the arithmetic is not the pinned one: rtol = 1000 eps of the fit's dtype,
# on float sums of |weights| and of the loss curve. These fits take at most a few hundred steps; the
# rounding differences between kernel families grow little over so few steps: measured across OpenBLAS's
# Haswell, Sandybridge, Nehalem and Katmai kernels and NumPy's AVX2 and baseline paths, at most 25 eps in
# float64 (L-BFGS, two outputs) and 0.1 eps in float32 (the sums average the weights' last bits out).
# 1000 eps leaves a margin of 40x for arithmetic we could not run (AVX-512) and still catches any change of
# formula, which moves these sums by 1e-6 or more.
RTOL_EPS = 1000


def tolerance(case):
    return RTOL_EPS * float(np.finfo(np.float32 if case in FLOAT32_CASES else np.float64).eps)


# The arithmetic families pinned: OpenBLAS core type, the CPU features it needs (NumPy's names), and
# the highest NumPy dispatch target kept (targets above it are switched off; None keeps the baseline only).
FAMILIES = {
    "Haswell": {"needs": ("AVX2", "FMA3"), "numpy_up_to": ("X86_V3", "AVX2", "FMA3", "F16C", "AVX")},
    "Sandybridge": {"needs": ("AVX",), "numpy_up_to": ()},
}


def fingerprint(model):
    """sha256 of the weights (bytes and dtypes), the loss curve and n_iter_; and a float summary."""
    digest = hashlib.sha256()
    for array in [*model.coefs_, *model.intercepts_]:
        digest.update(array.dtype.str.encode() + str(array.shape).encode() + array.tobytes())
    digest.update(np.asarray(model.loss_curve_, dtype=np.float64).tobytes())
    digest.update(str(model.n_iter_).encode())
    summary = [float(np.abs(np.asarray(a, np.float64)).sum()) for a in [*model.coefs_, *model.intercepts_]]
    return digest.hexdigest(), summary + [float(np.sum(model.loss_curve_)), model.n_iter_]


def arithmetic_probe():
    """sha256 of the primitives the network computes with, on fixed data; independent of skscratch's code.

    Matrix products as the forward and backward passes take them (plain and
    transposed, float32 and float64), the ufuncs of the activations and
    losses, and reductions. Equal probes mean the machine rounds as the
    pinned one did.
    """
    rng = np.random.RandomState(0)
    digest = hashlib.sha256()
    for dtype in (np.float64, np.float32):
        X = rng.standard_normal((600, 64)).astype(dtype)
        W = rng.standard_normal((64, 24)).astype(dtype)
        Z = X @ W
        G = Z @ W.T
        results = [Z, G, X.T @ Z, np.exp(Z), np.expm1(Z), np.tanh(Z), np.log(np.abs(Z) + 1),
                   np.log1p(np.abs(Z)), np.logaddexp(Z, 0), np.sqrt(np.abs(Z)), np.maximum(Z, 0),
                   Z.sum(axis=0), Z.sum(axis=1), np.max(Z, axis=1), (Z * Z).sum()]
        for result in results:
            digest.update(np.ascontiguousarray(result).tobytes())
    return digest.hexdigest()


def fingerprints():
    """The probe, and each case's digest and summary, computed in this process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {case: fingerprint(_fit(case)) for case in CASES}
    return {"probe": arithmetic_probe(),
            "cases": {case: {"sha256": digest, "summary": summary} for case, (digest, summary) in results.items()}}


def cpu_features():
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__
    return __cpu_features__


def numpy_dispatch_targets():
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__
    return list(__cpu_dispatch__)


def family_environment(family):
    """os.environ, with the BLAS kernel, NumPy's SIMD paths and the thread counts pinned to ``family``."""
    keep = FAMILIES[family]["numpy_up_to"]
    env = dict(os.environ)
    env.update(OPENBLAS_CORETYPE=family, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               SKSCRATCH_NUM_THREADS="1",
               NPY_DISABLE_CPU_FEATURES=" ".join(t for t in numpy_dispatch_targets() if t not in keep),
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    env.pop("OPENBLAS_L2_SIZE", None)
    return env


def machine_lacks(family):
    """The CPU features ``family`` needs that this machine lacks (all of them off x86-64)."""
    try:
        features = cpu_features()
    except ImportError:
        features = {}
    return [name for name in FAMILIES[family]["needs"] if not features.get(name)]


def fingerprints_in(family):
    """fingerprints() computed in a subprocess forced to the family's arithmetic."""
    result = subprocess.run([sys.executable, __file__, "--here"], env=family_environment(family),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def pinned():
    return json.loads(PINNED.read_text())


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_run(request):
    family = request.param
    lacking = machine_lacks(family)
    if lacking:
        pytest.skip(f"this CPU lacks {', '.join(lacking)}, which OpenBLAS's {family} kernels need")
    return family, fingerprints_in(family)


def assert_close(case, summary, expected):
    *values, n_iter = summary
    *expected_values, expected_n_iter = expected
    assert n_iter == expected_n_iter, f"{case}: n_iter_ {n_iter}, pinned {expected_n_iter}"
    np.testing.assert_allclose(values, expected_values, rtol=tolerance(case), err_msg=case)


@pytest.mark.parametrize("case", CASES)
def test_same_seed_same_bits(pinned, family_run, case):
    family, run = family_run
    expected = pinned["families"][family]
    got = run["cases"][case]
    if run["probe"] == expected["probe"]:
        assert got["sha256"] == expected["cases"][case], f"{case} ({family}): the bits changed ({got['summary']})"
    else:  # this NumPy/OpenBLAS rounds otherwise even when forced: the values must still agree closely
        warnings.warn(f"the {family} arithmetic of this NumPy/OpenBLAS is not the pinned one: {case} is "
                      f"compared with rtol={tolerance(case):.1e}, not bit for bit")
        assert_close(case, got["summary"], pinned["summary"][case])


@pytest.mark.parametrize("case", CASES)
def test_same_seed_close_values(pinned, case):
    """In this process, on the machine's own BLAS kernel, threads and SIMD paths: close, to the dtype."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, summary = fingerprint(_fit(case))
    assert_close(case, summary, pinned["summary"][case])


def test_every_case_is_pinned(pinned):
    assert sorted(pinned["summary"]) == sorted(CASES)
    for family in FAMILIES:
        assert sorted(pinned["families"][family]["cases"]) == sorted(CASES)


def test_the_families_differ(pinned):
    """The two families are two arithmetics, not one pinned twice: the check of a second kernel is real."""
    first, second = (pinned["families"][family] for family in sorted(FAMILIES))
    assert first["probe"] != second["probe"]
    assert first["cases"] != second["cases"]


def test_the_probe_sees_what_the_fits_see():
    """Forcing another kernel family changes the probe's bits: the probe can tell arithmetics apart."""
    lacking = machine_lacks("Haswell") + machine_lacks("Sandybridge")
    if lacking:
        pytest.skip(f"this CPU lacks {', '.join(lacking)}")
    code = "import test_pinned_results as t; print(t.arithmetic_probe())"
    probes = set()
    for family in sorted(FAMILIES):
        env = family_environment(family)
        env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env["PYTHONPATH"]])
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        probes.add(result.stdout.strip())
    assert len(probes) == 2


def pin():
    """The pinned file: each family's probe and digests, and the Haswell family's summaries."""
    import importlib.metadata
    runs = {family: fingerprints_in(family) for family in sorted(FAMILIES)}
    versions = {name: importlib.metadata.version(name) for name in ("numpy", "scipy", "scikit-learn")}
    return {"how": "python tests/test_pinned_results.py > tests/pinned_results.json", "versions": versions,
            "summary": {case: value["summary"] for case, value in runs["Haswell"]["cases"].items()},
            "families": {family: {"probe": run["probe"],
                                  "cases": {case: value["sha256"] for case, value in run["cases"].items()}}
                         for family, run in runs.items()}}


if __name__ == "__main__":
    json.dump(fingerprints() if sys.argv[1:] == ["--here"] else pin(), sys.stdout, indent=1)
    print()
