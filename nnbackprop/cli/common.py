"""What the commands share: the exit codes, the error they raise, shared options, and how they talk."""

from __future__ import annotations

import os
import sys
from enum import IntEnum

import click

from ..files import Stream


class ExitStatus(IntEnum):
    """Every exit code of ``nnbackprop``, named once (the help lists them from here)."""

    SUCCESS = 0
    ERROR = 1
    BAD_INPUT = 2
    DIVERGED = 3
    GRADCHECK_FAILED = 4
    NOT_CONVERGED = 5
    INTERRUPTED = 130  # 128 + SIGINT
    TERMINATED = 143  # 128 + SIGTERM

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    ExitStatus.SUCCESS: "success",
    ExitStatus.ERROR: "internal error (a bug: please report it)",
    ExitStatus.BAD_INPUT: "bad input or an output that cannot be written: a config, data, result file, value or "
    "option (one 'Error:' line on stderr)",
    ExitStatus.DIVERGED: "training diverged (the result is still written, with the last finite parameters)",
    ExitStatus.GRADCHECK_FAILED: "gradcheck: an analytic gradient disagrees with the finite difference",
    ExitStatus.NOT_CONVERGED: "--require-convergence: the run did not converge (converged is false in the result)",
    ExitStatus.INTERRUPTED: "interrupted by Ctrl-C (SIGINT); the result so far is written",
    ExitStatus.TERMINATED: "terminated (SIGTERM); the result so far is written",
}

FILE_PATH = click.Path(allow_dash=True)  # no checks (the library makes them), but the shell completes files


def stdin_or(path):
    """The edge of the program: ``-`` is stdin, handed to the library as a :class:`~nnbackprop.files.Stream`."""
    return Stream(sys.stdin.buffer) if path == "-" else path


def stdout_or(path):
    """``-`` is stdout, as a :class:`~nnbackprop.files.Stream`; any other path stays a path."""
    return Stream(sys.stdout) if path == "-" else path


class InputError(click.ClickException):
    exit_code = ExitStatus.BAD_INPUT


def say(message: str = "", **style):
    """Talk to the person: stderr, coloured only on a terminal and without NO_COLOR."""
    if not style or not sys.stderr.isatty() or os.environ.get("NO_COLOR"):
        click.echo(message, err=True, color=False)
    else:
        click.secho(message, err=True, **style)


def options(*decorators):
    """Several click options as one decorator, in the order given."""

    def apply(command):
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return apply


CONFIG_OPTION = click.option(
    "--config", "-c", "config_path", required=True, metavar="FILE", type=FILE_PATH, help="The YAML config."
)
SET_OPTION = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (repeatable)."
)
RESULT_OPTION = click.option(
    "--params",
    "-p",
    "params_path",
    required=True,
    metavar="RESULT",
    type=FILE_PATH,
    help="A result JSON from 'nnbackprop train'.",
)
