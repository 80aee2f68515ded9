"""The chain rule as numbers (explain), the gradient check, predict --decompose and train --history-csv."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from conftest import (
    DOSAGE_X,
    DOSAGE_Y,
    ROOT,
    STATQUEST_START,
    central_difference,
    loop_ssr_and_gradient,
    off_relus_corner,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbackprop import fit, kernel, network, optimizers, results
from nnbackprop.explain import (
    chains,
    explain,
    explain_lm,
    in_units,
    local_derivative_name,
    to_text,
)
from nnbackprop.gradcheck import check, kinks, numeric_gradient
from nnbackprop.history import Recorder, history_table
from nnbackprop.network import decompose
from nnbackprop.training import Settings, State, train
from nnbackprop.units import Units

DOSAGE = str(ROOT / "configs" / "dosage.yaml")
LESSON1 = str(ROOT / "configs" / "lesson1-main-ideas.yaml")
X, OBSERVED = DOSAGE_X, DOSAGE_Y
START = np.array(list(STATQUEST_START.values()))  # the dosage config's init


def random_problem(seed: int, hidden: int, n: int = 6):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1.5, 3 * hidden + 1), rng.normal(0, 1, n), rng.normal(0, 1, n)


# --- gradcheck: its finite differences, its verdict ----------------------------------
# (The gradient itself against finite differences, for every implementation: test_network.)


@pytest.mark.parametrize("activation", list(network.ACTIVATIONS))
@pytest.mark.parametrize("hidden", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", range(3))
def test_gradcheck_differences_as_the_tests_do_and_passes_the_true_gradient(activation, hidden, seed):
    theta, x, observed = random_problem(seed, hidden)
    if activation == "relu":
        assert off_relus_corner(theta, x), "pick another seed: a hidden input sits on ReLU's corner"
    ours = central_difference(lambda t: loop_ssr_and_gradient(t, x, observed, activation).ssr, theta)
    np.testing.assert_allclose(numeric_gradient(theta, x, observed, activation), ours, rtol=1e-6, atol=1e-7)
    report = check(theta, x, observed, activation)
    assert report["ok"], report
    assert max(p["rel_error"] for p in report["parameters"].values()) < 1e-8
    assert list(report["parameters"]) == network.param_names(hidden)


@pytest.mark.parametrize("activation", list(network.ACTIVATIONS))
def test_gradcheck_checks_the_objective_training_uses(activation, monkeypatch):
    theta, x, observed = random_problem(7, 2)

    class OffByAFactor(kernel.Kernel):  # dSSR/dw3 forgets the factor 2 of dSSR/dpredicted
        def __call__(self, t):
            ssr, gradient = super().__call__(t)
            gradient[..., 4] /= 2
            return ssr, gradient

    monkeypatch.setattr(kernel, "Kernel", OffByAFactor)
    report = check(theta, x, observed, activation)
    assert not report["ok"]
    assert [name for name, p in report["parameters"].items() if not p["ok"]] == ["w3"]


@pytest.mark.parametrize("activation", list(network.ACTIVATIONS))
def test_gradcheck_over_many_blocks_of_rows_is_the_whole_datas(activation, monkeypatch):
    """gradcheck sums over blocks of rows so that its memory does not grow with the data: split
    into seven blocks (the last one short), its differences and corners are the whole data's."""
    theta, x, observed = random_problem(11, 2, n=50)
    x[13] = -theta[1] / theta[0]  # a ReLU corner in one block only
    whole = numeric_gradient(theta, x, observed, activation), kinks(theta, x, observed, activation)
    monkeypatch.setattr(network, "BLOCK_CELLS", 8 * 2 * len(theta) * 2)  # 8 rows a block
    split = numeric_gradient(theta, x, observed, activation), kinks(theta, x, observed, activation)
    assert split[1].tolist() == whole[1].tolist()
    smooth = ~whole[1]  # across a corner the difference is no slope, and moves with the step's last bits
    np.testing.assert_allclose(split[0][smooth], whole[0][smooth], rtol=1e-9, atol=1e-9)
    assert split[1].any() == (activation == "relu")


def test_relative_error_of_a_zero_gradient_is_not_noise():
    # At the trained optimum every gradient is ~1e-5: judged against the whole gradient's scale, not itself.
    theta = np.array([3.338062, -1.4257294, -3.5294859, 0.5735107, -1.2162627, -2.3011616, 2.6103001])
    report = check(theta, X, OBSERVED, "softplus")
    assert report["ok"]
    assert all(abs(p["analytic"]) < 1e-2 for p in report["parameters"].values())
    assert all(p["rel_error"] < 1e-8 for p in report["parameters"].values())


