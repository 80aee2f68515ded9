"""``nnbackprop plot``: a result's fit and loss curves as an image."""

from __future__ import annotations

import click

from .. import files, results
from .common import FILE_PATH, QUIET_OPTION, InputError, say, stdin_or


@click.command()
@click.argument("result_arg", metavar="[RESULT]", required=False, type=FILE_PATH)
@click.option(
    "--params",
    "-p",
    "params_path",
    metavar="RESULT",
    type=FILE_PATH,
    help="The result JSON to draw, as the other commands take it (or RESULT, positional).",
)
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
@QUIET_OPTION
def plot(result_arg, params_path, out, data_path, quiet):
    """Draw a result's fit and loss curves (PNG, SVG).

    The left panel builds the prediction as StatQuest's videos do ("flip, stretch,
    add"): each hidden neuron's output times its output weight (dashed), the output
    bias (dotted), and their sum, the prediction (solid), over the training data.
    The right panel is the SSR at every epoch on a log scale.  If the training data
    file is gone, the curve is drawn without points.  Needs matplotlib:
    pip install matplotlib (in a checkout: pip install '.[plot]').

    \b
    Examples:
      nnbackprop plot --params runs/dosage.json --out dosage.png
      nnbackprop plot runs/sine.json --out sine.svg --data data/sine-test.csv
    """
    from .. import plot as plot_lib  # matplotlib loads only when a picture is drawn

    if result_arg is not None and params_path is not None:
        raise InputError("give the result once: RESULT or --params RESULT, not both")
    result_path = params_path if params_path is not None else result_arg
    if result_path is None:
        raise InputError("which result? give --params RESULT (or RESULT)")
    if result_path == "-" and data_path == "-":
        raise InputError("RESULT and --data cannot both be '-' (stdin)")
    if out == "-":
        raise InputError("--out -: an image is not written to stdout; give a file name ending in .png or .svg")
    plot_lib.image_format(out)  # a bad --out fails before anything is read
    result, data = stdin_or(result_path), data_path and stdin_or(data_path)
    files.check_not_inputs({"--out": out}, {"the result": result, "--data": data})
    model = results.load_model(result)
    notes = plot_lib.plot(model, result, out, data)
    if not quiet:
        for note in notes:
            say(note, fg="yellow")
        say(f"wrote {out}")
