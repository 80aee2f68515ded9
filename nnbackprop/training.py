"""Gradient descent: steps, stopping rules, history. No I/O.

Every array here has a leading axis of starts (R, usually 1): several random starts
train together as one array program, each stopping on its own rule, so that every
start's numbers equal those of the same start trained alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import optimizers
from .network import Objective, param_names
from .stopping import StopReason
from .units import IDENTITY

DIVERGENCE_FACTOR = 1e6  # a loss above this multiple of the starting loss has diverged


@dataclass
class Settings:
    learning_rate: float | str  # a fixed rate, or "auto" (a step size found from the data)
    max_epochs: int
    min_step_size: float
    trainable: np.ndarray  # (P,) bool: which parameters step
    optimizer: str = "gd"  # "gd" or "lm"
    gradient_tolerance: float = optimizers.GRADIENT_TOLERANCE

    @property
    def fixed_rate(self) -> bool:
        """Plain gradient descent at a fixed rate: the article's, number for number."""
        return is_fixed_rate(self.optimizer, self.learning_rate)


def is_fixed_rate(optimizer: str, learning_rate) -> bool:
    """Whether ``optimizer`` with ``learning_rate`` is gradient descent at a fixed rate."""
    return optimizer == "gd" and learning_rate != "auto"


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
    passes: np.ndarray  # (R,) int: passes over the data this run made
    stepped: np.ndarray | None = None  # (R, P): lm's or auto's theta where it stepped (standard units), unrounded
    running: int | None = None  # lm and auto, which train one start after another: the start training now

    @classmethod
    def start(cls, theta) -> State:
        theta = np.atleast_2d(np.array(theta, dtype=np.float64))
        r = theta.shape[0]
        nan, zeros = np.full(r, np.nan), np.zeros(r, int)
        return cls(theta, theta.copy(), [], zeros.copy(), [None] * r, theta.copy(), nan, zeros.copy(), zeros.copy())

    @property
    def epoch(self) -> int:
        """The epoch training is at: the running start's (lm and auto), else the furthest start's."""
        return int(self.epochs[self.running]) if self.running is not None else len(self.losses) - 1

    @property
    def loss(self) -> float:
        """The SSR training is at: the running start's, else the lowest over the starts at the last epoch."""
        if self.running is not None:
            return float(self.losses[self.epoch][self.running])
        last = self.losses[-1]
        return float(np.nanmin(last)) if np.isfinite(last).any() else math.nan

    def history(self, r: int = 0) -> list[float]:
        """Start r's SSR after each of its epochs: epochs[r] + 1 values."""
        return [float(losses[r]) for losses in self.losses[: self.epochs[r] + 1]]

    @property
    def best_start(self) -> int:
        """The start with the lowest final loss (diverged starts last)."""
        final = np.array([self.losses[e][r] for r, e in enumerate(self.epochs)])
        final[np.isnan(final) | np.array([reason == StopReason.DIVERGED for reason in self.reasons])] = np.inf
        return int(np.argmin(final))


@dataclass
class Interrupt:
    """Set ``signal`` (from a signal handler) to stop after the current epoch."""

    signal: int = 0


def initial_theta(
    hidden: int, seed: int | None, values: dict, starts: int = 1, units=IDENTITY, spread: bool = False
) -> np.ndarray:
    """Starting parameters, shape (starts, 3H + 1).

    Weights w1..w2H come from a standard normal drawn with ``seed`` (row r for start r,
    weights in the order w1..wH, w(H+1)..w(2H)), biases are 0: in ``units``
    (:class:`~nnbackprop.units.Units`: lm and auto draw them in standard units), mapped to
    the data's; then ``values`` overrides by name, in the data's units.  With ``spread`` (lm
    and auto) the hidden biases are drawn too, after the weights: b_i = -w_i * c_i with c_i
    uniform on [-1, 1], so neuron i bends at x' = c_i, a uniform point of the data's range in
    standard units, instead of every neuron at its middle.
    """
    names = param_names(hidden)
    theta = np.zeros((starts, len(names)))
    if seed is not None:
        rng = np.random.default_rng(seed)
        draws = rng.standard_normal((starts, 2 * hidden))
        weights = [i for i, name in enumerate(names) if name.startswith("w")]
        theta[:, weights] = draws
        if spread:
            theta[:, 1 : 2 * hidden : 2] = -draws[:, :hidden] * rng.uniform(-1.0, 1.0, (starts, hidden))
    theta = units.original(theta)
    position = {name: i for i, name in enumerate(names)}
    for name, value in values.items():
        theta[:, position[name]] = value
    return theta