@pytest.mark.parametrize("activation", ["softplus", "tanh"])
@pytest.mark.parametrize("x_unit", [1e-3, 1.0, 1e5])
@pytest.mark.parametrize("y_unit", [1e-6, 1.0, 1e6])
def test_gradcheck_passes_the_true_gradient_and_fails_a_wrong_one_on_data_in_any_units(
    activation, x_unit, y_unit, monkeypatch
):
    """One step 6e-6 * max(1, |theta|) failed the true gradient on inputs in the thousands (rel_error
    0.5 at the start) and at trained points with a large output weight (1e-3): the steps follow
    the parameter's unit, and the comparison scales with the targets."""
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(1, 2, 60)) * x_unit
    observed = (np.sin(4 * x / x_unit) + rng.normal(0, 0.05, 60)) * y_unit
    start = fit({"data": (x, observed), "model": {"hidden": 3, "activation": activation}}, seed=1, max_epochs=0)
    trained = fit({"data": (x, observed), "model": {"hidden": 3, "activation": activation}}, seed=1, max_epochs=300)
    for run in (start, trained):
        theta = np.array(list(run.params.values()))
        report = check(theta, x, observed, activation)
        assert report["ok"], report
        assert max(p["rel_error"] for p in report["parameters"].values()) < 1e-7
        largest = int(np.argmax([abs(p["analytic"]) for p in report["parameters"].values()]))

        class Halved(kernel.Kernel):
            def __call__(self, t, j=largest):
                ssr, gradient = super().__call__(t)
                gradient[..., j] /= 2
                return ssr, gradient

        with monkeypatch.context() as m:
            m.setattr(kernel, "Kernel", Halved)
            wrong = check(theta, x, observed, activation)
        assert [name for name, p in wrong["parameters"].items() if not p["ok"]] == [network.param_names(3)[largest]]


def test_relu_corner_is_marked_and_not_judged():
    # Dosage 0 with b1 = b2 = 0 puts x1 = x2 = 0 on ReLU's corner: moving b1 or b2 crosses it.
    at_corner = kinks(START, X, OBSERVED, "relu")
    assert at_corner.tolist() == [False, True, False, True, False, False, False]
    assert not kinks(START, X, OBSERVED, "softplus").any()
    report = check(START, X, OBSERVED, "relu")
    assert report["ok"]
    assert [n for n, p in report["parameters"].items() if p["kink"]] == ["b1", "b2"]


# --- explain: the factors multiply out and sum to the gradient ----------------------


@pytest.mark.parametrize("activation", list(network.ACTIVATIONS))
@pytest.mark.parametrize("hidden", [1, 2, 4])
def test_explain_products_and_sums_are_the_gradient(activation, hidden):
    theta, x, observed = random_problem(hidden, hidden, n=5)
    report = explain(theta, x, observed, activation, learning_rate=0.05)
    _, gradient = network.ssr_and_gradient(theta, x, observed, activation)
    assert list(report["parameters"]) == network.param_names(hidden)
    for j, (name, p) in enumerate(report["parameters"].items()):
        assert len(p["per_sample"]) == len(x)
        for sample in p["per_sample"]:
            assert len(sample["factors"]) == len(p["chain"]) == len(p["formulas"])
            assert sample["product"] == pytest.approx(math.prod(sample["factors"]), rel=1e-12, abs=1e-300)
        assert p["gradient"] == pytest.approx(sum(s["product"] for s in p["per_sample"]), rel=1e-12, abs=1e-12)
        assert p["gradient"] == pytest.approx(gradient[j], rel=1e-10, abs=1e-12), name
        assert p["step_size"] == pytest.approx(p["gradient"] * 0.05, rel=1e-15)
        assert p["new_value"] == p["value"] - p["step_size"]


def test_explain_factors_are_the_articles():
    report = explain(START, X, OBSERVED, "softplus", learning_rate=0.01)
    predicted = network.forward(START, X)
    z, a, _ = network.hidden_layer(START, X)
    sigmoid = 1 / (1 + np.exp(-z))
    w1, b3, w4 = (report["parameters"][n] for n in ("w1", "b3", "w4"))
    assert w1["chain"] == ["dSSR/dpredicted", "dpredicted/dy1", "dy1/dx1", "dx1/dw1"]
    assert w1["formulas"] == ["-2 * (observed - predicted)", "w3", "sigmoid(x1)", "input"]
    assert report["parameters"]["b2"]["chain"] == ["dSSR/dpredicted", "dpredicted/dy2", "dy2/dx2", "dx2/db2"]
    assert w4["chain"] == ["dSSR/dpredicted", "dpredicted/dw4"]
    assert b3["chain"] == ["dSSR/dpredicted", "dpredicted/db3"]
    for s in range(3):
        dssr_dpredicted = -2 * (OBSERVED[s] - predicted[s])
        assert w1["per_sample"][s]["predicted"] == pytest.approx(predicted[s], rel=1e-15)
        assert w1["per_sample"][s]["factors"] == pytest.approx([dssr_dpredicted, 0.36, sigmoid[s, 0], X[s]], rel=1e-14)
        assert w4["per_sample"][s]["factors"] == pytest.approx([dssr_dpredicted, a[s, 1]], rel=1e-14)
        assert b3["per_sample"][s]["factors"] == pytest.approx([dssr_dpredicted, 1.0], rel=1e-14)
        assert report["samples"][s]["x2"] == pytest.approx(z[s, 1])
        assert report["samples"][s]["y1"] == a[s, 0]
    residual = OBSERVED - predicted
    assert report["loss"] == pytest.approx(residual @ residual, rel=1e-14)


