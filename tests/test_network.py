"""The math: activations, the forward pass, the SSR and its gradient, against every implementation.

The hand-worked epoch, the finite differences and the per-sample oracle take the
``implementation`` fixture (conftest.IMPLEMENTATIONS): the readable math, the fast kernel in
its block, batch and thread arrangements, and the gradient each loop of training steps with.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import (
    DOSAGE_X,
    DOSAGE_Y,
    STATQUEST_START,
    assert_close,
    central_difference,
    loop_ssr_and_gradient,
    off_relus_corner,
    random_problem,
)
from hypothesis import given
from hypothesis import strategies as st

from nnbackprop.network import ACTIVATIONS, forward, pack, param_names, softplus, ssr_and_gradient, unpack

RATE = 0.01  # of the epochs that the gradient is read back from: small enough that none diverges


def test_param_names_follow_statquest_numbering():
    assert param_names(2) == ["w1", "b1", "w2", "b2", "w3", "w4", "b3"]
    assert param_names(1) == ["w1", "b1", "w2", "b2"]
    assert param_names(3) == ["w1", "b1", "w2", "b2", "w3", "b3", "w4", "w5", "w6", "b4"]


def test_pack_and_unpack_are_inverse():
    theta = np.arange(10.0)  # H = 3
    w_in, b_in, w_out, b_out = unpack(theta)
    assert w_in.tolist() == [0, 2, 4]
    assert b_in.tolist() == [1, 3, 5]
    assert w_out.tolist() == [6, 7, 8]
    assert b_out == 9
    np.testing.assert_array_equal(pack(w_in, b_in, w_out, b_out), theta)


# --- every implementation: by hand, against finite differences, against the per-sample loop ---------


def test_one_epoch_by_hand_at_statquest_start(implementation):
    # At w1 = 2.74, b1 = 0, w2 = -1.13, b2 = 0, w3 = 0.36, w4 = 0.63, b3 = 0:
    #   dosage 0:   x1 = 0,     y1 = log(1 + e^0)     = 0.693147; x2 = 0,      y2 = 0.693147
    #               predicted = 0.36 * 0.693147 + 0.63 * 0.693147 = 0.686216
    #   dosage 0.5: x1 = 1.37,  y1 = log(1 + e^1.37)  = 1.596424; x2 = -0.565, y2 = 0.450031
    #               predicted = 0.36 * 1.596424 + 0.63 * 0.450031 = 0.858232
    #   dosage 1:   x1 = 2.74,  y1 = log(1 + e^2.74)  = 2.802571; x2 = -1.13,  y2 = 0.279927
    #               predicted = 0.36 * 2.802571 + 0.63 * 0.279927 = 1.185280
    # SSR = 0.686216^2 + (1 - 0.858232)^2 + 1.185280^2 = 0.470892 + 0.020098 + 1.404889 = 1.895878
    # dSSR/dpredicted = -2 * (observed - predicted) = 1.372431, -0.283536, 2.370559
    # dSSR/db3 = 1.372431 - 0.283536 + 2.370559 = 3.459454
    # dSSR/dw3 = 1.372431 * 0.693147 - 0.283536 * 1.596424 + 2.370559 * 2.802571 = 7.142314
    # dSSR/dw1 = sum dSSR/dpredicted * w3 * sigmoid(x1) * dosage
    #          = 0 + (-0.283536) * 0.36 * 0.797380 * 0.5 + 2.370559 * 0.36 * 0.939346 * 1 = 0.760944
    # With learning rate 0.1: w1 = 2.74 - 0.0760944 = 2.663906, b3 = 0 - 0.3459454 = -0.345945
    theta = np.array(list(STATQUEST_START.values()))
    epoch = implementation(theta, DOSAGE_X, DOSAGE_Y, "softplus", rate=0.1)
    g = dict(zip(STATQUEST_START, epoch.gradient, strict=True))
    new = dict(zip(STATQUEST_START, epoch.new_theta, strict=True))
    assert epoch.ssr == pytest.approx(1.895878, abs=1e-6)
    assert g["b3"] == pytest.approx(3.459454, abs=1e-6)
    assert g["w3"] == pytest.approx(7.142314, abs=1e-6)
    assert g["w1"] == pytest.approx(0.760944, abs=1e-6)
    assert new["w1"] == pytest.approx(2.663906, abs=1e-6)
    assert new["b3"] == pytest.approx(-0.345945, abs=1e-6)


SEEDS = range(3)


@functools.cache
def problem_and_numeric_gradient(activation, hidden, seed):
    """A random problem and dSSR/dtheta there by central differences of the oracle's SSR."""
    theta, x, y = random_problem(100 * hidden + seed, hidden)
    if activation == "relu":
        assert off_relus_corner(theta, x), "pick another seed: a hidden input sits on ReLU's corner"
    numeric = central_difference(lambda t: loop_ssr_and_gradient(t, x, y, activation).ssr, theta)
    return theta, x, y, numeric


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("hidden", [1, 2, 3, 4, 5])
def test_gradient_matches_central_finite_differences(implementation, activation, hidden):
    for seed in SEEDS:
        theta, x, y, numeric = problem_and_numeric_gradient(activation, hidden, seed)
        epoch = implementation(theta, x, y, activation, RATE)
        slack = np.max(epoch.slack)
        np.testing.assert_allclose(epoch.gradient, numeric, rtol=1e-6, atol=1e-7 + slack, err_msg=f"seed {seed}")


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("hidden", [1, 2, 3, 5])
def test_every_implementation_equals_the_per_sample_loop(implementation, activation, hidden):
    theta, x, y = random_problem(hidden, hidden)
    want = loop_ssr_and_gradient(theta, x, y, activation)
    epoch = implementation(theta, x, y, activation, RATE)
    assert_close(epoch.ssr, want.ssr, want.ssr, "SSR vs the loop")
    assert_close(epoch.gradient, want.gradient, want.size, "gradient vs the loop", epoch.slack)