def train(
    objective: Objective,
    state: State,
    settings: Settings,
    on_epoch=None,
    every: int = 0,
    interrupt=None,
    units=IDENTITY,
):
    """Run gradient descent from ``state`` until every start has stopped; return ``state``.

    One epoch: the gradient at the current parameters, then for every trainable parameter
    at once ``step = gradient * learning_rate``, ``new = old - step``.  A start stops after
    the first epoch whose largest |step| is below ``min_step_size``, when its loss or
    parameters stop being finite or its loss grows past ``DIVERGENCE_FACTOR`` times its
    starting loss ("diverged": the last good parameters are kept), or at ``max_epochs``.
    ``on_epoch(state)`` is called every ``every`` epochs; ``interrupt.signal`` stops all.

    ``objective(theta) -> (ssr, gradient)`` is a :class:`~nnbackprop.network.Objective`
    (the readable math) or a :class:`~nnbackprop.kernel.Kernel` (the same, fast).  With
    ``settings.optimizer == "lm"`` or ``learning_rate == "auto"`` the steps come from
    :mod:`nnbackprop.optimizers` instead, one start after another, in ``units``
    (:class:`~nnbackprop.units.Units`): then ``objective`` is over the data in those units,
    and ``state`` stays in the data's own.
    """
    if not settings.fixed_rate:
        return _train_each(objective, state, settings, on_epoch, every, interrupt or Interrupt(), units)
    first = int(state.epochs.max(initial=0))
    try:
        return _train_fixed(objective, state, settings, on_epoch, every, interrupt)
    finally:
        state.passes += state.epochs - first + 1