def test_explain_is_one_epoch_of_training():
    trainable = np.array([True, False, True, False, True, False, True])
    report = explain(START, X, OBSERVED, "softplus", learning_rate=0.01, trainable=trainable)
    state = train(kernel.Kernel(X, OBSERVED), State.start(START), Settings(0.01, 1, 0.0, trainable))
    new = [p["new_value"] for p in report["parameters"].values()]
    np.testing.assert_allclose(new, state.theta[0], rtol=1e-14, atol=1e-15)
    assert report["new_loss"] == pytest.approx(float(state.losses[1][0]), rel=1e-12)


def test_frozen_parameters_take_no_step():
    trainable = np.zeros(7, bool)
    trainable[6] = True
    report = explain(START, X, OBSERVED, "softplus", learning_rate=0.1, trainable=trainable)
    for name, p in report["parameters"].items():
        assert p["trainable"] == (name == "b3")
        if name != "b3":
            assert p["gradient"] != 0  # every gradient is shown, frozen or not
            assert p["step_size"] == 0
            assert p["new_value"] == p["value"]
    assert report["parameters"]["b3"]["step_size"] == pytest.approx(0.1 * report["parameters"]["b3"]["gradient"])
    assert "w1 = 2.7400  (frozen)" in to_text(report)


@pytest.mark.parametrize(
    ("activation", "expected", "in_text"),
    [
        ("softplus", "sigmoid(x2)", "sigmoid(x2)"),
        ("relu", "1 if x2 > 0 else 0", "(1 if x2 > 0 else 0)"),
        ("sigmoid", "y2 * (1 - y2)", "(y2 * (1 - y2))"),
        ("tanh", "1 - y2^2", "(1 - y2^2)"),
    ],
)
def test_local_derivative_is_named_for_the_activation(activation, expected, in_text):
    assert local_derivative_name(activation, 2) == expected
    text = to_text(explain(START, X, OBSERVED, activation, 0.1))
    assert f"= (-2 * (observed - predicted)) * w4 * {in_text} * input\n" in text


def test_text_walks_through_the_arithmetic():
    report = explain(START, X, OBSERVED, "softplus", learning_rate=0.01)
    text = to_text(report)
    w3 = report["parameters"]["w3"]
    assert "dSSR/dw3 = dSSR/dpredicted * dpredicted/dw3" in text
    assert f"dSSR/dw3 = sum of the products = {w3['gradient']:.4f}" in text
    assert f"new w3 = w3 - step size = 0.3600 - {w3['step_size']:.4f} = {w3['new_value']:.4f}" in text
    assert f"SSR = sum of (observed - predicted)^2 = {report['loss']:.4f}" in text


@settings(max_examples=60, deadline=None)
@given(
    hidden=st.integers(1, 4),
    activation=st.sampled_from(list(network.ACTIVATIONS)),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(0.01, 5),
)
def test_explain_gradient_is_network_gradient_for_any_parameters(hidden, activation, seed, scale):
    rng = np.random.default_rng(seed)
    theta, x, observed = rng.normal(0, scale, 3 * hidden + 1), rng.normal(0, 2, 4), rng.normal(0, 2, 4)
    report = explain(theta, x, observed, activation, 0.1)
    _, gradient = network.ssr_and_gradient(theta, x, observed, activation)
    got = [p["gradient"] for p in report["parameters"].values()]
    np.testing.assert_allclose(got, gradient, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(gradient).max()))


# --- explain for optimizer: lm and learning_rate: auto -----------------------------------

FROZEN_BUT_B3 = np.array([False] * 6 + [True])
SOME_FROZEN = np.array([True, False, True, False, True, False, True])


def dense_lm_step(theta, x, observed, activation, trainable):
    """Levenberg-Marquardt's first step written out: J, JᵀJ + λI, np.linalg.solve."""
    jac = network.jacobian(theta, x, activation)
    residual = observed - network.forward(theta, x, activation)
    cols = np.flatnonzero(trainable)
    a = jac[:, cols].T @ jac[:, cols]
    damping = 1e-3 * np.diag(a).max()
    delta = np.zeros(len(theta))
    delta[cols] = np.linalg.solve(a + damping * np.eye(len(cols)), jac[:, cols].T @ residual)
    return jac, residual, damping, delta


def one_epoch(theta, x, observed, activation, trainable, optimizer, rate):
    state = State.start(theta)
    train(kernel.Kernel(x, observed, activation), state, Settings(rate, 1, 0.0, trainable, optimizer))
    return state