# --- the readable math ---------------------------------------------------------------------


def test_batched_starts_equal_each_start_alone():
    rng = np.random.default_rng(5)
    thetas = rng.normal(size=(4, 7))
    ssr, grad = ssr_and_gradient(thetas, DOSAGE_X, DOSAGE_Y)
    assert ssr.shape == (4,)
    assert grad.shape == (4, 7)
    for r in range(4):
        one_ssr, one_grad = ssr_and_gradient(thetas[r], DOSAGE_X, DOSAGE_Y)
        assert ssr[r] == pytest.approx(one_ssr, rel=1e-14)
        np.testing.assert_allclose(grad[r], one_grad, rtol=1e-14)
        np.testing.assert_allclose(forward(thetas, DOSAGE_X)[r], forward(thetas[r], DOSAGE_X), rtol=1e-14)


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(finite)
def test_activations_stay_finite_for_any_float(z):
    for name, activation in ACTIVATIONS.items():
        a, da = activation(np.array([z]))
        assert np.isfinite(a).all(), name
        assert np.isfinite(da).all(), name
        assert 0 <= da[0] <= 1, name


@given(st.floats(min_value=-700, max_value=700))
def test_softplus_matches_its_definition(z):
    a, da = softplus(np.array([z]))
    assert a[0] == pytest.approx(np.log1p(np.exp(z)), rel=1e-12, abs=1e-300)
    assert da[0] == pytest.approx(1 / (1 + np.exp(-z)), rel=1e-12, abs=1e-300)


def test_extreme_inputs_give_finite_results():
    theta = np.array([1e3, 0.0, -1e3, 5.0, 1e3, -1e3, 0.0])
    x = np.array([-1e6, 0.0, 1e6])
    ssr, grad = ssr_and_gradient(theta, x, np.zeros(3))
    assert np.isfinite(ssr)
    assert np.isfinite(grad).all()
