"""The ``.npz`` container: a zip of stored ``.npy`` members, written and read back from a hostile file.

Writing is what :func:`numpy.savez` does (one stored ``.npy`` member per
array), with each member's sha256 taken on the way.

Reading trusts nothing the file declares until it is checked against the
file itself: :func:`zip_members` checks the zip's records (every byte of the
file belongs to exactly one member or to the zip's own records, members are
stored, not compressed) without reading a byte of any member;
:func:`read_array` checks a member's declared size against the dtype and
shape the caller expects, then its ``.npy`` header, before it reads the
data, and stops at the declared size. Every refusal is a ValueError that
says what is wrong (the caller names the file).

Knows nothing of models: which members there are and what they must hold
is the caller's business (``io.persistence``, ``io.metadata``).
"""

import ast
import contextlib
import hashlib
import io
import math
import re
import struct
import zipfile
import zlib
from collections import namedtuple

import numpy as np

MAX_MEMBERS = 10_000
MAX_NPY_HEADER = 4096  # numpy writes ~128 bytes; numpy.load's own limit is 10,000
_CHUNK = 2**20
_MEMBER_NAME = re.compile(r"[A-Za-z0-9_]{1,100}\.npy\Z")

# zip records (APPNOTE.TXT 4.3): end of central directory, its zip64 locator
# and record, a local file header
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_LOCAL = struct.Struct("<4s5H3L2H")
_UTF8_NAME = 0x800  # the one flag a member may have: not encrypted (0x01), no data descriptor (0x08)

Member = namedtuple("Member", "name offset size crc")  # offset: of the data, after the local header


# ----------------------------------------------------------------------
# Writing


class _HashingWriter:
    """A write-only stream that passes its data on to ``out`` and hashes it."""

    def __init__(self, out):
        self.out, self.sha256 = out, hashlib.sha256()

    def write(self, data):
        self.sha256.update(data)
        return self.out.write(data)


@contextlib.contextmanager
def npz_writer(file):
    """A zip on ``file`` that takes arrays as numpy.savez stores them: ``add(name, array)`` -> the member's sha256.

    Each array becomes the stored member ``name.npy`` (zip64, pickles
    refused); ``add`` returns the sha256 of the member's bytes as written.
    """
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:

        def add(name, array):
            with archive.open(name + ".npy", mode="w", force_zip64=True) as member:
                writer = _HashingWriter(member)
                np.lib.format.write_array(writer, np.asanyarray(array), allow_pickle=False)
            return writer.sha256.hexdigest()

        yield add


# ----------------------------------------------------------------------
# Reading the zip's records: declared sizes checked, no member read


def _zip_end_records(source):
    """Offset and size of the central directory, and its number of entries, from the records that end the file.

    The file must end with the end-of-central-directory record (and no
    comment), and the central directory must end where that record (or its
    zip64 counterpart) begins: no bytes hide between them.
    """
    if source.size < _EOCD.size + _LOCAL.size or source.read_at(0, 4) != b"PK\x03\x04":
        raise ValueError("it is not an .npz (zip) file")
    end = source.size - _EOCD.size
    signature, disk, directory_disk, n_here, n_total, size, offset, comment = _EOCD.unpack(
        source.read_at(end, _EOCD.size))
    if signature != b"PK\x05\x06" or comment:
        raise ValueError("it does not end with a zip directory record (or that record has a comment)")
    locator_at = end - _EOCD64_LOCATOR.size
    if locator_at >= 0 and source.read_at(locator_at, 4) == b"PK\x06\x07":  # zip64, as zipfile reads it
        _, _, record_at, _ = _EOCD64_LOCATOR.unpack(source.read_at(locator_at, _EOCD64_LOCATOR.size))
        end = locator_at - _EOCD64.size
        if record_at != end or end < 0:
            raise ValueError("its zip64 directory record is not where its locator says")
        signature, record_size, _, _, disk, directory_disk, n_here, n_total, size, offset = _EOCD64.unpack(
            source.read_at(end, _EOCD64.size))
        if signature != b"PK\x06\x06" or record_size != _EOCD64.size - 12:
            raise ValueError("its zip64 directory record is malformed")
    if disk or directory_disk or n_here != n_total:
        raise ValueError("it is a multi-disk zip")
    if n_total > MAX_MEMBERS:
        raise ValueError(f"it has {n_total} members; a model has at most {MAX_MEMBERS}")
    if offset + size != end:
        raise ValueError(f"its zip directory declares {size} bytes at {offset}, but the file has "
                         f"{end - offset} bytes there")
    return offset, n_total


