"""The chain rule as numbers: one epoch of gradient descent (or of lm), and the network's parts.

Everything here is computed from :func:`network.hidden_layer` and :func:`network.unpack`,
the same math training uses, and returned as plain Python data (dicts, lists, floats),
so the command line can print it as a table or as JSON.  In the output the article's
words are used: a hidden neuron's input is ``x1``, its output ``y1``; the chain for w1 is
dSSR/dpredicted * dpredicted/dy1 * dy1/dx1 * dx1/dw1.
"""

from __future__ import annotations

import re

import numpy as np

from . import optimizers
from .explain_text import number, to_text  # noqa: F401  (the report's text: names of this module too)
from .network import (
    DEFAULT_ACTIVATION,
    DERIVATIVE_NAMES,
    Objective,
    forward,
    hidden_layer,
    hidden_of,
    param_names,
    ssr,
    unpack,
)
from .units import IDENTITY

DSSR_DPREDICTED = ("dSSR/dpredicted", "-2 * (observed - predicted)")


def local_derivative_name(activation: str, neuron: int) -> str:
    """How dy/dx of hidden neuron ``neuron`` (1-based) reads, e.g. ``sigmoid(x1)`` for softplus."""
    return re.sub(r"\b([xy])\b", rf"\g<1>{neuron}", DERIVATIVE_NAMES[activation])


