"""The command line: parse, call the library, print, map errors to exit codes.

Click lives only in this package.  Data goes to stdout or a file; everything said to a
person goes to stderr.  Each command lives in its own module; this one makes them one
program and turns every library error into one ``Error:`` line and its exit code.
"""

from __future__ import annotations

import os
import sys

import click

from .. import __version__
from ..errors import NnbackpropError
from .common import ExitStatus, InputError
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
            raise InputError(" ".join(str(e).split())) from None  # one line, whatever the message held
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(ExitStatus.INTERRUPTED)
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


def main(**kwargs):
    """The ``nnbackprop`` command: Click's, with usage errors on one line like every other error."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):  # started with one closed:
        if getattr(sys, name) is None:  # like an empty stdin, or a closed pipe
            setattr(sys, name, open(os.devnull, mode))
    try:
        code = cli.main(standalone_mode=False, **kwargs)
    except NO_ARGS_IS_HELP as e:  # plain `nnbackprop`: the help, as Click shows it
        e.show()
        sys.exit(e.exit_code)
    except click.UsageError as e:
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx else ""
        click.echo(f"Error: {e.format_message()}{hint}", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(ExitStatus.ERROR)
    sys.exit(code if isinstance(code, int) else 0)
