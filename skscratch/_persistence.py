"""A safe file format for fitted models: one ``.npz`` of plain arrays and JSON.

Pickles (and joblib files) can run code when they load. This format cannot:
its arrays are plain ``.npy`` members, its metadata is JSON, and :func:`load`
rebuilds the estimator from a fixed list of classes. :func:`load` treats the
file as hostile input, whoever wrote it:

- **No bombs.** Before a byte of a member is read, the zip's declared sizes
  (central directory and local header) must fit the file, every byte of which
  belongs to exactly one member or to the zip's own records; members must be
  stored, not compressed, so nothing inflates. The metadata (at most
  MAX_METADATA_BYTES) is read first; every other member's declared size, and
  then its ``.npy`` header, must match the dtype and shape that the metadata
  and the network's layer sizes imply before it is read, and reads stop at
  those sizes. Memory stays within about twice the arrays' size.
- **Metadata validated like input.** Every field has a declared type, range
  and consistency rule (:data:`PARAM_RULES`, :data:`FITTED_RULES`,
  :data:`OPTIMIZER_RULES`, and the checks of the classes and the output
  layer); unknown keys, duplicate keys, nesting deeper than
  :data:`MAX_JSON_DEPTH` and numbers outside int64 or finite float64 are
  refused. A file that loads predicts exactly what its writer predicted.
- **Damage and tampering.** A ``skscratch_digest`` member holds a sha256 over
  every other member's name and bytes, metadata included; a
  ``skscratch_signature`` member, written when :func:`save` is given a key,
  holds an HMAC-SHA256 over the same. A hash finds damage, not a deliberate
  edit by someone who rewrites the hash too; the signature finds that, for
  anyone without the key.

Every refusal is a ValueError that names the file and says what is wrong.

The weights are stored under plain names (``coefs_0``, ``intercepts_0``, ...)
so that ``numpy.load`` alone reads them, as the classic from-scratch MNIST
projects keep their parameters.

Layout, format version 2: one stored ``.npy`` member per array, ``coefs_i``
and ``intercepts_i`` per layer, ``optimizer_<field>`` for the optimizer's
moment vectors, ``best_params`` (early stopping); ``skscratch_metadata``
(UTF-8 JSON as uint8), ``skscratch_digest`` (64 hex digits as uint8) and,
if signed, ``skscratch_signature`` (64 hex digits). Version 1 (no digest,
no signature) still loads, with every other check.
"""

import contextlib
import json
import math
import re
import reprlib
import struct
import zipfile
from collections import namedtuple

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.validation import check_is_fitted

from . import _optimizers
from ._file_access import opened, write_atomically, write_to_stream
from ._integrity import DIGEST, HEX64, SIGNATURE, array_sha256, as_key, check_integrity, integrity_members
from ._mlp import MLPScratchClassifier, MLPScratchRegressor
from ._npz_container import (MAX_NPY_HEADER, check_member_size, hash_members, npz_writer, read_array, read_checked,
                             zip_members)
from ._version import __version__

FORMAT, FORMAT_VERSION = "skscratch.npz", 2
READABLE_VERSIONS = (1, 2)
METADATA = "skscratch_metadata"
ESTIMATORS = {cls.__name__: cls for cls in (MLPScratchClassifier, MLPScratchRegressor)}
# fitted attributes kept in the JSON (the arrays are named apart)
FITTED = ("n_features_in_", "n_iter_", "t_", "n_outputs_", "n_layers_", "out_activation_", "loss_",
          "best_loss_", "best_validation_score_", "loss_curve_", "validation_scores_",
          "_history", "_initial_loss", "_n_steps", "_no_improvement_count")
ARRAY_DTYPES = {"float32", "float64"}

