"""Where a model file is read from and written to: paths, file descriptors and binary file objects.

Reading (:func:`opened`): anything that is not a regular file (a FIFO, a
device, a directory) is refused before it is read, so a load never blocks;
a descriptor or file object is read from its position to its end, through
a :class:`Source` window that never reads past that end, and left open at
the position it had.

Writing: to a path, atomically (:func:`write_atomically`: a temporary file
renamed over the target, with the mode ``open(path, "wb")`` would give, and
through symbolic links; an existing file that ``open(path, "wb")`` could
not open is refused as it would refuse it: :func:`replaceable_mode`); to a
file object, at its position (:func:`write_to_stream`).

Knows nothing of what the bytes are: the callers pass a function that
writes them.
"""

import contextlib
import errno
import io
import os
import secrets
import shutil
import stat
import tempfile

# ----------------------------------------------------------------------
# Reading


class Source:
    """A model file open for reading: a window of ``size`` bytes from ``start`` of a binary file.

    It offers what :class:`zipfile.ZipFile` needs (``read``, ``seek``,
    ``tell``) and never reads past the window's end.
    """

    def __init__(self, file, name, start, size):
        self.file, self.name, self.start, self.size, self.position = file, name, start, size, 0

    def seek(self, offset, whence=0):
        """Move to ``offset`` from the window's start, the position or the end (``whence`` 0, 1, 2)."""
        position = offset + (0, self.position, self.size)[whence]
        if position < 0:
            raise ValueError("a zip record points before the start of the file")
        self.position = position
        return position

    def tell(self):
        return self.position

    def read(self, n=-1):
        """At most ``n`` bytes (all, if ``n`` is None or negative) from the position, not past the window's end."""
        n = self.size - self.position if n is None or n < 0 else min(n, max(self.size - self.position, 0))
        self.file.seek(self.start + self.position)
        data = self.file.read(n)
        self.position += len(data)
        return data

    def read_at(self, offset, n):
        """Exactly ``n`` bytes from ``offset``, or a ValueError."""
        self.seek(offset)
        data = self.read(n)
        if len(data) != n:
            raise ValueError(f"it ends early (at byte {self.start + offset + len(data)})")
        return data


def _require_regular_file(status, name):
    """Refuse what is not a regular file before reading it: a FIFO or a device could block or never end."""
    if not stat.S_ISREG(status.st_mode):
        kinds = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a FIFO", stat.S_ISCHR: "a character device",
                 stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}
        kind = next((text for test, text in kinds.items() if test(status.st_mode)), "not a file")
        raise ValueError(f"{name} is not a readable skscratch model file: it is {kind}, not a regular file")


@contextlib.contextmanager
def opened(file):
    """A :class:`Source` on ``file``: a path, a file descriptor or a binary file object.

    A path is opened here and closed after; a descriptor or a file object is
    left open, at the position it had.
    """
    if isinstance(file, int) and not isinstance(file, bool):
        _require_regular_file(os.fstat(file), f"file descriptor {file}")
        position = os.lseek(file, 0, os.SEEK_CUR)
        try:
            with os.fdopen(file, "rb", closefd=False) as f:
                yield Source(f, f"file descriptor {file}", position, os.fstat(file).st_size - position)
        finally:
            os.lseek(file, position, os.SEEK_SET)
    elif hasattr(file, "read"):
        name = str(getattr(file, "name", None) or type(file).__name__)
        with contextlib.suppress(AttributeError, OSError, io.UnsupportedOperation):  # no descriptor: BytesIO
            _require_regular_file(os.fstat(file.fileno()), name)
        if not (getattr(file, "seekable", None) and file.seekable()) or not isinstance(file.read(0), bytes):
            raise ValueError(f"{name} is not a readable skscratch model file: load needs a binary file "
                             "object that can seek")
        position = file.tell()
        try:
            yield Source(file, name, position, file.seek(0, os.SEEK_END) - position)
        finally:
            file.seek(position)
    else:
        path = os.fsdecode(os.fspath(file))
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            _require_regular_file(os.stat(path), path)
            handle = os.open(path, flags)  # non-blocking: should it have become a FIFO since stat
        except FileNotFoundError:
            raise
        except OSError as exc:  # a ValueError, as ever: e.g. no permission
            raise ValueError(f"{path} is not a readable skscratch model file: {exc.strerror}") from exc
        with os.fdopen(handle, "rb") as f:
            status = os.fstat(handle)
            _require_regular_file(status, path)
            yield Source(f, path, 0, status.st_size)


