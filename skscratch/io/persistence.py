"""A safe file format for fitted models: one ``.npz`` of plain arrays and JSON.

Pickles (and joblib files) can run code when they load. This format cannot:
its arrays are plain ``.npy`` members, its metadata is JSON, and :func:`load`
rebuilds the estimator from a fixed list of classes: a skscratch network,
alone or after one of scikit-learn's plain scalers in a Pipeline. :func:`load`
treats the file as hostile input, whoever wrote it:

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
if signed, ``skscratch_signature`` (64 hex digits). Version 3, written for
a Pipeline of a scaler and a network, adds the scaler: a ``pipeline`` entry
in the metadata and its arrays as ``scaler_<attribute>`` members, covered by
the digest and the signature as every member is. A bare network's file stays
version 2, which older skscratch reads. Version 1 (no digest, no signature)
still loads, with every other check. Version 4 holds a TabularMLPClassifier
or TabularMLPRegressor (``io.tabular_format``): its flat parameter vector
``network_params``, its preprocessor's ``preprocessor_center_`` and
``preprocessor_factor_`` (and a regressor's ``y_mean``, ``y_std``,
``y_min``, ``y_max``), the rest in the metadata.

Where the parts live: this module holds :func:`save` and :func:`load` and
the order of their steps; ``io.npz_container`` reads and writes the zip of
``.npy`` members, checking every declared size; ``io.metadata`` writes the
metadata and holds its schema; ``io.strict_json`` encodes, parses and decodes
the JSON; ``io.integrity`` makes and checks the digest and the signature;
``io.pipeline_format`` stores and checks a pipeline's scaler;
``io.tabular_format`` stores and checks a tabular MLP and its preprocessing;
``io.file_access`` opens paths, descriptors and file objects, and writes
atomically.
"""

from __future__ import annotations

import os
import struct
import zipfile
from typing import Any, BinaryIO

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.validation import check_is_fitted

from .._engine import array_api as seam
from ..nn import optimizers as _optimizers
from .file_access import opened, write_atomically, write_to_stream
from .integrity import DIGEST, SIGNATURE, array_sha256, as_key, check_integrity, integrity_members
from .metadata import ESTIMATORS, FITTED, check_metadata, metadata_json
from .._estimator.mlp import MLPScratchClassifier, MLPScratchRegressor
from .npz_container import (MAX_NPY_HEADER, check_member_size, hash_members, npz_writer, read_array, read_checked,
                             zip_members)
from .pipeline_format import PREFIX as SCALER_PREFIX
from .pipeline_format import rebuild_pipeline, split_pipeline
from .strict_json import parse_json
from .tabular_format import (TabularPlan, check_tabular_metadata, is_tabular, is_tabular_metadata, rebuild_tabular,
                             refuse_tabular_pipeline, tabular_arrays)

METADATA = "skscratch_metadata"
MAX_METADATA_BYTES = 32 * 2**20  # a million epochs of history fit in this


# ----------------------------------------------------------------------
# save


