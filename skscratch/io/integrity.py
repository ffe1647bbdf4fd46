"""The digest and the signature of a model file: what they cover, how they are made and checked.

Both cover every member but themselves, metadata included, through a
manifest of the members' names and sha256s. The ``skscratch_digest``
member (a sha256 of the manifest) finds damage; the ``skscratch_signature``
member (an HMAC-SHA256 of it, written when a key is given) finds a
deliberate edit too, for anyone without the key. Each is stored as 64 hex
digits, a uint8 array.
"""

import hashlib
import hmac
import re

import numpy as np

from .npz_container import read_checked

DIGEST, SIGNATURE = "skscratch_digest", "skscratch_signature"
HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def array_sha256(array):
    """The sha256 of an array's bytes in C order (without copying a C-ordered array)."""
    return hashlib.sha256(memoryview(np.ascontiguousarray(array)).cast("B")).hexdigest()


def manifest(member_hashes):
    """What the digest and the signature cover: every member's name and sha256, sorted by name."""
    lines = [f"{name}\t{member_hashes[name]}\n" for name in sorted(member_hashes)]
    return ("skscratch.npz manifest\n" + "".join(lines)).encode()


def as_key(key, caller="skscratch.save"):
    """The signing key as bytes, or None: bytes, a bytearray or memoryview of them, or a str (as UTF-8).

    Anything else is refused, in the name of ``caller``: another type (a
    TypeError), an empty key, a released memoryview, or a str that UTF-8
    cannot encode (a ValueError), such as one with a lone surrogate that
    ``os.fsdecode`` makes of bytes that are not UTF-8.
    """
    if key is None:
        return None
    if isinstance(key, str):
        try:
            key = key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"key must be bytes or a str that UTF-8 can encode, but the str given to {caller} holds a lone "
                f"surrogate at index {exc.start}, which UTF-8 cannot encode (os.fsdecode and surrogateescape "
                "make them of bytes that are not UTF-8); pass the key as bytes") from None  # (no secret shown)
    elif isinstance(key, (bytes, bytearray, memoryview)):
        try:
            key = bytes(key)
        except ValueError as exc:  # a released memoryview
            raise ValueError(f"key must be bytes or str, but the memoryview given to {caller} cannot be read: "
                             f"{exc}") from None
    else:
        raise TypeError(f"key must be bytes or str, not {type(key).__name__}: {caller} takes a key as bytes (or "
                        "a bytearray or memoryview of them), as a str (encoded as UTF-8), or None for no "
                        "signature")
    if not key:
        raise ValueError(f"key is empty; {caller} needs a secret of 32 random bytes or more, e.g. "
                         "secrets.token_bytes(32).")
    return key


def _ascii(text):
    """ASCII text as a uint8 array, as the digest and signature members hold it."""
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8)


def integrity_members(member_hashes, key):
    """The digest member and, given a key, the signature member, of members with these sha256s."""
    covered = manifest(member_hashes)
    members = {DIGEST: _ascii(hashlib.sha256(covered).hexdigest())}
    if key is not None:
        members[SIGNATURE] = _ascii(hmac.new(key, covered, hashlib.sha256).hexdigest())
    return members


def _read_hex(source, members, member_hashes, name):
    """The 64 hex digits of a digest or signature member."""
    text = read_checked(source, members[name], member_hashes[name], np.uint8, (64,)).tobytes()
    if not HEX64.match(text.decode("latin-1")):
        raise ValueError(f"its {name} is not 64 hex digits")
    return text.decode("ascii")


def check_integrity(source, members, member_hashes, key):
    """Check the signature (given a key) and the digest (format version 2).

    Both cover every member but themselves, metadata included, through the
    manifest of the members' sha256s.
    """
    covered = manifest({name: h for name, h in member_hashes.items() if name not in (DIGEST, SIGNATURE)})
    if key is not None:
        if SIGNATURE not in members:
            raise ValueError(f"it is not signed (no {SIGNATURE}), and a key was given")
        expected = hmac.new(key, covered, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(_read_hex(source, members, member_hashes, SIGNATURE), expected):
            raise ValueError("its signature does not match: the file was altered after it was signed, "
                             "or signed with another key")
    elif SIGNATURE in members:
        _read_hex(source, members, member_hashes, SIGNATURE)
    if DIGEST not in members:
        if SIGNATURE in members:
            raise ValueError(f"it has a {SIGNATURE} but no {DIGEST}")
        return
    if not hmac.compare_digest(_read_hex(source, members, member_hashes, DIGEST),
                               hashlib.sha256(covered).hexdigest()):
        raise ValueError(f"its members do not match the sha256 in {DIGEST}: the file is damaged or was "
                         "altered")
