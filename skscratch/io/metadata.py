"""The metadata of a model file: what save writes, and the declared schema load checks it against.

The metadata is one JSON object: the format and its version, the
estimator's class, its constructor parameters, its fitted attributes, the
classes (classifiers), the optimizer's state without its arrays, every
array's dtype, shape and sha256, and for a pipeline (format version 3) the
scaler before the network (``io.pipeline_format``). :func:`metadata_json`
writes it.

:func:`check_metadata` reads it back like any input: every field has a
declared type, range and consistency rule (:data:`PARAM_RULES`,
:data:`FITTED_RULES`, :data:`OPTIMIZER_RULES`, and the checks of the
classes and of the output layer); unknown or missing keys are refused, and
the arrays it lists must be exactly those of the network the parameters
and layer sizes describe. What it returns (a :class:`Plan`) says what to
build and which arrays to read, with their dtype, shape and sha256.
"""

import json
import math
import re
from collections import namedtuple

import numpy as np

from ..nn import optimizers as _optimizers
from .integrity import DIGEST, HEX64, array_sha256
from .._estimator.mlp import MLPScratchClassifier, MLPScratchRegressor
from .pipeline_format import check_pipeline
from .strict_json import (REPR, boolean, check_keys, dtype_type, either, encode, integer, mapping, none, number,
                           random_state, record, sequence, string)
from .._version import __version__

FORMAT, FORMAT_VERSION = "skscratch.npz", 2
PIPELINE_FORMAT_VERSION = 3  # a scaler before the network; a bare network's file stays version 2
READABLE_VERSIONS = (1, 2, 3)
ESTIMATORS = {cls.__name__: cls for cls in (MLPScratchClassifier, MLPScratchRegressor)}
# fitted attributes kept in the JSON (the arrays are named apart)
FITTED = ("n_features_in_", "n_iter_", "t_", "n_outputs_", "n_layers_", "out_activation_", "loss_",
          "best_loss_", "best_validation_score_", "loss_curve_", "validation_scores_",
          "_history", "_initial_loss", "_n_steps", "_no_improvement_count")
ARRAY_DTYPES = {"float32", "float64"}

# A network of H hidden layers has 2 (H + 1) weight arrays and at most 6 more
# members, and a scaler at most 5: within _npz_container.MAX_MEMBERS.
MAX_LAYERS = 4_000  # hidden layers
MAX_CLASS_NAME = 256  # width of a "U" dtype of classes, when no class name is longer


# ----------------------------------------------------------------------
# save: the metadata of a fitted model


def metadata_json(model, optimizer_state, arrays, pipeline=None):
    """The metadata of ``model``, saved with ``arrays``, as UTF-8 JSON.

    ``optimizer_state`` is the optimizer's state (``nn.optimizers.to_state``)
    or None; its arrays are among ``arrays``, its other fields go here.
    ``pipeline`` is the ``pipeline`` entry of a network saved after its
    scaler (``io.pipeline_format.split_pipeline``), whose arrays are among
    ``arrays`` too; None for a bare network.
    """
    optimizer = None
    if optimizer_state is not None:
        optimizer = {key: encode(value, f"optimizer.{key}") for key, value in optimizer_state.items()
                     if not isinstance(value, np.ndarray)}
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skscratch_version": __version__,
        "estimator": type(model).__name__,
        "params": {k: encode(v, k) for k, v in model.get_params(deep=False).items()},
        "fitted": {k: encode(getattr(model, k, None), k) for k in FITTED},
        "optimizer": optimizer,
        "arrays": {name: {"dtype": a.dtype.name, "shape": list(a.shape), "sha256": array_sha256(a)}
                   for name, a in arrays.items()},
    }
    if pipeline is not None:
        metadata.update(format_version=PIPELINE_FORMAT_VERSION, pipeline=pipeline)
    if hasattr(model, "feature_names_in_"):
        metadata["fitted"]["feature_names_in_"] = [str(n) for n in model.feature_names_in_]
    if hasattr(model, "_label_binarizer"):
        binarizer = model._label_binarizer
        metadata["classes"] = {
            "values": [encode(c.item() if hasattr(c, "item") else c, "classes_") for c in model.classes_],
            "dtype": model.classes_.dtype.str if model.classes_.dtype != object else "object",
            "y_type": binarizer.y_type_,
            "sparse_input": bool(binarizer.sparse_input_),
        }
    return json.dumps(metadata, allow_nan=False, sort_keys=True).encode()


# ----------------------------------------------------------------------
# load: the declared type of every field

