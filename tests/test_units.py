"""Standard units: the map of parameters is exact, lm and auto fit alike whatever the data's
units or zero, explain shows the step training takes, and gd at a fixed rate is untouched."""

import json
import math
import re
import warnings

import numpy as np
import pytest
from conftest import loop_ssr_and_gradient

import nnbackprop
from nnbackprop import disk, optimizers
from nnbackprop.explain import explain_lm, in_units
from nnbackprop.network import Objective, forward, ssr_and_gradient
from nnbackprop.training import Settings, State, initial_theta, train
from nnbackprop.units import IDENTITY, Standard, Units, extent

RNG = np.random.default_rng(7)
X = RNG.uniform(1000.0, 5000.0, 40)
Y = 1e6 + 1e5 * np.sin(X / 700.0) + 1e3 * RNG.standard_normal(40)
UNITS = Units.of(X, Y)


def test_the_units_map_the_data_onto_minus_1_to_1():
    assert (UNITS.x_shift, UNITS.x_scale) == pytest.approx(((X.min() + X.max()) / 2, (X.max() - X.min()) / 2))
    assert (UNITS.y_shift, UNITS.y_scale) == pytest.approx(((Y.min() + Y.max()) / 2, (Y.max() - Y.min()) / 2))
    standard = UNITS.x(X)[0:40]
    assert (standard.min(), standard.max()) == pytest.approx((-1.0, 1.0), abs=1e-15)
    dosage = Units.of(np.array([0.0, 0.5, 1.0]), np.array([0.0, 1.0, 0.0]))
    assert dosage == Units(0.5, 0.5, 0.5, 0.5)


def test_the_extent_of_a_column_read_in_blocks_is_the_arrays(monkeypatch):
    monkeypatch.setattr("nnbackprop.network.BLOCK_CELLS", 8)  # blocks of 8 rows
    column = Standard(X, 0.0, 2.0)  # not an array: read a block at a time
    assert extent(column) == extent(X / 2)


def test_the_extent_stays_finite_at_the_ends_of_the_floats():
    assert extent(np.array([1.7e308, -1.7e308, 1.7e308])) == (0.0, 1.7e308)
    units = Units.of(np.array([1.7e308, -1.7e308]), np.array([1.0, 2.0]))
    assert units.x(np.array([1.7e308, -1.7e308]))[0:2].tolist() == [1.0, -1.0]


def test_the_map_is_exact_both_ways_and_keeps_the_network():
    theta = RNG.standard_normal((3, 13))
    back = UNITS.original(UNITS.standard(theta))
    np.testing.assert_allclose(back, theta, rtol=1e-12, atol=1e-12 * X.max())
    predicted = forward(UNITS.standard(theta[0]), UNITS.x(X)[0:40]) * UNITS.y_scale + UNITS.y_shift
    np.testing.assert_allclose(predicted, forward(theta[0], X), rtol=1e-12)


def test_the_gradient_maps_to_the_datas_own_against_the_per_sample_loop():
    theta = RNG.standard_normal(7) * 0.001
    theta_s = UNITS.standard(theta)
    _, g_s = ssr_and_gradient(theta_s, UNITS.x(X)[0:40], UNITS.y(Y)[0:40])
    want = loop_ssr_and_gradient(theta, X, Y).gradient
    np.testing.assert_allclose(UNITS.gradient(g_s), want, rtol=1e-9)


def test_a_constant_target_is_scaled_by_its_size_and_x_is_not_centred_where_a_bias_is_frozen():
    units = Units.of(X, np.full(40, -3.0))
    assert (units.y_shift, units.y_scale) == (0.0, 3.0)
    assert Units.of(np.full(5, 2.0), np.arange(5.0)).x_scale == 1.0  # a constant x: only shifted
    mask = np.ones(7, bool)
    mask[1] = False  # b1 frozen while w1 trains
    assert Units.of(X, Y, mask).x_shift == 0.0 and Units.of(X, Y).x_shift > 0
    mask[0] = False  # w1 frozen too: the shift moves neither
    assert Units.of(X, Y, mask).x_shift > 0


MOVES = [(1000.0, 0.0, 1.0, 0.0), (1.0, 100.0, 1e6, -3e6), (0.001, -5.0, 1e-4, 7.0)]