# Limits of what load reads. A network of H hidden layers has 2 (H + 1)
# weight arrays and at most 6 more members: within _npz_container.MAX_MEMBERS.
MAX_LAYERS = 4_000  # hidden layers
MAX_METADATA_BYTES = 32 * 2**20  # a million epochs of history fit in this
MAX_JSON_DEPTH = 16  # the deepest legitimate metadata nests 8 levels
MAX_CLASS_NAME = 256  # width of a "U" dtype of classes, when no class name is longer

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlevel = 3


# ----------------------------------------------------------------------
# Values to JSON: plain JSON where it is exact, tagged objects where it is
# not (tuples, non-finite floats, dicts with non-string keys...). Reading
# them back is the rules' job (below), one declared type per field.


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


# ----------------------------------------------------------------------
# save


def save(model, file, *, key=None):
    """Save a fitted skscratch estimator to one ``.npz`` file, safely.

    The file holds the weights as plain arrays (``coefs_0``, ``intercepts_0``,
    ...), the optimizer's state (so that ``partial_fit`` resumes exactly where
    it stopped), a JSON entry ``skscratch_metadata`` with the constructor
    parameters, the classes, the feature names, the skscratch and format
    versions and a sha256 of every array, and a ``skscratch_digest``: a
    sha256 over every other member, metadata included. The members are
    stored ``.npy`` files, as :func:`numpy.savez` writes them.

    Given a path, it writes a temporary file in the target's directory and
    renames it, so an interrupted save never leaves half a file. The file
    gets the mode a file created by ``open(path, "wb")`` gets: the existing
    file's mode if there is one, else ``0o666`` less the umask. A symbolic
    link is followed, as ``open(path, "wb")`` follows it on POSIX and
    Windows: its target is replaced, atomically and in the target's own
    directory, and the link stays a link.

    Parameters
    ----------
    model : MLPScratchClassifier or MLPScratchRegressor
        A fitted estimator. Parameters that are code or objects (a callable
        ``scoring``) cannot be stored and raise a ValueError.
    file : str, bytes, path-like or binary file object
        Where to write. A path is used as given: no suffix is added
        (:func:`numpy.savez` would add ``.npz``). A file object opened for
        binary writing is written at its position, directly (not
        atomically); a stream that cannot seek is written through a
        temporary file, since :func:`load` needs no data descriptors.
    key : bytes or str, optional
        A secret to sign the file with: an HMAC-SHA256 over every member's
        name and bytes goes into a ``skscratch_signature`` member, which
        ``load(file, key=key)`` checks. A str is encoded as UTF-8. Use 32
        random bytes or more (``secrets.token_bytes(32)``).

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

    Signed, for files that pass through hands you do not trust:

    >>> skscratch.save(clf, path, key=b"a secret of 32 bytes or more....")
    >>> skscratch.load(path, key=b"a secret of 32 bytes or more....").n_layers_
    3
    """
    key = as_key(key)
    arrays = _model_arrays(model)

    def write(f):
        _write_npz(f, arrays, key)

    if hasattr(file, "write"):
        write_to_stream(file, write)
    else:
        write_atomically(file, write)