def _local_header(source, info):
    """Offset of a member's data, once its local header agrees with the central directory."""
    (signature, _, flags, method, _, _, crc, compressed, size, name_length,
     extra_length) = _LOCAL.unpack(source.read_at(info.header_offset, _LOCAL.size))
    name = source.read_at(info.header_offset + _LOCAL.size, name_length)
    extra = source.read_at(info.header_offset + _LOCAL.size + name_length, extra_length)
    if signature != b"PK\x03\x04" or name != info.orig_filename.encode("ascii") or method != info.compress_type:
        raise ValueError(f"the local header of member {info.filename} does not match the zip directory")
    if flags != info.flag_bits or crc != info.CRC:
        raise ValueError(f"the local header of member {info.filename} declares other flags or CRC")
    while (compressed, size) == (0xFFFFFFFF, 0xFFFFFFFF) and len(extra) >= 4:  # the zip64 sizes
        tag, length = struct.unpack("<2H", extra[:4])
        if tag == 1 and length >= 16 and len(extra) >= 20:
            size, compressed = struct.unpack("<2Q", extra[4:20])
        extra = extra[4 + length:]
    if (compressed, size) != (info.compress_size, info.file_size):
        raise ValueError(f"member {info.filename} declares {size} bytes in its local header and "
                         f"{info.file_size} in the zip directory")
    return info.header_offset + _LOCAL.size + name_length + extra_length


def zip_members(source):
    """Every member's data offset, size and CRC, once the zip's declared sizes are found sound.

    Members must be stored .npy files under plain, distinct names, without
    encryption or data descriptors; every byte of the file must belong to
    exactly one member's header and data, or to the zip's directory and end
    records. So no member's declared size can exceed what the file holds,
    and no two members can share bytes.
    """
    directory_at, n_members = _zip_end_records(source)
    infos = zipfile.ZipFile(source).infolist()
    if len(infos) != n_members:
        raise ValueError(f"its zip directory lists {len(infos)} members, its end record {n_members}")
    members, position = {}, 0
    for info in sorted(infos, key=lambda info: info.header_offset):
        if not _MEMBER_NAME.match(info.filename) or info.filename != info.orig_filename:
            raise ValueError(f"it has a member named {info.filename!r}; members are NAME.npy")
        name = info.filename[: -len(".npy")]
        if name in members:
            raise ValueError(f"it has two members named {info.filename}")
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise ValueError(f"member {info.filename} is compressed (method {info.compress_type}); "
                             "skscratch.save stores members, so nothing inflates on load")
        if info.flag_bits & ~_UTF8_NAME:
            raise ValueError(f"member {info.filename} is encrypted or has a data descriptor")
        if info.header_offset != position:
            raise ValueError(f"member {info.filename} starts at byte {info.header_offset}, not {position}: "
                             "the zip has overlapping members or bytes outside them")
        offset = _local_header(source, info)
        members[name] = Member(name, offset, info.file_size, info.CRC)
        position = offset + info.file_size
    if position != directory_at:
        raise ValueError(f"its members end at byte {position}, its zip directory starts at {directory_at}")
    return members