def _sine_fits(training, scale, shift, y_scale, y_shift):
    x = np.linspace(0.0, 2.0, 60)
    y = np.sin(3 * x) + 0.1 * np.random.default_rng(0).standard_normal(60)
    config = {"model": {"hidden": 3}, "init": {"seed": 2}, "training": {"max_epochs": 3000, **training}}
    plain = nnbackprop.fit({**config, "data": (x, y)})
    moved = nnbackprop.fit({**config, "data": (x * scale + shift, y * y_scale + y_shift)})
    return x, plain, moved


@pytest.mark.parametrize("scale, shift, y_scale, y_shift", MOVES)
def test_lm_fits_the_same_whatever_the_units_or_zero(scale, shift, y_scale, y_shift):
    x, plain, moved = _sine_fits({"optimizer": "lm", "max_epochs": 300}, scale, shift, y_scale, y_shift)
    assert plain.verdict.r2 > 0.9
    assert moved.verdict.r2 == pytest.approx(plain.verdict.r2, abs=1e-6)
    assert moved.converged == plain.converged and moved.document["epochs"] == plain.document["epochs"]
    np.testing.assert_allclose(moved.predict(x * scale + shift), plain.predict(x) * y_scale + y_shift, rtol=1e-5)


@pytest.mark.parametrize("scale, shift, y_scale, y_shift", MOVES)
def test_auto_fits_as_well_whatever_the_units_or_zero(scale, shift, y_scale, y_shift):
    """Barzilai-Borwein steps amplify the last bits, so the same problem in other units ends
    elsewhere after a few hundred epochs: as good a fit, not the same digits."""
    _, plain, moved = _sine_fits({"optimizer": "gd", "learning_rate": "auto"}, scale, shift, y_scale, y_shift)
    assert plain.verdict.r2 > 0.9
    assert moved.verdict.r2 == pytest.approx(plain.verdict.r2, abs=0.01)


def test_what_the_units_mend_lm_in_the_datas_own_units_fits_a_shifted_x_worse():
    x = np.linspace(100.0, 102.0, 60)
    y = np.sin(3 * x) + 0.1 * np.random.default_rng(0).standard_normal(60)
    units = Units.of(x, y)
    start = initial_theta(3, 2, {}, 1, units, spread=True)
    settings = Settings("auto", 300, 1e-12, np.ones(10, bool), "lm")
    own = train(Objective(x, y), State.start(start), settings)  # lm stepping in the data's units
    standard = train(Objective(units.x(x)[0:60], units.y(y)[0:60]), State.start(start), settings, units=units)
    sst = float(np.sum((y - y.mean()) ** 2))
    r2_own, r2_standard = (1 - float(s.losses[-1][0]) / sst for s in (own, standard))
    assert r2_standard > 0.9 > r2_own + 0.1
    run = nnbackprop.fit({"data": (x, y), "model": {"hidden": 3}, "init": {"seed": 2}, "training": {"optimizer": "lm"}})
    np.testing.assert_array_equal(run.state.initial, start)  # what fit starts from and steps in
    assert run.verdict.r2 == pytest.approx(r2_standard, abs=1e-3)


def test_a_seed_draws_in_standard_units_for_lm_and_auto_and_in_the_datas_for_gd():
    data = {"data": (X, Y), "model": {"hidden": 2}, "init": {"seed": 3}}
    lm = nnbackprop.fit({**data, "training": {"optimizer": "lm", "max_epochs": 0}})
    gd = nnbackprop.fit({**data, "training": {"learning_rate": 1e-30, "max_epochs": 0}})
    np.testing.assert_allclose(lm.state.initial[0], initial_theta(2, 3, {}, 1, UNITS, spread=True)[0])
    np.testing.assert_array_equal(gd.state.initial[0], initial_theta(2, 3, {})[0])


