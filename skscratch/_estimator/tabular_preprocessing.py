"""A table as it comes, made one float matrix for a tabular MLP: RealMLP-TD's preprocessing.

After Holzmüller et al., "Better by default" (NeurIPS 2024) and their pytabkit. pandas and
polars are never imported here: a DataFrame's library is loaded already when one is passed
(``sys.modules``), so NumPy input works without them.
"""

from __future__ import annotations

import sys
from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    from .sklearn_bases import BaseEstimator

    class TransformerMixin:
        """``sklearn.base.TransformerMixin``: fit_transform and set_output."""

        def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any: ...

        def set_output(self, *, transform: str | None = None) -> Any: ...

    def fit_context(prefer_skip_nested_validation: bool) -> Callable[[Any], Any]: ...
else:
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.base import _fit_context as fit_context

_BIG = float(np.finfo(np.float64).max)
# the kinds of an input column; each gives these output columns
_NUMERIC, _ONE_HOT, _BINARY, _CONSTANT, _EMBEDDING = "numeric", "one_hot", "binary", "constant", "embedding"


class _Table:
    """A 2-D input read column by column: a pandas or polars DataFrame, or a NumPy array."""

    def __init__(self, X: Any, library: str, names: list[str]) -> None:
        self.X, self.library, self.names = X, library, names
        self.n_rows, self.n_cols = int(X.shape[0]), int(X.shape[1])

    def categorical_dtype(self, j: int) -> bool:
        """Whether column ``j``'s dtype is categorical, as "from_dtype" reads it (never for NumPy)."""
        if self.library == "pandas":
            pd = sys.modules["pandas"]
            dtype = self.X.dtypes.iloc[j]
            return bool(isinstance(dtype, pd.CategoricalDtype) or dtype == object
                        or pd.api.types.is_string_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
        if self.library == "polars":
            dtype = self.X.dtypes[j]
            name = dtype.__name__ if isinstance(dtype, type) else type(dtype).__name__
            return name in {"Categorical", "Enum", "String", "Utf8", "Boolean"}
        return False

    def numeric(self, j: int) -> NDArray[np.float64]:
        """Column ``j`` as float64, NaN where missing; a ValueError naming it if it holds no numbers."""
        errors: tuple[type[BaseException], ...] = (TypeError, ValueError, ArithmeticError)
        if self.library == "polars":  # polars' own errors derive from Exception only
            errors += (getattr(sys.modules["polars"].exceptions, "PolarsError", ValueError),)
        try:
            if self.library == "pandas":
                values = self.X.iloc[:, j].to_numpy(dtype=np.float64, na_value=np.nan)
            elif self.library == "polars":
                values = self.X.to_series(j).cast(sys.modules["polars"].Float64).to_numpy()
            elif self.X.dtype == object:
                column = self.X[:, j]
                missing = _missing_mask(column)
                values = np.full(self.n_rows, np.nan)
                values[~missing] = column[~missing].astype(np.float64)
            else:
                values = self.X[:, j]
            return np.array(values, dtype=np.float64)  # a copy, writable
        except errors as exc:
            raise ValueError(
                f"Column {self.names[j]!r} cannot be read as numbers ({exc}). Mark it categorical "
                "(categorical_features) or convert it to numbers."
            ) from None

    def objects(self, j: int) -> NDArray[np.object_]:
        """Column ``j``'s values as Python objects (missing ones as None, NaN or pd.NA)."""
        values = np.empty(self.n_rows, dtype=object)
        if self.library == "pandas":
            values[:] = self.X.iloc[:, j].to_numpy(dtype=object)
        elif self.library == "polars":
            values[:] = self.X.to_series(j).to_list()
        else:
            values[:] = self.X[:, j]
        return values


def _library(X: Any) -> str | None:
    """"pandas" or "polars" for a DataFrame of either, else None."""
    module = type(X).__module__.partition(".")[0]
    if module in ("pandas", "polars") and hasattr(X, "columns") and getattr(X, "ndim", 2) == 2:
        return module
    return None


def _read(estimator: TabularPreprocessor, X: Any, reset: bool) -> _Table:
    """``X`` checked (shape, column names as fitted) and wrapped, DataFrames never converted to float."""
    if sparse.issparse(X):
        raise TypeError("TabularPreprocessor takes dense input only: densify the sparse matrix first "
                        "(X.toarray()), or pass a DataFrame.")
    library = _library(X)
    if library is None:
        X = validate_data(estimator, X, reset=reset, dtype=None, ensure_all_finite=False)
        library = "numpy"
    else:
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"Found a DataFrame of shape {tuple(X.shape)}: TabularPreprocessor needs at least "
                             "one row and one column.")
        validate_data(estimator, X, reset=reset, skip_check_array=True)
    names = ([str(name) for name in X.columns] if library != "numpy"
             else [str(name) for name in _check_feature_names_in(estimator, None)])
    return _Table(X, library, names)


