"""CSV loading: what is tolerated, what is refused, and that both parsers agree."""

from __future__ import annotations

import re
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbackprop import data as data_module
from nnbackprop.data import _parse_slow, _unquoted, iter_inputs, load_columns, load_xy, spread_rows
from nnbackprop.errors import DataError


def load(tmp_path, content, names=("dosage", "efficacy"), mode="w"):
    path = tmp_path / "d.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return load_columns(str(path), list(names))


def test_reads_named_columns_and_ignores_others(tmp_path):
    names, (x, y) = load(tmp_path, "id,efficacy,dosage\na,0,0\nb,1,0.5\nc,0,1\n")
    assert names == ["dosage", "efficacy"]
    assert x.tolist() == [0, 0.5, 1]
    assert y.tolist() == [0, 1, 0]
    assert x.dtype == np.float64


def test_default_columns_are_first_and_second(tmp_path):
    names, (x, y) = load(tmp_path, "a,b\n1,2\n3,4\n", names=(None, None))
    assert names == ["a", "b"]
    assert x.tolist() == [1, 3]
    assert y.tolist() == [2, 4]


@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbfdosage,efficacy\n0,0\n0.5,1\n1,0\n",  # UTF-8 byte-order mark
        b"dosage,efficacy\r\n0,0\r\n0.5,1\r\n1,0\r\n",  # CRLF
        b" dosage , efficacy \n 0 , 0\n0.5 ,1\n1, 0 \n",  # spaces around fields and names
        b"dosage,efficacy\n0,0\n0.5,1\n1,0\n\n\n  \n",  # blank lines at the end
        b"dosage,efficacy\n0,0\n\n0.5,1\n1,0",  # a blank line inside, no final newline
        b'"dosage","efficacy"\n"0",0\n0.5,"1"\n1,0\n',  # quoted
        b"dosage,efficacy\n0,0\n5e-1,1E0\n1.0,.0\n",  # number forms
    ],
)
def test_tolerated_forms(tmp_path, content):
    _, (x, y) = load(tmp_path, content)
    assert x.tolist() == [0, 0.5, 1]
    assert y.tolist() == [0, 1, 0]


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        ("dosage,efficacy\n", "a header row but no data rows"),
        ("0,0\n0.5,1\n", "line 1: no header row"),
        ("dose,efficacy\n0,0\n", "no column 'dosage' (columns: dose, efficacy)"),
        ("dosage,efficacy\n0,0\n0.5,abc\n", "line 3, column 'efficacy': 'abc' is not a number"),
        ("dosage,efficacy\n0,0\n0.5,\n", "line 3, column 'efficacy': an empty cell is not a number"),
        ("dosage,efficacy\n0,nan\n", "line 2, column 'efficacy': 'nan' is not a finite number"),
        ("dosage,efficacy\n0,0\ninf,1\n", "line 3, column 'dosage': 'inf' is not a finite number"),
        ("dosage,efficacy\n0,0\n0.5\n", "line 3: 1 field, expected 2 as in the header"),
        ("dosage,efficacy\n0,0\n0.5,1,7\n", "line 3: 3 fields, expected 2 as in the header"),
        (b"dosage,efficacy\n0,\x00\x01\x02\n", "binary file"),
        (b"dosage,efficacy\n0,0\n\xff\xfe,1\n", "line 3: not UTF-8 text"),
        ("dosage;efficacy\n0;0\n", "no column 'dosage' (columns: dosage;efficacy) (it holds ';': columns are"),
        ("dosage\tefficacy\n0\t0\n", "(it holds '\\t': columns are separated by commas)"),
        ("# my data\ndosage,efficacy\n0,0\n", "(the first line is the header: a comment cannot come before it)"),
        ("# mine, 2026\ndosage,efficacy\n0,0\n", "(columns: # mine, 2026) (the first line is the header: a comment"),
    ],
)
def test_refused_with_line_and_column(tmp_path, content, message):
    with pytest.raises(DataError) as e:
        load(tmp_path, content)
    assert str(e.value).startswith(str(tmp_path / "d.csv"))
    assert message in str(e.value)


