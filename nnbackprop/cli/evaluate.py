"""``nnbackprop evaluate``: score a trained network on a dataset."""

from __future__ import annotations

import json
import math

import click
import numpy as np

from .. import data, metrics, results
from ..network import forward
from .common import FILE_PATH, QUIET_OPTION, RESULT_OPTION, InputError, say, stdin_or


@click.command()
@RESULT_OPTION
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
@QUIET_OPTION
def evaluate(params_path, data_path, input_column, target_column, fmt, quiet):
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
      nnbackprop evaluate -p runs/sine.json -d data/sine-test.csv --format json | jq .rmse
      cat data/sine-test.csv | nnbackprop evaluate -p runs/sine.json -d - --target-column y
    """
    if params_path == "-" and data_path == "-":
        raise InputError("--params and --data cannot both be '-' (stdin)")
    model = results.load_model(stdin_or(params_path))
    default_input, default_target = metrics.training_columns(model.document)
    columns = [input_column or default_input, target_column or default_target]
    _, (x, observed) = data.load_columns(stdin_or(data_path), columns)
    with np.errstate(over="ignore", invalid="ignore"):
        predicted = forward(model.theta, x, model.activation)
    scores = metrics.regression(observed, predicted)
    for note in (metrics.r2_undefined_reason(observed), _overflow(scores, x, predicted)):
        if note and not quiet:
            say(note, fg="yellow")
    if fmt == "json":
        click.echo(json.dumps(results.json_safe(scores)))
        return
    labels = {"n": "n", "ssr": "SSR", "mse": "MSE", "rmse": "RMSE", "r2": "R²"}
    for key, value in scores.items():
        undefined = value is None or isinstance(value, float) and math.isnan(value)
        shown = "undefined" if undefined else value if isinstance(value, int) else f"{value:.8g}"
        click.echo(f"{labels[key]:<5} {shown}")


def _overflow(scores, x, predicted) -> str | None:
    """Why the scores are not finite, where they are not (None where they are)."""
    if math.isfinite(scores["ssr"]):
        return None
    bad = np.flatnonzero(~np.isfinite(predicted))
    why = (
        f"the prediction for row {bad[0] + 1} (input {x[bad[0]]:g}) overflows"
        if len(bad)
        else "the squared residuals add up beyond float64's largest number, about 1.8e308"
    )
    return f"note: {why}: the scores are inf or undefined here, null in --format json"
