"""CSV files to float64 arrays, with errors that name the file, line and column.

A training or scoring CSV is read a block of lines at a time (:func:`stream_columns`),
straight into float64 arrays allocated once, so reading never holds more than the
arrays and one block of text.  Each block goes through NumPy's C parser; anything
unusual (quotes, blank lines with spaces, a bad cell, text that is not ASCII) goes
through a plain row-by-row parser that finds the exact line and column to blame, so
the fast path never has to explain anything.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import math
import os

import numpy as np

from .errors import DataError
from .files import MAX_LINE_BYTES, Stream, reading

BLOCK_BYTES = 1 << 20  # 1 MiB of CSV text parsed at once (measured fastest: 2 and 4 MiB fall out of the caches)


def load_columns(path: str, names: list[str | None]) -> tuple[list[str], list[np.ndarray]]:
    """Read the named columns of a CSV file with a header row, a block at a time.

    A name of ``None`` picks the column at the same position (first, second, ...).
    Returns the column names used and one float64 array per column.
    """
    if isinstance(path, str) and path.endswith(".npy"):
        from . import disk

        return disk.load(path, names)
    return stream_columns(path, lambda header: names)


def load_xy(path: str, input: str | None, target: str | None, progress=None, digest=None, notes=None):
    """The input and target columns of a training CSV: ``(names, (x, y))``.

    A column not named is the first column that the other one does not take (of a file of
    more than two columns, said in ``notes``, a list, where it is given).
    ``progress(bytes_read, bytes_in_all)`` is called after each block of a file; ``digest``
    (a :mod:`hashlib` object), if given, is updated with every byte read, so that the file's
    hash comes from the same read as its numbers.
    """
    if input is not None and input == target:
        raise DataError(f"{path}: input and target are the same column '{input}'")

    def pick(header):
        if notes is not None and len(header) > 2 and None in (input, target):
            notes.append(_chosen(header, input, target))
        free = [c for c in header if c not in (input, target)]
        if input is None and target is not None and free:
            return [free[0], target]
        if target is None and input is not None and free:
            return [input, free[0]]
        return [input, target]

    given = len(notes) if notes is not None else 0
    try:
        names, arrays = stream_columns(path, pick, progress, digest)
    except DataError as e:  # a column the config does not name may be the one at fault: say which it took
        raise DataError(f"{e}; {notes[given]}" if notes is not None and len(notes) > given else str(e)) from None
    if names[0] == names[1]:  # a file of one column, which the config names
        raise DataError(f"{path}: needs an input and a target column, found only '{names[0]}' for both")
    return names, arrays


def _chosen(header, input, target) -> str:
    """Which columns of a file of more than two a config that names one or neither trains on."""
    free, width = [c for c in header if c not in (input, target)], len(header)
    if input is None and target is None:
        first = f"'{header[0]}' and '{header[1]}'"
        return f"data.input and data.target are not set: they are the first two of {width} columns, {first}"
    unset, other = ("data.target", "data.input") if target is None else ("data.input", "data.target")
    return f"{unset} is not set: it is '{free[0]}', the first of the {width} columns that {other} does not take"


def stream_columns(path, pick, progress=None, digest=None):
    """The columns ``pick(header)`` names (``None``: by position) of a CSV with a header row,
    read a block at a time: ``(used names, arrays)``.

    Memory: the arrays, sized from the file's size and the first block's rows (grown by a
    quarter in the rare case that is too few), and one block of text.  Each block goes
    through NumPy's C parser; a block it refuses (quotes, blank lines with spaces, a bad
    cell, text that is not ASCII) is read row by row, which names the line and column at
    fault.
    """
    with reading(path, DataError, "CSV file"), _open_binary(path) as f:
        size = os.fstat(f.fileno()).st_size if hasattr(f, "fileno") and os.path.isfile(str(path)) else 0
        blocks = _blocks_of_lines(f if digest is None else _Hashing(f, digest), path)
        header, number, first = _header_of(blocks, path)
        names = pick(header)
        if all(_is_number(cell) for cell in header):
            raise DataError(f"{path}: line {number}: no header row (the first line holds only numbers)")
        indices = [_column_index(header, name, position, path, number) for position, name in enumerate(names)]
        used = [header[i] for i in indices]
        if len(set(used)) < len(used):  # columns taken by position whose names are the same
            _duplicated(header, next(name for name in used if used.count(name) > 1), f"{path}: line {number}")
        out, rows = None, 0
        for start, block, lines in itertools.chain([first], blocks):
            try:
                values = _parse_block(block, path, start, number, len(header), indices, used)
            except DataError as e:  # "# made by me, today" and then the header: the comment was taken for it
                if not (rows == 0 and header[0].startswith("#") and _names_only(block)):
                    raise
                raise DataError(f"{e} (the first line is the header: a comment cannot come before it)") from None
            if progress is not None and size:
                progress(start + len(block), size)
            number += lines
            n = len(values[0])
            if not n:
                continue
            if out is None or rows + n > len(out[0]):
                per_row = len(block) / max(n, 1)
                wanted = max(rows + n, int(1.25 * len(out[0])) if out else int(size / per_row * 1.05) + 16)
                out = [_grown(column, rows, wanted) for column in (out or [np.empty(0)] * len(indices))]
            for column, value in zip(out, values):
                column[rows : rows + n] = value
            rows += n
    if not rows:
        raise DataError(f"{path}: a header row but no data rows")
    return used, [column[:rows] for column in out]


class _Hashing:
    """A binary file whose reads also go into ``digest``."""

    def __init__(self, f, digest):
        self.f, self.digest = f, digest

    def read(self, size=-1):
        chunk = self.f.read(size)
        self.digest.update(chunk)
        return chunk


def _grown(column, rows, size):
    bigger = np.empty(size)
    bigger[:rows] = column[:rows]
    return bigger


def _open_binary(path):
    if isinstance(path, Stream):
        return contextlib.nullcontext(path.file)
    return open(path, "rb")


def _blocks_of_lines(f, path):
    """``(offset, bytes, lines)``: the file in blocks of whole records of about BLOCK_BYTES, a
    byte-order mark dropped and CR or CRLF line ends turned into LF (a CR is never split
    from its LF), with the number of line ends in each.  A block never ends inside a quoted
    field, which may hold line ends (RFC 4180)."""
    offset, carry, lines = 0, b"", 0
    while True:
        chunk = f.read(BLOCK_BYTES)
        if offset == 0 and not carry and chunk.startswith(b"\xef\xbb\xbf"):
            chunk, offset = chunk[3:], 3
        if not chunk:
            if carry:
                block = _lf(carry)
                opened = _unclosed(block)
                if opened is not None:
                    raise _never_closes(path, lines + block[:opened].count(b"\n") + 1)
                yield offset, block, _line_ends(block)
            return
        chunk = carry + chunk
        while chunk.endswith(b"\r"):  # its LF may be the next byte (after more CRs: \r\r\n)
            byte = f.read(1)
            chunk += byte
            if not byte:
                break
        cut = _records_end(chunk)
        if cut == 0:
            if len(chunk) > MAX_LINE_BYTES:
                if _unclosed(chunk) is not None:
                    raise _runs_on(path, lines + 1)
                raise DataError(f"{path}: line {lines + 1}: longer than {MAX_LINE_BYTES:,} characters (not a CSV?)")
            carry = chunk
            continue
        block, carry = _lf(chunk[:cut]), chunk[cut:]
        count = _line_ends(block)
        lines += count
        yield offset, block, count
        offset += cut


def _records_end(chunk: bytes) -> int:
    """Where the last whole record of ``chunk`` (which starts one) ends: after its last line end
    outside quoted fields; 0 for none."""
    opens, closes = _quoted_spans(chunk) if b'"' in chunk else ((), ())
    if not len(opens):  # no quoted field (a quote in a text field is text)
        return max(chunk.rfind(b"\n"), chunk.rfind(b"\r")) + 1
    raw = np.frombuffer(chunk, dtype=np.uint8)
    ends = np.flatnonzero((raw == 10) | (raw == 13))
    span = np.searchsorted(opens, ends) - 1  # the last quoted field opened before each line end
    inside = (span >= 0) & (closes[np.maximum(span, 0)] > ends)
    outside = ends[~inside]
    return int(outside[-1]) + 1 if len(outside) else 0


def _unclosed(chunk: bytes) -> int | None:
    """Where the quoted field that ``chunk`` (which starts a record) ends inside opens, or None."""
    if b'"' not in chunk:
        return None
    opens, closes = _quoted_spans(chunk)
    return int(opens[-1]) if len(opens) and closes[-1] == len(chunk) else None


def _still_open(line: bytes, open: bool) -> bool:
    """Whether a quoted field is open at the end of ``line``, given whether one was at its start."""
    if open:
        quotes = [i for i, c in enumerate(line) if c == 34]
        k = 0
        while k + 1 < len(quotes) and quotes[k + 1] == quotes[k] + 1:  # "": an escaped quote
            k += 2
        if k >= len(quotes):
            return True
        line = b"x" + line[quotes[k] + 1 :]  # after the closing quote, mid-field: a quote there is text
    return _unclosed(line) is not None


def _never_closes(path, line) -> DataError:
    return DataError(f"{path}: line {line}: a quoted field that never closes (a closing quote is missing)")


def _runs_on(path, line) -> DataError:
    return DataError(
        f"{path}: line {line}: a quoted field runs on for more than {MAX_LINE_BYTES:,} characters "
        "(is a closing quote missing?)"
    )


def _quoted_spans(chunk: bytes):
    """The quoted fields of ``chunk`` (which starts a record), as Python's csv reader finds them:
    arrays of where each opens and closes (``len(chunk)`` for one still open at the end).  A
    quote opens a field only at its start (after spaces: ``skipinitialspace``); inside, ``""``
    is a quote; elsewhere a quote is text, as in ``12" pipe``."""
    quotes = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 34).tolist()
    opens, closes, i, n = [], [], 0, len(quotes)
    while i < n:
        p = quotes[i]
        k = p - 1
        while k >= 0 and chunk[k] == 32:
            k -= 1
        if k >= 0 and chunk[k] not in (44, 10, 13):  # not a field's start: text
            i += 1
            continue
        j = i + 1
        while j + 1 < n and quotes[j + 1] == quotes[j] + 1:  # "" inside: an escaped quote
            j += 2
        opens.append(p)
        closes.append(quotes[j] if j < n else len(chunk))
        i = j + 1
    return np.array(opens, dtype=np.int64), np.array(closes, dtype=np.int64)


