"""A scaler and a network in one safe file: the pipelines :func:`skscratch.save` stores.

``Pipeline([(name, scaler), (name, network)])``, with one of scikit-learn's
plain scalers (:data:`SCALERS`: StandardScaler, MinMaxScaler, MaxAbsScaler)
and an MLPScratchClassifier or MLPScratchRegressor, is the project's main
use. Its file (format version 3) holds the network as a bare network's file
does, and the scaler: its parameters and plain fitted attributes in the
metadata's ``pipeline`` entry, its arrays as members ``scaler_<attribute>``
(``scaler_mean_``, ``scaler_scale_``, ...). Any other step would need code
to load: :func:`split_pipeline` refuses it, naming the step and what is
accepted.

On load the scaler is input like the rest of the file. :func:`check_pipeline`
checks the entry: the step names, a class of :data:`SCALERS`, each parameter
of its declared type and valid for the installed scikit-learn (and
``copy=True``: a loaded file never changes the arrays it is given), the fitted
attributes, ``n_features_in_`` equal to the network's, and which arrays the
parameters imply (each of shape ``(n_features,)``). :func:`rebuild_pipeline`
checks the arrays' values (finite, every scale positive, every derived
attribute in agreement with what it derives from) and builds the Pipeline.
"""

from collections import namedtuple

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from .._engine import array_api as seam
from .strict_json import REPR, boolean, either, encode, integer, json_object, number, record, sequence, string

PREFIX = "scaler_"  # the scaler's arrays are the members scaler_<attribute>
MAX_STEP_NAME = 100


# ----------------------------------------------------------------------
# the scalers: their parameters, arrays, and the rules their values keep


def _standard_arrays(params):
    """StandardScaler keeps mean_ unless it neither centres nor scales, and var_ and scale_ if it scales."""
    return (("mean_",) if params["with_mean"] or params["with_std"] else ()) + (
        ("var_", "scale_") if params["with_std"] else ())


def _check_standard(a, params, n_samples):
    """var_ >= 0; scale_ > 0, the square root of var_ (or 1, where scikit-learn found the feature constant)."""
    if "var_" in a:
        _at_least(a, "var_", 0)
        _positive(a, "scale_")
        # StandardScaler.fit's rule for a constant feature (sklearn.preprocessing._data._is_constant_feature)
        # and for a scale too small to divide by (_handle_zeros_in_scale): there, and only there, scale_ is 1
        var, mean, eps = a["var_"], a.get("mean_", 0.0), np.finfo(np.float64).eps
        constant = (var <= n_samples * eps * var + (n_samples * mean * eps) ** 2) | (np.sqrt(var) < _tiny(a))
        _agrees(a, "scale_", np.sqrt(var), "the square root of var_", alternative=1, where=constant)


def _check_min_max(a, params, n_samples):
    """data_min_ <= data_max_; data_range_, scale_ > 0 and min_ as MinMaxScaler.fit derives them from those."""
    low, high = params["feature_range"]
    if not np.isfinite(np.asarray(high - low, dtype=a["scale_"].dtype)):
        raise ValueError(f"feature_range {params['feature_range']!r} spans more than {a['scale_'].dtype} holds")
    if not (a["data_min_"] <= a["data_max_"]).all():
        raise ValueError(f"array {PREFIX}data_min_ is above {PREFIX}data_max_ for feature "
                         f"{int(np.flatnonzero(a['data_min_'] > a['data_max_'])[0])}")
    _agrees(a, "data_range_", a["data_max_"] - a["data_min_"], "data_max_ - data_min_",
            magnitude=np.abs(a["data_max_"]) + np.abs(a["data_min_"]))
    _positive(a, "scale_")
    with np.errstate(all="ignore"):
        expected = (high - low) / a["data_range_"]
    _agrees(a, "scale_", expected, "(feature_range[1] - feature_range[0]) / data_range_",
            alternative=np.asarray(high - low, dtype=a["scale_"].dtype),  # the range of a constant feature
            where=a["data_range_"] < _tiny(a))
    product = a["data_min_"] * a["scale_"]
    _agrees(a, "min_", low - product, "feature_range[0] - data_min_ * scale_", magnitude=abs(low) + np.abs(product))


def _check_max_abs(a, params, n_samples):
    """max_abs_ >= 0; scale_ is max_abs_ (or 1, for a feature that is always 0)."""
    _at_least(a, "max_abs_", 0)
    _positive(a, "scale_")
    _agrees(a, "scale_", a["max_abs_"], "max_abs_", alternative=1, where=a["max_abs_"] < _tiny(a))


