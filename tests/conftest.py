"""What the tests share: the per-sample oracle, the finite difference, every implementation of the math, the CLI.

- :func:`loop_ssr_and_gradient` (and :func:`loop_jacobian`): the chain rule written out one sample
  and one neuron at a time with Python floats, sharing no code with the package: the oracle.
- :func:`central_difference`: the one finite-difference derivative the tests take.
- :data:`IMPLEMENTATIONS` and the ``implementation`` fixture: every way the package computes an
  epoch of gradient descent, from the readable math to the paths training really steps through,
  so that one test (the hand-worked epoch, the finite differences, the oracle) runs against all.
- The ``invoke`` fixture: a command through click's CliRunner, stdout and stderr apart.
"""

from __future__ import annotations

import inspect
import itertools
import math
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from click.testing import CliRunner

from nnbackprop import kernel, network, training

ROOT = Path(__file__).resolve().parent.parent

STATQUEST_START = {"w1": 2.74, "b1": 0.0, "w2": -1.13, "b2": 0.0, "w3": 0.36, "w4": 0.63, "b3": 0.0}
STATQUEST_OPTIMIZED = {"w1": 3.34, "b1": -1.43, "w2": -3.53, "b2": 0.57, "w3": -1.22, "w4": -2.30, "b3": 2.61}
DOSAGE_X = np.array([0.0, 0.5, 1.0])  # StatQuest's three dosages
DOSAGE_Y = np.array([0.0, 1.0, 0.0])  # and their efficacy


def random_problem(seed: int, hidden: int, n: int = 7):
    """theta ~ N(0, 1) of shape (3H + 1,), inputs ~ U(-2, 2) and observed ~ N(0, 1) of shape (n,)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=3 * hidden + 1), rng.uniform(-2, 2, size=n), rng.normal(size=n)


# --- the oracle: one sample, one neuron at a time, with Python floats -------------------------


def _softplus(z):
    t = math.exp(-abs(z))  # in (0, 1]: never overflows
    return max(z, 0.0) + math.log1p(t), (1.0 if z >= 0 else t) / (1.0 + t)  # log(1 + e^z), sigmoid(z)


def _sigmoid(z):
    t = math.exp(-abs(z))
    return (1.0 if z >= 0 else t) / (1.0 + t), t / (1.0 + t) ** 2  # s, s (1 - s) without the cancellation


def _tanh(z):
    a = math.tanh(z)
    return a, 1.0 - a * a


def _relu(z):
    return max(z, 0.0), 1.0 if z > 0 else 0.0


# Each activation of one number: z -> (a, da/dz).
LOOP_ACTIVATIONS = {"softplus": _softplus, "sigmoid": _sigmoid, "tanh": _tanh, "relu": _relu}


def _unpack(theta):
    """StatQuest's numbering of a packed theta: input weights w1..wH, hidden biases b1..bH, w(H+1)..w(2H), b(H+1)."""
    theta = [float(t) for t in theta]
    h = (len(theta) - 1) // 3
    return h, theta[0 : 2 * h : 2], theta[1 : 2 * h : 2], theta[2 * h : 3 * h], theta[3 * h]


class Loop(NamedTuple):
    """What the oracle finds: the SSR, dSSR/dtheta in pack order, and per number the sum of |terms| it adds up."""

    ssr: float
    gradient: np.ndarray
    size: np.ndarray  # what a tolerance for a sum of these terms is relative to


def loop_ssr_and_gradient(theta, xs, observed, activation="softplus") -> Loop:
    """SSR = sum of (observed - predicted)^2 and its gradient, by the chain rule written out per sample.

    ``theta`` is one start, in pack order; the sums are exact (``math.fsum``).
    """
    activate = LOOP_ACTIVATIONS[activation]
    h, w_in, b_in, w_out, b_out = _unpack(theta)
    ssr_terms, terms = [], [[] for _ in range(3 * h + 1)]  # terms[k]: each sample's share of dSSR/dtheta_k
    for x, o in zip(np.asarray(xs).tolist(), np.asarray(observed).tolist(), strict=True):
        z = [x * w_in[i] + b_in[i] for i in range(h)]  # hidden neuron i's input (the article's x_i)
        a, dadz = zip(*map(activate, z))  # its output (the article's y_i) and dy_i/dx_i
        predicted = sum(a[i] * w_out[i] for i in range(h)) + b_out
        residual = o - predicted
        ssr_terms.append(residual * residual)
        dpredicted = -2.0 * residual  # dSSR/dpredicted
        for i in range(h):
            dz = dpredicted * w_out[i] * dadz[i]  # * dpredicted/dy_i * dy_i/dx_i
            terms[2 * i].append(dz * x)  # dSSR/dw_i: * dx_i/dw_i = input
            terms[2 * i + 1].append(dz)  # dSSR/db_i: * dx_i/db_i = 1
            terms[2 * h + i].append(dpredicted * a[i])  # dSSR/dw_(H+i): * dpredicted/dw_(H+i) = y_i
        terms[3 * h].append(dpredicted)  # dSSR/db_(H+1): * dpredicted/db_(H+1) = 1
    return Loop(
        math.fsum(ssr_terms),
        np.array([math.fsum(t) for t in terms]),
        np.array([math.fsum(map(abs, t)) for t in terms]),
    )


