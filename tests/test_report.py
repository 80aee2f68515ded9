"""nnbackprop report: the snapshots, the page's bytes and size, the command, and the page in a real browser."""

from __future__ import annotations

import json
import math
import re

import click
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ROOT

import nnbackprop
from nnbackprop import network, training
from nnbackprop.cli.report import report
from nnbackprop.errors import DataError
from nnbackprop.explain import number
from nnbackprop.report import MOST, SHOWN, Snapshots, page

pytest_plugins = ["browser"]

DOSAGE = ROOT / "configs" / "dosage.yaml"


def train(overrides=None, snapshots=True, config=DOSAGE):
    """A real run through the library (as ``nnbackprop train`` does), its snapshots in the document."""
    job = nnbackprop.prepare(str(config), dict(overrides or {}))
    recorder = Snapshots(job.state) if snapshots else None
    run = job.train(recorder, 1 if snapshots else 0)
    document = json.loads(json.dumps(run.document))  # as read back from the result file
    if snapshots:
        document["snapshots"] = recorder.to_dict(run.state.best_start)
    return document, job.x, job.y


def write(tmp_path, name, document, x, y):
    """The result JSON and its page, side by side; returns the page's path."""
    (tmp_path / f"{name}.json").write_text(json.dumps(document))
    path = tmp_path / f"{name}.html"
    path.write_text(page(document, x, y), encoding="utf-8")
    return path


def theta_at(document, epoch):
    snapshots = document["snapshots"]
    return np.array(snapshots["params"][snapshots["epochs"].index(epoch)], dtype=np.float64)


@pytest.fixture(scope="module")
def dosage():
    return train()


@pytest.fixture(scope="module")
def dosage_page(dosage, tmp_path_factory):
    return write(tmp_path_factory.mktemp("dosage"), "dosage", *dosage)


# --- Snapshots -----------------------------------------------------------------------


def replay(losses, p=7, **limits):
    """Feed Snapshots a run whose SSR after epoch e is losses[e] and whose parameters are all e."""
    state = training.State.start(np.zeros(p))
    recorder = Snapshots(state, **limits)
    state.losses = [np.array([losses[0]])]
    state.best_loss[0], state.best_epoch[0] = losses[0], 0
    for epoch in range(1, len(losses)):
        state.theta = np.full((1, p), float(epoch))
        state.losses.append(np.array([losses[epoch]]))
        state.epochs[0] = epoch
        if losses[epoch] < state.best_loss[0]:
            state.best_loss[0], state.best_epoch[0] = losses[epoch], epoch
        recorder(state)
    return recorder


def test_snapshots_keep_first_best_and_last():
    losses = [10.0 / (1 + e) for e in range(5000)]
    losses[3000] = 0.0001  # the best, long before the end
    recorder = replay(losses)
    kept = recorder.to_dict()
    assert {0, 3000, 4999} <= set(kept["epochs"])


def test_snapshots_are_exact():
    recorder = replay([1.0 / (1 + e) for e in range(3000)])
    kept = recorder.to_dict()
    assert all(params == [float(e)] * 7 for e, params in zip(kept["epochs"], kept["params"]))


def test_snapshots_are_bounded_whatever_the_length():
    recorder = replay([1.0 / (1 + e) for e in range(50_000)])
    assert len(recorder.epochs()) <= MOST


def test_snapshots_memory_is_bounded():
    recorder = replay([1.0 / (1 + e) for e in range(20_000)], most=100)
    start = recorder.starts[0]
    held = len(start.grid) + len(start.log) + 2 * len(start.events) + 4  # + first, best, last, previous
    assert held <= 100 + 2


def test_snapshots_keep_a_loss_spike_with_the_epoch_before_it():
    losses = [1.0 / (1 + e) for e in range(10_000)]
    losses[7777] = 5.0
    assert {7776, 7777, 7778} <= set(replay(losses).epochs())


def test_snapshots_spread_over_the_run():
    epochs = replay([1.0 / (1 + e) for e in range(100_000)]).epochs()
    assert max(np.diff(epochs)) <= 100_000 / (MOST / 4)


def test_snapshots_of_a_very_wide_network_keep_first_best_and_last_only():
    losses = [3.0, 2.0, 1.0, 1.5, 2.5]
    assert replay(losses, p=30_001).epochs() == [0, 2, 4]


