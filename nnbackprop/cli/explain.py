"""``nnbackprop explain`` and ``nnbackprop gradcheck``: one epoch factor by factor, and the gradient checked.

Both look at a config's network at its start or at a result's parameters.
"""

from __future__ import annotations

import math
import sys

import click
import numpy as np

from .. import explain as explain_lib
from .. import gradcheck as gradcheck_lib
from .. import results, run
from .common import (
    CONFIG_OPTION,
    EPOCHS_OPTION,
    FILE_PATH,
    LR_OPTION,
    QUIET_OPTION,
    SEED_OPTION,
    SET_OPTION,
    ExitStatus,
    InputError,
    config_overrides,
    options,
    say,
    stdin_or,
)


def _finite_option(param, value):
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", param=param)
    return value


NETWORK_OPTIONS = options(
    CONFIG_OPTION,
    click.option(
        "--params",
        "-p",
        "params_path",
        metavar="RESULT",
        type=FILE_PATH,
        help="At a result's params (default: the start).",
    ),
    SET_OPTION,
    LR_OPTION,
    EPOCHS_OPTION,
    SEED_OPTION,
    click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True),
    QUIET_OPTION,
)


def _network_at(config_path, overrides, params_path, lr=None, epochs=None, seed=None):
    if config_path == "-" and params_path == "-":
        raise InputError("--config and --params cannot both be '-' (stdin)")
    overrides = config_overrides(overrides, lr, epochs, seed)
    return run.network_at(stdin_or(config_path), overrides, stdin_or(params_path), stdin_or("-"))


@click.command()
@NETWORK_OPTIONS
def explain(config_path, params_path, overrides, lr, epochs, seed, fmt, quiet):
    """Show one epoch of gradient descent (or one lm step), factor by factor.

    At the config's starting parameters (or a result's --params): the SSR; then for
    every parameter its chain of derivatives in the article's words (dSSR/dpredicted *
    dpredicted/dy1 * dy1/dx1 * dx1/dw1), each factor's value for every sample, their
    product, the sum of the products (the gradient), the step size (gradient * learning
    rate) and the new value. Parameters not in training.trainable are shown frozen:
    step size 0.

    With learning_rate: auto, the same epoch at the rate auto tries first, 1 / the
    largest curvature 2·JᵀJ at these parameters, and whether auto's line search takes
    the step.

    With optimizer: lm, Levenberg-Marquardt's first step: for every parameter its column
    of J = dpredicted/dθ (the chain without dSSR/dpredicted, e.g. dpredicted/dw1 =
    w3 * sigmoid(x1) * input), per sample, beside the residual r = observed - predicted;
    its JᵀJ diagonal entry and Jᵀr; then the damping λ = 0.001 * the largest diagonal
    entry, δ solving (JᵀJ + λ·I) δ = Jᵀr over the trainable parameters (frozen ones: δ
    = 0), each new value = old + δ, and the SSR after the step (lm refuses a step that
    does not lower it).

    \b
    Examples:
      nnbackprop explain --config configs/lesson1-main-ideas.yaml
      nnbackprop explain -c configs/dosage.yaml --params runs/dosage.json
      nnbackprop explain -c configs/dosage.yaml -f json | jq .parameters.w1.per_sample
      nnbackprop explain -c configs/dosage.yaml --set training.learning_rate=auto
      nnbackprop explain -c configs/dosage.yaml --set training.optimizer=lm
    """
    config, x, y, theta, trainable, units = _network_at(config_path, overrides, params_path, lr, epochs, seed)
    t, activation = config.training, config.model.activation
    with np.errstate(over="ignore", invalid="ignore"):
        if t.optimizer == "lm":
            args = (explain_lib.explain_lm, theta, x, y, activation, trainable, t.gradient_tolerance)
        else:
            args = (explain_lib.explain, theta, x, y, activation, t.learning_rate, trainable, t.gradient_tolerance)
        report = explain_lib.in_units(units, *args)
    if fmt == "json":
        click.echo(results.dumps(results.json_safe(report)), nl=False)
    else:
        click.echo(explain_lib.to_text(report), nl=False)


@click.command()
@NETWORK_OPTIONS
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda ctx, param, value: _finite_option(param, value),
    default=gradcheck_lib.DEFAULT_TOLERANCE,
    show_default=True,
    help="The largest rel_error that passes.",
)
def gradcheck(config_path, params_path, overrides, lr, epochs, seed, fmt, quiet, tolerance):
    """Check each analytic gradient against finite differences.

    \b
      numeric   = (SSR(p + h) - SSR(p - h)) / 2h, at up to ten ever smaller h, extrapolated to h = 0
      rel_error = |analytic - numeric| / max(largest |gradient component|, ceiling / 100)
      ceiling   = 2 |observed - predicted| * largest |dpredicted/dp|

    Each h starts at a tenth of the parameter's unit: max(1, |p|), or less where that would
    move the neurons' inputs by more than 1 or the predictions by more than the targets'
    spread. The error is measured against the whole gradient's size, so a gradient near 0 is
    not failed on the finite difference's rounding noise. Exits 0 when every rel_error is at
    most --tolerance, 4 when any is larger. With relu, one difference of h = 6e-6 units; a
    parameter whose difference straddles the corner at 0 is marked and not judged.

    \b
    Examples:
      nnbackprop gradcheck --config configs/dosage.yaml
      nnbackprop gradcheck -c configs/dosage.yaml --params runs/dosage.json --format json
      nnbackprop gradcheck -c configs/dosage.yaml --set model.activation=tanh --set model.hidden=5 \\
        --set 'init={seed: 1}'
    """
    config, x, y, theta, _, _ = _network_at(config_path, overrides, params_path, lr, epochs, seed)
    with np.errstate(over="ignore", invalid="ignore"):
        report = gradcheck_lib.check(theta, x, y, config.model.activation, tolerance)
    if fmt == "json":
        click.echo(results.dumps(results.json_safe(report)), nl=False)
    else:
        click.echo(gradcheck_lib.to_text(report), nl=False)
    params = report["parameters"]
    worst = max(p["rel_error"] for p in params.values())
    agree = sum(p["ok"] for p in params.values())
    unjudged = [name for name, p in params.items() if p["kink"] and not p["ok"]]
    corner = f"; {', '.join(unjudged)} at a ReLU corner, not judged" if unjudged else ""
    largest = f"largest rel_error {worst:.2e}"
    if report["ok"]:
        passed = f"gradcheck passed: {agree} of {len(params)} gradients agree within {tolerance:g}"
        if not quiet:
            say(f"{passed}{corner} ({largest})", fg="green")
        return
    bad = [name for name, p in params.items() if not (p["ok"] or p["kink"])]
    if not quiet:
        say(f"gradcheck FAILED: {', '.join(bad)} disagree by more than {tolerance:g}{corner} ({largest})", fg="red")
    sys.exit(ExitStatus.GRADCHECK_FAILED)
