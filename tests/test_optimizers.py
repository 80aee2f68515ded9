"""Levenberg-Marquardt, gradient descent with an automatic step, and the convergence test."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from conftest import (
    DOSAGE_X,
    DOSAGE_Y,
    ROOT,
    STATQUEST_CONFIG,
    STATQUEST_START,
    assert_close,
    central_difference,
    loop_jacobian,
    random_problem,
)

import nnbackprop
from nnbackprop.config import load
from nnbackprop.kernel import Kernel
from nnbackprop.network import ACTIVATIONS, Objective, forward, jacobian, ssr_and_gradient
from nnbackprop.optimizers import gradient_cosine, normal_equations, proposed_rate, spread, verdict
from nnbackprop.training import Interrupt, Settings, State, initial_theta, train


def settings(hidden, optimizer="lm", rate="auto", max_epochs=200, min_step=1e-10, trainable=None):
    mask = np.ones(3 * hidden + 1, bool) if trainable is None else np.asarray(trainable)
    return Settings(rate, max_epochs, min_step, mask, optimizer)


def run(theta, x, y, how, activation="softplus"):
    state = State.start(theta)
    return train(Kernel(x, y, activation), state, how)


# --- the Jacobian ----------------------------------------------------------------------


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("hidden", [1, 2, 3, 5])
def test_jacobian_equals_the_per_sample_loop(activation, hidden):
    theta, x, _ = random_problem(hidden, hidden, n=9)
    np.testing.assert_allclose(
        jacobian(theta, x, activation), loop_jacobian(theta, x, activation), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize("activation", ["softplus", "sigmoid", "tanh"])
@pytest.mark.parametrize("hidden", [1, 2, 4])
def test_jacobian_matches_central_finite_differences(activation, hidden):
    theta, x, _ = random_problem(10 + hidden, hidden, n=9)
    numeric = central_difference(lambda t: forward(t, x, activation), theta)  # (n, P)
    np.testing.assert_allclose(jacobian(theta, x, activation), numeric, rtol=1e-6, atol=1e-8)


def test_relu_jacobian_at_a_kink_takes_slope_zero():
    theta = np.array([1.0, 0.0, 2.0, 0.0])  # H = 1: z = x, so z = 0 at x = 0
    jac = jacobian(theta, np.array([0.0, 1.0]), "relu")
    assert jac[0, 1] == 0.0  # dpredicted/db1 = w2 * slope(0) = 0
    assert jac[1, 1] == 2.0


@pytest.mark.parametrize("hidden", [1, 3])
def test_gradient_is_minus_two_residuals_times_the_jacobian(hidden):
    theta, x, y = random_problem(20 + hidden, hidden, n=9)
    _, grad = ssr_and_gradient(theta, x, y)
    residual = y - forward(theta, x)
    np.testing.assert_allclose(-2 * residual @ jacobian(theta, x), grad, rtol=1e-12, atol=1e-12)


def _on_disk_kernel(x, y, activation, tmp_path):
    from nnbackprop import disk

    np.save(tmp_path / "data.npy", np.column_stack([x, y]))
    _, (x_column, y_column) = disk.columns(str(tmp_path / "data.npy"), None, None)
    return Kernel(x_column, y_column, activation)


NORMAL_EQUATIONS = {  # every way the package makes one pass of the normal equations
    "network.normal_equations": lambda x, y, a, _: lambda *args: normal_equations(args[0], x, y, a, *args[1:]),
    "network.Objective": lambda x, y, a, _: Objective(x, y, a).normal_equations,
    "Kernel": lambda x, y, a, _: Kernel(x, y, a).normal_equations,  # few rows: the forms with the fewest calls
    "Kernel[long-block forms]": lambda x, y, a, _: Kernel(x, y, a, total_rows=10**6).normal_equations,
    "Kernel[on disk]": lambda x, y, a, tmp: _on_disk_kernel(x, y, a, tmp).normal_equations,
}


@pytest.mark.parametrize("how", sorted(NORMAL_EQUATIONS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize(("hidden", "columns"), [(1, None), (2, [0, 2, 5]), (3, None)])
@pytest.mark.parametrize("block", [None, 8])  # one block, or blocks of 8 rows
def test_normal_equations_equal_the_per_sample_loop(how, activation, hidden, columns, block, monkeypatch, tmp_path):
    theta, x, y = random_problem(30 + hidden, hidden, n=50)
    columns = np.arange(3 * hidden + 1) if columns is None else np.array(columns)
    if block:
        monkeypatch.setattr("nnbackprop.network.BLOCK_CELLS", (3 * hidden + 1) * block)
    jac = loop_jacobian(theta, x, activation)
    residual = y - (jac[:, 2 * hidden : 3 * hidden] @ theta[2 * hidden : 3 * hidden] + theta[-1])
    jac = jac[:, columns]
    pass_ = NORMAL_EQUATIONS[how](x, y, activation, tmp_path)
    ssr, jtj, jtr = pass_(theta, columns)
    _, diagonal, jtr_again = pass_(theta, columns, False)
    assert isinstance(ssr, float)
    assert_close(ssr, residual @ residual, residual @ residual, "SSR")
    assert_close(jtj, jac.T @ jac, np.abs(jac).T @ np.abs(jac), "JᵀJ")  # to 1e-12 of the terms' magnitudes
    assert_close(diagonal, np.sum(jac * jac, axis=0), np.sum(jac * jac, axis=0), "diag JᵀJ")
    assert_close(jtr, jac.T @ residual, np.abs(jac).T @ np.abs(residual), "Jᵀr")
    np.testing.assert_array_equal(jtr_again, jtr)


@pytest.mark.parametrize("activation", ["softplus", "sigmoid", "tanh"])
def test_the_kernels_normal_equations_match_finite_differences(activation):
    theta, x, y = random_problem(40, 3, n=200)
    kernel = Kernel(x, y, activation)
    ssr, _, jtr = kernel.normal_equations(theta, np.arange(10))
    numeric = central_difference(lambda t: np.sum((y - forward(t, x, activation)) ** 2), theta)
    np.testing.assert_allclose(-2 * jtr, numeric, rtol=1e-6, atol=1e-6)  # dSSR/dθ = -2 Jᵀr


def test_the_kernels_normal_equations_on_no_rows_are_zeros():
    ssr, jtj, jtr = Kernel(np.zeros(0), np.zeros(0)).normal_equations(np.ones(7), np.arange(7))
    assert (ssr, jtj.shape, jtr.shape) == (0.0, (7, 7), (7,))
    assert not jtj.any() and not jtr.any()


# --- Levenberg-Marquardt -----------------------------------------------------------------


def test_lm_iterations_are_the_damped_dense_solve_written_out():
    theta = np.array(list(STATQUEST_START.values()))
    out = run(theta, DOSAGE_X, DOSAGE_Y, settings(2, max_epochs=6))
    # Written out: solve (JᵀJ + λI) δ = Jᵀr; take θ + δ when it lowers the SSR and ease λ by the
    # gain ratio ρ (λ *= max(1/3, 1 - (2ρ - 1)³)), else refuse it and grow λ (x2, x4, ...).
    jac, residual = jacobian(theta, DOSAGE_X), DOSAGE_Y - forward(theta, DOSAGE_X)
    damping, grow, expected, refused = 1e-3 * np.max(np.sum(jac * jac, axis=0)), 2.0, [residual @ residual], 0
    for _ in range(6):
        delta = np.linalg.solve(jac.T @ jac + damping * np.eye(7), jac.T @ residual)
        trial = theta + delta
        t_residual = DOSAGE_Y - forward(trial, DOSAGE_X)
        if t_residual @ t_residual < residual @ residual:
            promised = delta @ (damping * delta + jac.T @ residual)
            gain = (residual @ residual - t_residual @ t_residual) / promised
            damping *= max(1 / 3, 1 - (2 * gain - 1) ** 3)
            grow = 2.0
            theta, residual, jac = trial, t_residual, jacobian(trial, DOSAGE_X)
        else:
            damping, grow, refused = damping * grow, grow * 2, refused + 1
        expected.append(residual @ residual)
    assert refused >= 1  # the start's first step is refused: both branches are checked
    np.testing.assert_allclose(out.theta[0], theta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.history(0), expected, rtol=1e-10)


@pytest.mark.parametrize("seed", range(20))
def test_lm_fits_the_dosage_data_exactly_from_every_seeded_start(seed):
    theta = initial_theta(2, seed, {}, 1)
    out = run(theta, DOSAGE_X, DOSAGE_Y, settings(2, max_epochs=100, min_step=1e-3))
    assert out.reasons[0] == "converged"
    assert out.losses[out.epochs[0]][0] <= 1e-6


def test_lm_losses_never_rise():
    theta, x, y = random_problem(4, 3, n=40)
    out = run(theta, x, y, settings(3, max_epochs=100))
    history = out.history(0)
    assert all(b <= a for a, b in zip(history, history[1:]))


def test_lm_trains_only_the_trainable_parameters():
    theta = np.array(list(STATQUEST_START.values()))
    mask = [False] * 4 + [True] * 3  # w3, w4, b3: a linear least-squares problem
    out = run(theta, DOSAGE_X, DOSAGE_Y, settings(2, max_epochs=50, trainable=mask))
    np.testing.assert_array_equal(out.theta[0][:4], theta[:4])
    jac = jacobian(theta, DOSAGE_X)[:, 4:]
    target = DOSAGE_Y - forward(theta, DOSAGE_X) + jac @ theta[4:]
    best, *_ = np.linalg.lstsq(jac, target, rcond=None)
    np.testing.assert_allclose(out.theta[0][4:], best, rtol=1e-3)
    assert out.reasons[0] == "converged"


# --- gd with learning_rate: auto -----------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_auto_never_rises_above_the_worst_of_its_last_ten_epochs(seed):
    theta, x, y = random_problem(30 + seed, 3, n=60)
    out = run(theta, x, y, settings(3, "gd", max_epochs=300))
    history = out.history(0)
    assert len(history) > 20
    for k in range(1, len(history)):
        assert history[k] <= max(history[max(0, k - 10) : k])


def test_auto_fits_the_dosage_data():
    out = run(initial_theta(2, 0, {}, 1), DOSAGE_X, DOSAGE_Y, settings(2, "gd", max_epochs=20000, min_step=1e-3))
    assert out.reasons[0] == "converged"
    assert out.best_loss[0] <= 1e-6


def test_a_fixed_rate_is_exactly_the_article_gradient_descent():
    theta = np.array(list(STATQUEST_START.values()))
    out = run(theta, DOSAGE_X, DOSAGE_Y, settings(2, "gd", rate=0.01, max_epochs=1))
    _, grad = ssr_and_gradient(theta, DOSAGE_X, DOSAGE_Y)
    np.testing.assert_allclose(out.theta[0], theta - grad * 0.01, rtol=1e-15, atol=1e-17)


# --- the verdict -------------------------------------------------------------------------


def test_gradient_cosine_is_scale_free():
    theta, x, y = random_problem(5, 2, n=30)
    mask = np.ones(7, bool)
    base = verdict(theta, x, y, "softplus", mask)
    doubled = verdict(theta, np.tile(x, 2), np.tile(y, 2), "softplus", mask)  # the same data twice
    assert doubled.gradient_cosine == pytest.approx(base.gradient_cosine, rel=1e-12)
    assert doubled.gradient_norm == pytest.approx(2 * base.gradient_norm, rel=1e-12)
    scaled = theta.copy()
    scaled[4:] *= 1000.0  # y in other units: the output layer scales with it
    units = verdict(scaled, x, 1000.0 * y, "softplus", mask)
    assert units.gradient_cosine == pytest.approx(base.gradient_cosine, rel=1e-9)


def test_gradient_cosine_is_zero_at_a_least_squares_solution_and_at_most_one():
    assert gradient_cosine(4.0, np.array([1.0, 0.0]), np.array([0.0, 0.0])) == 0.0
    assert gradient_cosine(1e-300, np.array([1e-300]), np.array([1.0])) == 1.0
    assert gradient_cosine(1.0, np.array([1.0, np.nan]), np.array([0.5, 1.0])) == 1.0  # not a number: not small
    assert gradient_cosine(1.0, np.array([4.0, 0.0]), np.array([-0.5, 0.0])) == 0.25  # |Jᵀr| / (|J| |r|)
    assert gradient_cosine(np.inf, np.array([1.0]), np.array([1.0])) == 0.0  # a residual that ran away
    assert gradient_cosine(1.0, np.array([1.0]), np.array([np.inf])) == 1.0


def test_an_exact_fit_counts_as_converged():
    out = run(initial_theta(2, 1, {}, 1), DOSAGE_X, DOSAGE_Y, settings(2, max_epochs=100))
    v = verdict(out.theta[0], DOSAGE_X, DOSAGE_Y, "softplus", np.ones(7, bool))
    assert v.converged is True
    assert out.losses[-1][0] ** 0.5 <= 1e-4 * spread(DOSAGE_Y)


def test_a_stalled_start_is_not_converged():
    theta = np.array(list(STATQUEST_START.values()))
    out = run(theta, DOSAGE_X, DOSAGE_Y, settings(2, "gd", rate=1e-4, max_epochs=1000, min_step=1e-3))
    assert out.reasons[0] == "min_step_size"
    assert verdict(out.theta[0], DOSAGE_X, DOSAGE_Y, "softplus", np.ones(7, bool)).converged is False


def test_proposed_rate_is_stable_where_ten_times_it_is_not():
    theta = np.array(list(STATQUEST_START.values()))
    rate = proposed_rate(theta, DOSAGE_X, DOSAGE_Y, "softplus", np.ones(7, bool))
    jac = jacobian(theta, DOSAGE_X)
    assert rate == pytest.approx(1 / (2 * np.linalg.eigvalsh(jac.T @ jac)[-1]), rel=1e-12)


# --- restarts and the result -------------------------------------------------------------


def test_lm_restarts_each_equal_the_same_start_trained_alone():
    starts = initial_theta(2, 3, {}, 3)
    together = run(starts, DOSAGE_X, DOSAGE_Y, settings(2, max_epochs=50))
    for r in range(3):
        alone = run(starts[r : r + 1], DOSAGE_X, DOSAGE_Y, settings(2, max_epochs=50))
        np.testing.assert_array_equal(together.theta[r], alone.theta[0])
        assert together.history(r) == alone.history(0)


def test_lm_stops_when_interrupted():
    interrupt = Interrupt(signal=2)
    state = State.start(initial_theta(2, 0, {}, 1))
    train(Kernel(DOSAGE_X, DOSAGE_Y), state, settings(2), interrupt=interrupt)
    assert state.reasons[0] == "interrupted"
    assert state.epochs[0] == 0


def test_the_result_file_carries_the_verdict(write_config, invoke):

    config = write_config(STATQUEST_CONFIG)
    result = invoke("train", "-c", config, "--set", "training.optimizer=lm", "--out", "-", "-q")
    doc = json.loads(result.stdout)
    assert doc["optimizer"] == "lm"
    assert doc["converged"] is True
    assert doc["passes"] == doc["epochs"] + 1
    assert doc["gradient_norm"] < 1e-3


@pytest.mark.parametrize("how", [["--set", "training.optimizer=lm"], ["--lr", "auto"]])
def test_history_csv_steps_are_the_steps_taken(write_config, tmp_path, how, invoke):

    config = write_config(STATQUEST_CONFIG)
    history = tmp_path / "h.csv"
    result = invoke("train", "-c", config, *how, "--epochs", "40", "--history-csv", history, "--out", "-", "-q")
    doc = json.loads(result.stdout)
    rows = history.read_text().splitlines()
    header = rows[0].split(",")
    table = [[float(v) if v else np.nan for v in row.split(",")] for row in rows[1:]]
    assert len(table) == doc["epochs"] + 1
    assert [row[1] for row in table] == doc["loss_history"]
    w1, step_w1 = header.index("w1"), header.index("step_w1")
    for before, after in zip(table, table[1:]):
        assert before[step_w1] == pytest.approx(before[w1] - after[w1], rel=1e-12, abs=1e-15)
    assert np.isnan(table[-1][step_w1])  # no step after the last epoch


@pytest.mark.parametrize("how", [["--set", "training.optimizer=lm"], ["--lr", "auto"]])
def test_verbose_names_the_optimizer(write_config, how, invoke):

    result = invoke("train", "-c", write_config(STATQUEST_CONFIG), *how, "--out", "-", "-v")
    assert result.exit_code == 0, result.stderr
    name = "lm" if "lm" in how[1] else "gd (learning rate auto)"
    assert f"{name}, at most 20000 epochs, min step size 1e-06, gradient tolerance 0.0001" in result.stderr


def test_restarts_one_after_another_refuse_checkpoints(write_config, tmp_path, invoke):
    config = write_config(STATQUEST_CONFIG)
    out = tmp_path / "r.json"
    how = ["--set", "training.optimizer=lm", "--seed", "1", "--set", "training.restarts=3"]
    result = invoke("train", "-c", config, *how, "--checkpoint-every", "5", "--out", out)
    assert result.exit_code == 2
    assert "Error: --checkpoint-every needs the starts trained together; lm trains its 3 restarts" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("optimizer", ["lm", "auto"])
def test_starts_one_after_another_are_recorded_as_each_trained_alone(optimizer):
    """lm and auto train the starts one after another: the recorder keeps each start's own epochs,
    the same to the bit as the start trained by itself."""
    from nnbackprop.history import Recorder

    x = np.linspace(0.0, 2.0, 30)
    y = np.sin(3 * x)
    theta = initial_theta(3, 4, {}, 3)
    how = settings(3, optimizer, max_epochs=150)
    state = State.start(theta)
    recorder = Recorder(state)
    train(Kernel(x, y), state, how, recorder, 1)
    for r in range(3):
        alone = State.start(theta[r])
        own = Recorder(alone)
        train(Kernel(x, y), alone, how, own, 1)
        rows = recorder.thetas(r)
        assert len(rows) == state.epochs[r] + 1 == alone.epochs[0] + 1
        np.testing.assert_array_equal(np.stack(rows), np.stack(own.thetas(0)))
        np.testing.assert_array_equal(rows[-1], state.theta[r])
        assert state.history(r) == alone.history(0)  # from the start's own first SSR on


def test_lm_with_restarts_writes_the_winners_history_and_report(write_config, tmp_path, invoke):
    config = write_config(STATQUEST_CONFIG)
    how = ["--set", "training.optimizer=lm", "--seed", "1", "--set", "training.restarts=3"]
    out, csv = tmp_path / "r.json", tmp_path / "h.csv"
    result = invoke("train", "-c", config, *how, "--history-csv", csv, "--report", tmp_path / "r.html", "--out", out)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(out.read_text())
    rows = np.genfromtxt(csv, delimiter=",", skip_header=1)
    assert rows.shape[0] == doc["epochs"] + 1
    np.testing.assert_array_equal(rows[:, 1], doc["loss_history"])
    np.testing.assert_array_equal(rows[-1, 2:9], list(doc["params"].values()))
    np.testing.assert_array_equal(rows[0, 2:9], list(doc["initial_params"].values()))
    snapshots = doc["snapshots"]
    assert snapshots["epochs"][0] == 0 and snapshots["epochs"][-1] == doc["epochs"]
    assert len(snapshots["epochs"]) == min(doc["epochs"] + 1, 200) > 2  # every epoch, before: only the first and last
    assert snapshots["params"][-1] == list(doc["params"].values())


def test_progress_of_starts_one_after_another_names_the_start():
    from nnbackprop.cli.progress import Progress

    stream = io.StringIO()
    progress = Progress(100, stream=stream, interactive=False, interval=0.0, starts=3)
    progress.update(40, 2.5, 1)
    assert stream.getvalue().startswith("start 1 of 3  epoch 40/100  SSR 2.5  ")


def test_resume_adds_up_the_passes(write_config, tmp_path, invoke):

    config = write_config(STATQUEST_CONFIG)
    first = tmp_path / "first.json"
    invoke("train", "-c", config, "--set", "training.optimizer=lm", "--epochs", "3", "--out", first, "-q")
    again = invoke("train", "-c", config, "--set", "training.optimizer=lm", "--resume", first, "--out", "-", "-q")
    before, after = json.loads(first.read_text()), json.loads(again.stdout)
    assert before["passes"] == 4
    assert after["passes"] == after["epochs"] + 2  # one pass more: the resumed run's own first one


def test_the_exact_fit_test_is_relative_for_tiny_data():
    tiny = DOSAGE_Y * 1e-300 + 1e-300
    assert spread(tiny) == pytest.approx(spread(DOSAGE_Y) * 1e-300, rel=1e-12)
    theta = np.zeros(7)
    theta[6] = 1e-4  # predicts 1e-4 everywhere: 10^296 times the data
    assert verdict(theta, DOSAGE_X, tiny, "softplus", np.ones(7, bool)).converged is False
    assert spread(np.full(3, 2.0)) == 0.0
    assert spread(np.array([1e300, -1e300])) == pytest.approx(2**0.5 * 1e300, rel=1e-12)


@pytest.mark.parametrize("optimizer", ["lm", "auto"])
def test_a_constant_target_fitted_exactly_is_converged(optimizer):
    """Every target the same: |observed - mean| is 0, so an exact fit is measured against |observed|
    (the gradient cosine of a residual of 1e-15 is rounding noise, not a direction)."""
    y = np.full(3, 3.0)
    assert spread(y) == 0.0 and spread(y, centred=False) == pytest.approx(3.0 * 3**0.5, rel=1e-15)
    out = run(initial_theta(2, 0, {}, 1), DOSAGE_X, y, settings(2, optimizer, max_epochs=2000))
    v = verdict(out.theta[0], DOSAGE_X, y, "softplus", np.ones(7, bool))
    assert (out.reasons[0], v.converged, v.r2) == ("converged", True, None)
    assert out.losses[-1][0] ** 0.5 <= 1e-4 * spread(y, centred=False)
    theta = np.zeros(7)
    theta[6] = 3.0 - 1e-2  # a constant, but 1e-2 off: not exact to 1e-4, and its gradient is not small
    assert verdict(theta, DOSAGE_X, y, "softplus", np.ones(7, bool)).converged is False


def test_a_constant_target_fitted_exactly_says_against_what(write_config, invoke):
    config = write_config("data: {path: data.csv}\nmodel: {hidden: 2}\ninit: {seed: 0}\n", csv="x,y\n0,3\n0.5,3\n1,3\n")
    result = invoke("train", "-c", config, "--out", "-", "--require-convergence")
    assert (result.exit_code, json.loads(result.stdout)["converged"]) == (0, True)
    assert "converged: an exact fit (√SSR <= 0.0001 × |observed|: every target is the same)" in result.stderr


@pytest.mark.parametrize("optimizer", ["lm", "auto"])
def test_targets_that_are_all_zero_fitted_exactly_are_converged(optimizer):
    """Every target 0: |observed| is 0 too, so the exact fit is measured against √rows (a unit a
    row). Before, no run could converge: lm reached SSR 3e-33 and was told to lower min_step_size."""
    y = np.zeros(20)
    x = np.linspace(0.0, 1.0, 20)
    out = run(initial_theta(2, 0, {}, 1), x, y, settings(2, optimizer, max_epochs=2000))
    v = verdict(out.theta[0], x, y, "softplus", np.ones(7, bool))
    assert (out.reasons[0], v.converged, v.r2) == ("converged", True, None)
    assert out.losses[-1][0] ** 0.5 <= 1e-4 * 20**0.5
    theta = np.zeros(7)
    theta[6] = 1e-3  # predicts 1e-3 everywhere: a root-mean-square residual ten times the tolerance
    assert verdict(theta, x, y, "softplus", np.ones(7, bool)).converged is False
    theta[6] = 1e-5
    assert verdict(theta, x, y, "softplus", np.ones(7, bool)).converged is True


def test_targets_that_are_all_zero_fitted_exactly_say_against_what(write_config, invoke):
    config = write_config("data: {path: data.csv}\nmodel: {hidden: 2}\ninit: {seed: 0}\n", csv="x,y\n0,0\n0.5,0\n1,0\n")
    result = invoke("train", "-c", config, "--out", "-", "--require-convergence")
    assert (result.exit_code, json.loads(result.stdout)["converged"]) == (0, True), result.stderr
    assert "converged: an exact fit (√SSR <= 0.0001 × √rows: every target is 0)" in result.stderr


@pytest.mark.parametrize(("seed", "straight"), [(0, True), (1, False)])
def test_a_fit_no_better_than_a_straight_line_says_so(write_config, invoke, seed, straight):
    """One neuron on three points that bend: from seed 0 lm converges where the neuron is straight
    over the data (the best concave fit to a convex curve is a line), from seed 1 to the exact fit."""
    config = write_config(
        f"data: {{path: data.csv}}\nmodel: {{hidden: 1}}\ninit: {{seed: {seed}}}\n", csv="x,y\n0,1\n1,2\n2,5\n"
    )
    result = invoke("train", "-c", config, "--out", "-")
    doc = json.loads(result.stdout)
    line = np.polyfit([0.0, 1, 2], [1.0, 2, 5], 1)
    line_r2 = 1 - np.sum((np.polyval(line, [0.0, 1, 2]) - [1, 2, 5]) ** 2) / np.sum(
        (np.array([1.0, 2, 5]) - 8 / 3) ** 2
    )
    assert doc["converged"] is True and (abs(doc["r2"] - line_r2) < 1e-4) == straight
    said = f"but the fit is no better than a straight line (R² {doc['r2']:.4f}, the least-squares line's {line_r2:.4f})"
    assert (said in result.stderr) == straight
    assert ("no better than a straight line" in nnbackprop.fit(str(config)).summary()) == straight


def test_a_straight_fit_is_not_called_one_where_no_curve_does_better(write_config, invoke):
    """Two inputs (a line through their means is the best curve there is), and data on a line."""
    for csv in ("x,y\n0,0\n0,1\n1,2\n1,4\n", "x,y\n0,1\n1,3\n2,5\n3,7\n"):
        config = write_config("data: {path: data.csv}\nmodel: {hidden: 1}\ninit: {seed: 0}\n", csv=csv)
        result = invoke("train", "-c", config, "--out", "-")
        assert json.loads(result.stdout)["converged"] is True
        assert "straight line" not in result.stderr


def test_a_straight_fit_to_noisy_data_on_a_line_is_not_called_one(tmp_path, invoke):
    """100 rows of 2x + 1 and noise: some starts end on the line, others beat it by fitting the noise;
    the cubic is no better than the line beyond noise, so none is told the data may bend."""
    rng = np.random.default_rng(1)
    x = np.linspace(0.0, 5.0, 100)
    np.savetxt(
        tmp_path / "line.csv",
        np.column_stack([x, 2 * x + 1 + rng.normal(0, 0.5, 100)]),
        delimiter=",",
        header="x,y",
        comments="",
    )
    for seed in range(5):
        (tmp_path / "line.yaml").write_text(f"data: {{path: line.csv}}\nmodel: {{hidden: 1}}\ninit: {{seed: {seed}}}\n")
        result = invoke("train", "-c", tmp_path / "line.yaml", "--out", "-")
        assert json.loads(result.stdout)["converged"] is True
        assert "straight line" not in result.stderr


def test_a_run_cut_off_while_it_crawls_is_not_told_to_raise_max_epochs(tmp_path, invoke):
    """sqrt(x) on [0, 100] asks for an infinitely sharp bend at 0: lm's weights grow without end
    while the SSR falls 0.06% in 500 iterations (R² 0.99997). Cut off at 100 iterations it still fell
    15% in the last 10: then, and only then, more iterations are the advice."""
    x = np.linspace(0, 100, 40)
    np.savetxt(tmp_path / "sqrt.csv", np.column_stack([x, np.sqrt(x)]), delimiter=",", header="x,y", comments="")
    (tmp_path / "sqrt.yaml").write_text("data: {path: sqrt.csv}\nmodel: {hidden: 3}\ninit: {seed: 1}\n")
    for epochs, crawls in ((100, False), (5000, True)):
        result = invoke("train", "-c", tmp_path / "sqrt.yaml", "--epochs", epochs, "--out", "-")
        doc = json.loads(result.stdout)
        assert doc["stop_reason"] == "max_epochs" and doc["converged"] is False
        losses = doc["loss_history"]
        fell = 1 - losses[-1] / losses[-1 - epochs // 10]
        assert (fell < 0.01) is crawls
        said = result.stderr.split("not converged: ")[1]
        assert f"the SSR fell {fell:.2%} over the last {epochs // 10:,} epochs" in said
        assert ("more epochs gain little" in said) is crawls
        assert ("raise training.max_epochs" in said) is not crawls


def test_gd_at_a_rate_that_raised_the_ssr_is_told_the_rate_is_too_large(write_config, invoke, tmp_path):
    """x about 1e6: a rate of 0.01 sends the input weights to -1e11 on the first step. The run then sits
    at a flat fit (50 rows) or bounces (100 rows); more restarts or epochs cannot help, a smaller rate can."""
    rng = np.random.default_rng(0)
    for rows, converged in ((50, True), (100, False)):
        x = np.linspace(1e6, 1e6 + 1000, rows)
        np.savetxt(
            tmp_path / "big.csv",
            np.column_stack([x, np.sqrt(x - 1e6) + rng.normal(0, 0.3, rows)]),
            delimiter=",",
            header="x,y",
            comments="",
            fmt="%.10g",
        )
        (tmp_path / "big.yaml").write_text("data: {path: big.csv}\nmodel: {hidden: 2}\ninit: {seed: 0}\n")
        result = invoke("train", "-c", tmp_path / "big.yaml", "--lr", "0.01", "--out", "-")
        doc = json.loads(result.stdout)
        assert doc["converged"] is converged
        said = "the SSR rose at epoch 1 (" if converged else "the SSR ended above where it started ("
        assert said in result.stderr and "try learning_rate: " in result.stderr
        assert "(stable at the start, now 0.01)" in result.stderr
        assert "raise training.max_epochs" not in result.stderr and "training.restarts" not in result.stderr


def test_a_rise_early_in_a_run_that_falls_again_is_no_sign_of_too_large_a_rate(write_config, invoke):
    """Rate 0.1 on the dosage data raises the SSR at epochs 1 and 2, then converges by epoch 751: cut off
    at 500, the advice is more epochs, not a smaller rate."""
    result = invoke("train", "-c", write_config(STATQUEST_CONFIG), "--lr", "0.1", "--epochs", "500", "--out", "-")
    losses = json.loads(result.stdout)["loss_history"]
    assert losses[1] > losses[0] and losses[-1] < losses[0]
    assert "raise training.max_epochs" in result.stderr and "try learning_rate" not in result.stderr


def test_another_start_is_proposed_beyond_the_starts_a_run_had():
    from nnbackprop.run import more_starts

    assert more_starts(1) == more_starts(9) == "another init.seed, or training.restarts: 10"
    assert more_starts(50) == "training.restarts: 100"


def test_learning_rate_auto_may_be_quoted(write_config):

    assert (
        load(str(write_config("data: {path: data.csv}\ntraining: {learning_rate: 'auto'}\n"))).training.learning_rate
        == "auto"
    )


def test_the_shipped_sine_config_as_written_converges(invoke):
    """The issue's new user: data, hidden and a seed, nothing else (lm, as no rate is named)."""
    result = invoke("train", "-c", ROOT / "configs" / "sine.yaml", "--require-convergence", "--out", "-")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["optimizer"], doc["converged"], doc["stop_reason"]) == ("lm", True, "converged")
    assert doc["gradient_cosine"] <= doc["config"]["training"]["gradient_tolerance"]