def _train_fixed(objective, state, settings, on_epoch, every, interrupt):
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
                _stop(state, active, active, StopReason.MAX_EPOCHS)
                break
            if interrupt is not None and interrupt.signal:
                _stop(state, active, active, StopReason.INTERRUPTED)
                break
            epoch += 1
            step = grad * rate
            everyone = active.all()  # then whole arrays stand in for the masked ones
            if not everyone:
                step[~active] = 0.0
            new_theta = theta - step
            new_loss, new_grad = objective(new_theta)
            good = (new_loss <= limit) & np.isfinite(new_loss)
            if not math.isfinite(new_theta.sum()):  # some parameter is not finite: which?
                good &= np.isfinite(new_theta).all(axis=1)
            if everyone and good.all():  # the results are fresh arrays: take them as they are
                theta, loss, grad = new_theta, new_loss, new_grad
            else:
                bad = active & ~good
                if bad.any():
                    _stop(state, active, bad, StopReason.DIVERGED)
                theta = np.where(active[:, None], new_theta, theta)
                loss = np.where(active, new_loss, loss)
                grad = np.where(active[:, None], new_grad, grad)
            state.theta = theta
            state.epochs[active] = epoch
            state.losses.append(loss)
            better = (loss < state.best_loss) & active  # active now: a start just stopped is out
            if better.all():
                state.best_loss, state.best_theta, state.best_epoch[...] = loss, theta, epoch
            elif better.any():
                state.best_loss = np.where(better, loss, state.best_loss)
                state.best_theta = np.where(better[:, None], theta, state.best_theta)
                state.best_epoch[better] = epoch
            converged = (np.abs(step).max(axis=1) < settings.min_step_size) & active
            if converged.any():
                _stop(state, active, converged, StopReason.MIN_STEP_SIZE)
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
    written into ``state`` every epoch there (losses, parameters, epochs, best) is written
    here only when someone can look: before ``on_epoch`` and on the way out.  The largest
    |step| is looked for only when the step that was largest last time is small.  The
    steps themselves come from a :class:`~nnbackprop.kernel.Descent` where the data fits
    one block of the kernel, else from :class:`_Steps` over any objective.
    """
    loss, grad, limit, first = start
    fused = getattr(objective, "descent", None)  # the speed path: Kernel.descent, where it can serve
    steps = (fused and fused(state.theta[0], rate)) or _Steps(objective, state.theta, loss, grad, rate)
    limit, max_epochs = float(limit[0]), settings.max_epochs
    min_step = settings.min_step_size * steps.scale  # steps.applied is scale * the step
    done, reason, k, losses, last = first, None, 0, [], steps.loss
    best, best_epoch, improved = float(state.best_loss[0]), 0, False
    call_back = on_epoch is not None and every
    interrupt = interrupt or Interrupt()
    advance, append, isfinite = steps.advance, losses.append, math.isfinite

    def sync():
        state.losses.extend(np.array(losses).reshape(-1, 1))  # (1,) arrays, as in a batch
        losses.clear()
        state.theta[0] = steps.theta[0]
        state.epochs[0] = done
        if improved:
            state.best_loss[0], state.best_theta[0], state.best_epoch[0] = best, steps.best()[0], best_epoch
        state.reasons[0] = reason

    try:
        for epoch in range(first + 1, max_epochs + 1):
            if interrupt.signal:
                reason = StopReason.INTERRUPTED
                break
            value = advance()
            finite = isfinite(sum(steps.row.tolist())) or _finite(steps.row)
            if not finite and steps.scale != 1.0:  # doubled parameters overflowed: plain ones may not
                steps = _Steps.after(steps, objective, rate, improved)
                advance, min_step = steps.advance, settings.min_step_size
                value = advance()
                finite = isfinite(sum(steps.row.tolist())) or _finite(steps.row)
            if value <= limit and isfinite(value) and finite:
                done, last = epoch, value
                append(value)
                if value < best:
                    best, best_epoch, improved = value, epoch, True
                    steps.pin()
                step = steps.applied
                if not abs(step.item(k)) >= min_step:  # maybe converged: look at every step
                    size = np.abs(step[0])
                    k = int(size.argmax())
                    if size.max() < min_step:
                        reason = StopReason.MIN_STEP_SIZE
            else:
                steps.reject()
                reason = StopReason.DIVERGED
                append(last)
            if call_back and epoch % every == 0:
                sync()
                on_epoch(state)
            if reason is not None:
                break
        else:
            reason = StopReason.MAX_EPOCHS
    finally:
        sync()


class _Steps:
    """Gradient descent steps over any ``objective(theta) -> (loss, gradient)``, one start.

    The protocol :func:`_train_alone` drives, which :class:`~nnbackprop.kernel.Descent`
    (the same steps, fused into the kernel) also follows: :meth:`advance` moves to
    ``theta - step`` and returns the SSR there, :meth:`reject` moves back, :meth:`pin`
    marks the best parameters so far and :meth:`best` returns them; ``theta`` and
    ``loss`` are the parameters and the starting SSR, and ``row`` (the parameters
    reached) and ``applied`` (the step taken) are ``scale`` times the true values.
    """

    scale = 1.0

    def __init__(self, objective, theta, loss, grad, rate):
        self.objective, self.rate = objective, rate[None]
        self.theta, self.loss, self.step = theta.copy(), float(loss[0]), grad * self.rate
        self.row = self.pinned = self.theta

    @classmethod
    def after(cls, descent, objective, rate, improved):
        """Take over from a :class:`~nnbackprop.kernel.Descent` whose last step was too large for it."""
        descent.reject()
        theta = descent.theta
        loss, grad = objective(theta)
        steps = cls(objective, theta, loss, grad, rate)
        if improved:
            steps.pinned = descent.best()
        return steps

    def advance(self):
        self.previous = self.theta, self.step
        self.applied = self.step
        self.theta = self.theta - self.step
        self.row = self.theta[0]
        loss, grad = self.objective(self.theta)
        self.step = grad * self.rate
        return float(loss[0])

    def reject(self):
        self.theta, self.step = self.previous
        self.row = self.theta[0]

    def pin(self):
        self.pinned = self.theta

    def best(self):
        return self.pinned


def _finite(row) -> bool:
    """Whether every parameter in ``row`` is finite, when their sum was not: a closer look."""
    return bool(np.isfinite(row).all())


def _train_each(objective, state, settings, on_epoch, every, interrupt, units):
    """Train every start with ``lm`` or ``auto``, one after another, into ``state``: the
    tracks in ``units``, ``state`` in the data's (``on_epoch`` sees ``state.running``, the
    start that is training, as it is at ``state.epoch``)."""
    tracks, resumed = [], bool(state.losses)  # (the losses the starts note as they train are not a history)
    for r in range(len(state.reasons)):
        track = optimizers.Track(
            units.standard(state.theta[r]),
            [units.standard_ssr(loss) for loss in state.history(r)] if resumed else [],
            int(state.epochs[r]),
            units.standard_ssr(float(state.best_loss[r])),
            units.standard(state.best_theta[r]),
            int(state.best_epoch[r]),
            passes=int(state.passes[r]),
        )
        if not track.losses:
            with np.errstate(all="ignore"):
                loss = float(objective(track.theta[None])[0][0])
            track.losses, track.best_loss = [loss], loss
        tracks.append(track)
        call_back = _calling(on_epoch, every, state, r, track.epoch, units)
        if state.reasons[r] is None:
            if settings.optimizer == "lm":
                optimizers.levenberg_marquardt(track, objective, settings, interrupt, call_back)
            else:
                optimizers.auto_descent(track, objective, settings, interrupt, call_back)
        else:
            track.reason = state.reasons[r]
    state.running = None
    _sync(state, tracks, units)
    return state


def _calling(on_epoch, every, state, r, since, units):
    """Start ``r``'s ``call_back(track)`` for the optimizers: ``on_epoch(state)`` every ``every``
    epochs, the track noted into ``state`` first (from epoch ``since``, where it began)."""
    noted = since

    def call_back(track):
        nonlocal noted
        if on_epoch is not None and every and track.epoch % every == 0:
            _note(state, r, track, noted, units)
            noted = track.epoch
            on_epoch(state)

    return call_back


def _note(state, r, track, since, units):
    """Start ``r``'s track since epoch ``since`` into ``state``, as ``on_epoch`` reads it: its
    epochs' losses, its parameters now and its best (a few numbers, where :func:`_sync` writes
    every start's whole history)."""
    while len(state.losses) <= track.epoch:
        state.losses.append(np.full(len(state.reasons), np.nan))
    for epoch in range(since, track.epoch + 1):
        state.losses[epoch][r] = units.ssr(track.losses[epoch])
    state.running = r
    _write(state, r, track, units)


def _write(state, r, track, units):
    """Start ``r``'s parameters, epochs, passes and best from ``track`` into ``state``, in the data's units."""
    state.theta[r], state.epochs[r], state.passes[r] = units.original(track.theta), track.epoch, track.passes
    state.best_theta[r] = units.original(track.best_theta)
    state.best_loss[r], state.best_epoch[r] = units.ssr(track.best_loss), track.best_epoch


def _sync(state, tracks, units):
    """Write the tracks so far into ``state``, in the data's units: the losses padded with each start's last."""
    longest = max(len(track.losses) for track in tracks)
    padded = [track.losses + track.losses[-1:] * (longest - len(track.losses)) for track in tracks]
    r = len(state.reasons)
    padded += [[np.nan] * longest] * (r - len(tracks))
    state.losses = list(units.ssr(np.array(padded, dtype=np.float64).T.copy()))
    if state.stepped is None:
        state.stepped = np.full_like(state.theta, np.nan)
    for i, track in enumerate(tracks):
        _write(state, i, track, units)
        state.reasons[i], state.stepped[i] = track.reason, track.theta
