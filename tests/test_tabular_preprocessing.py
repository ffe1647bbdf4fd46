"""TabularPreprocessor: a table as it comes made one float matrix (RealMLP-TD's preprocessing)."""

import inspect
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from numpydoc.docscrape import NumpyDocString
from scipy import sparse
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skscratch._estimator.tabular_preprocessing import TabularPreprocessor


def clip(z):
    """The smooth clip, written as the paper writes it."""
    z = np.asarray(z, dtype=np.float64)
    return z / np.sqrt(1 + (z / 3) ** 2)


def mixed_frame():
    """A DataFrame with a column of every kind, and missing values in each."""
    return pd.DataFrame({
        "age": [20.0, 30.0, np.nan, 50.0, 40.0, 35.0],
        "count": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
        "color": ["red", "blue", None, "red", "green", "blue"],
        "size": pd.Categorical(["S", "M", "L", "S", np.nan, "M"]),
        "flag": pd.array([True, False, None, True, True, False], dtype="boolean"),
        "yes": [True, False, True, True, False, False],
        "city": [f"c{i}" for i in [1, 2, 3, 4, 5, 6]],
    })


@parametrize_with_checks([TabularPreprocessor()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --- numeric scaling and clipping -----------------------------------------------------------------------------


def test_robust_scaling_by_hand():
    X = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])  # median 3, q25 2, q75 4: IQR 2
    pre = TabularPreprocessor(smooth_clip=False, dtype="float64").fit(X)
    assert pre.center_.tolist() == [3.0] and pre.factor_.tolist() == [0.5]
    np.testing.assert_allclose(pre.transform(X)[:, 0], [-1.0, -0.5, 0.0, 0.5, 48.5])
    clipped = TabularPreprocessor(dtype="float64").fit_transform(X)[:, 0]
    np.testing.assert_allclose(clipped, clip([-1.0, -0.5, 0.0, 0.5, 48.5]))


def test_robust_scaling_interpolates_quartiles():
    X = np.array([[1.0], [2.0], [4.0], [8.0]])  # linear quartiles: 1.75 (index 0.75), 5.0 (index 2.25); median 3
    pre = TabularPreprocessor(dtype="float64").fit(X)
    assert pre.center_[0] == 3.0
    assert pre.factor_[0] == pytest.approx(1 / 3.25)


def test_robust_scaling_falls_back_to_half_the_range_where_the_iqr_is_zero():
    X = np.array([[0.0]] * 6 + [[10.0]])  # q25 = q75 = 0: s = (10 - 0) / 2
    pre = TabularPreprocessor(smooth_clip=False, dtype="float64").fit(X)
    assert pre.factor_.tolist() == [0.2]
    np.testing.assert_allclose(pre.transform([[10.0], [-5.0]])[:, 0], [2.0, -1.0])


def test_a_constant_column_is_all_zeros_also_for_new_values():
    X = np.array([[7.0, 1.0], [7.0, 2.0], [7.0, 3.0]])
    pre = TabularPreprocessor(smooth_clip=False).fit(X)
    assert pre.factor_[0] == 0.0
    assert not pre.transform(X)[:, 0].any()
    assert pre.transform([[1e6, 2.0]])[0, 0] == 0.0


def test_standard_scaling_and_no_scaling():
    X = np.array([[1.0], [2.0], [3.0], [np.nan]])
    Z = TabularPreprocessor(numeric_scaling="standard", smooth_clip=False, dtype="float64").fit_transform(X)
    np.testing.assert_allclose(Z[:, 0], [-np.sqrt(1.5), 0.0, np.sqrt(1.5), 0.0])
    assert Z[:, 1].tolist() == [0, 0, 0, 1]  # the indicator
    constant = TabularPreprocessor(numeric_scaling="standard", smooth_clip=False).fit([[0.1], [0.1], [0.1]])
    assert constant.factor_.tolist() == [1.0]  # std 0 taken as 1
    assert constant.transform([[0.1], [1.1]])[:, 0].tolist() == pytest.approx([0.0, 1.0])
    raw = TabularPreprocessor(numeric_scaling=None, smooth_clip=False, dtype="float64").fit_transform(X)
    assert raw[:, 0].tolist() == [1.0, 2.0, 3.0, 0.0]