def _tiny(a):
    """Below this a scale is zero to scikit-learn (``_handle_zeros_in_scale``: 10 eps of the scale's dtype)."""
    return 10 * np.finfo(a["scale_"].dtype).eps


def _at_least(arrays, name, low):
    if not (arrays[name] >= low).all():
        raise ValueError(f"array {PREFIX}{name} has values below {low} (feature "
                         f"{int(np.flatnonzero(arrays[name] < low)[0])})")


def _positive(arrays, name):
    if not (arrays[name] > 0).all():
        index = int(np.flatnonzero(arrays[name] <= 0)[0])
        raise ValueError(f"array {PREFIX}{name} has a scale that is not positive (feature {index}: "
                         f"{float(arrays[name][index])!r}); a scaler's scales are positive")


def _agrees(arrays, name, expected, what, *, magnitude=None, alternative=None, where=None):
    """Refuse ``arrays[name]`` unless it is ``expected`` within a few roundings (or ``alternative`` ``where`` allowed).

    A few roundings, not the bits: the formula may be evaluated in another
    order by another scikit-learn, or in another array library.
    """
    found = arrays[name]
    eps = max(np.finfo(found.dtype).eps, np.finfo(np.result_type(expected)).eps)
    magnitude = np.abs(expected) if magnitude is None else magnitude
    with np.errstate(all="ignore"):  # an overflow is a disagreement, never a pass: inf is not within reach
        agree = (np.abs(found - expected) <= 4 * eps * magnitude) & np.isfinite(expected) & np.isfinite(magnitude)
    if alternative is not None:
        agree |= (found == alternative) & where
    if not agree.all():
        index = int(np.flatnonzero(~agree)[0])
        raise ValueError(f"array {PREFIX}{name} does not agree with {what} (feature {index}: "
                         f"{float(found[index])!r}, not {float(np.broadcast_to(expected, found.shape)[index])!r})")


_FEATURE_RANGE = either(sequence(number(), tuple_=True, max_length=2), sequence(number(), max_length=2))

Scaler = namedtuple("Scaler", "cls params added arrays every_array check")
Scaler.__doc__ = """What the format knows of one scaler class.

``params``: the declared type of every parameter; ``added``: those newer
than the oldest scikit-learn skscratch supports, with the value that
behaves as scikit-learn did without them; ``arrays(params)``: the arrays a
fitted one has; ``every_array``: all it may have; ``check(arrays,
params, n_samples_seen)``: the rules the arrays' values keep.
"""

SCALERS = {
    "StandardScaler": Scaler(StandardScaler, {"copy": boolean(), "with_mean": boolean(), "with_std": boolean()},
                             {}, _standard_arrays, ("mean_", "var_", "scale_"), _check_standard),
    "MinMaxScaler": Scaler(MinMaxScaler, {"feature_range": _FEATURE_RANGE, "copy": boolean(), "clip": boolean()},
                           {}, lambda params: ("data_min_", "data_max_", "data_range_", "scale_", "min_"),
                           ("data_min_", "data_max_", "data_range_", "scale_", "min_"), _check_min_max),
    "MaxAbsScaler": Scaler(MaxAbsScaler, {"copy": boolean(), "clip": boolean()}, {"clip": False},
                           lambda params: ("max_abs_", "scale_"), ("max_abs_", "scale_"), _check_max_abs),
}
SCALER_NAMES = "a " + ", ".join(list(SCALERS)[:-1]) + " or " + list(SCALERS)[-1]  # "a StandardScaler, ... or ..."
ACCEPTED = (f"Pipeline([(name, scaler), (name, network)]), the scaler {SCALER_NAMES}, fitted, and the network an "
            "MLPScratchClassifier or MLPScratchRegressor")


# ----------------------------------------------------------------------
# save


def _what(step):
    """A step's kind, as an error message names it."""
    if isinstance(step, str) or step is None:
        return repr(step)
    if isinstance(step, Pipeline):
        return "a Pipeline: a pipeline in a pipeline is not stored, flatten it"
    return type(step).__name__


