"""The commands that use a trained network or a config without training: predict, plot, evaluate,
explain, gradcheck."""

from __future__ import annotations

import itertools
import json
import math
import sys

import click
import numpy as np

from . import config as config_mod
from . import data as data_mod
from . import explain as explain_mod
from . import gradcheck as gradcheck_mod
from . import results
from .network import forward
from .terminal import EXIT_GRADCHECK, FILE_PATH, InputError, check_fits, say, trainable_mask
from .training import initial_theta

_RESULT_OPTION = click.option(
    "--params",
    "-p",
    "params_path",
    required=True,
    metavar="RESULT",
    type=FILE_PATH,
    help="A result JSON from 'nnbackprop train'.",
)


def _network_options(command):
    """--config, --params, --set and --format, as explain and gradcheck take them."""
    for option in reversed(
        [
            click.option(
                "--config", "-c", "config_path", required=True, metavar="FILE", type=FILE_PATH, help="The YAML config."
            ),
            click.option(
                "--params",
                "-p",
                "params_path",
                metavar="RESULT",
                type=FILE_PATH,
                help="At a result's params (default: the start).",
            ),
            click.option(
                "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (repeatable)."
            ),
            click.option(
                "--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
            ),
        ]
    ):
        command = option(command)
    return command


# --- predict -------------------------------------------------------------------------


