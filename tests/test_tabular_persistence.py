"""The safe format for tabular MLPs (format version 4), ONNX's refusal, and skops."""

import copy
import datetime
import functools
import io
import json
import math
import operator
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skscratch
from skscratch import TabularMLPClassifier, TabularMLPRegressor, TabularPreprocessor
from skscratch.io.integrity import DIGEST
from skscratch.io.persistence import METADATA
from skscratch.io.tabular_format import CENTER, FACTOR, PARAMS, TABULAR_FORMAT_VERSION, TABULAR_PARAM_RULES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_fuzz_load as fuzzer  # noqa: E402  (forging files as an attacker would; the fuzz)
from _forge import forge, npy_bytes, read_members, rehashed  # noqa: E402

KEY = b"a secret of 32 bytes or more...."
SMALL = {"hidden_layer_sizes": (16,), "max_iter": 5, "random_state": 0}


def table(n=160, seed=0):
    """A table as it comes: numbers with NaN, a constant, small and large categoricals, strings, booleans."""
    rng = np.random.RandomState(seed)
    return pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "income": np.where(rng.rand(n) < 0.15, np.nan, rng.lognormal(10, 1, n)),
        "constant": np.full(n, 3.0),  # factor_ 0
        "color": pd.Categorical(rng.choice(["red", "green", "blue"], n)),  # one-hot
        "size": rng.choice(["S", "L", None], n).astype(object),  # one-hot, with "missing"
        "member": rng.rand(n) < 0.5,  # binary
        "city": pd.Categorical(rng.choice([f"city{i}" for i in range(30)], n)),  # embedding
        "zip": rng.randint(0, 15, n).astype(object),  # embedding of ints, known as text
    })


def unseen(X):
    """Rows with levels fit never saw, and missing values where fit saw none."""
    X = X.copy()
    X["city"] = pd.Categorical(np.where(np.arange(len(X)) % 3 == 0, "city99", X["city"].astype(str)))
    X["color"] = pd.Categorical(np.where(np.arange(len(X)) % 4 == 0, None, X["color"].astype(object)))
    X["size"] = np.where(np.arange(len(X)) % 5 == 0, "XL", X["size"])
    X.loc[::6, "age"] = np.nan
    X.loc[::7, "zip"] = 99
    return X


def labels(kind, X):
    score = X["age"].to_numpy() + 5 * (X["color"] == "red").to_numpy()
    return {
        "str": np.array(["high", "low", "mid"])[np.digitize(score, [35, 45])],
        "object": pd.Series(np.where(score > 40, "yes", "no"), dtype=object),
        "bool": score > 40,
        "int": np.digitize(score, [35, 45]) - 1,
    }[kind]


