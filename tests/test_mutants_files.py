"""Tests that kill mutants of nnbackprop/files.py which the rest of the suite let through (benchmarks/mutants.py)."""

from __future__ import annotations

import pytest

from nnbackprop import files
from nnbackprop.errors import DataError


def test_a_nul_byte_past_the_first_chunk_is_reported_at_its_offset_in_the_file(tmp_path):
    path = tmp_path / "big.csv"
    offset = files._CHUNK + 5  # in the second chunk read
    path.write_bytes(b"a" * offset + b"\x00tail")
    with pytest.raises(DataError, match=rf"NUL byte at offset {offset}\)"):
        files.read_bytes(str(path), DataError, "CSV file")