def split_pipeline(pipeline, networks):
    """(the network, the file's ``pipeline`` entry, the scaler's arrays) of a pipeline the format stores.

    Refuses, naming the step and what is accepted, any other pipeline:
    another number of steps, a step of another class (a subclass
    included), ``memory`` or ``transform_input``, a scaler with
    ``set_output``, or one whose values :func:`rebuild_pipeline` would
    refuse. ``networks``: the estimator classes the format stores.
    """
    if type(pipeline) is not Pipeline:
        raise TypeError(f"skscratch.save cannot store a {type(pipeline).__name__}, a subclass of Pipeline: its "
                        f"code would be needed to load it. It stores {ACCEPTED}.")
    if pipeline.memory is not None:
        raise ValueError(f"skscratch.save cannot store a Pipeline with memory={pipeline.memory!r} (a cache of "
                         "fitted steps, not data); set memory=None.")
    if getattr(pipeline, "transform_input", None) is not None:
        raise ValueError(f"skscratch.save cannot store a Pipeline with transform_input="
                         f"{pipeline.transform_input!r}; it stores {ACCEPTED}.")
    names = [name for name, _ in pipeline.steps]
    if len(pipeline.steps) != 2:
        raise TypeError(f"skscratch.save stores {ACCEPTED}; this Pipeline has {len(names)} "
                        f"step{'s' * (len(names) != 1)}, {names}.")
    (scaler_name, scaler), (network_name, network) = pipeline.steps
    if type(scaler) not in [schema.cls for schema in SCALERS.values()]:
        raise TypeError(f"skscratch.save cannot store step {scaler_name!r} ({_what(scaler)}): the first step must "
                        f"be {SCALER_NAMES} (a step of any other kind would need code to load). It stores "
                        f"{ACCEPTED}.")
    if type(network) not in networks:
        raise TypeError(f"skscratch.save cannot store step {network_name!r} ({_what(network)}): the last step "
                        f"must be an MLPScratchClassifier or MLPScratchRegressor. It stores {ACCEPTED}.")
    check_is_fitted(scaler)
    check_is_fitted(network)
    output = (getattr(scaler, "_sklearn_output_config", None) or {}).get("transform", "default")
    if output != "default":
        raise ValueError(f"skscratch.save cannot store step {scaler_name!r} with set_output(transform={output!r}); "
                         "the safe format keeps the default output: set_output(transform='default').")
    schema = SCALERS[type(scaler).__name__]
    entry, arrays = _scaler_entry(seam.convert_estimator(scaler, seam.to_host), schema, network.n_features_in_)
    try:
        check_values(schema, {name[len(PREFIX):]: array for name, array in arrays.items()}, entry["params"],
                     scaler.n_samples_seen_)
    except ValueError as exc:
        raise ValueError(f"skscratch.save cannot store step {scaler_name!r}: {exc}.") from None
    entry["params"] = {key: encode(value, f"{scaler_name}.{key}") for key, value in entry["params"].items()}
    return network, {"steps": names, "verbose": bool(pipeline.verbose), "scaler": entry}, arrays


def _scaler_entry(scaler, schema, n_features):
    """(the scaler's JSON entry, its params not yet encoded; its arrays), each array checked for a file."""
    name = type(scaler).__name__
    params = scaler.get_params(deep=False)
    unknown = set(params) - set(schema.params)
    if unknown:
        raise ValueError(f"skscratch.save does not know {name}'s parameters {sorted(unknown)} (from a newer "
                         "scikit-learn?); it cannot store them.")
    if params["copy"] is not True:
        raise ValueError(f"skscratch.save cannot store a {name} with copy={params['copy']!r}: loaded, it would "
                         "scale the arrays it is given in place. Set copy=True.")
    if scaler.n_features_in_ != n_features:
        raise ValueError(f"skscratch.save cannot store a {name} of {scaler.n_features_in_} features before a "
                         f"network of {n_features}.")
    arrays = {}
    for attribute in schema.arrays(params):
        value = getattr(scaler, attribute, None)
        if not (isinstance(value, np.ndarray) and value.shape == (n_features,) and value.dtype.name in
                ("float32", "float64")):
            raise ValueError(f"skscratch.save cannot store a {name} whose {attribute} is {REPR.repr(value)}: it "
                             f"must be float32 or float64 values, one per feature ({n_features}).")
        if not np.isfinite(value).all():
            raise ValueError(f"skscratch.save cannot store a {name} whose {attribute} has non-finite values "
                             f"(feature {int(np.flatnonzero(~np.isfinite(value))[0])}).")
        arrays[PREFIX + attribute] = value
    seen = np.asarray(scaler.n_samples_seen_)
    fitted = {"n_features_in_": int(scaler.n_features_in_),
              "n_samples_seen_": encode(seen.item() if seen.ndim == 0 else seen.tolist(), "n_samples_seen_")}
    if hasattr(scaler, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(n) for n in scaler.feature_names_in_]
    return {"class": name, "params": params, "fitted": fitted}, arrays


# ----------------------------------------------------------------------
# load


PipelinePlan = namedtuple("PipelinePlan", "names verbose schema params fitted")

