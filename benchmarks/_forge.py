"""Writing skscratch model files by hand, as an attacker would: any members, every hash rewritten.

The fuzzer (``bench_fuzz_load.py``) and the safe format's tests build their
hostile files with these: ``.npy`` members of any content, the zip around
them (well-formed, or written byte by byte), and the digest and signature
that someone who knows the format recomputes.
"""

import hashlib
import hmac
import io
import json
import struct
import zipfile

import numpy as np



def npy_bytes(array):
    """The .npy serialisation of ``array`` (object arrays pickled, as a hostile writer may)."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=True)
    return buffer.getvalue()


def json_member(metadata_or_text):
    """The metadata member's .npy bytes, from a dict or from raw JSON text (str or bytes)."""
    text = metadata_or_text
    if isinstance(text, dict):
        text = json.dumps(text)
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogatepass")
    return npy_bytes(np.frombuffer(text, np.uint8))


def forge(members, *, digest=True, key=None):
    """A zip of ``members`` (name -> .npy bytes) with a correct digest and, given a key, signature.

    What someone who knows the format and rewrites every hash writes.
    Without a key, a signature among the members stays as it was: stale.
    """
    from skscratch.io.integrity import DIGEST, SIGNATURE, manifest

    members = {name: raw for name, raw in members.items() if name != DIGEST}
    signature = members.pop(SIGNATURE, None)
    covered = manifest({name: hashlib.sha256(raw).hexdigest() for name, raw in members.items()})
    if digest:
        members[DIGEST] = npy_bytes(np.frombuffer(hashlib.sha256(covered).hexdigest().encode(), np.uint8))
    if key is not None:
        signature = npy_bytes(np.frombuffer(hmac.new(key, covered, hashlib.sha256).hexdigest().encode(), np.uint8))
    if signature is not None:
        members[SIGNATURE] = signature
    return zipped(members)


def zipped(members):
    """A zip of ``members`` (name -> .npy bytes), stored as numpy.savez stores them; no hash touched."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, raw in members.items():
            archive.writestr(zipfile.ZipInfo(name + ".npy", (1980, 1, 1, 0, 0, 0)), raw)
    return buffer.getvalue()


def raw_zip(entries):
    """A zip written byte by byte from (name, method, crc, data as stored, size once inflated) entries."""
    body, directory = bytearray(), bytearray()
    for name, method, crc, data, size in entries:
        fields = (20, 0, method, 0, 33, crc, len(data), size, len(name), 0)
        directory += struct.pack("<4s6H3L5HLL", b"PK\x01\x02", 20, *fields[:-1], 0, 0, 0, 0, 0, len(body))
        directory += name
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + name + data
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), len(body), 0)
    return bytes(body + directory + end)


def read_members(data):
    """name -> .npy bytes of a well-formed file."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename[: -len(".npy")]: archive.read(info) for info in archive.infolist()}


def rehashed(members, metadata, arrays=None, *, version=2):
    """``members`` with new metadata (and arrays), the metadata's sha256s and the digest brought up to date."""
    from skscratch.io.integrity import array_sha256
    from skscratch.io.persistence import METADATA

    members = dict(members)
    for name, array in (arrays or {}).items():
        members[name] = npy_bytes(array)
        if isinstance(metadata, dict) and isinstance(metadata.get("arrays"), dict) and name in metadata["arrays"]:
            metadata["arrays"][name]["sha256"] = array_sha256(array)
    members[METADATA] = json_member(metadata)
    return forge(members, digest=version == 2)