def test_smooth_clip_values_monotonicity_and_bound():
    z = np.array([[-3.0], [0.0], [1.0], [3.0], [30.0]])
    Z = TabularPreprocessor(numeric_scaling=None, dtype="float64").fit_transform(z)[:, 0]
    np.testing.assert_allclose(Z, [-3 / np.sqrt(2), 0.0, 1 / np.sqrt(10 / 9), 3 / np.sqrt(2), 30 / np.sqrt(101)])
    grid = np.concatenate([-np.logspace(300, -5, 400), [0.0], np.linspace(-50, 50, 2001), np.logspace(-5, 300, 400)])
    values = TabularPreprocessor(numeric_scaling=None, dtype="float64").fit_transform(np.sort(grid)[:, None])[:, 0]
    assert np.all(np.diff(values) >= 0)
    assert np.all(np.abs(values) <= 3.0)


def test_huge_values_give_finite_output_without_warnings():
    # column 0: an IQR past float64's range (quartiles -+1e308, median 0); column 1: an outlier
    X = np.array([[-1e308, 0.0]] * 4 + [[1e308, 1.0]] * 3 + [[1e308, 1e300]])
    X[:, 1] = [0, 1, 2, 3, 4, 5, 6, 1e300]  # median 3.5, IQR 3.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype in ("float32", "float64"):
            pre = TabularPreprocessor(dtype=dtype).fit(X)
            Z = pre.transform(np.vstack([X, [[0.0, -1e300]]]))
            assert np.isfinite(Z).all() and np.abs(Z).max() <= 3.0
            assert Z[0, 0] == pytest.approx(clip(-0.5), rel=1e-6) and Z[8, 0] == 0.0
            assert Z[7, 1] == pytest.approx(3.0) and Z[8, 1] == pytest.approx(-3.0)
            Z = TabularPreprocessor(numeric_scaling="standard", dtype=dtype).fit_transform(X)
            assert np.isfinite(Z).all()
        unclipped = TabularPreprocessor(smooth_clip=False).fit_transform(X)  # float32: clipped to its range
        assert np.isfinite(unclipped).all() and unclipped.max() == np.finfo(np.float32).max


# --- categorical routing ---------------------------------------------------------------------------------------


def levels(n, missing=False):
    values = [f"v{i}" for i in range(n)] * 2
    return pd.DataFrame({"c": values + ([None] if missing else [])})


@pytest.mark.parametrize("n, missing, kind, width", [
    (9, False, "one_hot", 9), (8, True, "one_hot", 9), (9, True, "embedding", 1), (10, False, "embedding", 1),
    (2, False, "binary", 1), (2, True, "one_hot", 3), (1, True, "one_hot", 2), (3, False, "one_hot", 3),
])
def test_routing_at_the_threshold(n, missing, kind, width):
    pre = TabularPreprocessor().fit(levels(n, missing))
    assert pre.column_kinds_ == [kind]
    assert pre.transform(levels(n, missing)).shape[1] == width
    if kind == "embedding":
        assert pre.embedding_cardinalities_ == [n + 1] and pre.n_binary_ == 0
        assert pre.layout_["embedding"] == slice(0, 1)
    else:
        assert pre.n_binary_ == width and pre.embedding_cardinalities_ == []


def test_one_hot_max_categories_moves_the_threshold():
    assert TabularPreprocessor(one_hot_max_categories=3).fit(levels(4)).column_kinds_ == ["embedding"]
    assert TabularPreprocessor(one_hot_max_categories=20).fit(levels(15)).column_kinds_ == ["one_hot"]
    assert TabularPreprocessor(one_hot_max_categories=0).fit(levels(2)).column_kinds_ == ["embedding"]


def test_single_category_columns_are_one_column_of_zeros():
    X = pd.DataFrame({"one": ["a", "a", "a"], "none": [None, None, None]})
    pre = TabularPreprocessor(categorical_features=[0, 1]).fit(X)
    assert pre.column_kinds_ == ["constant", "constant"]
    assert pre.get_feature_names_out().tolist() == ["one (constant)", "none (constant)"]
    assert not pre.transform(pd.DataFrame({"one": ["b", None], "none": ["x", None]})).any()


