"""Data on disk: a 2-D float64 ``.npy`` file whose columns are read a block of rows at a time.

``data.path: big.npy`` names such a file: column 0 is the input and column 1 the target
(``data.input`` and ``data.target`` may number other columns).  Training never holds it
whole: each pass reads it a block of rows at a time through a :class:`numpy.memmap`
opened for that block and closed after it, so the process's memory stays bounded
whatever the number of rows (the pages read stay in the system's file cache, not in the
process).  Every sum over rows is added in the same block order as for data in memory,
so a run on disk gives the numbers of the same run in memory.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from .errors import DataError
from .files import reading
from .network import blocks

MAGIC = b"\x93NUMPY"


class Table:
    """A C-ordered 2-D float64 array in a ``.npy`` file: ``rows`` by ``columns``."""

    def __init__(self, path: str):
        self.path = path
        with reading(path, DataError, ".npy file"), open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                raise DataError(f"{path}: not a .npy file (it does not start with NumPy's magic bytes)")
            f.seek(0)
            try:
                version = np.lib.format.read_magic(f)
                read_header = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = read_header(f)
            except ValueError as e:
                raise DataError(f"{path}: not a readable .npy header: {e}") from None
            self.offset = f.tell()
        if dtype != np.float64 or len(shape) != 2 or shape[1] < 2:
            raise DataError(
                f"{path}: expected a 2-D float64 array of at least 2 columns (input, target), "
                f"got shape {shape} of {dtype}"
            )
        if fortran and shape[0] > 1:
            raise DataError(f"{path}: stored in Fortran order; save it C-ordered (np.ascontiguousarray)")
        self.rows, self.columns = shape
        size = self.offset + self.rows * self.columns * 8
        if os.path.getsize(path) < size:
            raise DataError(
                f"{path}: truncated: its header promises {size:,} bytes, the file holds {os.path.getsize(path):,}"
            )
        self._last = threading.local()  # each thread's last block, so x and y of a block are read once

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo`` to ``hi`` as a fresh (hi - lo, columns) array."""
        last = getattr(self._last, "block", None)
        if last is not None and last[0] == (lo, hi):
            return last[1]
        if hi <= lo:
            block = np.empty((0, self.columns))
        else:
            with reading(self.path, DataError, ".npy file"):
                view = np.memmap(
                    self.path, np.float64, "r", self.offset + lo * self.columns * 8, (hi - lo, self.columns)
                )
                block = np.array(view)
                del view  # unmapped: the pages leave the process
        self._last.block = ((lo, hi), block)
        return block

    def check_finite(self, indices):
        """A DataError naming the first row and column (of ``indices``) that is not a finite number."""
        for rows in blocks(self.rows, self.columns):
            block = self.read(rows.start, rows.stop)
            bad = ~np.isfinite(block[:, indices])
            if bad.any():
                row, col = np.argwhere(bad)[0]
                column = indices[col]
                value = block[row, column]
                where = f"{self.path}: row {rows.start + row} (from 0, as NumPy counts), column {column}"
                raise DataError(f"{where}: {float(value)!r} is not a finite number")


class Column:
    """One column of a :class:`Table`, sliced as an array would be: ``column[lo:hi]`` reads those rows."""

    def __init__(self, table: Table, index: int):
        self.table, self.index = table, index
        self.shape, self.ndim, self.dtype = (table.rows,), 1, np.dtype(np.float64)

    def __len__(self) -> int:
        return self.table.rows

    def __getitem__(self, rows):
        if not isinstance(rows, slice) or rows.step not in (None, 1):
            raise TypeError("a column on disk is read by ranges of rows: column[lo:hi]")
        lo, hi, _ = rows.indices(self.table.rows)
        return np.ascontiguousarray(self.table.read(lo, hi)[:, self.index])


def load(path: str, names):
    """Columns of a .npy file (numbered ``names``: None for 0, 1, ...) as arrays in memory, for the
    commands that look at the data rather than train on it."""
    used, (x, y) = columns(path, *names)
    return used, [in_memory(x), in_memory(y)]


def in_memory(column):
    """An array of a column, on disk or not (the whole column is read)."""
    return np.asarray(column[0 : len(column)]) if isinstance(column, Column) else column


def columns(path: str, input: str | None, target: str | None):
    """``(names, (x, y))`` of the ``.npy`` file at ``path``: :class:`Column` s, checked finite."""
    table = Table(path)
    indices = []
    for key, given, default in (("data.input", input, 0), ("data.target", target, 1)):
        if given is None:
            indices.append(default)
        elif given.isdigit() and int(given) < table.columns:
            indices.append(int(given))
        else:
            raise DataError(f"{path}: {key}: {given!r}: a .npy file's columns are numbered 0 to {table.columns - 1}")
    if indices[0] == indices[1]:
        raise DataError(f"{path}: input and target are the same column {indices[0]}")
    if not table.rows:
        raise DataError(f"{path}: no rows of data")
    table.check_finite(indices)
    return [str(i) for i in indices], (Column(table, indices[0]), Column(table, indices[1]))
