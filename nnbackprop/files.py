"""Reading input files and writing outputs atomically: the library's only file I/O.

Every reader and writer takes a path or a :class:`Stream`.  The library never opens
stdin or stdout itself: the command line turns ``-`` into a :class:`Stream` of them.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from contextlib import contextmanager

from .errors import OutputError


class Stream:
    """An open file where a path could stand (stdin, stdout); messages call it ``name``."""

    def __init__(self, file, name: str = "-"):
        self.file, self.name = file, name

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Stream({self.name!r})"


def name_of(source) -> str:
    """How messages and result files name a path or a :class:`Stream`."""
    return str(source)


@contextmanager
def reading(path: str, error: type, what: str):
    """Within the block, turn the ways reading ``path`` fails into one ``error`` naming it."""
    try:
        yield
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a {what}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text, expected a {what}") from None
    except OSError as e:
        raise error(f"{path}: cannot read: {e.strerror}") from None


MAX_INPUT_BYTES = 1 << 30  # 1 GiB: the most any input (config, data, result) may hold
MAX_CONFIG_BYTES = 64 << 20  # 64 MiB: a config listing every init value of 100,000 neurons is about 10 MB
MAX_LINE_BYTES = 1 << 20  # 1 MiB: the longest line of a streamed input (predict --input)
_CHUNK = 1 << 20


def read_bytes(path, error: type, what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of ``path`` (a path or a binary :class:`Stream`), or ``error`` saying why not.

    At most ``limit`` bytes are read: an endless stream (``/dev/zero``, ``yes``), a FIFO or
    a device is read a chunk at a time and refused once it passes the limit, never until
    memory runs out.
    """
    with reading(path, error, what):
        if isinstance(path, Stream):
            return _read_bounded(path.file, path, error, what, limit)
        with open(path, "rb") as f:
            return _read_bounded(f, path, error, what, limit)


def _read_bounded(f, path, error, what, limit):
    chunks, size = [], 0
    read = getattr(f, "read1", f.read)
    while True:
        chunk = read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        if b"\x00" in chunk:  # /dev/zero, an image: refused at once, not after the limit
            offset = size + chunk.index(b"\x00")
            raise error(f"{path}: binary file (NUL byte at offset {offset}), expected a {what}")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise error(f"{path}: larger than {_size(limit)}, the most a {what} may hold (an endless stream?)")


def _size(n: int) -> str:
    return f"{n >> 30} GiB" if n >= 1 << 30 else f"{n >> 20} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def write_text(text, path):
    """Write ``text`` (a string, or strings one after another) to ``path`` atomically, or to a text :class:`Stream`.

    Within a ``with Outputs():`` block the write joins that block's outputs, which land together.
    """
    with _batch() as outputs:
        outputs.write_text(text, path)


def write_bytes(content, path: str):
    """Write ``content`` (bytes, or bytes one after another) to ``path`` atomically.

    It goes to a temporary file beside ``path`` that replaces it only once it is complete
    and on disk, so ``path`` is either its old self or the new file, never half.
    """
    with _batch() as outputs:
        outputs.write_bytes(content, path)


_OPEN: list = []  # the Outputs blocks open now, innermost last


@contextmanager
def _batch():
    """The innermost open :class:`Outputs`, or a new one for this write alone."""
    if _OPEN:
        yield _OPEN[-1]
    else:
        with Outputs() as outputs:
            yield outputs


class Outputs:
    """Several outputs that land together or not at all.

    Each file is written whole to a temporary file beside it; streams and devices (stdout,
    a FIFO), which cannot be taken back, are written after every temporary file is
    complete; only then are the temporary files renamed over their paths, one after
    another.  Leaving the block with an exception (a full disk, a closed stdout) removes
    every temporary file and replaces nothing.
    """

    def __init__(self):
        self.staged = []  # (temporary file, final path) to rename at the end
        self.later = []  # writes to streams and devices, done after the files are staged

    def __enter__(self):
        _OPEN.append(self)
        return self

    def write_text(self, text, path):
        chunks = [text] if isinstance(text, str) else text
        if isinstance(path, Stream):
            self.later.append(lambda: _to_stream(chunks, path))
        else:
            self.write_bytes((chunk.encode("utf-8") for chunk in chunks), path)

    def write_bytes(self, content, path):
        chunks = [content] if isinstance(content, bytes) else content
        if isinstance(path, Stream):
            self.later.append(lambda: _to_stream(chunks, path))
            return
        check_writable(path)
        if _in_place(path):
            self.later.append(lambda: _append(chunks, path))
            return
        real = os.path.realpath(path)  # a link stays a link: its target is what gets replaced
        folder = os.path.dirname(real)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise OutputError(f"{path}: cannot create the folder {folder}: {e.strerror or e}") from None
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=_temp_prefix(real), suffix=".tmp")
        except OSError as e:
            raise OutputError(f"{path}: cannot write: {e.strerror or e}") from None
        self.staged.append((tmp, real))
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        except OSError as e:
            raise OutputError(f"{path}: cannot write: {e.strerror or e}") from None

    def __exit__(self, kind, error, trace):
        _OPEN.remove(self)
        try:
            if kind is None:
                for write in self.later:
                    write()
                for tmp, real in self.staged:
                    try:
                        os.replace(tmp, real)
                    except OSError as e:
                        raise OutputError(f"{real}: cannot write: {e.strerror or e}") from None
                self.staged = []
        finally:
            for tmp, _ in self.staged:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        return False


