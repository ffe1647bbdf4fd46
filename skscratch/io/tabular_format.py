"""A tabular MLP in one safe file: the TabularMLPClassifier and TabularMLPRegressor files of :func:`skscratch.save`.

Format version 4. The container, the digest, the signature and the strict
JSON are those of every skscratch file (``io.npz_container``,
``io.integrity``, ``io.strict_json``); this module holds what is stored of
a tabular model and the rules a file must keep to load as one.

Members (stored ``.npy``, float64; ``numpy.load`` reads them):

- ``network_params``: the network's flat parameter vector (``network_.params``);
- ``preprocessor_center_``, ``preprocessor_factor_``: the numeric columns' scaling;
- the regressor's ``y_mean``, ``y_std``, ``y_min``, ``y_max`` (``_y_mean`` ...);
- ``skscratch_metadata``, ``skscratch_digest`` and, if signed, ``skscratch_signature``.

The metadata holds the estimator's class and constructor parameters, the
preprocessor's parameters and fitted attributes (column kinds, category
levels, missing flags, output layout, names), the classes (classifier) or
the number and shape of the targets (regressor), ``n_iter_``,
``best_epoch_``, the loss and score curves, ``history_`` as columns, and
every array's dtype, shape and sha256.

On load nothing is taken on trust (:func:`check_tabular_metadata`): each
parameter has a declared type and must pass the estimator's own
``_validate_params``; the preprocessor's derived attributes (its kinds,
column indices, ``n_numeric_``, ``n_binary_``, ``embedding_cardinalities_``,
``layout_``, ``feature_names_out_``) must be what its levels and flags
give; every array's shape is the one the metadata implies (the parameter
vector's length is that of the network the estimator's own
``_build_network`` makes of the parameters, the preprocessor and the
outputs) before it is read. :func:`rebuild_tabular` then checks the
values: finite, ``factor_ >= 0`` (0 for a column constant in training),
``y_std > 0``, ``y_min <= y_max``. The Dropout layers' random state is not
stored: prediction does not use it.
"""

import json
import math
from collections import namedtuple

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .._estimator.tabular import BaseTabularMLP, TabularMLPClassifier, TabularMLPRegressor
from .._estimator.tabular_preprocessing import TabularPreprocessor
from .._version import __version__
from .integrity import DIGEST, HEX64, array_sha256
from .metadata import _ARRAY_SPEC, _RECORD, _REAL, _SIZE, FORMAT, PARAM_RULES, _check_classes
from .strict_json import (REPR, boolean, check_keys, either, encode, integer, none, number, parse_json, record,
                          sequence, string)

TABULAR_FORMAT_VERSION = 4
TABULAR_ESTIMATORS = {cls.__name__: cls for cls in (TabularMLPClassifier, TabularMLPRegressor)}
PARAMS, CENTER, FACTOR = "network_params", "preprocessor_center_", "preprocessor_factor_"
TARGETS = ("y_mean", "y_std", "y_min", "y_max")  # the regressor's _y_mean, ... as members
KINDS = ("numeric", "one_hot", "binary", "constant", "embedding")
HISTORY_COLUMNS = ("epoch", "train_loss", "val_score", "learning_rate", "elapsed_s")  # history_'s, in order
LEVEL_TYPES = (str, int, float, bool)  # what a category level may be: a JSON scalar
MAX_EMBEDDING_DIM = 2**30  # keeps every layer's width within int64, whatever the file claims

# ----------------------------------------------------------------------
# the declared type of every field

_CATEGORICAL = either(none(), string(), sequence(either(integer(), string(), boolean())),
                      sequence(either(integer(), string(), boolean()), tuple_=True))

