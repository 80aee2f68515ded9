"""Why a run stopped: each stop reason named once.

A :class:`StopReason` is a ``str``, so it is written to the result file as its value
(``"min_step_size"``) and compares equal to the string read back from one.
"""

from __future__ import annotations

from enum import Enum


class StopReason(str, Enum):
    CONVERGED = "converged"  # lm or auto: the convergence test passed (see optimizers.is_converged)
    MIN_STEP_SIZE = "min_step_size"  # every |step| fell below training.min_step_size
    MAX_EPOCHS = "max_epochs"  # training.max_epochs ran out
    DIVERGED = "diverged"  # the loss or a parameter ran away; the last good parameters are kept
    INTERRUPTED = "interrupted"  # a signal (Ctrl-C, SIGTERM) asked to stop

    __str__ = str.__str__  # "min_step_size", not "StopReason.MIN_STEP_SIZE", in f-strings too
    __format__ = str.__format__