_SIZE = integer(1)
_REAL = number()
_UNIT = number(0, 1)
_RECORD = number(finite=False)  # a loss or a score as training recorded it: nan and inf allowed
_LABEL = either(string(), integer(-(2**63), 2**64 - 1), _REAL, boolean())

# The type of every constructor parameter; their ranges and options are the
# estimator's own (_validate_params), checked once the values are set.
PARAM_RULES = {
    "hidden_layer_sizes": either(_SIZE, sequence(_SIZE, tuple_=True, max_length=MAX_LAYERS),
                                 sequence(_SIZE, max_length=MAX_LAYERS)),
    "activation": string(), "solver": string(), "learning_rate": string(), "loss": string(),
    "alpha": _REAL, "learning_rate_init": _REAL, "power_t": _REAL, "tol": _REAL, "momentum": _REAL,
    "validation_fraction": _REAL, "beta_1": _REAL, "beta_2": _REAL, "epsilon": _REAL,
    "batch_size": either(string(), integer()),
    "max_iter": integer(), "max_fun": integer(), "warmup_iter": integer(),
    "n_iter_no_change": either(integer(), number(finite=False)),
    "shuffle": boolean(), "warm_start": boolean(), "nesterovs_momentum": boolean(),
    "early_stopping": boolean(), "verbose": either(boolean(), integer()),
    "random_state": either(none(), integer(), random_state()),
    "dtype": either(none(), string(), dtype_type(ARRAY_DTYPES)),
    "max_grad_norm": either(none(), _REAL),
    "dropout": either(_REAL, sequence(_REAL, max_length=MAX_LAYERS),
                      sequence(_REAL, tuple_=True, max_length=MAX_LAYERS)),
    "scoring": either(none(), string()),
    "class_weight": either(none(), string(), mapping(_LABEL, number(0))),
}

_HISTORY_FIELDS = {"epoch": integer(1), "train_loss": _RECORD, "val_loss": _RECORD, "val_score": _RECORD,
                   "learning_rate": _RECORD, "elapsed_s": _RECORD}
_HISTORY_ROW = mapping(string(set(_HISTORY_FIELDS)), _HISTORY_FIELDS)

# The type of every fitted attribute in the JSON.
FITTED_RULES = {
    "n_features_in_": _SIZE, "n_iter_": integer(), "t_": integer(), "n_outputs_": _SIZE,
    "n_layers_": integer(2, MAX_LAYERS + 2),
    "out_activation_": string({"softmax", "logistic", "identity", "exp"}),
    "loss_": either(none(), _RECORD), "best_loss_": either(none(), _RECORD),
    "best_validation_score_": either(none(), _RECORD), "_initial_loss": either(none(), _RECORD),
    "loss_curve_": sequence(_RECORD), "validation_scores_": either(none(), sequence(_RECORD)),
    "_history": sequence(_HISTORY_ROW),
    "_n_steps": integer(), "_no_improvement_count": integer(),
    "feature_names_in_": sequence(string()),
}

# The type and range of every field of an optimizer's state (its arrays are members of their own).
OPTIMIZER_RULES = {
    "learning_rate_init": number(0), "lr_schedule": string({"constant", "invscaling", "adaptive", "cosine"}),
    "power_t": number(0), "max_iter": _SIZE, "warmup_iter": integer(), "epoch": integer(),
    "_adaptive_rate": number(0), "rate": number(0), "momentum": _UNIT, "nesterov": boolean(),
    "beta_1": _UNIT, "beta_2": _UNIT, "epsilon": number(0), "learning_rate": number(0), "t": integer(),
    "weight_decay": number(0), "decay": sequence(integer(), max_length=2),
}

Plan = namedtuple("Plan", "estimator params fitted classes optimizer arrays pipeline")
_ARRAY_SPEC = record({"dtype": string(ARRAY_DTYPES), "shape": sequence(integer(), max_length=2),
                      "sha256": string(max_length=64)})
_CLASSES = record({"values": sequence(_LABEL), "dtype": string(max_length=20),
                   "y_type": string({"binary", "multiclass", "multilabel-indicator"}), "sparse_input": boolean()})
# dtypes classes_ may have: numbers and strings (little- or big-endian), or "object" holding str
_CLASS_DTYPE = re.compile(r"[<>|=]?(b1|[iu][1248]|f[248]|U[1-9][0-9]{0,5})\Z")


# ----------------------------------------------------------------------
# load: the metadata checked, field by field and as a whole