# The type of every constructor parameter of both estimators; ranges and options are the
# estimator's own (_validate_params). The preprocessor's parameters are among them.
TABULAR_PARAM_RULES = {
    **{name: PARAM_RULES[name] for name in ("hidden_layer_sizes", "activation", "max_iter", "learning_rate_init",
                                            "beta_1", "beta_2", "epsilon", "validation_fraction", "random_state",
                                            "verbose", "class_weight")},
    "batch_size": integer(), "parametric_activation": boolean(), "num_embedding": either(none(), string()),
    "scaling_layer": boolean(), "ntk": boolean(), "data_init": boolean(), "lr_schedule": string(),
    "weight_decay": _REAL, "weight_decay_schedule": string(), "dropout": _REAL, "dropout_schedule": string(),
    "label_smoothing": _REAL, "select_best_epoch": boolean(), "categorical_features": _CATEGORICAL,
    "one_hot_max_categories": integer(), "embedding_dim": integer(0, MAX_EMBEDDING_DIM),
    "numeric_scaling": either(none(), string()), "smooth_clip": boolean(), "clip_predictions": boolean(),
    "dtype": string(),
}

_LEVEL = either(string(), boolean(), integer(-(2**63), 2**64 - 1), number())
_SPAN = sequence(integer(), max_length=2)  # a slice of layout_: [start, stop]
_PREPROCESSOR_FITTED = record({
    "n_features_in_": _SIZE, "feature_names_in_": sequence(string()),
    "column_kinds_": sequence(string(set(KINDS))),
    "numeric_columns_": sequence(integer()), "categorical_columns_": sequence(integer()),
    "numeric_missing_": sequence(boolean()), "categorical_missing_": sequence(boolean()),
    "categories_": sequence(sequence(_LEVEL)),
    "n_numeric_": integer(), "n_binary_": integer(), "embedding_cardinalities_": sequence(integer(1)),
    "layout_": record({"numeric": _SPAN, "binary": _SPAN, "embedding": _SPAN}),
    "feature_names_out_": sequence(string()),
}, optional=["feature_names_in_"])
_PREPROCESSOR = record({
    "params": record({name: TABULAR_PARAM_RULES[name] for name in TabularPreprocessor().get_params(deep=False)}),
    "fitted": _PREPROCESSOR_FITTED,
})
_HISTORY = record({column: sequence(integer(1) if column == "epoch" else _RECORD) for column in HISTORY_COLUMNS},
                  optional=HISTORY_COLUMNS)
_FITTED = record({
    "n_features_in_": _SIZE, "feature_names_in_": sequence(string()), "n_iter_": integer(),
    "best_epoch_": integer(), "best_validation_score_": either(none(), _RECORD),
    "loss_curve_": sequence(_RECORD), "validation_scores_": either(none(), sequence(_RECORD)), "history_": _HISTORY,
}, optional=["feature_names_in_"])
_CLASSES = record({"values": sequence(either(string(), boolean(), integer(-(2**63), 2**64 - 1), number())),
                   "dtype": string(max_length=20)})
_TARGETS = record({"n_outputs": _SIZE, "ndim": integer(1, 2)})


# ----------------------------------------------------------------------
# what is not stored: a Pipeline around a tabular model, and ONNX


def is_tabular(model):
    """Whether ``model`` is one of the estimators this format stores."""
    return type(model) in TABULAR_ESTIMATORS.values()


def refuse_tabular_pipeline(pipeline):
    """Refuse a Pipeline holding a tabular estimator, naming the step: the estimator preprocesses the table itself."""
    for name, step in getattr(pipeline, "steps", []):
        if isinstance(step, BaseTabularMLP):
            raise TypeError(
                f"skscratch.save cannot store a Pipeline holding a {type(step).__name__} (step {name!r}): a tabular "
                "MLP preprocesses the table itself (categories, missing values, scaling), so it needs no steps "
                f"before it. Save the estimator alone, skscratch.save(pipeline[{name!r}], path), or the Pipeline "
                "with joblib or skops.")