def test_a_comment_before_the_header_is_named_where_the_columns_are_taken_by_position(tmp_path):
    with pytest.raises(DataError) as e:  # the comment's cells are the header; the header, the first row
        load(tmp_path, "# mine, 2026\ndosage,efficacy\n0,0\n", names=(None, None))
    assert str(e.value).endswith(
        "'dosage' is not a number (the first line is the header: a comment cannot come before it)"
    )
    with pytest.raises(DataError) as e:  # '#dosage' may be a column's name: a bad cell under it is only that
        load(tmp_path, "#dosage,efficacy\n0,0\n0.5,abc\n", names=(None, None))
    assert str(e.value).endswith("line 3, column 'efficacy': 'abc' is not a number")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="no such CSV file"):
        load_columns(str(tmp_path / "nope.csv"), [None, None])
    with pytest.raises(DataError, match="is a directory"):
        load_columns(str(tmp_path), [None, None])


def test_fast_and_slow_parsers_agree(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.uniform(size=500)
    text = "a,b,c\n" + "".join(f"{u!r},{v!r},x\n" for u, v in zip(a.tolist(), b.tolist()))
    (tmp_path / "t.csv").write_text(text)
    names, (x, y) = load_columns(str(tmp_path / "t.csv"), ["a", "b"])
    slow = _parse_slow(text.split("\n", 1)[1], 3, [0, 1], ["a", "b"], "t", 1)
    np.testing.assert_array_equal(x, a)
    np.testing.assert_array_equal(y, b)
    np.testing.assert_array_equal(slow[0], x)
    np.testing.assert_array_equal(slow[1], y)


def test_iter_inputs_reads_values_or_a_csv_column_in_blocks(tmp_path):
    values = tmp_path / "v.txt"
    values.write_text("0\n0.25\n\n0.5\n1e-1\n")
    blocks = list(iter_inputs(str(values), None, block=2))
    assert [b.tolist() for b in blocks] == [[0], [0.25], [0.5, 0.1]]  # blocks of 1, 2, 2 lines; blank skipped
    csv = tmp_path / "c.csv"
    csv.write_text("id,dosage\na,1\nb,2\nc,3\n")
    assert np.concatenate(list(iter_inputs(str(csv), "dosage", block=2))).tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("header", "column", "read"),
    [
        ("a", None, [1, 2]),  # the only column, whatever its name (predict's help says so)
        ("dosage,b", None, [1, 2]),  # the trained column, where the file has it
        ("b,dosage", None, [2, 3]),
        ("a", "a", [1, 2]),
    ],
)
def test_iter_inputs_reads_the_trained_column_or_the_only_one(tmp_path, header, column, read):
    csv = tmp_path / "c.csv"
    width = header.count(",") + 1
    csv.write_text(header + "\n" + "".join(",".join(str(r + k) for k in range(width)) + "\n" for r in (1, 2)))
    assert np.concatenate(list(iter_inputs(str(csv), column, trained="dosage"))).tolist() == read


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("a,b", "no column 'dosage' (columns: a, b)"),  # two columns, neither the trained one: which?
        ("a;b", "(it holds ';': columns are separated by commas)"),  # one column, split wrong
    ],
)
def test_iter_inputs_does_not_guess_among_columns(tmp_path, header, said):
    csv = tmp_path / "c.csv"
    csv.write_text(header + "\n1,2\n")
    with pytest.raises(DataError, match=re.escape(said)):
        list(iter_inputs(str(csv), None, trained="dosage"))


def test_iter_inputs_names_the_line_of_a_bad_value_in_a_later_block(tmp_path):
    values = tmp_path / "v.txt"
    values.write_text("1\n2\n3\n4\nfour\n")
    with pytest.raises(DataError, match=r"v.txt: line 5: 'four' is not a number"):
        list(iter_inputs(str(values), None, block=2))


