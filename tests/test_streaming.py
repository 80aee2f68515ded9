"""The streaming CSV loader: the same arrays and the same errors whatever the block size."""

from __future__ import annotations

import io

import numpy as np
import pytest

from nnbackprop import data
from nnbackprop.errors import DataError
from nnbackprop.files import Stream

ROWS = [(i * 0.25, (i * 7 % 5) - 2.5) for i in range(60)]
PLAIN = "dosage,efficacy\n" + "".join(f"{x!r},{y!r}\n" for x, y in ROWS)
EXPECTED = (np.array([x for x, _ in ROWS]), np.array([y for _, y in ROWS]))


@pytest.fixture(params=[16, 37, 1 << 22], ids=["blocks of 16 B", "blocks of 37 B", "one block"])
def block_bytes(request, monkeypatch):
    monkeypatch.setattr(data, "BLOCK_BYTES", request.param)
    return request.param


def load(tmp_path, raw: bytes):
    path = tmp_path / "data.csv"
    path.write_bytes(raw)
    return data.load_xy(str(path), None, None)


@pytest.mark.parametrize(
    "raw",
    [
        PLAIN.encode(),
        PLAIN.replace("\n", "\r\n").encode(),
        PLAIN.replace("\n", "\r").encode(),
        b"\xef\xbb\xbf" + PLAIN.encode(),
        PLAIN.rstrip("\n").encode(),  # no line end after the last row
        ("\n\n" + PLAIN.replace("\n", "\n\n")).encode(),  # blank lines before, between and after
        PLAIN.replace("\n", " \n").encode(),  # a space before each line end
        PLAIN.replace(",", ' , "', 1).replace("efficacy", 'efficacy"', 1).encode(),  # a quoted header cell
        PLAIN.replace("\n0.25,", '\n"0.25",').encode(),  # a quoted cell
    ],
    ids=[
        "LF",
        "CRLF",
        "CR",
        "byte-order mark",
        "no final line end",
        "blank lines",
        "trailing spaces",
        "quoted header",
        "quoted cell",
    ],
)
def test_every_block_size_reads_the_same_arrays(tmp_path, block_bytes, raw):
    names, (x, y) = load(tmp_path, raw)
    assert names == ["dosage", "efficacy"]
    np.testing.assert_array_equal(x, EXPECTED[0])
    np.testing.assert_array_equal(y, EXPECTED[1])


def test_the_arrays_equal_numpys_own_reading(tmp_path, block_bytes):
    rng = np.random.default_rng(3)
    table = rng.standard_normal((500, 3)) * 10.0 ** rng.integers(-8, 8, (500, 3))
    path = tmp_path / "data.csv"
    np.savetxt(path, table, delimiter=",", header="a,b,c", comments="", fmt="%.17g")
    names, (x, y) = data.load_columns(str(path), ["c", "a"])
    assert names == ["c", "a"]
    np.testing.assert_array_equal(x, table[:, 2])
    np.testing.assert_array_equal(y, table[:, 0])


@pytest.mark.parametrize(
    ("line", "cell", "message"),
    [
        (41, "x", "line 41, column 'efficacy': 'x' is not a number"),
        (58, "", "line 58, column 'efficacy': an empty cell is not a number"),
        (30, "nan", "line 30, column 'efficacy': 'nan' is not a finite number"),
        (12, "1_000", "line 12, column 'efficacy': '1_000' is not a number"),
    ],
)
def test_an_error_names_its_line_whatever_block_it_is_in(tmp_path, block_bytes, line, cell, message):
    lines = PLAIN.splitlines()
    lines[line - 1] = lines[line - 1].split(",")[0] + "," + cell
    with pytest.raises(DataError) as error:
        load(tmp_path, ("\n".join(lines) + "\n").encode())
    assert str(error.value) == f"{tmp_path / 'data.csv'}: {message}"


def test_a_ragged_row_names_its_line(tmp_path, block_bytes):
    lines = PLAIN.splitlines()
    lines[49] += ",3"
    with pytest.raises(DataError, match=r"line 50: 3 fields, expected 2 as in the header"):
        load(tmp_path, ("\n".join(lines) + "\n").encode())