def _model_arrays(model):
    """Every array of the file, the metadata (JSON as uint8) last."""
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
        "arrays": {name: {"dtype": a.dtype.name, "shape": list(a.shape), "sha256": array_sha256(a)}
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
    return arrays


def _write_npz(file, arrays, key):
    """Write ``arrays`` as numpy.savez does (stored .npy members), then the digest and the signature."""
    with npz_writer(file) as add:
        member_hashes = {name: add(name, array) for name, array in arrays.items()}
        for name, text in integrity_members(member_hashes, key).items():
            add(name, text)


# ----------------------------------------------------------------------
# load


def load(file, *, key=None):
    """Load an estimator saved by :func:`save`, refusing anything not exactly that.

    Nothing in the file is executed, nothing is decompressed, and nothing is
    read before its declared size has been checked against the file and
    against what the metadata and the network's layer sizes imply. The
    metadata is validated field by field (types, ranges, consistency), every
    array must match its dtype, shape and sha256, and the digest must match
    the whole file, metadata included. Anything else (a corrupt, truncated,
    tampered or crafted file, a zip or decompression bomb) raises a
    ValueError that says what is wrong, in well under a second for a small
    file, with memory bounded by the file's size.

    Parameters
    ----------
    file : str, bytes, path-like, int or binary file object
        A path; a file descriptor; or a file object opened for binary
        reading that can seek. The model is read from the current position
        of a descriptor or file object to its end, and the position is
        restored afterwards; neither is closed. Anything that is not a
        regular file (a FIFO, a device, a directory) is refused without
        being read, so ``load`` never blocks on it.
    key : bytes or str, optional
        The key the file was signed with (see :func:`save`). With a key, a
        file without a signature, or whose signature does not match, is
        refused: it was altered after signing, or signed with another key.
        Without a key, a signed file loads like any other (its digest is
        checked, its signature is not).

    Returns
    -------
    model : MLPScratchClassifier or MLPScratchRegressor

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    ValueError
        For any file that is not a valid skscratch model.

    Notes
    -----
    The limits a file must keep to: at most :data:`MAX_MEMBERS` (10,000)
    members and :data:`MAX_LAYERS` (4,000) hidden layers, metadata of at
    most :data:`MAX_METADATA_BYTES` (32 MiB) nested at most
    :data:`MAX_JSON_DEPTH` (16) levels deep, ``.npy`` headers of at most
    :data:`MAX_NPY_HEADER` (4,096) bytes, members stored (not compressed).
    Every file :func:`save` writes keeps to them. The memory a load takes is
    about twice the arrays' size, whatever the file claims.

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
    key = as_key(key)
    with opened(file) as source:
        try:
            return _load(source, key)
        except _REFUSALS as exc:
            raise ValueError(f"{source.name} is not a readable skscratch model file: {exc}") from exc
        except _DEFECTS as exc:  # none is known to come out: the fuzz counts them as failures
            raise ValueError(f"{source.name} is not a readable skscratch model file: malformed file "
                             f"({type(exc).__name__}: {exc})") from exc


# what zipfile and the checks raise for a bad file; and what would be a defect of this module
_REFUSALS = (ValueError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError)
_DEFECTS = (struct.error, RecursionError, KeyError, TypeError, IndexError, AttributeError, OverflowError)


def _load(source, key):
    """The steps of load, in an order that reads no member before its declared size is checked.

    1. the zip's declared sizes against the file (nothing of a member read);
    2. the metadata (within MAX_METADATA_BYTES), validated, and every
       member's declared size against the dtype and shape it implies;
    3. every member hashed, in chunks; the signature (given a key) and the
       digest checked;
    4. each array's .npy header checked, then its data read and checked.

    With a key, a file that fails step 2 (its metadata unreadable or
    invalid) has its signature checked first, so that a signed file altered
    into nonsense is reported as altered.
    """
    members = zip_members(source)
    try:
        metadata, metadata_hash = _read_metadata(source, members)
        plan = _check_metadata(metadata, version=2 if DIGEST in members else 1)
        _check_declared_sizes(members, plan)
    except ValueError:
        if key is not None:
            check_integrity(source, members, hash_members(source, members), key)
        raise
    member_hashes = hash_members(source, members)
    if member_hashes[METADATA] != metadata_hash:
        raise ValueError(f"member {METADATA} changed while it was read")
    check_integrity(source, members, member_hashes, key)
    return _rebuild(plan, _read_arrays(source, members, member_hashes, plan))




# ----------------------------------------------------------------------
# load: the members


def _check_declared_sizes(members, plan):
    """Refuse members the metadata does not list or lacks, and declared sizes that do not fit it."""
    expected = set(plan.arrays) | {METADATA} | ({DIGEST, SIGNATURE} & set(members))
    if set(members) - expected:
        raise ValueError(f"it holds arrays its metadata does not list: {sorted(set(members) - expected)}")
    if set(plan.arrays) - set(members):
        raise ValueError(f"it lacks arrays its metadata lists: {sorted(set(plan.arrays) - set(members))}")
    for name, (dtype, shape, _) in plan.arrays.items():
        check_member_size(members[name], dtype, shape)
    for name in {DIGEST, SIGNATURE} & set(members):
        check_member_size(members[name], np.uint8, (64,))


def _read_metadata(source, members):
    """(the metadata member parsed as strict JSON, the sha256 of the member's bytes)."""
    member = members.get(METADATA)
    if member is None:
        raise ValueError(f"it has no {METADATA} entry")
    if member.size > MAX_METADATA_BYTES + MAX_NPY_HEADER:
        raise ValueError(f"its metadata declares {member.size} bytes, more than the {MAX_METADATA_BYTES} "
                         "allowed")
    text, member_hash = read_array(source, member, np.uint8, None)
    return _parse_json(memoryview(text)), member_hash


def _read_arrays(source, members, member_hashes, plan):
    """Every array the metadata lists, each checked against its dtype, shape and sha256."""
    arrays = {}
    for name, (dtype, shape, digest) in plan.arrays.items():
        array = read_checked(source, members[name], member_hashes[name], dtype, shape)
        if array_sha256(array) != digest:
            raise ValueError(f"array {name} does not match its sha256: the file is damaged or was altered")
        arrays[name] = array
    return arrays


# ----------------------------------------------------------------------
# load: the metadata, parsed and validated like any input


def _parse_json(data):
    """Strict JSON from UTF-8 bytes, refusing what save never writes.

    No NaN or infinities, numbers within int64 (uint64 for class labels) or
    finite float64, no repeated keys, at most MAX_JSON_DEPTH levels deep.
    """

    def refuse_constant(name):
        raise ValueError(f"{name} is not a JSON number")

    def finite_float(text):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"the number {text[:30]} is out of float64's range")
        return value

    def integer(text):  # int64, or uint64 for class labels
        if len(text) > 20 or not -(2**63) <= int(text) < 2**64:
            raise ValueError(f"the integer {text[:30]} is out of int64's range")
        return int(text)

    def unique_keys(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"an object repeats a key, in {_REPR.repr(keys)}")
        return dict(pairs)

    try:
        value = json.loads(str(data, "utf-8"), object_pairs_hook=unique_keys, parse_constant=refuse_constant,
                           parse_float=finite_float, parse_int=integer)
    except RecursionError:
        raise ValueError(f"its metadata is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise ValueError(f"its metadata is not valid JSON: {exc}") from None
    _check_depth(value)
    return value


def _check_depth(value):
    """Refuse JSON nested deeper than MAX_JSON_DEPTH, walking it without recursion."""
    stack = [iter([value])]
    while stack:
        for child in stack[-1]:
            if isinstance(child, (list, dict)):
                if len(stack) > MAX_JSON_DEPTH:
                    raise ValueError(f"its metadata is nested deeper than {MAX_JSON_DEPTH} levels")
                stack.append(iter(child.values() if isinstance(child, dict) else child))
                break
        else:
            stack.pop()


class _Mismatch(Exception):
    """A value does not have the shape a rule expects (the rule says what it wanted)."""


class _Rule:
    """The declared type of one field: what it must be (for messages), and how to decode it.

    ``decode(value, where)`` returns the Python value, raises _Mismatch if
    ``value`` is not of the rule's kind at all, and a ValueError naming
    ``where`` for a part that is wrong.
    """

    def __init__(self, what, decode):
        self.what, self.decode = what, decode

    def __call__(self, value, where):
        try:
            return self.decode(value, where)
        except _Mismatch:
            raise ValueError(f"{where} must be {self.what}, got {_REPR.repr(value)}") from None


def _check(condition):
    if not condition:
        raise _Mismatch


def _integer(low=0, high=2**63 - 1):
    def decode(value, where):
        _check(type(value) is int and low <= value <= high)
        return value

    return _Rule(f"an integer in [{low}, {high}]", decode)


def _number(low=-math.inf, high=math.inf, finite=True):
    """A real number (int or float, not bool); with finite=False also nan and +-inf, tagged as save writes them."""

    def decode(value, where):
        if not finite and isinstance(value, dict) and list(value) == ["float"]:
            _check(value["float"] in ("nan", "inf", "-inf"))
            return float(value["float"])
        _check(type(value) in (int, float) and low <= value <= high)
        return value

    bounds = "" if (low, high) == (-math.inf, math.inf) else f" in [{low}, {high}]"
    return _Rule(f"a {'finite ' if finite else ''}number{bounds}", decode)


def _string(options=None, max_length=10_000):
    def decode(value, where):
        _check(type(value) is str and len(value) <= max_length and (options is None or value in options))
        return value

    return _Rule(f"one of {sorted(options)}" if options else "a string", decode)


def _boolean():
    def decode(value, where):
        _check(type(value) is bool)
        return value

    return _Rule("true or false", decode)


def _none():
    def decode(value, where):
        _check(value is None)
        return None

    return _Rule("null", decode)


def _either(*rules):
    """The first rule whose kind the value has decides."""

    def decode(value, where):
        for rule in rules:
            with contextlib.suppress(_Mismatch):
                return rule.decode(value, where)
        raise _Mismatch

    return _Rule(" or ".join(rule.what for rule in rules), decode)


def _tagged(value, tag):
    """The content of a tagged object ``{tag: content}`` as save writes it, or _Mismatch."""
    _check(isinstance(value, dict) and list(value) == [tag])
    return value[tag]


def _sequence(item, *, tuple_=False, max_length=None):
    """A JSON list (or, with tuple_=True, a tuple as save tags it) of items of one rule."""

    def decode(value, where):
        content = _tagged(value, "tuple") if tuple_ else value
        _check(type(content) is list and (max_length is None or len(content) <= max_length))
        items = [item(v, f"{where}[{i}]") for i, v in enumerate(content)]
        return tuple(items) if tuple_ else items

    kind = "a tuple" if tuple_ else "a list"
    return _Rule(f"{kind} of {item.what}" + (f" (at most {max_length})" if max_length else ""), decode)


def _mapping(key, value):
    """A dict as save tags it, ``{"dict": [[key, value], ...]}``, with distinct keys.

    ``value`` is the values' rule, or a dict of one rule per key.
    """

    def decode(tagged, where):
        pairs = _tagged(tagged, "dict")
        _check(type(pairs) is list and all(type(p) is list and len(p) == 2 for p in pairs))
        decoded = {}
        for i, (k, v) in enumerate(pairs):
            k = key(k, f"{where} key {i}")
            if k in decoded:
                raise ValueError(f"{where} has the key {k!r} twice")
            decoded[k] = (value[k] if isinstance(value, dict) else value)(v, f"{where}[{k!r}]")
        return decoded

    what = "values of their own types" if isinstance(value, dict) else value.what
    return _Rule(f"a dict of {key.what} to {what}", decode)


def _check_keys(found, where, expected, optional=()):
    """Refuse unknown keys, and missing ones but the optional."""
    unknown, missing = set(found) - set(expected), set(expected) - set(found) - set(optional)
    if unknown or missing:
        problems = [f"unknown keys {sorted(unknown)}"] * bool(unknown) + [f"no {sorted(missing)}"] * bool(missing)
        raise ValueError(f"{where} has {' and '.join(problems)}")


def _record(fields, optional=()):
    """A JSON object with exactly these keys (``optional`` ones may be missing), each of its own rule."""

    def decode(value, where):
        _check(type(value) is dict)
        _check_keys(value, where, fields, optional)
        return {name: fields[name](value[name], f"{where}.{name}") for name in fields if name in value}

    return _Rule("an object", decode)


def _random_state():
    """A numpy RandomState, from the MT19937 state save writes: exact, so training resumes exactly."""

    def decode(value, where):
        content = _tagged(value, "random_state")
        _check(type(content) is list and len(content) == 5)
        name, keys, position, has_gauss, cached = content
        _string({"MT19937"})(name, f"{where} generator")
        keys = _sequence(_integer(0, 2**32 - 1))(keys, f"{where} key")
        if len(keys) != 624:
            raise ValueError(f"{where} has {len(keys)} MT19937 keys, not 624")
        random_state = np.random.RandomState()
        random_state.set_state((name, np.array(keys, dtype=np.uint32), _integer(0, 624)(position, f"{where} pos"),
                                _integer(0, 1)(has_gauss, f"{where} has_gauss"), _number()(cached, f"{where} gauss")))
        return random_state

    return _Rule("a random state", decode)


def _dtype_type():
    def decode(value, where):
        content = _tagged(value, "dtype")
        _check(content in ARRAY_DTYPES)
        return getattr(np, content)

    return _Rule("numpy.float32 or numpy.float64", decode)


_SIZE = _integer(1)
_REAL = _number()
_UNIT = _number(0, 1)
_RECORD = _number(finite=False)  # a loss or a score as training recorded it: nan and inf allowed
_LABEL = _either(_string(), _integer(-(2**63), 2**64 - 1), _REAL, _boolean())

# The type of every constructor parameter; their ranges and options are the
# estimator's own (_validate_params), checked once the values are set.
PARAM_RULES = {
    "hidden_layer_sizes": _either(_SIZE, _sequence(_SIZE, tuple_=True, max_length=MAX_LAYERS),
                                  _sequence(_SIZE, max_length=MAX_LAYERS)),
    "activation": _string(), "solver": _string(), "learning_rate": _string(), "loss": _string(),
    "alpha": _REAL, "learning_rate_init": _REAL, "power_t": _REAL, "tol": _REAL, "momentum": _REAL,
    "validation_fraction": _REAL, "beta_1": _REAL, "beta_2": _REAL, "epsilon": _REAL,
    "batch_size": _either(_string(), _integer()),
    "max_iter": _integer(), "max_fun": _integer(), "warmup_iter": _integer(),
    "n_iter_no_change": _either(_integer(), _number(finite=False)),
    "shuffle": _boolean(), "warm_start": _boolean(), "nesterovs_momentum": _boolean(),
    "early_stopping": _boolean(), "verbose": _either(_boolean(), _integer()),
    "random_state": _either(_none(), _integer(), _random_state()),
    "dtype": _either(_none(), _string(), _dtype_type()),
    "max_grad_norm": _either(_none(), _REAL),
    "dropout": _either(_REAL, _sequence(_REAL, max_length=MAX_LAYERS),
                       _sequence(_REAL, tuple_=True, max_length=MAX_LAYERS)),
    "scoring": _either(_none(), _string()),
    "class_weight": _either(_none(), _string(), _mapping(_LABEL, _number(0))),
}

_HISTORY_FIELDS = {"epoch": _integer(1), "train_loss": _RECORD, "val_loss": _RECORD, "val_score": _RECORD,
                   "learning_rate": _RECORD, "elapsed_s": _RECORD}
_HISTORY_ROW = _mapping(_string(set(_HISTORY_FIELDS)), _HISTORY_FIELDS)

# The type of every fitted attribute in the JSON.
FITTED_RULES = {
    "n_features_in_": _SIZE, "n_iter_": _integer(), "t_": _integer(), "n_outputs_": _SIZE,
    "n_layers_": _integer(2, MAX_LAYERS + 2),
    "out_activation_": _string({"softmax", "logistic", "identity", "exp"}),
    "loss_": _either(_none(), _RECORD), "best_loss_": _either(_none(), _RECORD),
    "best_validation_score_": _either(_none(), _RECORD), "_initial_loss": _either(_none(), _RECORD),
    "loss_curve_": _sequence(_RECORD), "validation_scores_": _either(_none(), _sequence(_RECORD)),
    "_history": _sequence(_HISTORY_ROW),
    "_n_steps": _integer(), "_no_improvement_count": _integer(),
    "feature_names_in_": _sequence(_string()),
}

# The type and range of every field of an optimizer's state (its arrays are members of their own).
OPTIMIZER_RULES = {
    "learning_rate_init": _number(0), "lr_schedule": _string({"constant", "invscaling", "adaptive", "cosine"}),
    "power_t": _number(0), "max_iter": _SIZE, "warmup_iter": _integer(), "epoch": _integer(),
    "_adaptive_rate": _number(0), "rate": _number(0), "momentum": _UNIT, "nesterov": _boolean(),
    "beta_1": _UNIT, "beta_2": _UNIT, "epsilon": _number(0), "learning_rate": _number(0), "t": _integer(),
    "weight_decay": _number(0), "decay": _sequence(_integer(), max_length=2),
}

_Plan = namedtuple("_Plan", "estimator params fitted classes optimizer arrays")
_ARRAY_SPEC = _record({"dtype": _string(ARRAY_DTYPES), "shape": _sequence(_integer(), max_length=2),
                       "sha256": _string(max_length=64)})
_CLASSES = _record({"values": _sequence(_LABEL), "dtype": _string(max_length=20),
                    "y_type": _string({"binary", "multiclass", "multilabel-indicator"}), "sparse_input": _boolean()})
# dtypes classes_ may have: numbers and strings (little- or big-endian), or "object" holding str
_CLASS_DTYPE = re.compile(r"[<>|=]?(b1|[iu][1248]|f[248]|U[1-9][0-9]{0,5})\Z")


def _check_metadata(metadata, version):
    """Validate the metadata; return what to build, and the arrays to read with their dtype, shape and sha256."""
    Estimator = _check_header(metadata, version)
    model = _check_params(metadata["params"], Estimator)
    fitted = _record(FITTED_RULES, optional=["feature_names_in_"])(metadata["fitted"], "fitted")
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
    arrays = _check_array_list(metadata["arrays"], units, optimizer_arrays)
    return _Plan(Estimator, model.get_params(deep=False), fitted, classes, optimizer, arrays)


def _check_header(metadata, version):
    """The estimator class, once the format, its version and the top-level keys are right."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get("arrays"), dict):
        raise ValueError("its metadata lists no arrays")
    if metadata.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file (format {_REPR.repr(metadata.get('format'))})")
    found = metadata.get("format_version")
    if type(found) is not int or found not in READABLE_VERSIONS:
        raise ValueError(f"unknown format version {_REPR.repr(found)}; this skscratch ({__version__}) "
                         f"reads versions {', '.join(map(str, READABLE_VERSIONS))}")
    if found != version:
        raise ValueError(f"its metadata says format version {found}, its layout is version {version} "
                         f"(version 2 has a {DIGEST}, version 1 none)")
    Estimator = ESTIMATORS.get(metadata.get("estimator")) if isinstance(metadata.get("estimator"), str) else None
    if Estimator is None:
        raise ValueError(f"unknown estimator {_REPR.repr(metadata.get('estimator'))}")
    keys = {"format", "format_version", "skscratch_version", "estimator", "params", "fitted", "optimizer", "arrays"}
    _check_keys(metadata, "its metadata", keys | ({"classes"} if Estimator is MLPScratchClassifier else set()))
    _string(max_length=100)(metadata["skscratch_version"], "skscratch_version")
    return Estimator


def _check_params(value, Estimator):
    """An unfitted estimator with the saved parameters, each of its declared type and valid for it."""
    params = _record({name: PARAM_RULES[name] for name in Estimator._get_param_names()})(value, "params")
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
        raise ValueError(f"classes {_REPR.repr(values)} do not fit dtype {spec['dtype']}")
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
        raise ValueError(f"optimizer must be null or an object, got {_REPR.repr(value)}")
    kind = _string(set(_optimizers.OPTIMIZERS))(value.get("kind"), "optimizer.kind")
    template = _optimizers.to_state(_optimizers.OPTIMIZERS[kind](np.zeros(1)))
    array_fields = [k for k, v in template.items() if isinstance(v, np.ndarray)]
    fields = {k: OPTIMIZER_RULES[k] for k in template if k not in array_fields and k != "kind"}
    state = _record({"kind": _string({kind}), **fields})(value, "optimizer")
    n_weights = _n_parameters(units)[0]
    if "decay" in state and state["decay"] != [0, n_weights]:
        raise ValueError(f"optimizer.decay must be [0, {n_weights}] (the weights), got {state['decay']}")
    return state, array_fields


def _check_array_list(listed, units, optimizer_arrays):
    """{name: (dtype, shape, sha256)} of every array, once the metadata's list matches the network."""
    n_parameters = _n_parameters(units)[1]
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
        shapes[f"coefs_{i}"], shapes[f"intercepts_{i}"] = (fan_in, fan_out), (fan_out,)
    shapes.update({f"optimizer_{field}": (n_parameters,) for field in optimizer_arrays})
    if "best_params" in listed:  # kept by early stopping
        shapes["best_params"] = (n_parameters,)
    if set(listed) != set(shapes):
        raise ValueError(f"its metadata lists arrays {sorted(set(listed) - set(shapes))[:5]} the network does "
                         f"not have, or lacks {sorted(set(shapes) - set(listed))[:5]}")
    dtype = _ARRAY_SPEC(listed["coefs_0"], "arrays.coefs_0")["dtype"]
    arrays = {}
    for name, shape in shapes.items():
        spec = _ARRAY_SPEC(listed[name], f"arrays.{name}")
        if spec["dtype"] != dtype or tuple(spec["shape"]) != shape:
            raise ValueError(f"array {name} should be {dtype} of shape {shape} to fit the network, the "
                             f"metadata lists {spec['dtype']} {tuple(spec['shape'])}")
        if not HEX64.match(spec["sha256"]):
            raise ValueError(f"arrays.{name}.sha256 is not 64 hex digits")
        arrays[name] = (np.dtype(dtype), shape, spec["sha256"])
    return arrays


# ----------------------------------------------------------------------
# load: the estimator


def _finite(array, name):
    """A writeable, native-endian copy of ``array``, which must be finite."""
    array = np.array(array, dtype=array.dtype.newbyteorder("="))
    if not np.isfinite(array).all():
        raise ValueError(f"array {name} has non-finite values")
    return array


def _rebuild(plan, arrays):
    """The estimator the checked metadata and arrays describe."""
    model = plan.estimator(**plan.params)
    for key in FITTED:
        setattr(model, key, plan.fitted[key])
    if "feature_names_in_" in plan.fitted:
        model.feature_names_in_ = np.asarray(plan.fitted["feature_names_in_"], dtype=object)
    n_layers = model.n_layers_ - 1
    model.coefs_ = [_finite(arrays[f"coefs_{i}"], f"coefs_{i}") for i in range(n_layers)]
    model.intercepts_ = [_finite(arrays[f"intercepts_{i}"], f"intercepts_{i}") for i in range(n_layers)]
    model._get_flat_params()  # one vector behind the layers' views, as after fit
    model._optimizer = None
    if plan.optimizer is not None:
        state = dict(plan.optimizer)
        for name in arrays:
            if name.startswith("optimizer_"):
                state[name[len("optimizer_"):]] = _finite(arrays[name], name)
        if "v" in state and (state["v"] < 0).any():
            raise ValueError("array optimizer_v, Adam's second moments, has negative values")
        model._optimizer = _optimizers.from_state(state)
    model._best_params = _finite(arrays["best_params"], "best_params") if "best_params" in arrays else None
    if plan.classes is not None:
        binarizer = LabelBinarizer()
        binarizer.classes_, binarizer.y_type_, binarizer.sparse_input_ = plan.classes
        model._label_binarizer, model.classes_ = binarizer, plan.classes[0]
    return model
