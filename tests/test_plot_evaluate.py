"""The plot and evaluate commands, and the metrics behind evaluate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnbackprop import metrics, plot
from nnbackprop.network import forward

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INSTALL_ERROR = (
    "Error: plotting needs matplotlib, which is not installed: "
    "pip install matplotlib (in a checkout: pip install '.[plot]')\n"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, invoke):
    """A short training run on StatQuest's three dosages: (result path, data path)."""
    folder = tmp_path_factory.mktemp("run")
    (folder / "dosage.csv").write_text("dosage,efficacy\n0,0\n0.5,1\n1,0\n")
    (folder / "config.yaml").write_text(
        "data: {path: dosage.csv, input: dosage, target: efficacy}\n"
        "init: {w1: 2.74, b1: 0.0, w2: -1.13, b2: 0.0, w3: 0.36, w4: 0.63, b3: 0.0}\n"
        "training: {learning_rate: 0.1, max_epochs: 300}\n"
    )
    result = invoke("train", "-c", folder / "config.yaml", "--out", folder / "result.json", "-q")
    assert result.exit_code == 0, result.stderr
    return folder / "result.json", folder / "dosage.csv"


@pytest.fixture
def hand_model(tmp_path):
    """A result written by hand: one relu neuron, predicted = 2 * relu(x) + 0.5."""
    document = {
        "model": {"hidden": 1, "activation": "relu"},
        "params": {"w1": 1.0, "b1": 0.0, "w2": 2.0, "b2": 0.5},
        "loss_history": [4.0, 1.0, 0.25],
        "data": {"path": str(tmp_path / "gone.csv"), "input": "x", "target": "y"},
    }
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(document))
    return path


# --- plot --------------------------------------------------------------------------


def test_plot_writes_a_png(trained, tmp_path, invoke):
    result_path, _ = trained
    out = tmp_path / "fit.png"
    result = invoke("plot", result_path, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"wrote {out}\n"  # the training data was found: no note
    content = out.read_bytes()
    assert content.startswith(PNG_SIGNATURE)
    assert len(content) > 20_000  # two panels of curves, not an empty canvas
    assert [p.name for p in tmp_path.iterdir()] == ["fit.png"]  # no temporary file left behind


def test_plot_writes_an_svg(trained, tmp_path, invoke):
    result_path, _ = trained
    out = tmp_path / "fit.SVG"  # the extension is read case-blind
    result = invoke("plot", result_path, "-o", out)
    assert result.exit_code == 0, result.stderr
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 50


def test_plot_replaces_an_existing_image(trained, tmp_path, invoke):
    result_path, _ = trained
    out = tmp_path / "fit.png"
    out.write_bytes(b"old picture")
    assert invoke("plot", result_path, "--out", out).exit_code == 0
    assert out.read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("fit.jpg", "'.jpg' is not an image format this can write; use .png or .svg"),
        ("fit", "no extension is not an image format this can write; use .png or .svg"),
    ],
)
def test_plot_refuses_other_extensions_and_leaves_the_file_alone(trained, tmp_path, name, message, invoke):
    result_path, _ = trained
    out = tmp_path / name
    out.write_bytes(b"precious")
    result = invoke("plot", result_path, "--out", out)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: {out}: {message}\n"
    assert out.read_bytes() == b"precious"


def test_plot_refuses_stdout(trained, invoke):
    result = invoke("plot", trained[0], "--out", "-")
    assert result.exit_code == 2
    assert (
        result.stderr == "Error: --out -: an image is not written to stdout; give a file name ending in .png or .svg\n"
    )
    assert result.stdout == ""


def test_plot_without_matplotlib_names_the_install_command(trained, tmp_path, monkeypatch, invoke):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    out = tmp_path / "fit.png"
    out.write_bytes(b"precious")
    result = invoke("plot", trained[0], "--out", out)
    assert result.exit_code == 2
    assert result.stderr == INSTALL_ERROR
    assert out.read_bytes() == b"precious"


def test_a_failed_write_leaves_the_old_file_whole(trained, tmp_path, monkeypatch, invoke):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(plot.os, "replace", refuse)
    out = tmp_path / "fit.png"
    out.write_bytes(b"precious")
    result = invoke("plot", trained[0], "--out", out)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {out}: cannot write: Permission denied\n"
    assert out.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["fit.png"]  # the temporary file is gone too