def refuse_onnx(model):
    """Refuse a tabular estimator (alone or in a Pipeline) for ONNX, saying why and what to use instead."""
    steps = [step for _, step in model.steps] if hasattr(model, "steps") else [model]
    for step in steps:
        if isinstance(step, BaseTabularMLP):
            raise ValueError(
                f"{type(step).__name__} has no ONNX form: its embeddings (periodic embeddings of the numeric "
                "columns, a learned table of vectors per large categorical column) and its preprocessing of the "
                "table (category levels matched as text, robust scaling, missing values) are not among what "
                "skscratch.to_onnx converts. Save it with skscratch.save or joblib.")


# ----------------------------------------------------------------------
# save


def tabular_arrays(model):
    """(every array of the file but the metadata, the metadata as UTF-8 JSON) of a fitted tabular estimator.

    The file is checked as :func:`load` will check it before anything is
    written: what could not load is refused here, with what is wrong.
    """
    check_is_fitted(model)
    name = type(model).__name__
    params = model.network_.params
    if not (isinstance(params, np.ndarray) and params.dtype == np.float64 and params.ndim == 1):
        raise ValueError(f"skscratch.save cannot store this {name}: its network_.params is not a float64 vector "
                         "(fit gives one)")
    preprocessor = model.preprocessor_
    arrays = {PARAMS: params, CENTER: np.asarray(preprocessor.center_), FACTOR: np.asarray(preprocessor.factor_)}
    metadata = {
        "format": FORMAT, "format_version": TABULAR_FORMAT_VERSION, "skscratch_version": __version__,
        "estimator": name, "params": _encoded_params(model, "params"),
        "preprocessor": _preprocessor_entry(preprocessor), "fitted": _fitted_entry(model),
    }
    if isinstance(model, TabularMLPClassifier):
        classes = model.classes_
        metadata["classes"] = {"values": [encode(c.item() if hasattr(c, "item") else c, "classes_") for c in classes],
                               "dtype": classes.dtype.str if classes.dtype != object else "object"}
    else:
        arrays.update({target: np.asarray(getattr(model, "_" + target)) for target in TARGETS})
        metadata["targets"] = {"n_outputs": len(model._y_mean), "ndim": int(model._y_ndim)}
    metadata["arrays"] = {key: {"dtype": a.dtype.name, "shape": list(a.shape), "sha256": array_sha256(a)}
                          for key, a in arrays.items()}
    text = _json_bytes(metadata)
    try:
        plan = check_tabular_metadata(parse_json(text), layout=2)
        _check_values(arrays)
    except ValueError as exc:
        raise ValueError(f"skscratch.save cannot store this {name}: {exc}") from None
    if repr(plan.network) != repr(model.network_):
        raise ValueError(f"skscratch.save cannot store this {name}: its network_, {model.network_!r}, is not the "
                         f"one its parameters and preprocessor_ describe, {plan.network!r}")
    return arrays, text


def _json_bytes(metadata):
    return json.dumps(metadata, allow_nan=False, sort_keys=True).encode()


def _encoded_params(estimator, where):
    """The constructor parameters as JSON (an array parameter as a list)."""
    return {key: encode(value.tolist() if isinstance(value, np.ndarray) else value, f"{where}.{key}")
            for key, value in estimator.get_params(deep=False).items()}


def _plain(value, where):
    """An attribute as JSON: arrays as lists, NumPy scalars as Python ones."""
    return encode(value.tolist() if isinstance(value, np.ndarray) else value, where)


def _levels(levels, column):
    """The levels of one categorical column as JSON; a level that is not a str, int, float or bool is refused."""
    values = []
    for level in np.asarray(levels, dtype=object).tolist():
        level = level.item() if isinstance(level, np.generic) else level
        if type(level) not in LEVEL_TYPES or (type(level) is float and not math.isfinite(level)):
            raise ValueError(
                f"skscratch.save cannot store categories_[{column}] holding the level {level!r} "
                f"({type(level).__name__}): the safe format stores category levels that are str, int, float "
                "(finite) or bool. Save the model with joblib or skops.")
        values.append(level)
    return values