def test_explain_shows_the_step_lm_takes_in_the_datas_units():
    data = {"data": (X, Y), "model": {"hidden": 2}, "init": {"seed": 1}}
    run = nnbackprop.fit({**data, "training": {"optimizer": "lm", "max_epochs": 1}})  # one step, taken or refused
    report = in_units(UNITS, explain_lm, run.state.initial[0], X, Y, "softplus")
    assert run.document["epochs"] == 1 and report["step_taken"] == (run.history[1] < run.history[0])
    new = list(report["units"]["new_params"].values())
    np.testing.assert_allclose(run.theta, new if report["step_taken"] else run.state.initial[0], rtol=1e-9)
    assert report["loss"] * UNITS.y_scale**2 == pytest.approx(run.history[0], rel=1e-12)


def test_explain_in_identity_units_is_explain_itself():
    theta = initial_theta(2, 0, {})[0]
    x, y = np.array([0.0, 0.5, 1.0]), np.array([0.0, 1.0, 0.0])
    assert in_units(IDENTITY, explain_lm, theta, x, y, "softplus") == explain_lm(theta, x, y, "softplus")


def test_data_on_disk_trains_in_units_as_in_memory(tmp_path):
    path = tmp_path / "d.npy"
    np.save(path, np.stack([X, Y], axis=1))
    config = {"model": {"hidden": 2}, "init": {"seed": 1}, "training": {"optimizer": "lm", "max_epochs": 20}}
    on_disk = nnbackprop.fit({**config, "data": {"path": str(path)}})
    in_memory = nnbackprop.fit({**config, "data": (X, Y)})
    assert isinstance(disk.columns(str(path), None, None)[1][0], disk.Column)
    np.testing.assert_array_equal(on_disk.theta, in_memory.theta)


