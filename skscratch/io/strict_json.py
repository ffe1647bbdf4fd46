"""JSON that gives back exactly the values it was given, and reads nothing else.

- :func:`encode`: plain JSON where it is exact, tagged objects where it is
  not (``{"tuple": [...]}``, ``{"float": "nan"}``, ``{"dict": [[k, v], ...]}``
  for dicts with non-string keys, ``{"dtype": ...}``, ``{"random_state":
  ...}``); code and other objects are refused.
- :func:`parse_json`: strict parsing of untrusted bytes: no NaN, numbers
  within int64 (uint64) or finite float64, no repeated keys, at most
  :data:`MAX_JSON_DEPTH` levels deep.
- Rules (:class:`Rule` and the functions that make them: :func:`integer`,
  :func:`string`, :func:`sequence`, :func:`record`, ...): the declared type
  of one field, which decodes a parsed value (tags included) back into the
  Python value, or raises a ValueError that names the field and says what
  it must be.

Knows nothing of models: which fields there are and their rules is
``io.metadata``'s business.
"""

import contextlib
import json
import math
import reprlib

import numpy as np

MAX_JSON_DEPTH = 16  # the deepest legitimate metadata nests 8 levels

REPR = reprlib.Repr()  # a value in an error message: at most about 60 characters
REPR.maxstring = REPR.maxother = 60
REPR.maxlevel = 3


# ----------------------------------------------------------------------
# Values to JSON: plain JSON where it is exact, tagged objects where it is
# not (tuples, non-finite floats, dicts with non-string keys...). Reading
# them back is the rules' job (below), one declared type per field.


