"""The library's exceptions. The CLI turns each into one ``Error: ...`` line and an exit code."""

import sys
from contextlib import contextmanager


class NnbackpropError(Exception):
    """Bad input: a config, a data file, a result file or a value. Exit code 2."""

    exit_code = 2


class ConfigError(NnbackpropError):
    """A config file, or a --set override, that cannot be used."""


class DataError(NnbackpropError):
    """A CSV or values file that cannot be read as numbers."""


class ResultError(NnbackpropError):
    """A result JSON file that does not describe a trained network."""


class OutputError(NnbackpropError):
    """An output path that cannot be written."""


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


def read_bytes(path: str, error: type, what: str) -> bytes:
    """The bytes of ``path`` (``-`` is stdin), or ``error`` saying why not."""
    with reading(path, error, what):
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as f:
            return f.read()