@pytest.mark.parametrize("x_size, y_size", [(1.0, 1e-200), (1e300, 1.0), (1.0, 1e150)])
def test_lm_fits_data_of_any_size_with_finite_numbers_and_no_warning(x_size, y_size):
    x = np.linspace(0.0, 2.0, 50)
    config = {"data": (x * x_size, np.sin(3 * x) * y_size), "model": {"hidden": 3}, "init": {"seed": 0}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = nnbackprop.fit({**config, "training": {"optimizer": "lm"}})
    assert run.converged and run.verdict.r2 > 0.999
    assert np.isfinite(run.theta).all() and np.isfinite(run.history).all()
    assert run.verdict.gradient_norm is not None and math.isfinite(run.verdict.gradient_norm)  # computed scaled


def test_x_that_is_not_shifted_is_still_scaled_onto_minus_1_to_1():
    mask = np.ones(7, bool)
    mask[1] = False  # b1 frozen while w1 trains: x keeps its zero
    units = Units.of(X, Y, mask)
    standard = units.x(X)[0:40]
    assert units.x_shift == 0.0 and np.abs(standard).max() == pytest.approx(1.0, rel=1e-15)


def _minute_of_unix_times(seed):
    """Two hundred noisy points of a sine over one minute of Unix times: x about 1.7e9, a width of 60."""
    rng = np.random.default_rng(seed)
    x = 1.7e9 + np.sort(rng.uniform(0.0, 60.0, 200))
    return x, np.sin(2 * np.pi * (x - 1.7e9) / 60.0) + 0.1 * rng.standard_normal(200)


def test_the_verdict_is_taken_at_the_parameters_lm_held_not_at_their_rounding_into_the_datas_units():
    """A minute of Unix times: the saved parameters keep about 8 digits, and at them the cosine of data
    1's fit is 1.02e-4, where lm's own was 9.96e-5 and it stopped converged. The verdict is lm's."""
    x, y = _minute_of_unix_times(1)
    run = nnbackprop.fit({"data": (x, y), "model": {"hidden": 4}, "init": {"seed": 0}})
    assert (run.stop_reason, run.converged) == ("converged", True)
    assert run.verdict.gradient_cosine <= 1e-4
    units = Units.of(x, y)
    rounded = optimizers.judge(run.theta, Objective(units.x(x)[:], units.y(y)[:]), np.ones(13, bool), 1e-4, units)
    assert not rounded.converged  # the premise: rounded, the test fails (cosine 1.02e-4)
    assert rounded.gradient_cosine == pytest.approx(run.verdict.gradient_cosine, rel=0.2)  # the same, bar rounding
    assert rounded.gradient_norm == pytest.approx(run.verdict.gradient_norm, rel=0.2)
    assert run.verdict.r2 == pytest.approx(rounded.r2, abs=1e-9)


def test_a_person_hears_when_the_datas_zero_costs_its_parameters_digits():
    x, y = _minute_of_unix_times(0)
    notes = Units.of(x, y + 1e7).far_from_zero(["t", "y"])
    assert len(notes) == 2
    assert notes[0].startswith("t runs from 1700000000") and notes[0].endswith(
        "far from 0 against its width: parameters in its units keep about 8 of their 16 digits; "
        "subtract 1700000030 from t to keep them all"
    )
    assert notes[1].endswith("keep about 9 of their 16 digits; subtract 10000000 from y to keep them all")
    for x_far, y_far in ((X, Y), (np.linspace(0.0, 2.0, 5), np.ones(5)), (x - 1.7e9, y)):  # 1, 1 and 0 digits
        assert Units.of(x_far, y_far).far_from_zero(["x", "y"]) == []
    job = nnbackprop.prepare({"data": (x, y)})
    assert [note[:29] for note in job.notes] == ["x runs from 1700000000.2 to 1"]
    assert nnbackprop.prepare({"data": (np.full(5, 1.7e9), np.arange(5.0))}).notes == []  # x does not vary
    below = Units.of(-x, y).far_from_zero(["0", "1"])  # a .npy file's columns
    assert below[0].startswith("column 0 runs from -1700000059") and below[0].endswith(
        "add 1700000030 to column 0 to keep them all"
    )  # what is left runs from -30 to 30: every digit but those


def test_a_fit_whose_parameters_are_too_large_for_the_datas_units_is_not_converged(tmp_path, invoke):
    """y near the largest float: lm converges in standard units, but an output weight is infinite in the
    data's, and the result writes null for it. The verdict is the saved parameters', as the summary says."""
    x = np.linspace(-1.0, 1.0, 30)
    y = np.where(x > 0, 1.0, -1.0) + 0.3 * np.sin(7 * x)
    np.savetxt(
        tmp_path / "huge.csv",
        np.column_stack([x, y / np.abs(y).max() * 1.2e308]),
        delimiter=",",
        header="x,y",
        comments="",
        fmt="%.17g",
    )
    (tmp_path / "huge.yaml").write_text("data: {path: huge.csv}\nmodel: {hidden: 3}\ninit: {seed: 3}\n")
    result = invoke("train", "-c", tmp_path / "huge.yaml", "--out", tmp_path / "huge.json", "--require-convergence")
    doc = json.loads((tmp_path / "huge.json").read_text())
    assert (doc["stop_reason"], doc["converged"], doc["params"]["w4"], result.exit_code) == (
        "converged",
        False,
        None,
        5,
    )
    assert "w4 = null" in result.stderr
    assert re.search(r"  w5 = -?\d\.\d{4}e\+30\d  ", result.stderr)  # not 308 digits of it
    assert "converged where it stepped, in standard units, but its parameters are too large" in result.stderr


def test_a_fit_to_targets_whose_squares_overflow_says_so_with_its_r2(tmp_path, invoke):
    """y of about 1e160: the SSR (about 1e320) is beyond the largest float, so the result writes null
    for it, but the fit is good, and the summary says both, not that the SSR is missing."""
    x = np.linspace(0.0, 1.0, 20)
    np.savetxt(
        tmp_path / "big.csv",
        np.column_stack([x, 1e160 * np.sin(3 * x)]),
        delimiter=",",
        header="x,y",
        comments="",
        fmt="%.17g",
    )
    (tmp_path / "big.yaml").write_text("data: {path: big.csv}\nmodel: {hidden: 2}\ninit: {seed: 0}\n")
    result = invoke("train", "-c", tmp_path / "big.yaml", "--out", "-")
    doc = json.loads(result.stdout)
    assert doc["final_loss"] is None and doc["r2"] > 0.99
    assert f", SSR too large for a float (R² {doc['r2']:.6g}) (" in result.stderr.splitlines()[0]
    run = nnbackprop.fit(str(tmp_path / "big.yaml"))
    assert f", SSR too large for a float (R² {doc['r2']:.6g})" in run.summary()
