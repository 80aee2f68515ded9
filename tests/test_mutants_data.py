"""Tests that kill mutants of nnbackprop/data.py which the rest of the suite let through (benchmarks/mutants.py)."""

from __future__ import annotations

import pytest

from nnbackprop.data import iter_inputs
from nnbackprop.errors import DataError
from nnbackprop.files import MAX_LINE_BYTES


@pytest.mark.parametrize("header", ["", "dosage\n"])
def test_an_overlong_input_line_is_named_by_its_own_line_number(tmp_path, header):
    path = tmp_path / "inputs.csv"
    path.write_text(header + "1\n2\n" + "3" * (MAX_LINE_BYTES + 10) + "\n4\n")
    line = header.count("\n") + 3
    with pytest.raises(DataError, match=rf": line {line}: longer than"):
        list(iter_inputs(str(path), None))
