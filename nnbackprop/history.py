"""The ``--history-csv`` of a run: every epoch's parameters, gradients and steps.

A :class:`Recorder` copies the parameters once per epoch during training; the gradients
are recomputed afterwards, a bounded batch of epochs at a time, and written as CSV.
"""

from __future__ import annotations

import math

import numpy as np

from .network import hidden_of, param_names


class Recorder:
    """Collects every start's parameters after every epoch.

    Pass it as ``training.train(..., on_epoch=recorder, every=1)``; each call copies the
    parameters of the starts whose epoch advanced (every start's at once with gd at a fixed
    rate, the running start's with lm and auto, which train one after another) and nothing
    else, so the gradients of the history are recomputed afterwards, by :func:`history_table`.
    """

    def __init__(self, state):
        self.first_epoch = int(state.epochs.max(initial=0))  # > 0 when a run is resumed
        self.epochs = state.epochs.copy()
        self.copies = [state.theta.copy()]  # the parameters of the starts that moved, (moved, P)
        self.moved = [None]  # which starts those are: None for every start (the common case, no array)

    def __call__(self, state):
        moved = np.flatnonzero(state.epochs != self.epochs)
        if len(moved) == len(self.epochs):
            self.copies.append(state.theta.copy())
            self.moved.append(None)
        elif len(moved):
            self.copies.append(state.theta[moved])  # fancy indexing: a copy
            self.moved.append(moved)
        self.epochs[moved] = state.epochs[moved]

    def thetas(self, r: int = 0) -> list:
        """Start ``r``'s parameters after each of its epochs from ``first_epoch`` on: (P,) rows."""
        rows = []
        for moved, theta in zip(self.moved, self.copies):
            if moved is None:
                rows.append(theta[r])
            elif (k := np.searchsorted(moved, r)) < len(moved) and moved[k] == r:
                rows.append(theta[k])
        return rows


def history_blocks(recorder, state, objective, learning_rate, trainable, r=0):
    """Start ``r``'s epochs as ``(header, blocks)``: blocks of rows, one row per epoch.

    A row holds the epoch, the SSR after it, every parameter after it, the gradient
    ``dSSR/d<name>`` there and the step ``step_<name>`` = gradient * learning rate
    (0 for a frozen parameter) that the next epoch takes.  The gradients are computed a
    bounded batch of epochs at a time, so a long run's history never sits in memory whole.
    """
    last = int(state.epochs[r])
    first = recorder.first_epoch
    rate = None if learning_rate is None else learning_rate * np.asarray(trainable, dtype=np.float64)
    names = param_names(hidden_of(state.theta))
    header = ["epoch", "loss", *names, *(f"dSSR/d{n}" for n in names), *(f"step_{n}" for n in names)]
    per_call = max(1, min(8192, 2**20 // max(objective.n, 1)))  # a bounded (epochs, n, H) batch

    rows = recorder.thetas(r)

    def blocks():
        for lo in range(first, last + 1, per_call):
            epochs = np.arange(lo, min(lo + per_call, last + 1))
            thetas = np.stack(rows[lo - first : lo - first + len(epochs)])  # (E, P)
            losses = np.array([state.losses[e][r] for e in epochs])
            gradients = objective(thetas)[1]
            if rate is None:  # lm or auto: the step the next epoch took, from the parameters
                after = rows[lo - first + 1 : lo - first + len(epochs) + 1]
                after += [np.full(thetas.shape[1], np.nan)] * (len(epochs) - len(after))  # none after the last
                steps = thetas - np.stack(after)
            else:
                steps = gradients * rate + 0.0  # no -0.0 for a frozen parameter
            yield np.column_stack([epochs, losses, thetas, gradients, steps])

    return header, blocks()


def history_table(recorder, state, objective, learning_rate, trainable, r=0):
    """:func:`history_blocks` as one table ``(header, rows)``."""
    header, blocks = history_blocks(recorder, state, objective, learning_rate, trainable, r)
    return header, np.concatenate(list(blocks))


def history_csv(header, blocks):
    """The history as CSV text, a block at a time: numbers in full (``repr``), the epoch as an
    integer, NaN or inf as empty."""
    yield ",".join(header) + "\n"
    for rows in blocks:
        yield "".join(
            ",".join([str(int(row[0]))] + [repr(v) if math.isfinite(v) else "" for v in row[1:]]) + "\n"
            for row in rows.tolist()
        )
