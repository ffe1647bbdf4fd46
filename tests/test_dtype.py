"""The dtype parameter: None follows the input (arrays and DataFrames alike); "float32"/"float64" force one."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_array

from skscratch import MLPScratchClassifier, MLPScratchRegressor


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


# A DataFrame trains as the NumPy array of its columns' np.result_type would:
# float32 columns of any kind (NumPy's, pandas' nullable Float32, pyarrow's,
# polars') train in float32. scikit-learn's check_array does so only for NumPy
# columns, and turned the others into float64.
def _frame(kind, X):
    """X as a DataFrame of float32 columns of the given kind."""
    columns = [f"x{i}" for i in range(X.shape[1])]
    if kind == "polars":
        pl = pytest.importorskip("polars")
        return pl.DataFrame({c: pl.Series(X[:, i], dtype=pl.Float32) for i, c in enumerate(columns)})
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X.astype(np.float32), columns=columns)
    if kind == "pandas Float32":
        return frame.astype("Float32")
    if kind == "pandas float32[pyarrow]":
        pa = pytest.importorskip("pyarrow")
        return frame.astype(pd.ArrowDtype(pa.float32()))
    return frame  # "pandas float32": NumPy's own dtype


FRAME_KINDS = ["pandas float32", "pandas Float32", "pandas float32[pyarrow]", "polars"]


def _in_the_frames_layout(X, frame):
    """X as float32 in the memory order check_array gives the frame's values (so that BLAS sums alike)."""
    order = "F" if check_array(frame, dtype=np.float32).flags.f_contiguous else "C"
    return np.asarray(X, dtype=np.float32, order=order)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", FRAME_KINDS)
@pytest.mark.parametrize("Estimator", [MLPScratchClassifier, MLPScratchRegressor])
def test_float32_frames_train_as_their_float32_array(digits01, kind, Estimator):
    X, y = digits01
    X, y = X[:300].astype(np.float32), y[:300]
    if Estimator is MLPScratchRegressor:
        y = y / 9.0
    frame = _frame(kind, X)
    params = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    model = Estimator(**params).fit(frame, y)
    array_model = Estimator(**params).fit(_in_the_frames_layout(X, frame), y)
    assert all(a.dtype == np.float32 for a in model.coefs_ + model.intercepts_)
    for a, b in zip(model.coefs_ + model.intercepts_, array_model.coefs_ + array_model.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)  # the same bits
    assert model.loss_curve_ == array_model.loss_curve_
    predicted = model.predict_proba(frame) if Estimator is MLPScratchClassifier else model.predict(frame)
    assert predicted.dtype == np.float32
    expected = array_model.predict_proba(X) if Estimator is MLPScratchClassifier else array_model.predict(X)
    np.testing.assert_array_equal(predicted, expected)
    assert list(model.feature_names_in_) == list(frame.columns)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "kind, other, numpy_other",
    [
        # float32 with int8, int16, uint8 or bool columns stays float32 ...
        ("pandas Float32", "Int16", np.int16),
        ("pandas Float32", "boolean", np.bool_),
        ("pandas float32[pyarrow]", "int8[pyarrow]", np.int8),
        ("pandas Float32", "uint8", np.uint8),
        ("polars", "Int16", np.int16),
        ("polars", "Boolean", np.bool_),
        # ... with int32, int64 or any float64 column it is float64
        ("pandas Float32", "Int64", np.int64),
        ("pandas Float32", "Int32", np.int32),
        ("pandas Float32", "float64", np.float64),
        ("pandas Float32", "Float64", np.float64),
        ("pandas float32[pyarrow]", "double[pyarrow]", np.float64),
        ("polars", "Int64", np.int64),
        ("polars", "Float64", np.float64),
    ],
)
def test_mixed_frames_train_in_the_result_type_of_their_columns(kind, other, numpy_other):
    """float32 columns with a column of another dtype train as np.result_type(float32, that dtype)."""
    X = np.random.RandomState(0).rand(40, 2).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    frame = _frame(kind, X)
    column = (np.arange(40) % 2).astype(numpy_other)
    if kind == "polars":
        import polars as pl

        frame = frame.with_columns(pl.Series("extra", column).cast(getattr(pl, other)))
    else:
        if "pyarrow" in other:
            pytest.importorskip("pyarrow")
        frame["extra"] = pytest.importorskip("pandas").Series(column).astype(other)
    expected = np.result_type(np.float32, numpy_other)
    clf = MLPScratchClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(frame, y)
    assert clf.coefs_[0].dtype == expected
    assert clf.predict_proba(frame).dtype == expected


@pytest.mark.parametrize("kind", ["pandas Float32", "pandas float32[pyarrow]", "polars"])
def test_missing_values_in_float32_frames_are_refused(kind):
    """pd.NA and polars' null are missing values: the error scikit-learn gives for NaN, at fit and predict."""
    X = np.random.RandomState(0).rand(40, 3).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    clf = MLPScratchClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    clean = _frame(kind, X)
    if kind == "polars":
        import polars as pl

        missing = clean.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(None).otherwise(pl.col("x1"))
                                     .alias("x1"))
        assert missing["x1"].null_count() == 1
    else:
        missing = clean.copy()
        missing.iloc[5, 1] = None
        assert missing.isna().sum().sum() == 1 and missing.dtypes.iloc[1] == clean.dtypes.iloc[1]
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.fit(missing, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(clean, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict_proba(missing)


@pytest.mark.parametrize("other", ["Int16", "boolean"])
def test_a_missing_value_in_a_column_that_float32_holds_is_refused(other):
    """pd.NA in a nullable integer or boolean column of a float32 frame: not a number in float32 either."""
    pd = pytest.importorskip("pandas")
    X = np.random.RandomState(0).rand(40, 2).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    frame = _frame("pandas Float32", X)
    frame["extra"] = pd.array([1] * 39 + [None], dtype=other)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLPScratchClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(frame, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ["pandas Float32", "polars"])
def test_the_dtype_parameter_overrides_a_float32_frame(kind):
    X = np.random.RandomState(0).rand(40, 3).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    clf = MLPScratchClassifier(hidden_layer_sizes=(3,), max_iter=3, dtype="float64", random_state=0)
    assert clf.fit(_frame(kind, X), y).coefs_[0].dtype == np.float64