def test_the_layout_of_a_mixed_frame():
    X = mixed_frame()
    pre = TabularPreprocessor(one_hot_max_categories=5).fit(X)
    assert pre.column_kinds_ == ["numeric", "numeric", "one_hot", "one_hot", "one_hot", "binary", "embedding"]
    assert pre.numeric_columns_.tolist() == [0, 1] and pre.categorical_columns_.tolist() == [2, 3, 4, 5, 6]
    assert pre.get_feature_names_out().tolist() == [
        "age", "count", "age_missing", "count_missing", "color=blue", "color=green", "color=red", "color_missing",
        "size=L", "size=M", "size=S", "size_missing", "flag=False", "flag=True", "flag_missing", "yes=True",
        "city (code)"]
    assert (pre.n_numeric_, pre.n_binary_, pre.embedding_cardinalities_) == (2, 14, [7])
    assert pre.layout_ == {"numeric": slice(0, 2), "binary": slice(2, 16), "embedding": slice(16, 17)}
    Z = pre.transform(X)
    assert Z.dtype == np.float32 and Z.shape == (6, 17) and np.isfinite(Z).all()
    assert set(np.unique(Z[:, pre.layout_["binary"]])) == {0.0, 1.0}
    assert Z[:, 16].tolist() == [1, 2, 3, 4, 5, 6]
    assert Z[2, 0] == 0 and Z[2, 2:4].tolist() == [1, 0]  # NaN: 0, and the indicator
    assert Z[1, 1] == 0 and Z[1, 2:4].tolist() == [0, 1]  # pd.NA in an Int64 column
    assert Z[2, 4:8].tolist() == [0, 0, 0, 1]  # None in an object column
    assert Z[4, 8:12].tolist() == [0, 0, 0, 1]  # NaN in a category column
    assert Z[2, 12:15].tolist() == [0, 0, 1]  # pd.NA in a boolean column
    assert Z[:, 15].tolist() == [1, 0, 1, 1, 0, 0]


def test_unknown_and_unexpectedly_missing_values():
    X = mixed_frame()
    pre = TabularPreprocessor(one_hot_max_categories=5).fit(X)
    new = X.iloc[:2].copy()
    new["color"] = ["purple", "red"]
    new["size"] = pd.Categorical(["XL", "S"])
    new["yes"] = [None, True]
    new["city"] = ["elsewhere", None]
    Z = pre.transform(new)
    assert Z[0, 4:8].tolist() == [0, 0, 0, 0] and Z[1, 4:8].tolist() == [0, 0, 1, 0]
    assert Z[0, 8:12].tolist() == [0, 0, 0, 0]
    assert Z[:, 15].tolist() == [0, 1]  # binary: missing (none in fit) or unknown is 0
    assert Z[:, 16].tolist() == [0, 0]  # code 0: unknown, missing
    numeric = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    assert TabularPreprocessor().fit(numeric).transform(pd.DataFrame({"x": [np.nan]})).tolist() == [[0.0]]


def test_unicode_and_mixed_type_levels():
    X = pd.DataFrame({"city": ["日本", "Zürich", "日本", None],
                      "mixed": np.array([1, "1", 2.0, "b"], dtype=object)})
    pre = TabularPreprocessor().fit(X)
    assert pre.categories_[0].tolist() == ["Zürich", "日本"]
    assert pre.categories_[1].tolist() == ["1", "2", "b"]
    assert "city=日本" in pre.get_feature_names_out()
    Z = pre.transform(pd.DataFrame({"city": ["Zürich"], "mixed": np.array([np.int64(2)], dtype=object)}))
    assert Z.tolist() == [[1, 0, 0, 0, 1, 0]]


def test_levels_sort_numbers_numerically():
    X = np.array([[10.0], [2.0], [1.0], [np.nan]])
    pre = TabularPreprocessor(categorical_features=[0]).fit(X)
    assert pre.categories_[0].tolist() == ["1", "2", "10"]
    assert pre.get_feature_names_out().tolist() == ["x0=1", "x0=2", "x0=10", "x0_missing"]
    assert pre.transform([[2.0], [np.nan], [3.0]]).tolist() == [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]