def check_metadata(metadata, layout):
    """Validate the metadata; return what to build, and the arrays to read with their dtype, shape and sha256.

    ``layout``: 2 if the file has a digest (format versions 2 and 3), else 1.
    """
    Estimator, version = _check_header(metadata, layout)
    model = _check_params(metadata["params"], Estimator)
    fitted = record(FITTED_RULES, optional=["feature_names_in_"])(metadata["fitted"], "fitted")
    units = [fitted["n_features_in_"], *model._hidden_layer_sizes(), fitted["n_outputs_"]]
    model._dropout_rates(len(units) - 2)
    if fitted["n_layers_"] != len(units):
        raise ValueError(f"n_layers_={fitted['n_layers_']} but the parameters describe {len(units)} layers")
    if "feature_names_in_" in fitted and len(fitted["feature_names_in_"]) != units[0]:
        raise ValueError(f"{len(fitted['feature_names_in_'])} feature names for {units[0]} features")
    if Estimator is MLPScratchClassifier:
        classes = _check_classes(metadata["classes"], fitted)
    else:
        classes, activation = None, {"squared_error": "identity", "poisson": "exp"}[model.loss]
        if fitted["out_activation_"] != activation:
            raise ValueError(f"out_activation_ is {fitted['out_activation_']!r}; loss={model.loss!r} "
                             f"has {activation!r}")
    optimizer, optimizer_arrays = _check_optimizer(metadata["optimizer"], units)
    pipeline, scaler_arrays = None, {}
    if version == PIPELINE_FORMAT_VERSION:
        pipeline, scaler_arrays = check_pipeline(metadata["pipeline"], units[0])
    arrays = _check_array_list(metadata["arrays"], units, optimizer_arrays, scaler_arrays)
    return Plan(Estimator, model.get_params(deep=False), fitted, classes, optimizer, arrays, pipeline)


def _check_header(metadata, layout):
    """The estimator class and the format version, once the format, the version and the top-level keys are right."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get("arrays"), dict):
        raise ValueError("its metadata lists no arrays")
    if metadata.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file (format {REPR.repr(metadata.get('format'))})")
    found = metadata.get("format_version")
    if type(found) is not int or found not in READABLE_VERSIONS:
        raise ValueError(f"unknown format version {REPR.repr(found)}; this skscratch ({__version__}) "
                         f"reads versions {', '.join(map(str, READABLE_VERSIONS))} of an MLPScratch model's "
                         "file, and version 4 of a tabular MLP's")
    if (found == 1) != (layout == 1):
        raise ValueError(f"its metadata says format version {found}, its layout is version {layout} "
                         f"(versions 2 and 3 have a {DIGEST}, version 1 none)")
    Estimator = ESTIMATORS.get(metadata.get("estimator")) if isinstance(metadata.get("estimator"), str) else None
    if Estimator is None:
        raise ValueError(f"unknown estimator {REPR.repr(metadata.get('estimator'))}")
    keys = {"format", "format_version", "skscratch_version", "estimator", "params", "fitted", "optimizer", "arrays"}
    keys |= {"classes"} if Estimator is MLPScratchClassifier else set()
    check_keys(metadata, "its metadata", keys | ({"pipeline"} if found == PIPELINE_FORMAT_VERSION else set()))
    string(max_length=100)(metadata["skscratch_version"], "skscratch_version")
    return Estimator, found


def _check_params(value, Estimator):
    """An unfitted estimator with the saved parameters, each of its declared type and valid for it."""
    params = record({name: PARAM_RULES[name] for name in Estimator._get_param_names()})(value, "params")
    model = Estimator(**params)
    model._validate_params()
    return model


def _check_classes(spec, fitted):
    """(classes_, y_type_, sparse_input_) of the label binarizer, consistent with the output layer."""
    spec = _CLASSES(spec, "classes")
    values, y_type, n_outputs = spec["values"], spec["y_type"], fitted["n_outputs_"]
    if not values:
        raise ValueError("classes.values is empty")
    if spec["dtype"] == "object":
        dtype, kinds = np.dtype(object), (str,)
    elif _CLASS_DTYPE.match(spec["dtype"]):
        dtype = np.dtype(spec["dtype"])
        kinds = {"b": (bool,), "i": (int,), "u": (int,), "f": (float,), "U": (str,)}[dtype.kind]
    else:
        raise ValueError(f"classes of dtype {spec['dtype']!r} are not supported")
    if not all(type(v) in kinds for v in values):
        raise ValueError(f"classes of dtype {spec['dtype']} must be {kinds[0].__name__}s")
    if dtype.kind in "iu" and values and not np.iinfo(dtype).min <= min(values) <= max(values) <= np.iinfo(dtype).max:
        raise ValueError(f"classes out of the range of {spec['dtype']}")
    if dtype.kind == "U" and dtype.itemsize // 4 > max([MAX_CLASS_NAME, *map(len, values)]):
        raise ValueError(f"classes of dtype {spec['dtype']} are wider than their names need")
    classes = np.array(values, dtype=dtype)
    if dtype.kind == "U" and max(map(len, values)) > dtype.itemsize // 4:
        raise ValueError(f"classes {REPR.repr(values)} do not fit dtype {spec['dtype']}")
    if not all(classes[1:] > classes[:-1]):
        raise ValueError("classes_ must be sorted and unique")
    outputs = {"binary": 1, "multiclass": len(classes), "multilabel-indicator": len(classes)}[y_type]
    sizes = {"binary": (1, 2), "multiclass": (3, math.inf), "multilabel-indicator": (2, math.inf)}[y_type]
    if not sizes[0] <= len(classes) <= sizes[1] or outputs != n_outputs:
        raise ValueError(f"{len(classes)} classes ({y_type}) do not fit {n_outputs} outputs")
    if y_type == "multilabel-indicator" and (dtype.kind not in "iu" or list(classes) != list(range(len(classes)))):
        raise ValueError("multilabel classes must be the column indices 0, 1, ...")
    activation = "softmax" if y_type == "multiclass" else "logistic"
    if fitted["out_activation_"] != activation:
        raise ValueError(f"out_activation_ is {fitted['out_activation_']!r}; {y_type} targets have {activation!r}")
    return classes, y_type, spec["sparse_input"]


def _n_parameters(units):
    """(weights, weights and biases) of a network with these layer sizes."""
    n_weights = sum(a * b for a, b in zip(units[:-1], units[1:]))
    return n_weights, n_weights + sum(units[1:])


def _check_optimizer(value, units):
    """The optimizer's state without its arrays (or None), and the names of its arrays."""
    if value is None:
        return None, []
    if not isinstance(value, dict):
        raise ValueError(f"optimizer must be null or an object, got {REPR.repr(value)}")
    kind = string(set(_optimizers.OPTIMIZERS))(value.get("kind"), "optimizer.kind")
    template = _optimizers.to_state(_optimizers.OPTIMIZERS[kind](np.zeros(1)))
    array_fields = [k for k, v in template.items() if isinstance(v, np.ndarray)]
    fields = {k: OPTIMIZER_RULES[k] for k in template if k not in array_fields and k != "kind"}
    state = record({"kind": string({kind}), **fields})(value, "optimizer")
    n_weights = _n_parameters(units)[0]
    if "decay" in state and state["decay"] != [0, n_weights]:
        raise ValueError(f"optimizer.decay must be [0, {n_weights}] (the weights), got {state['decay']}")
    return state, array_fields