# ----------------------------------------------------------------------
# Writing


def write_to_stream(file, write):
    """Call ``write(f)`` on a binary file object: directly at its start, else through a temporary file.

    zipfile writes offsets from the start of the file, and a stream that
    cannot seek gets data descriptors; written apart, the zip is whole in
    itself, as load reads it from the stream's position.
    """
    seekable = getattr(file, "seekable", None)
    if seekable is not None and seekable() and file.tell() == 0:
        write(file)
        return
    with tempfile.TemporaryFile() as buffer:
        write(buffer)
        buffer.seek(0)
        shutil.copyfileobj(buffer, file)


def write_atomically(path, write):
    """Call ``write(f)`` on a new file, then rename it over ``path`` (through symbolic links).

    An existing file that ``open(path, "wb")`` could not open (made
    read-only, say) is refused with the PermissionError that ``open``
    gives, before anything is written, and again just before the rename:
    the rename itself only asks the folder.
    """
    target = os.path.realpath(os.fsdecode(os.fspath(path)))
    if os.path.islink(target):  # realpath stops on a loop of links; open() would raise ELOOP
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), os.fsdecode(os.fspath(path)))
    replaceable_mode(target, path)
    handle, temporary = _create_temporary(os.path.dirname(target))
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        mode = replaceable_mode(target, path)  # again: it may have changed while we wrote
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def replaceable_mode(target, path=None):
    """The mode of the file at ``target`` (None if there is none), refusing one ``open(path, "wb")`` could not open.

    A new file replaces ``target`` by a rename, which only the folder's
    permissions govern; ``open(path, "wb")`` and :func:`numpy.save` also
    need the file itself to be writable. So an existing regular file is
    opened for writing here, as they would open it, but not truncated and
    not written, and closed at once: whatever refuses them (its mode, an
    ACL, a read-only or immutable file, a running executable) refuses this
    too, with the same OSError (a PermissionError for a read-only file),
    named ``path`` (the name the user gave, as ``open`` names it). Root,
    whom ``open`` lets write a read-only file, may replace it.

    The mode returned is the one ``open(path, "wb")`` would leave the file
    with: the existing file's.
    """
    path = target if path is None else path
    try:
        status = os.stat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a folder on the way that cannot be searched, a loop of links: as open names it
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None
    if stat.S_ISREG(status.st_mode):
        flags = (os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
                 | getattr(os, "O_CLOEXEC", 0))  # no O_TRUNC, no O_CREAT: the old file stays as it is
        try:
            handle = os.open(target, flags)
        except FileNotFoundError:  # removed meanwhile: a new file, then
            return None
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None  # PermissionError for EACCES
        try:
            status = os.fstat(handle)
        finally:
            os.close(handle)
    elif not stat.S_ISDIR(status.st_mode) and not os.access(
            target, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
        # a FIFO or a device, which open would block on or write into: not opened here, only asked
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
    return stat.S_IMODE(status.st_mode)


def _create_temporary(directory):
    """A new file in ``directory`` with a short name, created with mode 0o666 less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:  # (a clash of 64 random bits: practically never)
        temporary = os.path.join(directory, f".skscratch-{secrets.token_hex(8)}.tmp")
        with contextlib.suppress(FileExistsError):
            return os.open(temporary, flags, 0o666), temporary
