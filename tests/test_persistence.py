"""Persistence: joblib variants, the version stamp, the safe .npz format, skops."""

import copy
import io
import json
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import InconsistentVersionWarning

import skscratch
from conftest import assert_same_weights
from skscratch import MLPScratchClassifier, MLPScratchRegressor

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
    assert metadata["skscratch_version"] == skscratch.__version__ and metadata["format_version"] == 1
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
# the safe format: refusals


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X, y = load_iris(return_X_y=True)
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    skscratch.save(fitted(MLPScratchClassifier, X, y, solver="adamw"), path)
    return path


def rewrite(path, out, change):
    """Copy an .npz, letting change(arrays, metadata) alter it."""
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    metadata = json.loads(arrays.pop("skscratch_metadata").tobytes())
    change(arrays, metadata)
    arrays["skscratch_metadata"] = np.frombuffer(json.dumps(metadata).encode(), np.uint8)
    np.savez(out, **arrays)
    return out


def _tamper_weight(arrays, metadata):
    arrays["coefs_0"] = arrays["coefs_0"] * 2


def _future_version(arrays, metadata):
    metadata["format_version"] = 2


def _wrong_shape(arrays, metadata):
    from skscratch._persistence import _sha256

    arrays["coefs_0"] = arrays["coefs_0"][:, :5]
    metadata["arrays"]["coefs_0"].update(shape=[4, 5], sha256=_sha256(arrays["coefs_0"]))


def _extra_array(arrays, metadata):
    arrays["payload"] = np.zeros(3)


def _object_array(arrays, metadata):
    arrays["coefs_0"] = np.array([{"x": 1}], dtype=object)


def _unknown_estimator(arrays, metadata):
    metadata["estimator"] = "os.system"


def _bad_parameter(arrays, metadata):
    metadata["params"]["activation"] = "sine"


def _optimizer_field(arrays, metadata):
    metadata["optimizer"]["update_params"] = "not a method"


def _no_metadata_entry(arrays, metadata):
    metadata.clear()


@pytest.mark.parametrize("change, message", [
    (_tamper_weight, "sha256"),
    (_future_version, "unknown format version 2"),
    (_wrong_shape, r"layer 0 should have weights of shape \(4, 8\)"),
    (_extra_array, "does not list"),
    (_object_array, "Object arrays cannot be loaded"),
    (_unknown_estimator, "unknown estimator"),
    (_bad_parameter, "activation"),
    (_optimizer_field, "saved AdamW state has fields"),
    (_no_metadata_entry, "lists no arrays"),
])  # fmt: skip
def test_load_refuses_altered_files(saved, tmp_path, change, message):
    bad = rewrite(saved, tmp_path / "bad.npz", change)
    with pytest.raises(ValueError, match=message):
        skscratch.load(bad)


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


def test_fuzz_bit_flips_and_truncations_raise_only_value_error(saved, tmp_path):
    X, _ = load_iris(return_X_y=True)
    original = saved.read_bytes()
    expected = skscratch.load(saved).predict_proba(X)
    rng = np.random.RandomState(0)
    outcomes = {"refused": 0, "loaded": 0}
    for trial in range(1000):
        data = bytearray(original)
        if trial % 4 == 3:
            data = data[: rng.randint(len(data))]
        else:
            for _ in range(rng.randint(1, 4)):
                position = rng.randint(len(data))
                data[position] ^= 1 << rng.randint(8)
        path = tmp_path / "fuzz.npz"
        path.write_bytes(bytes(data))
        try:
            model = skscratch.load(path)
        except ValueError:
            outcomes["refused"] += 1
        else:  # the flips hit bytes that carry nothing (zip bookkeeping): the model is intact
            np.testing.assert_array_equal(model.predict_proba(X), expected)
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 900, outcomes


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
    assert sio.get_untrusted_types(data=data) == [f"skscratch._mlp.{Estimator.__name__}"]
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
