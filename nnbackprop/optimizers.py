"""The optimizers beside fixed-rate gradient descent, and the convergence test. No I/O.

- ``auto``: gradient descent whose step size comes from the data: Barzilai-Borwein steps,
  safeguarded by a backtracking (Armijo) line search, nonmonotone: an epoch's SSR is never
  above the worst of the ``MEMORY`` epochs before it.
- ``lm``: Levenberg-Marquardt: each iteration solves the damped normal equations
  ``(JᵀJ + λ·I) δ = Jᵀr``, with J = dpredicted/dθ (:func:`network.jacobian`) and r the
  residuals; the damping λ makes the system solvable with fewer rows than parameters.
  (Marquardt's scaling, D = diag(JᵀJ) for I, was measured worse: on the dosage data it
  stalls at a flat line from 6 of 20 seeded starts, where λ·I reaches an exact fit from all.)

Both run one start at a time, and every pass over the data is a sum over blocks of rows
taken in a fixed order, so the result does not depend on how the data is split.

The convergence test, for every optimizer: a run has converged when the residual is (to
``tolerance``) orthogonal to the direction of every trainable parameter,

    max_j |J_jᵀ r| / (|J_j| |r|) <= tolerance            (the "gradient cosine")

or when the fit is exact, √SSR <= tolerance · |observed - mean| (:func:`exact_scale`:
|observed| for a constant target, whose spread is 0; √rows where every target is 0, whose
size is no scale: a root-mean-square residual of at most ``tolerance``).  Both sides of each
test scale alike with the number of rows and the units of x and y, so one tolerance serves
every dataset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .network import Objective, normal_equations, spread  # noqa: F401 (normal_equations, spread: names of this module too)
from .stopping import StopReason
from .units import IDENTITY

GRADIENT_TOLERANCE = 1e-4  # the default of training.gradient_tolerance
ARMIJO = 1e-4  # auto: a step must win this share of the decrease its slope promises
MEMORY = 10  # auto: a step may rise above the last loss, never above the worst of this many
STALLED = 1e-12  # auto: no decrease at a step this small (relative to the parameters): min_step_size
INITIAL_DAMPING = 1e-3  # lm: the first λ, this share of the largest diagonal entry of JᵀJ
FLAT = 0.01  # a fit whose R² on the training data is below this is no better than a constant


def gradient_cosine(ssr, column_norms2, jtr) -> float:
    """max_j |J_jᵀ r| / (|J_j| |r|): 0 for a column that is all zeros, at most 1 (1 where it is not a number).

    lm asks every iteration, so it is written for a few parameters as much as for many."""
    size = np.abs(jtr)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        cosine = size / np.sqrt(column_norms2) / math.sqrt(ssr)
    largest = float(np.where(size > 0, cosine, 0.0).max(initial=0.0))
    return 1.0 if not largest <= 1.0 else largest  # <= 1 by Cauchy-Schwarz, bar rounding; NaN: 1


def exact_scale(objective, known=None) -> float:
    """What an exact fit's √SSR is measured against: |observed - mean| (``known``, where it
    was computed already), or, where every target is the same (a spread of 0), |observed|:
    a pass over the data more, only then; or, where every target is 0, √rows: one unit a row
    (the data has no size of its own, and a target of 0 is 0 in every unit)."""
    centred = objective.spread() if known is None else known
    return centred or objective.spread(centred=False) or math.sqrt(objective.n)


def is_converged(ssr, column_norms2, jtr, scale, tolerance) -> bool:
    if not math.isfinite(ssr):
        return False
    return math.sqrt(ssr) <= tolerance * scale or gradient_cosine(ssr, column_norms2, jtr) <= tolerance


@dataclass
class Verdict:
    """How good the final parameters are: the gradient's size, the convergence test, and
    the share of the targets' variation the fit explains (R² on the training data)."""

    gradient_norm: float | None  # |dSSR/dθ| over the trainable parameters
    gradient_cosine: float | None
    converged: bool
    r2: float | None = None  # 1 - SSR / |observed - mean|²; None for constant targets

    def to_dict(self) -> dict:
        return {
            "gradient_norm": self.gradient_norm,
            "gradient_cosine": self.gradient_cosine,
            "converged": self.converged,
            "r2": self.r2,
        }


def verdict(theta, x, observed, activation, trainable, tolerance=GRADIENT_TOLERANCE) -> Verdict:
    """The :class:`Verdict` at ``theta`` on the data ``x``, ``observed``: one pass over it."""
    return judge(theta, Objective(x, observed, activation), trainable, tolerance)