def test_plot_without_the_training_data_draws_the_curve_and_says_so(hand_model, tmp_path, invoke):
    out = tmp_path / "fit.png"
    result = invoke("plot", hand_model, "--out", out)
    assert result.exit_code == 0, result.stderr
    gone = tmp_path / "gone.csv"
    assert result.stderr == f"training data {gone} not found; drawing the curve without points\nwrote {out}\n"
    assert out.read_bytes().startswith(PNG_SIGNATURE)


def test_plot_notes_training_data_that_changed(trained, tmp_path, invoke):
    result_path, data_path = trained
    copy = tmp_path / "result.json"
    document = json.loads(result_path.read_text())
    document["data"]["sha256"] = "0" * 64
    copy.write_text(json.dumps(document))
    result = invoke("plot", copy, "--out", tmp_path / "fit.png")
    assert result.exit_code == 0
    assert f"training data {data_path} has changed since training" in result.stderr


def test_plot_overlays_other_data(trained, tmp_path, invoke):
    extra = tmp_path / "new.csv"
    extra.write_text("efficacy,dosage\n0.6,0.25\n0.7,0.75\n")  # columns found by name, in any order
    result = invoke("plot", trained[0], "--out", tmp_path / "fit.png", "--data", extra)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "fit.png").read_bytes().startswith(PNG_SIGNATURE)


def test_plot_overlay_needs_the_training_columns(trained, tmp_path, invoke):
    extra = tmp_path / "new.csv"
    extra.write_text("dose,effect\n0.25,0.6\n")
    out = tmp_path / "fit.png"
    result = invoke("plot", trained[0], "--out", out, "--data", extra)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {extra}: line 1: no column 'dosage' (columns: dose, effect)\n"
    assert not out.exists()


def test_the_drawn_pieces_add_up_to_the_prediction():
    # The "flip, stretch, add" picture is honest: dashed curves + bias = the solid curve = forward().
    theta = np.array([3.34, -1.43, -3.53, 0.57, -1.22, -2.30, 2.61])
    x = np.linspace(-1, 2, 31)
    contributions, bias, predicted = plot.curves(theta, x, "softplus")
    assert contributions.shape == (31, 2)
    assert bias == 2.61
    np.testing.assert_allclose(contributions.sum(axis=1) + bias, predicted)
    np.testing.assert_allclose(predicted, forward(theta, x, "softplus"))
    # neuron 1 at x = 0: softplus(-1.43) * w3 = log(1 + e^-1.43) * -1.22 = 0.2135 * -1.22
    assert contributions[np.argmin(abs(x)), 0] == pytest.approx(np.log1p(np.exp(-1.43)) * -1.22)


def test_importing_the_cli_does_not_import_matplotlib():
    code = "import sys, nnbackprop.cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.strip() == "False"


# --- evaluate ----------------------------------------------------------------------

HAND_DATA = "x,y\n0,1\n1,2\n2,5\n"
# predicted = 2 * relu(x) + 0.5 -> 0.5, 2.5, 4.5; residuals 0.5, -0.5, 0.5
# SSR = 3 * 0.25 = 0.75; MSE = 0.25; RMSE = 0.5
# mean y = 8/3; SST = (5/3)^2 + (2/3)^2 + (7/3)^2 = 78/9 = 26/3
# R² = 1 - 0.75 / (26/3) = 1 - 2.25/26 = 23.75/26 = 0.913461538...
HAND_SCORES = {"n": 3, "ssr": 0.75, "mse": 0.25, "rmse": 0.5, "r2": 23.75 / 26}