def _line_ends(block: bytes) -> int:
    """How many LFs ``block`` holds (NumPy counts them about 4 times faster than bytes.count)."""
    return int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 10))


def _lf(block: bytes) -> bytes:
    return block.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in block else block


def _header_of(blocks, path):
    """The header row's cells, its line number, and ``(offset, bytes)`` of the data after it."""
    number = 0
    for start, block, _ in blocks:
        position = 0
        while position < len(block):
            end = block.find(b"\n", position)
            end = len(block) if end < 0 else end
            still = _unclosed(block[position:end]) is not None  # a name holds a line end: the header goes on
            while still and end < len(block):
                after = block.find(b"\n", end + 1) % (len(block) + 1)  # -1: the block's end
                still, end = _still_open(block[end + 1 : after], True), after
            number += 1
            line = block[position:end]
            if line.strip():
                _text_only(line, path, start + position)
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise DataError(f"{path}: line {number}: not UTF-8 text (byte 0x{line[e.start]:02x})") from None
                cells = [cell.strip() for cell in _split(text, path, number)]
                rest = block[end + 1 :]
                return cells, number + line.count(b"\n"), (start + end + 1, rest, _line_ends(rest))
            position = end + 1
    raise DataError(f"{path}: empty file, expected a header row and data rows")