def fit(Estimator, X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Estimator(**{**SMALL, **params}).fit(X, y)


PREPROCESSOR_ATTRIBUTES = ("n_features_in_", "column_kinds_", "numeric_columns_", "categorical_columns_", "center_",
                           "factor_", "numeric_missing_", "categorical_missing_", "n_numeric_", "n_binary_",
                           "embedding_cardinalities_", "layout_", "feature_names_out_")


def assert_same_model(loaded, model, tables):
    """The loaded model is the saved one: parameters, fitted attributes, and every prediction to the bit."""
    assert type(loaded) is type(model)
    assert repr(loaded.get_params()) == repr(model.get_params())
    pre, original = loaded.preprocessor_, model.preprocessor_
    for key in PREPROCESSOR_ATTRIBUTES:
        found, expected = getattr(pre, key), getattr(original, key)
        assert type(found) is type(expected), key
        if isinstance(expected, np.ndarray):
            assert found.dtype == expected.dtype, key
        np.testing.assert_array_equal(found, expected) if not isinstance(expected, dict) else None
        assert found == expected if isinstance(expected, dict) else True, key
    for found, expected in zip(pre.categories_, original.categories_, strict=True):
        assert found.dtype == expected.dtype and found.tolist() == expected.tolist()
        assert [type(v) for v in found] == [type(v) for v in expected]
    assert repr(pre.get_params()) == repr(original.get_params())
    for name in ("feature_names_in_",):
        assert hasattr(loaded, name) == hasattr(model, name) == hasattr(pre, name)
        if hasattr(model, name):
            np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
            np.testing.assert_array_equal(pre.feature_names_in_, original.feature_names_in_)
    assert repr(loaded.network_) == repr(model.network_)
    np.testing.assert_array_equal(loaded.network_.params, model.network_.params)
    for key in ("n_features_in_", "n_iter_", "best_epoch_"):
        assert getattr(loaded, key) == getattr(model, key), key
    for key in ("loss_curve_", "validation_scores_", "best_validation_score_"):
        if getattr(model, key) is None:
            assert getattr(loaded, key) is None
        else:
            np.testing.assert_array_equal(getattr(loaded, key), getattr(model, key))
    pd.testing.assert_frame_equal(loaded.history_, model.history_)
    if hasattr(model, "classes_"):
        assert loaded.classes_.dtype == model.classes_.dtype
        np.testing.assert_array_equal(loaded.classes_, model.classes_)
    else:
        assert loaded._y_ndim == model._y_ndim
        for key in ("_y_mean", "_y_std", "_y_min", "_y_max"):
            np.testing.assert_array_equal(getattr(loaded, key), getattr(model, key))
    for X in tables:
        np.testing.assert_array_equal(pre.transform(X), original.transform(X))
        predicted = loaded.predict(X)
        assert predicted.dtype == model.predict(X).dtype
        np.testing.assert_array_equal(predicted, model.predict(X))
        if hasattr(model, "predict_proba"):
            np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
            np.testing.assert_array_equal(loaded.predict_log_proba(X), model.predict_log_proba(X))


def round_trip(model, path, **save):
    skscratch.save(model, path, **save)
    return skscratch.load(path, **save)


# ----------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("kind", ["str", "object", "bool", "int"])
def test_classifier_round_trip_is_bit_identical(tmp_path, kind):
    X = table()
    model = fit(TabularMLPClassifier, X, labels(kind, X))
    assert model.preprocessor_.embedding_cardinalities_ == [31, 16]  # city and zip: embeddings
    assert 0.0 in model.preprocessor_.factor_  # the constant column
    loaded = round_trip(model, tmp_path / "model.npz")
    assert_same_model(loaded, model, [X, unseen(table(60, seed=1))])


@pytest.mark.parametrize("config", [
    {},
    {"activation": "relu", "num_embedding": None, "scaling_layer": False, "ntk": False, "data_init": False,
     "dropout": 0.0, "select_best_epoch": False, "numeric_scaling": "standard", "smooth_clip": False,
     "dtype": "float64", "clip_predictions": False, "hidden_layer_sizes": [8, 4]},
])
def test_multi_output_regressor_round_trip_is_bit_identical(tmp_path, config):
    X = table()
    Y = np.column_stack([X["age"] * 2, X["member"] + X["age"] / 10])
    model = fit(TabularMLPRegressor, X, Y, **config)
    loaded = round_trip(model, tmp_path / "model.npz")
    assert loaded.predict(X).shape == (len(X), 2)
    assert_same_model(loaded, model, [X, unseen(table(60, seed=1))])


def test_a_regressor_of_a_numpy_array_round_trips(tmp_path):
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randn(120), rng.randint(0, 3, 120), np.where(rng.rand(120) < 0.1, np.nan, 1.0)])
    model = fit(TabularMLPRegressor, X, X[:, 0] * 3, categorical_features=[1])
    assert not hasattr(model, "feature_names_in_")
    loaded = round_trip(model, tmp_path / "model.npz")
    X_new = X.copy()
    X_new[:5, 1] = 7  # a level fit never saw
    assert_same_model(loaded, model, [X, X_new])
    assert loaded.predict(X).ndim == 1


