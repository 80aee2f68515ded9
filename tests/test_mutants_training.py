"""Tests that kill mutants of nnbackprop/training.py which the rest of the suite let through (benchmarks/mutants.py)."""

from __future__ import annotations

import numpy as np

from nnbackprop.kernel import Kernel
from nnbackprop.training import Settings, State, train


def test_min_step_size_zero_never_stops_on_a_zero_step():
    # relu neurons that are all off and an output bias already at the data: the gradient is
    # exactly 0, so every step is 0; "below min_step_size = 0" is never true, max_epochs stops it
    x, y = np.array([-1.0, -0.5, -2.0]), np.zeros(3)
    for starts in (1, 2):  # one start, and several trained together
        state = State.start(np.zeros((starts, 7)))
        state = train(Kernel(x, y, "relu"), state, Settings(0.01, 5, 0.0, np.ones(7, bool)))
        assert state.reasons == ["max_epochs"] * starts
        assert state.epochs.tolist() == [5] * starts
