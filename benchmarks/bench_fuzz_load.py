"""Fuzz skscratch.load with mutated model files: only a good load or a ValueError may come out.

Small saved models (a classifier with string labels and Adam's state, a
float32 regressor with SGD's state and early stopping's best weights, the
classifier in format version 1, and signed and loaded with its key, and
pipelines of format version 3: a StandardScaler before the classifier, a
MinMaxScaler before the regressor) are mutated one of eight ways, in equal
shares:

- ``truncate``: cut at a random byte;
- ``bit-flip``: flip 1 to 8 random bits;
- ``overwrite``: overwrite a run of 1 to 16 bytes with random or extreme bytes;
- ``zip-header``: set one field of a local header, a central directory entry
  or an end record to an extreme or random value;
- ``npy-header``: rewrite one member's ``.npy`` header (shape, dtype, order,
  version, length, garbage), then the digest, as an attacker would;
- ``metadata``: change, delete, add, swap or repeat fields of the JSON, or
  break its text (NaN, duplicate keys, bad UTF-8...), then rewrite every
  hash: the file is well formed, its content crafted;
- ``nested-json``: put JSON nested 10 to 100,000 levels deep in a field;
- ``bomb``: members that claim gigabytes (zip sizes, ``.npy`` shapes, network
  sizes in the metadata), a deflated member that inflates to 64 MB,
  overlapping members, a directory that claims 65,535 members.

A file must be refused with a ValueError, or load into a model whose
predictions equal the saved model's. A crafted file (``npy-header``,
``metadata``) may be a valid model of the fuzzer's own making: then it must
predict, and save and load again to the same predictions. A refusal whose
message reports an internal error (``malformed file (TypeError...``) counts
as a failure, and so does any load slower than 2 s.

Reports the files tried, the outcomes by kind, the median, 99th percentile
and slowest load (a load over 100 ms is timed three times and the fastest
kept: the machine is shared), the largest peak of memory traced
(tracemalloc) during one load, and the process's resident memory before
and after. Writes ``results/bench_fuzz_load.json`` and ``.md`` (``_quick`` with
``--quick``: 2,000 files). Exits 1 if any file failed.

Usage::

    python benchmarks/bench_fuzz_load.py [--quick] [--files N] [--seed S] [--out-dir DIR]
"""

import argparse
import copy
import io
import json
import os
import re
import resource
import struct
import sys
import tempfile
import time
import tracemalloc
import warnings
import zipfile
import zlib
from collections import Counter, namedtuple
from pathlib import Path

import numpy as np

from _forge import forge, json_member, npy_bytes, raw_zip, read_members, rehashed, zipped  # noqa: F401 (for the tests too)
from _machine import machine_info
from _report import DEFAULT_OUT_DIR, publish

KINDS = ("truncate", "bit-flip", "overwrite", "zip-header", "npy-header", "metadata", "nested-json", "bomb")
CRAFTED = {"npy-header", "metadata"}  # well-formed files of the fuzzer's making
TIME_LIMIT_S = 2.0
RETIME_S = 0.1  # a load slower than this is timed again (best of three)
KEY = b"fuzzing key, 32 bytes or more..."
BOMB_BYTES = 64 * 2**20

Original = namedtuple("Original", "name data members metadata X expected key")


# ----------------------------------------------------------------------
# The originals


def originals():
    """Saved models to mutate, with the predictions to expect of them."""
    from sklearn.datasets import load_iris

    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    import skscratch

    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classifier = skscratch.MLPScratchClassifier((6,), max_iter=3, random_state=0).fit(X, names)
        regressor = skscratch.MLPScratchRegressor(hidden_layer_sizes=(5,), solver="sgd", max_iter=3,
                                                  early_stopping=True, dtype="float32", random_state=0)
        regressor.fit(X, X[:, 0])
        scaled_classifier = Pipeline([("scale", StandardScaler()), ("mlp", skscratch.MLPScratchClassifier(
            (6,), max_iter=3, random_state=0))]).fit(X, names)
        scaled_regressor = Pipeline([("scale", MinMaxScaler((-1, 2))), ("mlp", skscratch.MLPScratchRegressor(
            hidden_layer_sizes=(5,), max_iter=3, dtype="float32", random_state=0))]).fit(X, X[:, 0])
    result = []
    for name, model, key in [("classifier", classifier, None), ("regressor", regressor, None),
                             ("signed", classifier, KEY), ("pipeline", scaled_classifier, None),
                             ("pipeline-minmax", scaled_regressor, None)]:
        buffer = io.BytesIO()
        skscratch.save(model, buffer, key=key)
        data = buffer.getvalue()
        members = read_members(data)
        metadata = json.loads(np.lib.format.read_array(io.BytesIO(members["skscratch_metadata"])).tobytes())
        result.append(Original(name, data, members, metadata, X, outputs(model, X), key))
    v1 = copy.deepcopy(result[0].metadata)
    v1["format_version"] = 1
    members = {k: v for k, v in result[0].members.items() if k != "skscratch_digest"}
    data = forge({**members, "skscratch_metadata": json_member(v1)}, digest=False)
    result.append(Original("version-1", data, read_members(data), v1, X, result[0].expected, None))
    return result