_COUNT = either(integer(0), number(0))  # n_samples_seen_: an int, or a float (StandardScaler's)
_ENTRY = record({"steps": sequence(string(max_length=MAX_STEP_NAME), max_length=2), "verbose": boolean(),
                 "scaler": record({"class": string(set(SCALERS)), "params": json_object(), "fitted": json_object()})})
_FITTED = record({"n_features_in_": integer(1), "n_samples_seen_": either(_COUNT, sequence(_COUNT)),
                  "feature_names_in_": sequence(string())}, optional=["feature_names_in_"])


def check_pipeline(entry, n_features):
    """What to build, and the scaler's arrays to read ``{name: shape}``, once the ``pipeline`` entry is checked."""
    entry = _ENTRY(entry, "pipeline")
    names = entry["steps"]
    if len(names) != 2 or names[0] == names[1]:
        raise ValueError(f"pipeline.steps must be two distinct names, the scaler's and the network's, got "
                         f"{REPR.repr(names)}")
    for name in names:
        if "__" in name or name in Pipeline._get_param_names():
            raise ValueError(f"pipeline.steps: {name!r} is not a step name scikit-learn allows (no '__', "
                             "not a parameter of Pipeline)")
    scaler = entry["scaler"]
    schema = SCALERS[scaler["class"]]
    params = _check_params(scaler["params"], schema, f"pipeline.scaler.params ({scaler['class']})")
    fitted = _FITTED(scaler["fitted"], "pipeline.scaler.fitted")
    if fitted["n_features_in_"] != n_features:
        raise ValueError(f"the scaler has n_features_in_={fitted['n_features_in_']}, the network {n_features}")
    for key in ("feature_names_in_", "n_samples_seen_"):
        if isinstance(fitted.get(key), list) and len(fitted[key]) != n_features:
            raise ValueError(f"pipeline.scaler.fitted.{key} has {len(fitted[key])} values for {n_features} features")
    arrays = {PREFIX + attribute: (n_features,) for attribute in schema.arrays(params)}
    return PipelinePlan(names, entry["verbose"], schema, params, fitted), arrays


def _check_params(value, schema, where):
    """The scaler's parameters: each of its declared type, known to this scikit-learn, valid for the scaler."""
    installed = set(schema.cls._get_param_names())
    params = record(schema.params, optional=list(schema.added))(value, where)
    for name, neutral in schema.added.items():
        if name not in installed:
            if params.pop(name, neutral) != neutral:
                raise ValueError(f"{where}.{name} is {REPR.repr(value[name])}, which this scikit-learn's "
                                 f"{schema.cls.__name__} lacks (it behaves as {name}={neutral!r})")
        else:
            params.setdefault(name, neutral)
    if params["copy"] is not True:  # a file must never change the arrays it is given
        raise ValueError(f"{where}.copy is {params['copy']!r}: the scaler would scale the arrays it is given in "
                         "place; the safe format stores scalers with copy=True")
    scaler = schema.cls(**params)
    scaler._validate_params()
    if "feature_range" in params and not (len(params["feature_range"]) == 2
                                          and params["feature_range"][0] < params["feature_range"][1]):
        raise ValueError(f"{where}.feature_range must be (min, max) with min < max, got "
                         f"{REPR.repr(params['feature_range'])}")
    return params


def check_values(schema, values, params, n_samples_seen):
    """The rules ``schema`` sets on a scaler's array values; an overflow in them is a disagreement, not a warning."""
    with np.errstate(all="ignore"):
        schema.check(values, params, np.asarray(n_samples_seen, dtype=np.float64))


def rebuild_pipeline(plan, arrays, network):
    """The Pipeline of the scaler (its ``arrays`` finite, by name, their values checked here) and ``network``."""
    values = {name[len(PREFIX):]: array for name, array in arrays.items()}
    check_values(plan.schema, values, plan.params, plan.fitted["n_samples_seen_"])
    scaler = plan.schema.cls(**plan.params)
    for attribute in plan.schema.every_array:
        setattr(scaler, attribute, values.get(attribute))
    scaler.n_features_in_ = plan.fitted["n_features_in_"]
    seen = plan.fitted["n_samples_seen_"]
    scaler.n_samples_seen_ = np.asarray(seen) if isinstance(seen, list) else seen
    if "feature_names_in_" in plan.fitted:
        scaler.feature_names_in_ = np.asarray(plan.fitted["feature_names_in_"], dtype=object)
    return Pipeline([(plan.names[0], scaler), (plan.names[1], network)], verbose=plan.verbose)
