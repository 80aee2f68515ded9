"""The fast kernel, on data of every size, against the readable math and the per-sample loop.

Every comparison with the references allows 1e-12 of the sum of the magnitudes of the
terms that make up each number (conftest.assert_close; for the SSR, all terms are
positive: plain relative error).  The batch and thread tests ask for the same numbers,
bit for bit.  The hand-worked epoch and the finite differences run against the kernel
too, with the rest of the implementations, in test_network.
"""

import numpy as np
import pytest
from conftest import DOSAGE_X, DOSAGE_Y, IMPLEMENTATIONS, STATQUEST_START, assert_close, loop_ssr_and_gradient

from nnbackprop import kernel
from nnbackprop.kernel import Kernel
from nnbackprop.network import ACTIVATIONS, ssr_and_gradient
from nnbackprop.training import Settings, State, initial_theta, train

CHUNK = kernel.CHUNK


def problem(n, hidden, starts, seed=0):
    rng = np.random.default_rng(seed + 1000 * n + hidden)
    x = rng.uniform(-2, 2, n)
    y = rng.standard_normal(n)
    theta = 1.5 * rng.standard_normal((starts, 3 * hidden + 1))
    return x, y, theta


def check_against_references(objective, x, y, theta, activation):
    ssr, grad = objective(theta)
    ref_ssr, ref_grad = ssr_and_gradient(theta, x, y, activation)
    assert np.shape(ssr) == np.shape(ref_ssr)
    assert grad.shape == theta.shape
    assert ref_grad.shape == theta.shape
    for r, th in enumerate(np.atleast_2d(theta)):
        got_ssr, got_grad = (ssr, grad) if theta.ndim == 1 else (ssr[r], grad[r])
        want_ssr, want_grad, size = loop_ssr_and_gradient(th, x, y, activation)
        assert_close(got_ssr, want_ssr, want_ssr, "SSR vs the loop")
        assert_close(got_grad, want_grad, size, "gradient vs the loop")
        ref = (ref_ssr, ref_grad) if theta.ndim == 1 else (ref_ssr[r], ref_grad[r])
        assert_close(got_ssr, ref[0], want_ssr, "SSR vs ssr_and_gradient")
        assert_close(got_grad, ref[1], size, "gradient vs ssr_and_gradient")