def judge(theta, objective, trainable, tolerance=GRADIENT_TOLERANCE, units=IDENTITY, stepped=None) -> Verdict:
    """The :class:`Verdict` at ``theta`` over any objective's data (its ``normal_equations``).

    With ``units`` (:class:`~nnbackprop.units.Units`), ``objective`` is over the data in
    those units: the test is taken there, at ``stepped`` where it is given (the parameters
    the optimizer held there, of which ``theta`` is the rounding into the data's units: so
    that where the data's zero is does not decide the verdict) and ``theta`` is finite, and
    the gradient's norm is the data's own."""
    columns = np.flatnonzero(trainable)
    with np.errstate(all="ignore"):
        finite = stepped is not None and np.isfinite(theta).all()  # else what was saved is not a number
        standard = stepped if finite else units.standard(theta)
        ssr, norms2, jtr = objective.normal_equations(standard, columns, False)
        gradient = np.zeros(len(trainable))
        gradient[columns] = -2.0 * jtr
        norm = _norm(units.gradient(gradient)[columns])
    if not math.isfinite(ssr):
        return Verdict(None, None, False)
    cosine, scale = gradient_cosine(ssr, norms2, jtr), objective.spread()
    converged = is_converged(ssr, norms2, jtr, exact_scale(objective, scale), tolerance)
    ratio = math.sqrt(ssr) / scale if scale > 0 else math.nan  # scaled, so |observed - mean|² cannot overflow
    r2 = 1.0 - ratio * ratio
    return Verdict(_finite(norm), _finite(cosine), converged, _finite(r2))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _norm(vector) -> float:
    """|vector|, computed scaled: finite wherever the answer is (NaN where an entry is not finite)."""
    size = float(np.abs(vector).max(initial=0.0))
    return size * float(np.linalg.norm(vector / size)) if 0 < size < math.inf else size


def proposed_rate(theta, x, observed, activation, trainable) -> float | None:
    """A fixed learning rate that is stable at ``theta``: 1 / the largest curvature of the
    SSR there, λ_max(2 JᵀJ) (Gauss-Newton); None where it cannot be had."""
    return stable_rate(theta, Objective(x, observed, activation), trainable)


def stable_rate(theta, objective, trainable) -> float | None:
    """:func:`proposed_rate` over any objective's data."""
    columns = np.flatnonzero(trainable)
    theta = np.asarray(theta, np.float64)
    with np.errstate(all="ignore"):
        if len(columns) <= 2000:
            _, jtj, _ = objective.normal_equations(theta, columns)
            if not np.isfinite(jtj).all():
                return None
            curvature = 2.0 * float(np.linalg.eigvalsh(jtj)[-1])
        else:  # the trace bounds the largest eigenvalue from above: a safe rate
            _, norms2, _ = objective.normal_equations(theta, columns, False)
            curvature = 2.0 * float(norms2.sum())
    return 1.0 / curvature if math.isfinite(curvature) and curvature > 0 else None


def first_damping(jtj) -> float:
    """lm's first λ: ``INITIAL_DAMPING`` of JᵀJ's largest diagonal entry (of 1e-12 for a J of zeros)."""
    return INITIAL_DAMPING * max(float(np.diag(jtj).max(initial=0.0)), 1e-12)


def first_rate(theta, objective, trainable, proposed=None) -> float:
    """auto's first trial rate: :func:`stable_rate` (or the one given), or 1e-3 where there is none."""
    return proposed or stable_rate(theta, objective, trainable) or 1e-3


# --- one start ------------------------------------------------------------------------


@dataclass
class Track:
    """One start's run: what :class:`training.State` holds for it, as Python values."""

    theta: np.ndarray  # (P,)
    losses: list  # SSR after each epoch, from epoch 0
    epoch: int
    best_loss: float
    best_theta: np.ndarray
    best_epoch: int
    reason: str | None = None
    passes: int = 0

    def record(self, theta, loss):
        self.epoch += 1
        self.theta = theta
        self.losses.append(loss)
        if loss < self.best_loss or not math.isfinite(self.best_loss):
            self.best_loss, self.best_theta, self.best_epoch = loss, theta, self.epoch


def _halted(track, settings, interrupt) -> bool:
    """Stop at ``max_epochs`` or on a signal, saying which."""
    if track.epoch >= settings.max_epochs:
        track.reason = StopReason.MAX_EPOCHS
    elif interrupt.signal:
        track.reason = StopReason.INTERRUPTED
    return track.reason is not None


