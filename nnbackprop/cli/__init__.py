"""The command line: parse, call the library, print, map errors to exit codes.

Click lives only in this package.  Data goes to stdout or a file; everything said to a
person goes to stderr.  Each command lives in its own module; this one makes them one
program and turns every library error into one ``Error:`` line and its exit code.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import sys
import warnings

import click

from .. import __version__
from ..errors import NnbackpropError
from .common import CLOSED, ExitStatus, InputError, Terminated, one_line
from .evaluate import evaluate
from .explain import explain, gradcheck
from .plot import plot
from .predict import predict
from .report import report
from .train import train

NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # Click 8.2 and later

EXIT_CODE_HELP = "\b\nExit codes:\n" + "\n".join(f"  {status.value:>3}  {status.meaning}" for status in ExitStatus)


class Group(click.Group):
    """Turns library errors into one ``Error: ...`` line and exit code 2, Ctrl-C into 130,
    and a reader that went away (``| head``) into a quiet end."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NnbackpropError as e:
            raise InputError(str(e)) from None  # one line, whatever the message held
        except KeyboardInterrupt:
            raise SystemExit(_interrupted(ExitStatus.INTERRUPTED)) from None
        except Terminated:
            raise SystemExit(_interrupted(ExitStatus.TERMINATED)) from None
        except MemoryError as e:  # numpy's says how much: "Unable to allocate 1.3 TiB for an array ..."
            detail = f": {e}" if str(e) else ""
            raise InputError(f"not enough memory{detail}; try a smaller model.hidden or less data") from None
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit's flush
            sys.exit(ExitStatus.SUCCESS)
        except OSError as e:  # stdout itself failed: a full disk, a closed descriptor
            raise InputError(f"{e.filename or 'stdout'}: cannot write: {e.strerror or e}") from None


@click.group(cls=Group, epilog=EXIT_CODE_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nnbackprop")
def cli():
    """Train, inspect and check a small neural network whose backpropagation is derived by hand.

    \b
    Examples:
      nnbackprop train --config configs/dosage.yaml
      nnbackprop predict --params runs/dosage.json 0 0.5 1
    """


for command in (train, predict, explain, gradcheck, evaluate, plot, report):
    cli.add_command(command)


def _terminate(signum, frame):
    raise Terminated()


def main(**kwargs):
    """The ``nnbackprop`` command: Click's, with usage errors on one line like every other error.

    The signal policy, from here to the last instruction: SIGINT raises KeyboardInterrupt
    and SIGTERM :class:`~nnbackprop.cli.common.Terminated`, each ending the program with
    one line and exit 130 or 143, never a traceback or the default action; ``train``
    defers both from the moment it starts training until its result is written.
    """
    for signum, handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, _terminate)):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored by whoever started us: stays so
            signal.signal(signum, handler)
    try:
        try:
            code = _main(**kwargs)
        finally:
            _ignore_signals()  # the program is ending: a late signal cannot cut the ending short
    except KeyboardInterrupt:
        code = _interrupted(ExitStatus.INTERRUPTED)
    except Terminated:
        code = _interrupted(ExitStatus.TERMINATED)
    sys.exit(code)


def _ignore_signals():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _interrupted(status) -> int:
    _ignore_signals()  # saying so is the last thing: not cut short by another
    try:
        click.echo("interrupted" if status == ExitStatus.INTERRUPTED else "terminated", err=True)
    except (OSError, ValueError):
        pass
    return status


def _main(**kwargs):
    if not sys.warnoptions:  # the command line talks in Error: lines, never in Python warnings
        warnings.simplefilter("ignore", RuntimeWarning)
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):  # started with one closed:
        if getattr(sys, name) is None:  # stdin reads as empty; writing to a closed stdout is an error
            CLOSED.add(name)
            if name == "stdout":
                os.open(os.devnull, os.O_RDONLY)  # holds descriptor 1, so no file opened later lands there
                sys.stdout = _ClosedStdout()
            else:
                setattr(sys, name, open(os.devnull, mode))
    try:
        code = cli.main(standalone_mode=False, **kwargs)
    except NO_ARGS_IS_HELP as e:  # plain `nnbackprop`: the help, as Click shows it
        e.show()
        sys.exit(e.exit_code)
    except click.UsageError as e:
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx else ""
        click.echo(f"Error: {one_line(e.format_message())}{hint}", err=True)
        return e.exit_code
    except click.ClickException as e:
        click.echo(f"Error: {one_line(e.format_message())}", err=True)
        return e.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return ExitStatus.ERROR
    return code if isinstance(code, int) else 0


class _ClosedStdout(io.TextIOBase):
    """What ``sys.stdout`` is when the program started with it closed: every write fails."""

    def writable(self):
        return True

    def write(self, text):
        raise OSError(errno.EBADF, "stdout is closed")

    def fileno(self):
        raise OSError(errno.EBADF, "stdout is closed")

    @property
    def buffer(self):
        return self