def test_a_crlf_file_names_the_same_line_as_an_lf_file(tmp_path, block_bytes):
    lines = PLAIN.splitlines()
    lines[44] = "1,oops"
    with pytest.raises(DataError, match=r"line 45, column 'efficacy': 'oops'"):
        load(tmp_path, ("\r\n".join(lines) + "\r\n").encode())


def test_a_nul_byte_names_its_offset_in_the_file(tmp_path, block_bytes):
    raw = PLAIN.encode()
    at = raw.index(b"\n", 300) + 1
    with pytest.raises(DataError, match=rf"binary file \(NUL byte at offset {at}\), expected a CSV file"):
        load(tmp_path, raw[:at] + b"\x00" + raw[at:])


def test_text_that_is_not_utf8_names_its_line(tmp_path, block_bytes):
    lines = PLAIN.encode().split(b"\n")
    lines[32] = b"1,\xff"
    with pytest.raises(DataError, match=r"line 33: not UTF-8 text \(byte 0xff\)"):
        load(tmp_path, b"\n".join(lines))


def test_a_stream_reads_as_a_file_does(block_bytes):
    names, (x, y) = data.load_xy(Stream(io.BytesIO(PLAIN.encode())), None, None)
    assert names == ["dosage", "efficacy"]
    np.testing.assert_array_equal(x, EXPECTED[0])


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"a,b\n" + b"1" * 1000 + b",2\n", r"line 2: longer than 100 characters"),
        (b'a,b,c\n1,"' + b"x\n" * 500 + b"\n", r"line 2: a quoted field runs on for more than 100 characters"),
    ],
    ids=["a line", "a quoted field"],
)
def test_an_endless_line_is_refused_before_it_ends(tmp_path, monkeypatch, raw, message):
    monkeypatch.setattr(data, "MAX_LINE_BYTES", 100)
    monkeypatch.setattr(data, "BLOCK_BYTES", 64)
    with pytest.raises(DataError, match=message):
        load(tmp_path, raw)


def test_more_rows_than_the_first_block_suggests_still_fit(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "BLOCK_BYTES", 64)
    short = "".join(f"{i},{i}\n" for i in range(10))  # short lines first: the estimate is too small
    long = "".join(f"{i}.000000001,{i}.5\n" for i in range(10))
    names, (x, y) = load(tmp_path, ("a,b\n" + long + short * 30).encode())
    assert len(x) == 310
    assert y[-1] == 9.0


def test_a_long_read_shows_a_bar_on_a_terminal(tmp_path, monkeypatch):
    from nnbackprop.cli.progress import Reading

    monkeypatch.setattr(data, "BLOCK_BYTES", 64)
    path = tmp_path / "data.csv"
    path.write_text(PLAIN)
    screen = io.StringIO()
    bar = Reading("data.csv", stream=screen, interactive=True, delay=0.0, redraw=10**9)
    data.load_xy(str(path), None, None, bar)
    bar.close()
    drawn = screen.getvalue()
    assert drawn.startswith("\r[")
    assert "reading data.csv: 100% of 0 MB" in drawn
    assert drawn.endswith("\r\x1b[K")  # cleared for what follows


def test_a_read_shows_nothing_off_a_terminal_or_when_short(tmp_path):
    from nnbackprop.cli.progress import Reading

    path = tmp_path / "data.csv"
    path.write_text(PLAIN)
    for bar in (
        Reading("d", stream=io.StringIO(), interactive=False, delay=0.0),
        Reading("d", stream=io.StringIO(), interactive=True),
    ):
        data.load_xy(str(path), None, None, bar)
        bar.close()
        assert bar.stream.getvalue() == ""


# --- quoted fields that hold line ends (RFC 4180), in a column the run does not read -----------


def load_outer(tmp_path, text: str):
    """The dosage and efficacy columns of ``text``, around the note column."""
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode())
    return data.load_xy(str(path), "dosage", "efficacy")