@pytest.mark.parametrize("block", [1, 2, 3, 65536])
def test_iter_inputs_reads_quoted_fields_that_hold_line_ends(tmp_path, block):
    path = tmp_path / "c.csv"
    path.write_text('note,dosage\n"a\nb",1\nplain,2\n"say ""hi""\n\nthere",3\n12" pipe,4\n"x",5\n')
    assert np.concatenate(list(iter_inputs(str(path), "dosage", block=block))).tolist() == [1, 2, 3, 4, 5]
    path.write_text('note,dosage\nok,1\n"a\nb,2\nc,3\n')
    with pytest.raises(DataError, match=r"c.csv: line 3: a quoted field that never closes"):
        list(iter_inputs(str(path), "dosage", block=block))
    path.write_text('note,dosage\nok,1\n"a\nb",x\n')
    with pytest.raises(DataError, match=r"c.csv: line 3, column 'dosage': 'x' is not a number"):
        list(iter_inputs(str(path), "dosage", block=block))


@pytest.mark.parametrize("block", [1, 2, 4, 65536])
def test_iter_inputs_yields_only_real_rows_before_an_error(tmp_path, block):
    """The rows before a bad record come out, and none that a multi-line field's lines would make up."""
    path = tmp_path / "c.csv"
    path.write_text('dosage\n0.5\n"0.1\n0.2\n0.3\n0.4"\n')
    out = []
    with pytest.raises(DataError, match=r"line 3, column 'dosage': '0.1\\n0.2\\n0.3\\n0.4' is not a number"):
        out.extend(v for values in iter_inputs(str(path), None, block=block) for v in values.tolist())
    assert out == [0.5]
    path.write_text('x\n1\noops\n"unclosed\n')  # the first thing wrong is named first
    with pytest.raises(DataError, match=r"line 3, column 'x': 'oops' is not a number"):
        list(iter_inputs(str(path), None, block=block))


@pytest.mark.parametrize("block", [1, 65536])
def test_iter_inputs_takes_a_header_name_that_holds_a_line_end(tmp_path, block):
    path = tmp_path / "c.csv"
    path.write_text('"dose\n(mg)",note\n1,a\n2,b\n')
    assert np.concatenate(list(iter_inputs(str(path), "dose\n(mg)", block=block))).tolist() == [1, 2]
    path.write_text('note,"dose\n(mg)"\na,1\nb,x\n')
    with pytest.raises(DataError, match=r"line 4, column 'dose\n\(mg\)': 'x' is not a number"):
        list(iter_inputs(str(path), "dose\n(mg)", block=block))
    path.write_text('"dose\n(mg)",note\n')
    with pytest.raises(DataError, match=r"line 1: which column holds the input"):
        list(iter_inputs(str(path), None, block=block))
    path.write_text('"dose\n(mg),note\n1,a\n')
    with pytest.raises(DataError, match=r"line 1: a quoted field that never closes"):
        list(iter_inputs(str(path), None, block=block))


@pytest.mark.parametrize("n", [2 * 1000 - 1, 2 * 1000, 3 * 1000 + 1, 10 * 1000 + 7])
def test_spread_rows_takes_one_row_from_each_equal_stretch_and_does_not_alias(n):
    """Two series that alternate row by row both show, where a stride of 2 would hold one of them."""
    rows = spread_rows(n, 1000)
    edges = np.arange(1001) * n // 1000
    assert (len(rows), rows[0], rows[-1]) == (1000, 0, n - 1)
    assert np.all((edges[:-1] <= rows) & (rows < edges[1:]))  # one in each stretch: increasing, spread
    assert 0.4 < np.mean(rows % 2) < 0.6 and 0.25 < np.mean(rows % 3 == 0) < 0.42
    assert np.array_equal(rows, spread_rows(n, 1000))  # the same rows every time
    assert spread_rows(1000, 1000) == slice(None)
    assert spread_rows(n, 2).tolist() == [0, n - 1]
    with pytest.raises(ValueError, match="at least 2"):
        spread_rows(n, 1)  # it could not hold both the first and the last