def hash_members(source, members):
    """The sha256 of every member's bytes, read in chunks (so in constant memory); their CRC-32s checked."""
    member_hashes = {}
    for member in members.values():
        sha256, crc, done = hashlib.sha256(), 0, 0
        while done < member.size:
            chunk = source.read_at(member.offset + done, min(_CHUNK, member.size - done))
            sha256.update(chunk)
            crc = zlib.crc32(chunk, crc)
            done += len(chunk)
        if crc != member.crc:
            raise ValueError(f"member {member.name} is damaged: its CRC-32 does not match")
        member_hashes[member.name] = sha256.hexdigest()
    return member_hashes


# ----------------------------------------------------------------------
# Reading .npy members: size, then header, then data


def _npy_header(head):
    """(header length, shape, fortran_order, dtype) of the .npy data starting with ``head``."""
    stream = io.BytesIO(head)
    try:
        version = np.lib.format.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"npy format version {version}")
        # A header numpy could read only as Python 2 wrote it is refused here, before numpy
        # would read it with a warning (warnings filters are the process's: loads run in threads).
        length_bytes = 2 if version == (1, 0) else 4
        length = int.from_bytes(head[stream.tell() : stream.tell() + length_bytes], "little")
        if length <= MAX_NPY_HEADER:
            header = head[stream.tell() + length_bytes : stream.tell() + length_bytes + length]
            ast.literal_eval(header.decode("latin1"))
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream, MAX_NPY_HEADER)
        else:
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream, MAX_NPY_HEADER)
    except Exception as exc:  # a header of at most MAX_NPY_HEADER bytes, read by numpy's literal parser
        raise ValueError(f"unreadable .npy header ({type(exc).__name__}: {exc})") from exc
    return stream.tell(), shape, fortran_order, dtype


def check_member_size(member, dtype, shape):
    """Refuse a member whose declared size is not that of a ``dtype`` array of ``shape`` and a header."""
    nbytes = np.dtype(dtype).itemsize * math.prod(shape)
    if not nbytes < member.size <= nbytes + MAX_NPY_HEADER:
        raise ValueError(f"member {member.name} holds {member.size} bytes, but a {np.dtype(dtype).name} array of "
                         f"shape {tuple(shape)} takes {nbytes} bytes and a header")


def read_array(source, member, dtype, shape):
    """(the array in one stored .npy member, the sha256 of the member's bytes).

    Its declared size is checked against ``dtype`` and ``shape`` before
    anything is read, its .npy header before its data is read, its zip
    CRC-32 after; reads stop at the declared size. ``shape=None`` takes a
    1-d array of whatever length the member holds (its size checked by the
    caller).
    """
    dtype = np.dtype(dtype)
    if shape is not None:
        check_member_size(member, dtype, shape)
    head = source.read_at(member.offset, min(member.size, MAX_NPY_HEADER))
    header_length, found_shape, fortran_order, found_dtype = _npy_header(head)
    if shape is None:
        shape = ((member.size - header_length) // dtype.itemsize,)
    if found_dtype.newbyteorder("=") != dtype or found_shape != tuple(shape) or fortran_order:
        raise ValueError(f"array {member.name} is {found_dtype} {found_shape} (fortran_order={fortran_order}) "
                         f"in the file; it should be {dtype.name} {tuple(shape)} in C order")
    nbytes = dtype.itemsize * math.prod(shape)
    if header_length + nbytes != member.size:
        raise ValueError(f"member {member.name} holds {member.size} bytes, its .npy header declares "
                         f"{header_length + nbytes}")
    data = source.read_at(member.offset + header_length, nbytes)
    if zlib.crc32(data, zlib.crc32(head[:header_length])) != member.crc:
        raise ValueError(f"member {member.name} is damaged: its CRC-32 does not match")
    sha256 = hashlib.sha256(head[:header_length])
    sha256.update(data)
    return np.frombuffer(data, found_dtype).reshape(shape), sha256.hexdigest()


def read_checked(source, member, member_hash, dtype, shape):
    """The array in one member, whose bytes must be those hashed before."""
    array, digest = read_array(source, member, dtype, shape)
    if digest != member_hash:
        raise ValueError(f"member {member.name} changed while it was read")
    return array
