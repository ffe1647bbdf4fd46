"""The dtype parameter: None follows the input; "float32"/"float64" force one."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skscratch import MLPScratchClassifier


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "dtype, X_dtype, expected",
    [
        (None, np.float32, np.float32),
        (None, np.float64, np.float64),
        (None, np.int64, np.float64),
        ("float32", np.float64, np.float32),
        ("float32", np.int64, np.float32),
        ("float64", np.float32, np.float64),
        (np.float32, np.float64, np.float32),
    ],
)
def test_dtype_decides_the_training_dtype(digits01, dtype, X_dtype, expected):
    X, y = digits01
    X = (X * 16).astype(X_dtype) if X_dtype == np.int64 else X.astype(X_dtype)
    clf = MLPScratchClassifier((16,), max_iter=20, learning_rate_init=0.01, dtype=dtype, random_state=0)
    clf.fit(X, y)
    assert all(W.dtype == expected for W in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X).dtype == expected
    assert clf.predict_log_proba(X).dtype == expected
    assert clf.score(X, y) > 0.8


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_float32_behind_a_float64_scaler(digits01):
    X, y = digits01
    pipe = make_pipeline(StandardScaler(), MLPScratchClassifier((32,), max_iter=30, dtype="float32", random_state=0))
    pipe.fit(X, y)
    mlp = pipe[-1]
    assert mlp.coefs_[0].dtype == np.float32
    assert pipe.predict_proba(X).dtype == np.float32
    # the same model in float64 learns the same to float32 precision
    pipe64 = make_pipeline(StandardScaler(), MLPScratchClassifier((32,), max_iter=30, random_state=0)).fit(X, y)
    assert pipe64[-1].coefs_[0].dtype == np.float64
    np.testing.assert_allclose(pipe.predict_proba(X), pipe64.predict_proba(X), atol=1e-3)
    assert abs(pipe.score(X, y) - pipe64.score(X, y)) < 0.01


@pytest.mark.parametrize("bad", ["float16", "int32", np.float16, 32])
def test_bad_dtype_is_refused(digits01, bad):
    X, y = digits01
    with pytest.raises(InvalidParameterError, match="dtype"):
        MLPScratchClassifier(dtype=bad).fit(X, y)
