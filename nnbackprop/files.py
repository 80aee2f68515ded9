"""Reading input files and writing outputs atomically: the library's only file I/O.

Every reader and writer takes a path or a :class:`Stream`.  The library never opens
stdin or stdout itself: the command line turns ``-`` into a :class:`Stream` of them.
"""

from __future__ import annotations

import os
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


def read_bytes(path, error: type, what: str) -> bytes:
    """The bytes of ``path`` (a path or a binary :class:`Stream`), or ``error`` saying why not."""
    with reading(path, error, what):
        if isinstance(path, Stream):
            return path.file.read()
        with open(path, "rb") as f:
            return f.read()


def write_text(text, path):
    """Write ``text`` (a string, or strings one after another) to ``path`` atomically, or to a text :class:`Stream`."""
    chunks = [text] if isinstance(text, str) else text
    if isinstance(path, Stream):
        for chunk in chunks:
            path.file.write(chunk)
        path.file.flush()
        return
    write_bytes((chunk.encode("utf-8") for chunk in chunks), path)


def write_bytes(content, path: str):
    """Write ``content`` (bytes, or bytes one after another) to ``path`` atomically.

    It goes to a temporary file beside ``path`` that replaces it only once it is complete
    and on disk, so ``path`` is either its old self or the new file, never half.
    """
    chunks = [content] if isinstance(content, bytes) else content
    check_writable(path)
    if _in_place(path):  # /dev/stdout, a named pipe: no rename there, and append to what it holds
        try:
            with open(path, "ab") as f:
                for chunk in chunks:
                    f.write(chunk)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputError(f"{path}: cannot write: {e.strerror or e}") from None
        return
    real = os.path.realpath(path)  # a link stays a link: its target is what gets replaced
    folder = os.path.dirname(real)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(real)}.", suffix=".tmp")
    except OSError as e:
        raise OutputError(f"{path}: cannot write: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, real)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise OutputError(f"{path}: cannot write: {e.strerror or e}") from None
        raise


def _in_place(path: str) -> bool:
    """A device, a pipe, or a file descriptor's name (/dev/stdout, /proc/self/fd/1): written where it is."""
    if os.path.abspath(path).startswith(("/dev/", "/proc/")):
        return True
    return os.path.exists(path) and not os.path.isfile(path)


def check_writable(path):
    """Fail early, before any work, when ``path`` cannot be written (a :class:`Stream` always can)."""
    if isinstance(path, Stream):
        return
    if os.path.isdir(path):
        raise OutputError(f"{path}: is a directory; give a file name")
    if _in_place(path):  # a device or a pipe, written in place
        if not os.access(path, os.W_OK):
            raise OutputError(f"{path}: cannot write: no permission")
        return
    folder = os.path.dirname(os.path.realpath(path))  # through a link, to what it names
    while not os.path.exists(folder):  # the nearest folder that exists must let us create the rest
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise OutputError(f"{path}: cannot write: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write: no permission to write in {folder}")