def test_an_all_missing_numeric_column_without_warnings():
    X = pd.DataFrame({"empty": [np.nan] * 4, "x": [1.0, 2.0, 3.0, 4.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pre = TabularPreprocessor().fit(X)
        Z = pre.transform(X)
    assert pre.get_feature_names_out().tolist() == ["empty", "x", "empty_missing"]
    assert Z[:, 0].tolist() == [0] * 4 and Z[:, 2].tolist() == [1] * 4


def test_one_row():
    X = pd.DataFrame({"x": [3.0], "c": ["a"]})
    Z = TabularPreprocessor().fit_transform(X)
    assert Z.tolist() == [[0.0, 0.0]]


# --- input kinds ---------------------------------------------------------------------------------------------


def test_numpy_arrays_are_numeric_unless_told():
    X = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 1.0], [4.0, 0.0]])
    pre = TabularPreprocessor().fit(X)
    assert pre.column_kinds_ == ["numeric", "numeric"] and not hasattr(pre, "feature_names_in_")
    assert pre.get_feature_names_out().tolist() == ["x0", "x1"]
    pre = TabularPreprocessor(categorical_features=[False, True]).fit(X)
    assert pre.column_kinds_ == ["numeric", "binary"]
    assert pre.transform(X)[:, 1].tolist() == [0, 1, 1, 0]
    strings = np.array([["a", 1.5], ["b", 2.5], [None, 3.5]], dtype=object)
    Z = TabularPreprocessor(categorical_features=[0]).fit_transform(strings)
    assert Z.shape == (3, 4)


def test_categorical_features_by_name_or_none():
    X = mixed_frame()[["age", "count", "yes"]]
    assert TabularPreprocessor(categorical_features=["count"]).fit(X).column_kinds_ == ["numeric", "one_hot", "numeric"]
    assert TabularPreprocessor(categorical_features=None).fit(X).column_kinds_ == ["numeric"] * 3
    with pytest.raises(ValueError, match="'color' cannot be read as numbers"):
        TabularPreprocessor(categorical_features=None).fit(mixed_frame())


def test_bad_categorical_features():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="out of range"):
        TabularPreprocessor(categorical_features=[2]).fit(X)
    with pytest.raises(ValueError, match="no string column names"):
        TabularPreprocessor(categorical_features=["a"]).fit(X)
    with pytest.raises(ValueError, match="does not have"):
        TabularPreprocessor(categorical_features=["nope"]).fit(mixed_frame())
    with pytest.raises(ValueError, match="mask of 3 booleans"):
        TabularPreprocessor(categorical_features=[True, False, True]).fit(X)
    with pytest.raises(InvalidParameterError):
        TabularPreprocessor(categorical_features="auto").fit(X)
    with pytest.raises(InvalidParameterError):
        TabularPreprocessor(numeric_scaling="minmax").fit(X)


def test_polars():
    pl = pytest.importorskip("polars")
    X = pl.DataFrame({"x": [1.0, None, 3.0, 4.0], "n": pl.Series([1, 2, None, 4], dtype=pl.Int64),
                      "s": ["a", None, "b", "a"], "cat": pl.Series(["u", "v", "u", "v"], dtype=pl.Categorical),
                      "b": pl.Series([True, None, False, True])})
    pre = TabularPreprocessor().fit(X)
    assert pre.column_kinds_ == ["numeric", "numeric", "one_hot", "binary", "one_hot"]
    assert pre.feature_names_in_.tolist() == ["x", "n", "s", "cat", "b"]
    Z = pre.transform(X)
    expected = pre.transform(X.to_pandas())  # the same table in pandas gives the same numbers
    np.testing.assert_array_equal(Z, expected)
    assert Z[1, 0] == 0.0 and Z[1, 2] == 1.0  # null: 0 and the indicator


def test_polars_column_that_is_no_number_is_named():
    pl = pytest.importorskip("polars")
    with pytest.raises(ValueError, match="'s' cannot be read as numbers"):
        TabularPreprocessor(categorical_features=None).fit(pl.DataFrame({"s": ["a", "b"]}))