NOTES = ["one line", "two\nlines", 'a "quoted" word', "CRLF\r\ninside", "a comma, and\n\nblank lines", ""]
QUOTED = "dosage,note,efficacy\n" + "".join(
    f'{x!r},"{NOTES[i % len(NOTES)].replace(chr(34), chr(34) * 2)}",{y!r}\n' for i, (x, y) in enumerate(ROWS)
)


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_a_quoted_field_may_hold_line_ends_whatever_the_block_size(tmp_path, block_bytes, line_end):
    names, (x, y) = load_outer(tmp_path, QUOTED.replace("\n", line_end).replace("\r\r\n", "\r\n"))
    assert names == ["dosage", "efficacy"]
    np.testing.assert_array_equal(x, EXPECTED[0])
    np.testing.assert_array_equal(y, EXPECTED[1])


def test_a_bad_cell_after_a_field_of_several_lines_names_its_own_line(tmp_path, block_bytes):
    raw = QUOTED.replace(f"\n{ROWS[40][0]!r},", f"\n{ROWS[40][0]!r}x,", 1)  # row 41: 'dosage' is not a number
    before = QUOTED.split(f"\n{ROWS[40][0]!r},")[0]
    line = before.count("\n") + 2  # the physical line, counting the line ends inside quotes
    with pytest.raises(DataError, match=rf"line {line}, column 'dosage': '{ROWS[40][0]!r}x' is not a number"):
        load_outer(tmp_path, raw)


def test_a_quote_that_never_closes_is_named(tmp_path, block_bytes):
    raw = QUOTED.replace('"one line"', '"one line', 1)
    said = r"line 2: \d+ fields?, expected 3 as in the header; a quoted field from line 2"
    with pytest.raises(DataError, match=said):
        load_outer(tmp_path, raw)


def test_a_quote_that_never_closes_in_the_last_column_is_named(tmp_path, block_bytes):
    """Python's csv reader would take the rest of the file into that field, and lose its rows."""
    text = 'x,y,note\n0,0,ok\n0.5,1,"calibrated\n1,0,ok\n0.25,0.5,ok\n'
    with pytest.raises(DataError, match=r"line 3: a quoted field that never closes"):
        load_outer(tmp_path, text.replace("x,y", "dosage,efficacy"))


def test_a_quote_inside_a_text_field_is_text(tmp_path, block_bytes):
    """As the csv reader reads it: a quote opens a quoted field only at the field's start, so a stray
    one in a text field (12" pipe) is text, and the quoted fields after it still hold their line ends."""
    fields = ['12" pipe', 'ab"c', '"two\nlines"', 'x"', '"say ""hi""\nthere"', ' "spaced\nquote"']
    text = "dosage,note,efficacy\n" + "".join(
        f"{x!r},{fields[i % len(fields)]},{y!r}\n" for i, (x, y) in enumerate(ROWS)
    )
    names, (x, y) = load_outer(tmp_path, text)
    np.testing.assert_array_equal(x, EXPECTED[0])
    np.testing.assert_array_equal(y, EXPECTED[1])


def test_a_header_name_may_hold_a_line_end(tmp_path, block_bytes):
    text = 'dosage,"note\nabout it",efficacy\n1,"",2\n3,x,y\n'
    with pytest.raises(DataError, match=r"line 4, column 'efficacy': 'y' is not a number"):
        load_outer(tmp_path, text)


def test_a_row_of_only_an_empty_quoted_field_is_not_a_blank_line(tmp_path, block_bytes):
    with pytest.raises(DataError, match=r"line 3: 1 field, expected 2 as in the header"):
        load(tmp_path, b'dosage,efficacy\n1,2\n""\n3,4\n')


@pytest.mark.parametrize("size", range(4, 20))
def test_cr_cr_lf_line_ends_count_alike_whatever_the_block_size(tmp_path, monkeypatch, size):
    """A file converted twice (\\r\\r\\n: a CR, then a CRLF): a block never ends between its CRs and its LF."""
    monkeypatch.setattr(data, "BLOCK_BYTES", size)
    raw = b"a,b\r\r\n" + b"1,2\r\r\n" * 3 + b"1,x\r\r\n"
    with pytest.raises(DataError, match=r"line 9, column 'b': 'x' is not a number"):
        load(tmp_path, raw)