@pytest.mark.parametrize("activation", list(network.ACTIVATIONS))
@pytest.mark.parametrize("hidden", [1, 2, 4])
def test_lm_ledger_columns_are_the_jacobian(activation, hidden):
    theta, x, observed = random_problem(20 + hidden, hidden, n=5)
    report = explain_lm(theta, x, observed, activation)
    jac = network.jacobian(theta, x, activation)
    _, gradient_chains = chains(theta, x, observed, activation)
    assert list(report["parameters"]) == network.param_names(hidden)
    for j, (name, p) in enumerate(report["parameters"].items()):
        assert p["chain"] == [factor for factor, _, _ in gradient_chains[name][1:]]  # without dSSR/dpredicted
        assert "dSSR/dpredicted" not in p["chain"]
        products = [sample["product"] for sample in p["per_sample"]]
        np.testing.assert_allclose(products, jac[:, j], rtol=1e-14, atol=1e-300, err_msg=name)
        for sample in p["per_sample"]:
            assert sample["product"] == pytest.approx(math.prod(sample["factors"]), rel=1e-14, abs=1e-300)
        assert p["jtj_diagonal"] == pytest.approx(jac[:, j] @ jac[:, j], rel=1e-12)
        residual = observed - network.forward(theta, x, activation)
        assert p["jtr"] == pytest.approx(jac[:, j] @ residual, rel=1e-12, abs=1e-14)
        assert [s["residual"] for s in p["per_sample"]] == pytest.approx(residual, rel=1e-15, abs=1e-15)