def _preprocessor_entry(preprocessor):
    """The preprocessor's parameters and fitted attributes, as JSON."""
    output = (getattr(preprocessor, "_sklearn_output_config", None) or {}).get("transform", "default")
    if output != "default":
        raise ValueError(f"skscratch.save cannot store a preprocessor_ with set_output(transform={output!r}); "
                         "fit leaves it at 'default'.")
    fitted = {key: _plain(getattr(preprocessor, key), f"preprocessor_.{key}") for key in (
        "n_features_in_", "column_kinds_", "numeric_columns_", "categorical_columns_", "numeric_missing_",
        "categorical_missing_", "n_numeric_", "n_binary_", "embedding_cardinalities_", "feature_names_out_")}
    fitted["categories_"] = [_levels(levels, j) for j, levels in enumerate(preprocessor.categories_)]
    fitted["layout_"] = {key: [span.start, span.stop] for key, span in preprocessor.layout_.items()}
    if hasattr(preprocessor, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(n) for n in preprocessor.feature_names_in_]
    return {"params": _encoded_params(preprocessor, "preprocessor_"), "fitted": fitted}


def _fitted_entry(model):
    """The estimator's fitted attributes as JSON: its counts, curves and history_ (column by column)."""
    history = model.history_
    columns = [str(c) for c in history.columns]
    if columns != [c for c in HISTORY_COLUMNS if c in columns]:
        raise ValueError(f"skscratch.save cannot store history_ with the columns {columns}: fit writes some of "
                         f"{list(HISTORY_COLUMNS)}, in that order.")
    fitted = {key: _plain(getattr(model, key), key) for key in (
        "n_features_in_", "n_iter_", "best_epoch_", "best_validation_score_", "loss_curve_", "validation_scores_")}
    fitted["history_"] = {column: _plain(history[column].to_numpy(), f"history_.{column}") for column in columns}
    if hasattr(model, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(n) for n in model.feature_names_in_]
    return fitted


# ----------------------------------------------------------------------
# load: the metadata, checked field by field and as a whole

TabularPlan = namedtuple("TabularPlan", "estimator params preprocessor network fitted outputs arrays")
TabularPlan.__doc__ = """What a checked tabular file describes.

``preprocessor``: a TabularPreprocessor with every fitted attribute but the
arrays ``center_`` and ``factor_``; ``network``: the estimator's network,
unbound; ``outputs``: the classes (classifier) or ``(n_outputs, ndim)``
(regressor); ``arrays``: ``{name: (dtype, shape, sha256)}`` to read.
"""


def is_tabular_metadata(metadata):
    """Whether parsed metadata claims to be a tabular model's (its estimator's name says; the version is checked after).

    A network's file that claims version 4 is the network format's to refuse
    (``io.metadata``: versions 1 to 3).
    """
    estimator = metadata.get("estimator") if isinstance(metadata, dict) else None
    return isinstance(estimator, str) and estimator in TABULAR_ESTIMATORS


def check_tabular_metadata(metadata, layout):
    """Validate a tabular model's metadata; return its :class:`TabularPlan`.

    ``layout``: 2 if the file has a digest (a version 4 file must), else 1.
    """
    Estimator = _check_header(metadata, layout)
    params = record({name: TABULAR_PARAM_RULES[name] for name in Estimator._get_param_names()})(
        metadata["params"], "params")
    model = Estimator(**params)
    model._validate_params()
    sizes = model._hidden_sizes()
    preprocessor = _check_preprocessor(metadata["preprocessor"])
    fitted = _check_fitted(metadata["fitted"], preprocessor)
    if Estimator is TabularMLPClassifier:
        outputs = _check_tabular_classes(metadata["classes"])
        n_outputs = len(outputs)
    else:
        outputs = _TARGETS(metadata["targets"], "targets")
        n_outputs = outputs["n_outputs"]
        if outputs["ndim"] == 1 and n_outputs != 1:
            raise ValueError(f"targets.ndim is 1 (one target) but targets.n_outputs is {n_outputs}")
    network = model._build_network(preprocessor, sizes, n_outputs)
    # the parameter count in Python's integers: whatever the file claims, no int64 overflows
    n_params = sum(math.prod(shape) for _, _, shape in network._parameters())
    shapes = {PARAMS: (n_params,), CENTER: (len(preprocessor.numeric_columns_),),
              FACTOR: (len(preprocessor.numeric_columns_),)}
    if Estimator is TabularMLPRegressor:
        shapes.update({target: (n_outputs,) for target in TARGETS})
    arrays = _check_arrays(metadata["arrays"], shapes)
    return TabularPlan(Estimator, model.get_params(deep=False), preprocessor, network, fitted, outputs, arrays)


