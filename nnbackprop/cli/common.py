"""What the commands share: the exit codes, the error they raise, shared options, and how they talk."""

from __future__ import annotations

import os
import re
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


class _FilePath(click.Path):
    """A file name or ``-``: no checks (the library makes them), but the shell completes files.

    An empty name is refused here, once for every option: ``--resume ''`` is not a fresh
    start, ``--out ''`` is not stdout.
    """

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("an empty file name (give a path, or - for stdin/stdout)", param, ctx)
        return super().convert(value, param, ctx)


FILE_PATH = _FilePath(allow_dash=True)

CLOSED: set[str] = set()  # the standard streams that were closed when the program started (main fills it)


def stdin_or(path):
    """The edge of the program: ``-`` is stdin, handed to the library as a :class:`~nnbackprop.files.Stream`."""
    return Stream(sys.stdin.buffer) if path == "-" else path


def stdout_or(path):
    """``-`` is stdout, as a :class:`~nnbackprop.files.Stream`; any other path stays a path.

    A stdout that was closed when the program started is refused: a result written there
    would be thrown away.
    """
    if "stdout" in CLOSED and (path == "-" or _STDOUT.fullmatch(os.path.normpath(os.path.abspath(path)))):
        raise InputError(f"{path}: cannot write: stdout is closed; give a file name")
    return Stream(sys.stdout) if path == "-" else path


_STDOUT = re.compile(r"/dev/stdout|/dev/fd/1|/proc/(self|thread-self|\d+)/fd/1")


class InputError(click.ClickException):
    """Bad input: one ``Error:`` line (see :func:`one_line`) and exit code 2."""

    exit_code = ExitStatus.BAD_INPUT

    def __init__(self, message: str):
        super().__init__(one_line(message))


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt is for SIGINT, where no run is being saved."""


MAX_ERROR_LENGTH = 1000  # characters in one error line; a longer value is elided in the middle
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def printable(text: str) -> str:
    """``text`` with every control, escape or bidi character shown as ``\\xNN`` / ``\\uNNNN``, never raw."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def one_line(message: str, limit: int = MAX_ERROR_LENGTH) -> str:
    """A message as one bounded, printable line: whitespace runs (newlines too) become one
    space, control characters are escaped, and the middle of a long message is elided."""
    line = printable(" ".join(str(message).split()))
    if len(line) > limit:
        head, tail = limit * 2 // 3, limit // 4
        line = f"{line[:head]} … ({len(line) - head - tail:,} characters elided) … {line[-tail:]}"
    return line


def say(message: str = "", **style):
    """Talk to the person: stderr, coloured only on a terminal and without NO_COLOR.

    Control and escape characters (from a file's column names, say) are shown escaped.
    """
    message = "\n".join(printable(part) for part in str(message).split("\n"))
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
LR_OPTION = click.option("--lr", metavar="RATE", help="Shorthand for --set training.learning_rate=RATE.")
EPOCHS_OPTION = click.option("--epochs", metavar="N", help="Shorthand for --set training.max_epochs=N.")
SEED_OPTION = click.option(
    "--seed", metavar="N", help="Start from random weights drawn with seed N (replaces the config's init)."
)
QUIET_OPTION = click.option("--quiet", "-q", is_flag=True, help="Say nothing on stderr but errors.")


def config_overrides(sets, lr=None, epochs=None, seed=None) -> list:
    """--set, then the short flags (--lr, --epochs, --seed), each remembering the option it came from."""
    overrides = list(sets)
    if lr is not None:
        overrides.append(("training.learning_rate", lr, f"--lr {lr}"))
    if epochs is not None:
        overrides.append(("training.max_epochs", epochs, f"--epochs {epochs}"))
    if seed is not None:
        if not re.fullmatch(r"[0-9]+", seed.strip()):
            raise InputError(f"--seed {seed}: must be a whole number >= 0")
        digits = seed.strip().lstrip("0") or "0"  # as written: no int() of 5,000 digits, no float rounding
        overrides.append(("init", f"{{seed: {digits}}}", f"--seed {seed}"))
    return overrides


RESULT_OPTION = click.option(
    "--params",
    "-p",
    "params_path",
    required=True,
    metavar="RESULT",
    type=FILE_PATH,
    help="A result JSON from 'nnbackprop train'.",
)