def _check_array_list(listed, units, optimizer_arrays, scaler_arrays):
    """{name: (dtype, shape, sha256)} of every array, once the metadata's list matches the network and scaler.

    The network's arrays share one dtype; each of the scaler's
    (``scaler_arrays``: name -> shape) is float32 or float64 of its own.
    """
    n_parameters = _n_parameters(units)[1]
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
        shapes[f"coefs_{i}"], shapes[f"intercepts_{i}"] = (fan_in, fan_out), (fan_out,)
    shapes.update({f"optimizer_{field}": (n_parameters,) for field in optimizer_arrays})
    if "best_params" in listed:  # kept by early stopping
        shapes["best_params"] = (n_parameters,)
    expected = set(shapes) | set(scaler_arrays)
    if set(listed) != expected:
        owner = "the network and its scaler do" if scaler_arrays else "the network does"
        raise ValueError(f"its metadata lists arrays {sorted(set(listed) - expected)[:5]} {owner} "
                         f"not have, or lacks {sorted(expected - set(listed))[:5]}")
    dtype = _ARRAY_SPEC(listed["coefs_0"], "arrays.coefs_0")["dtype"]
    arrays = {}
    for name, shape in {**shapes, **scaler_arrays}.items():
        spec = _ARRAY_SPEC(listed[name], f"arrays.{name}")
        if name in scaler_arrays and tuple(spec["shape"]) != shape:
            raise ValueError(f"array {name} should be of shape {shape}, a value per feature, the metadata lists "
                             f"{tuple(spec['shape'])}")
        if name in shapes and (spec["dtype"] != dtype or tuple(spec["shape"]) != shape):
            raise ValueError(f"array {name} should be {dtype} of shape {shape} to fit the network, the "
                             f"metadata lists {spec['dtype']} {tuple(spec['shape'])}")
        if not HEX64.match(spec["sha256"]):
            raise ValueError(f"arrays.{name}.sha256 is not 64 hex digits")
        arrays[name] = (np.dtype(spec["dtype"]), shape, spec["sha256"])
    return arrays
