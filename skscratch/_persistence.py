"""A safe file format for fitted models: one ``.npz`` of plain arrays and JSON.

Pickles (and joblib files) can run code when they load. This format cannot:
it is read with ``numpy.load(allow_pickle=False)``, its metadata is JSON, and
:func:`load` rebuilds the estimator from a fixed list of classes, checking
every array against its recorded dtype, shape and sha256 first.

The weights are stored under plain names (``coefs_0``, ``intercepts_0``, ...)
so that ``numpy.load`` alone reads them, as the classic from-scratch MNIST
projects keep their parameters.
"""

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.validation import check_is_fitted

from . import _optimizers
from ._mlp import MLPScratchClassifier, MLPScratchRegressor
from ._version import __version__

FORMAT, FORMAT_VERSION = "skscratch.npz", 1
METADATA = "skscratch_metadata"
ESTIMATORS = {cls.__name__: cls for cls in (MLPScratchClassifier, MLPScratchRegressor)}
# fitted attributes kept in the JSON (the arrays are named apart)
FITTED = ("n_features_in_", "n_iter_", "t_", "n_outputs_", "n_layers_", "out_activation_", "loss_",
          "best_loss_", "best_validation_score_", "loss_curve_", "validation_scores_",
          "_history", "_initial_loss", "_n_steps", "_no_improvement_count")
ARRAY_DTYPES = {"float32", "float64"}


# ----------------------------------------------------------------------
# Values to JSON and back: plain JSON where it is exact, tagged objects
# where it is not (tuples, non-finite floats, dicts with non-string keys...)