def levenberg_marquardt(track, objective, settings, interrupt, on_epoch=None):
    """Levenberg-Marquardt from ``track`` until it stops: one pass over the data an iteration.

    A trial step that lowers the SSR is taken and the damping λ eased by the gain ratio
    (Nielsen's rule); one that does not is refused (the epoch repeats the loss) and λ
    grows.  Stops on the convergence test, at ``max_epochs`` iterations, or when a refused
    step was already below ``min_step_size`` (no smaller step will help: stalled).
    """
    columns = np.flatnonzero(settings.trainable)
    scale, tolerance = exact_scale(objective), settings.gradient_tolerance
    theta = track.theta.copy()
    with np.errstate(all="ignore"):
        ssr, jtj, jtr = objective.normal_equations(theta, columns)
    track.passes += 1
    if not (math.isfinite(ssr) and np.isfinite(jtj).all()):
        track.reason = StopReason.DIVERGED
        return track
    damping, grow = first_damping(jtj), 2.0
    eye = np.eye(len(columns))
    while track.reason is None:
        if is_converged(ssr, np.diag(jtj), jtr, scale, tolerance):
            track.reason = StopReason.CONVERGED
            break
        if _halted(track, settings, interrupt):
            break
        try:
            delta = np.linalg.solve(jtj + damping * eye, jtr)
        except np.linalg.LinAlgError:
            delta = np.full(len(columns), np.nan)
        trial = theta.copy()
        trial[columns] += delta
        with np.errstate(all="ignore"):
            t_ssr, t_jtj, t_jtr = objective.normal_equations(trial, columns)
        track.passes += 1
        promised = float(delta @ (damping * delta + jtr))  # the model's SSR decrease
        taken = math.isfinite(t_ssr) and t_ssr < ssr and np.isfinite(t_jtj).all()
        if taken:
            gain = (ssr - t_ssr) / promised if promised > 0 else 1.0
            damping *= max(1.0 / 3.0, 1.0 - (2.0 * gain - 1.0) ** 3)
            grow = 2.0
            theta, ssr, jtj, jtr = trial, t_ssr, t_jtj, t_jtr
        else:
            damping *= grow
            grow *= 2.0
        track.record(theta, ssr)
        if not (taken or np.abs(delta).max(initial=0.0) >= settings.min_step_size) or damping > 1e300:
            track.reason = StopReason.MIN_STEP_SIZE
        if on_epoch is not None:
            on_epoch(track)
    return track


def auto_descent(track, objective, settings, interrupt, on_epoch=None):
    """Gradient descent with Barzilai-Borwein step sizes and a backtracking line search.

    Each epoch is one accepted step ``new = old - rate * gradient`` whose SSR is at most the
    worst of the last ``MEMORY`` epochs' less ``ARMIJO * rate * |gradient|²``; a refused trial
    halves the rate (or less, by the quadratic the trial drew) and costs a pass but no epoch.  The first rate
    is :func:`first_rate` at the start; after each step, ``|s|² / sᵀy`` (BB1).
    """
    mask = settings.trainable.astype(np.float64)
    columns = np.flatnonzero(settings.trainable)
    scale, tolerance = exact_scale(objective), settings.gradient_tolerance
    theta = track.theta.copy()
    with np.errstate(all="ignore"):
        loss, grad = objective(theta[None])
    loss, grad = float(loss[0]), grad[0] * mask
    track.passes += 1
    if not (math.isfinite(loss) and np.isfinite(grad).all()):
        track.reason = StopReason.DIVERGED
        return track
    rate = first_rate(theta, objective, settings.trainable)
    track.passes += 1
    norms2, since = None, 0  # the Jacobian's column norms, for the convergence test
    while track.reason is None:
        if norms2 is None or since >= 100:
            _, norms2, _ = objective.normal_equations(theta, columns, False)
            track.passes += 1
            since = 0
        if is_converged(loss, norms2, -0.5 * grad[columns], scale, tolerance):
            fresh = since == 0
            if not fresh:
                _, norms2, _ = objective.normal_equations(theta, columns, False)
                track.passes += 1
                since = 0
            if fresh or is_converged(loss, norms2, -0.5 * grad[columns], scale, tolerance):
                track.reason = StopReason.CONVERGED
                break
        if _halted(track, settings, interrupt):
            break
        slope = float(grad @ grad)
        while True:
            step = rate * grad
            trial = theta - step
            with np.errstate(all="ignore"):
                t_loss, t_grad = objective(trial[None])
            t_loss, t_grad = float(t_loss[0]), t_grad[0] * mask
            track.passes += 1
            small = not np.abs(step).max(initial=0.0) >= STALLED * (1.0 + np.abs(theta).max(initial=0.0))
            reference = max(track.losses[-MEMORY:])  # nonmonotone: the worst of the last few epochs
            if math.isfinite(t_loss) and t_loss <= reference - ARMIJO * rate * slope and np.isfinite(t_grad).all():
                break
            if small:
                track.reason = StopReason.MIN_STEP_SIZE
                break
            rise = t_loss - loss + rate * slope  # > 0: the quadratic through the trial has its low inside
            shrink = 0.5 * rate * slope / rise if math.isfinite(rise) and rise > 0 else 0.5
            rate *= min(0.5, max(0.1, shrink))
        if track.reason is not None:
            break
        s, y = trial - theta, t_grad - grad
        sy = float(s @ y)
        rate = min(float(s @ s) / sy, 1e3 * rate) if sy > 0 else 2.0 * rate
        theta, loss, grad = trial, t_loss, t_grad
        since += 1
        track.record(theta, loss)
        if on_epoch is not None:
            on_epoch(track)
    return track