def encode(value, where):
    """``value`` as JSON, tagged where plain JSON would not give it back exactly; ``where`` names it in errors."""
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
        return {"tuple": [encode(v, where) for v in value]}
    if isinstance(value, list):
        return [encode(v, where) for v in value]
    if isinstance(value, dict):
        return {"dict": [[encode(k, where), encode(v, where)] for k, v in value.items()]}
    if isinstance(value, type) and value in (np.float32, np.float64):
        return {"dtype": np.dtype(value).name}
    if isinstance(value, np.random.RandomState):
        name, keys, pos, has_gauss, cached = value.get_state()
        return {"random_state": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    raise ValueError(
        f"Cannot save {where}={value!r} in the safe format, which stores data, not code "
        "or objects. Set it to a plain value (for scoring: a scorer's name; for activation: a built-in "
        "activation's name; hidden_layer_sizes: integers, without a layer of your own), or save with joblib."
    )


# ----------------------------------------------------------------------
# Parsing untrusted JSON


def parse_json(data):
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
            raise ValueError(f"an object repeats a key, in {REPR.repr(keys)}")
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


# ----------------------------------------------------------------------
# Rules: the declared type of a field, decoding it back from parsed JSON


class Mismatch(Exception):
    """A value does not have the shape a rule expects (the rule says what it wanted)."""


class Rule:
    """The declared type of one field: what it must be (for messages), and how to decode it.

    ``decode(value, where)`` returns the Python value, raises Mismatch if
    ``value`` is not of the rule's kind at all, and a ValueError naming
    ``where`` for a part that is wrong.
    """

    def __init__(self, what, decode):
        self.what, self.decode = what, decode

    def __call__(self, value, where):
        """The decoded value; a ValueError naming ``where`` and what it must be if it is not of this kind."""
        try:
            return self.decode(value, where)
        except Mismatch:
            raise ValueError(f"{where} must be {self.what}, got {REPR.repr(value)}") from None


def _check(condition):
    """Raise Mismatch unless ``condition``."""
    if not condition:
        raise Mismatch


def integer(low=0, high=2**63 - 1):
    """An int (not bool) in [low, high]."""

    def decode(value, where):
        _check(type(value) is int and low <= value <= high)
        return value

    return Rule(f"an integer in [{low}, {high}]", decode)


def number(low=-math.inf, high=math.inf, finite=True):
    """A real number (int or float, not bool); with finite=False also nan and +-inf, tagged as save writes them."""

    def decode(value, where):
        if not finite and isinstance(value, dict) and list(value) == ["float"]:
            _check(value["float"] in ("nan", "inf", "-inf"))
            return float(value["float"])
        _check(type(value) in (int, float) and low <= value <= high)
        return value

    bounds = "" if (low, high) == (-math.inf, math.inf) else f" in [{low}, {high}]"
    return Rule(f"a {'finite ' if finite else ''}number{bounds}", decode)


def string(options=None, max_length=10_000):
    """A str of at most ``max_length`` characters, one of ``options`` if given."""

    def decode(value, where):
        _check(type(value) is str and len(value) <= max_length and (options is None or value in options))
        return value

    return Rule(f"one of {sorted(options)}" if options else "a string", decode)


def boolean():
    """true or false."""

    def decode(value, where):
        _check(type(value) is bool)
        return value

    return Rule("true or false", decode)


def none():
    """null."""

    def decode(value, where):
        _check(value is None)
        return None

    return Rule("null", decode)


def either(*rules):
    """The first rule whose kind the value has decides."""

    def decode(value, where):
        for rule in rules:
            with contextlib.suppress(Mismatch):
                return rule.decode(value, where)
        raise Mismatch

    return Rule(" or ".join(rule.what for rule in rules), decode)


def _tagged(value, tag):
    """The content of a tagged object ``{tag: content}`` as save writes it, or Mismatch."""
    _check(isinstance(value, dict) and list(value) == [tag])
    return value[tag]


def sequence(item, *, tuple_=False, max_length=None):
    """A JSON list (or, with tuple_=True, a tuple as save tags it) of items of one rule."""

    def decode(value, where):
        content = _tagged(value, "tuple") if tuple_ else value
        _check(type(content) is list and (max_length is None or len(content) <= max_length))
        items = [item(v, f"{where}[{i}]") for i, v in enumerate(content)]
        return tuple(items) if tuple_ else items

    kind = "a tuple" if tuple_ else "a list"
    return Rule(f"{kind} of {item.what}" + (f" (at most {max_length})" if max_length else ""), decode)


def mapping(key, value):
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
    return Rule(f"a dict of {key.what} to {what}", decode)


def check_keys(found, where, expected, optional=()):
    """Refuse unknown keys, and missing ones but the optional."""
    unknown, missing = set(found) - set(expected), set(expected) - set(found) - set(optional)
    if unknown or missing:
        problems = [f"unknown keys {sorted(unknown)}"] * bool(unknown) + [f"no {sorted(missing)}"] * bool(missing)
        raise ValueError(f"{where} has {' and '.join(problems)}")


def record(fields, optional=()):
    """A JSON object with exactly these keys (``optional`` ones may be missing), each of its own rule."""

    def decode(value, where):
        _check(type(value) is dict)
        check_keys(value, where, fields, optional)
        return {name: fields[name](value[name], f"{where}.{name}") for name in fields if name in value}

    return Rule("an object", decode)


def json_object():
    """A JSON object, as parsed: its fields are checked later, by rules chosen from its content."""

    def decode(value, where):
        _check(type(value) is dict)
        return value

    return Rule("an object", decode)


def random_state():
    """A numpy RandomState, from the MT19937 state save writes: exact, so training resumes exactly."""

    def decode(value, where):
        content = _tagged(value, "random_state")
        _check(type(content) is list and len(content) == 5)
        name, keys, position, has_gauss, cached = content
        string({"MT19937"})(name, f"{where} generator")
        keys = sequence(integer(0, 2**32 - 1))(keys, f"{where} key")
        if len(keys) != 624:
            raise ValueError(f"{where} has {len(keys)} MT19937 keys, not 624")
        generator = np.random.RandomState()
        generator.set_state((name, np.array(keys, dtype=np.uint32), integer(0, 624)(position, f"{where} pos"),
                             integer(0, 1)(has_gauss, f"{where} has_gauss"), number()(cached, f"{where} gauss")))
        return generator

    return Rule("a random state", decode)


def dtype_type(names):
    """A numpy scalar type, as save tags it (``{"dtype": "float32"}``), one of ``names``."""

    def decode(value, where):
        content = _tagged(value, "dtype")
        _check(type(content) is str and content in names)  # a list is no name (and unhashable)
        return getattr(np, content)

    return Rule(" or ".join(f"numpy.{name}" for name in sorted(names)), decode)