def _pandas() -> Any:
    """pandas if something has imported it (it made the DataFrame or pd.NA at hand), else None."""
    return sys.modules.get("pandas")


def _missing_mask(values: NDArray[Any]) -> NDArray[np.bool_]:
    """Where an object array holds None, NaN, pd.NA or NaT."""
    pd = _pandas()
    if pd is not None:
        return np.asarray(pd.isna(values), dtype=bool)
    return np.array([v is None or (isinstance(v, (float, np.floating)) and v != v) for v in values], dtype=bool)


def _distinct(values: NDArray[np.object_]) -> tuple[NDArray[np.intp], list[Any]]:
    """``(codes, uniques)``: each row's index into the distinct values seen, -1 where missing.

    Values equal in Python (``1``, ``1.0``, ``True``) are one. Unhashable ones
    (a list, a dict) are taken by their text.
    """
    pd = _pandas()
    try:
        if pd is not None:
            codes, uniques = pd.factorize(values)
            return np.asarray(codes, dtype=np.intp), list(uniques)
        missing = _missing_mask(values)
        index: dict[Any, int] = {}
        codes = np.full(len(values), -1, dtype=np.intp)
        for i in np.flatnonzero(~missing):
            codes[i] = index.setdefault(values[i], len(index))
        return codes, list(index)
    except TypeError:  # unhashable values
        missing = _missing_mask(values)
        texts = np.array([None if m else _key(v) for v, m in zip(values, missing)], dtype=object)
        return _distinct(texts)


def _key(value: Any) -> str:
    """The text a category level is known by: ``2``, ``2.0`` and ``np.int64(2)`` all give "2"."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2.0**53:
        return str(int(value))
    return str(value)


def _aliases(value: Any) -> list[str]:
    """The keys a value may have been fitted under: Python takes ``True``, ``1`` and ``1.0`` for one."""
    key = _key(value)
    other = {"0": "False", "False": "0", "1": "True", "True": "1"}.get(key)
    return [key] if other is None else [key, other]


def _sort_key(value: Any) -> tuple[int, float, str]:
    """Numbers first, in numeric order, then everything else by its text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return (0, float(value), _key(value))
        except OverflowError:  # an int past float's range
            pass
    return (1, 0.0, _key(value))


def _fit_categories(values: NDArray[np.object_]) -> tuple[list[str], bool]:
    """The sorted levels (as text) seen in a column, and whether it had missing values."""
    codes, uniques = _distinct(values)
    order: dict[str, tuple[int, float, str]] = {}
    for value in uniques:
        order.setdefault(_key(value), _sort_key(value))
    return sorted(order, key=order.__getitem__), bool((codes < 0).any())


def _level_codes(values: NDArray[np.object_], levels: NDArray[np.object_]) -> NDArray[np.intp]:
    """Per row: -1 where missing, 0 for a level not seen in fit, 1..K for the K fitted levels."""
    codes, uniques = _distinct(values)
    lookup = {level: i + 1 for i, level in enumerate(levels)}
    mapped = [next((lookup[k] for k in _aliases(u) if k in lookup), 0) for u in uniques]
    return np.array([*mapped, -1], dtype=np.intp)[codes]  # code -1 (missing) takes the -1 appended


def _robust_scale(values: NDArray[np.float64]) -> tuple[float, float]:
    """``(center, factor)`` of RealMLP's robust scaling, as in pytabkit's ``RobustScaleFactory``.

    factor = 1 / (q75 - q25); where the quartiles are equal, 1 / ((max - min) / 2);
    0 for a column constant in training (it stays 0 at transform time). The
    quartiles are NumPy's (linear interpolation), as pytabkit's. pytabkit
    divides by the spread + 1e-30; this takes the exact quotient. The quartiles
    are those of the values halved, so that a spread past float64's range
    (1e308 - -1e308) still gives a finite factor.
    """
    half = values * 0.5
    q25, q50, q75 = np.quantile(half, [0.25, 0.5, 0.75])  # the quartiles of the values, halved
    low, high = float(half.min()), float(half.max())
    if q75 > q25:
        factor = 0.5 / float(q75 - q25)  # 1 / (q75 - q25) of the values
    elif high > low:
        factor = 1.0 / (high - low)  # 1 / ((max - min) / 2)
    else:
        factor = 0.0
    return float(2.0 * q50), min(factor, _BIG)


