"""Epochs from disk: a .npy file read a block at a time trains to the numbers of the same data in memory."""

from __future__ import annotations

import numpy as np
import pytest

import nnbackprop
from nnbackprop import disk
from nnbackprop.kernel import CHUNK, Kernel
from nnbackprop.network import BLOCK_CELLS, normal_equations, spread

FROM_0 = "(from 0, as NumPy counts)"
ROWS = 3 * CHUNK + 123  # several kernel blocks, and (at P = 13) several normal-equation blocks


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 2, ROWS)
    return x, np.sin(3 * x) + 0.1 * rng.standard_normal(ROWS)


@pytest.fixture(scope="module")
def npy(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("disk") / "data.npy"
    np.save(path, np.column_stack([data[0], data[1], np.zeros(ROWS)]))
    return str(path)


def test_normal_equation_blocks_are_several(data):
    assert ROWS > BLOCK_CELLS // 13


@pytest.mark.parametrize(
    "overrides",
    [
        {"learning_rate": 1e-6, "max_epochs": 4},
        {"learning_rate": "auto", "max_epochs": 4},
        {"optimizer": "lm", "max_epochs": 3},
    ],
    ids=["gd", "auto", "lm"],
)
def test_training_from_disk_equals_training_in_memory(data, npy, overrides):
    config = {"model": {"hidden": 4}, "init": {"seed": 1}}
    on_disk = nnbackprop.fit({**config, "data": {"path": npy}}, **overrides)
    in_memory = nnbackprop.fit({**config, "data": data}, **overrides)
    assert on_disk.history == in_memory.history
    assert on_disk.params == in_memory.params
    assert on_disk.verdict == in_memory.verdict


def test_columns_slice_like_arrays(data, npy):
    _, (x, y) = disk.columns(npy, None, None)
    assert len(x) == ROWS
    np.testing.assert_array_equal(x[CHUNK - 5 : CHUNK + 5], data[0][CHUNK - 5 : CHUNK + 5])
    np.testing.assert_array_equal(y[:], data[1])


def test_the_kernel_on_disk_gives_the_kernels_numbers(data, npy):
    _, (x, y) = disk.columns(npy, None, None)
    theta = nnbackprop.initial_theta(3, 2, {}, 2)
    for got, want in zip(Kernel(x, y)(theta), Kernel(*data)(theta)):
        np.testing.assert_array_equal(got, want)


def test_normal_equations_and_spread_on_disk(data, npy):
    _, (x, y) = disk.columns(npy, None, None)
    theta = nnbackprop.initial_theta(4, 0, {}, 1)[0]
    columns = np.arange(13)
    for got, want in zip(
        normal_equations(theta, x, y, "softplus", columns), normal_equations(theta, *data, "softplus", columns)
    ):
        np.testing.assert_array_equal(got, want)
    assert spread(y) == pytest.approx(spread(data[1]), rel=1e-12)


def test_other_columns_can_be_named_by_number(npy):
    names, (x, y) = disk.columns(npy, "1", "2")
    assert names == ["1", "2"]
    assert y[0:3].tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(5), "expected a 2-D float64 array of at least 2 columns (input, target), got shape (5,)"),
        (np.zeros((5, 1)), "got shape (5, 1)"),
        (np.zeros((5, 2), dtype=np.float32), "of float32"),
        (np.asfortranarray(np.zeros((5, 2))), "stored in Fortran order"),
        (np.array([[0.0, 1.0], [2.0, np.nan]]), f"row 1 {FROM_0}, column 1: nan is not a finite number"),
        (np.array([[0.0, 1.0], [np.inf, 3.0]]), f"row 1 {FROM_0}, column 0: inf is not a finite number"),
    ],
)
def test_a_bad_npy_file_is_one_data_error(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(nnbackprop.DataError) as error:
        disk.columns(str(path), None, None)
    assert message in str(error.value)
    assert str(error.value).startswith(str(path))


def test_a_file_that_is_not_npy_is_named(tmp_path):
    path = tmp_path / "data.npy"
    path.write_text("x,y\n0,1\n")
    with pytest.raises(nnbackprop.DataError, match="not a .npy file"):
        disk.columns(str(path), None, None)


def test_a_column_number_out_of_range_is_named(npy):
    with pytest.raises(nnbackprop.DataError, match=r"data.target: '3': a .npy file's columns are numbered 0 to 2"):
        disk.columns(npy, None, "3")


def test_a_column_is_read_by_ranges_only(npy):
    _, (x, _) = disk.columns(npy, None, None)
    with pytest.raises(TypeError, match="by ranges of rows"):
        x[3]


@pytest.mark.parametrize(
    ("array", "cut", "message"),
    [
        (np.zeros((0, 2)), None, "no rows of data"),
        (np.zeros((50, 2)), 300, "truncated: its header promises 928 bytes, the file holds 300"),
    ],
)
def test_an_empty_or_truncated_npy_is_one_data_error(tmp_path, array, cut, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    if cut:
        path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(nnbackprop.DataError, match=message):
        disk.columns(str(path), None, None)


def test_input_and_target_cannot_be_one_column(npy):
    with pytest.raises(nnbackprop.DataError, match="input and target are the same column 1"):
        disk.columns(npy, "1", "1")


def test_every_command_takes_a_npy_run(npy, tmp_path):
    from click.testing import CliRunner

    from nnbackprop.cli import cli

    config = tmp_path / "npy.yaml"
    config.write_text(f"data:\n  path: {npy}\nmodel:\n  hidden: 2\ninit:\n  seed: 0\ntraining:\n  max_epochs: 3\n")
    result, page = tmp_path / "run.json", tmp_path / "run.html"
    runs = [
        ["train", "-c", config, "-o", result, "--report", page, "-q"],
        ["explain", "-c", config],
        ["gradcheck", "-c", config],
        ["evaluate", "-p", result, "-d", npy],
        ["report", result, "-o", tmp_path / "again.html"],
    ]
    for args in runs:
        done = CliRunner().invoke(cli, [str(a) for a in args])
        assert done.exit_code == 0, (args, done.output)
    assert (tmp_path / "again.html").read_bytes() == page.read_bytes()
