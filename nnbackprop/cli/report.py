"""``nnbackprop report``: a result as one self-contained HTML page to step through training."""

from __future__ import annotations

import os

import click

from .. import data as data_lib
from .. import files, results
from ..errors import DataError
from ..metrics import training_columns
from .common import FILE_PATH, QUIET_OPTION, say, stdout_or


@click.command()
@click.argument("result_path", metavar="RESULT", type=FILE_PATH)
@click.option(
    "--out",
    "-o",
    metavar="PATH",
    type=FILE_PATH,
    help="The page to write ('-': stdout). Default: RESULT with the extension .html.",
)
@QUIET_OPTION
def report(result_path, out, quiet):
    """Write a training run as one HTML page that works offline.

    The page steps through the run's recorded epochs (a slider, step back and
    forward, play): the network with every parameter's value and gradient, the
    fit neuron by neuron ("flip, stretch, add"), the loss curve, and the chain
    rule of any parameter for any sample, as 'nnbackprop explain' prints it,
    with the step it took; and gradcheck's verdict for the final parameters.
    The page loads nothing from the network, and the same result gives the same
    bytes.  The address holds what is shown: #epoch=N&param=NAME&sample=K
    (&class=1 hides the controls, for slides).  A result without snapshots
    offers epoch 0, the best and the last epoch.  The training data is read
    from the result's data.path (the result file's folder is tried too); of
    more than 2,000 rows, the page holds 2,000 spread over it (one from each
    equal stretch of rows), and every sum it shows is over all of them.

    \b
    Examples:
      nnbackprop report runs/dosage.json                  # writes runs/dosage.html
      nnbackprop report runs/dosage.json --out run.html
      nnbackprop report runs/dosage.json -o - > run.html
    """
    from .. import report as report_lib

    if result_path == "-":
        raise click.UsageError("RESULT must be a file: the page reads the training data the result names")
    out = out or os.path.splitext(result_path)[0] + ".html"
    if out != "-" and not out.lower().endswith((".html", ".htm")):
        raise click.UsageError(f"--out {out}: the page is HTML; give a name ending in .html (or - for stdout)")
    files.check_not_inputs({"--out": stdout_or(out)}, {"the result": result_path})
    model = results.load_model(result_path)
    x, y = _training_data(model.document, result_path)
    text = report_lib.page(model.document, x, y)
    files.write_text(text, stdout_or(out))
    if out != "-" and not quiet:
        say(f"wrote {out}")


def _training_data(document, result_path):
    """The result's training data, found as ``plot`` finds it (:func:`nnbackprop.results.training_data`)."""
    info = document.get("data") if isinstance(document.get("data"), dict) else {}
    path = info.get("path")
    if not isinstance(path, str):
        raise DataError(f"{result_path}: names no training data (data.path); the page needs it")
    if path == "-":
        raise DataError(
            f"{result_path}: was trained on data from stdin, which cannot be read again: "
            "make the page while training, with train --report PAGE"
        )
    found = results.training_data(document, result_path)
    if found is None:
        raise DataError(f"{path}: the training data of {result_path} is gone; the page needs it")
    _, (x, y) = data_lib.load_columns(found, training_columns(document))
    return x, y