def _check_header(metadata, layout):
    """The estimator class, once the format, the version, the layout and the top-level keys are right."""
    if not isinstance(metadata.get("arrays"), dict):
        raise ValueError("its metadata lists no arrays")
    if metadata.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file (format {REPR.repr(metadata.get('format'))})")
    estimator, version = metadata.get("estimator"), metadata.get("format_version")
    Estimator = TABULAR_ESTIMATORS.get(estimator) if isinstance(estimator, str) else None
    if Estimator is None:
        raise ValueError(f"format version {TABULAR_FORMAT_VERSION} stores a "
                         f"{' or a '.join(TABULAR_ESTIMATORS)}, not {REPR.repr(estimator)}")
    if type(version) is not int or version != TABULAR_FORMAT_VERSION:
        raise ValueError(f"a {estimator} is stored in format version {TABULAR_FORMAT_VERSION}, not "
                         f"{REPR.repr(version)}")
    if layout != 2:
        raise ValueError(f"format version {TABULAR_FORMAT_VERSION} has a {DIGEST}, this file none")
    keys = {"format", "format_version", "skscratch_version", "estimator", "params", "preprocessor", "fitted",
            "arrays", "classes" if Estimator is TabularMLPClassifier else "targets"}
    check_keys(metadata, "its metadata", keys)
    string(max_length=100)(metadata["skscratch_version"], "skscratch_version")
    return Estimator


def _check_preprocessor(entry):
    """A TabularPreprocessor with the saved parameters and fitted attributes (not center_ and factor_), checked.

    The column indices must be those the kinds give, each categorical
    column's kind the one its levels and missing flag give, and the derived
    attributes (``n_numeric_`` ... ``feature_names_out_``) what they all give.
    """
    entry = _PREPROCESSOR(entry, "preprocessor")
    fitted, where = entry["fitted"], "preprocessor.fitted"
    preprocessor = TabularPreprocessor(**entry["params"])
    preprocessor._validate_params()
    kinds, n_features = fitted["column_kinds_"], fitted["n_features_in_"]
    for key in ("column_kinds_", "feature_names_in_"):
        if key in fitted and len(fitted[key]) != n_features:
            raise ValueError(f"{where}.{key} has {len(fitted[key])} entries for n_features_in_={n_features}")
    numeric = [j for j, kind in enumerate(kinds) if kind == "numeric"]
    categorical = [j for j, kind in enumerate(kinds) if kind != "numeric"]
    for key, expected in (("numeric_columns_", numeric), ("categorical_columns_", categorical)):
        if fitted[key] != expected:
            raise ValueError(f"{where}.{key} is {REPR.repr(fitted[key])}, but column_kinds_ gives "
                             f"{REPR.repr(expected)}")
    levels, missing = fitted["categories_"], fitted["categorical_missing_"]
    for key, expected in (("numeric_missing_", numeric), ("categories_", categorical),
                          ("categorical_missing_", categorical)):
        if len(fitted[key]) != len(expected):
            raise ValueError(f"{where}.{key} has {len(fitted[key])} entries for {len(expected)} columns of its kind")
    for i, j in enumerate(categorical):
        if len(set(levels[i])) != len(levels[i]):
            raise ValueError(f"{where}.categories_[{i}] repeats a level: {REPR.repr(levels[i])}")
        kind = preprocessor._categorical_kind(len(levels[i]), missing[i])
        if kinds[j] != kind:
            raise ValueError(f"{where}.column_kinds_[{j}] is {kinds[j]!r}, but {len(levels[i])} levels "
                             f"{'and missing values ' * missing[i]}with one_hot_max_categories="
                             f"{preprocessor.one_hot_max_categories} make it {kind!r}")
    preprocessor.n_features_in_, preprocessor.column_kinds_ = n_features, kinds
    if "feature_names_in_" in fitted:
        preprocessor.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    preprocessor.numeric_columns_ = np.array(numeric, dtype=np.intp)
    preprocessor.categorical_columns_ = np.array(categorical, dtype=np.intp)
    preprocessor.numeric_missing_ = np.array(fitted["numeric_missing_"], dtype=bool)
    preprocessor.categorical_missing_ = np.array(missing, dtype=bool)
    preprocessor.categories_ = [np.array(column, dtype=object) for column in levels]
    _set_derived(preprocessor, fitted, where)
    preprocessor.set_output(transform="default")  # as fit leaves it
    return preprocessor


