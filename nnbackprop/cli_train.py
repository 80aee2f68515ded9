"""``nnbackprop train``: a config and its data in, a result file out."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import signal
import sys
import time

import click
import numpy as np

from . import config as config_mod
from . import data as data_mod
from . import history, optimizers, results
from .network import Objective, param_names
from .progress import Progress
from .terminal import EXIT_DIVERGED, EXIT_NOT_CONVERGED, FILE_PATH, InputError, check_fits, say, trainable_mask
from .training import Interrupt, Settings, State, initial_theta
from .training import train as run_training

# --- train ---------------------------------------------------------------------------


@click.command()
@click.option("--config", "-c", "config_path", required=True, metavar="FILE", type=FILE_PATH, help="The YAML config.")
@click.option(
    "--out",
    "-o",
    metavar="PATH",
    type=FILE_PATH,
    help="Where the result JSON goes ('-': stdout). Default: the config's output.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key (repeatable), e.g. training.learning_rate=0.05.",
)
@click.option("--lr", metavar="RATE", help="Shorthand for --set training.learning_rate=RATE.")
@click.option("--epochs", metavar="N", help="Shorthand for --set training.max_epochs=N.")
@click.option("--seed", metavar="N", help="Start from random weights drawn with seed N (replaces the config's init).")
@click.option("--dry-run", is_flag=True, help="Check the config and data, print the resolved config, write nothing.")
@click.option(
    "--require-convergence", is_flag=True, help="Exit 5 unless the run converged (see the result's converged)."
)
@click.option("--init-params", metavar="RESULT", type=FILE_PATH, help="Start a new run from another run's params.")
@click.option("--resume", metavar="RESULT", type=FILE_PATH, help="Carry on an interrupted or finished run.")
@click.option(
    "--checkpoint-every", type=click.IntRange(min=1), metavar="N", help="Write the result so far every N epochs."
)
@click.option(
    "--history-csv",
    metavar="PATH",
    type=FILE_PATH,
    help="Also write per-epoch loss, parameters, gradients, steps as CSV.",
)
@click.option("--quiet", "-q", is_flag=True, help="Say nothing on stderr but errors.")
@click.option("--verbose", "-v", is_flag=True, help="Say more: the setup, progress every second, parameters in full.")
def train(
    config_path,
    out,
    overrides,
    lr,
    epochs,
    seed,
    dry_run,
    require_convergence,
    init_params,
    resume,
    checkpoint_every,
    history_csv,
    quiet,
    verbose,
):
    """Train the network in a config and write the result JSON.

    Command-line values win over the config file, which wins over the defaults.

    \b
    Examples:
      nnbackprop train --config configs/dosage.yaml
      nnbackprop train -c configs/dosage.yaml --lr 0.05 --epochs 20000 --out run.json
      nnbackprop train -c configs/dosage.yaml --out - | jq .final_loss
      nnbackprop train -c configs/lesson1-main-ideas.yaml --history-csv b3.csv
    """
    config = config_mod.load(config_path, _overrides(overrides, lr, epochs, seed))
    out = out or config.output or "-"
    names, (x, y) = data_mod.load_xy(config.data.path, config.data.input, config.data.target)
    hidden = config.model.hidden
    data_sha = data_mod.sha256(config.data.path)
    state, started_from = _starting_state(config, init_params, resume, quiet, data_sha)
    _check_outputs(out, history_csv, checkpoint_every)
    mask = trainable_mask(config)
    t = config.training
    settings = Settings(t.learning_rate, t.max_epochs, t.min_step_size, mask, t.optimizer, t.gradient_tolerance)
    if not settings.fixed_rate and t.restarts > 1 and (history_csv or checkpoint_every):
        option = "--history-csv" if history_csv else "--checkpoint-every"
        raise InputError(
            f"{option} needs the starts trained together; {_optimizer_name(config.to_dict()['training'])} "
            f"trains its {t.restarts} restarts one after another: set training.restarts to 1"
        )
    if dry_run:
        say(
            f"config {config_path} and data {config.data.path} ({len(x)} rows, columns {names[0]} -> {names[1]}) "
            "are valid; nothing written"
        )
        click.echo(json.dumps(config.to_dict(), indent=2))
        return

    trainable = [name for name, on in zip(param_names(hidden), mask) if on]
    data_info = {"path": config.data.path, "input": names[0], "target": names[1], "rows": len(x), "sha256": data_sha}
    extra = {"seed": config.init.seed if not (resume or init_params) else None, **started_from}
    extra["platform"] = _platform()
    started = time.perf_counter()

    def document(verdict=None):
        timing = {"wall_time_s": round(time.perf_counter() - started, 6)}
        return results.document(config, state, data_info, {**extra, **timing}, verdict)

    first = int(state.epochs.max(initial=0))
    progress = None if quiet else Progress(settings.max_epochs, first, interval=1.0 if verbose else 10.0)
    every = max(1, min(1000, 65536 // max(len(x), 1))) if progress else 0  # progress needs no more
    every = math.gcd(every, checkpoint_every or 0)
    objective = Objective(x, y, config.model.activation)
    recorder = history.Recorder(state) if history_csv else None
    if recorder is not None:
        every = 1

    def on_epoch(state):
        epoch = len(state.losses) - 1  # losses[k]: after epoch k
        if recorder is not None:
            recorder(state)
        if checkpoint_every and epoch % checkpoint_every == 0:
            results.write(document(), out)
        if progress:
            progress.update(epoch, float(np.nanmin(state.losses[-1])))

    if t.optimizer == "lm" and t.learning_rate != "auto" and not quiet:
        say(f"note: lm finds its own steps; training.learning_rate ({t.learning_rate:g}) is not used")
    if verbose:
        say(
            f"training {hidden} hidden {config.model.activation} neurons on {len(x)} rows of {config.data.path} "
            f"({names[0]} -> {names[1]})"
        )
        say(
            f"{_optimizer_name(config.to_dict()['training'])}, at most {settings.max_epochs} epochs, "
            f"min step size {settings.min_step_size:g}, gradient tolerance {settings.gradient_tolerance:g}, "
            f"trainable: {', '.join(trainable)}"
        )
    interrupt = Interrupt()
    try:
        with _signals_to(interrupt):
            run_training(objective, state, settings, on_epoch, every, interrupt)
    finally:
        if progress:
            progress.close()

    theta = state.theta[state.best_start]
    verdict = optimizers.verdict(theta, x, y, config.model.activation, mask, t.gradient_tolerance)
    doc = document(verdict)
    results.write(doc, out)
    if history_csv:
        rate = settings.learning_rate if settings.fixed_rate else None
        header, blocks = history.history_blocks(recorder, state, objective, rate, mask, state.best_start)
        results.write_text(history.history_csv(header, blocks), history_csv)
    if not quiet:
        _summary(doc, out, verbose)
        if history_csv:
            say(f"wrote epochs {recorder.first_epoch}..{doc['epochs']} to {history_csv}")
    _finish(doc, out, config, interrupt, require_convergence, quiet, (objective, state, mask))


def _overrides(sets, lr, epochs, seed) -> list:
    """--set, then the short flags, each remembering the option it came from."""
    overrides = list(sets)
    if lr is not None:
        overrides.append(("training.learning_rate", lr, f"--lr {lr}"))
    if epochs is not None:
        overrides.append(("training.max_epochs", epochs, f"--epochs {epochs}"))
    if seed is not None:
        if not re.fullmatch(r"[0-9]+", seed.strip()):
            raise InputError(f"--seed {seed}: must be a whole number >= 0")
        overrides.append(("init", f"{{seed: {int(seed)}}}", f"--seed {seed}"))
    return overrides


def _check_outputs(out, history_csv, checkpoint_every):
    """Every output can be written, and no two go to the same place: before any work."""
    if checkpoint_every and out == "-":
        raise InputError("--checkpoint-every needs a file to write, not --out -")
    if history_csv is not None and _same_file(out, history_csv):
        raise InputError(f"--history-csv and --out are both {history_csv}: give them different places")
    for path in (out, history_csv or "-"):
        results.check_writable(path)


def _same_file(a: str, b: str) -> bool:
    """Whether two outputs land in one place; ``-`` is stdout, as /dev/stdout is."""
    a, b = ("/dev/stdout" if p == "-" else p for p in (a, b))
    return os.path.realpath(a) == os.path.realpath(b)


def _finish(doc, out, config, interrupt, require_convergence, quiet, run):
    """Say how training ended, and exit with its code."""
    reason = doc["stop_reason"]
    if reason == "interrupted":
        if quiet:
            pass
        elif "starts" in doc:
            say(f"interrupted after epoch {doc['epochs']}; a run of several restarts cannot be resumed")
        else:
            say(
                f"interrupted after epoch {doc['epochs']}; "
                f"carry on with --resume {out if out != '-' else 'RESULT.json'}"
            )
        sys.exit(128 + interrupt.signal)
    if reason == "diverged":
        if doc["loss_history"][0] is None:
            hint = "the loss at the starting parameters is not finite: check the data and the init values"
        else:
            hint = _rate_hint(config, *run)
        say(f"training diverged after epoch {doc['epochs']}: the loss or a parameter ran away; {hint}", fg="red")
        sys.exit(EXIT_DIVERGED)
    if require_convergence and not doc["converged"]:
        if quiet or reason not in ("min_step_size", "max_epochs"):  # else the summary has said it
            say(f"not converged: {_not_converged(doc)}", fg="red")
        sys.exit(EXIT_NOT_CONVERGED)


def _rate_hint(config, objective, state, mask) -> str:
    """What to try after a divergence: a rate that is stable at the start, from the data."""
    rate = config.training.learning_rate
    r = state.best_start
    if config.training.optimizer != "gd" or rate == "auto":
        return "check the data for extreme values"
    proposed = optimizers.proposed_rate(state.initial[r], objective.x, objective.observed, objective.activation, mask)
    if proposed is None or proposed >= rate:
        return f"try a smaller learning rate (now {rate:g}), or learning_rate: auto"
    return (
        f"try learning_rate: {float(f'{proposed:.2g}'):g} (stable at the start, now {rate:g}), or learning_rate: auto"
    )


def _not_converged(doc) -> str:
    """Why a run has not converged, in words, with what to do."""
    t = doc["config"]["training"]
    cosine = doc.get("gradient_cosine")
    test = (
        f"the gradient is still large (cosine {cosine:.2g} > tolerance {t['gradient_tolerance']:g})"
        if cosine is not None
        else "the gradient is not finite"
    )
    if doc["stop_reason"] == "max_epochs":
        how = f"stopped at max_epochs = {t['max_epochs']}; raise training.max_epochs"
    elif doc["stop_reason"] == "min_step_size":
        how = f"steps fell below min_step_size = {t['min_step_size']:g}; lower it"
    else:
        how = f"stopped by {doc['stop_reason']}"
    if t["optimizer"] == "gd":
        how += ", or try optimizer: lm" + ("" if t["learning_rate"] == "auto" else " or learning_rate: auto")
    return f"{test}; {how}"


def _starting_state(config, init_params, resume, quiet, data_sha):
    """The state training starts from, and what the result should say about it."""
    hidden = config.model.hidden
    if init_params and resume:
        raise InputError(
            "--init-params and --resume do not go together: resume carries on a run, init-params starts a new one"
        )
    if (init_params or resume) and config.training.restarts > 1:
        option = "--init-params" if init_params else "--resume"
        raise InputError(f"{option} carries one start; set training.restarts to 1 (it is {config.training.restarts})")
    if resume:
        model = results.load_model(resume)
        check_fits(model, config, resume)
        state = results.state_from(model.document, hidden, resume)
        was = results.dig(model.document, "config", "training")
        was = was if isinstance(was, dict) else {}
        now = config.to_dict()["training"]
        changed = [k for k in ("learning_rate", "min_step_size", "trainable") if k in was and was[k] != now[k]]
        if changed and not quiet:
            say(f"note: {resume} was trained with other {', '.join(changed)}; carrying on with this config's")
        if data_sha and results.dig(model.document, "data", "sha256") not in (None, data_sha) and not quiet:
            say(f"note: {config.data.path} has changed since {resume} was trained; carrying on with the new data")
        reason = model.document.get("stop_reason")
        # a run that converged stays converged, unless the stop rule is now stricter
        if reason != "min_step_size" or config.training.min_step_size < was.get("min_step_size", 0):
            state.reasons = [None]
        else:
            state.reasons = [reason]
        return state, {"resumed_from": resume}
    if init_params:
        model = results.load_model(init_params)
        check_fits(model, config, init_params)
        return State.start(model.theta), {"init_params_from": init_params}
    return State.start(initial_theta(hidden, config.init.seed, config.init.values, config.training.restarts)), {}


def _platform() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "system": platform.system(),
        "machine": platform.machine(),
    }


class _signals_to:
    """Within the block, SIGINT and SIGTERM set ``interrupt.signal`` instead of killing."""

    def __init__(self, interrupt):
        self.interrupt = interrupt

    def __enter__(self):
        def handler(signum, frame):
            self.interrupt.signal = signum

        self.saved = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def __exit__(self, *exc):
        for s, old in self.saved.items():
            signal.signal(s, old)


def _optimizer_name(training: dict) -> str:
    """``lm``, or ``gd (learning rate R)`` with R a number or auto."""
    rate = training["learning_rate"]
    return (
        "lm" if training["optimizer"] == "lm" else f"gd (learning rate {rate if rate == 'auto' else format(rate, 'g')})"
    )


def _summary(doc, out, verbose=False):
    params = "  ".join(
        f"{name} = {value!r}" if verbose else f"{name} = {value:.4f}" for name, value in doc["params"].items()
    )
    epochs = f"{doc['epochs']} epoch{'' if doc['epochs'] == 1 else 's'}"
    line = f"{_optimizer_name(doc['config']['training'])}: {epochs}, stopped by {doc['stop_reason']}"
    loss, best = doc["final_loss"], doc["best_loss"]
    if loss is not None:
        line += f", SSR {loss:.6g}"
        if best is not None and best < loss:
            line += f" (the best, {best:.6g} at epoch {doc['best_epoch']}, beat the final one)"
        line += f" ({doc['wall_time_s']:.2f} s)"
    if "starts" in doc:
        line += f"; start {doc['best_start']} of {len(doc['starts'])} won"
    say(line)
    if doc["converged"]:
        tolerance = doc["config"]["training"]["gradient_tolerance"]
        if doc["gradient_cosine"] is not None and doc["gradient_cosine"] <= tolerance:
            say(f"converged: the gradient is small (cosine {doc['gradient_cosine']:.2g} <= {tolerance:g})")
        else:
            say(f"converged: an exact fit (√SSR <= {tolerance:g} × |observed - mean|)")
    elif doc["stop_reason"] in ("min_step_size", "max_epochs"):
        say(f"not converged: {_not_converged(doc)}", fg="yellow")
    say(params)
    if out != "-":
        say(f"wrote {out}")
