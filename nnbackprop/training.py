"""Gradient descent: steps, stopping rules, history. No I/O.

Every array here has a leading axis of starts (R, usually 1): several random starts
train together as one array program, each stopping on its own rule, so that every
start's numbers equal those of the same start trained alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .network import Objective, param_names

DIVERGENCE_FACTOR = 1e6  # a loss above this multiple of the starting loss has diverged

STOP_REASONS = ("min_step_size", "max_epochs", "diverged", "interrupted")


@dataclass
class Settings:
    learning_rate: float
    max_epochs: int
    min_step_size: float
    trainable: np.ndarray  # (P,) bool: which parameters step


@dataclass
class State:
    """Everything a run needs to carry on; a result file holds one (for R = 1)."""

    theta: np.ndarray  # (R, P) current parameters
    initial: np.ndarray  # (R, P) starting parameters
    losses: list  # losses[k] is an (R,) array: every start's SSR after k epochs
    epochs: np.ndarray  # (R,) int: epochs each start has run
    reasons: list  # (R,) stop reason of each start, None while it runs
    best_theta: np.ndarray  # (R, P)
    best_loss: np.ndarray  # (R,)
    best_epoch: np.ndarray  # (R,) int

    @classmethod
    def start(cls, theta) -> State:
        theta = np.atleast_2d(np.array(theta, dtype=np.float64))
        r = theta.shape[0]
        nan = np.full(r, np.nan)
        return cls(theta, theta.copy(), [], np.zeros(r, int), [None] * r, theta.copy(), nan, np.zeros(r, int))

    def history(self, r: int = 0) -> list[float]:
        """Start r's SSR after each of its epochs: epochs[r] + 1 values."""
        return [float(losses[r]) for losses in self.losses[: self.epochs[r] + 1]]

    @property
    def best_start(self) -> int:
        """The start with the lowest final loss (diverged starts last)."""
        final = np.array([self.losses[e][r] for r, e in enumerate(self.epochs)])
        final[np.isnan(final) | np.array([reason == "diverged" for reason in self.reasons])] = np.inf
        return int(np.argmin(final))


@dataclass
class Interrupt:
    """Set ``signal`` (from a signal handler) to stop after the current epoch."""

    signal: int = 0


def initial_theta(hidden: int, seed: int | None, values: dict, starts: int = 1) -> np.ndarray:
    """Starting parameters, shape (starts, 3H + 1).

    Weights w1..w2H come from a standard normal drawn with ``seed`` (row r for start r,
    weights in the order w1..wH, w(H+1)..w(2H)), biases are 0; ``values`` overrides by name.
    """
    names = param_names(hidden)
    theta = np.zeros((starts, len(names)))
    if seed is not None:
        draws = np.random.default_rng(seed).standard_normal((starts, 2 * hidden))
        weights = [i for i, name in enumerate(names) if name.startswith("w")]
        theta[:, weights] = draws
    for name, value in values.items():
        theta[:, names.index(name)] = value
    return theta