def _encode(value, where):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):  # bool was caught above; np.bool_ is no integer
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        return {"dict": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
    if isinstance(value, type) and value in (np.float32, np.float64):
        return {"dtype": np.dtype(value).name}
    if isinstance(value, np.random.RandomState):
        name, keys, pos, has_gauss, cached = value.get_state()
        return {"random_state": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    raise ValueError(
        f"Cannot save {where}={value!r} in the safe format, which stores data, not code "
        "or objects. Set it to a plain value (for scoring: a scorer's name), or save with joblib."
    )


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise ValueError(f"unexpected object {value!r}")
    (tag, content), = value.items()
    if tag == "float" and content in ("nan", "inf", "-inf"):
        return float(content)
    if tag == "tuple" and isinstance(content, list):
        return tuple(_decode(v) for v in content)
    if tag == "dict" and isinstance(content, list) and all(isinstance(p, list) and len(p) == 2 for p in content):
        return {_decode(k): _decode(v) for k, v in content}
    if tag == "dtype" and content in ARRAY_DTYPES:
        return getattr(np, content)
    if tag == "random_state" and isinstance(content, list) and len(content) == 5:
        random_state = np.random.RandomState()
        name, keys, pos, has_gauss, cached = content
        random_state.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
        return random_state
    raise ValueError(f"unexpected object {value!r}")


def _sha256(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


# ----------------------------------------------------------------------
# save


def save(model, path):
    """Save a fitted skscratch estimator to one ``.npz`` file, safely.

    The file holds the weights as plain arrays (``coefs_0``, ``intercepts_0``,
    ...), the optimizer's state (so that ``partial_fit`` resumes exactly where
    it stopped), and a JSON entry ``skscratch_metadata`` with the constructor
    parameters, the classes, the feature names, the skscratch and format
    versions, and a sha256 of every array. It is written to a temporary file
    first and then renamed, so an interrupted save never leaves half a file.

    Parameters
    ----------
    model : MLPScratchClassifier or MLPScratchRegressor
        A fitted estimator. Parameters that are code or objects (a callable
        ``scoring``) cannot be stored and raise a ValueError.
    path : str or path-like
        Where to write; used as given (no suffix is added).

    Examples
    --------
    >>> import tempfile, numpy as np, skscratch
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = skscratch.MLPScratchClassifier(solver="lbfgs", random_state=0).fit(X, y)
    >>> path = tempfile.mkdtemp() + "/iris.npz"
    >>> skscratch.save(clf, path)
    >>> sorted(np.load(path).files)[:4]  # plain numpy arrays
    ['coefs_0', 'coefs_1', 'intercepts_0', 'intercepts_1']
    >>> bool((skscratch.load(path).predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    if type(model) not in ESTIMATORS.values():
        raise TypeError(f"skscratch.save saves skscratch estimators, not {type(model).__name__}.")
    check_is_fitted(model)
    arrays = {}
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        arrays[f"coefs_{i}"], arrays[f"intercepts_{i}"] = np.asarray(W), np.asarray(b)
    optimizer = None
    if getattr(model, "_optimizer", None) is not None:
        optimizer = {}
        for key, value in _optimizers.to_state(model._optimizer).items():
            if isinstance(value, np.ndarray):
                arrays[f"optimizer_{key}"] = value
            else:
                optimizer[key] = _encode(value, f"optimizer.{key}")
    if getattr(model, "_best_params", None) is not None:
        arrays["best_params"] = model._best_params
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skscratch_version": __version__,
        "estimator": type(model).__name__,
        "params": {k: _encode(v, k) for k, v in model.get_params(deep=False).items()},
        "fitted": {k: _encode(getattr(model, k, None), k) for k in FITTED},
        "optimizer": optimizer,
        "arrays": {name: {"dtype": a.dtype.name, "shape": list(a.shape), "sha256": _sha256(a)}
                   for name, a in arrays.items()},
    }
    if hasattr(model, "feature_names_in_"):
        metadata["fitted"]["feature_names_in_"] = [str(n) for n in model.feature_names_in_]
    if hasattr(model, "_label_binarizer"):
        binarizer = model._label_binarizer
        metadata["classes"] = {
            "values": [_encode(c.item() if hasattr(c, "item") else c, "classes_") for c in model.classes_],
            "dtype": model.classes_.dtype.str if model.classes_.dtype != object else "object",
            "y_type": binarizer.y_type_,
            "sparse_input": bool(binarizer.sparse_input_),
        }
    encoded = json.dumps(metadata, allow_nan=False, sort_keys=True).encode()
    arrays[METADATA] = np.frombuffer(encoded, dtype=np.uint8)

    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            np.savez(f, **arrays)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


# ----------------------------------------------------------------------
# load


def load(path):
    """Load an estimator saved by :func:`save`, refusing anything not exactly that.

    The file is read with ``numpy.load(allow_pickle=False)``; nothing in it is
    executed. Every array must match the dtype, shape and sha256 recorded in
    the metadata, the metadata must name a known format version and
    estimator, and the weights must fit the network the parameters describe.
    Anything else (a corrupt, truncated or tampered file) raises a ValueError
    that says what is wrong.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    model : MLPScratchClassifier or MLPScratchRegressor

    Examples
    --------
    >>> import tempfile, skscratch
    >>> path = tempfile.mkdtemp() + "/not-a-model.npz"
    >>> _ = open(path, "wb").write(b"hello")
    >>> skscratch.load(path)
    Traceback (most recent call last):
    ...
    ValueError: .../not-a-model.npz is not a readable skscratch model file: it is not an .npz (zip) file
    """
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                raise ValueError("it is not an .npz (zip) file")
        with np.load(path, allow_pickle=False) as data:
            if METADATA not in data.files:
                raise ValueError(f"it has no {METADATA} entry")
            metadata = json.loads(data[METADATA].tobytes().decode())
            listed = metadata.get("arrays") if isinstance(metadata, dict) else None
            if not isinstance(listed, dict):
                raise ValueError("its metadata lists no arrays")
            unexpected = set(data.files) - set(listed) - {METADATA}
            if unexpected:
                raise ValueError(f"it holds arrays its metadata does not list: {sorted(unexpected)}")
            arrays = {name: data[name] for name in listed}
    except FileNotFoundError:
        raise
    except Exception as exc:  # zipfile, numpy, zlib, json and our own checks: a bad file
        raise ValueError(f"{path} is not a readable skscratch model file: {exc}") from exc
    try:
        return _rebuild(metadata, arrays)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    except (KeyError, TypeError, AttributeError, IndexError, OverflowError) as exc:
        raise ValueError(f"{path}: malformed metadata ({type(exc).__name__}: {exc})") from exc


def _rebuild(metadata, arrays):
    if metadata.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file (format {metadata.get('format')!r})")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unknown format version {metadata.get('format_version')!r}; this skscratch "
                         f"({__version__}) reads version {FORMAT_VERSION}")
    for name, spec in metadata["arrays"].items():
        array = arrays[name]
        if array.dtype.name != spec["dtype"] or list(array.shape) != spec["shape"]:
            raise ValueError(f"array {name} is {array.dtype.name} {list(array.shape)}, "
                             f"the metadata says {spec['dtype']} {spec['shape']}")
        if _sha256(array) != spec["sha256"]:
            raise ValueError(f"array {name} does not match its sha256: the file is corrupt or was altered")
    if metadata["estimator"] not in ESTIMATORS:
        raise ValueError(f"unknown estimator {metadata['estimator']!r}")
    model = ESTIMATORS[metadata["estimator"]]()
    model.set_params(**{k: _decode(v) for k, v in metadata["params"].items()})
    model._validate_params()
    for key in FITTED:
        setattr(model, key, _decode(metadata["fitted"][key]))
    if "feature_names_in_" in metadata["fitted"]:
        model.feature_names_in_ = np.asarray(metadata["fitted"]["feature_names_in_"], dtype=object)

    units = [model.n_features_in_, *model._hidden_layer_sizes(), model.n_outputs_]
    if model.n_layers_ != len(units):
        raise ValueError(f"n_layers_={model.n_layers_} but the parameters describe {len(units)} layers")
    coefs, intercepts = [], []
    for i, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
        W, b = arrays.get(f"coefs_{i}"), arrays.get(f"intercepts_{i}")
        if W is None or b is None or W.shape != (fan_in, fan_out) or b.shape != (fan_out,):
            raise ValueError(f"layer {i} should have weights of shape ({fan_in}, {fan_out}) and biases "
                             f"({fan_out},), found {None if W is None else W.shape} and "
                             f"{None if b is None else b.shape}")
        if W.dtype.name not in ARRAY_DTYPES or W.dtype != b.dtype or W.dtype != arrays["coefs_0"].dtype:
            raise ValueError(f"layer {i} has weights of dtype {W.dtype} and {b.dtype}")
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise ValueError(f"layer {i} has non-finite weights")
        coefs.append(np.array(W))
        intercepts.append(np.array(b))
    model.coefs_, model.intercepts_ = coefs, intercepts
    flat = model._get_flat_params()

    if metadata["optimizer"] is None:
        model._optimizer = None
    else:
        state = {k: _decode(v) for k, v in metadata["optimizer"].items()}
        for name in arrays:
            if name.startswith("optimizer_"):
                if arrays[name].shape != flat.shape or arrays[name].dtype != flat.dtype:
                    raise ValueError(f"{name} does not match the {flat.size} parameters")
                state[name[len("optimizer_"):]] = np.array(arrays[name])
        model._optimizer = _optimizers.from_state(state)
    model._best_params = np.array(arrays["best_params"]) if "best_params" in arrays else None
    if model._best_params is not None and model._best_params.shape != flat.shape:
        raise ValueError("best_params does not match the parameters")

    if "classes" in metadata:
        spec = metadata["classes"]
        values = [_decode(v) for v in spec["values"]]
        dtype = object if spec["dtype"] == "object" else np.dtype(spec["dtype"])
        if dtype is not object and dtype.kind not in "biufU":
            raise ValueError(f"classes of dtype {dtype} are not supported")
        classes = np.array(values, dtype=dtype)
        expected = 1 if spec["y_type"] == "binary" and len(classes) == 2 else len(classes)
        if spec["y_type"] not in ("binary", "multiclass", "multilabel-indicator") or expected != model.n_outputs_:
            raise ValueError(f"{len(classes)} classes ({spec['y_type']}) do not fit {model.n_outputs_} outputs")
        binarizer = LabelBinarizer()
        binarizer.classes_, binarizer.y_type_ = classes, spec["y_type"]
        binarizer.sparse_input_ = bool(spec["sparse_input"])
        model._label_binarizer, model.classes_ = binarizer, classes
    elif isinstance(model, MLPScratchClassifier):
        raise ValueError("a classifier saved without its classes")
    return model
