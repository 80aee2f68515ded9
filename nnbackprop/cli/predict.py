"""``nnbackprop predict``: a trained network's output for each input."""

from __future__ import annotations

import itertools
import json
import sys

import click
import numpy as np

from .. import data, network, results
from .common import FILE_PATH, RESULT_OPTION, InputError, stdin_or


@click.command()
@RESULT_OPTION
@click.argument("values", nargs=-1)
@click.option(
    "--input",
    "-i",
    "input_path",
    metavar="FILE",
    type=FILE_PATH,
    help="Inputs: one number per line, or a CSV with the training input column ('-': stdin).",
)
@click.option(
    "--input-column",
    metavar="NAME",
    help="The --input CSV's column to read. Default: the one the result was trained on, or the only one.",
)
@click.option("--format", "-f", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--decompose", is_flag=True, help="Add the parts that sum to the prediction: neuron1.. and bias.")
def predict(params_path, values, input_path, input_column, fmt, decompose):
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
      nnbackprop predict -p runs/dosage.json --input data/dosage.csv --input-column dosage
    """
    if values and input_path:
        raise InputError("give VALUES or --input, not both")
    if values and input_column:
        raise InputError("--input-column picks a column of --input FILE; VALUES have none")
    if params_path == "-" and not values and input_path in (None, "-"):
        raise InputError("--params - reads stdin, so the inputs cannot: give VALUES or --input FILE")
    model = results.load_model(stdin_or(params_path))
    if values:
        blocks = iter([_parse_values(values)])
    else:
        if input_path is None and sys.stdin.isatty():
            raise InputError("no inputs: give VALUES, --input FILE, or pipe numbers into stdin")
        blocks = data.iter_inputs(stdin_or(input_path or "-"), input_column, trained=model.input_name)
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
    parts = [f"neuron{i}" for i in range(1, model.hidden + 1)] + ["bias"]  # network.decompose's keys
    keys = ["input", "prediction", *(parts if decompose else [])]
    write(",".join(keys) + "\n" if fmt == "csv" else "[")
    for x in itertools.chain([first_block], blocks):
        with np.errstate(over="ignore", invalid="ignore"):
            columns = [network.forward(model.theta, x, model.activation)]
            if decompose:
                columns += network.decompose(model.theta, x, model.activation).values()
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