def train(objective: Objective, state: State, settings: Settings, on_epoch=None, every: int = 0, interrupt=None):
    """Run gradient descent from ``state`` until every start has stopped; return ``state``.

    One epoch: the gradient at the current parameters, then for every trainable parameter
    at once ``step = gradient * learning_rate``, ``new = old - step``.  A start stops after
    the first epoch whose largest |step| is below ``min_step_size``, when its loss or
    parameters stop being finite or its loss grows past ``DIVERGENCE_FACTOR`` times its
    starting loss ("diverged": the last good parameters are kept), or at ``max_epochs``.
    ``on_epoch(state)`` is called every ``every`` epochs; ``interrupt.signal`` stops all.
    """
    theta = state.theta
    rate = settings.learning_rate * settings.trainable.astype(np.float64)
    active = np.array([reason is None for reason in state.reasons])
    with np.errstate(over="ignore", invalid="ignore"):
        loss, grad = objective(theta)
        if not state.losses:
            state.losses.append(loss.copy())
            state.best_loss = loss.copy()
        limit = DIVERGENCE_FACTOR * state.losses[0]
        epoch = int(state.epochs.max(initial=0))
        if len(theta) == 1:
            if active[0]:
                _train_alone(objective, state, settings, rate, (loss, grad, limit, epoch), on_epoch, every, interrupt)
            return state
        while active.any():
            if epoch >= settings.max_epochs:
                _stop(state, active, active, "max_epochs")
                break
            if interrupt is not None and interrupt.signal:
                _stop(state, active, active, "interrupted")
                break
            epoch += 1
            step = grad * rate
            everyone = active.all()  # then whole arrays stand in for the masked ones
            if not everyone:
                step[~active] = 0.0
            new_theta = theta - step
            new_loss, new_grad = objective(new_theta)
            good = np.isfinite(new_loss) & np.isfinite(new_theta).all(axis=1) & (new_loss <= limit)
            if everyone and good.all():
                theta[...], loss[...], grad[...], state.epochs[...] = new_theta, new_loss, new_grad, epoch
            else:
                bad = active & ~good
                if bad.any():
                    _stop(state, active, bad, "diverged")
                theta[active] = new_theta[active]
                loss[active] = new_loss[active]
                grad[active] = new_grad[active]
                state.epochs[active] = epoch
            state.losses.append(loss.copy())
            better = active & (loss < state.best_loss)
            if better.all():
                state.best_loss[...], state.best_theta[...], state.best_epoch[...] = loss, theta, epoch
            elif better.any():
                state.best_loss[better] = loss[better]
                state.best_theta[better] = theta[better]
                state.best_epoch[better] = epoch
            converged = active & (np.abs(step).max(axis=1) < settings.min_step_size)
            if converged.any():
                _stop(state, active, converged, "min_step_size")
            if on_epoch is not None and every and epoch % every == 0:
                on_epoch(state)
    return state


def _stop(state, active, which, reason):
    for r in np.flatnonzero(which):
        state.reasons[r] = reason
    active &= ~which


def _train_alone(objective, state, settings, rate, start, on_epoch, every, interrupt):
    """The loop of :func:`train` for one start (R = 1), number for number the same.

    One start needs no masks, so its bookkeeping is done with Python floats, and what is
    written into ``state`` every epoch there (parameters, epochs, best) is written here
    only when someone can look: before ``on_epoch`` and on the way out.  The largest
    |step| is looked for only when the step that was largest last time is small.
    """
    loss, grad, limit, epoch = start
    rate = rate[None]  # (1, P) like grad: the same shapes take NumPy's quickest path
    limit, min_step, max_epochs = float(limit[0]), settings.min_step_size, settings.max_epochs
    fresh = isinstance(objective, Objective)  # its results are never written again
    evaluate = objective.evaluator(state.theta.shape[1]) if fresh else objective
    theta, done, reason, k = state.theta, epoch, None, 0
    best, best_theta, best_epoch = float(state.best_loss[0]), None, 0
    append, call_back = state.losses.append, on_epoch is not None and every

    def sync():
        state.theta[0] = theta[0]
        state.epochs[0] = done
        if best_theta is not None:
            state.best_loss[0], state.best_theta[0], state.best_epoch[0] = best, best_theta[0], best_epoch
        state.reasons[0] = reason

    try:
        while reason is None:
            if epoch >= max_epochs:
                reason = "max_epochs"
                break
            if interrupt is not None and interrupt.signal:
                reason = "interrupted"
                break
            epoch += 1
            step = grad * rate
            new_theta = theta - step
            new_loss, new_grad = evaluate(new_theta)
            value = new_loss.item()
            if value <= limit and math.isfinite(value) and _finite(new_theta):
                theta, loss, grad, done = new_theta, new_loss, new_grad, epoch
                append(loss if fresh else loss.copy())
                if value < best:
                    best, best_theta, best_epoch = value, theta, epoch
                if not abs(step.item(k)) >= min_step:  # maybe converged: look at every step
                    size = np.abs(step[0])
                    k = int(size.argmax())
                    if size.max() < min_step:
                        reason = "min_step_size"
            else:
                reason = "diverged"
                append(loss.copy())
            if call_back and epoch % every == 0:
                sync()
                on_epoch(state)
    finally:
        sync()


def _finite(theta) -> bool:
    """Whether every parameter is finite: a sum of them is, or else a closer look."""
    return math.isfinite(sum(theta[0].tolist())) or bool(np.isfinite(theta).all())
