"""The ``nnbackprop`` command and ``python -m nnbackprop``: signals are handled before anything loads.

A Ctrl-C or SIGTERM while NumPy, click and the library are being imported is remembered
and ends the program with one line and exit 130 or 143 once the imports are done, never
a traceback or the default action; from then on :func:`nnbackprop.cli.main` holds the policy.
"""

import signal
import sys


def main():
    caught = []

    def remember(signum, frame):
        caught.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored by whoever started us: stays so
            signal.signal(signum, remember)
    from nnbackprop.cli import main as run  # numpy, click, the library: about 0.2 s

    if caught:
        print("interrupted" if caught[0] == signal.SIGINT else "terminated", file=sys.stderr)
        sys.exit(128 + caught[0])
    run(prog_name="nnbackprop")


if __name__ == "__main__":
    main()