def chains(theta, x, observed, activation=DEFAULT_ACTIVATION):
    """Every parameter's chain-rule factors, per sample.

    Returns ``(predicted, {name: [(factor, formula, values), ...]})``: ``predicted`` has
    shape (n,); for each parameter (in pack order) a list of factors whose product, summed
    over the samples, is dSSR/d(parameter).  ``values`` has shape (n,).
    """
    theta = np.asarray(theta, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    hidden = hidden_of(theta)
    _, a, da = hidden_layer(theta, x, activation)  # (n, H): y and dy/dx of every neuron
    _, _, w_out, _ = unpack(theta)
    predicted = forward(theta, x, activation)
    dpredicted = (*DSSR_DPREDICTED, -2.0 * (np.asarray(observed, dtype=np.float64) - predicted))
    ones = np.ones_like(x)
    out = {}
    for i in range(hidden):
        k, o = i + 1, hidden + i + 1  # neuron k feeds the output through w(o)
        through_neuron = [
            dpredicted,
            (f"dpredicted/dy{k}", f"w{o}", np.full_like(x, w_out[i])),
            (f"dy{k}/dx{k}", local_derivative_name(activation, k), da[:, i]),
        ]
        out[f"w{k}"] = through_neuron + [(f"dx{k}/dw{k}", "input", x)]
        out[f"b{k}"] = through_neuron + [(f"dx{k}/db{k}", "1", ones)]
    for i in range(hidden):
        out[f"w{hidden + i + 1}"] = [dpredicted, (f"dpredicted/dw{hidden + i + 1}", f"y{i + 1}", a[:, i])]
    out[f"b{hidden + 1}"] = [dpredicted, (f"dpredicted/db{hidden + 1}", "1", ones)]
    return predicted, {name: out[name] for name in param_names(hidden)}


def explain(
    theta,
    x,
    observed,
    activation=DEFAULT_ACTIVATION,
    learning_rate=0.1,
    trainable=None,
    tolerance=optimizers.GRADIENT_TOLERANCE,
) -> dict:
    """One epoch of gradient descent, factor by factor.

    Parameters
    ----------
    theta : array, shape (3H + 1,)
        Packed parameters.
    x, observed : array, shape (n,)
    learning_rate : float or "auto"
        ``"auto"`` takes the rate auto's first epoch tries, :func:`optimizers.proposed_rate`
        (1 / λmax(2 JᵀJ); 1e-3 where it has none: :func:`optimizers.first_rate`).
    trainable : array of bool, shape (3H + 1,), optional
        Frozen parameters (False) get step size 0 and keep their value.
    tolerance : float
        auto only: the convergence test's tolerance (training.gradient_tolerance).

    Returns
    -------
    dict
        ``loss``, ``new_loss`` (the SSR after the step), ``learning_rate``,
        ``activation``, ``hidden``, ``samples`` (input, observed, predicted and every
        x_i, y_i) and ``parameters``: for each name its ``value``, ``trainable``,
        ``gradient`` (the sum of the per-sample products), ``step_size``, ``new_value``,
        ``chain`` (factor names), ``formulas`` (what each factor is) and ``per_sample``.
        With ``learning_rate="auto"`` also ``auto``: ``curvature`` (λmax(2 JᵀJ), None when
        the fallback rate is used), ``ssr_at_most`` (the SSR auto's line search asks of the
        step), ``accepts_step`` and ``converged`` (auto stops before stepping).
    """
    theta, x, observed, hidden, names, trainable = _inputs(theta, x, observed, trainable)
    auto = isinstance(learning_rate, str)
    if auto:
        if learning_rate != "auto":
            raise ValueError(f"learning_rate must be a number or 'auto', got {learning_rate!r}")
        proposed = optimizers.proposed_rate(theta, x, observed, activation, trainable)
        learning_rate = optimizers.first_rate(theta, Objective(x, observed, activation), trainable, proposed)
    predicted, factors = chains(theta, x, observed, activation)
    z, a, _ = hidden_layer(theta, x, activation)

    parameters = {}
    new_theta = theta.copy()
    for j, name in enumerate(names):
        table = np.stack([values for _, _, values in factors[name]], axis=1)  # (n, factors)
        products = np.prod(table, axis=1)
        gradient = float(products.sum())
        step = gradient * learning_rate if trainable[j] else 0.0
        new_theta[j] = theta[j] - step
        parameters[name] = {
            "value": float(theta[j]),
            "trainable": bool(trainable[j]),
            "gradient": gradient,
            "step_size": step,
            "new_value": float(new_theta[j]),
            "chain": [factor for factor, _, _ in factors[name]],
            "formulas": [formula for _, formula, _ in factors[name]],
            "per_sample": [
                {"input": xi, "observed": oi, "predicted": pi, "factors": row, "product": prod}
                for xi, oi, pi, row, prod in zip(
                    x.tolist(), observed.tolist(), predicted.tolist(), table.tolist(), products.tolist(), strict=True
                )
            ],
        }
    report = {
        "loss": ssr(observed - predicted),
        "new_loss": ssr(observed - forward(new_theta, x, activation)),
        "learning_rate": float(learning_rate),
    }
    if auto:  # the first epoch's trial: the line search takes it if the SSR falls enough
        slope = sum(p["gradient"] ** 2 for p in parameters.values() if p["trainable"])
        at_most = report["loss"] - optimizers.ARMIJO * learning_rate * slope
        report["auto"] = {
            "curvature": None if proposed is None else 1.0 / proposed,
            "ssr_at_most": at_most,
            "accepts_step": bool(report["new_loss"] <= at_most),
            "converged": _converged(theta, x, observed, activation, trainable, tolerance),
        }
    report.update(activation=activation, hidden=hidden, samples=_samples(x, observed, predicted, z, a))
    report["parameters"] = parameters
    return report


def explain_lm(
    theta, x, observed, activation=DEFAULT_ACTIVATION, trainable=None, tolerance=optimizers.GRADIENT_TOLERANCE
):
    """Levenberg-Marquardt's first step, factor by factor.

    J = dpredicted/dθ, column by column from :func:`chains` (each parameter's factors
    without dSSR/dpredicted), r = observed - predicted; then the damped normal equations
    ``(JᵀJ + λ·I) δ = Jᵀr`` over the trainable parameters, with the first damping
    λ = ``optimizers.INITIAL_DAMPING`` * max diag(JᵀJ), and new = old + δ.

    Returns
    -------
    dict
        ``optimizer`` ("lm"), ``loss``, ``new_loss`` (the SSR after the step),
        ``step_taken`` (False: the SSR did not fall, so lm refuses the step, grows λ and
        tries again), ``converged`` (lm stops before stepping), ``initial_damping``,
        ``damping`` (λ), ``activation``, ``hidden``, ``samples``, ``parameters``: for each
        name its ``value``, ``trainable``, ``chain``, ``formulas``, ``per_sample`` (input,
        observed, predicted, residual, factors, product: J's entry), ``jtj_diagonal``,
        ``jtr``, ``delta`` (0 when frozen) and ``new_value``; and ``system``: the
        trainable ``parameters`` and their ``jtj`` (without λ), ``jtr`` and ``delta``.
    """
    theta, x, observed, hidden, names, trainable = _inputs(theta, x, observed, trainable)
    predicted, factors = chains(theta, x, observed, activation)
    factors = {name: chain[1:] for name, chain in factors.items()}  # without dSSR/dpredicted
    z, a, _ = hidden_layer(theta, x, activation)
    residual = observed - predicted

    tables = {name: np.stack([values for _, _, values in chain], axis=1) for name, chain in factors.items()}
    jac = np.stack([np.prod(tables[name], axis=1) for name in names], axis=1)  # (n, P)
    columns = np.flatnonzero(trainable)
    jtj = jac[:, columns].T @ jac[:, columns]
    jtr = residual @ jac[:, columns]
    damping = optimizers.first_damping(jtj)
    try:
        delta = np.linalg.solve(jtj + damping * np.eye(len(columns)), jtr)
    except np.linalg.LinAlgError:
        delta = np.full(len(columns), np.nan)
    steps = np.zeros(len(names))
    steps[columns] = delta
    new_theta = theta + steps

    parameters = {}
    for j, name in enumerate(names):
        column = jac[:, j]
        parameters[name] = {
            "value": float(theta[j]),
            "trainable": bool(trainable[j]),
            "chain": [factor for factor, _, _ in factors[name]],
            "formulas": [formula for _, formula, _ in factors[name]],
            "per_sample": [
                {"input": xi, "observed": oi, "predicted": pi, "residual": ri, "factors": row, "product": prod}
                for xi, oi, pi, ri, row, prod in zip(
                    x.tolist(),
                    observed.tolist(),
                    predicted.tolist(),
                    residual.tolist(),
                    tables[name].tolist(),
                    column.tolist(),
                    strict=True,
                )
            ],
            "jtj_diagonal": float(column @ column),
            "jtr": float(residual @ column),
            "delta": float(steps[j]),
            "new_value": float(new_theta[j]),
        }
    loss, new_loss = ssr(observed - predicted), ssr(observed - forward(new_theta, x, activation))
    return {
        "optimizer": "lm",
        "loss": loss,
        "new_loss": new_loss,
        "step_taken": bool(new_loss < loss),  # NaN compares False: refused
        "converged": _converged(theta, x, observed, activation, trainable, tolerance),
        "initial_damping": optimizers.INITIAL_DAMPING,
        "damping": damping,
        "activation": activation,
        "hidden": hidden,
        "samples": _samples(x, observed, predicted, z, a),
        "parameters": parameters,
        "system": {
            "parameters": [names[j] for j in columns],
            "jtj": jtj.tolist(),
            "jtr": jtr.tolist(),
            "delta": delta.tolist(),
        },
    }


def in_units(units, explain_fn, theta, x, observed, *args):
    """``explain_fn`` (:func:`explain` or :func:`explain_lm`) of the network and data in ``units``
    (:class:`~nnbackprop.units.Units`: where lm and auto step), every number in them; the report's
    ``units`` holds the shifts and scales and ``new_params``, the new values in the data's units."""
    x, observed = np.asarray(x, dtype=np.float64), np.asarray(observed, dtype=np.float64)
    report = explain_fn(units.standard(theta), units.x(x)[0 : len(x)], units.y(observed)[0 : len(x)], *args)
    if units != IDENTITY:
        new = units.original([p["new_value"] for p in report["parameters"].values()])
        report["units"] = {**units.to_dict(), "new_params": dict(zip(report["parameters"], new.tolist()))}
    return report


def _inputs(theta, x, observed, trainable):
    """The arrays as float64, H, the parameter names, and the trainable mask (all when None)."""
    theta, x, observed = (np.asarray(v, dtype=np.float64) for v in (theta, x, observed))
    names = param_names(hidden_of(theta))
    trainable = np.ones(len(names), bool) if trainable is None else np.asarray(trainable, bool)
    return theta, x, observed, hidden_of(theta), names, trainable


def _samples(x, observed, predicted, z, a) -> list[dict]:
    samples = []
    for s in range(len(x)):
        sample = {"input": float(x[s]), "observed": float(observed[s]), "predicted": float(predicted[s])}
        for i in range(z.shape[1]):
            sample[f"x{i + 1}"] = float(z[s, i])
            sample[f"y{i + 1}"] = float(a[s, i])
        samples.append(sample)
    return samples


def _converged(theta, x, observed, activation, trainable, tolerance) -> bool:
    """Whether lm and auto stop at ``theta`` before their first step."""
    return optimizers.verdict(theta, x, observed, activation, trainable, tolerance).converged
