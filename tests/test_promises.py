"""Documented numbers a mutant of the code could change unseen: the divergence limit, the seeded draw,
a one-column CSV, the best epoch across a resume."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from conftest import ROOT

import nnbackprop
from nnbackprop import data
from nnbackprop.files import Stream
from nnbackprop.training import DIVERGENCE_FACTOR, Settings, State, initial_theta, train

DOSAGE = str(ROOT / "configs" / "dosage.yaml")


class TwentyfoldEachEpoch:
    """SSR = e^theta0, gradient -1: gradient descent at rate ln 20 multiplies the SSR by 20 each epoch."""

    x = observed = np.zeros(1)
    activation = "softplus"

    def __call__(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        return np.exp(theta[..., 0]), np.full_like(theta, -1.0)


@pytest.mark.parametrize("starts", [1, 2])
def test_a_run_diverges_once_its_ssr_passes_a_million_times_the_start(starts):
    theta = np.zeros((starts, 7))
    state = train(TwentyfoldEachEpoch(), State.start(theta), Settings(math.log(20), 20, 0.0, np.ones(7, bool)))
    assert DIVERGENCE_FACTOR == 1e6
    assert state.reasons == ["diverged"] * starts
    assert state.epochs.tolist() == [4] * starts  # 20^4 = 1.6e5 times the start is kept; 20^5 = 3.2e6 is not
    assert state.losses[4][0] == pytest.approx(20.0**4)


def test_a_seed_draws_the_weights_in_pack_order_and_leaves_the_biases_at_zero():
    theta = initial_theta(2, 5, {})[0]
    draws = np.random.default_rng(5).standard_normal((1, 4))[0]
    np.testing.assert_array_equal(theta[[0, 2, 4, 5]], draws)  # w1, w2, w3, w4
    np.testing.assert_array_equal(theta[[1, 3, 6]], 0.0)  # b1, b2, b3


def test_restarts_draw_one_row_per_start():
    theta = initial_theta(1, 9, {}, starts=3)
    np.testing.assert_array_equal(theta[:, [0, 2]], np.random.default_rng(9).standard_normal((3, 2)))


def test_a_one_column_csv_is_refused_for_training():
    with pytest.raises(nnbackprop.DataError, match=r"^-: line 1: needs at least 2 columns, found 1$"):
        data.load_xy(Stream(io.BytesIO(b"a\n1\n2\n")), None, None)
    with pytest.raises(nnbackprop.DataError, match=r"^-: line 1: needs .* found 1 \(it holds ';': columns are sep"):
        data.load_xy(Stream(io.BytesIO(b"a;b\n1;2\n")), None, None)


def test_the_best_epoch_carries_over_a_resume(tmp_path):
    first = nnbackprop.fit(DOSAGE, learning_rate=0.3, max_epochs=40)
    path = tmp_path / "first.json"
    path.write_text(nnbackprop.results.dumps(first.document))
    resumed = nnbackprop.fit(DOSAGE, learning_rate=0.3, max_epochs=90, resume=str(path))
    whole = nnbackprop.fit(DOSAGE, learning_rate=0.3, max_epochs=90)
    assert resumed.document["best_epoch"] == whole.document["best_epoch"]
    assert resumed.document["best_loss"] == whole.document["best_loss"]
    assert resumed.document["best_params"] == whole.document["best_params"]