def test_a_random_state_instance_is_stored_exactly_as_the_mlp_files_store_it(tmp_path):
    X = table()
    model = fit(TabularMLPClassifier, X, labels("str", X), random_state=np.random.RandomState(3))
    loaded = round_trip(model, tmp_path / "model.npz")
    assert isinstance(loaded.random_state, np.random.RandomState)
    expected, found = model.random_state.get_state(), loaded.random_state.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(found, expected, strict=True))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(path, model, X) of a saved classifier with string labels: the file the attacks start from."""
    X = table()
    model = fit(TabularMLPClassifier, X, labels("str", X))
    path = tmp_path_factory.mktemp("saved") / "tabular.npz"
    skscratch.save(model, path)
    return path, model, X


@pytest.fixture(scope="module")
def saved_regressor(tmp_path_factory):
    X = table()
    model = fit(TabularMLPRegressor, X, np.column_stack([X["age"], X["age"] * 2]))
    path = tmp_path_factory.mktemp("saved") / "regressor.npz"
    skscratch.save(model, path)
    return path, model, X


def test_numpy_alone_reads_the_weights(saved):
    path, model, X = saved
    with np.load(path) as data:  # allow_pickle=False: plain arrays
        assert sorted(data.files) == sorted([PARAMS, CENTER, FACTOR, METADATA, DIGEST])
        np.testing.assert_array_equal(data[PARAMS], model.network_.params)
        np.testing.assert_array_equal(data[CENTER], model.preprocessor_.center_)
        np.testing.assert_array_equal(data[FACTOR], model.preprocessor_.factor_)
        assert data[PARAMS].shape == (model.network_.n_params,)
        metadata = json.loads(data[METADATA].tobytes())
    assert metadata["format_version"] == TABULAR_FORMAT_VERSION == 4
    assert metadata["estimator"] == "TabularMLPClassifier"


def test_the_metadata_is_strict_json(saved):
    path, model, _ = saved

    def refuse(constant):
        raise AssertionError(f"{constant} in the JSON")

    with np.load(path) as data:
        json.loads(data[METADATA].tobytes(), parse_constant=refuse)


def test_a_signed_file_loads_with_its_key_and_is_refused_with_another(tmp_path, saved):
    _, model, X = saved
    path = tmp_path / "signed.npz"
    skscratch.save(model, path, key=KEY)
    np.testing.assert_array_equal(skscratch.load(path, key=KEY).predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(skscratch.load(path).predict_proba(X), model.predict_proba(X))
    with pytest.raises(ValueError, match="signature does not match: the file was altered after it was signed, "
                                         "or signed with another key"):
        skscratch.load(path, key=b"another key of 32 bytes or more.")
    unsigned = tmp_path / "unsigned.npz"
    skscratch.save(model, unsigned)
    with pytest.raises(ValueError, match="it is not signed"):
        skscratch.load(unsigned, key=KEY)


def test_every_parameter_has_a_declared_rule():
    for Estimator in (TabularMLPClassifier, TabularMLPRegressor, TabularPreprocessor):
        assert set(Estimator._get_param_names()) <= set(TABULAR_PARAM_RULES), Estimator


# ----------------------------------------------------------------------
# what save refuses


def test_save_refuses_a_pipeline_holding_a_tabular_model(tmp_path, saved):
    _, model, X = saved
    for pipeline in (Pipeline([("mlp", model)]), Pipeline([("scale", StandardScaler()), ("mlp", clone(model))])):
        with pytest.raises(TypeError, match=r"cannot store a Pipeline holding a TabularMLPClassifier \(step 'mlp'\): "
                                            "a tabular MLP preprocesses the table itself"):
            skscratch.save(pipeline, tmp_path / "pipe.npz")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("level, shown", [(datetime.date(2020, 1, 2), r"datetime.date\(2020, 1, 2\) \(date\)"),
                                          (float("nan"), r"nan \(float\)"), ((1, 2), r"\(1, 2\) \(tuple\)")])
def test_save_refuses_a_level_that_is_not_a_json_scalar(tmp_path, saved, level, shown):
    _, model, _ = saved
    model = copy.deepcopy(model)
    model.preprocessor_.categories_[0] = np.array([level, "b", "c"], dtype=object)
    with pytest.raises(ValueError, match=rf"cannot store categories_\[0\] holding the level {shown}: the safe format "
                                         "stores category levels that are str, int, float \\(finite\\) or bool"):
        skscratch.save(model, tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def test_save_refuses_what_load_would_refuse(tmp_path, saved):
    _, model, _ = saved
    model = copy.deepcopy(model).set_params(activation="tanh")  # changed after fit: no file could load it
    with pytest.raises(ValueError, match="cannot store this TabularMLPClassifier: The 'activation' parameter"):
        skscratch.save(model, tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"not fitted|NotFitted|fitted yet"):
        skscratch.save(TabularMLPClassifier(), tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------
# crafted files: every hash rewritten, as an attacker who knows the format writes them


def parts(path):
    members = read_members(Path(path).read_bytes())
    return members, json.loads(np.lib.format.read_array(io.BytesIO(members[METADATA])).tobytes())


def array_of(path, name):
    with np.load(path) as data:
        return data[name]


def setter(dotted, value):
    """A change setting the metadata field at a dotted path (a number indexes a list): to ``value``, to
    ``value(field)`` if it is callable, or deleting it if it is DELETE."""
    keys = [int(key) if key.isdigit() else key for key in dotted.split(".")]

    def change(metadata, arrays, path):
        parent = functools.reduce(operator.getitem, keys[:-1], metadata)
        if value is DELETE:
            parent.pop(keys[-1])
            return
        parent[keys[-1]] = value(parent[keys[-1]]) if callable(value) else value

    return change


DELETE = object()


def replacing(name, transform, *, declare=True):
    """A change replacing array ``name`` by transform(array), its shape (and dtype) declared in the metadata or not."""

    def change(metadata, arrays, path):
        arrays[name] = transform(array_of(path, name).copy())
        if declare:
            metadata["arrays"][name]["shape"] = list(arrays[name].shape)
            metadata["arrays"][name]["dtype"] = arrays[name].dtype.name

    return change


def both(*changes):
    def change(metadata, arrays, path):
        for one in changes:
            one(metadata, arrays, path)

    return change


def at(index, value):
    def transform(array):
        array[index] = value
        return array

    return transform


def hidden_and_declared(sizes):
    """Hidden layers as large as ``sizes``, and the parameter vector's shape declared to fit them."""

    def change(metadata, arrays, path):
        model = skscratch.load(path)
        network = model._build_network(model.preprocessor_, list(sizes), len(model.classes_))
        metadata["params"]["hidden_layer_sizes"] = {"tuple": list(sizes)}
        metadata["arrays"][PARAMS]["shape"] = [sum(math.prod(shape) for _, _, shape in network._parameters())]

    return change