def save(model: MLPScratchClassifier | MLPScratchRegressor | Pipeline,
         file: str | bytes | os.PathLike[str] | os.PathLike[bytes] | BinaryIO, *,
         key: bytes | str | None = None) -> None:
    """Save a fitted skscratch estimator, or a Pipeline of a scaler and one, to one ``.npz`` file, safely.

    The file holds the weights as plain arrays (``coefs_0``, ``intercepts_0``,
    ...), the optimizer's state (so that ``partial_fit`` resumes exactly where
    it stopped), a JSON entry ``skscratch_metadata`` with the constructor
    parameters, the classes, the feature names, the skscratch and format
    versions and a sha256 of every array, and a ``skscratch_digest``: a
    sha256 over every other member, metadata included. The members are
    stored ``.npy`` files, as :func:`numpy.savez` writes them.

    A Pipeline keeps its input scaling with the network, so that the loaded
    model takes the same raw input: ``Pipeline([(name, scaler), (name,
    network)])``, where the scaler is one of scikit-learn's plain scalers,
    fitted: ``StandardScaler``, ``MinMaxScaler`` or ``MaxAbsScaler`` (its
    parameters in the metadata, its arrays as ``scaler_mean_``,
    ``scaler_scale_``, ...). Nothing else is stored, since it would need
    code to load: another transformer (``FunctionTransformer``, ``PCA``,
    ...), a subclass, ``"passthrough"``, a nested Pipeline, more than one
    scaler, ``memory=`` or ``transform_input=``, a scaler with
    ``set_output(transform="pandas")``; each raises a TypeError or
    ValueError naming the step and what is accepted. For those, use
    joblib or skops.

    Given a path, it writes a temporary file in the target's directory and
    renames it, so an interrupted save never leaves half a file. It replaces
    only what ``open(path, "wb")`` would write: an existing file that
    ``open`` could not open for writing (made read-only with ``chmod 444``,
    say) is refused with the PermissionError ``open`` gives, before
    anything is written and again just before the rename. The file gets
    the mode a file created by ``open(path, "wb")`` gets: the existing
    file's mode if there is one, else ``0o666`` less the umask. A symbolic
    link is followed, as ``open(path, "wb")`` follows it on POSIX and
    Windows: its target is replaced, atomically and in the target's own
    directory, and the link stays a link.

    Parameters
    ----------
    model : MLPScratchClassifier, MLPScratchRegressor, TabularMLPClassifier, TabularMLPRegressor or Pipeline
        A fitted estimator, or a fitted Pipeline of a scaler and an
        MLPScratch one (see above). Parameters that are code or objects (a
        callable ``scoring``) cannot be stored and raise a ValueError. A
        tabular MLP is stored with its preprocessing (format version 4);
        a Pipeline holding one is refused (it preprocesses the table
        itself), and so is a category level that is not a str, int, float
        or bool.
    file : str, bytes, path-like or binary file object
        Where to write. A path is used as given: no suffix is added
        (:func:`numpy.savez` would add ``.npz``). A file object opened for
        binary writing is written at its position, directly (not
        atomically); a stream that cannot seek is written through a
        temporary file, since :func:`load` needs no data descriptors.
    key : bytes or str, optional
        A secret to sign the file with: an HMAC-SHA256 over every member's
        name and bytes goes into a ``skscratch_signature`` member, which
        ``load(file, key=key)`` checks. Bytes, or a bytearray or memoryview
        of them, are the key as they are; a str is encoded as UTF-8, so
        ``"clé"`` and ``"clé".encode()`` sign alike. Use 32 random bytes or
        more (``secrets.token_bytes(32)``).

    Raises
    ------
    TypeError
        ``model`` is not one that can be saved; a ``key`` that is not
        bytes, a bytearray, a memoryview, a str or None.
    ValueError
        A parameter that cannot be stored; an empty ``key``, or a str
        ``key`` that UTF-8 cannot encode (a lone surrogate, as
        ``os.fsdecode`` makes of bytes that are not UTF-8: pass such a key
        as bytes). The key itself is never shown in the message.
    PermissionError
        ``file`` is an existing file that ``open(file, "wb")`` could not
        open: made read-only, say (root may write such a file, so root may
        replace it). It is refused as ``open`` refuses it, with the same
        error, though the rename that replaces the file only asks its
        folder; the file is left as it was.
    OSError
        ``file`` cannot be written otherwise: its folder is missing or not
        writable, it is a folder, a loop of symbolic links, ...

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

    A Pipeline of a scaler and the network loads as one, with the same
    predictions to the bit:

    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> pipe = Pipeline([("scale", StandardScaler()),
    ...                  ("mlp", skscratch.MLPScratchClassifier(max_iter=50, random_state=0))]).fit(X, y)
    >>> skscratch.save(pipe, path)
    >>> loaded = skscratch.load(path)
    >>> loaded
    Pipeline(steps=[('scale', StandardScaler()),
                    ('mlp', MLPScratchClassifier(max_iter=50, random_state=0))])
    >>> bool((loaded.predict_proba(X) == pipe.predict_proba(X)).all())
    True
    >>> sorted(name for name in np.load(path).files if name.startswith("scaler_"))
    ['scaler_mean_', 'scaler_scale_', 'scaler_var_']
    """
    key = as_key(key, "skscratch.save")
    arrays = _model_arrays(model)

    def write(f):
        _write_npz(f, arrays, key)

    if hasattr(file, "write"):
        write_to_stream(file, write)
    else:
        write_atomically(file, write)


def _on_host(model):
    """The model, or a copy of it on the host if its network lives in another array library."""
    coefs = getattr(model, "coefs_", None)
    if coefs and not isinstance(coefs[0], np.ndarray) and hasattr(model, "__sklearn_array_api_convert__"):
        return model.__sklearn_array_api_convert__(seam.to_host)
    return model


def to_numpy(estimator):
    """A copy of a fitted estimator whose arrays are all NumPy arrays on the host.

    A model fitted on another array library (PyTorch or CuPy on a GPU, under
    ``sklearn.config_context(array_api_dispatch=True)``) holds its weights
    and optimizer state there; its pickle (``joblib.dump``, ``skops``) then
    needs that library, and a GPU, to load. ``to_numpy(model)`` moves every
    array to NumPy first, so the file loads on any machine. It works on a
    ``Pipeline`` or a search holding the model too, through scikit-learn's
    own convention (so a fitted ``StandardScaler`` moves as well).
    :func:`save` and :func:`to_onnx` do it themselves. To move a model the
    other way, use scikit-learn's (>= 1.9)
    ``sklearn.utils._array_api.move_estimator_to(model, xp, device)``.

    Parameters
    ----------
    estimator : estimator
        Fitted, in any namespace.

    Returns
    -------
    estimator
        A copy, in NumPy, that shares no array or record with the original.
        ``partial_fit`` resumes from the same optimizer state.

    Examples
    --------
    >>> import joblib, tempfile, skscratch
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = skscratch.MLPScratchClassifier(max_iter=50, random_state=0).fit(X, y)
    >>> path = tempfile.mkdtemp() + "/model.joblib"
    >>> _ = joblib.dump(skscratch.to_numpy(clf), path)  # loads anywhere
    >>> bool((joblib.load(path).predict(X) == clf.predict(X)).all())
    True
    """
    return seam.convert_estimator(estimator, seam.to_host)