def test_snapshots_write_null_for_non_finite_values():
    state = training.State.start(np.array([1.0, 2.0, 3.0, 4.0]))
    recorder = Snapshots(state)
    state.losses = [np.array([1.0]), np.array([2.0])]
    state.theta = np.array([[np.nan, np.inf, 0.5, 1.0]])
    state.epochs[0] = 1
    recorder(state)
    assert recorder.to_dict()["params"][-1] == [None, None, 0.5, 1.0]


def test_snapshots_record_real_training_exactly(dosage):
    document, x, y = dosage
    every = []
    job = nnbackprop.prepare(str(DOSAGE), {})
    training.train(job.objective, job.state, job.settings, lambda s: every.append(s.theta[0].copy()), 1)
    epochs = document["snapshots"]["epochs"]
    assert all(theta_at(document, e).tolist() == every[e - 1].tolist() for e in epochs if e > 0)


def test_snapshots_start_at_the_first_epoch(dosage):
    document, _, _ = dosage
    assert document["snapshots"]["params"][0] == list(document["initial_params"].values())


# --- the page ------------------------------------------------------------------------


def embedded(html: str) -> dict:
    text = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(text)


def test_same_input_same_bytes(dosage):
    assert page(*dosage) == page(json.loads(json.dumps(dosage[0])), *dosage[1:])