CELLS = ["1.5", '"1.5"', '"-2e3"', '" 2"', '"3,4"', '"5""6"', '""', '" "', '"7"5', '1"2"', ' "8"', '"9\n1"', "x"]
CELLS += ['"1e999"', '"nan"', '"-inf"', "1e999"]  # numbers, but not finite


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda n: st.lists(st.lists(st.sampled_from(CELLS), min_size=n, max_size=n), min_size=1, max_size=6)
    ),
    st.booleans(),
    st.sampled_from([1 << 20, 16, 1]),
    st.data(),
)
def test_quoted_cells_read_as_the_row_by_row_reader_reads_them(tmp_path_factory, rows, crlf, block, data):
    """Quotes that wrap whole cells go to the C parser with the quotes taken out; anything else a
    CSV reader reads otherwise (a comma, a line end or a quote inside, text outside) row by row:
    either way the numbers, or the error, are the row-by-row reader's: for every column, any
    number of columns, in blocks of any size."""
    end = "\r\n" if crlf else "\n"
    names = ["a", "b", "c"][: len(rows[0])]
    body = end.join(",".join(cells) for cells in rows) + end
    path = tmp_path_factory.mktemp("q") / "q.csv"
    path.write_bytes((",".join(names) + end + body).encode())
    picked = data.draw(st.sampled_from(names))  # predict reads one column

    def outcome(read):
        try:
            return [np.asarray(v).tolist() for v in read()]
        except DataError as e:
            return str(e)

    def same(got, slow):  # the same numbers, or an error at the same line
        if isinstance(got, str) and isinstance(slow, str):
            return re.search(r"line \d+", got)[0] == re.search(r"line \d+", slow)[0]
        return got == slow

    every = range(len(names))
    slow = outcome(lambda: _parse_slow(body, len(names), list(every), names, str(path), 1))
    column = outcome(lambda: _parse_slow(body, len(names), [names.index(picked)], [picked], str(path), 1))
    with mock.patch.object(data_module, "BLOCK_BYTES", block):
        assert same(outcome(lambda: load_columns(str(path), names)[1]), slow)
    inputs = outcome(
        lambda: [np.concatenate(list(iter_inputs(str(path), picked, block=min(block, 4))) or [np.empty(0)])]
    )
    assert same(inputs, column)


def test_unquoted_takes_out_only_quotes_that_open_a_cell_and_hold_no_separator():
    assert _unquoted(b'"1.5","2"\r\n3,"4"e1\n') == b"1.5,2\r\n3,4e1\n"
    for held in (b'"1', b'1"2"', b'1\n""\n', b'"3,4"', b'"5\n6"', b'"5""6"', b' "8"'):
        assert _unquoted(held) is None, held


def test_a_named_column_that_two_header_cells_share_is_refused(tmp_path):
    """Which of them was meant cannot be told: before, the first was taken without a word."""
    path = tmp_path / "d.csv"
    path.write_text("x,y,y\n1,2,3\n2,3,4\n")
    with pytest.raises(DataError, match=r": line 1: 2 columns are named 'y' \(columns 2 and 3\): rename all but one$"):
        load_xy(str(path), None, "y")
    with pytest.raises(DataError, match="2 columns are named 'y'"):  # the target not named: the first free one
        load_xy(str(path), "x", None)
    path.write_text("x,x,y\n1,2,3\n2,3,4\n")  # neither named: the first two, which share a name
    with pytest.raises(DataError, match=r": line 1: 2 columns are named 'x' \(columns 1 and 2\): rename all but one$"):
        load_xy(str(path), None, None)
    path.write_text("x;y\n1;2\n")
    with pytest.raises(DataError, match=r"no column 'y' \(columns: x;y\) \(it holds ';': columns are separated"):
        load_xy(str(path), None, "y")