def _standard_scale(values: NDArray[np.float64]) -> tuple[float, float]:
    """``(mean, 1 / std)``, 1 for a constant column; computed on values divided by max |x| (no overflow)."""
    if values.min() == values.max():
        return float(values[0]), 1.0
    size = float(np.abs(values).max())
    unit = values / size
    std = float(unit.std()) * size
    return float(unit.mean()) * size, min(1.0 / std, _BIG) if std > 0.0 else 1.0


def _check_finite(x: NDArray[np.float64], name: str) -> None:
    if np.isinf(x).any():
        raise ValueError(f"Column {name!r} contains infinity. TabularPreprocessor takes finite numbers, and NaN "
                         "for a missing value: replace the infinities (with NaN, or a large finite number).")


def _smooth_clip(Z: NDArray[np.float64]) -> NDArray[np.float64]:
    """``z / sqrt(1 + (z/3)^2)``, written ``3 t / hypot(1, t)`` with ``t = z/3``: no overflow, |result| <= 3."""
    t = Z / 3.0
    return 3.0 * (t / np.hypot(1.0, t))


def _one_hot(level: NDArray[np.intp], n_levels: int, missing_column: bool) -> NDArray[np.float64]:
    """Columns 1..K for the levels, then one for "missing" if fitted with one; an unknown level: all 0."""
    block = np.zeros((level.shape[0], n_levels + int(missing_column)))
    seen = np.flatnonzero(level >= 1)
    block[seen, level[seen] - 1] = 1.0
    if missing_column:
        block[level == -1, n_levels] = 1.0
    return block


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Make a table (DataFrame or array) one float matrix for a tabular MLP, as RealMLP-TD does.

    Each input column becomes, by its kind:

    - numeric: one column ``(x - center_) * factor_`` (robust scaling), smoothly
      clipped to (-3, 3), a missing value 0; plus a 0/1 missing indicator if
      the column had missing values in training;
    - categorical with at most ``one_hot_max_categories`` categories ("missing"
      counts as one where the column had missing values in training): a one-hot
      block, one column per level seen and one for "missing" if there was one; a
      column with exactly two levels and no missing value: one 0/1 column, 1 for
      the second level (in ``categories_`` order);
    - categorical with more categories: one column of integer codes for a learned
      embedding, 0 for missing or unseen, 1..K for the K levels seen;
    - categorical with a single category (one level, or all missing): one column of zeros.

    The output lists the numeric columns, then the 0/1 columns (input column by
    input column), then the codes; ``layout_`` gives each block's slice. A level
    not seen in fit gives zeros: an all-zero row of its one-hot block, 0 in a
    binary column (as the first level), code 0 for an embedding. A missing value
    in a column fitted without any is taken as such an unseen level.

    Parameters
    ----------
    categorical_features : "from_dtype", array-like of int, str or bool, or None, default="from_dtype"
        Which columns are categorical. "from_dtype": those of pandas dtype
        ``category``, ``object``, string or boolean (polars Categorical, Enum,
        String, Boolean); none of a NumPy array. Else column indices, names
        (of a DataFrame), or a boolean mask; None: every column numeric.
    one_hot_max_categories : int, default=9
        The most categories (levels, plus "missing" where seen in training) a
        column may have to be one-hot encoded; more go to an embedding.
    numeric_scaling : {"robust", "standard"} or None, default="robust"
        "robust": ``(x - median) / (q75 - q25)``, or divided by ``(max - min) / 2``
        where the quartiles are equal, 0 for a constant column. "standard":
        ``(x - mean) / std`` (std 0 taken as 1). None: no scaling.
    smooth_clip : bool, default=True
        Whether to map each scaled value ``z`` to ``z / sqrt(1 + (z/3)^2)``,
        which is near ``z`` for small values and within (-3, 3). Without it,
        values past the output dtype's range are clipped to its largest.
    dtype : {"float32", "float64"}, default="float32"
        The dtype of the output.

    Attributes
    ----------
    n_features_in_ : int
        The number of input columns.
    feature_names_in_ : ndarray of str
        The input's column names, when it had string names.
    column_kinds_ : list of str
        Each input column's kind: "numeric", "one_hot", "binary", "constant" or "embedding".
    numeric_columns_ : ndarray of int
        The indices of the numeric input columns.
    categorical_columns_ : ndarray of int
        The indices of the categorical input columns.
    center_ : ndarray of float64
        Per numeric column, the value mapped to 0 (median, mean, or 0 unscaled).
    factor_ : ndarray of float64
        Per numeric column, the scale's multiplier: ``1 / (q75 - q25)``, ``1 / std`` ...
    numeric_missing_ : ndarray of bool
        Per numeric column, whether it had missing values in training (and so an indicator).
    categories_ : list of ndarray of str
        Per categorical column, the levels seen in training, sorted (numbers in numeric order).
    categorical_missing_ : ndarray of bool
        Per categorical column, whether it had missing values in training.
    n_numeric_ : int
        The number of scaled numeric output columns (the first ones).
    n_binary_ : int
        The number of 0/1 output columns (after the numeric ones).
    embedding_cardinalities_ : list of int
        Per embedded column (the last ones), its number of codes: its levels + 1.
    layout_ : dict
        ``{"numeric": slice, "binary": slice, "embedding": slice}``: each block's output columns.
    feature_names_out_ : ndarray of str
        The output columns' names: "age", "age_missing", "color=red", "city (code)".

    Examples
    --------
    >>> import pandas as pd
    >>> from skscratch._estimator.tabular_preprocessing import TabularPreprocessor
    >>> X = pd.DataFrame({"age": [20.0, 30.0, None, 50.0, 40.0],
    ...                   "color": ["red", "blue", "red", None, "red"]})
    >>> pre = TabularPreprocessor().fit(X)
    >>> pre.get_feature_names_out()
    array(['age', 'age_missing', 'color=blue', 'color=red', 'color_missing'], dtype=object)
    >>> pre.transform(X).round(3)
    array([[-0.949,  0.   ,  0.   ,  1.   ,  0.   ],
           [-0.331,  0.   ,  1.   ,  0.   ,  0.   ],
           [ 0.   ,  1.   ,  0.   ,  1.   ,  0.   ],
           [ 0.949,  0.   ,  0.   ,  0.   ,  1.   ],
           [ 0.331,  0.   ,  0.   ,  1.   ,  0.   ]], dtype=float32)
    >>> pre.n_numeric_, pre.n_binary_, pre.embedding_cardinalities_
    (1, 4, [])
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "one_hot_max_categories": [Interval(Integral, 0, None, closed="left")],
        "numeric_scaling": [StrOptions({"robust", "standard"}), None],
        "smooth_clip": ["boolean"],
        "dtype": [StrOptions({"float32", "float64"})],
    }

    # the parameters and fitted attributes, declared for type checkers
    categorical_features: Any
    one_hot_max_categories: int
    numeric_scaling: str | None
    smooth_clip: bool
    dtype: str
    n_features_in_: int
    feature_names_in_: NDArray[np.object_]
    column_kinds_: list[str]
    numeric_columns_: NDArray[np.intp]
    categorical_columns_: NDArray[np.intp]
    center_: NDArray[np.float64]
    factor_: NDArray[np.float64]
    numeric_missing_: NDArray[np.bool_]
    categories_: list[NDArray[np.object_]]
    categorical_missing_: NDArray[np.bool_]
    n_numeric_: int
    n_binary_: int
    embedding_cardinalities_: list[int]
    layout_: dict[str, slice]
    feature_names_out_: NDArray[np.object_]

    def __init__(self, categorical_features: Any = "from_dtype", one_hot_max_categories: int = 9,
                 numeric_scaling: str | None = "robust", smooth_clip: bool = True, dtype: str = "float32") -> None:
        self.categorical_features = categorical_features
        self.one_hot_max_categories = one_hot_max_categories
        self.numeric_scaling = numeric_scaling
        self.smooth_clip = smooth_clip
        self.dtype = dtype

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> TabularPreprocessor:
        """Learn each column's kind, scale and levels.

        Parameters
        ----------
        X : DataFrame (pandas or polars) or array-like of shape (n_samples, n_features)
            The table; NaN, None or pd.NA for a missing value.
        y : None
            Ignored.

        Returns
        -------
        self : TabularPreprocessor
            Fitted.
        """
        table = _read(self, X, reset=True)
        categorical = self._categorical_mask(table)
        numeric_columns: list[int] = np.flatnonzero(~categorical).tolist()
        categorical_columns: list[int] = np.flatnonzero(categorical).tolist()
        self.numeric_columns_ = np.array(numeric_columns, dtype=np.intp)
        self.categorical_columns_ = np.array(categorical_columns, dtype=np.intp)
        stats = [self._fit_numeric(table.numeric(j), table.names[j]) for j in numeric_columns]
        self.center_ = np.array([center for center, _, _ in stats], dtype=np.float64)
        self.factor_ = np.array([factor for _, factor, _ in stats], dtype=np.float64)
        self.numeric_missing_ = np.array([missing for _, _, missing in stats], dtype=bool)
        fitted = [_fit_categories(table.objects(j)) for j in categorical_columns]
        self.categories_ = [np.array(levels, dtype=object) for levels, _ in fitted]
        self.categorical_missing_ = np.array([missing for _, missing in fitted], dtype=bool)
        self.column_kinds_ = [_NUMERIC] * table.n_cols
        for j, (levels, missing) in zip(categorical_columns, fitted):
            self.column_kinds_[j] = self._categorical_kind(len(levels), missing)
        numeric, binary, codes = self._output_names(_check_feature_names_in(self, None))
        self.n_numeric_, self.n_binary_ = len(numeric), len(binary)
        self.embedding_cardinalities_ = [len(levels) + 1 for j, (levels, _) in zip(categorical_columns, fitted)
                                         if self.column_kinds_[j] == _EMBEDDING]
        n_first = self.n_numeric_ + self.n_binary_
        self.layout_ = {"numeric": slice(0, self.n_numeric_), "binary": slice(self.n_numeric_, n_first),
                        "embedding": slice(n_first, n_first + len(codes))}
        self.feature_names_out_ = np.array([*numeric, *binary, *codes], dtype=object)
        return self

    def _categorical_mask(self, table: _Table) -> NDArray[np.bool_]:
        """Which columns are categorical, from ``categorical_features``."""
        spec, n = self.categorical_features, table.n_cols
        mask = np.zeros(n, dtype=bool)
        if spec is None:
            return mask
        if isinstance(spec, str):  # "from_dtype"
            return np.array([table.categorical_dtype(j) for j in range(n)], dtype=bool)
        spec = np.asarray(spec)
        if spec.size == 0:
            return mask
        if spec.ndim != 1:
            raise ValueError(f"categorical_features must be 1-D, got an array of shape {spec.shape}.")
        if spec.dtype.kind == "b":
            if spec.shape[0] != n:
                raise ValueError(f"categorical_features is a mask of {spec.shape[0]} booleans; X has {n} columns.")
            return spec.copy()
        if spec.dtype.kind in "iu":
            if spec.min() < 0 or spec.max() >= n:
                raise ValueError(f"categorical_features holds indices out of range for X's {n} columns: "
                                 f"{spec.tolist()} (each must be in [0, {n - 1}]).")
            mask[spec] = True
            return mask
        if spec.dtype.kind in "UO":
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise ValueError("categorical_features holds names, but X has no string column names: pass indices.")
            position = {name: j for j, name in enumerate(names)}
            unknown = [name for name in spec.tolist() if name not in position]
            if unknown:
                raise ValueError(f"categorical_features names columns X does not have: {unknown}.")
            mask[[position[name] for name in spec.tolist()]] = True
            return mask
        raise ValueError("categorical_features must be 'from_dtype', None, or an array of column indices, names "
                         f"or booleans; got values of dtype {spec.dtype}.")

    def _fit_numeric(self, x: NDArray[np.float64], name: str) -> tuple[float, float, bool]:
        """``(center, factor, had missing values)`` of one numeric column."""
        _check_finite(x, name)
        missing = np.isnan(x)
        values = x[~missing]
        if values.size == 0:  # all missing: all 0, and the indicator
            return 0.0, 0.0, True
        if self.numeric_scaling is None:
            return 0.0, 1.0, bool(missing.any())
        scale = _robust_scale if self.numeric_scaling == "robust" else _standard_scale
        center, factor = scale(values)
        return center, factor, bool(missing.any())

    def _categorical_kind(self, n_levels: int, missing: bool) -> str:
        n_categories = n_levels + int(missing)
        if n_categories <= 1:
            return _CONSTANT
        if n_categories > self.one_hot_max_categories:
            return _EMBEDDING
        return _BINARY if n_levels == 2 and not missing else _ONE_HOT

    def _output_names(self, names: NDArray[Any]) -> tuple[list[str], list[str], list[str]]:
        """The names of the numeric, 0/1 and code output columns, from the input columns' names."""
        numeric: list[str] = []
        binary: list[str] = []
        codes: list[str] = []
        i_num = i_cat = 0
        for name, kind in zip(names, self.column_kinds_):
            if kind == _NUMERIC:
                numeric.append(name)
                binary += [f"{name}_missing"] if self.numeric_missing_[i_num] else []
                i_num += 1
                continue
            levels, missing = self.categories_[i_cat], self.categorical_missing_[i_cat]
            i_cat += 1
            if kind == _EMBEDDING:
                codes.append(f"{name} (code)")
            elif kind == _CONSTANT:
                binary.append(f"{name} (constant)")
            elif kind == _BINARY:
                binary.append(f"{name}={levels[1]}")
            else:
                binary += [f"{name}={level}" for level in levels] + ([f"{name}_missing"] if missing else [])
        return numeric, binary, codes

    def transform(self, X: Any) -> NDArray[np.floating[Any]]:
        """The numeric, 0/1 and code columns of ``X`` (see ``layout_``), all finite.

        Parameters
        ----------
        X : DataFrame (pandas or polars) or array-like of shape (n_samples, n_features)
            The table, with the columns (and names) ``fit`` saw.

        Returns
        -------
        X_out : ndarray of shape (n_samples, ``len(feature_names_out_)``), of ``dtype``
            The numeric block, then the 0/1 block, then the embedding codes.
        """
        check_is_fitted(self)
        table = _read(self, X, reset=False)
        numeric: list[NDArray[np.float64]] = []
        binary: list[NDArray[np.float64]] = []
        codes: list[NDArray[np.float64]] = []
        i_num = i_cat = 0
        for j, kind in enumerate(self.column_kinds_):
            if kind == _NUMERIC:
                scaled, missing = self._scale(table.numeric(j), i_num, table.names[j])
                numeric.append(scaled)
                if self.numeric_missing_[i_num]:
                    binary.append(missing.astype(np.float64))
                i_num += 1
                continue
            levels = self.categories_[i_cat]
            level = _level_codes(table.objects(j), levels)
            if kind == _EMBEDDING:
                codes.append(np.maximum(level, 0).astype(np.float64))
            elif kind == _CONSTANT:
                binary.append(np.zeros(table.n_rows))
            elif kind == _BINARY:
                binary.append((level == 2).astype(np.float64))
            else:
                binary.extend(_one_hot(level, len(levels), bool(self.categorical_missing_[i_cat])).T)
            i_cat += 1
        Z = np.column_stack(numeric) if numeric else np.zeros((table.n_rows, 0))
        if self.smooth_clip:
            Z = _smooth_clip(Z)
        else:
            limit = float(np.finfo(self.dtype).max)
            Z = np.clip(Z, -limit, limit)
        return np.column_stack([Z, *binary, *codes]).astype(self.dtype, copy=False)

    def _scale(self, x: NDArray[np.float64], i: int, name: str) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """Numeric column ``i`` scaled (NaN as 0, within float64's range), and where it was missing."""
        _check_finite(x, name)
        missing = np.isnan(x)
        center, factor = float(self.center_[i]), float(self.factor_[i])
        if factor == 0.0:
            return np.zeros_like(x), missing
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (x - center) * factor  # may overflow to inf: clipped below
        scaled[missing] = 0.0
        return np.clip(scaled, -_BIG, _BIG, out=scaled), missing

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.object_]:
        """The output columns' names, e.g. "age", "age_missing", "color=red", "city (code)".

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            The input columns' names; None: those seen in fit (``x0``, ``x1`` ... for an array).

        Returns
        -------
        feature_names_out : ndarray of str
            One name per output column, in the output's order.
        """
        check_is_fitted(self)
        numeric, binary, codes = self._output_names(_check_feature_names_in(self, input_features))
        return np.array([*numeric, *binary, *codes], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = [self.dtype]
        return tags
