"""Persistence: joblib variants, the version stamp, the safe .npz format, skops."""

import copy
import hashlib
import io
import json
import os
import pickle
import stat
import struct
import sys
import threading
import time
import tracemalloc
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

import skscratch
from _weights import assert_same_weights
from skscratch import MLPScratchClassifier, MLPScratchRegressor
from skscratch.io import metadata as _metadata
from skscratch.nn import optimizers as _optimizers
from skscratch.io.integrity import DIGEST, SIGNATURE, array_sha256
from skscratch.io.persistence import METADATA

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_fuzz_load as fuzzer  # noqa: E402  (forging files as an attacker would; the fuzz)

ignore_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def fitted(Estimator, X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = copy.deepcopy(params)  # a RandomState of its own
        return Estimator(**{"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0, **params}).fit(X, y)


def outputs(model, X):
    return model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)


# ----------------------------------------------------------------------
# joblib and pickle


@pytest.mark.parametrize("compress", [0, 3, "lzma"])
def test_joblib_round_trip_is_bit_identical(tmp_path, iris, compress):
    X, y = iris
    model = fitted(MLPScratchClassifier, X, y, solver="adamw", dropout=0.2)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path, compress=compress)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert_same_weights(loaded, model)


@ignore_convergence
def test_joblib_mmap_load_predicts_and_resumes(tmp_path, iris):
    X, y = iris
    model, twin = (fitted(MLPScratchClassifier, X, y) for _ in range(2))
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    assert isinstance(loaded.coefs_[0], np.memmap)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    loaded.partial_fit(X, y)  # the read-only mapped weights are copied, not written
    twin.partial_fit(X, y)
    assert_same_weights(loaded, twin)


def test_pickling_leaves_the_live_estimator_untouched(iris):
    X, y = iris
    model = fitted(MLPScratchClassifier, X, y)
    flat, optimizer = model._flat_params, model._optimizer
    pickle.dumps(model)
    assert model._flat_params is flat and model._optimizer is optimizer
    assert "_skscratch_version" not in vars(model)


def test_pickle_from_another_version_warns_naming_both(iris):
    X, y = iris
    data = pickle.dumps(fitted(MLPScratchClassifier, X, y))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the current version loads silently
        pickle.loads(data)
    stamp = skscratch.__version__.encode()
    assert data.count(stamp) == 1
    doctored = data.replace(stamp, b"9.9.9"[: len(stamp)].ljust(len(stamp), b"9"))
    with pytest.warns(InconsistentVersionWarning, match=r"skscratch version 9\.9\.9.*skscratch version "
                      + skscratch.__version__.replace(".", r"\.")) as record:
        loaded = pickle.loads(doctored)
    assert record[0].message.original_sklearn_version.startswith("9.9.9")
    np.testing.assert_array_equal(loaded.predict_proba(X), pickle.loads(data).predict_proba(X))


# ----------------------------------------------------------------------
# the safe format: round trips


def _digits01():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


CASES = {
    "multiclass-adam": (MLPScratchClassifier, {}, "multiclass"),
    "binary-strings-sgd": (MLPScratchClassifier, {"solver": "sgd"}, "binary-str"),
    "bool-labels": (MLPScratchClassifier, {}, "bool"),
    "multilabel": (MLPScratchClassifier, {}, "multilabel"),
    "extras-float32": (MLPScratchClassifier, {"solver": "adamw", "dropout": 0.2, "class_weight": "balanced",
                                              "early_stopping": True, "activation": "gelu",
                                              "learning_rate": "cosine", "dtype": np.float32}, "multiclass"),
    "class-weight-dict": (MLPScratchClassifier, {"class_weight": {0: 2.0, 1: 0.5}}, "multiclass"),
    "random-state-instance": (MLPScratchClassifier, {"random_state": np.random.RandomState(3)}, "multiclass"),
    "lbfgs": (MLPScratchClassifier, {"solver": "lbfgs"}, "multiclass"),
    "regressor": (MLPScratchRegressor, {}, "regression"),
    "regressor-2-outputs-float32": (MLPScratchRegressor, {"dtype": "float32"}, "regression-2"),
    "poisson": (MLPScratchRegressor, {"loss": "poisson", "solver": "adamw"}, "poisson"),
}


def case_data(kind):
    X, y = _digits01()
    X, y = X[:400], y[:400]
    if kind == "binary-str":
        return X, np.where(y % 2 == 0, "even", "odd")
    if kind == "bool":
        return X, y > 4
    if kind == "multilabel":
        return X, np.column_stack([y % 2 == 0, y > 4, y == 3]).astype(int)
    if kind == "regression":
        return X, y / 9.0
    if kind == "regression-2":
        return X, np.column_stack([y / 9.0, X[:, 20]])
    if kind == "poisson":
        return X, (y % 4).astype(float)
    return X, y


@ignore_convergence
@pytest.mark.parametrize("name", CASES)
def test_safe_format_round_trip_is_exact_and_resumes(tmp_path, name):
    Estimator, params, kind = CASES[name]
    X, y = case_data(kind)
    model = fitted(Estimator, X, y, **params)
    twin = fitted(Estimator, X, y, **params)
    path = tmp_path / "model.npz"
    skscratch.save(model, path)
    loaded = skscratch.load(path)
    assert type(loaded) is Estimator
    np.testing.assert_array_equal(outputs(loaded, X), outputs(model, X))
    assert_same_weights(loaded, model)
    assert loaded.coefs_[0].dtype == model.coefs_[0].dtype
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.predict(X).dtype == model.predict(X).dtype
    assert loaded.loss_curve_ == model.loss_curve_ and loaded.n_iter_ == model.n_iter_
    pd.testing.assert_frame_equal(loaded.history_, model.history_)
    for key, value in model.get_params().items():
        if key != "random_state":
            assert loaded.get_params()[key] == value, key
    if Estimator is MLPScratchClassifier:
        np.testing.assert_array_equal(loaded.classes_, model.classes_)
        assert loaded.classes_.dtype == model.classes_.dtype
    if params.get("solver") != "lbfgs" and not params.get("early_stopping"):
        # training resumes exactly where it stopped: the optimizer state, the step counters and the
        # random state travel with the weights
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded.partial_fit(X, y)
            twin.partial_fit(X, y)
        assert_same_weights(loaded, twin)


def test_safe_format_keeps_feature_names(tmp_path, iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["sepal length", "sepal width", "petal length", "petal width"])
    model = fitted(MLPScratchClassifier, frame, y)
    skscratch.save(model, tmp_path / "m.npz")
    loaded = skscratch.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"petal width": "width"}))


def test_a_learner_reads_the_weights_with_numpy_alone(tmp_path, iris):
    X, y = iris
    model = fitted(MLPScratchClassifier, X, y, hidden_layer_sizes=(6, 5))
    path = tmp_path / "m.npz"
    skscratch.save(model, path)
    with np.load(path, allow_pickle=False) as data:
        for i in range(3):
            np.testing.assert_array_equal(data[f"coefs_{i}"], model.coefs_[i])
            np.testing.assert_array_equal(data[f"intercepts_{i}"], model.intercepts_[i])
        # a forward pass by hand, from the file
        h = X
        for i in range(2):
            h = np.maximum(h @ data[f"coefs_{i}"] + data[f"intercepts_{i}"], 0)
        logits = h @ data["coefs_2"] + data["intercepts_2"]
        metadata = json.loads(data["skscratch_metadata"].tobytes())
    np.testing.assert_array_equal(logits.argmax(axis=1), model.predict(X))
    assert metadata["skscratch_version"] == skscratch.__version__ and metadata["format_version"] == 2
    assert metadata["params"]["hidden_layer_sizes"] == {"tuple": [6, 5]}
    assert set(metadata["arrays"]) >= {"coefs_0", "optimizer_m", "optimizer_v"}