def test_the_data_is_sorted_json(dosage):
    text = re.search(r'id="report-data">(.*?)</script>', page(*dosage), re.S).group(1)
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def test_the_page_names_no_url_to_load(dosage):
    html = page(*dosage)
    assert re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(|@import|@font-face""", html) == []


def test_the_dosage_page_is_at_most_300_kb(dosage):
    assert len(page(*dosage).encode()) <= 300_000


@pytest.mark.slow
def test_a_200000_epoch_page_is_at_most_2_mb(tmp_path):
    document, x, y = train({"learning_rate": 1e-5, "max_epochs": 200_000, "min_step_size": 1e-15})
    assert document["epochs"] == 200_000
    assert len(page(document, x, y).encode()) <= 2_000_000


@pytest.mark.slow
def test_a_long_page_keeps_first_best_and_last(tmp_path):
    document, x, y = train({"learning_rate": 1e-5, "max_epochs": 200_000, "min_step_size": 1e-15})
    view = embedded(page(document, x, y))
    assert {0, document["best_epoch"], 200_000} <= set(view["snapshots"]["epochs"])


def test_the_loss_curve_keeps_every_recorded_epoch_exactly(dosage):
    document, x, y = dosage
    loss = embedded(page(document, x, y))["loss"]
    shown = dict(zip(loss["epochs"], loss["ssr"]))
    assert all(shown[e] == document["loss_history"][e] for e in document["snapshots"]["epochs"])


def test_without_snapshots_the_page_offers_start_best_and_last():
    document, x, y = train(snapshots=False)
    view = embedded(page(document, x, y))
    assert view["snapshots"]["epochs"] == sorted({0, document["best_epoch"], document["epochs"]})


def test_without_snapshots_the_page_says_so():
    document, x, y = train(snapshots=False)
    assert "no per-epoch snapshots" in " ".join(embedded(page(document, x, y))["notes"])


def test_gradcheck_runs_at_render_time(dosage):
    assert embedded(page(*dosage))["gradcheck"]["verdict"].startswith("gradcheck passed: 7 of 7 gradients agree")


# --- the command ---------------------------------------------------------------------


@pytest.fixture
def result_file(dosage, tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(dosage[0]))
    return path


def test_report_writes_result_dot_html(result_file, dosage):
    result = CliRunner().invoke(report, [str(result_file)])
    assert (result.exit_code, result_file.with_suffix(".html").read_text()) == (0, page(*dosage))


def test_report_out_dash_is_stdout(result_file, dosage):
    result = CliRunner().invoke(report, [str(result_file), "--out", "-"])
    assert result.stdout == page(*dosage)


def test_report_says_where_it_wrote(result_file, tmp_path):
    result = CliRunner().invoke(report, [str(result_file), "-o", str(tmp_path / "x.html")])
    assert result.stderr == f"wrote {tmp_path / 'x.html'}\n"


def test_report_without_the_data_is_an_error(dosage, tmp_path):
    gone = {"path": str(tmp_path / "gone.csv"), "abspath": str(tmp_path / "gone.csv")}
    document = {**dosage[0], "data": {**dosage[0]["data"], **gone}}
    (tmp_path / "run.json").write_text(json.dumps(document))
    result = CliRunner().invoke(report, [str(tmp_path / "run.json")])
    assert isinstance(result.exception, DataError)


def test_report_finds_the_data_where_plot_does(dosage, tmp_path):
    document = {**dosage[0], "data": {**dosage[0]["data"], "path": "elsewhere/dosage.csv"}}  # from another folder
    (tmp_path / "run.json").write_text(json.dumps(document))
    result = CliRunner().invoke(report, [str(tmp_path / "run.json"), "--out", str(tmp_path / "run.html")])
    assert result.exit_code == 0, result.output


def program():
    """The nnbackprop group with report in it (added here until the group registers it)."""
    from nnbackprop.cli import cli

    if "report" in cli.commands:
        return cli
    return type(cli)(name="nnbackprop", commands={"report": report})


def test_report_without_the_data_says_so_in_one_line(dosage, tmp_path):
    gone = {"path": str(tmp_path / "gone.csv"), "abspath": str(tmp_path / "gone.csv")}
    document = {**dosage[0], "data": {**dosage[0]["data"], **gone}}
    (tmp_path / "run.json").write_text(json.dumps(document))
    result = CliRunner().invoke(program(), ["report", str(tmp_path / "run.json")])
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {tmp_path / 'gone.csv'}: the training data of {tmp_path / 'run.json'} is gone; the page needs it\n",
    )


def test_report_has_help_with_examples():
    assert "Examples:\n    nnbackprop report runs/dosage.json" in CliRunner().invoke(report, ["--help"]).output


def test_report_is_a_click_command():
    assert isinstance(report, click.Command)


# --- in the browser ----------------------------------------------------------------------


def shown_params(view):
    return {name: cells["value"] for name, cells in view.table("#params").items()}


def expected_params(values):
    return {name: number(v) for name, v in values.items()}


TRICKY = [0.0, -0.0, 0.03125, -0.03125, 1.15625, 0.00015, 2.5e-05, -7.5e-07, 1e-3, 0.00099995, 999999.99995, 1e6,
           -123456.78905, 3.5e21, 1e-300, 5e-324, float("nan"), float("inf"), float("-inf")]  # fmt: skip


def test_the_page_formats_numbers_as_explain_does(open_report, dosage_page):
    view = open_report(dosage_page)
    shown = view.page.evaluate("values => values.map(v => window.nnbackpropReport.number(v))", TRICKY)
    assert shown == [number(v) for v in TRICKY]


def test_epoch_0_shows_the_starting_ssr(open_report, dosage_page, dosage):
    view = open_report(dosage_page, "epoch=0")
    assert (view.text("#epoch"), view.text("#ssr")) == ("0", number(dosage[0]["loss_history"][0]))


def test_epoch_0_shows_the_starting_parameters(open_report, dosage_page, dosage):
    view = open_report(dosage_page, "epoch=0")
    assert shown_params(view) == expected_params(dosage[0]["initial_params"])


def test_the_last_epoch_shows_the_final_ssr(open_report, dosage_page, dosage):
    document = dosage[0]
    view = open_report(dosage_page, f"epoch={document['epochs']}")
    assert (view.text("#epoch"), view.text("#ssr")) == (str(document["epochs"]), number(document["final_loss"]))


def test_the_last_epoch_shows_the_final_parameters(open_report, dosage_page, dosage):
    view = open_report(dosage_page, f"epoch={dosage[0]['epochs']}")
    assert shown_params(view) == expected_params(dosage[0]["params"])


def test_the_page_opens_at_the_last_epoch(open_report, dosage_page, dosage):
    assert open_report(dosage_page).text("#epoch") == str(dosage[0]["epochs"])


def test_the_gradients_shown_are_the_networks(open_report, dosage_page, dosage):
    document, x, y = dosage
    view = open_report(dosage_page, "epoch=0")
    _, gradient = network.ssr_and_gradient(theta_at(document, 0), x, y)
    shown = {name: cells["gradient"] for name, cells in view.table("#params").items()}
    assert shown == dict(zip(document["params"], map(number, gradient)))


def expect_epoch(view, document, epoch):
    """What the page shows at ``epoch`` against the result: epoch, SSR and every parameter."""
    names = list(document["params"])
    return (view.text("#epoch"), view.text("#ssr"), shown_params(view)) == (
        str(epoch),
        number(document["loss_history"][epoch]),
        dict(zip(names, map(number, theta_at(document, epoch)))),
    )


def test_step_forward_shows_the_next_snapshot(open_report, dosage_page, dosage):
    view = open_report(dosage_page, "epoch=0")
    view.page.click("#next")
    assert expect_epoch(view, dosage[0], dosage[0]["snapshots"]["epochs"][1])


def test_step_back_shows_the_snapshot_before(open_report, dosage_page, dosage):
    epochs = dosage[0]["snapshots"]["epochs"]
    view = open_report(dosage_page, f"epoch={epochs[10]}")
    view.page.click("#prev")
    assert expect_epoch(view, dosage[0], epochs[9])


def test_the_slider_selects_a_snapshot(open_report, dosage_page, dosage):
    view = open_report(dosage_page, "epoch=0")
    view.page.locator("#slider").fill("42")
    assert expect_epoch(view, dosage[0], dosage[0]["snapshots"]["epochs"][42])


def test_the_arrow_keys_step(open_report, dosage_page, dosage):
    view = open_report(dosage_page, "epoch=0")
    view.page.keyboard.press("ArrowRight")
    view.page.keyboard.press("ArrowRight")
    assert expect_epoch(view, dosage[0], dosage[0]["snapshots"]["epochs"][2])


def test_play_moves_on_and_pause_stops(open_report, dosage_page):
    view = open_report(dosage_page, "epoch=0")
    view.page.click("#play")
    for _ in range(100):  # polled here: the page's Content-Security-Policy forbids Playwright's eval
        if view.text("#epoch") != "0":
            break
        view.page.wait_for_timeout(50)
    view.page.click("#play")
    stopped = view.text("#epoch")
    view.page.wait_for_timeout(300)
    assert view.text("#epoch") == stopped


def ledger_rows(view):
    return view.page.eval_on_selector_all(
        "#ledger-table tbody tr", "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent))"
    )


@pytest.mark.parametrize("name", ["w1", "b1", "w2", "b2", "w3", "w4", "b3"])
def test_the_ledger_products_add_up_to_the_gradient_shown(open_report, dosage_page, dosage, name):
    document, x, y = dosage
    epoch = document["snapshots"]["epochs"][5]
    view = open_report(dosage_page, f"epoch={epoch}&param={name}&sample=2")
    theta = theta_at(document, epoch)
    j = list(document["params"]).index(name)
    products = -2.0 * (y - network.forward(theta, x)) * network.jacobian(theta, x)[:, j]
    shown = ([row[-1] for row in ledger_rows(view)], view.text("#ledger-sum"), view.table("#params")[name]["gradient"])
    gradient = network.ssr_and_gradient(theta, x, y)[1][j]
    assert math.isclose(products.sum(), gradient, rel_tol=1e-12, abs_tol=1e-15)
    assert shown == (list(map(number, products)), number(gradient), number(gradient))


def test_the_ledger_shows_the_fixed_rate_step(open_report, dosage_page, dosage):
    document, x, y = dosage
    view = open_report(dosage_page, "epoch=0&param=w1")
    gradient = network.ssr_and_gradient(theta_at(document, 0), x, y)[1][0]
    step, new = gradient * 0.01, 2.74 - gradient * 0.01
    assert (view.text("#ledger-step"), view.text("#ledger-new")) == (number(step), number(new))


def test_the_ledger_names_the_chain_as_explain_does(open_report, dosage_page):
    text = open_report(dosage_page, "epoch=0&param=w1").text("#ledger")
    assert "dSSR/dw1 = dSSR/dpredicted * dpredicted/dy1 * dy1/dx1 * dx1/dw1" in text


@pytest.fixture(scope="module")
def lm_page(tmp_path_factory):
    document, x, y = train({"optimizer": "lm"})
    return write(tmp_path_factory.mktemp("lm"), "lm", document, x, y), document


def test_lm_steps_are_old_minus_new(open_report, lm_page):
    path, document = lm_page
    view = open_report(path, "epoch=0&param=b3")
    before, after = theta_at(document, 0)[-1], theta_at(document, 1)[-1]
    assert (view.text("#ledger-step"), view.text("#ledger-new")) == (number(before - after), number(after))


def test_lm_says_the_last_epoch_takes_no_step(open_report, lm_page):
    path, document = lm_page
    view = open_report(path, f"epoch={document['epochs']}")
    assert "Training stopped after this epoch" in view.text("#ledger")


def test_a_step_not_recorded_says_so(open_report, tmp_path):
    document, x, y = train({"learning_rate": "auto"}, snapshots=False)
    view = open_report(write(tmp_path, "auto", document, x, y), "epoch=0")
    assert "The step is not recorded" in view.text("#ledger")


def test_the_address_selects_epoch_parameter_and_sample(open_report, dosage_page, dosage):
    epoch = dosage[0]["snapshots"]["epochs"][7]
    view = open_report(dosage_page, f"epoch={epoch}&param=b2&sample=3")
    shown = (view.text("#epoch"), view.text("#ledger-title"), view.page.input_value("#sample-select"))
    assert shown == (str(epoch), "b2", "2")


def test_the_address_follows_the_page(open_report, dosage_page, dosage):
    view = open_report(dosage_page, "epoch=0&param=w1&sample=1")
    view.page.click("#next")
    view.page.select_option("#param-select", "w4")
    epoch = dosage[0]["snapshots"]["epochs"][1]
    assert view.page.evaluate("location.hash") == f"#epoch={epoch}&param=w4&sample=1"


def test_an_epoch_not_recorded_shows_the_nearest(open_report, tmp_path):
    document, x, y = train(snapshots=False)
    view = open_report(write(tmp_path, "three", document, x, y), "epoch=5")
    assert (view.text("#epoch"), "Epoch 5 is not recorded" in view.text("#epoch-note")) == ("0", True)


def test_class_mode_hides_the_controls(open_report, dosage_page):
    view = open_report(dosage_page, "epoch=0&class=1")
    assert not view.page.is_visible("#controls")


def test_printing_hides_the_controls(open_report, dosage_page):
    view = open_report(dosage_page)
    view.page.emulate_media(media="print")
    assert (view.page.is_visible("#controls"), view.page.is_visible("#ledger")) == (False, True)


def test_hovering_the_loss_shows_epoch_and_ssr(open_report, dosage_page, dosage):
    view = open_report(dosage_page)
    view.page.locator("#loss").scroll_into_view_if_needed()
    box = view.page.locator("#loss").bounding_box()
    view.page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    tip = view.page.locator("#loss .tip")
    epoch = int(tip.get_attribute("data-epoch"))
    assert tip.text_content().strip() == f"epoch {epoch}: SSR {number(dosage[0]['loss_history'][epoch])}"


def test_the_fit_draws_every_neuron_bias_and_sum(open_report, dosage_page):
    view = open_report(dosage_page)
    assert view.page.locator("#fit path.curve").count() == 2 + 1 + 1


def test_the_gradcheck_verdict_is_shown(open_report, dosage_page):
    assert open_report(dosage_page).text("#gradcheck-verdict").startswith("gradcheck passed")


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["softplus", "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("hidden", [1, 2, 5])
def test_every_activation_and_width_renders(open_report, tmp_path, activation, hidden):
    overrides = {"hidden": hidden, "activation": activation, "seed": 3, "max_epochs": 300}
    document, x, y = train(overrides)
    view = open_report(write(tmp_path, "run", document, x, y), f"epoch={document['epochs']}")
    assert (view.text("#ssr"), shown_params(view)) == (
        number(document["final_loss"]),
        expected_params(document["params"]),
    )


@pytest.mark.slow
def test_a_wide_network_draws_a_subset_and_says_so(open_report, tmp_path):
    document, x, y = train({"hidden": 30, "seed": 1, "max_epochs": 50})
    view = open_report(write(tmp_path, "wide", document, x, y))
    assert "Drawn: 6 of the 30 hidden neurons" in view.text("#network-note")


def test_report_writes_html_only_under_an_html_name(dosage, tmp_path):
    (tmp_path / "run.json").write_text(json.dumps(dosage[0]))
    result = CliRunner().invoke(program(), ["report", str(tmp_path / "run.json"), "-o", str(tmp_path / "run.png")])
    assert result.exit_code == 2
    assert "give a name ending in .html" in result.stderr
    assert not (tmp_path / "run.png").exists()


# --- data of many rows: the page holds SHOWN of them, and the sums over all -------------------


def many_rows(folder, n, **training_keys):
    """A run on ``n`` noisy rows of sin(3x) (more than the page holds), through a config as a user writes it."""
    rng = np.random.default_rng(n)
    x = rng.uniform(0, 2, n)
    y = np.sin(3 * x) + 0.1 * rng.standard_normal(n)
    np.savetxt(folder / "many.csv", np.column_stack([x, y]), delimiter=",", header="x,y", comments="", fmt="%.17g")
    keys = {"learning_rate": 2e-4, "max_epochs": 40, **training_keys}
    (folder / "many.yaml").write_text(
        f"data: {{path: many.csv}}\nmodel: {{hidden: 3}}\ninit: {{seed: 2}}\ntraining: {json.dumps(keys)}\n"
    )
    return train(config=folder / "many.yaml")


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many")
    document, x, y = many_rows(folder, 3 * SHOWN + 17)
    return write(folder, "many", document, x, y), document, x, y


def test_a_page_of_many_rows_holds_one_row_from_each_equal_stretch(many):
    path, _, x, y = many
    data = embedded(path.read_text())["data"]
    rows = np.array(data["rows"])
    assert (len(rows), rows[0], rows[-1], data["n"]) == (SHOWN, 0, len(x) - 1, len(x))
    edges = np.arange(SHOWN + 1) * len(x) // SHOWN
    assert np.all((edges[:-1] <= rows) & (rows < edges[1:]))
    assert (data["x"], data["y"]) == (x[rows].tolist(), y[rows].tolist())


def test_a_page_of_many_rows_carries_every_rows_ssr_and_gradient(many):
    path, document, x, y = many
    view = embedded(path.read_text())
    for k, epoch in enumerate(view["snapshots"]["epochs"]):
        theta = theta_at(document, epoch)
        ssr, gradient = network.ssr_and_gradient(theta, x, y)
        assert math.isclose(view["totals"]["ssr"][k], ssr, rel_tol=1e-12)
        assert math.isclose(ssr, document["loss_history"][epoch], rel_tol=1e-12)
        assert np.allclose(view["totals"]["gradient"][k], gradient, rtol=1e-10, atol=1e-10 * np.abs(gradient).max())


@pytest.mark.parametrize("trainable", [None, ["w1", "b2", "w5"]])
def test_a_page_of_many_rows_carries_the_ssr_after_each_fixed_rate_step(tmp_path, trainable):
    """At every recorded epoch, the last one (whose step training did not take) included: the SSR at
    θ - rate·gradient, frozen parameters kept, over every row."""
    keys = {"trainable": trainable} if trainable else {}
    document, x, y = many_rows(tmp_path, 2 * SHOWN + 3, max_epochs=12, **keys)
    view = embedded(page(document, x, y))
    mask = np.array([trainable is None or name in trainable for name in document["params"]])
    assert document["epochs"] == 12 and view["snapshots"]["epochs"][-1] == 12
    for epoch, after in zip(view["snapshots"]["epochs"], view["totals"]["after"]):
        theta = theta_at(document, epoch)
        step = 2e-4 * np.where(mask, network.ssr_and_gradient(theta, x, y)[1], 0.0)
        assert math.isclose(after, network.ssr_and_gradient(theta - step, x, y)[0], rel_tol=1e-12)


def test_a_page_of_many_rows_writes_inf_as_inf(tmp_path):
    document, x, y = many_rows(tmp_path, SHOWN + 1, learning_rate=1e300, max_epochs=3)
    assert document["stop_reason"] == "diverged"
    assert embedded(page(document, x, y))["totals"]["after"][-1] == "inf"


def test_the_sum_over_a_held_sample_is_the_plain_loop_over_every_row(many):
    """The per-sample loop of the issue, written out: every row's chain-rule product, added."""
    path, document, x, y = many
    view = embedded(path.read_text())
    theta = theta_at(document, view["snapshots"]["epochs"][3])
    w1, b1, w4 = theta[0], theta[1], theta[6]  # hidden 3: w1 b1 w2 b2 w3 b3 w4 w5 w6 b4
    total = 0.0
    for xi, yi in zip(x.tolist(), y.tolist()):
        residual = yi - float(network.forward(theta, np.array([xi]))[0])
        total += -2.0 * residual * w4 * (1 / (1 + math.exp(-(xi * w1 + b1)))) * xi
    assert math.isclose(view["totals"]["gradient"][3][0], total, rel_tol=1e-9)


def test_the_page_does_not_grow_with_the_rows(tmp_path):
    sizes = []
    for n in (3 * SHOWN, 30 * SHOWN):
        folder = tmp_path / str(n)
        folder.mkdir()
        sizes.append(len(page(*many_rows(folder, n, max_epochs=5)).encode()))
    assert sizes[1] < 1.05 * sizes[0]


def test_a_page_of_few_rows_holds_them_all(dosage):
    view = embedded(page(*dosage))
    assert (view["data"]["rows"], view["totals"], view["data"]["n"]) == (None, None, 3)


def test_the_page_of_many_rows_shows_the_sums_over_every_row(open_report, many):
    path, document, x, y = many
    epoch = document["snapshots"]["epochs"][4]
    view = open_report(path, f"epoch={epoch}&param=w1")
    _, gradient = network.ssr_and_gradient(theta_at(document, epoch), x, y)
    shown = {name: cells["gradient"] for name, cells in view.table("#params").items()}
    assert shown == dict(zip(document["params"], map(number, gradient)))
    assert view.text("#ledger-sum") == number(gradient[0])
    assert f"holds {SHOWN} of the {len(x)} samples" in view.text("#forward-note")


def test_the_page_of_many_rows_shows_the_fixed_rate_step_over_every_row(open_report, many):
    path, document, x, y = many
    epoch = document["snapshots"]["epochs"][2]
    view = open_report(path, f"epoch={epoch}&param=w1")
    gradient = network.ssr_and_gradient(theta_at(document, epoch), x, y)[1][0]
    assert view.text("#ledger-step") == number(gradient * 2e-4)
    assert view.text("#params-note").endswith(f"-> {number(document['loss_history'][epoch + 1])} after this epoch")


def test_the_page_of_many_rows_numbers_samples_by_their_row(open_report, many):
    path, _, x, _ = many
    rows = embedded(path.read_text())["data"]["rows"]
    view = open_report(path, f"sample={rows[700] + 1}")
    assert view.page.input_value("#sample-select") == "700"
    assert view.page.evaluate("location.hash").endswith(f"&sample={rows[700] + 1}")
    k = next(k for k in range(700, len(rows)) if rows[k + 1] - rows[k] >= 3)  # a gap of two rows or more
    missing = rows[k] + 2  # (numbered from 1) a row between two held ones: the nearest held row, said so
    note = open_report(path, f"sample={missing}").text("#epoch-note")
    held = f"showing the nearest held one, {rows[k] + 1}."
    assert note == f"Sample {missing} is not among the samples this page holds: {held}"


def test_the_help_and_the_readme_name_the_rows_a_page_holds():
    held = f"{SHOWN:,} rows"
    help_text = " ".join(CliRunner().invoke(report, ["--help"]).output.split())
    assert held in help_text and f"more than {held}" in " ".join((ROOT / "README.md").read_text().split())


def test_a_page_of_many_rows_trained_by_lm_carries_the_next_recorded_ssr(tmp_path):
    document, x, y = many_rows(tmp_path, 2 * SHOWN + 1, optimizer="lm", max_epochs=15)
    view = embedded(page(document, x, y))
    epochs, totals = view["snapshots"]["epochs"], view["totals"]
    history = document["loss_history"]
    for e, later, after in zip(epochs, epochs[1:] + [None], totals["after"]):  # the training's own next SSR
        assert after is None if later != e + 1 else math.isclose(after, history[e + 1], rel_tol=1e-12)
    assert all(math.isclose(s, document["loss_history"][e], rel_tol=1e-12) for e, s in zip(epochs, totals["ssr"]))


def test_the_page_of_many_rows_shows_a_diverged_step_as_inf(open_report, tmp_path):
    document, x, y = many_rows(tmp_path, SHOWN + 1, learning_rate=1e300, max_epochs=3)
    view = open_report(write(tmp_path, "diverged", document, x, y), f"epoch={document['epochs']}")
    assert view.text("#params-note").endswith("-> inf after this epoch")