FITTED = "preprocessor.fitted"
CRAFTED = {
    # the parameter vector
    "params-too-short": (replacing(PARAMS, lambda p: p[:-1]), r"array network_params should be float64 of shape "
                         r"\(\d+,\) to fit the network its parameters describe; the metadata lists float64 \(\d+,\)"),
    "params-longer-than-declared": (replacing(PARAMS, lambda p: np.r_[p, 0.0], declare=False),
                                    r"array network_params is float64 \(\d+,\) \(fortran_order=False\) in the file; "
                                    r"it should be float64 \(\d+,\) in C order"),
    "params-far-longer-than-declared": (replacing(PARAMS, lambda p: np.r_[p, np.zeros(1000)], declare=False),
                                        r"member network_params holds \d+ bytes, but a float64 array of shape "
                                        r"\(\d+,\) takes"),
    "params-float32": (replacing(PARAMS, lambda p: p.astype(np.float32)), "array network_params should be float64"),
    "params-nan": (replacing(PARAMS, at(3, np.nan)), "array network_params has non-finite values"),
    "huge-declared-array": (setter(f"arrays.{PARAMS}.shape", [2**40]), r"should be float64 of shape \(\d+,\) to fit "
                            r"the network its parameters describe; the metadata lists float64 \(1099511627776,\)"),
    "huge-network": (hidden_and_declared((10**9, 10**9)), r"member network_params holds \d+ bytes, but a float64 "
                     r"array of shape \(10000000\d{11},\) takes"),
    # the preprocessor
    "negative-cardinality": (setter(f"{FITTED}.embedding_cardinalities_.0", -3),
                             r"embedding_cardinalities_\[0\] must be an integer in \[1, "),
    "cardinality-not-its-levels": (setter(f"{FITTED}.embedding_cardinalities_.0", 5),
                                   r"embedding_cardinalities_ is \[5, 16\], but the column kinds, categories_ and "
                                   r"missing flags give \[31, 16\]"),
    "nan-center": (replacing(CENTER, at(0, np.nan)), "array preprocessor_center_ has non-finite values"),
    "inf-factor": (replacing(FACTOR, at(1, np.inf)), "array preprocessor_factor_ has non-finite values"),
    "negative-factor": (replacing(FACTOR, at(1, -2.0)), r"array preprocessor_factor_ has a negative scale \(column "
                                                        r"1\)"),
    "center-of-another-length": (replacing(CENTER, lambda c: c[:2]), r"array preprocessor_center_ should be float64 "
                                                                     r"of shape \(3,\)"),
    "level-a-list": (setter(f"{FITTED}.categories_.0.0", [1, 2]), r"preprocessor.fitted.categories_\[0\]\[0\] must "
                     r"be a string or true or false or an integer .* or a finite number, got \[1, 2\]"),
    "level-null": (setter(f"{FITTED}.categories_.0.1", None), r"categories_\[0\]\[1\] must be a string or .*got None"),
    "level-an-object": (setter(f"{FITTED}.categories_.1.0", {"a": 1}), r"categories_\[1\]\[0\] must be a string"),
    "level-repeated": (setter(f"{FITTED}.categories_.0", lambda levels: [levels[0], *levels[:-1]]),
                       r"preprocessor.fitted.categories_\[0\] repeats a level"),
    "levels-one-short": (setter(f"{FITTED}.categories_.0", lambda levels: levels[:-1]),
                         r"column_kinds_\[3\] is 'one_hot', but 2 levels with one_hot_max_categories=9 make it "
                         "'binary'"),
    "levels-lists-one-short": (setter(f"{FITTED}.categories_", lambda columns: columns[:-1]),
                               r"preprocessor.fitted.categories_ has 4 entries for 5 columns of its kind"),
    "missing-flags-one-long": (setter(f"{FITTED}.numeric_missing_", lambda flags: [*flags, True]),
                               r"preprocessor.fitted.numeric_missing_ has 4 entries for 3 columns of its kind"),
    "kind-not-its-levels": (setter(f"{FITTED}.column_kinds_.3", "embedding"),
                            r"column_kinds_\[3\] is 'embedding', but 3 levels with one_hot_max_categories=9 make it "
                            "'one_hot'"),
    "kind-unknown": (setter(f"{FITTED}.column_kinds_.3", "ordinal"), r"column_kinds_\[3\] must be one of"),
    "numeric-as-categorical": (setter(f"{FITTED}.column_kinds_.0", "constant"),
                               r"numeric_columns_ is \[0, 1, 2\], but column_kinds_ gives \[1, 2\]"),
    "feature-names-one-short": (setter(f"{FITTED}.feature_names_in_", lambda names: names[:-1]),
                                r"preprocessor.fitted.feature_names_in_ has 7 entries for n_features_in_=8"),
    "names-out-changed": (setter(f"{FITTED}.feature_names_out_.0", "x"), "feature_names_out_ is"),
    "layout-changed": (setter(f"{FITTED}.layout_.binary", [0, 99]), r"layout_ is \{"),
    "preprocessor-param-invalid": (setter("preprocessor.params.numeric_scaling", "minmax"),
                                   "'numeric_scaling' parameter of TabularPreprocessor must be"),
    # the estimator
    "param-invalid": (setter("params.activation", "tanh"), "'activation' parameter of TabularMLPClassifier must be"),
    "param-out-of-range": (setter("params.dropout", 1.5), "'dropout' parameter of TabularMLPClassifier must be"),
    "param-of-another-type": (setter("params.max_iter", "5"), r"params.max_iter must be an integer"),
    "param-code": (setter("params.class_weight", {"callable": "os.system"}), "params.class_weight must be"),
    "names-not-the-preprocessor's": (setter("fitted.feature_names_in_", lambda names: names[::-1]),
                                     "fitted.feature_names_in_ are not the preprocessor's"),
    "history-one-short": (setter("fitted.history_.train_loss", lambda values: values[:-1]),
                          r"fitted.history_.train_loss has 4 values for n_iter_=5 epochs"),
    "history-unknown-column": (setter("fitted.history_.gradient", [1.0] * 5), r"fitted.history_ has unknown keys"),
    "best-epoch-after-the-last": (setter("fitted.best_epoch_", 99), r"best_epoch_ is 99, after the last epoch"),
    "classes-unsorted": (setter("classes.values", lambda values: values[::-1]), "classes_ must be sorted and unique"),
    "classes-not-their-dtype": (setter("classes.dtype", "<i8"), "classes of dtype <i8 must be ints"),
    # keys, versions, members
    "unknown-key": (setter("payload", 1), r"its metadata has unknown keys \['payload'\]"),
    "unknown-fitted-key": (setter(f"{FITTED}.payload", 1), r"preprocessor.fitted has unknown keys \['payload'\]"),
    "unknown-param": (setter("params.payload", 1), r"params has unknown keys \['payload'\]"),
    "key-missing": (setter("fitted.best_epoch_", DELETE), r"fitted has no \['best_epoch_'\]"),
    "in-version-2": (setter("format_version", 2), "a TabularMLPClassifier is stored in format version 4, not 2"),
    "version-4-of-an-mlp": (setter("estimator", "MLPScratchClassifier"), "unknown format version 4; this "
                            "skscratch .* reads versions 1, 2, 3"),
    "in-version-5": (setter("format_version", 5), "a TabularMLPClassifier is stored in format version 4, not 5"),
    "estimator-unknown": (setter("estimator", "os.system"), "unknown format version 4"),
    "array-not-listed": (lambda metadata, arrays, path: arrays.update(extra=np.zeros(3)),
                         r"it holds arrays its metadata does not list: \['extra'\]"),
    "array-unlisted-in-metadata": (setter(f"arrays.{FACTOR}", DELETE), r"lacks \['preprocessor_factor_'\]"),
}