def outputs(model, X):
    """What a model predicts: the probabilities and labels of a classifier, a regressor's values."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if hasattr(model, "predict_proba"):
            return model.predict_proba(X), model.predict(X)
        return (model.predict(X),)


def same(a, b):
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


# ----------------------------------------------------------------------
# Mutations: each takes an original and a RandomState, and returns bytes


def extreme(n_bytes, rng, current=None):
    """An interesting value for an unsigned field of ``n_bytes``: 0, 1, the largest, a sign bit, near current."""
    top = 2 ** (8 * n_bytes) - 1
    choices = [0, 1, top, top // 2 + 1, top // 2, int(rng.randint(0, min(top, 2**31 - 1)))]
    if current is not None:
        choices += [(current + 1) & top, (current - 1) & top, (current * 1000) & top]
    return choices[rng.randint(len(choices))]


def truncate(original, rng):
    return original.data[: rng.randint(len(original.data))]


def bit_flip(original, rng):
    data = bytearray(original.data)
    for _ in range(rng.randint(1, 9)):
        data[rng.randint(len(data))] ^= 1 << rng.randint(8)
    return bytes(data)


def overwrite(original, rng):
    data = bytearray(original.data)
    start, length = rng.randint(len(data)), rng.randint(1, 17)
    fill = [bytes(rng.randint(0, 256, length, dtype=np.uint8)), b"\x00" * length, b"\xff" * length]
    data[start : start + length] = fill[rng.randint(3)][: len(data) - start]
    return bytes(data)


def zip_fields(data):
    """(offset, size) of every field of the zip's local headers, central entries and end record."""
    fields = []
    local = [4, 2, 2, 2, 2, 2, 4, 4, 4, 2, 2]
    central = [4, 2, 2, 2, 2, 2, 2, 4, 4, 4, 2, 2, 2, 2, 2, 4, 4]
    end_record = [4, 2, 2, 2, 2, 4, 4, 2]

    def add(offset, sizes):
        for size in sizes:
            fields.append((offset, size))
            offset += size

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            add(info.header_offset, local)
            name_length, extra_length = struct.unpack_from("<2H", data, info.header_offset + 26)
            add(info.header_offset + 30 + name_length, [2, 2, 8, 8][: 4 if extra_length >= 20 else 0])
        end = len(data) - 22
        _, _, _, _, n_members, _, position, _ = struct.unpack_from("<4s4H2LH", data, end)
    for _ in range(n_members):
        add(position, central)
        lengths = struct.unpack_from("<3H", data, position + 28)
        position += 46 + sum(lengths)
    add(end, end_record)
    return fields


def zip_header(original, rng):
    fields = zip_fields(original.data)
    offset, size = fields[rng.randint(len(fields))]
    data = bytearray(original.data)
    current = int.from_bytes(data[offset : offset + size], "little")
    data[offset : offset + size] = extreme(size, rng, current).to_bytes(size, "little")
    return bytes(data)


