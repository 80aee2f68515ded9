"""Tests that kill mutants of nnbackprop/optimizers.py the rest of the suite let through (benchmarks/mutants.py)."""

from __future__ import annotations

import numpy as np

from nnbackprop import optimizers

X = np.array([0.0, 0.5, 1.0])
Y = np.array([0.0, 1.0, 0.0])


def test_parameters_whose_loss_is_not_finite_are_never_called_converged():
    verdict = optimizers.verdict(np.full(7, np.nan), X, Y, "softplus", np.ones(7, bool))
    assert verdict.converged is False
    assert verdict.gradient_norm is None and verdict.gradient_cosine is None


def test_lm_stops_at_the_first_refused_step_below_min_step_size():
    # documented: LM stops "when a refused step was already below min_step_size"; a refused
    # step repeats the loss, so the history ends on the first repeat and holds no other
    from nnbackprop.kernel import Kernel
    from nnbackprop.training import Settings, State, train

    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 30)
    y = np.sin(6 * x) + rng.normal(0, 0.3, 30)
    start = np.array([2.74, 0.0, -1.13, 0.0, 0.36, 0.63, 0.0])
    settings = Settings(1.0, 200, 10.0, np.ones(7, bool), optimizer="lm", gradient_tolerance=0.0)
    state = train(Kernel(x, y), State.start(start), settings)
    assert state.reasons == ["min_step_size"]
    history = state.history()
    repeats = [k for k in range(1, len(history)) if history[k] == history[k - 1]]
    assert repeats == [len(history) - 1]


class _Counting:
    """An objective that counts the passes over the data made through it."""

    def __init__(self, objective):
        self.objective, self.passes = objective, 0

    def __call__(self, theta):
        self.passes += 1
        return self.objective(theta)

    def normal_equations(self, *args, **kw):
        self.passes += 1
        return self.objective.normal_equations(*args, **kw)

    def __getattr__(self, name):
        return getattr(self.objective, name)


def test_auto_descent_counts_every_pass_it_makes_over_the_data():
    from nnbackprop.kernel import Kernel
    from nnbackprop.training import Interrupt, Settings

    objective = _Counting(Kernel(X, Y))
    theta = np.array([2.74, 0.0, -1.13, 0.0, 0.36, 0.63, 0.0])
    track = optimizers.Track(theta, [float(objective.objective(theta[None])[0][0])], 0, np.inf, theta, 0)
    settings = Settings("auto", 3000, 1e-9, np.ones(7, bool))
    optimizers.auto_descent(track, objective, settings, Interrupt())
    assert track.reason is not None
    assert track.passes == objective.passes
