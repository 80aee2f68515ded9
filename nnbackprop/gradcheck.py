"""Analytic gradients against central finite differences, parameter by parameter.

The analytic gradient is the one training uses (:class:`kernel.Kernel`); the
numeric one differences the SSR of :func:`network.forward`, which never touches the
backward pass::

    numeric_j = (SSR(theta + h e_j) - SSR(theta - h e_j)) / (2 h),   h = 6e-6 * max(1, |theta_j|)

and the two are compared, for each parameter j, by::

    rel_error_j = |analytic_j - numeric_j| / max(max_k |analytic_k|, max_k |numeric_k|, 1)

the disagreement relative to the size of the whole gradient (its largest component, or 1
when every component is smaller).  The rounding noise of a finite difference is about
1e-16 * SSR / h: absolute, and the same for every parameter, so dividing by each
parameter's own gradient would fail a gradient that is near 0 (at a minimum, or for an
input of 0) on noise alone, while a wrong chain-rule factor still shows as an error of
the order of the gradient itself.

ReLU has a corner at 0.  Where a finite difference straddles it (some sample's x_i has
a different sign, 0 counting as its own, at theta + h e_j than at theta - h e_j), the difference
measures neither side's slope; such a parameter is reported with ``kink: true``, and
its disagreeing there does not fail the check.
"""

from __future__ import annotations

import numpy as np

from . import kernel, network
from .network import DEFAULT_ACTIVATION

DEFAULT_TOLERANCE = 1e-6
RELATIVE_STEP = 6e-6  # about the cube root of float64's epsilon: the best h for a central difference
NOT_SMOOTH = {"relu"}  # activations with a corner at 0


def steps(theta) -> np.ndarray:
    """The finite-difference step for each parameter, shape (P,)."""
    return RELATIVE_STEP * np.maximum(1.0, np.abs(theta))


def perturbed(theta) -> np.ndarray:
    """``theta + h e_j`` for every j, then ``theta - h e_j`` for every j: shape (2P, P)."""
    h = np.diag(steps(theta))
    return np.concatenate([theta + h, theta - h])


def numeric_gradient(theta, x, observed, activation=DEFAULT_ACTIVATION) -> np.ndarray:
    """dSSR/dtheta by central differences of the forward pass, shape (P,)."""
    theta = np.asarray(theta, dtype=np.float64)
    shifted, p = perturbed(theta), len(theta)
    loss = np.zeros(2 * p)
    for rows in _blocks(x, theta):  # (2P, rows, H) at a time: the memory does not grow with the data
        loss += network.ssr(observed[rows] - network.forward(shifted, x[rows], activation))
    return (loss[:p] - loss[p:]) / (2.0 * steps(theta))


def kinks(theta, x, activation=DEFAULT_ACTIVATION) -> np.ndarray:
    """Which parameters' finite differences straddle the activation's corner, shape (P,) bool."""
    theta = np.asarray(theta, dtype=np.float64)
    p = len(theta)
    if activation not in NOT_SMOOTH:
        return np.zeros(p, bool)
    shifted, straddles = perturbed(theta), np.zeros(p, bool)
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
    scale = max(np.abs(analytic).max(), np.abs(numeric).max(), 1.0)
    rel_error = np.abs(analytic - numeric) / scale
    at_kink = kinks(theta, x, activation)
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