# --- Objective against the references --------------------------------------------------


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("hidden", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [1, 3, kernel.SMALL, kernel.SMALL + 1, 137])
def test_small_data_matches_references(activation, hidden, n):
    x, y, theta = problem(n, hidden, 3)
    objective = Kernel(x, y, activation)
    check_against_references(objective, x, y, theta[0], activation)  # R = 1, theta of shape (P,)
    check_against_references(objective, x, y, theta[:1], activation)  # R = 1, shape (1, P)
    check_against_references(objective, x, y, theta, activation)  # R = 3


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("hidden", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [CHUNK - 1, CHUNK + 1, 2 * CHUNK + 123])
def test_data_around_the_block_size_matches_references(activation, hidden, n):
    x, y, theta = problem(n, hidden, 2)
    objective = Kernel(x, y, activation)
    assert len(objective.blocks) == -(-n // CHUNK)
    check_against_references(objective, x, y, theta[0], activation)
    check_against_references(objective, x, y, theta, activation)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("chunk", [7, 64, 100])
def test_many_small_blocks_and_start_groups(monkeypatch, activation, chunk):
    monkeypatch.setattr(kernel, "CHUNK", chunk)
    monkeypatch.setattr(kernel, "GROUP", 3 * 13 * chunk)  # groups of 3 starts
    x, y, theta = problem(1003, 3, 7)
    objective = Kernel(x, y, activation)
    assert len(objective.blocks) == -(-1003 // chunk)
    check_against_references(objective, x, y, theta, activation)


def test_no_data_gives_zero():
    ssr, grad = Kernel(np.array([]), np.array([]))(np.ones((2, 7)))
    assert ssr.tolist() == [0.0, 0.0]
    assert grad.tolist() == [[0.0] * 7] * 2


def test_results_are_fresh_arrays():
    x, y, theta = problem(3, 2, 1)
    objective = Kernel(x, y)
    ssr, grad = objective(theta)
    kept = ssr.copy(), grad.copy()
    objective(theta + 1.0)
    assert np.array_equal(ssr, kept[0])
    assert np.array_equal(grad, kept[1])


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("n", [3, CHUNK + 5])
def test_large_inputs_do_not_warn(activation, n):
    # pytest turns warnings into errors: an overflow or invalid value would fail here
    x = np.resize([1e6, -1e6, 0.5, 0.0], n)
    y = np.resize([1.0, -2.0, 0.0], n)
    theta = np.array([1e3, 3.0, -1e3, -2.0, 0.5, -0.25, 0.1])
    ssr, grad = Kernel(x, y, activation)(theta)
    assert np.isfinite(ssr)
    assert np.isfinite(grad).all()
    want_ssr, want_grad, size = loop_ssr_and_gradient(theta, x, y, activation)
    assert_close(ssr, want_ssr, want_ssr, "SSR")
    assert_close(grad, want_grad, size, "gradient")


# --- the same numbers whatever the batch or the threads ---------------------------------


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("n", [3, 100, 2 * CHUNK + 5])
def test_a_start_in_a_batch_equals_the_start_alone(activation, n):
    x, y, theta = problem(n, 2, 5)
    objective = Kernel(x, y, activation)
    ssr, grad = objective(theta)
    for r in range(len(theta)):
        alone_ssr, alone_grad = objective(theta[r])
        assert ssr[r] == alone_ssr
        assert np.array_equal(grad[r], alone_grad)


def test_the_threaded_implementation_the_math_tests_run_against_uses_two_threads(monkeypatch):
    threaded = next(i for i in IMPLEMENTATIONS if "2 threads" in i.name)
    pools, executor = [], kernel._executor
    monkeypatch.setattr(kernel, "_executor", lambda workers: pools.append(workers) or executor(workers))
    threaded(np.array(list(STATQUEST_START.values())), DOSAGE_X, DOSAGE_Y)
    assert pools == [2]


@pytest.mark.parametrize("activation", ["softplus", "relu"])
def test_threads_do_not_change_the_numbers(activation):
    x, y, theta = problem(5 * CHUNK + 17, 3, 3)
    one = Kernel(x, y, activation, threads=1)(theta)
    two = Kernel(x, y, activation, threads=2)(theta)
    assert np.array_equal(one[0], two[0])
    assert np.array_equal(one[1], two[1])


def assert_same_state(batch, r, alone):
    assert np.array_equal(batch.theta[r], alone.theta[0])
    assert np.array_equal(batch.initial[r], alone.initial[0])
    assert batch.epochs[r] == alone.epochs[0]
    assert batch.reasons[r] == alone.reasons[0]
    assert batch.history(r) == alone.history(0)
    assert np.array_equal(batch.best_theta[r], alone.best_theta[0])
    np.testing.assert_array_equal(batch.best_loss[r], alone.best_loss[0])  # NaN equal to NaN
    assert batch.best_epoch[r] == alone.best_epoch[0]


DOSAGE = DOSAGE_X, DOSAGE_Y


@pytest.mark.parametrize(
    "rate, epochs, min_step, reasons",
    [
        (0.05, 3000, 1e-4, {"min_step_size", "max_epochs"}),  # some converge, some do not
        (3.0, 200, 1e-6, {"diverged"}),
    ],
)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_restarts_batch_equals_each_start_run_alone(rate, epochs, min_step, reasons, activation):
    x, y = DOSAGE
    theta = initial_theta(2, 11, {}, 8)
    trainable = np.ones(7, bool)
    batch = train(Kernel(x, y, activation), State.start(theta), Settings(rate, epochs, min_step, trainable))
    assert reasons & set(batch.reasons)
    for r in range(len(theta)):
        alone = train(Kernel(x, y, activation), State.start(theta[r]), Settings(rate, epochs, min_step, trainable))
        assert_same_state(batch, r, alone)


def test_restarts_on_data_of_several_blocks_and_frozen_parameters():
    x, y, _ = problem(2 * CHUNK + 5, 2, 1)
    theta = initial_theta(2, 3, {"b3": 0.5}, 3)
    trainable = np.array([True, True, False, True, True, True, False])
    settings = Settings(1e-5, 6, 0.0, trainable)
    batch = train(Kernel(x, y), State.start(theta), settings)
    assert batch.epochs.tolist() == [6, 6, 6]
    np.testing.assert_array_equal(batch.theta[:, [2, 6]], theta[:, [2, 6]])
    for r in range(len(theta)):
        assert_same_state(batch, r, train(Kernel(x, y), State.start(theta[r]), settings))


def test_a_start_alone_shows_the_same_state_to_on_epoch_as_in_a_batch():
    x, y = DOSAGE
    theta = initial_theta(2, 5, {}, 2)
    settings = Settings(0.05, 50, 1e-9, np.ones(7, bool))

    def recorder(seen):
        def record(state):
            seen.append((state.theta.copy(), state.best_theta.copy(), state.epochs.copy(), state.best_epoch.copy()))

        return record

    batch, alone = [], []
    train(Kernel(x, y), State.start(theta), settings, recorder(batch), 7)
    train(Kernel(x, y), State.start(theta[1]), settings, recorder(alone), 7)
    assert len(batch) == 7
    assert len(alone) == 7
    for b, a in zip(batch, alone, strict=True):
        for field, b_field, a_field in zip(("theta", "best_theta", "epochs", "best_epoch"), b, a, strict=True):
            np.testing.assert_array_equal(b_field[1], a_field[0], err_msg=field)


def test_resuming_a_start_alone_carries_on_as_one_run():
    x, y = DOSAGE
    theta = initial_theta(2, 5, {}, 1)
    whole = train(Kernel(x, y), State.start(theta), Settings(0.05, 40, 0.0, np.ones(7, bool)))
    state = train(Kernel(x, y), State.start(theta), Settings(0.05, 25, 0.0, np.ones(7, bool)))
    state.reasons = [None]
    resumed = train(Kernel(x, y), state, Settings(0.05, 40, 0.0, np.ones(7, bool)))
    assert_same_state(whole, 0, resumed)
    assert resumed.epochs[0] == 40
    assert len(resumed.losses) == 41


def test_interrupt_stops_a_start_alone_after_the_current_epoch():
    x, y = DOSAGE
    interrupt = type("Interrupt", (), {"signal": 0})()

    def stop_at_three(state):
        if state.epochs[0] == 3:
            interrupt.signal = 2

    state = train(
        Kernel(x, y),
        State.start(initial_theta(2, 1, {}, 1)),
        Settings(0.05, 100, 0.0, np.ones(7, bool)),
        stop_at_three,
        1,
        interrupt,
    )
    assert state.reasons == ["interrupted"]
    assert state.epochs[0] == 3
    assert len(state.losses) == 4