def test_no_nan_in_the_json(tmp_path, iris):
    X, y = iris
    model = fitted(MLPScratchClassifier, X, y, early_stopping=True)  # best_loss_ is None, scores -inf..
    model.best_validation_score_ = -np.inf
    model.loss_curve_[0] = np.nan
    skscratch.save(model, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as data:
        text = data["skscratch_metadata"].tobytes().decode()

    def refuse(constant):
        raise AssertionError(f"{constant} in the JSON")

    json.loads(text, parse_constant=refuse)
    loaded = skscratch.load(tmp_path / "m.npz")
    assert loaded.best_validation_score_ == -np.inf and np.isnan(loaded.loss_curve_[0])


def test_save_refuses_what_is_not_data(tmp_path, iris):
    X, y = iris
    model = fitted(MLPScratchClassifier, X, y, scoring=lambda est, X, y: 0.0)
    with pytest.raises(ValueError, match="scoring"):
        skscratch.save(model, tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())  # no half-written file left behind
    with pytest.raises(TypeError, match="skscratch estimators"):
        skscratch.save(object(), tmp_path / "m.npz")


# ----------------------------------------------------------------------
# the safe format: crafted metadata, validated like input. Each case is a
# file with every hash rewritten (what an attacker writes), in both layouts:
# version 1 (no digest; what today's main writes and reads) and version 2.


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X, y = load_iris(return_X_y=True)
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    skscratch.save(fitted(MLPScratchClassifier, X, y, solver="adamw"), path)
    return path


def parts(path):
    """(members as .npy bytes, parsed metadata) of a saved file."""
    members = fuzzer.read_members(Path(path).read_bytes())
    return members, json.loads(np.lib.format.read_array(io.BytesIO(members[METADATA])).tobytes())


def forged(path, out, change, layout="v2"):
    """A copy of a saved file, with change(arrays, metadata) applied and every hash but the arrays' rewritten.

    ``change`` may set arrays (it updates their sha256 itself, or not), and
    may return raw JSON text to write instead of the metadata.
    """
    members, metadata = parts(path)
    metadata["format_version"] = {"v1": 1, "v2": 2, "v3": 3}[layout]
    arrays = {}
    text = change(arrays, metadata)
    members.update({name: fuzzer.npy_bytes(array) for name, array in arrays.items()})
    members[METADATA] = fuzzer.json_member(metadata if text is None else text)
    out.write_bytes(fuzzer.forge(members, digest=layout != "v1"))
    return out


def array_of(path, name):
    with np.load(path) as data:
        return data[name]


def setter(dotted, value):
    """A change that sets the metadata field at a dotted path (a key that is a number indexes a list)."""

    def change(arrays, metadata):
        *parents, last = [int(k) if k.isdigit() else k for k in dotted.split(".")]
        container = metadata
        for key in parents:
            container = container[key]
        if value is DELETE:
            del container[last]
        else:
            container[last] = value

    return change


DELETE = object()


def replacing(name, transform, update_sha=True):
    """A change that replaces array ``name`` by transform(array), updating its sha256 in the metadata or not."""

    def change(arrays, metadata):
        arrays[name] = transform(arrays.get(name, array_of(SAVED_PATH[0], name)))
        if update_sha:
            metadata["arrays"][name].update(shape=list(arrays[name].shape), sha256=array_sha256(arrays[name]))

    return change


SAVED_PATH = []  # the module's saved file, for replacing()


def text_of(edit):
    """A change that writes the metadata as JSON text, edited by edit(text)."""
    return lambda arrays, metadata: edit(json.dumps(metadata))


CRAFTED = {
    # arrays
    "weights-tampered": (replacing("coefs_0", lambda W: W * 2, update_sha=False), "array coefs_0 does not match its "
                                                                                   "sha256"),
    "weights-wrong-shape": (replacing("coefs_0", lambda W: W[:, :5]),
                            r"array coefs_0 should be float64 of shape \(4, 8\) to fit the network, the metadata lists "
                            r"float64 \(4, 5\)"),
    "weights-not-finite": (replacing("coefs_0", lambda W: np.where(W > 0, np.nan, W)), "coefs_0 has non-finite"),
    "object-array": (replacing("coefs_0", lambda W: np.array([{"x": 1}], dtype=object), update_sha=False),
                     r"array coefs_0 is object \(1,\) .* in the file; it should be float64 \(4, 8\)"),
    "extra-array": (lambda arrays, metadata: arrays.update(payload=np.zeros(3)), "does not list: \\['payload'\\]"),
    "optimizer-moment-nan": (replacing("optimizer_m", lambda m: m * np.nan), "optimizer_m has non-finite values"),
    "optimizer-moment-negative": (replacing("optimizer_v", lambda v: -1 - v), "optimizer_v.* negative values"),
    "array-listed-twice-over": (setter("arrays.coefs_0.sha256", "not a sha"), "arrays.coefs_0.sha256 is not 64 hex"),
    "array-missing-from-list": (setter("arrays.optimizer_m", DELETE), r"or lacks \['optimizer_m'\]"),
    # the header
    "future-version": (setter("format_version", 5), "unknown format version 5; this skscratch .* reads versions 1, 2, "
                                                    "3 of an MLPScratch model's file, and version 4 of a tabular"),
    "tabular-version": (setter("format_version", 4), "unknown format version 4; .* version 4 of a tabular MLP's"),
    "version-of-other-layout": (setter("format_version", True), "unknown format version True"),
    "unknown-estimator": (setter("estimator", "os.system"), "unknown estimator 'os.system'"),
    "unknown-top-level-key": (setter("payload", [1]), r"unknown keys \['payload'\]"),
    "no-metadata": (lambda arrays, metadata: metadata.clear(), "lists no arrays"),
    # params: declared types, then the estimator's own rules
    "param-invalid": (setter("params.activation", "sine"), "'activation' parameter of MLPScratchClassifier"),
    "param-bool-for-number": (setter("params.alpha", True), "params.alpha must be a finite number, got True"),
    "param-float-for-int": (setter("params.max_iter", 1.5), "params.max_iter must be an integer"),
    "param-hidden-size-zero": (setter("params.hidden_layer_sizes", {"tuple": [8, 0]}),
                               r"params.hidden_layer_sizes\[1\] must be an integer in \[1, "),
    "param-missing": (setter("params.tol", DELETE), r"params has no \['tol'\]"),
    "param-unknown-tag": (setter("params.class_weight", {"pickle": "cos\nsystem\n"}), "params.class_weight must be"),
    "param-dict-key-twice": (setter("params.class_weight", {"dict": [[0, 1.0], [0, 2.0]]}), "has the key 0 twice"),
    "param-random-state-short": (setter("params.random_state", {"random_state": ["MT19937", [1, 2, 3], 0, 0, 0.0]}),
                                 "has 3 MT19937 keys, not 624"),
    "param-dropout-per-layer": (setter("params.dropout", [0.1, 0.2]), "dropout must be a rate in"),
    "param-dtype-unhashable": (setter("params.dtype", {"dtype": [1]}), "params.dtype must be"),
    # fitted attributes
    "fitted-negative": (setter("fitted.n_iter_", -1), r"fitted.n_iter_ must be an integer in \[0, "),
    "fitted-wrong-type": (setter("fitted.loss_curve_", "abc"), "fitted.loss_curve_ must be a list"),
    "fitted-history-key": (setter("fitted._history.0", {"dict": [["epoch", 1], ["os", 0.5]]}),
                           r"fitted._history\[0\] key 1 must be one of"),
    "fitted-history-epoch": (setter("fitted._history.0", {"dict": [["epoch", 1.5]]}),
                             r"fitted._history\[0\]\['epoch'\] must be an integer in \[1, "),
    "fitted-unknown": (setter("fitted.payload", 1), r"fitted has unknown keys \['payload'\]"),
    "fitted-n-layers": (setter("fitted.n_layers_", 4), "n_layers_=4 but the parameters describe 3 layers"),
    "fitted-feature-names": (setter("fitted.feature_names_in_", ["a", "b", "c"]), "3 feature names for 4 features"),
    "fitted-out-activation": (setter("fitted.out_activation_", "logistic"),
                              "out_activation_ is 'logistic'; multiclass targets have 'softmax'"),
    # classes
    "classes-unsorted": (setter("classes.values", [0, 2, 1]), "classes_ must be sorted and unique"),
    "classes-repeated": (setter("classes.values", [0, 1, 1]), "classes_ must be sorted and unique"),
    "classes-object-ints": (setter("classes.dtype", "object"), "classes of dtype object must be strs"),
    "classes-dtype-object-code": (setter("classes.dtype", "|O"), "classes of dtype '|O' are not supported"),
    "classes-dtype-datetime": (setter("classes.dtype", "<M8[ns]"), "are not supported"),
    "classes-too-wide": (lambda arrays, metadata: metadata["classes"].update(values=["a", "b", "c"], dtype="<U99999"),
                         "wider than their names need"),
    "classes-out-of-range": (lambda arrays, metadata: metadata["classes"].update(values=[0, 1, 300], dtype="|u1"),
                             "out of the range of |u1"),
    "classes-binary-for-3": (setter("classes.y_type", "binary"), r"3 classes \(binary\) do not fit 3 outputs"),
    "classes-unknown-y-type": (setter("classes.y_type", "continuous"), "classes.y_type must be one of"),
    # the optimizer's state
    "optimizer-extra-field": (setter("optimizer.update_params", "not a method"),
                              r"optimizer has unknown keys \['update_params'\]"),
    "optimizer-missing-field": (setter("optimizer.t", DELETE), r"optimizer has no \['t'\]"),
    "optimizer-not-finite": (setter("optimizer.rate", {"float": "nan"}), "optimizer.rate must be a finite number"),
    "optimizer-decay": (setter("optimizer.decay", [0, 1]), r"optimizer.decay must be \[0, 56\]"),
    "optimizer-unknown-kind": (setter("optimizer.kind", "Evil"), "optimizer.kind must be one of"),
    # strict JSON
    "json-nan": (text_of(lambda t: t.replace('"n_iter_": ', '"n_iter_": NaN, "x": ')), "NaN is not a JSON number"),
    "json-int-overflow": (text_of(lambda t: t.replace('"t_": ', '"t_": 1' + "0" * 30 + ', "x": ')),
                          "out of int64's range"),
    "json-float-overflow": (text_of(lambda t: t.replace('"loss_": ', '"loss_": 1e999, "x": ')),
                            "out of float64's range"),
    "json-repeated-key": (text_of(lambda t: '{"format": "x", ' + t[1:]), "repeats a key"),
    "json-bad-utf8": (text_of(lambda t: t.encode() + b"\xff"), "not valid JSON"),
}  # fmt: skip


@pytest.mark.parametrize("layout", ["v1", "v2"])
@pytest.mark.parametrize("case", CRAFTED)
def test_load_refuses_crafted_files(saved, tmp_path, case, layout):
    SAVED_PATH[:] = [saved]
    change, message = CRAFTED[case]
    bad = forged(saved, tmp_path / "crafted.npz", change, layout)
    with pytest.raises(ValueError, match=message) as info:
        skscratch.load(bad)
    assert str(info.value).startswith(f"{bad} is not a readable skscratch model file: ")


@pytest.mark.parametrize("change, message", [
    (setter("fitted.out_activation_", "identity"), "out_activation_ is 'identity'; loss='poisson' has 'exp'"),
    (setter("classes", {"values": [0, 1]}), r"unknown keys \['classes'\]"),
    (setter("params.loss", "absolute_error"), "'loss' parameter of MLPScratchRegressor"),
])  # fmt: skip
def test_load_refuses_a_regressor_inconsistent_with_its_loss(tmp_path, change, message):
    X, y = case_data("poisson")
    skscratch.save(fitted(MLPScratchRegressor, X, y, loss="poisson"), tmp_path / "poisson.npz")
    with pytest.raises(ValueError, match=message):
        skscratch.load(forged(tmp_path / "poisson.npz", tmp_path / "crafted.npz", change))


@pytest.mark.parametrize("layout", ["v1", "v2"])
@pytest.mark.parametrize("where", ["params.hidden_layer_sizes", "fitted.loss_curve_", "classes.values"])
@pytest.mark.parametrize("depth", [17, 600, 100_000])
@pytest.mark.parametrize("nesting", ["lists", "tagged tuples"])
def test_deeply_nested_metadata_is_a_value_error(saved, tmp_path, where, depth, nesting, layout):
    # 600 lists: json parses them, a recursive decoder (two frames a level) would not
    nest = "[" * depth + "8" + "]" * depth if nesting == "lists" else '{"tuple": [' * depth + "8" + "]}" * depth
    change = setter(where, "@NEST@")
    bad = forged(saved, tmp_path / "nested.npz",
                 lambda arrays, metadata: change(arrays, metadata) or json.dumps(metadata).replace('"@NEST@"', nest),
                 layout)
    with pytest.raises(ValueError, match="nested deeper than 16 levels"):
        skscratch.load(bad)


def test_every_parameter_attribute_and_optimizer_field_has_a_declared_rule():
    for Estimator in (MLPScratchClassifier, MLPScratchRegressor):
        assert set(Estimator._get_param_names()) <= set(_metadata.PARAM_RULES)
    assert set(_metadata.FITTED_RULES) == {*_metadata.FITTED, "feature_names_in_"}
    for Optimizer in _optimizers.OPTIMIZERS.values():
        state = _optimizers.to_state(Optimizer(np.zeros(1)))
        plain = {k for k, v in state.items() if not isinstance(v, np.ndarray)} - {"kind"}
        assert plain <= set(_metadata.OPTIMIZER_RULES), Optimizer


def test_a_one_class_classifier_file_loads(tmp_path):
    """One class is becoming legal: classes_ of length 1, a binary binarizer, one logistic output."""
    X, y = case_data("binary-str")
    skscratch.save(fitted(MLPScratchClassifier, X, y), tmp_path / "binary.npz")
    one_class = forged(tmp_path / "binary.npz", tmp_path / "one-class.npz", setter("classes.values", ["even"]))
    model = skscratch.load(one_class)
    assert model.classes_.tolist() == ["even"] and model.n_outputs_ == 1
    assert model.predict(X[:5]).tolist() == ["even"] * 5
    with pytest.raises(ValueError, match=r"2 classes \(binary\) do not fit 2 outputs"):
        skscratch.load(forged(tmp_path / "binary.npz", tmp_path / "bad.npz", setter("fitted.n_outputs_", 2)))


# ----------------------------------------------------------------------
# the safe format: a pipeline's scaler, validated like the rest (format version 3). Each case is a file
# with every hash rewritten, as an attacker writes it.

PIPELINE_SCALERS = {"StandardScaler": StandardScaler(), "MinMaxScaler": MinMaxScaler((-1, 2)),
                    "MaxAbsScaler": MaxAbsScaler()}


@pytest.fixture(scope="module")
def saved_pipelines(tmp_path_factory):
    """A file of each accepted scaler before a classifier, fitted on iris."""
    X, y = load_iris(return_X_y=True)
    folder = tmp_path_factory.mktemp("pipelines")
    paths = {}
    for name, scaler in PIPELINE_SCALERS.items():
        network = MLPScratchClassifier((8,), solver="adamw", max_iter=5, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline = Pipeline([("scale", copy.deepcopy(scaler)), ("mlp", network)]).fit(X, y)
        paths[name] = folder / f"{name}.npz"
        skscratch.save(pipeline, paths[name])
    return paths


def retyped(name, dtype):
    """A change that stores array ``name`` in another dtype, the metadata's list updated to match."""

    def change(arrays, metadata):
        arrays[name] = array_of(SAVED_PATH[0], name).astype(dtype)
        metadata["arrays"][name].update(dtype=np.dtype(dtype).name, sha256=array_sha256(arrays[name]))

    return change


def added(name, array):
    """A change that adds array ``name``, listed in the metadata."""

    def change(arrays, metadata):
        arrays[name] = array
        metadata["arrays"][name] = {"dtype": array.dtype.name, "shape": list(array.shape),
                                    "sha256": array_sha256(array)}

    return change


def swapped(a, b):
    """A change that swaps two arrays (data_min_ and data_max_...), their sha256s updated."""

    def change(arrays, metadata):
        arrays[a], arrays[b] = array_of(SAVED_PATH[0], b), array_of(SAVED_PATH[0], a)
        for name in (a, b):
            metadata["arrays"][name]["sha256"] = array_sha256(arrays[name])

    return change


def both(first, second):
    def change(arrays, metadata):
        first(arrays, metadata)
        second(arrays, metadata)

    return change


def at_feature_1(value):
    return lambda a: np.where(np.arange(len(a)) == 1, value, a)


SCALER_CRAFTED = {
    # the pipeline entry
    "entry-missing": ("StandardScaler", setter("pipeline", DELETE), r"its metadata has no \['pipeline'\]"),
    "entry-in-version-2": ("StandardScaler", setter("format_version", 2),
                           r"its metadata has unknown keys \['pipeline'\]"),
    "entry-unknown-key": ("StandardScaler", setter("pipeline.memory", "/tmp/cache"),
                          r"pipeline has unknown keys \['memory'\]"),
    "unknown-step-class": ("StandardScaler", setter("pipeline.scaler.class", "FunctionTransformer"),
                           r"pipeline.scaler.class must be one of \['MaxAbsScaler', 'MinMaxScaler', "
                           r"'StandardScaler'\], "
                           "got 'FunctionTransformer'"),
    "code-as-step-class": ("MaxAbsScaler", setter("pipeline.scaler.class", "os.system"),
                           "pipeline.scaler.class must be one of"),
    "steps-three": ("StandardScaler", setter("pipeline.steps", ["a", "b", "c"]),
                    r"pipeline.steps must be a list of a string \(at most 2\)"),
    "steps-one": ("StandardScaler", setter("pipeline.steps", ["scale"]), "pipeline.steps must be two distinct names"),
    "steps-same-name": ("StandardScaler", setter("pipeline.steps", ["a", "a"]), "two distinct names"),
    "steps-dunder": ("StandardScaler", setter("pipeline.steps", ["a__b", "mlp"]),
                     "'a__b' is not a step name scikit-learn allows"),
    "steps-a-parameter": ("StandardScaler", setter("pipeline.steps", ["scale", "memory"]),
                          "'memory' is not a step name scikit-learn allows"),
    "steps-not-strings": ("StandardScaler", setter("pipeline.steps", [1, 2]), r"pipeline.steps\[0\] must be a string"),
    "verbose-not-bool": ("StandardScaler", setter("pipeline.verbose", "yes"), "pipeline.verbose must be true or false"),
    # the scaler's parameters
    "param-unknown": ("StandardScaler", setter("pipeline.scaler.params.func", "os.system"),
                      r"pipeline.scaler.params \(StandardScaler\) has unknown keys \['func'\]"),
    "param-of-another-scaler": ("MaxAbsScaler", setter("pipeline.scaler.params.with_mean", True),
                                r"unknown keys \['with_mean'\]"),
    "param-missing": ("StandardScaler", setter("pipeline.scaler.params.with_mean", DELETE), r"has no \['with_mean'\]"),
    "param-type": ("StandardScaler", setter("pipeline.scaler.params.with_std", 1),
                   "with_std must be true or false, got 1"),
    "param-copy-false": ("MaxAbsScaler", setter("pipeline.scaler.params.copy", False),
                         "copy is False: the scaler would scale the arrays it is given in place"),
    "range-reversed": ("MinMaxScaler", setter("pipeline.scaler.params.feature_range", {"tuple": [2, -1]}),
                       r"feature_range must be \(min, max\) with min < max, got \(2, -1\)"),
    "range-empty": ("MinMaxScaler", setter("pipeline.scaler.params.feature_range", {"tuple": [1, 1]}),
                    r"feature_range must be \(min, max\) with min < max"),
    "range-three": ("MinMaxScaler", setter("pipeline.scaler.params.feature_range", {"tuple": [0, 1, 2]}),
                    "feature_range must be a tuple of a finite number"),
    "range-nan": ("MinMaxScaler", setter("pipeline.scaler.params.feature_range", {"tuple": [{"float": "nan"}, 1]}),
                  r"feature_range\[0\] must be a finite number, got \{'float': 'nan'\}"),
    "clip-type": ("MaxAbsScaler", setter("pipeline.scaler.params.clip", "yes"), "clip must be true or false"),
    # the scaler's fitted attributes
    "n-features-mismatch": ("StandardScaler", setter("pipeline.scaler.fitted.n_features_in_", 5),
                            "the scaler has n_features_in_=5, the network 4"),
    "n-features-zero": ("MinMaxScaler", setter("pipeline.scaler.fitted.n_features_in_", 0),
                        r"pipeline.scaler.fitted.n_features_in_ must be an integer in \[1, "),
    "feature-names-count": ("StandardScaler", setter("pipeline.scaler.fitted.feature_names_in_", ["a", "b", "c"]),
                            "pipeline.scaler.fitted.feature_names_in_ has 3 values for 4 features"),
    "feature-names-not-strings": ("StandardScaler", setter("pipeline.scaler.fitted.feature_names_in_", [1, 2, 3, 4]),
                                  r"feature_names_in_\[0\] must be a string"),
    "samples-negative": ("MaxAbsScaler", setter("pipeline.scaler.fitted.n_samples_seen_", -1),
                         "pipeline.scaler.fitted.n_samples_seen_ must be"),
    "samples-per-feature-count": ("StandardScaler", setter("pipeline.scaler.fitted.n_samples_seen_", [150, 150]),
                                  "n_samples_seen_ has 2 values for 4 features"),
    "fitted-unknown": ("StandardScaler", setter("pipeline.scaler.fitted.payload", 1),
                       r"pipeline.scaler.fitted has unknown keys \['payload'\]"),
    # the scaler's arrays: which, shapes, dtypes
    "array-not-listed": ("StandardScaler", setter("arrays.scaler_var_", DELETE), r"or lacks \['scaler_var_'\]"),
    "array-not-listed-for-its-parameters": ("StandardScaler", setter("pipeline.scaler.params.with_std", False),
                                            r"lists arrays \['scaler_scale_', 'scaler_var_'\] the network and its "
                                            "scaler do not have"),
    "array-of-another-scaler": ("StandardScaler", added("scaler_max_abs_", np.ones(4)),
                                r"lists arrays \['scaler_max_abs_'\] the network and its scaler do not have"),
    "member-not-listed": ("MaxAbsScaler", lambda arrays, metadata: arrays.update(scaler_payload=np.zeros(4)),
                          r"holds arrays its metadata does not list: \['scaler_payload'\]"),
    "array-short": ("StandardScaler", replacing("scaler_mean_", lambda a: a[:3]),
                    r"array scaler_mean_ should be of shape \(4,\), a value per feature, the metadata lists \(3,\)"),
    "array-2d": ("MaxAbsScaler", replacing("scaler_scale_", lambda a: a[None]),
                 r"array scaler_scale_ should be of shape \(4,\), a value per feature, the metadata lists \(1, 4\)"),
    "array-float16": ("StandardScaler", retyped("scaler_mean_", np.float16),
                      r"arrays.scaler_mean_.dtype must be one of \['float32', 'float64'\], got 'float16'"),
    "array-int64": ("MinMaxScaler", retyped("scaler_min_", np.int64), "arrays.scaler_min_.dtype must be one of"),
    "array-object": ("StandardScaler", replacing("scaler_mean_", lambda a: np.array([{}] * 4, dtype=object),
                                                 update_sha=False),
                     r"array scaler_mean_ is object \(4,\) .* in the file; it should be float64 \(4,\)"),
    "array-dtype-lies": ("StandardScaler", replacing("scaler_mean_", lambda a: a.astype(np.float32)),
                         r"array scaler_mean_ is float32 \(4,\) .* in the file; it should be float64 \(4,\)"),
    "array-tampered": ("StandardScaler", replacing("scaler_scale_", lambda a: a * 2, update_sha=False),
                       "array scaler_scale_ does not match its sha256"),
    # the scaler's arrays: values
    "mean-nan": ("StandardScaler", replacing("scaler_mean_", at_feature_1(np.nan)),
                 "array scaler_mean_ has non-finite"),
    "scale-inf": ("MaxAbsScaler", replacing("scaler_scale_", at_feature_1(np.inf)), "scaler_scale_ has non-finite"),
    "standard-scale-zero": ("StandardScaler", replacing("scaler_scale_", at_feature_1(0.0)),
                            r"array scaler_scale_ has a scale that is not positive \(feature 1: 0.0\); a scaler's"),
    "standard-scale-negative": ("StandardScaler", replacing("scaler_scale_", lambda a: -a),
                                r"scaler_scale_ has a scale that is not positive \(feature 0"),
    "standard-var-negative": ("StandardScaler", replacing("scaler_var_", at_feature_1(-1.0)),
                              r"array scaler_var_ has values below 0 \(feature 1\)"),
    "standard-scale-not-its-var": ("StandardScaler", replacing("scaler_scale_", lambda a: a * 2),
                                   r"array scaler_scale_ does not agree with the square root of var_ \(feature 0"),
    "minmax-min-above-max": ("MinMaxScaler", swapped("scaler_data_min_", "scaler_data_max_"),
                             "array scaler_data_min_ is above scaler_data_max_ for feature 0"),
    "minmax-range-wrong": ("MinMaxScaler", replacing("scaler_data_range_", at_feature_1(100.0)),
                           r"scaler_data_range_ does not agree with data_max_ - data_min_ \(feature 1"),
    "minmax-scale-zero": ("MinMaxScaler", replacing("scaler_scale_", at_feature_1(0.0)),
                          "scaler_scale_ has a scale that is not positive"),
    "minmax-scale-wrong": ("MinMaxScaler", replacing("scaler_scale_", lambda a: a * (1 + 1e-6)),
                           r"scaler_scale_ does not agree with \(feature_range\[1\] - feature_range\[0\]\) / "
                           "data_range_"),
    "minmax-min-wrong": ("MinMaxScaler", replacing("scaler_min_", lambda a: a + 0.5),
                         r"scaler_min_ does not agree with feature_range\[0\] - data_min_ \* scale_"),
    "minmax-range-other-than-fitted": ("MinMaxScaler",
                                       setter("pipeline.scaler.params.feature_range", {"tuple": [0, 1]}),
                                       r"scaler_scale_ does not agree with \(feature_range"),
    "maxabs-scale-zero": ("MaxAbsScaler", replacing("scaler_scale_", lambda a: a * 0),
                          "has a scale that is not positive"),
    "maxabs-negative": ("MaxAbsScaler", replacing("scaler_max_abs_", lambda a: -a),
                        r"array scaler_max_abs_ has values below 0 \(feature 0\)"),
    "maxabs-scale-not-its-max": ("MaxAbsScaler", replacing("scaler_scale_", at_feature_1(3.0)),
                                 r"scaler_scale_ does not agree with max_abs_ \(feature 1: 3.0, not 4.4\)"),
    # 1 stands for a scale only where scikit-learn found the feature constant (or always 0)
    "standard-scale-one-for-a-varying-feature": ("StandardScaler", replacing("scaler_scale_", at_feature_1(1.0)),
                                                 r"scaler_scale_ does not agree with the square root of var_ "
                                                 r"\(feature 1: 1.0"),
    "maxabs-scale-one-for-a-nonzero-feature": ("MaxAbsScaler", replacing("scaler_scale_", at_feature_1(1.0)),
                                               r"scaler_scale_ does not agree with max_abs_ \(feature 1: 1.0"),
    "minmax-scale-of-a-constant-for-a-varying-feature": ("MinMaxScaler",  # 3: the range (-1, 2)
                                                         replacing("scaler_scale_", at_feature_1(3.0)),
                                                         r"scaler_scale_ does not agree with \(feature_range"),
    # values whose rules overflow: a disagreement, never a pass and never a RuntimeWarning
    "minmax-data-overflowing": ("MinMaxScaler", both(replacing("scaler_data_min_", at_feature_1(-1e308)),
                                                     replacing("scaler_data_max_", at_feature_1(1e308))),
                                r"scaler_data_range_ does not agree with data_max_ - data_min_ \(feature 1"),
    "range-overflowing": ("MinMaxScaler", setter("pipeline.scaler.params.feature_range", {"tuple": [-1e308, 1e308]}),
                          r"feature_range \(-1e\+308, 1e\+308\) spans more than float64 holds"),
    # the layout
    "entry-in-version-1": ("StandardScaler", lambda arrays, metadata: None, r"unknown keys \['pipeline'\]"),
}  # fmt: skip


@pytest.mark.parametrize("case", SCALER_CRAFTED)
def test_load_refuses_crafted_pipeline_files(saved_pipelines, tmp_path, case):
    scaler, change, message = SCALER_CRAFTED[case]
    SAVED_PATH[:] = [saved_pipelines[scaler]]
    layout = "v1" if case == "entry-in-version-1" else "v3"
    bad = forged(saved_pipelines[scaler], tmp_path / "crafted.npz", change, layout)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a refusal, not a RuntimeWarning on the way
        with pytest.raises(ValueError, match=message) as info:
            skscratch.load(bad)
    assert str(info.value).startswith(f"{bad} is not a readable skscratch model file: ")


def test_every_scaler_parameter_has_a_declared_rule():
    """A scikit-learn with a new parameter fails here, not in a user's save."""
    from skscratch.io.pipeline_format import SCALERS

    for name, schema in SCALERS.items():
        installed = set(schema.cls._get_param_names())
        assert installed <= set(schema.params), name
        assert set(schema.params) - installed <= set(schema.added), name  # older ones only where declared


def test_a_scaler_parameter_newer_than_the_installed_scikit_learn(saved_pipelines, tmp_path, iris, monkeypatch):
    """MaxAbsScaler's clip (scikit-learn 1.9): a file without it loads as clip=False; with an older scikit-learn,
    a file with clip=False loads, and one with clip=True, which would behave otherwise there, is refused."""
    X, _ = iris
    path = saved_pipelines["MaxAbsScaler"]
    expected = skscratch.load(path).predict_proba(X)
    if "clip" in MaxAbsScaler._get_param_names():
        older = skscratch.load(forged(path, tmp_path / "older.npz", setter("pipeline.scaler.params.clip", DELETE), "v3"))
        assert older[0].clip is False
        np.testing.assert_array_equal(older.predict_proba(X), expected)
    monkeypatch.setattr(MaxAbsScaler, "_get_param_names", classmethod(lambda cls: ["copy"]))
    assert skscratch.load(path)[0].get_params() == {"copy": True}
    np.testing.assert_array_equal(skscratch.load(path).predict_proba(X), expected)
    clipped = forged(path, tmp_path / "clipped.npz", setter("pipeline.scaler.params.clip", True), "v3")
    with pytest.raises(ValueError, match=r"pipeline.scaler.params \(MaxAbsScaler\).clip is True, which this "
                       r"scikit-learn's MaxAbsScaler lacks \(it behaves as clip=False\)"):
        skscratch.load(clipped)


def test_a_pipeline_file_of_version_3_keeps_the_layout_rules(saved_pipelines, tmp_path):
    path = saved_pipelines["StandardScaler"]
    members, metadata = parts(path)
    assert metadata["format_version"] == 3 and DIGEST in members
    assert {"scaler_mean_", "scaler_var_", "scaler_scale_"} <= set(members)
    v1_layout = forged(path, tmp_path / "v1.npz", setter("format_version", 3), layout="v1")
    with pytest.raises(ValueError, match="its metadata says format version 3, its layout is version 1"):
        skscratch.load(v1_layout)
    # a bare network's file stays version 2, which older skscratch reads
    skscratch.save(skscratch.load(path)[-1], tmp_path / "bare.npz")
    bare = parts(tmp_path / "bare.npz")[1]
    assert bare["format_version"] == 2 and "pipeline" not in bare


def test_the_digest_and_the_signature_cover_the_scaler(tmp_path, iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline = Pipeline([("scale", StandardScaler()),
                             ("mlp", MLPScratchClassifier((8,), max_iter=5, random_state=0))]).fit(X, y)
    skscratch.save(pipeline, tmp_path / "signed.npz", key=KEY)
    members, metadata = parts(tmp_path / "signed.npz")
    # the scaler's scale doubled with every hash but the digest kept: damage the digest finds
    scale = np.lib.format.read_array(io.BytesIO(members["scaler_scale_"])) * 2
    var = scale**2
    metadata["arrays"]["scaler_scale_"]["sha256"] = array_sha256(scale)
    metadata["arrays"]["scaler_var_"]["sha256"] = array_sha256(var)
    doubled = {**members, "scaler_scale_": fuzzer.npy_bytes(scale), "scaler_var_": fuzzer.npy_bytes(var),
               METADATA: fuzzer.json_member(metadata)}
    (tmp_path / "damaged.npz").write_bytes(fuzzer.zipped(doubled))
    with pytest.raises(ValueError, match="its members do not match the sha256 in skscratch_digest"):
        skscratch.load(tmp_path / "damaged.npz")
    # the same with the digest rewritten: a consistent file, other predictions; only the key finds it
    (tmp_path / "altered.npz").write_bytes(fuzzer.forge(doubled))
    altered = skscratch.load(tmp_path / "altered.npz")
    assert not np.array_equal(altered.predict_proba(X), pipeline.predict_proba(X))
    with pytest.raises(ValueError, match="its signature does not match"):
        skscratch.load(tmp_path / "altered.npz", key=KEY)
    # the scaler's members removed, and the entry with them: a bare network, refused with the key
    bare = {k: v for k, v in members.items() if not k.startswith("scaler_")}
    del metadata["pipeline"]
    metadata["format_version"] = 2
    for name in [n for n in metadata["arrays"] if n.startswith("scaler_")]:
        del metadata["arrays"][name]
    (tmp_path / "stripped.npz").write_bytes(fuzzer.forge({**bare, METADATA: fuzzer.json_member(metadata)}))
    assert isinstance(skscratch.load(tmp_path / "stripped.npz"), MLPScratchClassifier)
    with pytest.raises(ValueError, match="its signature does not match"):
        skscratch.load(tmp_path / "stripped.npz", key=KEY)
    np.testing.assert_array_equal(skscratch.load(tmp_path / "signed.npz", key=KEY).predict_proba(X),
                                  pipeline.predict_proba(X))


# ----------------------------------------------------------------------
# the safe format: damage, the digest, and what a hash cannot do


def test_zip64_end_records_are_read_and_checked(saved, tmp_path, iris):
    """What zipfile writes for a model of over 4 GiB or 65,535 members, on a small file."""
    X, _ = iris
    data = saved.read_bytes()
    _, _, _, n_here, n_total, size, offset, _ = struct.unpack("<4s4H2LH", data[-22:])
    body = data[:-22]
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n_here, n_total, size, offset)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    (tmp_path / "zip64.npz").write_bytes(body + record + struct.pack("<4sLQL", b"PK\x06\x07", 0, len(body), 1) + end)
    np.testing.assert_array_equal(skscratch.load(tmp_path / "zip64.npz").predict_proba(X),
                                  skscratch.load(saved).predict_proba(X))
    (tmp_path / "lost.npz").write_bytes(body + record + struct.pack("<4sLQL", b"PK\x06\x07", 0, 7, 1) + end)
    with pytest.raises(ValueError, match="its zip64 directory record is not where its locator says"):
        skscratch.load(tmp_path / "lost.npz")



def test_load_refuses_truncated_and_foreign_files(saved, tmp_path):
    data = saved.read_bytes()
    (tmp_path / "half.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="half.npz is not a readable skscratch model file"):
        skscratch.load(tmp_path / "half.npz")
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not an .npz"):
        skscratch.load(tmp_path / "pickle.npz")
    np.savez(tmp_path / "plain.npz", w=np.zeros(3))
    with pytest.raises(ValueError, match="no skscratch_metadata"):
        skscratch.load(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError):
        skscratch.load(tmp_path / "missing.npz")


def test_the_digest_covers_the_metadata_and_names_the_damage(saved, tmp_path):
    X, _ = load_iris(return_X_y=True)
    members, metadata = parts(saved)
    # a relabelling: the arrays and their sha256s untouched, the digest stale
    metadata["classes"]["values"] = [0, 7, 8]
    (tmp_path / "relabelled.npz").write_bytes(fuzzer.zipped({**members, METADATA: fuzzer.json_member(metadata)}))
    with pytest.raises(ValueError, match="its members do not match the sha256 in skscratch_digest: the file is "
                       "damaged or was altered"):
        skscratch.load(tmp_path / "relabelled.npz")
    # the digest is a sha256 of the manifest: every other member's name and sha256, sorted
    manifest = "skscratch.npz manifest\n" + "".join(
        f"{name}\t{hashlib.sha256(raw).hexdigest()}\n" for name, raw in sorted(members.items()) if name != DIGEST)
    assert array_of(saved, DIGEST).tobytes().decode() == hashlib.sha256(manifest.encode()).hexdigest()
    # a flipped bit in a member is damage its zip CRC-32 already names
    data = bytearray(saved.read_bytes())
    data[data.index(b"skscratch_version") + 20] ^= 4
    (tmp_path / "flipped.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="member skscratch_metadata is damaged: its CRC-32 does not match"):
        skscratch.load(tmp_path / "flipped.npz")
    # ...and a hash cannot stop a deliberate edit whose author rewrites the hash too: a signature can
    (tmp_path / "rewritten.npz").write_bytes(fuzzer.forge({**members, METADATA: fuzzer.json_member(metadata)}))
    relabelled = skscratch.load(tmp_path / "rewritten.npz").predict(X)
    np.testing.assert_array_equal(relabelled, np.array([0, 7, 8])[skscratch.load(saved).predict(X)])


def test_version_1_files_still_load_with_every_check(saved, tmp_path, iris):
    X, _ = iris
    v1 = forged(saved, tmp_path / "v1.npz", lambda arrays, metadata: None, layout="v1")
    assert DIGEST not in fuzzer.read_members(v1.read_bytes())
    np.testing.assert_array_equal(skscratch.load(v1).predict_proba(X), skscratch.load(saved).predict_proba(X))
    with pytest.raises(ValueError, match="it is not signed"):
        skscratch.load(v1, key=b"k")
    v2_metadata_in_v1_layout = forged(saved, tmp_path / "mixed.npz", setter("format_version", 2), layout="v1")
    with pytest.raises(ValueError, match="its metadata says format version 2, its layout is version 1"):
        skscratch.load(v2_metadata_in_v1_layout)


# ----------------------------------------------------------------------
# the safe format: signing


KEY = b"0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    X, y = load_iris(return_X_y=True)
    path = tmp_path_factory.mktemp("signed") / "signed.npz"
    model = fitted(MLPScratchClassifier, X, y)
    skscratch.save(model, path, key=KEY)
    return path, model


def test_a_signed_file_loads_with_its_key_and_without_one(signed, iris, tmp_path):
    X, _ = iris
    path, model = signed
    for key in (KEY, KEY.decode(), bytearray(KEY), None):  # a str is its UTF-8 bytes
        np.testing.assert_array_equal(skscratch.load(path, key=key).predict_proba(X), model.predict_proba(X))
    with pytest.raises(ValueError, match="its signature does not match: the file was altered after it was signed, "
                       "or signed with another key"):
        skscratch.load(path, key=KEY[:-1] + b"!")
    skscratch.save(model, tmp_path / "unsigned.npz")
    with pytest.raises(ValueError, match=r"it is not signed \(no skscratch_signature\), and a key was given"):
        skscratch.load(tmp_path / "unsigned.npz", key=KEY)
    with pytest.raises(ValueError, match="key is empty"):
        skscratch.save(model, tmp_path / "empty-key.npz", key=b"")
    with pytest.raises(TypeError, match="key must be bytes or str, not int"):
        skscratch.load(path, key=1234)
    assert not (tmp_path / "empty-key.npz").exists()


def _resigned_with_another_key(members, metadata):
    return fuzzer.forge(members, key=b"another key, 32 bytes or more...")


def _relabelled(members, metadata):
    metadata["classes"]["values"] = [0, 7, 8]
    return fuzzer.forge({**members, METADATA: fuzzer.json_member(metadata)})


def _weights_scaled(members, metadata):
    W = np.lib.format.read_array(io.BytesIO(members["coefs_0"])) * 2
    metadata["arrays"]["coefs_0"]["sha256"] = array_sha256(W)
    return fuzzer.forge({**members, "coefs_0": fuzzer.npy_bytes(W), METADATA: fuzzer.json_member(metadata)})


def _member_added(members, metadata):
    return fuzzer.forge({**members, "payload": fuzzer.npy_bytes(np.zeros(3))})


def _signature_removed(members, metadata):
    return fuzzer.forge({k: v for k, v in members.items() if k != SIGNATURE})


def _signature_of_another_file(members, metadata):
    X, y = load_iris(return_X_y=True)
    other = io.BytesIO()
    skscratch.save(fitted(MLPScratchClassifier, X, y, random_state=1), other, key=KEY)
    return fuzzer.forge({**members, SIGNATURE: fuzzer.read_members(other.getvalue())[SIGNATURE]})


def _metadata_broken(members, metadata):
    metadata["fitted"]["n_iter_"] = -1
    return fuzzer.forge({**members, METADATA: fuzzer.json_member(metadata)})


def _metadata_not_json(members, metadata):
    return fuzzer.forge({**members, METADATA: fuzzer.json_member("[" * 100_000)})


def _signature_not_hex(members, metadata):
    return fuzzer.forge({**members, SIGNATURE: fuzzer.npy_bytes(np.frombuffer(b"z" * 64, np.uint8))})


@pytest.mark.parametrize("alter, message", [
    (_relabelled, "its signature does not match"),
    (_metadata_broken, "its signature does not match"),
    (_metadata_not_json, "its signature does not match"),
    (_weights_scaled, "its signature does not match"),
    (_member_added, "its signature does not match"),
    (_resigned_with_another_key, "its signature does not match"),
    (_signature_of_another_file, "its signature does not match"),
    (_signature_removed, "it is not signed"),
    (_signature_not_hex, "its skscratch_signature is not 64 hex digits"),
])  # fmt: skip
def test_a_file_altered_after_signing_is_refused_with_the_key(signed, tmp_path, alter, message):
    path, _ = signed
    members, metadata = parts(path)
    altered = tmp_path / "altered.npz"
    altered.write_bytes(alter(members, metadata))  # every hash rewritten: only the key is missing
    if alter not in (_member_added, _signature_not_hex, _metadata_broken, _metadata_not_json):
        skscratch.load(altered)  # without the key, a rewritten file looks sound: that is what a key is for
    with pytest.raises(ValueError, match=message):
        skscratch.load(altered, key=KEY)


# ----------------------------------------------------------------------
# the safe format: bombs, refused in well under a second, in a few MB


def _zip_size_claim(data, members):
    """coefs_0 claims 4 GB in the zip directory and in its local header (zip64)."""
    data = bytearray(data)
    directory = data.rindex(b"PK\x01\x02coefs_0.npy"[:4], 0, data.index(b"coefs_0.npy", len(data) // 2) + 1)
    struct.pack_into("<2L", data, directory + 20, 2**32 - 1, 2**32 - 1)
    local = data.index(b"coefs_0.npy") - 30
    struct.pack_into("<2Q", data, local + 30 + 11 + 4, 2**32, 2**32)
    return bytes(data)


def _in_version_1(members, metadata=None, **arrays):
    """A version-1 file (no digest: what today's main reads) of ``members``, with other metadata or arrays."""
    if metadata is None:
        metadata = json.loads(np.lib.format.read_array(io.BytesIO(members[METADATA])).tobytes())
    metadata["format_version"] = 1
    return fuzzer.forge({**members, **arrays, METADATA: fuzzer.json_member(metadata)}, digest=False)


def _npy_shape_claim(data, members):
    """coefs_0's .npy header claims 4 GB of float64; the member holds 256 bytes."""
    return _in_version_1(members, coefs_0=fuzzer.npy_header_text("'<f8'", False, (500_000_000,)) + b"\0" * 256)


def _metadata_size_claim(data, members):
    """The metadata's .npy header claims 4 GB."""
    return fuzzer.forge({**members, METADATA: fuzzer.npy_header_text("'|u1'", False, (2**32,)) + b" " * 64},
                        digest=False)


def _network_claim(data, members):
    """The metadata describes a network of 10^11 weights (800 GB) around the same small arrays."""
    metadata = json.loads(np.lib.format.read_array(io.BytesIO(members[METADATA])).tobytes())
    metadata["fitted"]["n_features_in_"] = 10**6
    metadata["params"]["hidden_layer_sizes"] = {"tuple": [10**5]}
    metadata["arrays"]["coefs_0"]["shape"] = [10**6, 10**5]
    return _in_version_1(members, metadata)


def _deflated_metadata(data, members):
    """The metadata member deflated: 64 MB of JSON whitespace in 64 KB."""
    return fuzzer.deflate_bomb(fuzzer.Original(None, data, members, None, None, None, None), METADATA)


def _deflated_weights(data, members):
    return fuzzer.deflate_bomb(fuzzer.Original(None, data, members, None, None, None, None), "coefs_0")


def _overlapping(data, members):
    """Every directory entry points at the same bytes (the non-overlapping zip bomb's trick)."""
    return fuzzer.overlapping(fuzzer.Original(None, data, members, None, None, None, None))


def _tiny(data, members):
    """A 1 KB file whose one member claims 4 GB: header and directory agree, the file does not."""
    header = fuzzer.npy_header_text("'|u1'", False, (2**32 - 1,))
    small = bytearray(fuzzer.raw_zip([(b"skscratch_metadata.npy", 0, 0, header + b" " * 800, len(header) + 800)]))
    for at in (18, small.index(b"PK\x01\x02") + 20):  # compressed and uncompressed sizes: 4 GB
        struct.pack_into("<2L", small, at, 2**32 - 1, 2**32 - 1)
    assert len(small) < 1100
    return bytes(small)


@pytest.mark.parametrize("bomb", [_zip_size_claim, _npy_shape_claim, _metadata_size_claim, _network_claim,
                                  _deflated_metadata, _deflated_weights, _overlapping, _tiny])
def test_bombs_are_refused_fast_in_little_memory(saved, tmp_path, bomb):
    data = saved.read_bytes()
    path = tmp_path / "bomb.npz"
    path.write_bytes(bomb(data, fuzzer.read_members(data)))
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ValueError, match="is not a readable skscratch model file"):
            skscratch.load(path)
        seconds, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 1 and peak < 3 * 2**20, (seconds, peak)


class _Counting(io.BytesIO):
    """A file in memory that counts the bytes read from it."""

    read_bytes = 0

    def read(self, n=-1):
        data = super().read(n)
        self.read_bytes += len(data)
        return data


def test_a_member_larger_than_the_network_needs_is_refused_unread(saved):
    """8 MB of real weights where the metadata's network needs 256 bytes: refused having read 10 KB."""
    members = fuzzer.read_members(saved.read_bytes())
    data = fuzzer.forge({**members, "coefs_0": fuzzer.npy_bytes(np.ones((1000, 1000)))})  # every hash rewritten
    f = _Counting(data)
    with pytest.raises(ValueError, match=r"member coefs_0 holds 8000128 bytes, but a float64 array of shape "
                       r"\(4, 8\) takes 256 bytes and a header"):
        skscratch.load(f)
    assert len(data) > 8_000_000 and f.read_bytes < 10_000, f.read_bytes


# ----------------------------------------------------------------------
# the safe format: FIFOs, devices, descriptors and file objects


def _load_message(path):
    try:
        skscratch.load(path)
    except ValueError as exc:
        return str(exc)
    return "loaded"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_load_refuses_fifos_devices_and_directories_without_blocking(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    result = {}
    thread = threading.Thread(target=lambda: result.update(message=_load_message(fifo)), daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():  # blocked in open() until a writer comes: give it one, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(5)
        pytest.fail("load blocked on a FIFO")
    assert result["message"] == f"{fifo} is not a readable skscratch model file: it is a FIFO, not a regular file"
    (tmp_path / "to-fifo.npz").symlink_to(fifo)
    assert "it is a FIFO" in _load_message(tmp_path / "to-fifo.npz")
    assert "it is a directory, not a regular file" in _load_message(tmp_path)
    handle = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert "it is a FIFO" in _load_message(handle)
    finally:
        os.close(handle)
    if os.path.exists("/dev/zero"):
        assert "it is a character device" in _load_message("/dev/zero")
        with open("/dev/zero", "rb") as zeros:
            assert "it is a character device" in _load_message(zeros)


def test_load_from_a_descriptor_or_a_file_object_leaves_it_open_where_it_was(saved, iris, tmp_path):
    X, _ = iris
    expected = skscratch.load(saved).predict_proba(X)
    handle = os.open(saved, os.O_RDONLY)
    try:
        for _ in range(2):  # still open, at 0, the second time
            np.testing.assert_array_equal(skscratch.load(handle).predict_proba(X), expected)
            assert os.lseek(handle, 0, os.SEEK_CUR) == 0
    finally:
        os.close(handle)
    prefixed = tmp_path / "prefixed.bin"
    prefixed.write_bytes(b"a header of 20 bytes" + saved.read_bytes())
    with open(prefixed, "rb") as f:  # the model from the current position to the end
        f.seek(20)
        np.testing.assert_array_equal(skscratch.load(f).predict_proba(X), expected)
        assert not f.closed and f.tell() == 20
        handle = f.fileno()
        os.lseek(handle, 20, os.SEEK_SET)
        np.testing.assert_array_equal(skscratch.load(handle).predict_proba(X), expected)
        assert os.lseek(handle, 0, os.SEEK_CUR) == 20
    buffer = io.BytesIO(saved.read_bytes())
    np.testing.assert_array_equal(skscratch.load(buffer).predict_proba(X), expected)
    assert buffer.tell() == 0
    with open(saved, encoding="latin-1") as text, pytest.raises(ValueError, match="needs a binary file object"):
        skscratch.load(text)
    with pytest.raises(ValueError, match="that can seek"):
        skscratch.load(io.BufferedReader(_Unseekable(saved.read_bytes())))


class _Unseekable(io.RawIOBase):
    """A readable stream that cannot seek, like a pipe or a socket."""

    def __init__(self, data):
        self.data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        return self.data.readinto(buffer)


# ----------------------------------------------------------------------
# save: file names, modes, symbolic links, file objects


@pytest.mark.parametrize("name", ["modèle ü 模型.npz", "with spaces.npz", "-starts-with-a-dash.npz",
                                  "x" * 251 + ".npz", "no-suffix", "new\nline.npz", "ends with space "])
def test_save_writes_any_file_name_exactly_there(tmp_path, iris, name):
    X, y = iris
    model = fitted(MLPScratchClassifier, X, y)
    path = tmp_path / name
    skscratch.save(model, str(path))
    assert sorted(os.listdir(tmp_path)) == [name]  # used as given, and no temporary file left
    np.testing.assert_array_equal(skscratch.load(path).predict_proba(X), model.predict_proba(X))
    skscratch.save(model, os.fsencode(path))  # bytes, as os functions take them
    assert sorted(os.listdir(tmp_path)) == [name]


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_save_gives_the_mode_a_new_file_gets_and_keeps_an_existing_one(tmp_path, iris):
    X, y = iris
    model = fitted(MLPScratchClassifier, X, y)
    previous = os.umask(0o022)
    try:
        skscratch.save(model, tmp_path / "a.npz")
        os.umask(0o077)
        skscratch.save(model, tmp_path / "b.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "a.npz").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "b.npz").st_mode) == 0o600
    os.chmod(tmp_path / "a.npz", 0o640)
    skscratch.save(model, tmp_path / "a.npz")
    assert stat.S_IMODE(os.stat(tmp_path / "a.npz").st_mode) == 0o640


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_save_through_a_symbolic_link_replaces_its_target_and_keeps_the_link(tmp_path, iris):
    X, y = iris
    old, new = fitted(MLPScratchClassifier, X, y), fitted(MLPScratchClassifier, X, y, random_state=1)
    models, links = tmp_path / "models", tmp_path / "links"
    models.mkdir()
    links.mkdir()
    skscratch.save(old, models / "target.npz")
    os.chmod(models / "target.npz", 0o640)
    (links / "current.npz").symlink_to("../models/target.npz")
    skscratch.save(new, links / "current.npz")
    assert os.readlink(links / "current.npz") == "../models/target.npz"
    assert sorted(os.listdir(links)) == ["current.npz"] and sorted(os.listdir(models)) == ["target.npz"]
    assert stat.S_IMODE(os.stat(models / "target.npz").st_mode) == 0o640
    np.testing.assert_array_equal(skscratch.load(models / "target.npz").predict_proba(X), new.predict_proba(X))
    (links / "dangling.npz").symlink_to(models / "new.npz")  # like open(link, "wb"): the target is created
    skscratch.save(new, links / "dangling.npz")
    assert (models / "new.npz").is_file() and (links / "dangling.npz").is_symlink()
    (links / "loop.npz").symlink_to("loop.npz")
    with pytest.raises(OSError, match="symbolic links"):
        skscratch.save(new, links / "loop.npz")


def test_save_to_file_objects(tmp_path, iris):
    X, y = iris
    model = fitted(MLPScratchClassifier, X, y)
    buffer = io.BytesIO(b"before")
    buffer.seek(6)
    skscratch.save(model, buffer)
    assert buffer.getvalue().startswith(b"before") and not buffer.closed
    buffer.seek(6)
    np.testing.assert_array_equal(skscratch.load(buffer).predict_proba(X), model.predict_proba(X))
    with open(tmp_path / "m.npz", "wb") as f:
        skscratch.save(model, f)
    np.testing.assert_array_equal(skscratch.load(tmp_path / "m.npz").predict_proba(X), model.predict_proba(X))
    stream = _WriteOnly()  # cannot seek: written through a temporary file, without data descriptors
    skscratch.save(model, stream)
    np.testing.assert_array_equal(skscratch.load(io.BytesIO(stream.data)).predict_proba(X), model.predict_proba(X))


class _WriteOnly:
    """A write-only stream that cannot seek, like a pipe or a socket."""

    def __init__(self):
        self.data = b""

    def write(self, data):
        self.data += bytes(data)
        return len(data)


# ----------------------------------------------------------------------
# the fuzz: thousands of mutated files (benchmarks/bench_fuzz_load.py runs a large one)


def test_fuzz_thousands_of_mutated_files_only_load_well_or_raise_value_error():
    report = fuzzer.fuzz(4000, seed=0)
    assert not report["failures"], report["failures"][:5]
    for kind, counts in report["outcomes"].items():
        assert sum(counts.values()) == 500 and counts["refused"] >= 100, (kind, counts)
    assert report["worst"]["seconds"] < fuzzer.TIME_LIMIT_S
    assert report["worst"]["traced_peak_bytes"] < 16 * 2**20, report["worst"]


# ----------------------------------------------------------------------
# skops


@ignore_convergence
@pytest.mark.parametrize("Estimator, kind", [(MLPScratchClassifier, "binary-str"),
                                             (MLPScratchRegressor, "regression-2")])
def test_skops_loads_trusting_only_our_class(Estimator, kind):
    sio = pytest.importorskip("skops.io")
    X, y = case_data(kind)
    model, twin = (fitted(Estimator, X, y, solver="adamw", dropout=0.1) for _ in range(2))
    data = sio.dumps(model)
    assert sio.get_untrusted_types(data=data) == [f"skscratch.{Estimator.__name__}"]
    loaded = sio.loads(data, trusted=[Estimator])
    np.testing.assert_array_equal(outputs(loaded, X), outputs(model, X))
    loaded.partial_fit(X, y)
    twin.partial_fit(X, y)
    assert_same_weights(loaded, twin)


def test_optimizer_state_is_plain_data(iris):
    X, y = iris
    state = fitted(MLPScratchClassifier, X, y, solver="adamw").__getstate__()
    optimizer = state["_optimizer"]
    assert optimizer["kind"] == "AdamW"
    assert all(isinstance(v, (int, float, str, bool, list, np.ndarray, type(None))) for v in optimizer.values())
    buffer = io.BytesIO()
    np.save(buffer, optimizer["m"], allow_pickle=False)  # arrays, not objects