@pytest.mark.parametrize("rate", ["0.0001", "0.002"])  # the stalled run, and its run that fell to a flat line
def test_the_shipped_sine_data_at_a_poor_fixed_rate_is_not_converged(rate, invoke):

    config = ROOT / "configs" / "sine.yaml"
    result = invoke("train", "-c", config, "--lr", rate, "--require-convergence", "--out", "-")
    doc = json.loads(result.stdout)
    assert doc["stop_reason"] == "min_step_size"
    assert result.exit_code == 5
    assert result.stderr.count("not converged: the gradient is still large") == 1


def test_lm_notes_that_it_does_not_use_a_learning_rate(write_config, invoke):
    result = invoke("train", "-c", write_config(STATQUEST_CONFIG), "--set", "training.optimizer=lm", "--out", "-")
    assert "note: lm finds its own steps; training.learning_rate (0.01) is not used" in result.stderr
    quiet = invoke("train", "-c", write_config(STATQUEST_CONFIG), "--set", "training.optimizer=lm", "--out", "-", "-q")
    assert quiet.stderr == ""


def test_the_result_carries_r2_on_the_training_data(write_config, invoke):
    config = write_config(STATQUEST_CONFIG)
    for lr in ("0.1", "auto"):
        doc = json.loads(invoke("train", "-c", config, "--lr", lr, "--epochs", "50", "--out", "-", "-q").stdout)
        theta = np.array([doc["params"][name] for name in STATQUEST_START])
        residual = DOSAGE_Y - forward(theta, DOSAGE_X)
        expected = 1 - residual @ residual / np.sum((DOSAGE_Y - DOSAGE_Y.mean()) ** 2)
        assert doc["r2"] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert verdict(np.zeros(7), DOSAGE_X, np.full(3, 2.0), "softplus", np.ones(7, bool)).r2 is None  # constant targets