def crafted(path, out, change):
    """A copy of a saved file with change(metadata, arrays, path) applied and every hash rewritten."""
    members, metadata = parts(path)
    arrays = {}
    change(metadata, arrays, path)
    out.write_bytes(rehashed(members, metadata, arrays))
    return out


@pytest.mark.parametrize("case", list(CRAFTED))
def test_load_refuses_crafted_files(saved, tmp_path, case):
    change, message = CRAFTED[case]
    path = crafted(saved[0], tmp_path / "crafted.npz", change)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message) as refusal:
        skscratch.load(path)
    assert str(refusal.value).startswith(f"{path} is not a readable skscratch model file: ")
    assert time.perf_counter() - start < 1.0


REGRESSOR_CRAFTED = {
    "y-std-zero": (replacing("y_std", at(0, 0.0)), "array y_std has a value that is not positive"),
    "y-min-above-max": (replacing("y_min", at(1, 1e300)), "array y_min is above y_max"),
    "y-mean-nan": (replacing("y_mean", at(0, np.nan)), "array y_mean has non-finite values"),
    "one-target-two-outputs": (setter("targets.ndim", 1), "targets.ndim is 1 .* but targets.n_outputs is 2"),
    "three-outputs": (setter("targets.n_outputs", 3), "array network_params should be float64 of shape"),
    "classes-of-a-regressor": (setter("classes", {"values": [0, 1], "dtype": "<i8"}),
                               r"its metadata has unknown keys \['classes'\]"),
}


