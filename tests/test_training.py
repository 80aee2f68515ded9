"""Gradient descent: the stop rules, the history, frozen parameters, starts, divergence, resume."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DOSAGE_X, DOSAGE_Y, IMPLEMENTATIONS, STATQUEST_OPTIMIZED, STATQUEST_START

from nnbackprop import kernel, training
from nnbackprop.kernel import Kernel
from nnbackprop.network import param_names, ssr_and_gradient, unpack
from nnbackprop.training import Interrupt, Settings, State, initial_theta, train

X, Y = DOSAGE_X, DOSAGE_Y
START = np.array(list(STATQUEST_START.values()))


def settings(lr=0.01, max_epochs=20000, min_step=1e-6, trainable=None):
    mask = np.ones(7, bool) if trainable is None else np.array([n in trainable for n in param_names(2)])
    return Settings(lr, max_epochs, min_step, mask)


def run(theta=START, **kw):
    return train(Kernel(X, Y), State.start(theta), settings(**kw))


def test_reproduces_statquest_optimized_parameters():
    state = run()
    assert state.reasons == ["min_step_size"]
    learned = dict(zip(param_names(2), state.theta[0]))
    for name, published in STATQUEST_OPTIMIZED.items():
        assert round(learned[name], 2) == published, name
    assert 7000 < state.epochs[0] < 10000


def test_loss_history_has_the_loss_after_every_epoch():
    state = run(max_epochs=50)
    history = state.history()
    assert state.reasons == ["max_epochs"]
    assert state.epochs[0] == 50
    assert len(history) == 51
    assert history[0] == pytest.approx(ssr_and_gradient(START, X, Y)[0], rel=1e-15)
    assert history[-1] == pytest.approx(ssr_and_gradient(state.theta[0], X, Y)[0], rel=1e-15)
    assert all(b < a for a, b in zip(history, history[1:]))  # a small rate descends


def test_one_epoch_is_one_simultaneous_step():
    state = run(lr=0.1, max_epochs=1)
    _, grad = Kernel(X, Y)(START)
    np.testing.assert_array_equal(state.theta[0], START - 0.1 * grad)
    np.testing.assert_allclose(grad, ssr_and_gradient(START, X, Y)[1], rtol=1e-13)


def test_stops_after_the_first_epoch_whose_largest_step_is_small():
    min_step = 1e-3
    state = run(lr=0.1, max_epochs=10_000, min_step=min_step)
    assert state.reasons == ["min_step_size"]
    # replay the run: no earlier epoch had all steps small, the last one did
    theta, objective = START.copy(), Kernel(X, Y)
    for epoch in range(1, state.epochs[0] + 1):
        step = 0.1 * objective(theta)[1]
        theta = theta - step
        assert (np.abs(step).max() < min_step) == (epoch == state.epochs[0])
    np.testing.assert_array_equal(theta, state.theta[0])


def test_zero_max_epochs_only_measures_the_start():
    state = run(max_epochs=0)
    assert state.reasons == ["max_epochs"]
    assert state.epochs[0] == 0
    assert len(state.history()) == 1
    np.testing.assert_array_equal(state.theta[0], START)


def test_frozen_parameters_never_change_and_do_not_stop_training():
    start = np.array(list(STATQUEST_OPTIMIZED.values()))
    start[-1] = 0.0  # only b3 trains, from 0: StatQuest's "Main Ideas"
    state = run(theta=start, lr=0.1, min_step=0.001, trainable=["b3"])
    np.testing.assert_array_equal(state.theta[0][:-1], start[:-1])
    assert round(state.theta[0][-1], 2) == 2.61


def test_divergence_stops_at_once_and_keeps_the_last_finite_parameters():
    state = run(lr=50.0, max_epochs=1000)
    assert state.reasons == ["diverged"]
    assert np.isfinite(state.theta[0]).all()
    history = state.history()
    assert len(history) == state.epochs[0] + 1
    assert np.isfinite(history).all()
    # the kept parameters are the ones the last recorded loss belongs to
    assert history[-1] == pytest.approx(ssr_and_gradient(state.theta[0], X, Y)[0], rel=1e-12)
    assert state.best_loss[0] <= min(history)


def test_best_so_far_is_recorded():
    state = run(lr=0.5, max_epochs=200)  # a rate large enough to bounce
    history = state.history()
    best = int(np.argmin(history))
    assert state.best_epoch[0] == best
    assert state.best_loss[0] == history[best]
    assert ssr_and_gradient(state.best_theta[0], X, Y)[0] == pytest.approx(history[best], rel=1e-12)


def test_interrupt_stops_after_a_whole_epoch():
    interrupt = Interrupt()
    calls = []

    def on_epoch(state):
        calls.append(int(state.epochs[0]))
        if state.epochs[0] == 30:
            interrupt.signal = 2

    state = train(Kernel(X, Y), State.start(START), settings(), on_epoch, 10, interrupt)
    assert state.reasons == ["interrupted"]
    assert state.epochs[0] == 30
    assert calls == [10, 20, 30]
    assert len(state.history()) == 31


def test_resume_matches_an_uninterrupted_run_number_for_number():
    whole = run(max_epochs=3000)
    interrupt = Interrupt()

    def stop_at_1234(state):
        if state.epochs[0] == 1234:
            interrupt.signal = 15

    first = train(Kernel(X, Y), State.start(START), settings(max_epochs=3000), stop_at_1234, 1, interrupt)
    assert first.reasons == ["interrupted"]
    first.reasons = [None]
    resumed = train(Kernel(X, Y), first, settings(max_epochs=3000))
    np.testing.assert_array_equal(resumed.theta, whole.theta)
    assert resumed.history() == whole.history()
    assert resumed.best_epoch[0] == whole.best_epoch[0]


def test_random_init_draws_weights_and_zero_biases():
    theta = initial_theta(2, seed=7, values={}, starts=3)
    names = param_names(2)
    assert theta.shape == (3, 7)
    for k, name in enumerate(names):
        assert (theta[:, k] == 0).all() == name.startswith("b")
    np.testing.assert_array_equal(theta[0], initial_theta(2, 7, {})[0])  # start 0 = the single run
    assert initial_theta(2, 7, {"w3": 0.5})[0, names.index("w3")] == 0.5


def test_a_spread_init_bends_each_neuron_at_a_uniform_point_of_the_standard_range():
    plain, spread = initial_theta(3, 7, {}, 400), initial_theta(3, 7, {}, 400, spread=True)
    w, b, w_out, b_out = unpack(spread)
    np.testing.assert_array_equal(w, unpack(plain)[0])  # the same weights as without spread
    np.testing.assert_array_equal(w_out, unpack(plain)[2])
    assert (b_out == 0).all()
    bends = -b / w
    assert (np.abs(bends) <= 1).all()
    assert np.histogram(bends, bins=4, range=(-1, 1))[0].min() > 0.2 * bends.size  # spread over all of it


def test_restarts_each_equal_their_start_trained_alone():
    starts = initial_theta(2, seed=3, values={}, starts=5)
    together = train(Kernel(X, Y), State.start(starts), settings(lr=0.05, max_epochs=3000, min_step=1e-4))
    for r in range(5):
        alone = train(Kernel(X, Y), State.start(starts[r]), settings(lr=0.05, max_epochs=3000, min_step=1e-4))
        assert together.reasons[r] == alone.reasons[0]
        assert together.epochs[r] == alone.epochs[0]
        np.testing.assert_array_equal(together.theta[r], alone.theta[0])
        assert together.history(r) == alone.history()
    finals = [together.history(r)[-1] for r in range(5)]
    assert together.best_start == int(np.argmin(finals))


@pytest.mark.parametrize("lr, epochs", [(0.01, 3000), (0.5, 300), (50.0, 100)])  # descends, bounces, diverges
def test_the_fused_one_start_path_equals_the_plain_one(lr, epochs):
    objective = Kernel(X, Y)
    fused = train(objective, State.start(START), settings(lr=lr, max_epochs=epochs))
    plain = train(lambda theta: objective(theta), State.start(START), settings(lr=lr, max_epochs=epochs))
    assert fused.reasons == plain.reasons
    assert fused.epochs[0] == plain.epochs[0]
    np.testing.assert_array_equal(fused.theta, plain.theta)
    assert fused.history() == plain.history()
    np.testing.assert_array_equal(fused.best_theta, plain.best_theta)
    assert fused.best_loss[0] == plain.best_loss[0]
    assert fused.best_epoch[0] == plain.best_epoch[0]


def test_a_start_that_diverges_in_a_batch_is_called_diverged_as_alone():
    x, y = np.array([1.0]), np.array([0.0])
    theta = np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    only_b2 = Settings(1000.0, 50, 1e4, np.array([False, False, False, True]))
    batch = train(Kernel(x, y), State.start(theta), only_b2)
    alone = train(Kernel(x, y), State.start(theta[0]), only_b2)
    assert alone.reasons == ["diverged"]
    assert batch.reasons == ["diverged", "diverged"]


def test_calling_the_objective_during_training_changes_nothing():
    objective = Kernel(X, Y)
    quiet = train(Kernel(X, Y), State.start(START), settings(lr=0.5, max_epochs=300))
    busy = train(objective, State.start(START), settings(lr=0.5, max_epochs=300), lambda s: objective(s.theta + 1), 1)
    np.testing.assert_array_equal(busy.best_theta, quiet.best_theta)
    np.testing.assert_array_equal(busy.theta, quiet.theta)


def test_parameters_beyond_half_the_float_range_train_as_plainly():
    x, y = np.array([1.0]), np.array([0.0])
    theta = np.array([1.0, 0.0, 1.0, 0.0])
    only_w1 = Settings(5e307, 10, 1e-3, np.array([True, False, False, False]))
    fused = train(Kernel(x, y), State.start(theta), only_w1)
    plain = train(lambda t: Kernel(x, y)(t), State.start(theta), only_w1)
    assert fused.reasons == plain.reasons
    assert fused.epochs[0] == plain.epochs[0]
    np.testing.assert_array_equal(fused.theta, plain.theta)


@pytest.mark.parametrize("implementation", [i for i in IMPLEMENTATIONS if i.path], ids=lambda i: i.name)
def test_each_training_path_is_the_one_it_is_named_for(implementation, monkeypatch):
    # The implementations the math tests run against (conftest) step through the loops they name.
    made = []

    class Descent(kernel.Descent):
        def __init__(self, *args):
            made.append("Descent")
            super().__init__(*args)

    class Steps(training._Steps):
        def __init__(self, *args):
            made.append("_Steps")
            super().__init__(*args)

    monkeypatch.setattr(kernel, "Descent", Descent)
    monkeypatch.setattr(training, "_Steps", Steps)
    implementation(START, X, Y, "softplus", rate=0.1)
    assert made == ([] if implementation.path == "batch" else [implementation.path])