def _set_derived(preprocessor, fitted, where):
    """Set the attributes derived from the kinds, levels and flags, once the file's agree with them."""
    numeric, binary, codes = preprocessor._output_names(_check_feature_names_in(preprocessor, None))
    n_first = len(numeric) + len(binary)
    expected = {
        "n_numeric_": len(numeric), "n_binary_": len(binary),
        "embedding_cardinalities_": [len(levels) + 1 for levels, j in zip(fitted["categories_"],
                                                                          preprocessor.categorical_columns_)
                                     if preprocessor.column_kinds_[j] == "embedding"],
        "layout_": {"numeric": [0, len(numeric)], "binary": [len(numeric), n_first],
                    "embedding": [n_first, n_first + len(codes)]},
        "feature_names_out_": [*numeric, *binary, *codes],
    }
    for key, value in expected.items():
        if fitted[key] != value:
            raise ValueError(f"{where}.{key} is {REPR.repr(fitted[key])}, but the column kinds, categories_ and "
                             f"missing flags give {REPR.repr(value)}")
    preprocessor.n_numeric_, preprocessor.n_binary_ = len(numeric), len(binary)
    preprocessor.embedding_cardinalities_ = expected["embedding_cardinalities_"]
    preprocessor.layout_ = {key: slice(*span) for key, span in expected["layout_"].items()}
    preprocessor.feature_names_out_ = np.array(expected["feature_names_out_"], dtype=object)


def _check_fitted(value, preprocessor):
    """The estimator's fitted attributes, consistent with the preprocessor and with n_iter_."""
    fitted = _FITTED(value, "fitted")
    if fitted["n_features_in_"] != preprocessor.n_features_in_:
        raise ValueError(f"fitted.n_features_in_ is {fitted['n_features_in_']}, the preprocessor's "
                         f"{preprocessor.n_features_in_}")
    names = getattr(preprocessor, "feature_names_in_", None)
    if fitted.get("feature_names_in_") != (None if names is None else names.tolist()):
        raise ValueError("fitted.feature_names_in_ are not the preprocessor's")
    n_iter = fitted["n_iter_"]
    if fitted["best_epoch_"] > n_iter:
        raise ValueError(f"fitted.best_epoch_ is {fitted['best_epoch_']}, after the last epoch (n_iter_={n_iter})")
    curves = {"loss_curve_": fitted["loss_curve_"],
              "validation_scores_": fitted["validation_scores_"] or [None] * n_iter,
              **{f"history_.{column}": values for column, values in fitted["history_"].items()}}
    for key, values in curves.items():
        if len(values) != n_iter:
            raise ValueError(f"fitted.{key} has {len(values)} values for n_iter_={n_iter} epochs")
    return fitted


