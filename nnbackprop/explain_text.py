"""The text ``nnbackprop explain`` prints: a report of :mod:`nnbackprop.explain` as a learner
follows it against the article, 4 decimals a number."""

from __future__ import annotations

import numpy as np

from . import optimizers

MATRIX_SHOWN = 12  # the text prints JᵀJ + λ·I for at most this many trainable parameters
AUTO_RULE = "1 / the largest curvature 2·JᵀJ at these parameters"


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
    text = _lm_text(report) if report.get("optimizer") == "lm" else _gd_text(report)
    return _units_lines(report, text)


def _units_lines(report, text) -> str:
    """The text between what standard units mean and the new parameters back in the data's units."""
    units = report.get("units")
    if units is None:
        return text
    x, y = (
        f"({value} - {_exactly(units[key + '_shift'])}) / {_exactly(units[key + '_scale'])}"
        for key, value in (("x", "input"), ("y", "observed"))
    )
    where = "lm" if report.get("optimizer") == "lm" else "auto"
    head = f"In standard units, where {where} steps: input' = {x}, observed' = {y}; every number below is in them."
    new = "  ".join(f"{name} = {number(value)}" for name, value in units["new_params"].items())
    return f"{head}\n\n{text}The new parameters in the data's units: {new}\n"


def _exactly(value: float) -> str:
    """A shift or scale to 12 significant digits (a time stamp's too), as :func:`_minus` writes it."""
    return _minus(value, f"{value:.12g}")


def _gd_text(report) -> str:
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
    hidden = report["hidden"]
    where = f"{report['activation']} network, {hidden} hidden neuron{'s' * (hidden != 1)}, {len(samples)} samples"
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


def _minus(value: float, text: str | None = None) -> str:
    """``value`` (written as ``text``, else :func:`number`) as the right-hand side of a subtraction:
    negatives in parentheses."""
    text = number(value) if text is None else text
    return f"({text})" if text.startswith("-") else text