def test_object_columns_read_the_same_without_pandas(monkeypatch):
    """Where pandas was never imported (NumPy or polars input), missing values and levels are found alike."""
    import skscratch._estimator.tabular_preprocessing as module

    X = np.array([["b", 1.0], [None, 2.0], [np.nan, None], [2, 3.0], ["é", 4.0], [2.0, 5.0], [True, 6.0],
                  [{"a": 1}, 7.0]], dtype=object)
    with_pandas = TabularPreprocessor(categorical_features=[0], one_hot_max_categories=20).fit(X)
    monkeypatch.setattr(module, "_pandas", lambda: None)
    without = TabularPreprocessor(categorical_features=[0], one_hot_max_categories=20).fit(X)
    assert without.categories_[0].tolist() == with_pandas.categories_[0].tolist() == [
        "2", "True", "b", "{'a': 1}", "é"]
    assert without.get_feature_names_out().tolist()[-2:] == ["x0_missing", "x1_missing"]
    np.testing.assert_array_equal(without.transform(X), with_pandas.transform(X))
    assert without.transform(X)[2].tolist() == [0, 0, 0, 0, 0, 0, 1, 1]  # NaN and None: missing


def test_column_names_and_counts_must_match_fit():
    X = mixed_frame()
    pre = TabularPreprocessor().fit(X)
    with pytest.raises(ValueError, match="feature names should match"):
        pre.transform(X.rename(columns={"age": "AGE"}))
    with pytest.raises(ValueError, match="missing:\n- city"):
        pre.transform(X.iloc[:, :3])
    with pytest.raises(ValueError, match="expecting 2 features"):
        TabularPreprocessor().fit(np.zeros((3, 2))).transform(np.zeros((3, 3)))


def test_infinity_is_refused_naming_the_column():
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [np.inf, 0.0]})
    with pytest.raises(ValueError, match="Column 'b' contains infinity"):
        TabularPreprocessor().fit(X)
    pre = TabularPreprocessor().fit(X.assign(b=[1.0, 0.0]))
    with pytest.raises(ValueError, match="Column 'a' contains infinity"):
        pre.transform(X.assign(a=[-np.inf, 1.0]))
    with pytest.raises(ValueError, match="Column 'x1' contains infinity"):
        TabularPreprocessor().fit(np.array([[1.0, np.inf]]))


def test_empty_and_sparse_input_are_refused():
    with pytest.raises(ValueError, match="0 sample"):
        TabularPreprocessor().fit(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="at least one row"):
        TabularPreprocessor().fit(pd.DataFrame({"a": []}))
    with pytest.raises(ValueError, match="at least one row and one column"):
        TabularPreprocessor().fit(pd.DataFrame(index=[0, 1]))
    with pytest.raises(TypeError, match="densify"):
        TabularPreprocessor().fit(sparse.csr_matrix(np.eye(3)))


# --- persistence, cloning, docs ------------------------------------------------------------------------------


def test_pickle_round_trip_and_clone():
    X = mixed_frame()
    pre = TabularPreprocessor(one_hot_max_categories=4, dtype="float64").fit(X)
    again = pickle.loads(pickle.dumps(pre))
    np.testing.assert_array_equal(again.transform(X), pre.transform(X))
    assert again.embedding_cardinalities_ == pre.embedding_cardinalities_
    fresh = clone(pre)
    assert fresh.get_params() == pre.get_params() and not hasattr(fresh, "layout_")
    assert fresh.set_params(smooth_clip=False).smooth_clip is False


def test_tags_say_nan_strings_and_categories_are_welcome():
    tags = TabularPreprocessor(dtype="float64").__sklearn_tags__()
    assert tags.input_tags.allow_nan and tags.input_tags.string and tags.input_tags.categorical
    assert tags.transformer_tags.preserves_dtype == ["float64"]


def test_set_output_pandas_names_the_columns():
    pre = TabularPreprocessor().set_output(transform="pandas").fit(mixed_frame())
    out = pre.transform(mixed_frame())
    assert out.columns.tolist() == pre.get_feature_names_out().tolist()


def test_parameters_and_attributes_are_documented():
    doc = NumpyDocString(TabularPreprocessor.__doc__)
    assert [p.name for p in doc["Parameters"]] == list(inspect.signature(TabularPreprocessor).parameters)
    pre = TabularPreprocessor().fit(mixed_frame())
    fitted = {name for name in vars(pre) if name.endswith("_") and not name.startswith("_")}
    assert fitted == {a.name for a in doc["Attributes"]}
    declared = set(TabularPreprocessor.__annotations__) - {"_parameter_constraints"}
    assert declared == fitted | set(pre.get_params())
    assert not [name for name in vars(TabularPreprocessor()) if name.endswith("_")]