def _model_arrays(model):
    """Every array of the file, the metadata (JSON as uint8) last."""
    pipeline, scaler_arrays = None, {}
    if is_tabular(model):  # format version 4: io.tabular_format
        arrays, text = tabular_arrays(model)
        return {**arrays, METADATA: np.frombuffer(text, dtype=np.uint8)}
    if isinstance(model, Pipeline):
        refuse_tabular_pipeline(model)
        model, pipeline, scaler_arrays = split_pipeline(model, tuple(ESTIMATORS.values()))
    if type(model) not in ESTIMATORS.values():
        raise TypeError(f"skscratch.save saves skscratch estimators, and Pipelines of a scaler and one, not "
                        f"{type(model).__name__}.")
    check_is_fitted(model)
    if model._layers_fitted():  # fitted with one, whatever hidden_layer_sizes says now
        raise ValueError(
            f"Cannot save a network with a layer of your own, {model._layers_fitted()[0][1]!r}, in the safe "
            "format, which stores data, not code or objects. Save it with joblib, pickle or skops."
        )
    model = _on_host(model)
    arrays = {}
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        arrays[f"coefs_{i}"], arrays[f"intercepts_{i}"] = np.asarray(W), np.asarray(b)
    optimizer_state = None
    if getattr(model, "_optimizer", None) is not None:
        optimizer_state = _optimizers.to_state(model._optimizer)
        arrays.update({f"optimizer_{key}": value for key, value in optimizer_state.items()
                       if isinstance(value, np.ndarray)})
    if getattr(model, "_best_params", None) is not None:
        arrays["best_params"] = model._best_params
    arrays.update(scaler_arrays)
    arrays[METADATA] = np.frombuffer(metadata_json(model, optimizer_state, arrays, pipeline), dtype=np.uint8)
    return arrays


def _write_npz(file, arrays, key):
    """Write ``arrays`` as numpy.savez does (stored .npy members), then the digest and the signature."""
    with npz_writer(file) as add:
        member_hashes = {name: add(name, array) for name, array in arrays.items()}
        for name, text in integrity_members(member_hashes, key).items():
            add(name, text)


# ----------------------------------------------------------------------
# load


def load(file: str | bytes | os.PathLike[str] | os.PathLike[bytes] | int | BinaryIO, *,
         key: bytes | str | None = None) -> Any:  # which estimator, the file says: Any, as pickle.load
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
        The key the file was signed with (see :func:`save`): bytes, a
        bytearray or memoryview of them, or a str (encoded as UTF-8). With a
        key, a file without a signature, or whose signature does not match,
        is refused: it was altered after signing, or signed with another
        key. Without a key, a signed file loads like any other (its digest
        is checked, its signature is not).

    Returns
    -------
    model : MLPScratchClassifier, MLPScratchRegressor, TabularMLPClassifier, TabularMLPRegressor or Pipeline
        What was saved: a network, or a Pipeline of its scaler and it,
        whose predictions are those of the saved model, to the bit. The
        scaler is checked as the rest of the file: its class and
        parameters, each array's shape, dtype and finiteness, positive
        scales, derived attributes (``scale_`` and ``var_``...) in
        agreement, and ``n_features_in_`` that of the network.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    ValueError
        For any file that is not a valid skscratch model; an empty ``key``,
        or a str ``key`` that UTF-8 cannot encode (pass it as bytes).
    TypeError
        A ``key`` that is not bytes, a bytearray, a memoryview, a str or
        None.

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
    key = as_key(key, "skscratch.load")
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
        check = check_tabular_metadata if is_tabular_metadata(metadata) else check_metadata
        plan = check(metadata, layout=2 if DIGEST in members else 1)
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


def _read_metadata(source, members):
    """(the metadata member parsed as strict JSON, the sha256 of the member's bytes)."""
    member = members.get(METADATA)
    if member is None:
        raise ValueError(f"it has no {METADATA} entry")
    if member.size > MAX_METADATA_BYTES + MAX_NPY_HEADER:
        raise ValueError(f"its metadata declares {member.size} bytes, more than the {MAX_METADATA_BYTES} "
                         "allowed")
    text, member_hash = read_array(source, member, np.uint8, None)
    return parse_json(memoryview(text)), member_hash


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
# load: the estimator


def _finite(array, name):
    """A writeable, native-endian copy of ``array``, which must be finite."""
    array = np.array(array, dtype=array.dtype.newbyteorder("="))
    if not np.isfinite(array).all():
        raise ValueError(f"array {name} has non-finite values")
    return array


def _rebuild(plan, arrays):
    """The estimator the checked metadata and arrays describe."""
    if isinstance(plan, TabularPlan):  # its arrays are all finite
        return rebuild_tabular(plan, {name: _finite(array, name) for name, array in arrays.items()})
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
    if plan.pipeline is not None:
        scaler_arrays = {name: _finite(a, name) for name, a in arrays.items() if name.startswith(SCALER_PREFIX)}
        return rebuild_pipeline(plan.pipeline, scaler_arrays, model)
    return model