def test_evaluate_matches_the_hand_computation(hand_model, tmp_path, invoke):
    data = tmp_path / "data.csv"
    data.write_text(HAND_DATA)
    result = invoke("evaluate", "--params", hand_model, "--data", data, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    scores = json.loads(result.stdout)
    assert list(scores) == ["n", "ssr", "mse", "rmse", "r2"]
    assert scores == pytest.approx(HAND_SCORES, rel=1e-12)


def test_evaluate_text_is_an_aligned_table(hand_model, tmp_path, invoke):
    data = tmp_path / "data.csv"
    data.write_text(HAND_DATA)
    result = invoke("evaluate", "-p", hand_model, "-d", data)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "n     3\nSSR   0.75\nMSE   0.25\nRMSE  0.5\nR²    0.91346154\n"


def test_evaluate_says_why_scores_that_overflow_are_not_numbers(hand_model, tmp_path, invoke):
    data = tmp_path / "data.csv"
    data.write_text("x,y\n0,0\n1e200,1\n")  # a residual of about 1e200: its square is beyond float64
    text = invoke("evaluate", "-p", hand_model, "-d", data)
    assert text.exit_code == 0 and "SSR   inf" in text.stdout
    assert text.stderr.count("\n") == 1 and "add up beyond float64's largest number" in text.stderr
    as_json = invoke("evaluate", "-p", hand_model, "-d", data, "-f", "json")
    assert json.loads(as_json.stdout)["ssr"] is None and "null in --format json" in as_json.stderr
    quiet = invoke("evaluate", "-p", hand_model, "-d", data, "-q")
    assert quiet.stderr == ""


def test_evaluate_reads_stdin(hand_model, invoke):
    result = invoke("evaluate", "-p", hand_model, "-d", "-", "-f", "json", input=HAND_DATA)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == pytest.approx(HAND_SCORES, rel=1e-12)


def test_evaluate_agrees_with_numpy(trained, tmp_path, invoke):
    result_path, _ = trained
    rng = np.random.default_rng(6)
    x, y = rng.uniform(0, 1, 50), rng.uniform(-0.2, 1.2, 50)
    data = tmp_path / "many.csv"
    data.write_text(
        "dosage,efficacy\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist(), strict=True))
    )
    result = invoke("evaluate", "-p", result_path, "-d", data, "-f", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result_path.read_text())
    theta = np.array(list(document["params"].values()))
    predicted = forward(theta, x, "softplus")
    mse = np.mean((y - predicted) ** 2)
    expected = {"n": 50, "ssr": 50 * mse, "mse": mse, "rmse": np.sqrt(mse), "r2": 1 - mse / np.var(y)}
    assert json.loads(result.stdout) == pytest.approx(expected, rel=1e-10)


def test_evaluate_column_options_override_the_result(hand_model, tmp_path, invoke):
    data = tmp_path / "data.csv"
    data.write_text("dose,x,response\n0,9,1\n1,9,2\n2,9,5\n")  # 'x' is there but is the wrong column
    result = invoke(
        "evaluate", "-p", hand_model, "-d", data, "--input-column", "dose", "--target-column", "response", "-f", "json"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == pytest.approx(HAND_SCORES, rel=1e-12)


def test_evaluate_missing_column_names_the_columns(hand_model, tmp_path, invoke):
    data = tmp_path / "data.csv"
    data.write_text("dose,response\n0,1\n")
    result = invoke("evaluate", "-p", hand_model, "-d", data)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: {data}: line 1: no column 'x' (columns: dose, response)\n"


def test_evaluate_r2_is_undefined_for_constant_targets(hand_model, tmp_path, invoke):
    data = tmp_path / "flat.csv"
    data.write_text("x,y\n0,0.1\n1,0.1\n2,0.1\n")  # the mean of three 0.1s is not exactly 0.1
    # predicted 0.5, 2.5, 4.5 -> SSR = 0.4^2 + 2.4^2 + 4.4^2 = 0.16 + 5.76 + 19.36 = 25.28
    note = "R² is undefined: every target value is 0.1 (zero variance), so r2 is null\n"
    as_json = invoke("evaluate", "-p", hand_model, "-d", data, "-f", "json")
    assert as_json.exit_code == 0
    assert as_json.stderr == note
    scores = json.loads(as_json.stdout)
    assert scores["r2"] is None
    assert scores["ssr"] == pytest.approx(25.28)
    as_text = invoke("evaluate", "-p", hand_model, "-d", data)
    assert as_text.stdout.splitlines()[-1] == "R²    undefined"
    assert as_text.stderr == note


def test_evaluate_refuses_two_stdins(hand_model, invoke):
    result = invoke("evaluate", "-p", "-", "-d", "-", input="{}")
    assert result.exit_code == 2
    assert result.stderr == "Error: --params and --data cannot both be '-' (stdin)\n"


def test_evaluate_reports_a_bad_result_file(tmp_path, invoke):
    data = tmp_path / "data.csv"
    data.write_text(HAND_DATA)
    result = invoke("evaluate", "-p", tmp_path / "nope.json", "-d", data)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path / 'nope.json'}: no such result file\n"


@pytest.mark.parametrize("command", ["plot", "evaluate"])
def test_help_has_examples(command, invoke):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"nnbackprop {command} " in result.stdout


# --- metrics -----------------------------------------------------------------------


finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(arrays(np.float64, st.integers(2, 30), elements=finite), st.data())
def test_metrics_agree_with_numpy_formulas(observed, data):
    predicted = data.draw(arrays(np.float64, observed.shape, elements=finite))
    scores = metrics.regression(observed, predicted)
    mse = np.mean((observed - predicted) ** 2)
    assert scores["n"] == observed.size
    assert scores["ssr"] == pytest.approx(observed.size * mse, rel=1e-9, abs=1e-12)
    assert scores["mse"] == pytest.approx(mse, rel=1e-9, abs=1e-12)
    assert scores["rmse"] ** 2 == pytest.approx(scores["mse"], rel=1e-9, abs=1e-12)
    with np.errstate(under="ignore"):
        variance = np.var(observed)
    # np.var of equal values can be ~1e-22 rather than 0 (the mean is off in its last bit),
    # so "all equal" is the exact test; a spread that underflows to 0 is undefined too
    if np.all(observed == observed[0]) or variance == 0:
        assert scores["r2"] is None
        assert metrics.r2_undefined_reason(observed).startswith("R² is undefined: ")
    elif variance < np.finfo(np.float64).tiny:  # subnormal: the formula's own spread has lost its digits
        assert scores["r2"] is None or scores["r2"] <= 1.0
    else:
        assert scores["r2"] == pytest.approx(1 - mse / variance, rel=1e-6, abs=1e-9)
        assert metrics.r2_undefined_reason(observed) is None


def test_a_perfect_fit_has_r2_one_and_no_error():
    y = np.array([0.0, 1.0, 0.0])
    assert metrics.regression(y, y) == {"n": 3, "ssr": 0.0, "mse": 0.0, "rmse": 0.0, "r2": 1.0}


def test_predicting_the_mean_has_r2_zero():
    y = np.array([1.0, 2.0, 6.0])
    assert metrics.regression(y, np.full(3, 3.0))["r2"] == pytest.approx(0.0, abs=1e-15)


def test_r2_is_undefined_when_the_spread_underflows():
    # two different values 5e-324 apart: (5e-324 / 2)^2 * 2 underflows to 0
    observed = np.array([0.0, 5e-324])
    assert metrics.regression(observed, observed)["r2"] is None
    assert "variance is 0 in floating point" in metrics.r2_undefined_reason(observed)


def test_metrics_refuse_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        metrics.regression([1.0, 2.0], [1.0])


def test_training_columns_fall_back_to_the_config():
    assert metrics.training_columns({"data": {"input": "dose"}, "config": {"data": {"target": "eff"}}}) == [
        "dose",
        "eff",
    ]
    assert metrics.training_columns({}) == [None, None]  # by position: first and second column


# --- --quiet, as train takes it ----------------------------------------------------------


def test_plot_report_and_evaluate_say_nothing_with_quiet(trained, tmp_path, invoke):
    """Each command that talks on stderr takes -q: the files and the data are the same, stderr empty."""
    result_path, data_path = trained
    flat = tmp_path / "flat.csv"
    flat.write_text("dosage,efficacy\n0,1\n1,1\n")  # R² undefined: evaluate's note
    commands = {
        "plot": (["plot", result_path, "--out", tmp_path / "{}.png"], "{}.png"),
        "report": (["report", result_path, "--out", tmp_path / "{}.html"], "{}.html"),
        "evaluate": (["evaluate", "-p", result_path, "-d", flat], None),
    }
    for name, (args, written) in commands.items():
        loud = invoke(*[str(a).format("loud") for a in args])
        quiet = invoke(*[str(a).format("quiet") for a in args], "-q")
        assert (loud.exit_code, quiet.exit_code, quiet.stderr) == (0, 0, ""), name
        assert loud.stderr != "", name
        assert quiet.stdout == loud.stdout, name
        if written:
            assert (tmp_path / written.format("quiet")).stat().st_size > 0, name
    assert (tmp_path / "quiet.html").read_text() == (tmp_path / "loud.html").read_text()


def test_every_command_the_readme_names_takes_quiet(invoke):
    from conftest import ROOT

    text = " ".join((ROOT / "README.md").read_text().split())
    named = text.split("Every command that talks on stderr (")[1].split(")")[0].replace(" and ", ", ").split(", ")
    assert len(named) == 6
    for command in named:
        assert "-q, --quiet" in invoke(command, "--help").stdout, command


def markers(svg_path) -> int:
    """The scatter markers in a matplotlib SVG: the <use> elements of its PathCollection groups
    (the data's, the legend's sample of it, and the loss panel's final-SSR dot)."""
    groups = ET.parse(svg_path).getroot().iter("{http://www.w3.org/2000/svg}g")
    return sum(
        len(g.findall(".//{http://www.w3.org/2000/svg}use"))
        for g in groups
        if g.get("id", "").startswith("PathCollection")
    )


def test_plot_draws_at_most_drawn_points_of_a_large_dataset(tmp_path, invoke):
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 2, 3 * plot.DRAWN + 7)
    np.savetxt(tmp_path / "big.csv", np.column_stack([x, np.sin(3 * x)]), delimiter=",", header="x,y", comments="")
    (tmp_path / "big.yaml").write_text(
        "data: {path: big.csv}\nmodel: {hidden: 2}\ninit: {seed: 0}\ntraining: {max_epochs: 3}\n"
    )
    assert invoke("train", "-c", tmp_path / "big.yaml", "--out", tmp_path / "big.json", "-q").exit_code == 0
    assert invoke("plot", tmp_path / "big.json", "--out", tmp_path / "big.svg").exit_code == 0
    assert markers(tmp_path / "big.svg") == plot.DRAWN + 3
    drawn_x, drawn_y, label = plot.Points("training data", x, -x).drawn()
    assert (len(drawn_x), drawn_x[0], drawn_x[-1]) == (plot.DRAWN, x[0], x[-1])  # the first and the last row
    assert np.isin(drawn_x, x).all() and np.array_equal(drawn_y, -drawn_x)
    assert label == f"training data: {plot.DRAWN:,} of {len(x):,} drawn"