def npy_header_text(descr, fortran_order, shape, version=(1, 0)):
    """A .npy header, padded as numpy pads it, with any values written in."""
    text = f"{{'descr': {descr}, 'fortran_order': {fortran_order}, 'shape': {shape}, }}"
    length_format = "<H" if version[0] == 1 else "<I"
    prefix = 6 + 2 + struct.calcsize(length_format)
    text += " " * ((64 - (prefix + len(text) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack(length_format, len(text)) + text.encode("latin-1")


def npy_header(original, rng):
    """One member's .npy header rewritten; the data after it kept; every hash rewritten."""
    name = sorted(original.members)[rng.randint(len(original.members))]
    raw = original.members[name]
    stream = io.BytesIO(raw)
    np.lib.format.read_magic(stream)
    shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
    data = raw[stream.tell():]
    descr, shape_text = repr(np.lib.format.dtype_to_descr(dtype)), repr(shape)
    change = rng.randint(9)
    if change == 0:
        shape_text = repr([(10**9,), (2**40,), (), (0,), (-1,), shape + (1,), shape[::-1], (2**63,)][rng.randint(8)])
    elif change == 1:
        descr = ["'|O'", "'<f4'", "'>f8'", "'<c16'", "'|u1'", "[('a', '<f8')]", "'<U10'", "'x'", "'<f8'",
                 "'V8'", "('<f8', (2,))"][rng.randint(11)]
    elif change == 2:
        fortran_order = not fortran_order
    if change == 3:
        header = npy_header_text(descr, fortran_order, shape_text, [(2, 0), (3, 0), (9, 9)][rng.randint(3)])
    elif change == 4:  # a length field that lies
        header = bytearray(npy_header_text(descr, fortran_order, shape_text))
        header[8:10] = struct.pack("<H", extreme(2, rng))
    elif change == 5:
        header = b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + bytes(rng.randint(0, 256, 118, dtype=np.uint8))
    elif change == 6:  # a literal nested past the parser's limits
        header = npy_header_text(descr, fortran_order, "(" * 300 + "1," + ")" * 300)
    else:
        header = npy_header_text(descr, fortran_order, shape_text)
    return forge({**original.members, name: bytes(header) + data}, digest="skscratch_digest" in original.members)


VALUES = [0, 1, -1, 2**31, 2**63 - 1, -(2**63), 10**30, 0.5, -0.0, 1e308, True, False, None, "", "x" * 300,
          "softmax", "logistic", "identity", "exp", "binary", "multiclass", "multilabel-indicator",
          "MLPScratchRegressor", "MLPScratchClassifier", "object", "<U3", "|b1", "<f8", "|O", "relu", "lbfgs",
          "float32", "adamw", "Adam", "SGD", "\ud800", [], {}, [1, 2], [[1, 2]], {"float": "nan"},
          {"float": "inf"}, {"tuple": [1, -1]}, {"tuple": []}, {"dict": [[1, 2], [1, 3]]}, {"dtype": "float16"},
          {"random_state": ["MT19937", [1] * 3, 0, 0, 0.0]}, {"unknown": 1}, {"float": "nan", "tuple": []}]


def json_paths(value, path=()):
    """Every path into a JSON value (lists capped at their first 3 items)."""
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):
            yield from json_paths(child, (*path, index))


def edit(metadata, path, change):
    """Apply ``change(container, key)`` at ``path`` of a copy of the metadata."""
    metadata = copy.deepcopy(metadata)
    container = metadata
    for step in path[:-1]:
        container = container[step]
    change(container, path[-1])
    return metadata


def metadata(original, rng):
    """A well-formed file whose metadata is crafted."""
    paths = [p for p in json_paths(original.metadata) if p]
    path = paths[rng.randint(len(paths))]
    value = copy.deepcopy(VALUES[rng.randint(len(VALUES))])
    other = original.metadata
    for step in paths[rng.randint(len(paths))]:
        other = other[step]
    change = rng.randint(8)
    if change == 7:
        return rehashed(original.members, text_mutation(original.metadata, rng))
    operations = [  # set a value; copy another field's; delete; add; reverse a list; repeat an item; negate
        lambda c, k: c.__setitem__(k, value),
        lambda c, k: c.__setitem__(k, copy.deepcopy(other)),
        lambda c, k: c.__delitem__(k),
        lambda c, k: c.__setitem__("payload", value) if isinstance(c, dict) else c.append(value),
        lambda c, k: c.__setitem__(k, c[k][::-1]) if isinstance(c[k], list) else c.__setitem__(k, value),
        lambda c, k: c.__setitem__(k, c[k] + c[k][:1]) if isinstance(c[k], list) else c.__setitem__(k, [c[k]]),
        lambda c, k: c.__setitem__(k, -c[k] if type(c[k]) in (int, float) else str(c[k])),
    ]
    crafted = edit(original.metadata, path, operations[change])
    version = 2 if "skscratch_digest" in original.members else 1
    return rehashed(original.members, crafted, version=version)


def text_mutation(metadata, rng):
    """JSON text that breaks a rule of strict JSON, or of JSON itself."""
    text = json.dumps(metadata)
    key = text.index('"format"')
    breaks = [
        lambda: text.replace('"format_version": ', '"format_version": NaN, "x": ', 1),
        lambda: text[:key] + '"format": "skscratch.npz", ' + text[key:],  # a repeated key
        lambda: text.encode() + b"\xff",
        lambda: "\ufeff" + text,
        lambda: text + " trailing",
        lambda: text.replace('"n_iter_": ', '"n_iter_": 1e999, "y": ', 1),
        lambda: text.replace('"t_": ', '"t_": 123456789012345678901234567890, "z": ', 1),
        lambda: text[: rng.randint(len(text))],
        lambda: " " * 1000 + text,
    ]
    return breaks[rng.randint(len(breaks))]()


def nested(original, rng):
    """A field replaced by JSON nested 10 to 100,000 levels deep."""
    depth = [10, 16, 17, 100, 600, 990, 5000, 100_000][rng.randint(8)]
    shape = rng.randint(3)
    if shape == 0:
        nest = "[" * depth + "]" * depth
    elif shape == 1:
        nest = '{"a": ' * depth + "0" + "}" * depth
    else:
        nest = '{"tuple": [' * depth + "1" + "]}" * depth
    paths = [p for p in json_paths(original.metadata) if p]
    crafted = edit(original.metadata, paths[rng.randint(len(paths))], lambda c, k: c.__setitem__(k, "@NEST@"))
    return rehashed(original.members, json.dumps(crafted).replace('"@NEST@"', nest))


_BOMB_CACHE = {}


def deflated_bomb():
    """A deflated .npy member that inflates to 64 MB (of JSON whitespace, inside a valid header)."""
    if "member" not in _BOMB_CACHE:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        header = npy_header_text("'|u1'", False, (BOMB_BYTES,))
        chunk = b" " * 2**20
        body = compressor.compress(header) + b"".join(compressor.compress(chunk) for _ in range(BOMB_BYTES // 2**20))
        _BOMB_CACHE["member"] = (body + compressor.flush(), zlib.crc32(b" " * BOMB_BYTES, zlib.crc32(header)),
                                 len(header) + BOMB_BYTES)
    return _BOMB_CACHE["member"]


def bomb(original, rng):
    """A file that claims far more than it holds, or inflates."""
    choice = rng.randint(6)
    name = ["skscratch_metadata", "coefs_0"][rng.randint(2)]
    if choice == 0:  # zip sizes: gigabytes in the directory and the local header
        data = bytearray(original.data)
        for offset, size in zip_fields(original.data):
            if size in (4, 8) and int.from_bytes(data[offset : offset + size], "little") > 100:
                huge = [2**32 - 1, 2**31, 2**40][rng.randint(3)] & (2 ** (8 * size) - 1)
                if rng.rand() < 0.3:
                    data[offset : offset + size] = huge.to_bytes(size, "little")
        return bytes(data)
    if choice == 1:  # a .npy header that claims gigabytes
        header = npy_header_text("'|u1'" if name.startswith("skscratch") else "'<f8'", False, (2**32,))
        return forge({**original.members, name: header + b" " * 64})
    if choice == 2:  # a network of 10^11 weights, by the metadata
        crafted = copy.deepcopy(original.metadata)
        crafted["fitted"]["n_features_in_"] = 10**6
        crafted["params"]["hidden_layer_sizes"] = {"tuple": [10**5]}
        crafted["arrays"]["coefs_0"]["shape"] = [10**6, 10**5]
        return rehashed(original.members, crafted)
    if choice == 3:  # a deflated member that inflates to 64 MB
        return deflate_bomb(original, name)
    if choice == 4:  # every directory entry points at the same bytes
        return overlapping(original)
    data = bytearray(original.data)  # a directory that claims 65,535 members
    data[-12:-10] = data[-14:-12] = b"\xff\xff"
    return bytes(data)


def deflate_bomb(original, name):
    """The original's members in a zip where member ``name`` is a 64 MB deflate bomb."""
    compressed, crc, size = deflated_bomb()
    entries = []
    for member, raw in original.members.items():
        if member == name:
            entries.append((member.encode() + b".npy", zipfile.ZIP_DEFLATED, crc, compressed, size))
        else:
            entries.append((member.encode() + b".npy", zipfile.ZIP_STORED, zlib.crc32(raw), raw, len(raw)))
    return raw_zip(entries)


def overlapping(original):
    """The original with its directory's entries all pointing at the first member's local header."""
    data = bytearray(original.data)
    end = len(data) - 22
    n_members, _, position = struct.unpack_from("<H2L", data, end + 10)
    for _ in range(n_members):
        struct.pack_into("<L", data, position + 42, 0)
        lengths = struct.unpack_from("<3H", data, position + 28)
        position += 46 + sum(lengths)
    return bytes(data)


MUTATIONS = {"truncate": truncate, "bit-flip": bit_flip, "overwrite": overwrite, "zip-header": zip_header,
             "npy-header": npy_header, "metadata": metadata, "nested-json": nested, "bomb": bomb}


# ----------------------------------------------------------------------
# Loading a file, and judging the outcome


def judge(data, original, kind, via_path=None):
    """(outcome, message): "refused", "loaded", "loaded-other" (a valid crafted model), or "FAILED"."""
    import skscratch

    try:
        if via_path is None:
            model = skscratch.load(io.BytesIO(data), key=original.key)
        else:
            via_path.write_bytes(data)
            model = skscratch.load(via_path, key=original.key)
    except ValueError as exc:
        if "malformed file (" in str(exc):
            return "FAILED", f"internal error: {exc}"
        return "refused", str(exc)
    except Exception as exc:  # noqa: BLE001 - the fuzz's whole point: nothing else may come out
        return "FAILED", f"{type(exc).__name__}: {exc}"
    try:
        got = outputs(model, original.X)
    except Exception as exc:  # noqa: BLE001
        return "FAILED", f"loaded, but predict raised {type(exc).__name__}: {exc}"
    if same(got, original.expected):
        return "loaded", ""
    if kind not in CRAFTED:
        return "FAILED", "loaded with other predictions than the saved model's"
    buffer = io.BytesIO()
    skscratch.save(model, buffer)
    if same(outputs(skscratch.load(io.BytesIO(buffer.getvalue())), original.X), got):
        return "loaded-other", ""
    return "FAILED", "a crafted model that does not survive its own save and load"


def fuzz(n_files, seed=0, *, trace_memory=True, on_failure=None):
    """Load ``n_files`` mutated files, the kinds in turn; return the report (counts, worst time and memory)."""
    rng = np.random.RandomState(seed)
    models = originals()
    deflated_bomb()  # built once, before the memory is measured
    outcomes = {kind: Counter() for kind in KINDS}
    worst, times = {"seconds": 0.0, "traced_peak_bytes": 0}, []
    failures, messages = [], Counter()
    rss_start = current_rss_mib()
    if trace_memory:
        tracemalloc.start()  # one session: starting and stopping it per file would grow the heap
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzzed.npz"
        for i in range(n_files):
            kind, original = KINDS[i % len(KINDS)], models[(i // len(KINDS)) % len(models)]
            data = MUTATIONS[kind](original, rng)
            outcome, message, seconds, peak = timed_judge(data, original, kind, path if i % 20 == 19 else None)
            times.append(seconds)
            outcomes[kind][outcome] += 1
            messages[_message_class(message)] += outcome == "refused"
            for measure, value in (("seconds", seconds), ("traced_peak_bytes", peak)):
                if value > worst[measure]:
                    worst[measure], worst[measure + "_file"] = value, f"{kind} of {original.name} (file {i})"
            if outcome == "FAILED":
                failures.append({"file": i, "kind": kind, "original": original.name, "message": message})
                if on_failure is not None:
                    on_failure(data, failures[-1])
    tracemalloc.stop()
    times = np.array(times)
    return {"files": n_files, "seed": seed, "outcomes": {k: dict(v) for k, v in outcomes.items()},
            "worst": worst, "median_seconds": float(np.median(times)), "p99_seconds": float(np.quantile(times, 0.99)),
            "rss_start_mib": rss_start, "rss_end_mib": current_rss_mib(), "failures": failures,
            "refusals": dict(messages.most_common(25))}


def timed_judge(data, original, kind, via_path):
    """(outcome, message, seconds, traced peak bytes) of loading one file.

    A load slower than RETIME_S is timed twice more and the fastest time
    kept: on a shared machine, a stall of the process is not the load's.
    """
    tracing = tracemalloc.is_tracing()
    if tracing:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    outcome, message = judge(data, original, kind, via_path)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] - before if tracing else 0
    for _ in range(2 if seconds > RETIME_S else 0):
        started = time.perf_counter()
        judge(data, original, kind, via_path)
        seconds = min(seconds, time.perf_counter() - started)
    if seconds > TIME_LIMIT_S:
        outcome, message = "FAILED", f"took {seconds:.2f} s"
    return outcome, message, seconds, peak


def current_rss_mib():
    """The process's resident memory now (Linux), or None."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def _message_class(message):
    """A refusal's first words, without the file's name and numbers, to count refusals by reason."""
    reason = message.split("model file: ", 1)[-1]
    words = [re.sub(r"\d+", "N", word) for word in reason.split()[:7]]
    return " ".join(words).replace("|", "/")


# ----------------------------------------------------------------------
# The report


def markdown(report, quick):
    worst = report["worst"]
    lines = [
        "# Fuzzing skscratch.load" + (" (quick mode)" if quick else ""),
        "",
        f"{report['files']:,} mutated files (seed {report['seed']}); outcome counts by mutation:",
        "",
        "| mutation | files | refused (ValueError) | loaded, same predictions | loaded, a valid crafted model "
        "| FAILED |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, counts in report["outcomes"].items():
        lines.append(f"| {kind} | {sum(counts.values()):,} | {counts.get('refused', 0):,} | "
                     f"{counts.get('loaded', 0):,} | {counts.get('loaded-other', 0):,} | {counts.get('FAILED', 0)} |")
    lines += [
        "",
        f"- Time per load (outcome judged, predictions compared): median {report['median_seconds'] * 1000:.2f} ms, "
        f"99th percentile {report['p99_seconds'] * 1000:.1f} ms, slowest {worst['seconds'] * 1000:.1f} ms "
        f"({worst.get('seconds_file', '-')}); limit {TIME_LIMIT_S:g} s. A load over {RETIME_S * 1000:g} ms is "
        "timed three times and the fastest kept (the machine is shared).",
        f"- Largest memory traced during one load (tracemalloc peak): {worst['traced_peak_bytes'] / 2**20:.2f} MiB "
        f"({worst.get('traced_peak_bytes_file', '-')}).",
        f"- Resident memory: {_mib(report['rss_start_mib'])} before the first load, {_mib(report['rss_end_mib'])} "
        f"after the last, {report['peak_rss_mib']:.0f} MiB at the run's peak (the fuzzer's own 64 MB bomb, "
        f"built once, included); wall time {report['wall_seconds']:.0f} s.",
        f"- Failures: {len(report['failures'])}.",
        "",
        "Most frequent reasons for a refusal:",
        "",
        "| reason (numbers left out) | files |",
        "|---|---:|",
        *[f"| {reason or '-'} | {count:,} |" for reason, count in list(report["refusals"].items())[:12]],
        "",
    ]
    return lines


def _mib(value):
    return "n/a" if value is None else f"{value:.0f} MiB"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 files: a check that the script works")
    parser.add_argument("--files", type=int, help="how many files (default 64,000; 2,000 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    report = fuzz(args.files or (2_000 if args.quick else 64_000), args.seed)
    report["wall_seconds"] = time.perf_counter() - started
    report["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report.update(machine=machine_info(), command="python " + " ".join(sys.argv))
    name = "bench_fuzz_load" + ("_quick" if args.quick else "")
    publish(report, markdown(report, args.quick), args.out_dir, name)
    for failure in report["failures"][:20]:
        print(f"FAILED: file {failure['file']} ({failure['kind']} of {failure['original']}): {failure['message']}",
              file=sys.stderr)
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