def loop_jacobian(theta, xs, activation="softplus") -> np.ndarray:
    """dpredicted/dtheta for each sample by the same loop, less dSSR/dpredicted: shape (n, P), pack order."""
    activate = LOOP_ACTIVATIONS[activation]
    h, w_in, b_in, w_out, _ = _unpack(theta)
    rows = []
    for x in np.asarray(xs).tolist():
        row = [0.0] * (3 * h + 1)
        for i in range(h):
            a, dadz = activate(x * w_in[i] + b_in[i])
            row[2 * i] = w_out[i] * dadz * x  # dpredicted/dw_i
            row[2 * i + 1] = w_out[i] * dadz  # dpredicted/db_i
            row[2 * h + i] = a  # dpredicted/dw_(H+i)
        row[3 * h] = 1.0  # dpredicted/db_(H+1)
        rows.append(row)
    return np.array(rows).reshape(-1, 3 * h + 1)


RTOL = 1e-12  # of the sum of the magnitudes of the terms that make up a number


def assert_close(got, want, size, what, slack=0.0):
    """|got - want| <= RTOL * size (+ ``slack``) for every number, ``size`` as in :class:`Loop`."""
    err = np.abs(np.asarray(got, dtype=np.float64) - want)
    allowed = RTOL * np.maximum(size, 1e-300) + slack
    assert np.all(err <= allowed), f"{what}: error {err} vs allowed {allowed}"


# --- the finite difference ---------------------------------------------------------------


def central_difference(f, theta, eps=1e-6) -> np.ndarray:
    """df/dtheta_k = (f(theta + eps e_k) - f(theta - eps e_k)) / (2 eps), with k on the last axis."""
    theta = np.asarray(theta, dtype=np.float64)
    columns = []
    for k in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[k] += eps
        down[k] -= eps
        columns.append((np.asarray(f(up)) - np.asarray(f(down))) / (2 * eps))
    return np.stack(columns, axis=-1)


def off_relus_corner(theta, xs, margin=1e-3) -> bool:
    """Whether every hidden input x * w_i + b_i is clear of 0, where ReLU's slope jumps."""
    h, w_in, b_in, _, _ = _unpack(theta)
    return all(abs(x * w_in[i] + b_in[i]) > margin for x in np.asarray(xs).tolist() for i in range(h))


# --- every implementation of an epoch --------------------------------------------------------


class Epoch(NamedTuple):
    """One epoch of gradient descent from ``theta`` at a fixed ``rate``, as one implementation makes it."""

    ssr: float  # the SSR at theta
    gradient: np.ndarray  # the gradient the step is made of
    new_theta: np.ndarray  # theta - rate * gradient
    slack: np.ndarray | float  # how far rounding alone may put ``gradient`` off, where it is read back from a step


@dataclass(frozen=True)
class Implementation:
    """``implementation(theta, x, observed, activation, rate) -> Epoch``: one way the package computes an epoch.

    ``path`` names the loop of :func:`nnbackprop.training.train` that steps ("Descent", "_Steps",
    "batch"); None for an objective called directly.
    """

    name: str
    epoch: Callable
    path: str | None = None

    def __call__(self, theta, x, observed, activation="softplus", rate=0.1) -> Epoch:
        return self.epoch(np.asarray(theta, dtype=np.float64), x, observed, activation, rate)


def _in_a_batch(theta, starts):
    """``theta`` as row 1 of a batch of ``starts`` starts, the others different parameters."""
    return np.stack([0.5 * theta + 0.25, theta, -0.5 * theta][:starts])


def _kernel(threads=1):
    return lambda x, observed, activation: kernel.Kernel(x, observed, activation, threads=threads)


_DISK = tempfile.TemporaryDirectory(prefix="nnbackprop-tests-")  # removed when the session ends
_disk_files = itertools.count()