def _text_only(block: bytes, path, start: int):
    """A DataError for a NUL byte, which no text holds, at its offset in the file."""
    nul = block.find(0)
    if nul >= 0:
        raise DataError(f"{path}: binary file (NUL byte at offset {start + nul}), expected a CSV file")


def _parse_block(block: bytes, path, start, line_before, ncols, indices, names):
    """The values of a block of whole lines: NumPy's C parser, or row by row to name a fault."""
    _text_only(block, path, start)
    if not block or block.isspace():
        return [np.empty(0) for _ in indices]
    plain = block if b'"' not in block else _unquoted(block)
    if plain is not None and plain.isascii():
        table = _c_parse(plain)
        if table is not None and table.shape[1] == ncols and np.isfinite(table[:, indices]).all():
            return [table[:, i] for i in indices]  # views: copied once, into the arrays
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as e:
        line = line_before + block[: e.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not UTF-8 text (byte 0x{block[e.start]:02x})") from None
    return _parse_slow(text, ncols, indices, names, path, line_before)


def _unquoted(block: bytes) -> bytes | None:
    """``block`` without its quotes where each pair opens a cell and holds something but no
    comma, line end or quote, so that the C parser reads the numbers the CSV reader would (which
    also keeps what follows a closing quote in the cell); None where any does not (row by row)."""
    raw = np.frombuffer(block, dtype=np.uint8)
    quotes = np.flatnonzero(raw == ord('"'))
    if len(quotes) % 2:
        return None
    opens, closes = quotes[0::2], quotes[1::2]
    edge = np.isin(np.concatenate(([10], raw, [10])), (ord(","), ord("\n"), ord("\r")))  # raw[p] is edge[p + 1]
    seps = np.flatnonzero(edge)
    inside = np.searchsorted(seps, closes + 1) > np.searchsorted(seps, opens + 1)  # a separator between them
    simple = edge[opens] & ~inside & (closes > opens + 1)  # "" is a cell, not a blank line
    return raw[raw != ord('"')].tobytes() if simple.all() else None


def _c_parse(block: bytes):
    """A block of ASCII CSV lines as an (n, columns) float64 table, or None where NumPy refuses it.

    NumPy's C reader is fastest on a file-like object read in chunks (``filelike=True``),
    which ``np.loadtxt`` keeps for paths; where that private entry point is not there, the
    public one does the same, a little slower.
    """
    try:
        stream = io.TextIOWrapper(io.BytesIO(block), encoding="latin-1")  # ASCII (checked): the fastest codec
        if _LOAD is not None:
            try:
                return _LOAD(stream, filelike=True, **_LOAD_OPTIONS)
            except TypeError:  # another NumPy's signature
                stream.seek(0)
        return np.loadtxt(stream, delimiter=",", comments=None, ndmin=2, dtype=np.float64)
    except ValueError:
        return None


_LOAD = getattr(getattr(np.lib, "_npyio_impl", None) or getattr(np.lib, "npyio", None), "_load_from_filelike", None)
_LOAD_OPTIONS = dict(
    delimiter=",",
    comment=None,
    quote=None,
    imaginary_unit="j",
    usecols=None,
    skiplines=0,
    max_rows=-1,
    converters=None,
    dtype=np.dtype(np.float64),
    encoding="latin-1",
    byte_converters=False,
)


def iter_inputs(path: str, column: str | None, block: int = 65536, trained: str | None = None):
    """Yield the inputs in ``path`` (a path or a :class:`~nnbackprop.files.Stream`) as float64
    arrays of at most ``block`` values.

    The file is either one number per line or a CSV with a header row, read from
    ``column``, or where that is None from ``trained`` (the column a result was trained on)
    where the file has it, else from its only column.  It is read a block of lines at a
    time, so a large file never sits in memory whole.
    """
    stream = _open_text(path)
    try:
        number = 0
        while True:
            line = _readline(stream, path, number + 1)
            if not line:
                raise DataError(f"{path}: empty, expected numbers (one per line) or a CSV with a header")
            number += 1
            if line.strip():
                break
        if looks_like_number(line):
            ncols, indices, names, lines = 1, [0], [None], [line]
        else:
            first, still = number, _unclosed(line.encode()) is not None
            while still:  # a name holds a line end: the header goes on
                more = _readline(stream, path, number + 1)
                if not more:
                    raise _never_closes(path, first)
                line, number, still = line + more, number + 1, _still_open(more.encode(), True)
            columns = [cell.strip() for cell in _split(line.rstrip("\n"), path, first)]
            lone = len(columns) == 1 and not any(s in columns[0] for s in ";\t|")  # not one split wrong
            if column is None and trained is not None and not (lone and trained not in columns):
                column = trained
            if column is None and len(columns) > 1:
                raise DataError(f"{path}: line {first}: which column holds the input? (columns: {', '.join(columns)})")
            indices = [_column_index(columns, column, 0, path, first)]
            ncols, names, lines = len(columns), [columns[indices[0]]], []
        offset = number - len(lines)
        size = 1  # blocks grow 1, 2, 4, ... up to `block`: the first answers come at once
        more = True
        opened, held, checked = None, 0, False  # a quoted field still open: its line, its characters so far
        while more:
            if len(lines) < size or opened:  # a block ends with a whole record
                line = _readline(stream, path, offset + len(lines) + 1)
                more = line != ""
                if more:
                    lines.append(line)
                    if opened and ('"' not in line or _still_open(line.encode(), True)):  # still open
                        held += len(line)
                        if held > MAX_LINE_BYTES:
                            raise _runs_on(path, opened)
                    else:
                        opened = None
                    continue
            if lines and not checked:  # the block is full, or the file ended: inside a quoted field?
                checked, text = True, "".join(lines).encode()
                at = _unclosed(text)
                if at is not None:
                    opened, held = offset + text[:at].count(b"\n") + 1, len(text) - at
                    if more:
                        continue
            if lines:
                whole = lines[: opened - offset - 1] if opened else lines  # the records before one that never closes
                block_lines = [s.rstrip("\n") for s in whole]
                try:
                    values = _parse_body(block_lines, 0, ncols, indices, names, path, offset)[0]
                except DataError:  # the rows before the bad line still come out, then the error
                    good = _good_prefix("\n".join(block_lines), ncols, indices, names, path, offset)
                    if len(good):
                        yield good
                    raise
                if opened:
                    yield values
                    raise _never_closes(path, opened)
                yield values
                offset += len(lines)
                lines, checked = [], False
                size = min(2 * size, block)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    finally:
        if not isinstance(path, Stream):
            stream.close()


def _readline(stream, path, number):
    """The next line of a streamed input, at most MAX_LINE_BYTES long ('' at the end)."""
    line = stream.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES and not line.endswith("\n"):
        raise DataError(f"{path}: line {number}: longer than {MAX_LINE_BYTES:,} characters (not a text file?)")
    return line


def _good_prefix(text, ncols, indices, names, path, offset) -> np.ndarray:
    """The first column's values of the records before the first bad one (which raises in
    :func:`_parse_body`)."""
    good = []
    with contextlib.suppress(DataError):
        good.extend(row[0] for row in _rows(text, ncols, indices, names, path, offset))
    return np.array(good, dtype=np.float64)


def _open_text(path):
    if isinstance(path, Stream):
        return io.TextIOWrapper(path.file, encoding="utf-8-sig", newline=None)
    with reading(path, DataError, "input file"):
        return open(path, encoding="utf-8-sig", newline=None)


def looks_like_number(line: str) -> bool:
    """True when ``line`` holds one number and nothing else (a values file, not a CSV header)."""
    return _is_number(line.strip())


def _records(text, source, line_offset):
    """``(line number, cells)`` of each CSV record of ``text``, numbered by the line it starts on."""
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    while True:
        number = line_offset + reader.line_num + 1
        try:
            yield number, next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise DataError(f"{source}: line {number}: {e}") from None


def _split(line, source, number):
    try:
        return next(csv.reader([line], skipinitialspace=True))
    except csv.Error as e:
        raise DataError(f"{source}: line {number}: {e}") from None


def _names_only(block: bytes) -> bool:
    """Whether the first line of ``block`` that is not blank holds no number: a header, by the look of it."""
    line = next((line for line in block.split(b"\n") if line.strip()), b"")
    cells = line.decode("utf-8", "replace").split(",")
    return not any(_is_number(cell) for cell in cells)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _column_index(columns, name, position, source, line=None):
    """Where column ``name`` (None: the ``position``-th) is in the header ``columns`` (on ``line``)."""
    where = source if line is None else f"{source}: line {line}"
    one = columns[0] if len(columns) == 1 else ""  # a header of one cell: split by something else?
    separator = next((f" (it holds {s!r}: columns are separated by commas)" for s in ";\t|" if s in one), "")
    if columns[0].startswith("#"):
        separator = " (the first line is the header: a comment cannot come before it)"
    if name is None:
        if position >= len(columns):
            raise DataError(f"{where}: needs at least {position + 1} columns, found {len(columns)}{separator}")
        return position
    found = _duplicated(columns, name, where)
    if found:
        return found[0]
    raise DataError(f"{where}: no column '{name}' (columns: {', '.join(columns)}){separator}")


def _duplicated(columns, name, where) -> list[int]:
    """Where ``name`` is in the header ``columns``: an error where it is more than once."""
    found = [k for k, column in enumerate(columns) if column == name]
    if len(found) > 1:
        numbers = " and ".join(str(k + 1) for k in found)
        raise DataError(f"{where}: {len(found)} columns are named '{name}' (columns {numbers}): rename all but one")
    return found


def _parse_body(lines, start, ncols, indices, names, source, line_offset=0):
    body = "\n".join(lines[start:]).rstrip()
    if "\x00" in body:
        raise DataError(f"{source}: binary file (a NUL byte), expected text")
    arrays = _parse_fast(body, ncols, indices)
    if arrays is None:
        arrays = _parse_slow("\n".join(lines[start:]), ncols, indices, names, source, line_offset + start)
    return arrays


def _parse_fast(body: str, ncols: int, indices) -> list[np.ndarray] | None:
    """Vectorized parse of a clean body; None when anything needs a closer look."""
    data = body.encode()
    if b'"' in data:
        data = _unquoted(data)
        body = data and data.decode()  # only here: an unquoted body is read as it came
    if not data:
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    separators = np.flatnonzero((raw == ord(",")) | (raw == ord("\n")))
    line_ends = np.flatnonzero(raw[separators] == ord("\n"))
    bounds = np.concatenate(([-1], line_ends, [len(separators)]))
    if np.any(np.diff(bounds) != ncols):  # commas per line + 1 == ncols, blank lines included
        return None
    try:
        table = np.loadtxt(io.StringIO(body), delimiter=",", usecols=indices, comments=None, ndmin=2, dtype=np.float64)
    except ValueError:
        return None
    if not np.isfinite(table).all():
        return None
    return [np.ascontiguousarray(table[:, k]) for k in range(len(indices))]


def _parse_slow(text, ncols, indices, names, source, line_offset):
    """Record by record (a quoted field may span lines), naming the line and column of the first
    thing wrong; ``line_offset``: the lines before ``text``.  Blank lines are skipped."""
    rows = list(_rows(text, ncols, indices, names, source, line_offset))
    return [np.array([row[k] for row in rows], dtype=np.float64) for k in range(len(indices))]


def _rows(text, ncols, indices, names, source, line_offset):
    """Each record's values in the ``indices`` columns, in order, raising at the first thing wrong."""
    lines = None
    for number, cells in _records(text, source, line_offset):
        if len(cells) <= 1 and not "".join(cells).strip():  # a blank line, or a lone "" (not blank)
            lines = lines or text.split("\n")
            if not lines[number - line_offset - 1].strip():
                continue
        if len(cells) != ncols:
            expected = f"{ncols} as in the header" if names[0] is not None else "one number per line"
            spans = any("\n" in cell for cell in cells)  # a quote that never closed takes the lines after it
            hint = f"; a quoted field from line {number} holds a line end: is a closing quote missing?" if spans else ""
            raise DataError(
                f"{source}: line {number}: {len(cells)} field{'s' * (len(cells) != 1)}, expected {expected}{hint}"
            )
        yield tuple(_number(cells[index], source, number, name, ncols) for index, name in zip(indices, names))


def _number(cell, source, number, name, ncols):
    where = f"{source}: line {number}" + (f", column '{name}'" if name is not None else "")
    text = cell.strip()
    try:
        value = float(text if "_" not in text else "x")  # Python reads 1_000; a CSV does not
    except ValueError:
        shown = repr(text) if text else "an empty cell"
        raise DataError(f"{where}: {shown} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {text!r} is not a finite number")
    return value


def spread_rows(n: int, most: int):
    """``most`` row indices spread over ``n`` rows, to show a large dataset by: the rows cut into
    ``most`` equal stretches and one drawn from each (by a fixed seed: the same rows every time),
    the first and the last row among them; ``slice(None)`` (every row) when there are no more
    than ``most``.  Not a fixed stride: that aliases with a pattern in the rows (two series that
    alternate, a stride of 2: only one of them shown).  ``most`` is at least 2: the first and
    the last."""
    if most < 2:
        raise ValueError(f"spread_rows: most must be at least 2, not {most}")
    if n <= most:
        return slice(None)
    edges = np.arange(most + 1) * n // most
    rows = edges[:-1] + (np.random.default_rng(0).random(most) * np.diff(edges)).astype(np.int64)
    rows[[0, -1]] = 0, n - 1
    return rows


def is_file(path) -> bool:
    """Whether ``path`` is a regular file: one whose bytes can be hashed, and read again."""
    return not isinstance(path, Stream) and os.path.isfile(path)


def sha256(path: str) -> str | None:
    """The SHA-256 of a file's bytes, to record which data a result was trained on.

    None for a stream, a FIFO or a device: what they held is gone once read.
    """
    if not is_file(path):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
