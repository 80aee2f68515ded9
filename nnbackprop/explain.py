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

DSSR_DPREDICTED = ("dSSR/dpredicted", "-2 * (observed - predicted)")
MATRIX_SHOWN = 12  # the text prints JᵀJ + λ·I for at most this many trainable parameters
AUTO_RULE = "1 / the largest curvature 2·JᵀJ at these parameters"


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


# --- the explanation as text a learner can follow against the article ----------------


def number(value: float) -> str:
    """4 decimals, as a learner compares with the article; scientific when that would hide the value."""
    value = float(value) + 0.0  # -0.0 prints as 0.0000
    if not np.isfinite(value):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:.4f}"
    return f"{value:.3e}"


def _table(header, rows, indent="  ") -> list[str]:
    """Right-aligned columns of numbers; the first column (a label) is left-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    return [
        indent
        + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
        for line in [header, *rows]
    ]


def to_text(report: dict) -> str:
    """:func:`explain`'s (or :func:`explain_lm`'s) report as text: the forward pass, each
    parameter's chain, a summary (lm: the damped step)."""
    if report.get("optimizer") == "lm":
        return _lm_text(report)
    lines = _forward_lines(report)
    for name, p in report["parameters"].items():
        lines += ["", *_parameter_lines(name, p, report["learning_rate"])]
    lines += ["", "Summary"]
    lines += _table(
        ["parameter", "value", "gradient", "step size", "new value"],
        [
            [name, *(number(p[k]) for k in ("value", "gradient", "step_size", "new_value"))]
            for name, p in report["parameters"].items()
        ],
    )
    lines += [f"SSR {number(report['loss'])} -> {number(report['new_loss'])} after this epoch"]
    if "auto" in report:
        lines += _auto_verdict_lines(report)
    return "\n".join(lines) + "\n"


def _auto_verdict_lines(report) -> list[str]:
    auto = report["auto"]
    if auto["accepts_step"]:
        line = f"auto's line search takes this step: it asks for an SSR of at most {number(auto['ssr_at_most'])}"
    else:
        line = (
            f"auto's line search refuses this step (it asks for an SSR of at most {number(auto['ssr_at_most'])}): "
            "it tries again at a smaller rate"
        )
    lines = [line + f" = SSR - {optimizers.ARMIJO:g} * learning rate * |gradient|^2"]
    if auto["converged"]:
        lines += ["These parameters already pass the convergence test: auto stops here, without this step."]
    return lines


def _forward_lines(report) -> list[str]:
    samples = report["samples"]
    where = f"{report['activation']} network, {report['hidden']} hidden neurons, {len(samples)} samples"
    if report.get("optimizer") == "lm":
        title = [f"One step of Levenberg-Marquardt: {where}"]
    elif "auto" in report:
        rate = number(report["learning_rate"])
        rule = AUTO_RULE if report["auto"]["curvature"] is not None else "auto's fallback: no curvature 2·JᵀJ here"
        title = [
            f"One epoch of gradient descent: {where}, learning rate auto",
            f"learning rate auto: {rate}, {rule} (auto's first trial rate)",
        ]
    else:
        title = [f"One epoch of gradient descent: {where}, learning rate {report['learning_rate']:g}"]
    hidden = [k for k in samples[0] if k not in ("input", "observed", "predicted")]  # x1, y1, x2, y2, ...
    columns = ["input", "observed", *hidden, "predicted"]
    return [
        *title,
        "",
        "Forward pass: x_i = input * w_i + b_i, y_i = activation(x_i), predicted = sum of y_i * w_(H+i) + b_(H+1)",
        *_table(
            ["sample", *columns], [[str(s), *(number(sample[k]) for k in columns)] for s, sample in _numbered(samples)]
        ),
        f"SSR = sum of (observed - predicted)^2 = {number(report['loss'])}",
    ]


def _parameter_lines(name, p, rate) -> list[str]:
    """One parameter's chain: the factors per sample, their products, the sum, the step."""
    d = f"dSSR/d{name}"
    rows = [
        [str(s), *map(number, sample["factors"]), number(sample["product"])] for s, sample in _numbered(p["per_sample"])
    ]
    lines = [
        f"{name} = {number(p['value'])}" + ("" if p["trainable"] else "  (frozen)"),
        f"  {d} = " + " * ".join(p["chain"]),
        f"  {' ' * len(d)} = " + " * ".join(f"({f})" if " " in f else f for f in p["formulas"]),
        *_table(["sample", *p["chain"], "product"], rows),
        f"  {d} = sum of the products = {number(p['gradient'])}",
    ]
    if not p["trainable"]:
        return lines + [f"  not in training.trainable: step size 0, new {name} = {number(p['new_value'])}"]
    value, step, new = number(p["value"]), number(p["step_size"]), number(p["new_value"])
    return lines + [
        f"  step size = {d} * learning rate = {number(p['gradient'])} * {rate:g} = {step}",
        f"  new {name} = {name} - step size = {value} - {_minus(p['step_size'])} = {new}",
    ]


