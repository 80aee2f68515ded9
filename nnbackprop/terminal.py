"""What the command line shares: exit codes, the error it raises, and how it talks."""

from __future__ import annotations

import os
import sys

import click
import numpy as np

from .network import param_names

EXIT_CODES = {
    0: "success",
    1: "internal error (a bug: please report it)",
    2: "bad input or an output that cannot be written: a config, data, result file, value or option "
    "(one 'Error:' line on stderr)",
    3: "training diverged (the result is still written, with the last finite parameters)",
    4: "gradcheck: an analytic gradient disagrees with the finite difference",
    5: "--require-convergence: the run did not converge (converged is false in the result)",
    130: "interrupted by Ctrl-C (SIGINT); the result so far is written",
    143: "terminated (SIGTERM); the result so far is written",
}
EXIT_DIVERGED, EXIT_GRADCHECK, EXIT_NOT_CONVERGED = 3, 4, 5


FILE_PATH = click.Path(allow_dash=True)  # no checks (the library makes them), but the shell completes files


class InputError(click.ClickException):
    exit_code = 2


def say(message: str = "", **style):
    """Talk to the person: stderr, coloured only on a terminal and without NO_COLOR."""
    if not style or not sys.stderr.isatty() or os.environ.get("NO_COLOR"):
        click.echo(message, err=True, color=False)
    else:
        click.secho(message, err=True, **style)


def check_fits(model, config, path):
    """A result's network must be the config's: the same hidden and activation."""
    if (model.hidden, model.activation) != (config.model.hidden, config.model.activation):
        raise InputError(
            f"{path}: model has hidden: {model.hidden}, activation: {model.activation}, but the config "
            f"has hidden: {config.model.hidden}, activation: {config.model.activation}"
        )


def trainable_mask(config) -> np.ndarray:
    """(P,) bool: which parameters the config trains."""
    names = param_names(config.model.hidden)
    trainable = set(config.training.trainable or names)
    return np.array([name in trainable for name in names])