@pytest.mark.parametrize("trainable", [None, SOME_FROZEN, FROZEN_BUT_B3], ids=["all", "some-frozen", "only-b3"])
@pytest.mark.parametrize("activation", ["softplus", "tanh"])
def test_lm_step_solves_the_damped_normal_equations(trainable, activation):
    mask = np.ones(7, bool) if trainable is None else trainable
    report = explain_lm(START, X, OBSERVED, activation, trainable)
    jac, residual, damping, delta = dense_lm_step(START, X, OBSERVED, activation, mask)
    assert report["damping"] == pytest.approx(damping, rel=1e-14)
    assert report["system"]["parameters"] == [n for n, m in zip(network.param_names(2), mask, strict=True) if m]
    cols = np.flatnonzero(mask)
    np.testing.assert_allclose(report["system"]["jtj"], jac[:, cols].T @ jac[:, cols], rtol=1e-13, atol=1e-15)
    params = list(report["parameters"].values())
    np.testing.assert_allclose([p["delta"] for p in params], delta, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(report["system"]["delta"], delta[cols], rtol=1e-10, atol=1e-13)
    for p, m in zip(params, mask, strict=True):
        assert p["trainable"] == m
        assert p["new_value"] == p["value"] + p["delta"]
        if not m:
            assert p["delta"] == 0
            assert p["new_value"] == p["value"]
    new_theta = START + delta
    after = network.forward(new_theta, X, activation)
    assert report["new_loss"] == pytest.approx(float((OBSERVED - after) @ (OBSERVED - after)), rel=1e-10)
    assert report["loss"] == pytest.approx(float(residual @ residual), rel=1e-14)
    assert report["step_taken"] == (report["new_loss"] < report["loss"])


@pytest.mark.parametrize(("trainable", "taken"), [(None, False), (FROZEN_BUT_B3, True)], ids=["refused", "taken"])
def test_lm_ledger_is_lms_first_iteration(trainable, taken):
    mask = np.ones(7, bool) if trainable is None else trainable
    report = explain_lm(START, X, OBSERVED, "softplus", mask)
    state = one_epoch(START, X, OBSERVED, "softplus", mask, "lm", "auto")
    assert report["step_taken"] is taken
    new = np.array([p["new_value"] for p in report["parameters"].values()])
    if taken:  # lm moved to exactly the ledger's new values
        np.testing.assert_allclose(state.theta[0], new, rtol=1e-12, atol=1e-15)
        assert float(state.losses[1][0]) == pytest.approx(report["new_loss"], rel=1e-10)
    else:  # refused: the parameters stay, the epoch repeats the SSR
        np.testing.assert_array_equal(state.theta[0], START)
        assert float(state.losses[1][0]) == float(state.losses[0][0])
        assert not np.allclose(new, START)
    text = to_text(report)
    assert ("lm refuses this step" in text) is not taken


def test_lm_text_walks_through_the_step():
    report = explain_lm(START, X, OBSERVED, "softplus", SOME_FROZEN)
    text = to_text(report)
    w1, b1, w3 = (report["parameters"][n] for n in ("w1", "b1", "w3"))
    assert text.startswith("One step of Levenberg-Marquardt: softplus network, 2 hidden neurons, 3 samples\n")
    assert "  dpredicted/dw1 = dpredicted/dy1 * dy1/dx1 * dx1/dw1\n" in text
    assert "                 = w3 * sigmoid(x1) * input\n" in text
    assert "  dpredicted/dw3 = y1\n" in text
    assert f"JᵀJ diagonal = sum of (dpredicted/dw3)^2 = {w3['jtj_diagonal']:.4f}" in text
    assert f"Jᵀr = sum of dpredicted/dw1 * residual = {w1['jtr']:.4f}" in text
    largest = max(report["parameters"][n]["jtj_diagonal"] for n in report["system"]["parameters"])
    assert f"λ = 0.001 * the largest JᵀJ diagonal = 0.001 * {largest:.4f} = {report['damping']:.4f}" in text
    assert "b1 = 0.0000  (frozen)" in text
    assert "not in training.trainable" in text
    assert f"new b1 = b1 = {b1['value']:.4f}  (frozen: δ = 0)" in text
    delta = f"{w1['delta']:.4f}" if w1["delta"] >= 0 else f"({w1['delta']:.4f})"
    assert f"new w1 = w1 + δ = 2.7400 + {delta} = {w1['new_value']:.4f}" in text
    assert f"SSR {report['loss']:.4f} -> {report['new_loss']:.4f} after this step" in text
    header = next(line for line in text.splitlines() if line.startswith("  JᵀJ + λ·I"))
    assert header.split()[3:] == ["w1", "w2", "w3", "b3", "Jᵀr", "δ"]  # the trainable ones only
    wide = explain_lm(*random_problem(1, 4), "softplus")
    assert "(JᵀJ is 13 x 13: it is in -f json as system.jtj)" in to_text(wide)


def test_lm_and_auto_say_when_they_would_stop_first():
    state = State.start(START)
    settings = Settings("auto", 200, 1e-12, np.ones(7, bool), "lm")
    train(kernel.Kernel(X, OBSERVED), state, settings)
    assert state.reasons[0] == "converged"
    at_fit = explain_lm(state.theta[0], X, OBSERVED, "softplus")
    assert at_fit["converged"]
    assert not explain_lm(START, X, OBSERVED, "softplus")["converged"]
    assert "already pass the convergence test: lm stops here" in to_text(at_fit)
    assert "convergence test" not in to_text(explain_lm(START, X, OBSERVED, "softplus"))
    auto = explain(state.theta[0], X, OBSERVED, "softplus", "auto")
    assert auto["auto"]["converged"]
    assert "auto stops here" in to_text(auto)


@pytest.mark.parametrize("trainable", [None, SOME_FROZEN], ids=["all", "some-frozen"])
def test_auto_rate_is_one_over_the_largest_curvature(trainable):
    mask = np.ones(7, bool) if trainable is None else trainable
    jac = network.jacobian(START, X)[:, mask]
    rate = 1 / (2 * np.linalg.eigvalsh(jac.T @ jac).max())
    report = explain(START, X, OBSERVED, "softplus", "auto", trainable)
    assert report["learning_rate"] == pytest.approx(rate, rel=1e-12)
    assert report["auto"]["curvature"] == pytest.approx(1 / rate, rel=1e-12)
    fixed = explain(START, X, OBSERVED, "softplus", report["learning_rate"], trainable)
    assert "auto" not in fixed  # a fixed rate's report is as before
    assert "optimizer" not in fixed
    for name, p in report["parameters"].items():
        assert p == fixed["parameters"][name]  # the gd ledger, at auto's rate
        assert p["step_size"] == pytest.approx(p["gradient"] * rate if p["trainable"] else 0.0, rel=1e-12)
    text = to_text(report)
    assert text.startswith(
        "One epoch of gradient descent: softplus network, 2 hidden neurons, 3 samples, learning rate auto\n"
    )
    assert f"learning rate auto: {rate:.4f}, 1 / the largest curvature 2·JᵀJ at these parameters" in text
    assert "dSSR/dw1 = dSSR/dpredicted * dpredicted/dy1 * dy1/dx1 * dx1/dw1" in text


def test_auto_ledger_is_autos_first_trial():
    report = explain(START, X, OBSERVED, "softplus", "auto")
    state = one_epoch(START, X, OBSERVED, "softplus", np.ones(7, bool), "gd", "auto")
    assert report["auto"]["accepts_step"]
    new = [p["new_value"] for p in report["parameters"].values()]
    np.testing.assert_allclose(state.theta[0], new, rtol=1e-12, atol=1e-15)
    assert "auto's line search takes this step" in to_text(report)
    theta = np.array([0.77, -1.75, -0.54, 8.63])  # one neuron, where 2·JᵀJ's curvature alone overshoots
    x, observed = np.array([-2.15, -2.03, 4.76, -1.66, 0.42]), np.array([1.69, 0.71, -2.02, -5.29, 0.77])
    refused = explain(theta, x, observed, "softplus", "auto")
    assert not refused["auto"]["accepts_step"]
    assert refused["new_loss"] > refused["auto"]["ssr_at_most"]
    assert "auto's line search refuses this step" in to_text(refused)
    state = one_epoch(theta, x, observed, "softplus", np.ones(4, bool), "gd", "auto")
    assert not np.allclose(state.theta[0], [p["new_value"] for p in refused["parameters"].values()])
    assert float(state.losses[1][0]) <= refused["auto"]["ssr_at_most"]


def test_auto_falls_back_where_there_is_no_curvature():
    flat = np.array([1.0, 0.0, 0.0, 0.0])  # only b1 trains; its column, w2 * sigmoid(x1), is 0
    report = explain(flat, X, OBSERVED, "softplus", "auto", np.array([False, True, False, False]))
    assert report["auto"]["curvature"] is None
    assert report["learning_rate"] == 1e-3
    assert "learning rate auto: 0.0010, auto's fallback" in to_text(report)


# --- decompose: flip, stretch, add ----------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    hidden=st.integers(1, 5),
    activation=st.sampled_from(list(network.ACTIVATIONS)),
    seed=st.integers(0, 2**32 - 1),
)
def test_parts_sum_to_the_prediction(hidden, activation, seed):
    rng = np.random.default_rng(seed)
    theta, x = rng.normal(0, 3, 3 * hidden + 1), rng.normal(0, 3, 7)
    parts = decompose(theta, x, activation)
    assert list(parts) == [f"neuron{i}" for i in range(1, hidden + 1)] + ["bias"]
    total = np.sum(list(parts.values()), axis=0)
    np.testing.assert_allclose(total, network.forward(theta, x, activation), rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, invoke):
    out = tmp_path_factory.mktemp("run") / "dosage.json"
    result = invoke("train", "-c", DOSAGE, "--epochs", 300, "--out", out, "-q")
    assert result.exit_code == 0, result.stderr
    return out