def _on_disk(x, observed, activation):
    """A Kernel over the columns of a .npy file, read a block of rows at a time (nnbackprop.disk)."""
    from nnbackprop import disk

    path = str(Path(_DISK.name) / f"data{next(_disk_files)}.npy")
    np.save(path, np.column_stack([x, observed]))
    _, (x_column, observed_column) = disk.columns(path, None, None)
    return kernel.Kernel(x_column, observed_column, activation, threads=1)


def _readable(x, observed, activation):
    return lambda theta: network.ssr_and_gradient(theta, x, observed, activation)


def _called(make, starts=1, **patches):
    """``objective = make(x, observed, activation)``, then ``objective(theta)``: the gradient as it is handed out.

    ``patches`` set names of :mod:`nnbackprop.kernel` (CHUNK, SMALL, GROUP) while it is made and called.
    """

    def epoch(theta, x, observed, activation, rate):
        with pytest.MonkeyPatch.context() as m:
            for name, value in patches.items():
                m.setattr(kernel, name, value)
            objective = make(x, observed, activation)
            if starts == 1:
                ssr, gradient = objective(theta)
            else:
                ssr, gradient = (v[1] for v in objective(_in_a_batch(theta, starts)))
        return Epoch(float(ssr), gradient, theta - rate * gradient, 0.0)

    return epoch


def _trained(make, starts=1, fused=True, **patches):
    """One epoch of :func:`nnbackprop.training.train`: the gradient training steps with, read back from its step."""

    def epoch(theta, x, observed, activation, rate):
        with pytest.MonkeyPatch.context() as m:
            for name, value in patches.items():
                m.setattr(kernel, name, value)
            objective = make(x, observed, activation)
            if not fused:
                objective.descent = lambda theta, rate: None  # as where the fused descent cannot serve
            row = 0 if starts == 1 else 1
            state = training.State.start(theta if starts == 1 else _in_a_batch(theta, starts))
            training.train(objective, state, training.Settings(rate, 1, 0.0, np.ones(theta.size, bool)))
        new = state.theta[row]
        step = theta - new  # = rate * gradient, up to the rounding of theta - step and of this subtraction
        slack = (np.spacing(np.maximum(np.abs(theta), np.abs(new))) + np.spacing(np.abs(step))) / rate
        return Epoch(float(state.losses[0][row]), step / rate, new, slack)

    return epoch


IMPLEMENTATIONS = [
    Implementation("network.ssr_and_gradient", _called(_readable)),
    Implementation("network.ssr_and_gradient[R=3]", _called(_readable, starts=3)),
    Implementation("network.Objective", _called(network.Objective)),
    Implementation("Kernel", _called(_kernel())),  # one block; small data: the forms with the fewest calls
    Implementation("Kernel[long-block forms]", _called(_kernel(), SMALL=0)),
    Implementation("Kernel[R=3]", _called(_kernel(), starts=3)),
    Implementation("Kernel[blocks of 2]", _called(_kernel(), CHUNK=2)),
    # blocks of one sample, groups of one start: enough pieces of work for both threads, even on 3 samples
    Implementation("Kernel[blocks of 1, R=3, 2 threads]", _called(_kernel(2), starts=3, CHUNK=1, GROUP=1)),
    Implementation("Kernel[on disk, blocks of 2]", _called(_on_disk, CHUNK=2)),
    Implementation("train:Descent", _trained(_kernel()), "Descent"),
    Implementation("train:_Steps[Kernel]", _trained(_kernel(), fused=False), "_Steps"),
    Implementation("train:_Steps[Kernel, blocks of 2]", _trained(_kernel(), CHUNK=2), "_Steps"),
    Implementation("train:_Steps[network.Objective]", _trained(network.Objective), "_Steps"),
    Implementation("train:batch[R=2]", _trained(_kernel(), starts=2), "batch"),
]


@pytest.fixture(scope="session", autouse=True)
def _remove_the_disk_files():
    yield
    _DISK.cleanup()


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda implementation: implementation.name)
def implementation(request) -> Implementation:
    """Every way of computing an epoch: each test that takes this runs against all of them."""
    return request.param


# --- the command line ------------------------------------------------------------------------

# stdout and stderr apart: the default from click 8.2, an option before
_RUNNER = {"mix_stderr": False} if "mix_stderr" in inspect.signature(CliRunner).parameters else {}


def _invoke(*args, input=None):
    from nnbackprop.cli import cli

    return CliRunner(**_RUNNER).invoke(cli, [str(a) for a in args], input=input)


@pytest.fixture(scope="session")
def invoke():
    """``invoke(*args, input=None)``: run ``nnbackprop *args`` (each made a string) through CliRunner.

    The result has ``exit_code``, ``stdout`` and ``stderr`` apart, and ``exception``.
    """
    return _invoke


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
