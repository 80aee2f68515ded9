"""Analytic gradients against finite differences, parameter by parameter.

The analytic gradient is the one training uses (:class:`kernel.Kernel`); the
numeric one differences the SSR of :func:`network.forward`, which never touches the
backward pass: central differences::

    (SSR(theta + h e_j) - SSR(theta - h e_j)) / (2 h)

at up to ten steps h from a tenth of the parameter's unit down, extrapolated to h = 0
(Ridders' method).  A parameter's unit is how far it moves for the fit to change:
``max(1, |theta_j|)``, or less where that would move every sample's x_i by more than 1
(an input weight on inputs in the thousands) or the predictions by more than the
targets' spread (any parameter of a neuron whose output weight is large).  One fixed
step for every parameter and every dataset is either too coarse for some or lost in
rounding for others.  The two gradients are compared, for each parameter j, by::

    rel_error_j = |analytic_j - numeric_j| / max(max_k |analytic_k|, max_k |numeric_k|, ceiling / 100)
    ceiling     = 2 |observed - predicted| max_k |dpredicted/dtheta_k|

the disagreement relative to the size of the whole gradient (its largest component),
or, near a minimum where every component is close to 0, to a hundredth of the largest
any component could be with these residuals (Cauchy-Schwarz: |dSSR/dtheta_k| is at most
the ceiling).  The rounding noise of a finite difference is absolute, about the same for
every parameter, so dividing by each parameter's own gradient would fail a gradient that
is near 0 (at a minimum, or for an input of 0) on noise alone, while a wrong chain-rule
factor still shows as an error of the order of the gradient itself.  Targets in other
units scale both sides alike.

ReLU has a corner at 0, where extrapolating to h = 0 has no meaning: its difference is
one central difference of ``6e-6`` units.  Where it straddles the corner (some sample's x_i has
a different sign, 0 counting as its own, at theta + h e_j than at theta - h e_j), the difference
measures neither side's slope; such a parameter is reported with ``kink: true``, and
its disagreeing there does not fail the check.
"""

from __future__ import annotations

import numpy as np

from . import kernel, network
from .network import DEFAULT_ACTIVATION

DEFAULT_TOLERANCE = 1e-6
RELATIVE_STEP = 6e-6  # about the cube root of float64's epsilon: the best h for one central difference
FIRST_STEP = 0.1  # Ridders: the first, widest h, this share of the parameter's unit
SHRINK = 1.4  # Ridders: each h is the last one over this
LEVELS = 10  # Ridders: at most this many steps
SAFE = 2.0  # Ridders: stop once the extrapolation's error grows by this factor
GOOD_ENOUGH = 1e-11  # Ridders: or once its error is this share of the gradient's largest component
NOT_SMOOTH = {"relu"}  # activations with a corner at 0
CEILING_SHARE = 0.01  # rel_error: the gradient is measured against at least this share of its ceiling


def units(theta, x, observed, activation=DEFAULT_ACTIVATION) -> np.ndarray:
    """How far each parameter moves for a step to matter, shape (P,): ``max(1, |theta_j|)``,
    or less where moving theta_j by that much would shift the predictions by more than the
    targets' spread (|observed - mean| / |dpredicted/dtheta_j|): a weight on an input in the
    thousands, or any weight of a neuron whose output weight is large.  One pass over the data."""
    theta = np.asarray(theta, dtype=np.float64)
    _, norms2, _ = network.normal_equations(theta, x, observed, activation, np.arange(len(theta)), False)
    spread = network.spread(observed)
    with np.errstate(divide="ignore", invalid="ignore"):
        natural = spread / np.sqrt(norms2)
    natural = np.where(np.isfinite(natural) & (natural > 0), natural, np.inf)
    hidden = network.hidden_of(theta)
    with np.errstate(divide="ignore"):
        input_unit = 1.0 / np.abs(x).max(initial=0.0)  # moves each sample's x_i by at most 1
    pre = network.pack(np.full(hidden, input_unit), np.ones(hidden), np.full(hidden, np.inf), np.inf)
    return np.minimum(np.minimum(np.maximum(1.0, np.abs(theta)), natural), pre)


def steps(theta, x, observed, activation=DEFAULT_ACTIVATION) -> np.ndarray:
    """The step of a single central difference for each parameter (ReLU's), shape (P,)."""
    return RELATIVE_STEP * units(theta, x, observed, activation)


def perturbed(theta, h) -> np.ndarray:
    """``theta + h_j e_j`` for every j, then ``theta - h_j e_j`` for every j: shape (2P, P)."""
    return np.concatenate([theta + np.diag(h), theta - np.diag(h)])


def central_differences(theta, x, observed, activation, h) -> np.ndarray:
    """(SSR(theta + h_j e_j) - SSR(theta - h_j e_j)) / (2 h_j) for every j, shape (P,)."""
    shifted, p = perturbed(theta, h), len(theta)
    loss = np.zeros(2 * p)
    for rows in _blocks(x, theta):  # (2P, rows, H) at a time: the memory does not grow with the data
        loss += network.ssr(observed[rows] - network.forward(shifted, x[rows], activation))
    return (loss[:p] - loss[p:]) / (2.0 * h)


