"""Shared test helpers: an independent per-sample reference and config writers."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STATQUEST_START = {"w1": 2.74, "b1": 0.0, "w2": -1.13, "b2": 0.0, "w3": 0.36, "w4": 0.63, "b3": 0.0}
STATQUEST_OPTIMIZED = {"w1": 3.34, "b1": -1.43, "w2": -3.53, "b2": 0.57, "w3": -1.22, "w4": -2.30, "b3": 2.61}


def _sigmoid(z):
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


# Written from the formulas, one sample and one neuron at a time, sharing no code with the package.
LOOP_ACTIVATIONS = {
    "softplus": (lambda z: max(z, 0) + math.log1p(math.exp(-abs(z))), _sigmoid),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
    "tanh": (math.tanh, lambda z: 1 - math.tanh(z) ** 2),
    "relu": (lambda z: max(z, 0.0), lambda z: 1.0 if z > 0 else 0.0),
}


def loop_ssr_and_gradient(params: dict, xs, observed, activation="softplus"):
    """SSR and dSSR/d(each parameter) by a plain loop over samples, keyed by name."""
    f, df = LOOP_ACTIVATIONS[activation]
    hidden = (len(params) - 1) // 3
    grad = dict.fromkeys(params, 0.0)
    ssr = 0.0
    for x, o in zip(xs, observed):
        zs = [x * params[f"w{i}"] + params[f"b{i}"] for i in range(1, hidden + 1)]
        ys = [f(z) for z in zs]
        predicted = sum(y * params[f"w{hidden + i}"] for i, y in enumerate(ys, 1)) + params[f"b{hidden + 1}"]
        ssr += (o - predicted) ** 2
        dpredicted = -2 * (o - predicted)
        grad[f"b{hidden + 1}"] += dpredicted
        for i, (z, y) in enumerate(zip(zs, ys), 1):
            grad[f"w{hidden + i}"] += dpredicted * y
            dz = dpredicted * params[f"w{hidden + i}"] * df(z)
            grad[f"w{i}"] += dz * x
            grad[f"b{i}"] += dz
    return ssr, grad


def loop_jacobian(params: dict, xs, activation="softplus"):
    """dpredicted/d(each parameter) for each sample by a plain loop: a list of dicts keyed by name."""
    f, df = LOOP_ACTIVATIONS[activation]
    hidden = (len(params) - 1) // 3
    rows = []
    for x in xs:
        row = {f"b{hidden + 1}": 1.0}
        for i in range(1, hidden + 1):
            z = x * params[f"w{i}"] + params[f"b{i}"]
            row[f"w{hidden + i}"] = f(z)
            row[f"w{i}"] = params[f"w{hidden + i}"] * df(z) * x
            row[f"b{i}"] = params[f"w{hidden + i}"] * df(z)
        rows.append(row)
    return rows


@pytest.fixture
def write_config(tmp_path):
    """Write a config (YAML text) and the dosage CSV into tmp_path; return the config's path."""

    def write(text: str = "", csv: str = "dosage,efficacy\n0,0\n0.5,1\n1,0\n", name: str = "config.yaml") -> Path:
        (tmp_path / "data.csv").write_text(csv)
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


STATQUEST_CONFIG = """\
data:
  path: data.csv
  input: dosage
  target: efficacy
init: {w1: 2.74, b1: 0.0, w2: -1.13, b2: 0.0, w3: 0.36, w4: 0.63, b3: 0.0}
training:
  learning_rate: 0.01
  max_epochs: 20000
  min_step_size: 0.000001
"""