def test_plot_draws_every_point_of_a_small_dataset(trained, tmp_path, invoke):
    result_path, _ = trained
    assert invoke("plot", result_path, "--out", tmp_path / "small.svg").exit_code == 0
    assert markers(tmp_path / "small.svg") == 3 + 3
    x = np.arange(plot.DRAWN, dtype=float)
    assert plot.Points("all", x, x).drawn()[2] == "all" and len(plot.Points("all", x, x).drawn()[0]) == plot.DRAWN


def test_the_readme_names_the_points_plot_draws():
    from conftest import ROOT

    text = " ".join((ROOT / "README.md").read_text().split())
    assert f"Of a dataset of more than {plot.DRAWN:,} rows, {plot.DRAWN:,} spread over it are drawn" in text


def test_best_r2_is_the_fit_of_each_inputs_mean_target():
    """Against a plain loop over the distinct inputs."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 5, 40).astype(float)
    y = x**2 + rng.standard_normal(40)
    means = {value: y[x == value].mean() for value in set(x)}
    within = sum((y[k] - means[x[k]]) ** 2 for k in range(40))
    assert metrics.best_r2(x, y) == pytest.approx(1 - within / np.sum((y - y.mean()) ** 2), rel=1e-12)
    assert metrics.best_r2(np.arange(6.0), np.arange(6.0) % 2) == pytest.approx(1.0)  # no input repeats
    assert metrics.best_r2(np.ones(4), np.arange(4.0)) == pytest.approx(0.0, abs=1e-15)
    assert metrics.best_r2(np.arange(3.0), np.ones(3)) is None


def test_polynomial_r2_is_the_least_squares_polynomials():
    rng = np.random.default_rng(8)
    for scale in (1.0, 1e-200, 1e200):
        x = rng.uniform(0, 3, 30) * scale
        y = np.exp(x / scale) * scale + rng.standard_normal(30) * scale
        for degree in (1, 3):
            fitted = np.polyval(np.polyfit(x / scale, y / scale, degree), x / scale)
            expected = 1 - np.sum((y / scale - fitted) ** 2) / np.sum((y / scale - y.mean() / scale) ** 2)
            assert metrics.polynomial_r2(x, y, degree) == (pytest.approx(expected, rel=1e-10), degree + 1)
    assert metrics.polynomial_r2(np.ones(4), np.arange(4.0), 3) == (0.0, 1)  # one input: the mean
    assert metrics.polynomial_r2(np.repeat([0.0, 1.0], 3), np.arange(6.0), 3)[1] == 2  # two: a line
    assert metrics.polynomial_r2(np.arange(3.0), np.ones(3), 1) == (None, 0)
    assert metrics.best_r2(np.repeat([0.0, 1.0], 2), np.array([0.0, 1, 0, 1]) * 1e300) == pytest.approx(0.0, abs=1e-12)
