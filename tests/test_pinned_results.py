"""The same seed gives the same bits: fits pinned against checksums committed before a refactor.

A redesign of the code must not change a single bit of what a fit computes.
Each case below fits a model with a fixed seed; its weights, loss curve and
iteration count are hashed and compared with ``pinned_results.json``, which
was written by the code as it stood before the redesign::

    python tests/test_pinned_results.py > tests/pinned_results.json

Bits depend on the BLAS kernels too: on a machine whose BLAS reports another
core type than the one the file was written on, the test compares a float
summary of each fit to 1e-9 instead (and says so in its skip-free output).
"""

import hashlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from sklearn.datasets import load_diabetes, load_digits
from threadpoolctl import threadpool_info

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


def fingerprint(model):
    """sha256 of the weights (bytes and dtypes), the loss curve and n_iter_; and a float summary."""
    digest = hashlib.sha256()
    for array in [*model.coefs_, *model.intercepts_]:
        digest.update(array.dtype.str.encode() + str(array.shape).encode() + array.tobytes())
    digest.update(np.asarray(model.loss_curve_, dtype=np.float64).tobytes())
    digest.update(str(model.n_iter_).encode())
    summary = [float(np.abs(np.asarray(a, np.float64)).sum()) for a in [*model.coefs_, *model.intercepts_]]
    return digest.hexdigest(), summary + [float(np.sum(model.loss_curve_)), model.n_iter_]


def blas_core():
    """The BLAS and its core type (e.g. 'openblas Haswell'): what the bits depend on besides the code."""
    for info in threadpool_info():
        if info["user_api"] == "blas":
            return f"{info['internal_api']} {info.get('architecture')}"
    return "unknown"


def fingerprints():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {case: fingerprint(_fit(case)) for case in CASES}
    return {"blas": blas_core(), "numpy": np.__version__,
            "cases": {case: {"sha256": digest, "summary": summary} for case, (digest, summary) in results.items()}}


@pytest.fixture(scope="module")
def pinned():
    return json.loads(PINNED.read_text())


@pytest.mark.parametrize("case", CASES)
def test_same_seed_same_bits(pinned, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        digest, summary = fingerprint(_fit(case))
    expected = pinned["cases"][case]
    if blas_core() == pinned["blas"]:
        assert digest == expected["sha256"], f"{case}: the bits changed (summary {summary})"
    else:  # another BLAS kernel rounds differently: the values must still agree closely
        np.testing.assert_allclose(summary, expected["summary"], rtol=1e-9)


def test_every_case_is_pinned(pinned):
    assert sorted(pinned["cases"]) == sorted(CASES)


if __name__ == "__main__":
    json.dump(fingerprints(), sys.stdout, indent=1)
    print()