@pytest.mark.parametrize("case", list(REGRESSOR_CRAFTED))
def test_load_refuses_crafted_regressor_files(saved_regressor, tmp_path, case):
    change, message = REGRESSOR_CRAFTED[case]
    path = crafted(saved_regressor[0], tmp_path / "crafted.npz", change)
    with pytest.raises(ValueError, match=message):
        skscratch.load(path)


def test_a_valid_crafted_file_loads_as_what_it_says(saved, tmp_path):
    """A file edited into another valid model (here: no smooth clipping) loads as that model, nothing else."""
    path, model, X = saved
    edited = crafted(path, tmp_path / "edited.npz", setter("preprocessor.params.smooth_clip", False))
    loaded = skscratch.load(edited)
    assert loaded.preprocessor_.smooth_clip is False
    twin = copy.deepcopy(model)
    twin.preprocessor_.smooth_clip = False
    np.testing.assert_array_equal(loaded.predict_proba(X), twin.predict_proba(X))


def test_tampered_weights_and_digest_are_refused(saved, tmp_path):
    path, model, _ = saved
    members, _ = parts(path)
    weights = dict(members, **{PARAMS: npy_bytes(model.network_.params * 2)})
    (tmp_path / "weights.npz").write_bytes(forge(weights))  # the digest rewritten, the metadata's sha256 not
    with pytest.raises(ValueError, match="array network_params does not match its sha256: the file is damaged or "
                                         "was altered"):
        skscratch.load(tmp_path / "weights.npz")
    digest = dict(members, **{DIGEST: npy_bytes(np.frombuffer(b"0" * 64, np.uint8))})
    (tmp_path / "digest.npz").write_bytes(fuzzer.zipped(digest))
    with pytest.raises(ValueError, match="its members do not match the sha256 in skscratch_digest"):
        skscratch.load(tmp_path / "digest.npz")
    (tmp_path / "no-digest.npz").write_bytes(forge({k: v for k, v in members.items() if k != DIGEST}, digest=False))
    with pytest.raises(ValueError, match="format version 4 has a skscratch_digest, this file none"):
        skscratch.load(tmp_path / "no-digest.npz")