def test_predict_decompose_csv_sums_to_prediction(trained, invoke):
    result = invoke("predict", "-p", trained, "--decompose", 0, 0.25, 0.5, 1)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["input", "prediction", "neuron1", "neuron2", "bias"]
    assert [float(r["input"]) for r in rows] == [0, 0.25, 0.5, 1]
    params = json.loads(trained.read_text())["params"]
    for r in rows:
        parts = float(r["neuron1"]) + float(r["neuron2"]) + float(r["bias"])
        assert parts == pytest.approx(float(r["prediction"]), rel=1e-12, abs=1e-12)
        assert float(r["bias"]) == params["b3"]
    plain = invoke("predict", "-p", trained, 0, 0.25, 0.5, 1).stdout.splitlines()
    assert plain == [",".join(line.split(",")[:2]) for line in result.stdout.splitlines()]


def test_predict_decompose_json_has_the_csv_keys(trained, invoke):
    result = invoke("predict", "-p", trained, "--decompose", "-f", "json", "--", -1, 0.5)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [list(r) for r in rows] == [["input", "prediction", "neuron1", "neuron2", "bias"]] * 2
    for r in rows:
        assert r["neuron1"] + r["neuron2"] + r["bias"] == pytest.approx(r["prediction"], rel=1e-12, abs=1e-12)
    assert list(json.loads(invoke("predict", "-p", trained, "-f", "json", 0.5).stdout)[0]) == ["input", "prediction"]


# --- train --history-csv ------------------------------------------------------------------