def numeric_gradient(theta, x, observed, activation=DEFAULT_ACTIVATION) -> np.ndarray:
    """dSSR/dtheta by finite differences of the forward pass, shape (P,).

    A smooth activation's is Ridders' extrapolation of central differences to h = 0
    (Numerical Recipes' ``dfridr``, every parameter at once): from h = ``FIRST_STEP``
    units down by ``SHRINK`` a step, each parameter's best estimate is the one whose
    error estimate is smallest.  ReLU's is one central difference of ``RELATIVE_STEP``
    units, so that its corners can be found (:func:`kinks`)."""
    theta = np.asarray(theta, dtype=np.float64)
    x, observed = np.asarray(x, dtype=np.float64), np.asarray(observed, dtype=np.float64)
    unit = units(theta, x, observed, activation)
    if activation in NOT_SMOOTH:
        return central_differences(theta, x, observed, activation, RELATIVE_STEP * unit)
    h = FIRST_STEP * unit
    column = [central_differences(theta, x, observed, activation, h)]  # the tableau's last column
    best, error = column[0], np.full(len(theta), np.inf)
    done = np.zeros(len(theta), bool)
    for _ in range(1, LEVELS):
        h = h / SHRINK
        previous, column = column, [central_differences(theta, x, observed, activation, h)]
        factor = SHRINK**2
        for j in range(1, len(previous) + 1):
            column.append((column[j - 1] * factor - previous[j - 1]) / (factor - 1.0))
            factor *= SHRINK**2
            estimate = np.maximum(np.abs(column[j] - column[j - 1]), np.abs(column[j] - previous[j - 1]))
            better = ~done & (estimate <= error)
            best, error = np.where(better, column[j], best), np.where(better, estimate, error)
        done |= np.abs(column[-1] - previous[-1]) >= SAFE * error  # higher orders only make it worse
        done |= error <= GOOD_ENOUGH * np.abs(best).max()  # far below any tolerance: no need to go on
        if done.all():
            break
    return best


def kinks(theta, x, observed, activation=DEFAULT_ACTIVATION) -> np.ndarray:
    """Which parameters' finite differences straddle the activation's corner, shape (P,) bool."""
    theta = np.asarray(theta, dtype=np.float64)
    p = len(theta)
    if activation not in NOT_SMOOTH:
        return np.zeros(p, bool)
    shifted, straddles = perturbed(theta, steps(theta, x, observed, activation)), np.zeros(p, bool)
    for rows in _blocks(x, theta):
        signs = np.sign(network.hidden_layer(shifted, x[rows], activation)[0])  # (2P, rows, H)
        straddles |= (signs[:p] != signs[p:]).any(axis=(1, 2))
    return straddles


def _blocks(x, theta):
    """The rows of ``x`` in blocks of at most ``network.BLOCK_CELLS`` cells of a (2P, rows, H) array."""
    return network.blocks(len(x), 2 * len(theta) * network.hidden_of(theta))


def check(theta, x, observed, activation=DEFAULT_ACTIVATION, tolerance=DEFAULT_TOLERANCE) -> dict:
    """Compare the analytic and numeric gradients of every parameter.

    Returns ``{"ok", "tolerance", "loss", "parameters": {name: {"analytic", "numeric",
    "rel_error", "ok", "kink"}}}``.  A parameter is ``ok`` when ``rel_error <= tolerance``
    (see the module docstring); the whole check is ``ok`` when every parameter is, or
    sits at a ReLU corner (``kink``).
    """
    theta = np.asarray(theta, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    observed = np.asarray(observed, dtype=np.float64)
    loss, analytic = kernel.Kernel(x, observed, activation)(theta[None, :])
    analytic = analytic[0]
    numeric = numeric_gradient(theta, x, observed, activation)
    ssr, norms2, _ = network.normal_equations(theta, x, observed, activation, np.arange(len(theta)), False)
    ceiling = 2.0 * np.sqrt(ssr * norms2.max(initial=0.0))  # |dSSR/dθ_j| <= 2 |r| |dpredicted/dθ_j|
    scale = max(np.abs(analytic).max(), np.abs(numeric).max(), CEILING_SHARE * ceiling) or 1.0
    rel_error = np.abs(analytic - numeric) / scale
    at_kink = kinks(theta, x, observed, activation)
    agree = rel_error <= tolerance
    names = network.param_names(network.hidden_of(theta))
    return {
        "ok": bool((agree | at_kink).all()),
        "tolerance": float(tolerance),
        "loss": float(np.ravel(loss)[0]),
        "parameters": {
            name: {
                "analytic": float(analytic[j]),
                "numeric": float(numeric[j]),
                "rel_error": float(rel_error[j]),
                "ok": bool(agree[j]),
                "kink": bool(at_kink[j]),
            }
            for j, name in enumerate(names)
        },
    }


def to_text(report: dict) -> str:
    """The report as a table, one parameter a line."""
    rows = [f"{'parameter':<9}  {'analytic':>22}  {'numeric':>22}  {'rel error':>9}"]
    for name, p in report["parameters"].items():
        verdict = "ok" if p["ok"] else "DISAGREE" if not p["kink"] else "not judged"
        verdict += " (at a ReLU corner)" if p["kink"] else ""
        rows.append(f"{name:<9}  {p['analytic']:>22.15g}  {p['numeric']:>22.15g}  {p['rel_error']:>9.2e}  {verdict}")
    return "\n".join(rows) + "\n"