def test_truncated_files_are_refused(saved, tmp_path):
    data = saved[0].read_bytes()
    for size in (0, 10, len(data) // 2, len(data) - 1):
        (tmp_path / "cut.npz").write_bytes(data[:size])
        with pytest.raises(ValueError, match="cut.npz is not a readable skscratch model file"):
            skscratch.load(tmp_path / "cut.npz")


def test_fuzzed_tabular_files_only_load_well_or_raise_value_error(saved):
    """The fuzzer's mutations (all but its MLP-shaped bombs) of a tabular file: a good load or a ValueError."""
    path, model, X = saved
    data = path.read_bytes()
    members, metadata = parts(path)
    original = fuzzer.Original("tabular", data, members, metadata, X, fuzzer.outputs(model, X), None)
    rng, failures, outcomes = np.random.RandomState(0), [], {}
    kinds = [kind for kind in fuzzer.KINDS if kind != "bomb"]
    for i in range(350):
        kind = kinds[i % len(kinds)]
        outcome, message = fuzzer.judge(fuzzer.MUTATIONS[kind](original, rng), original, kind)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome == "FAILED":
            failures.append((kind, message))
    assert not failures, failures[:5]
    assert outcomes["refused"] >= 200, outcomes


# ----------------------------------------------------------------------
# ONNX and skops


def test_to_onnx_refuses_a_tabular_model(saved):
    _, model, X = saved
    for target in (model, Pipeline([("mlp", model)])):
        with pytest.raises(ValueError, match=r"TabularMLPClassifier has no ONNX form: its embeddings .* Save it with "
                                             r"skscratch.save or joblib\."):
            skscratch.to_onnx(target, X[:1])


OUR_TYPES = ["skscratch._estimator.tabular.TabularMLPClassifier",
             "skscratch._estimator.tabular_preprocessing.TabularPreprocessor", "skscratch.nn.layers.Dropout",
             "skscratch.nn.network.Network", "skscratch.nn.tabular.NTDense",
             "skscratch.nn.tabular.ParametricActivation", "skscratch.nn.tabular.Scale",
             "skscratch.nn.tabular.TabularEmbedding"]


def test_skops_round_trips_a_tabular_model(saved):
    """skops trusts nothing but the classes the model is made of, and the loaded model predicts the same bits."""
    sio = pytest.importorskip("skops.io")
    _, model, X = saved
    data = sio.dumps(model)
    assert sio.get_untrusted_types(data=data) == OUR_TYPES
    loaded = sio.loads(data, trusted=OUR_TYPES)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict_proba(unseen(X)), model.predict_proba(unseen(X)))
    assert loaded.history_.equals(model.history_)