def _check_tabular_classes(spec):
    """classes_, checked as a classifier's classes are (io.metadata), of a network with an output per class."""
    spec = _CLASSES(spec, "classes")
    binary = len(spec["values"]) <= 2
    classes, _, _ = _check_classes(
        {**spec, "y_type": "binary" if binary else "multiclass", "sparse_input": False},
        {"n_outputs_": 1 if binary else len(spec["values"]), "out_activation_": "logistic" if binary else "softmax"})
    return classes


def _check_arrays(listed, shapes):
    """{name: (dtype, shape, sha256)} of every array, once the metadata lists exactly these, float64, these shapes."""
    if set(listed) != set(shapes):
        raise ValueError(f"its metadata lists arrays {sorted(set(listed) - set(shapes))[:5]} a tabular model does "
                         f"not have, or lacks {sorted(set(shapes) - set(listed))[:5]}")
    arrays = {}
    for name, shape in shapes.items():
        spec = _ARRAY_SPEC(listed[name], f"arrays.{name}")
        if spec["dtype"] != "float64" or tuple(spec["shape"]) != shape:
            what = "the network its parameters describe" if name == PARAMS else "the metadata"
            raise ValueError(f"array {name} should be float64 of shape {shape} to fit {what}; the metadata lists "
                             f"{spec['dtype']} {tuple(spec['shape'])}")
        if not HEX64.match(spec["sha256"]):
            raise ValueError(f"arrays.{name}.sha256 is not 64 hex digits")
        arrays[name] = (np.dtype(np.float64), shape, spec["sha256"])
    return arrays


# ----------------------------------------------------------------------
# load: the values, and the estimator


def _check_values(values):
    """Refuse arrays whose values fit does not make: not finite, a negative scale, a target's std or range."""
    for name, array in values.items():
        if not np.isfinite(array).all():
            raise ValueError(f"array {name} has non-finite values")
    if (values[FACTOR] < 0).any():
        raise ValueError(f"array {FACTOR} has a negative scale (column {int(np.flatnonzero(values[FACTOR] < 0)[0])})"
                         "; a scale is positive, or 0 for a column constant in training")
    if TARGETS[0] in values:
        if not (values["y_std"] > 0).all():
            raise ValueError("array y_std has a value that is not positive; fit takes 1 for a constant target")
        if not (values["y_min"] <= values["y_max"]).all():
            raise ValueError("array y_min is above y_max")


def rebuild_tabular(plan, values):
    """The fitted estimator the checked plan and arrays describe; predictions are the saved model's, to the bit.

    ``values``: the arrays read, as writeable native-endian copies.
    """
    _check_values(values)
    model = plan.estimator(**plan.params)
    preprocessor = plan.preprocessor
    preprocessor.center_, preprocessor.factor_ = values[CENTER], values[FACTOR]
    model.preprocessor_ = preprocessor
    model.network_ = plan.network.bind(values[PARAMS])
    fitted = plan.fitted
    model.n_features_in_ = fitted["n_features_in_"]
    if hasattr(preprocessor, "feature_names_in_"):
        model.feature_names_in_ = preprocessor.feature_names_in_
    for key in ("n_iter_", "best_epoch_", "best_validation_score_", "loss_curve_", "validation_scores_"):
        setattr(model, key, fitted[key])
    history = fitted["history_"]
    model._history = [{column: column_values[i] for column, column_values in history.items()}
                      for i in range(fitted["n_iter_"])]
    if plan.estimator is TabularMLPClassifier:
        model.classes_ = plan.outputs
        model._encoder = LabelEncoder()
        model._encoder.classes_ = plan.outputs
    else:
        model._y_ndim = plan.outputs["ndim"]
        model._y_mean, model._y_std, model._y_min, model._y_max = (values[target] for target in TARGETS)
    return model