def read_history(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_history_rows_match_the_run(tmp_path, invoke):
    out, history = tmp_path / "run.json", tmp_path / "history.csv"
    result = invoke("train", "-c", DOSAGE, "--epochs", 40, "--out", out, "--history-csv", history)
    assert result.exit_code == 0, result.stderr
    assert f"wrote epochs 0..40 to {history}" in result.stderr
    doc, rows = json.loads(out.read_text()), read_history(history)
    names = network.param_names(2)
    assert list(rows[0]) == ["epoch", "loss", *names, *(f"dSSR/d{n}" for n in names), *(f"step_{n}" for n in names)]
    assert [int(r["epoch"]) for r in rows] == list(range(41))
    assert [float(r["loss"]) for r in rows] == doc["loss_history"]
    assert {n: float(rows[0][n]) for n in names} == doc["initial_params"]
    assert {n: float(rows[-1][n]) for n in names} == doc["params"]
    for before, after in zip(rows, rows[1:], strict=False):
        theta = np.array([float(before[n]) for n in names])
        _, gradient = network.ssr_and_gradient(theta, X, OBSERVED)
        np.testing.assert_allclose([float(before[f"dSSR/d{n}"]) for n in names], gradient, rtol=1e-12)
        np.testing.assert_allclose([float(before[f"step_{n}"]) for n in names], 0.01 * gradient, rtol=1e-12)
        stepped = [float(before[n]) - float(before[f"step_{n}"]) for n in names]
        np.testing.assert_allclose([float(after[n]) for n in names], stepped, rtol=1e-13, atol=1e-15)


def test_history_is_the_same_on_a_rerun_and_from_the_library(tmp_path, invoke):
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in paths:
        assert invoke("train", "-c", LESSON1, "--out", tmp_path / "r.json", "--history-csv", path, "-q").exit_code == 0
    assert paths[0].read_text() == paths[1].read_text()
    objective = kernel.Kernel(X, OBSERVED)
    trainable = np.array([False] * 6 + [True])
    state = State.start(np.array([3.34, -1.43, -3.53, 0.57, -1.22, -2.30, 0.0]))
    recorder = Recorder(state)
    train(objective, state, Settings(0.1, 1000, 0.001, trainable), on_epoch=recorder, every=1)
    header, table = history_table(recorder, state, objective, 0.1, trainable)
    rows = read_history(paths[0])
    assert len(rows) == len(table) == int(state.epochs[0]) + 1
    np.testing.assert_array_equal([[float(r[h]) for h in header] for r in rows], table)
    frozen = [f"step_{n}" for n in ("w1", "b1", "w2", "b2", "w3", "w4")]
    assert all(float(r[c]) == 0 for r in rows for c in frozen)


def test_history_carries_on_a_resumed_run(tmp_path, invoke):
    out, history = tmp_path / "run.json", tmp_path / "history.csv"
    assert invoke("train", "-c", DOSAGE, "--epochs", 10, "--out", out, "-q").exit_code == 0
    result = invoke("train", "-c", DOSAGE, "--epochs", 25, "--resume", out, "--out", out, "--history-csv", history)
    assert result.exit_code == 0, result.stderr
    rows = read_history(history)
    assert [int(r["epoch"]) for r in rows] == list(range(10, 26))
    assert [float(r["loss"]) for r in rows] == json.loads(out.read_text())["loss_history"][10:]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # atomic writes leave no temp files


def test_history_of_several_starts_is_the_best_starts(tmp_path, invoke):
    out, history = tmp_path / "run.json", tmp_path / "history.csv"
    args = ["--seed", 3, "--set", "training.restarts=3", "--epochs", 30, "--history-csv", history, "-q"]
    assert invoke("train", "-c", DOSAGE, "--out", out, *args).exit_code == 0
    doc, rows = json.loads(out.read_text()), read_history(history)
    assert doc["best_start"] != 0  # so that picking start 0 would show
    assert [float(r["loss"]) for r in rows] == doc["loss_history"]
    assert {n: float(rows[-1][n]) for n in network.param_names(2)} == doc["params"]


def test_history_keeps_the_checkpoints(tmp_path, monkeypatch, invoke):
    written = []
    write = results.write
    monkeypatch.setattr(results, "write", lambda doc, path: (written.append(doc["epochs"]), write(doc, path)))
    history = tmp_path / "history.csv"
    args = ["--epochs", 7, "--checkpoint-every", 3, "--history-csv", history, "-q"]
    assert invoke("train", "-c", DOSAGE, "--out", tmp_path / "run.json", *args).exit_code == 0
    assert written == [3, 6, 7]  # two checkpoints, then the result
    assert len(read_history(history)) == 8


# --- the explain and gradcheck commands -----------------------------------------------------


def test_explain_json_has_the_documented_keys(invoke):
    result = invoke("explain", "-c", DOSAGE, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["learning_rate"] == 0.01
    assert list(doc["parameters"]) == network.param_names(2)
    w1 = doc["parameters"]["w1"]
    assert {"value", "gradient", "step_size", "new_value", "chain", "per_sample"} <= set(w1)
    assert {"input", "observed", "predicted", "factors", "product"} <= set(w1["per_sample"][0])
    assert w1["value"] == 2.74
    ssr, _ = network.ssr_and_gradient(START, X, OBSERVED)
    assert doc["loss"] == pytest.approx(ssr, rel=1e-14)


def test_explain_text_at_a_results_params(trained, invoke):
    params = json.loads(trained.read_text())["params"]
    result = invoke("explain", "-c", DOSAGE, "--params", trained)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("One epoch of gradient descent: softplus network, 2 hidden neurons")
    assert f"w1 = {params['w1']:.4f}\n" in result.stdout
    assert "dy1/dx1" in result.stdout
    assert "sigmoid(x1)" in result.stdout


def test_explain_refuses_a_result_of_another_shape(tmp_path, trained, invoke):
    result = invoke("explain", "-c", DOSAGE, "--params", trained, "--set", "model.hidden=3", "--set", "init={seed: 0}")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1
    assert "hidden: 2" in result.stderr
    assert "hidden: 3" in result.stderr


def test_gradcheck_command_passes_on_the_true_gradient(invoke):
    result = invoke("gradcheck", "-c", DOSAGE, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert doc["tolerance"] == 1e-6
    assert set(doc["parameters"]["w1"]) >= {"analytic", "numeric", "rel_error"}
    assert "gradcheck passed: 7 of 7 gradients agree within 1e-06" in result.stderr
    text = invoke("gradcheck", "-c", DOSAGE, "--set", "model.activation=tanh")
    assert text.exit_code == 0
    assert len(text.stdout.splitlines()) == 8
    assert "DISAGREE" not in text.stdout


def test_gradcheck_command_exits_4_on_a_wrong_gradient(monkeypatch, invoke):
    class WrongSign(kernel.Kernel):  # dSSR/db1 with its sign flipped
        def __call__(self, t):
            ssr, gradient = super().__call__(t)
            gradient[..., 1] *= -1
            return ssr, gradient

    monkeypatch.setattr(kernel, "Kernel", WrongSign)
    result = invoke("gradcheck", "-c", DOSAGE)
    assert result.exit_code == 4
    assert "b1" in result.stdout
    assert "DISAGREE" in result.stdout
    assert result.stderr.startswith("gradcheck FAILED: b1 disagree")
    doc = json.loads(invoke("gradcheck", "-c", DOSAGE, "-f", "json").stdout)
    assert doc["ok"] is False
    assert doc["parameters"]["b1"]["ok"] is False
    assert doc["parameters"]["w1"]["ok"] is True


def test_gradcheck_tolerance_is_the_threshold(invoke):
    assert invoke("gradcheck", "-c", DOSAGE, "--tolerance", 1e-15).exit_code == 4
    result = invoke("gradcheck", "-c", DOSAGE, "--tolerance", 0)
    assert result.exit_code == 2
    assert "--tolerance" in result.stderr


@pytest.mark.parametrize("command", ["explain", "gradcheck", "predict", "train"])
def test_help_has_examples(command, invoke):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert {"explain": "--format", "gradcheck": "--tolerance", "predict": "--decompose", "train": "--history-csv"}[
        command
    ] in result.stdout


def test_explain_command_lm_shows_the_jacobian_ledger(invoke):
    result = invoke("explain", "-c", DOSAGE, "--set", "training.optimizer=lm")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    head, text_in_units = text.split("\n\n", 1)
    assert head.startswith("In standard units, where lm steps: input' = (input - 0.5) / 0.5")  # x in [0, 1]
    assert text_in_units.startswith("One step of Levenberg-Marquardt: softplus network, 2 hidden neurons, 3 samples\n")
    for factor in ("dpredicted/dw1", "dpredicted/dy1", "dy1/dx1", "dx1/dw1", "dpredicted/db3", "JᵀJ + λ·I"):
        assert factor in text, factor
    assert "dSSR/dw" not in text  # no gradient chains
    assert "dSSR/db" not in text
    units = Units.of(X, OBSERVED)  # lm steps on the data mapped onto [-1, 1]
    assert text == to_text(in_units(units, explain_lm, START, X, OBSERVED, "softplus"))
    doc = json.loads(invoke("explain", "-c", DOSAGE, "--set", "training.optimizer=lm", "-f", "json").stdout)
    theta, x, observed = units.standard(START), units.x(X)[0:3], units.y(OBSERVED)[0:3]
    _, _, damping, delta = dense_lm_step(theta, x, observed, "softplus", np.ones(7, bool))
    assert doc["optimizer"] == "lm"
    assert doc["damping"] == pytest.approx(damping, rel=1e-14)
    np.testing.assert_allclose([p["delta"] for p in doc["parameters"].values()], delta, rtol=1e-10)
    new = units.original(theta + delta)
    np.testing.assert_allclose(list(doc["units"]["new_params"].values()), new, rtol=1e-12)
    ssr = [network.ssr(observed - network.forward(t, x)) for t in (theta, theta + delta)]
    taken = bool(ssr[1] < ssr[0])
    assert doc["step_taken"] is taken
    assert ("lm refuses this step" in text) is not taken


def test_explain_command_auto_shows_the_rate(invoke):
    result = invoke("explain", "-c", DOSAGE, "--set", "training.learning_rate=auto")
    assert result.exit_code == 0, result.stderr
    units = Units.of(X, OBSERVED)  # auto steps on the data mapped onto [-1, 1]
    theta, x, observed = units.standard(START), units.x(X)[0:3], units.y(OBSERVED)[0:3]
    rate = optimizers.proposed_rate(theta, x, observed, "softplus", np.ones(7, bool))
    assert f"learning rate auto: {rate:.4f}, 1 / the largest curvature 2·JᵀJ at these parameters" in result.stdout
    assert "dSSR/dw1 = dSSR/dpredicted * dpredicted/dy1 * dy1/dx1 * dx1/dw1" in result.stdout
    doc = json.loads(invoke("explain", "-c", DOSAGE, "--set", "training.learning_rate=auto", "-f", "json").stdout)
    assert doc["learning_rate"] == rate
    assert doc["auto"]["accepts_step"] is True
    sine = str(ROOT / "configs" / "sine.yaml")  # names neither optimizer nor rate: lm
    first, second = invoke("explain", "-c", sine).stdout.split("\n\n")[:2]
    assert first.startswith("In standard units, where lm steps: input' = (input - 1.001773) / 0.996279")  # its x range
    assert second.startswith("One step of Levenberg-Marquardt")
    gd = invoke("explain", "-c", sine, "--set", "training.optimizer=gd")  # gd's default rate is auto
    assert gd.exit_code == 0, gd.stderr
    assert "learning rate auto: " in gd.stdout


def test_explain_help_says_what_lm_and_auto_show(invoke):
    text = " ".join(invoke("explain", "--help").stdout.split())
    assert "With learning_rate: auto" in text
    assert "With optimizer: lm" in text
    assert f"λ = {optimizers.INITIAL_DAMPING:g} * the largest diagonal entry" in text
    assert "dpredicted/dw1 = w3 * sigmoid(x1) * input" in text