@click.command()
@_RESULT_OPTION
@click.argument("values", nargs=-1)
@click.option(
    "--input",
    "-i",
    "input_path",
    metavar="FILE",
    type=FILE_PATH,
    help="Inputs: one number per line, or a CSV with the training input column ('-': stdin).",
)
@click.option("--format", "-f", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--decompose", is_flag=True, help="Add the parts that sum to the prediction: neuron1.. and bias.")
def predict(params_path, values, input_path, fmt, decompose):
    """Print the network's prediction for each input.

    Inputs come from VALUES, or from --input, or from stdin when neither is given.
    Put -- before negative values. A large input is read and written in blocks.
    With --decompose each row also shows the parts the output adds up, StatQuest's
    "flip, stretch, add": neuron1 .. neuronH (y_i * w_(H+i)) and bias (b_(H+1)).

    \b
    Examples:
      nnbackprop predict --params runs/dosage.json 0 0.25 0.5
      nnbackprop predict --params runs/dosage.json -- -1 2
      seq 0 0.1 1 | nnbackprop predict -p runs/dosage.json --format json
      nnbackprop predict -p runs/dosage.json --decompose 0 0.5 1
    """
    if values and input_path:
        raise InputError("give VALUES or --input, not both")
    if params_path == "-" and not values and input_path in (None, "-"):
        raise InputError("--params - reads stdin, so the inputs cannot: give VALUES or --input FILE")
    model = results.load_model(params_path)
    if values:
        blocks = iter([_parse_values(values)])
    else:
        if input_path is None and sys.stdin.isatty():
            raise InputError("no inputs: give VALUES, --input FILE, or pipe numbers into stdin")
        blocks = data_mod.iter_inputs(input_path or "-", model.input_name)
    _write_predictions(model, blocks, fmt, decompose)


def _parse_values(values) -> np.ndarray:
    out = []
    for i, value in enumerate(values, 1):
        try:
            number = float(value if "_" not in value else "x")  # 1_000 is Python's, not a number's
        except ValueError:
            raise InputError(f"value {i} ({value!r}): not a number") from None
        if not np.isfinite(number):
            raise InputError(f"value {i} ({value!r}): not a finite number")
        out.append(number)
    return np.array(out)


def _write_predictions(model, blocks, fmt, decompose=False):
    write = sys.stdout.write
    first_block = next(blocks, np.empty(0))  # a bad first line fails before any output; a later one
    # stops the stream there, with the rows before it written and exit code 2 (see the README)
    first = True
    parts = [f"neuron{i}" for i in range(1, model.hidden + 1)] + ["bias"]  # explain.decompose's keys
    keys = ["input", "prediction", *(parts if decompose else [])]
    write(",".join(keys) + "\n" if fmt == "csv" else "[")
    for x in itertools.chain([first_block], blocks):
        with np.errstate(over="ignore", invalid="ignore"):
            columns = [forward(model.theta, x, model.activation)]
            if decompose:
                columns += explain_mod.decompose(model.theta, x, model.activation).values()
        rows = zip(x.tolist(), *(c.tolist() for c in columns), strict=True)
        finite = results.finite_or_none
        if fmt == "csv" and decompose:
            text = "".join(f"{r[0]!r}," + ",".join(map(_number, r[1:])) + "\n" for r in rows)
        elif fmt == "csv":
            text = "".join(f"{a!r},{_number(b)}\n" for a, b in rows)
        elif decompose:
            text = ",\n  ".join(json.dumps(dict(zip(keys, [r[0], *map(finite, r[1:])], strict=True))) for r in rows)
        else:
            text = ",\n  ".join(json.dumps({"input": a, "prediction": finite(b)}) for a, b in rows)
        if fmt == "csv":
            write(text)
        elif text:
            write(("\n  " if first else ",\n  ") + text)
            first = False
        sys.stdout.flush()
    if fmt == "json":
        write("\n]\n" if not first else "]\n")
    sys.stdout.flush()


def _number(value: float) -> str:
    return repr(value) if np.isfinite(value) else ""


# --- plot ----------------------------------------------------------------------------


@click.command()
@click.argument("result_path", metavar="RESULT", type=FILE_PATH)
@click.option(
    "--out",
    "-o",
    required=True,
    metavar="FILE",
    type=FILE_PATH,
    help="The image to write: FILE.png or FILE.svg (the format follows the extension).",
)
@click.option(
    "--data",
    "-d",
    "data_path",
    metavar="CSV",
    type=FILE_PATH,
    help="Other data to overlay, with the training columns ('-': stdin).",
)
def plot(result_path, out, data_path):
    """Draw a result's fit and loss curves (PNG, SVG).

    The left panel builds the prediction as StatQuest's videos do ("flip, stretch,
    add"): each hidden neuron's output times its output weight (dashed), the output
    bias (dotted), and their sum, the prediction (solid), over the training data.
    The right panel is the SSR at every epoch on a log scale.  If the training data
    file is gone, the curve is drawn without points.  Needs matplotlib:
    pip install 'nnbackprop[plot]'.

    \b
    Examples:
      nnbackprop plot runs/dosage.json --out dosage.png
      nnbackprop plot runs/dosage.json --out dosage.svg --data data/new_doses.csv
    """
    from . import plot as plot_mod  # matplotlib loads only when a picture is drawn

    if result_path == "-" and data_path == "-":
        raise InputError("RESULT and --data cannot both be '-' (stdin)")
    plot_mod.image_format(out)  # a bad --out fails before anything is read
    model = results.load_model(result_path)
    for note in plot_mod.plot(model, result_path, out, data_path):
        say(note, fg="yellow")
    say(f"wrote {out}")


# --- evaluate ------------------------------------------------------------------------


@click.command()
@_RESULT_OPTION
@click.option(
    "--data",
    "-d",
    "data_path",
    required=True,
    metavar="CSV",
    type=FILE_PATH,
    help="The data to score, with a header row ('-': stdin).",
)
@click.option("--input-column", metavar="NAME", help="The input column. Default: the one the result was trained on.")
@click.option("--target-column", metavar="NAME", help="The target column. Default: the one the result was trained on.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def evaluate(params_path, data_path, input_column, target_column, fmt):
    """Score a trained network on a dataset: n, SSR, MSE, RMSE and R².

    \b
      SSR  = sum (observed - predicted)^2
      MSE  = SSR / n
      RMSE = sqrt(MSE)
      R²   = 1 - SSR / sum (observed - mean)^2

    When every target value is the same, R² is undefined: it prints as
    'undefined' (null in JSON), with a note on stderr.

    \b
    Examples:
      nnbackprop evaluate --params runs/dosage.json --data data/dosage.csv
      nnbackprop evaluate -p runs/dosage.json -d test.csv --format json | jq .rmse
      cat test.csv | nnbackprop evaluate -p runs/dosage.json -d - --target-column y
    """
    from . import metrics

    if params_path == "-" and data_path == "-":
        raise InputError("--params and --data cannot both be '-' (stdin)")
    model = results.load_model(params_path)
    default_input, default_target = metrics.training_columns(model.document)
    _, (x, observed) = data_mod.load_columns(
        data_path, [input_column or default_input, target_column or default_target]
    )
    with np.errstate(over="ignore", invalid="ignore"):
        predicted = forward(model.theta, x, model.activation)
    scores = metrics.regression(observed, predicted)
    note = metrics.r2_undefined_reason(observed)
    if note:
        say(note, fg="yellow")
    if fmt == "json":
        click.echo(json.dumps({k: results.finite_or_none(v) if isinstance(v, float) else v for k, v in scores.items()}))
        return
    labels = {"n": "n", "ssr": "SSR", "mse": "MSE", "rmse": "RMSE", "r2": "R²"}
    for key, value in scores.items():
        undefined = value is None or isinstance(value, float) and math.isnan(value)
        shown = "undefined" if undefined else value if isinstance(value, int) else f"{value:.8g}"
        click.echo(f"{labels[key]:<5} {shown}")


# --- explain and gradcheck -----------------------------------------------------------


def _network_at(config_path, overrides, params_path):
    """The config, its data ``(x, y)``, the parameters to look at and the trainable mask."""
    if config_path == "-" and params_path == "-":
        raise InputError("--config and --params cannot both be '-' (stdin)")
    config = config_mod.load(config_path, overrides)
    _, (x, y) = data_mod.load_xy(config.data.path, config.data.input, config.data.target)
    hidden = config.model.hidden
    if params_path:
        model = results.load_model(params_path)
        check_fits(model, config, params_path)
        theta = model.theta
    else:
        theta = initial_theta(hidden, config.init.seed, config.init.values)[0]
    return config, x, y, theta, trainable_mask(config)


def _finite_option(param, value):
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", param=param)
    return value


def _json_safe(value):
    """Plain data for strict JSON: NaN and infinities become null."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return results.finite_or_none(value) if isinstance(value, float) else value


@click.command()
@_network_options
def explain(config_path, params_path, overrides, fmt):
    """Show one epoch of gradient descent (or one lm step), factor by factor.

    At the config's starting parameters (or a result's --params): the SSR; then for
    every parameter its chain of derivatives in the article's words (dSSR/dpredicted *
    dpredicted/dy1 * dy1/dx1 * dx1/dw1), each factor's value for every sample, their
    product, the sum of the products (the gradient), the step size (gradient * learning
    rate) and the new value. Parameters not in training.trainable are shown frozen:
    step size 0.

    With learning_rate: auto, the same epoch at the rate auto tries first, 1 / the
    largest curvature 2·JᵀJ at these parameters, and whether auto's line search takes
    the step.

    With optimizer: lm, Levenberg-Marquardt's first step: for every parameter its column
    of J = dpredicted/dθ (the chain without dSSR/dpredicted, e.g. dpredicted/dw1 =
    w3 * sigmoid(x1) * input), per sample, beside the residual r = observed - predicted;
    its JᵀJ diagonal entry and Jᵀr; then the damping λ = 0.001 * the largest diagonal
    entry, δ solving (JᵀJ + λ·I) δ = Jᵀr over the trainable parameters (frozen ones: δ
    = 0), each new value = old + δ, and the SSR after the step (lm refuses a step that
    does not lower it).

    \b
    Examples:
      nnbackprop explain --config configs/lesson1-main-ideas.yaml
      nnbackprop explain -c configs/dosage.yaml --params runs/dosage.json
      nnbackprop explain -c configs/dosage.yaml -f json | jq .parameters.w1.per_sample
      nnbackprop explain -c configs/dosage.yaml --set training.learning_rate=auto
      nnbackprop explain -c configs/dosage.yaml --set training.optimizer=lm
    """
    config, x, y, theta, trainable = _network_at(config_path, overrides, params_path)
    t, activation = config.training, config.model.activation
    with np.errstate(over="ignore", invalid="ignore"):
        if t.optimizer == "lm":
            report = explain_mod.explain_lm(theta, x, y, activation, trainable, t.gradient_tolerance)
        else:
            report = explain_mod.explain(theta, x, y, activation, t.learning_rate, trainable, t.gradient_tolerance)
    if fmt == "json":
        click.echo(results.dumps(_json_safe(report)), nl=False)
    else:
        click.echo(explain_mod.to_text(report), nl=False)


@click.command()
@_network_options
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda ctx, param, value: _finite_option(param, value),
    default=gradcheck_mod.DEFAULT_TOLERANCE,
    show_default=True,
    help="The largest rel_error that passes.",
)
def gradcheck(config_path, params_path, overrides, fmt, tolerance):
    """Check each analytic gradient against a finite difference.

    \b
      numeric   = (SSR(p + h) - SSR(p - h)) / 2h,  h = 6e-6 * max(1, |p|)
      rel_error = |analytic - numeric| / max(largest |gradient component|, 1)

    The error is measured against the whole gradient's size, so a gradient near 0 is not
    failed on the finite difference's rounding noise. Exits 0 when every rel_error is at
    most --tolerance, 4 when any is larger. With relu, a parameter whose difference
    straddles the corner at 0 is marked and not judged.

    \b
    Examples:
      nnbackprop gradcheck --config configs/dosage.yaml
      nnbackprop gradcheck -c configs/dosage.yaml --params runs/dosage.json --format json
      nnbackprop gradcheck -c configs/dosage.yaml --set model.activation=tanh --set model.hidden=5 \\
        --set 'init={seed: 1}'
    """
    config, x, y, theta, _ = _network_at(config_path, overrides, params_path)
    with np.errstate(over="ignore", invalid="ignore"):
        report = gradcheck_mod.check(theta, x, y, config.model.activation, tolerance)
    if fmt == "json":
        click.echo(results.dumps(_json_safe(report)), nl=False)
    else:
        click.echo(gradcheck_mod.to_text(report), nl=False)
    params = report["parameters"]
    worst = max(p["rel_error"] for p in params.values())
    agree = sum(p["ok"] for p in params.values())
    unjudged = [name for name, p in params.items() if p["kink"] and not p["ok"]]
    corner = f"; {', '.join(unjudged)} at a ReLU corner, not judged" if unjudged else ""
    largest = f"largest rel_error {worst:.2e}"
    if report["ok"]:
        passed = f"gradcheck passed: {agree} of {len(params)} gradients agree within {tolerance:g}"
        say(f"{passed}{corner} ({largest})", fg="green")
        return
    bad = [name for name, p in params.items() if not (p["ok"] or p["kink"])]
    say(f"gradcheck FAILED: {', '.join(bad)} disagree by more than {tolerance:g}{corner} ({largest})", fg="red")
    sys.exit(EXIT_GRADCHECK)