def _to_stream(chunks, stream):
    for chunk in chunks:
        stream.file.write(chunk)
    stream.file.flush()


def _append(chunks, path):
    """/dev/stdout, a named pipe: no rename there, and append to what it holds."""
    try:
        with open(path, "ab") as f:
            for chunk in chunks:
                f.write(chunk)
    except BrokenPipeError:
        raise
    except OSError as e:
        raise OutputError(f"{path}: cannot write: {e.strerror or e}") from None


TEMP_NAME_EXTRA = len(".") + len(".") + 8 + len(".tmp")  # mkstemp's prefix dot, separator, random part, suffix


def _temp_prefix(real: str) -> str:
    """``.NAME.``, NAME shortened so that the temporary file's name is never longer than NAME itself can be."""
    name = os.path.basename(real)
    room = max(_name_max(os.path.dirname(real)) - TEMP_NAME_EXTRA, 1)
    return f".{name[:room]}."


def _name_max(folder: str) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


DESCRIPTOR = re.compile(r"/dev/(stdin|stdout|stderr|fd/\d+)|/proc/[^/]+/fd/\d+")


def _in_place(path: str) -> bool:
    """Written where it is, appended to: a name for a descriptor (/dev/stdout, /proc/self/fd/1),
    or something that exists and is not a regular file (a character device, a FIFO, a socket).

    A regular file is replaced atomically wherever it is, /dev/shm and /proc/self/cwd included.
    """
    if DESCRIPTOR.fullmatch(os.path.normpath(os.path.abspath(path))):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False  # a new file
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_writable(path):
    """Fail early, before any work, when ``path`` cannot be written (a :class:`Stream` always can)."""
    if isinstance(path, Stream):
        return
    if not str(path).strip():
        raise OutputError("an empty output path: give a file name, or - for stdout")
    if os.path.isdir(path):
        raise OutputError(f"{path}: is a directory; give a file name")
    if _in_place(path):  # a device or a pipe, written in place
        if not os.access(path, os.W_OK):
            raise OutputError(f"{path}: cannot write: no permission")
        return
    real = os.path.realpath(path)  # through a link, to what it names
    folder = os.path.dirname(real)
    while not os.path.exists(folder):  # the nearest folder that exists must let us create the rest
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise OutputError(f"{path}: cannot write: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write: no permission to write in {folder}")
    try:  # root passes every permission test, and some folders (/proc, a read-only mount) refuse anyway
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".nnbackprop-", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"{path}: cannot write in {folder}: {e.strerror or e}") from None
    longest = max(real[len(folder) :].split(os.sep), key=len)
    if len(os.fsencode(longest)) > _name_max(folder):
        raise OutputError(f"{path}: cannot write: the file name is longer than {_name_max(folder)} bytes")


def check_not_inputs(outputs, inputs, allowed=()):
    """Refuse, before any work, an output that would overwrite one of the run's inputs.

    ``outputs`` and ``inputs`` map a name for messages (``--out``, ``the config``) to a
    path or a :class:`Stream`; ``allowed`` holds the (output, input) pairs that may
    coincide (``--out`` over ``--resume``'s own file, which is how a run resumes in place).
    Paths are compared as the files they reach: through links, ``..``, ``/proc/self/cwd``
    and hard links.  Only regular files count as inputs: a terminal that is both stdin and
    stdout is not overwritten by writing to it.
    """
    for out_name, path in outputs.items():
        identity = _identity(path, existing=False)
        if identity is None:
            continue
        for in_name, source in inputs.items():
            if (out_name, in_name) not in allowed and _identity(source, existing=True) == identity:
                raise OutputError(
                    f"{out_name} {path} is {in_name} {source}: writing it would destroy an input; give another path"
                )


def _identity(path, existing: bool):
    """What a path reaches: ``(device, inode)`` of a regular file, else its resolved path;
    None for streams, devices, and (when ``existing``) anything that is not a regular file."""
    if path is None or isinstance(path, Stream) or not str(path).strip() or path == "-":
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None if existing else ("path", os.path.realpath(path))
    if not stat.S_ISREG(st.st_mode):
        return None
    return ("file", st.st_dev, st.st_ino)