def test_a_fit_no_better_than_a_constant_says_so(write_config, invoke):
    """Input weights of 0 on the symmetric dosage data: the residual of the best constant is orthogonal
    to every direction (a stationary point), and lm converges there. The summary says what it is."""
    lm = ["train", "-c", write_config(STATQUEST_CONFIG), "--set", "training.optimizer=lm", "--out", "-"]
    flat = invoke(*lm, "--set", "init.w1=0", "--set", "init.w2=0")
    doc = json.loads(flat.stdout)
    assert (flat.exit_code, doc["converged"], doc["r2"] < 1e-6) == (0, True, True)
    assert "converged: the gradient is small" in flat.stderr
    assert "but the fit is no better than a constant (R² 0.00 on the training data)" in flat.stderr
    good = invoke(*lm)
    assert json.loads(good.stdout)["r2"] > 0.99 and "no better than a constant" not in good.stderr
    assert "or this is a flat stationary point: try another init.seed, or training.restarts: 10" in flat.stderr


def test_a_flat_fit_to_inputs_that_are_all_the_same_is_the_best_there_is(write_config, invoke):
    """One input value: no curve tells the targets apart, so another start cannot help, and the summary
    says so in place of the usual advice."""
    config = write_config("data: {path: data.csv}\n", csv="x,y\n1,1\n1,2\n1,3\n1,5\n")
    result = invoke("train", "-c", config, "--out", "-")
    doc = json.loads(result.stdout)
    assert (result.exit_code, doc["converged"], doc["final_loss"]) == (0, True, pytest.approx(8.75, rel=1e-9))
    assert "every input is the same, so no curve can tell the targets apart: the mean is the best fit" in result.stderr
    assert "try another init.seed" not in result.stderr


def test_a_flat_fit_where_each_inputs_targets_average_the_same_says_no_curve_does_better(write_config, invoke):
    """Two inputs, each measured twice, both averaging 0.5: a constant is the best any curve can do,
    so the summary gives that ceiling, not advice to try other starts."""
    config = write_config("data: {path: data.csv}\n", csv="x,y\n0,0\n0,1\n1,0\n1,1\n")
    result = invoke("train", "-c", config, "--out", "-")
    assert json.loads(result.stdout)["converged"] is True
    assert "no curve of the input does much better: the best any can reach is R² 0.00" in result.stderr
    assert "try another init.seed" not in result.stderr
    assert nnbackprop.fit(str(config)).summary().endswith("; each input's targets average about the same")