def _lm_text(report) -> str:
    """:func:`explain_lm`'s report: J column by column, then the damped step."""
    lines = _forward_lines(report)
    lines += [
        "residual r = observed - predicted; J = dpredicted/dθ, a column per parameter: "
        "the gradient's chain without dSSR/dpredicted"
    ]
    for name, p in report["parameters"].items():
        lines += ["", *_jacobian_lines(name, p)]
    lines += ["", *_step_lines(report)]
    return "\n".join(lines) + "\n"


def _jacobian_lines(name, p) -> list[str]:
    """One parameter's column of J: its factors per sample, their products, JᵀJ's diagonal, Jᵀr."""
    d = f"dpredicted/d{name}"
    formulas = " * ".join(f"({f})" if " " in f and len(p["formulas"]) > 1 else f for f in p["formulas"])
    rows = [
        [str(s), *map(number, sample["factors"]), number(sample["product"]), number(sample["residual"])]
        for s, sample in _numbered(p["per_sample"])
    ]
    if p["chain"] == [d]:  # one factor: the column is the factor itself
        chain, header = [f"  {d} = {formulas}"], ["sample", d, "residual"]
        rows = [[row[0], *row[2:]] for row in rows]
    else:
        chain = [f"  {d} = " + " * ".join(p["chain"]), f"  {' ' * len(d)} = {formulas}"]
        header = ["sample", *p["chain"], d, "residual"]
    lines = [
        f"{name} = {number(p['value'])}" + ("" if p["trainable"] else "  (frozen)"),
        *chain,
        *_table(header, rows),
        f"  JᵀJ diagonal = sum of ({d})^2 = {number(p['jtj_diagonal'])}",
        f"  Jᵀr = sum of {d} * residual = {number(p['jtr'])}",
    ]
    if not p["trainable"]:
        lines += ["  not in training.trainable: left out of the system below, δ = 0"]
    return lines


def _step_lines(report) -> list[str]:
    """The damped normal equations, their solution δ, the new values and the SSR after."""
    system, params = report["system"], report["parameters"]
    names, jtj, damping = system["parameters"], system["jtj"], report["damping"]
    largest = max((params[n]["jtj_diagonal"] for n in names), default=0.0)
    lines = [
        "Damped step: solve (JᵀJ + λ·I) δ = Jᵀr over the trainable parameters",
        f"  λ = {report['initial_damping']:g} * the largest JᵀJ diagonal = "
        f"{report['initial_damping']:g} * {number(largest)} = {number(damping)}",
    ]
    if report["converged"]:
        lines += ["  These parameters already pass the convergence test: lm stops here; this is the step it would try."]
    if len(names) <= MATRIX_SHOWN:
        rows = [
            [n, *(number(v + (damping if i == k else 0.0)) for k, v in enumerate(jtj[i])), number(r), number(dl)]
            for i, (n, r, dl) in enumerate(zip(names, system["jtr"], system["delta"], strict=True))
        ]
        lines += _table(["JᵀJ + λ·I", *names, "Jᵀr", "δ"], rows)
    else:
        lines += [f"  (JᵀJ is {len(names)} x {len(names)}: it is in -f json as system.jtj)"]
    for name, p in params.items():
        value, new = number(p["value"]), number(p["new_value"])
        if p["trainable"]:
            delta = number(p["delta"])
            delta = f"({delta})" if delta.startswith("-") else delta
            lines += [f"  new {name} = {name} + δ = {value} + {delta} = {new}"]
        else:
            lines += [f"  new {name} = {name} = {new}  (frozen: δ = 0)"]
    lines += [f"SSR {number(report['loss'])} -> {number(report['new_loss'])} after this step"]
    if not report["step_taken"]:
        lines += ["The SSR did not fall: lm refuses this step, grows λ and tries again from the same parameters."]
    return lines


def _numbered(items):
    return enumerate(items, 1)


def _minus(value: float) -> str:
    """``value`` as the right-hand side of a subtraction: negatives in parentheses."""
    text = number(value)
    return f"({text})" if text.startswith("-") else text
