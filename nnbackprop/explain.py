"""The chain rule as numbers: one epoch of gradient descent, the network's parts, a history.

Everything here is computed from :func:`network.hidden_layer` and :func:`network.unpack`,
the same math training uses, and returned as plain Python data (dicts, lists, floats),
so the command line can print it as a table or as JSON.  In the output the article's
words are used: a hidden neuron's input is ``x1``, its output ``y1``; the chain for w1 is
dSSR/dpredicted * dpredicted/dy1 * dy1/dx1 * dx1/dw1.
"""

from __future__ import annotations

import math
import re

import numpy as np

from .network import DERIVATIVE_NAMES, forward, hidden_layer, hidden_of, param_names, unpack

DSSR_DPREDICTED = ("dSSR/dpredicted", "-2 * (observed - predicted)")


def local_derivative_name(activation: str, neuron: int) -> str:
    """How dy/dx of hidden neuron ``neuron`` (1-based) reads, e.g. ``sigmoid(x1)`` for softplus."""
    return re.sub(r"\b([xy])\b", rf"\g<1>{neuron}", DERIVATIVE_NAMES[activation])


def chains(theta, x, observed, activation="softplus"):
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


def explain(theta, x, observed, activation="softplus", learning_rate=0.1, trainable=None) -> dict:
    """One epoch of gradient descent, factor by factor.

    Parameters
    ----------
    theta : array, shape (3H + 1,)
        Packed parameters.
    x, observed : array, shape (n,)
    trainable : array of bool, shape (3H + 1,), optional
        Frozen parameters (False) get step size 0 and keep their value.

    Returns
    -------
    dict
        ``loss``, ``new_loss`` (the SSR after the step), ``learning_rate``,
        ``activation``, ``hidden``, ``samples`` (input, observed, predicted and every
        x_i, y_i) and ``parameters``: for each name its ``value``, ``trainable``,
        ``gradient`` (the sum of the per-sample products), ``step_size``, ``new_value``,
        ``chain`` (factor names), ``formulas`` (what each factor is) and ``per_sample``.
    """
    theta = np.asarray(theta, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    observed = np.asarray(observed, dtype=np.float64)
    hidden = hidden_of(theta)
    names = param_names(hidden)
    trainable = np.ones(len(names), bool) if trainable is None else np.asarray(trainable, bool)
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
    samples = []
    for s in range(len(x)):
        sample = {"input": float(x[s]), "observed": float(observed[s]), "predicted": float(predicted[s])}
        for i in range(hidden):
            sample[f"x{i + 1}"] = float(z[s, i])
            sample[f"y{i + 1}"] = float(a[s, i])
        samples.append(sample)
    return {
        "loss": _ssr(predicted, observed),
        "new_loss": _ssr(forward(new_theta, x, activation), observed),
        "learning_rate": float(learning_rate),
        "activation": activation,
        "hidden": hidden,
        "samples": samples,
        "parameters": parameters,
    }


def _ssr(predicted, observed) -> float:
    residual = observed - predicted
    return float(residual @ residual)


def decompose(theta, x, activation="softplus") -> dict:
    """StatQuest's "flip, stretch, add": each neuron's share of the prediction.

    Returns ``{"neuron1": y1 * w(H+1), ..., "neuronH": yH * w(2H), "bias": b(H+1)}``,
    arrays of shape (n,) whose sum is the prediction.
    """
    _, a, _ = hidden_layer(theta, x, activation)  # (n, H)
    _, _, w_out, b_out = unpack(theta)
    parts = {f"neuron{i + 1}": a[:, i] * w_out[i] for i in range(a.shape[-1])}
    parts["bias"] = np.full(len(x), float(b_out))
    return parts


# --- a history of every epoch --------------------------------------------------------


class Recorder:
    """Collects every start's parameters after every epoch.

    Pass it as ``training.train(..., on_epoch=recorder, every=1)``; it copies the (R, P)
    parameters once per epoch and nothing else, so the gradients of the history are
    recomputed afterwards, all epochs at once, by :func:`history_table`.
    """

    def __init__(self, state):
        self.first_epoch = int(state.epochs.max(initial=0))  # > 0 when a run is resumed
        self.thetas = [state.theta.copy()]

    def __call__(self, state):
        self.thetas.append(state.theta.copy())


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
    per_call = max(1, min(8192, 2**20 // max(len(objective.x), 1)))  # a bounded (epochs, n, H) batch

    def blocks():
        for lo in range(first, last + 1, per_call):
            epochs = np.arange(lo, min(lo + per_call, last + 1))
            thetas = np.stack(recorder.thetas[lo - first : lo - first + len(epochs)])[:, r, :]  # (E, P)
            losses = np.array([state.losses[e][r] for e in epochs])
            gradients = objective(thetas)[1]
            if rate is None:  # lm or auto: the step the next epoch took, from the parameters
                following = recorder.thetas[lo - first + 1 : lo - first + len(epochs) + 1]
                following = np.stack(following + [np.full_like(thetas[0], np.nan)] * (len(epochs) - len(following)))
                steps = thetas - following[..., r, :] if following.ndim == 3 else thetas - following
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
    """:func:`explain`'s report as text: the forward pass, each parameter's chain, a summary."""
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
    return "\n".join(lines) + "\n"


def _forward_lines(report) -> list[str]:
    samples = report["samples"]
    hidden = [k for k in samples[0] if k not in ("input", "observed", "predicted")]  # x1, y1, x2, y2, ...
    columns = ["input", "observed", *hidden, "predicted"]
    return [
        f"One epoch of gradient descent: {report['activation']} network, {report['hidden']} hidden neurons, "
        f"{len(samples)} samples, learning rate {report['learning_rate']:g}",
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


def _numbered(items):
    return enumerate(items, 1)


def _minus(value: float) -> str:
    """``value`` as the right-hand side of a subtraction: negatives in parentheses."""
    text = number(value)
    return f"({text})" if text.startswith("-") else text
