"""``nnbackprop train``: a config and its data in, a result file out."""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import sys
import time

import click
import numpy as np

from .. import disk, files, history, optimizers, results, run
from ..network import param_names
from ..stopping import StopReason
from ..training import Interrupt
from .common import CONFIG_OPTION, FILE_PATH, ExitStatus, InputError, config_overrides, say, stdin_or, stdout_or
from .progress import Progress, Reading

# --- train ---------------------------------------------------------------------------


@click.command()
@CONFIG_OPTION
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
@click.option(
    "--report",
    "report_path",
    metavar="PAGE",
    type=FILE_PATH,
    help="Also write the run as an HTML page to step through (see 'nnbackprop report'); keeps snapshots in the result.",
)
@click.option(
    "--engine",
    type=click.Choice(["kernel", "dask"]),
    default="kernel",
    show_default=True,
    help="Where the passes over the data run: this machine, or a Dask cluster (pip install '.[dask]').",
)
@click.option("--scheduler", metavar="ADDRESS", help="With --engine dask: the scheduler (default: a local cluster).")
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
    report_path,
    engine,
    scheduler,
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
      nnbackprop train -c configs/dosage.yaml --report runs/dosage.html
    """
    reading = None if quiet else Reading("the data")
    try:
        job = run.prepare(
            stdin_or(config_path),
            config_overrides(overrides, lr, epochs, seed),
            resume=resume and stdin_or(resume),
            init_params=init_params and stdin_or(init_params),
            stdin=stdin_or("-"),
            engine=engine,
            scheduler=scheduler,
            reading=reading,
        )
    finally:
        if reading is not None:
            reading.close()
    config, t = job.config, job.config.training
    out = out or config.output or "-"
    _check_outputs(out, history_csv, checkpoint_every, report_path)
    _check_not_inputs(
        job, config_path, resume, init_params, {"--out": out, "--history-csv": history_csv, "--report": report_path}
    )
    if not job.settings.fixed_rate and t.restarts > 1 and checkpoint_every:
        optimizer = results.optimizer_name(config.to_dict()["training"])
        raise InputError(
            f"--checkpoint-every needs the starts trained together; {optimizer} trains its {t.restarts} restarts "
            "one after another: set training.restarts to 1"
        )
    if not quiet:
        for note in job.notes:
            say(f"note: {note}")
    if dry_run:
        if not quiet:
            say(
                f"config {config_path} and data {config.data.path} ({len(job.x)} row{'s' * (len(job.x) != 1)}, columns "
                f"{job.data['input']} -> {job.data['target']}) are valid; nothing written"
            )
        click.echo(json.dumps(config.to_dict(), indent=2))
        return
    started = time.perf_counter()

    def document(verdict=None):
        return {**job.document(verdict), "platform": _platform(), "wall_time_s": _since(started)}

    one_by_one = 1 if job.settings.fixed_rate else t.restarts  # lm and auto: the starts one after another
    progress = (
        None if quiet else Progress(t.max_epochs, job.first_epoch, interval=1.0 if verbose else 10.0, starts=one_by_one)
    )
    every = math.gcd(job.progress_every if progress else 0, checkpoint_every or 0)
    recorder = history.Recorder(job.state) if history_csv else None
    if recorder is not None:
        every = 1

    def on_epoch(state):
        if recorder is not None:
            recorder(state)
        if checkpoint_every and state.epoch % checkpoint_every == 0:
            results.write(document(), stdout_or(out))
        if progress:
            progress.update(state.epoch, state.loss, state.running)

    if t.optimizer == "lm" and t.learning_rate != "auto" and not quiet:
        say(f"note: lm finds its own steps; training.learning_rate ({t.learning_rate:g}) is not used")
    if verbose:
        _say_setup(job)
    interrupt = Interrupt()
    with _signals_to(interrupt), job:  # from the first epoch to the exit: a signal stops training, never the writing
        try:
            done = job.train(on_epoch, every, interrupt, snapshots=report_path is not None)
        finally:
            if progress:
                progress.close()

        doc = {**done.document, "platform": _platform(), "wall_time_s": _since(started)}
        with np.errstate(all="ignore"), files.Outputs():  # every output lands, or none does
            results.write(doc, stdout_or(out))
            if history_csv:
                rate = t.learning_rate if job.settings.fixed_rate else None
                state, mask = job.state, config.trainable_mask
                header, blocks = history.history_blocks(recorder, state, job.objective, rate, mask, state.best_start)
                files.write_text(history.history_csv(header, blocks), stdout_or(history_csv))
            if report_path:
                from .. import report

                x, y = disk.in_memory(job.x), disk.in_memory(job.y)
                files.write_text(report.page(doc, x, y), stdout_or(report_path))
        if not quiet:
            _summary(doc, out, job, verbose)
            if history_csv:
                say(f"wrote epochs {recorder.first_epoch}..{doc['epochs']} to {history_csv}")
            if report_path and report_path != "-":
                say(f"wrote {report_path}")
        _finish(doc, out, job, interrupt, require_convergence, quiet)


def _check_not_inputs(job, config_path, resume, init_params, outputs):
    """No output may overwrite an input of the run, bar --out over --resume's own file (resuming in place)."""
    inputs = {
        "the config": stdin_or(config_path),
        "the data": job.config.data.path,
        "--resume": resume and stdin_or(resume),
        "--init-params": init_params and stdin_or(init_params),
    }
    outputs = {name: path for name, path in outputs.items() if path is not None and path != "-"}
    files.check_not_inputs(outputs, inputs, allowed={("--out", "--resume")})


def _since(started) -> float:
    return round(time.perf_counter() - started, 6)


def _say_setup(job):
    config, settings = job.config, job.settings
    names = param_names(config.model.hidden)
    trainable = [name for name, on in zip(names, settings.trainable) if on]
    hidden, rows = config.model.hidden, len(job.x)
    say(
        f"training {hidden} hidden {config.model.activation} neuron{'s' * (hidden != 1)} on {rows} "
        f"row{'s' * (rows != 1)} of {config.data.path} ({job.data['input']} -> {job.data['target']})"
    )
    say(
        f"{results.optimizer_name(config.to_dict()['training'])}, at most {settings.max_epochs} epochs, "
        f"min step size {settings.min_step_size:g}, gradient tolerance {settings.gradient_tolerance:g}, "
        f"trainable: {', '.join(trainable)}"
    )


def _check_outputs(out, history_csv, checkpoint_every, report_path=None):
    """Every output can be written, and no two go to the same place: before any work."""
    if checkpoint_every and out == "-":
        raise InputError("--checkpoint-every needs a file to write, not --out -")
    named = [("--out", out), ("--history-csv", history_csv), ("--report", report_path)]
    named = [(option, path) for option, path in named if path is not None]
    for i, (option, path) in enumerate(named):
        for other, earlier in named[:i]:
            if _same_file(earlier, path):
                raise InputError(f"{option} and {other} are both {path}: give them different places")
    for path in (out, history_csv or "-", report_path or "-"):
        files.check_writable(stdout_or(path))


def _same_file(a: str, b: str) -> bool:
    """Whether two outputs land in one place; ``-`` is stdout, as /dev/stdout is."""
    a, b = ("/dev/stdout" if p == "-" else p for p in (a, b))
    return os.path.realpath(a) == os.path.realpath(b)


def _finish(doc, out, job, interrupt, require_convergence, quiet):
    """Say how training ended, and exit with its code."""
    reason = doc["stop_reason"]
    if interrupt.signal and reason != StopReason.INTERRUPTED:  # the signal came after the last epoch
        if not quiet:
            say(f"{signal.Signals(interrupt.signal).name} after the run finished; its result is written")
        sys.exit(ExitStatus(128 + interrupt.signal))
    if reason == StopReason.INTERRUPTED:
        if quiet:
            pass
        elif "starts" in doc:
            say(f"interrupted after epoch {doc['epochs']}; a run of several restarts cannot be resumed")
        else:
            say(
                f"interrupted after epoch {doc['epochs']}; "
                f"carry on with --resume {out if out != '-' else 'RESULT.json'}"
            )
        sys.exit(ExitStatus(128 + interrupt.signal))
    if reason == StopReason.DIVERGED:
        if doc["loss_history"][0] is None:
            hint = "the loss at the starting parameters is not finite: check the data and the init values"
        else:
            hint = _rate_hint(job)
        say(f"training diverged after epoch {doc['epochs']}: the loss or a parameter ran away; {hint}", fg="red")
        sys.exit(ExitStatus.DIVERGED)
    if require_convergence and not doc["converged"]:
        if quiet or reason not in SAID:  # the summary said it
            say(f"not converged: {_not_converged(doc, job)}", fg="red")
        sys.exit(ExitStatus.NOT_CONVERGED)


def _rate_hint(job) -> str:
    """What to try after a divergence: a rate that is stable at the start, from the data."""
    t = job.config.training
    rate, start = t.learning_rate, job.state.initial[job.state.best_start]
    if not job.settings.fixed_rate:
        return "check the data for extreme values"
    proposed = optimizers.stable_rate(start, job.objective, job.config.trainable_mask)
    if proposed is None or proposed >= rate:
        return f"try a smaller learning rate (now {rate:g}), or learning_rate: auto, or optimizer: lm"
    proposed = float(f"{proposed:.2g}")
    with np.errstate(all="ignore"):
        _, gradient = job.objective(start[None])
    first = proposed * float(np.abs(gradient[0] * job.config.trainable_mask).max())
    smaller = first * SMALL_STEPS
    said = f"try learning_rate: {proposed:g} (stable at the start, now {rate:g})"
    if math.isfinite(smaller) and 0 < smaller < t.min_step_size:  # else its steps soon fall below min_step_size
        said += f" with min_step_size: {float(f'{smaller:.1g}'):g} (its first step is {first:.2g})"
    return f"{said}, or learning_rate: auto, or optimizer: lm"


def _rate_too_large(doc, job, flat=False) -> str | None:
    """Where gd at a fixed rate ended above the SSR it started from (or, for a ``flat`` fit,
    raised it on the way there: a step too large can leave every neuron off), that the rate
    is too large, with one to try; else None.  (A rise early in a run that then falls, as
    at rate 0.1 on the dosage data, is no sign: such a run converges.)"""
    losses = [math.nan if loss is None else loss for loss in doc["loss_history"]]
    if not job.settings.fixed_rate or not losses:
        return None
    if losses[-1] > losses[0] * (1 + RISE):
        return f"the SSR ended above where it started ({losses[0]:.6g} to {losses[-1]:.6g}): {_rate_hint(job)}"
    rises = np.flatnonzero(np.array(losses[1:]) > np.array(losses[:-1]) * (1 + RISE)) if flat else []
    if not len(rises):
        return None
    k = int(rises[0]) + 1
    rose = f"the SSR rose at epoch {k} ({losses[k - 1]:.6g} to {losses[k]:.6g})"
    return f"{rose}, so the rate may be too large: {_rate_hint(job)}"


def _not_converged(doc, job) -> str:
    """Why a run has not converged, in words, with what to do."""
    t = doc["config"]["training"]
    cosine = doc.get("gradient_cosine")
    test = (
        f"the gradient is still large (cosine {results.beside(cosine, t['gradient_tolerance'])} > tolerance "
        f"{t['gradient_tolerance']:g})"
        if cosine is not None
        else "the gradient is not finite"
    )
    if (rose := _rate_too_large(doc, job)) is not None:  # more epochs or smaller steps will not help
        return f"{test}; {rose}"
    if doc["stop_reason"] == StopReason.MAX_EPOCHS:
        how = f"stopped at max_epochs = {t['max_epochs']}{_still_falling(doc)}"
    elif doc["stop_reason"] == StopReason.MIN_STEP_SIZE:
        how = f"steps fell below min_step_size = {t['min_step_size']:g}; lower it"
    elif doc["stop_reason"] == StopReason.CONVERGED:  # the same test where it stepped: passed by rounding, at the edge
        how = (
            "the optimizer stopped on this same test, passed there within rounding"
            if cosine is not None
            else "it converged where it stepped, in standard units, but its parameters are too large for the data's"
        )
    else:
        how = f"stopped by {doc['stop_reason']}"
    if t["optimizer"] == "gd":
        how += ", or try optimizer: lm" + ("" if t["learning_rate"] == "auto" else " or learning_rate: auto")
    return f"{test}; {how}"


def _still_falling(doc) -> str:
    """After "stopped at max_epochs": how much the SSR fell over the last tenth of the epochs,
    and whether more of them are worth it: not where the SSR fell by less than ``CRAWL`` of
    itself and R² rose by less than ``CRAWL_R2`` (a fit crawling along a valley, often toward
    ever larger weights)."""
    losses, r2 = doc["loss_history"], doc.get("r2")
    window = max(10, (len(losses) - 1) // 10)
    if len(losses) <= window or None in (losses[-1], losses[-1 - window]) or not losses[-1 - window] > 0:
        return "; raise training.max_epochs"
    fell = 1.0 - losses[-1] / losses[-1 - window]
    said = f"the SSR fell {fell:.2%} over the last {window:,} epochs"
    if r2 is None or fell >= CRAWL:
        return f" and {said}; raise training.max_epochs"
    rose = fell / (1.0 - fell) * (1.0 - r2)  # its fall over |observed - mean|²
    if rose >= CRAWL_R2:
        return f" and {said} (R² rose {rose:.2g}); raise training.max_epochs"
    return (
        f", but {said} (R² rose {rose:.2g}, to {r2:.6g}): more epochs gain little, "
        "this start is about as good as it gets (training.restarts tries others)"
    )


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
            self.interrupt.signal = self.interrupt.signal or signum  # a second Ctrl-C changes nothing

        self.saved = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def __exit__(self, *exc):
        for s, old in self.saved.items():  # after a signal the program exits by it: later ones are ignored
            signal.signal(s, signal.SIG_IGN if self.interrupt.signal else old)


SAID = (StopReason.MIN_STEP_SIZE, StopReason.MAX_EPOCHS, StopReason.CONVERGED)  # the summary says why not converged
SHOWN_PARAMETERS = 25  # the summary lists this many parameters at most (hidden: 8), bar --verbose
CRAWL = 0.01  # stopped at max_epochs: an SSR that fell by less than this share over the last tenth,
CRAWL_R2 = 1e-4  # and an R² that rose by less than this: the fit crawls
SMALL_STEPS = 1e-6  # a proposed rate's min_step_size: this share of its first step
RISE = 1e-6  # gd at a fixed rate: a rise of the SSR by more than this share, epoch to epoch, is no rounding


def _params_line(params: dict, verbose=False) -> str:
    """``w1 = 2.7402  b1 = ...``: every parameter (to the last digit with ``verbose``), or, for a
    network of more than ``SHOWN_PARAMETERS``, the first four and the last."""
    items = list(params.items())

    def shown(some):
        return "  ".join(f"{k} = {_value(v, verbose)}" for k, v in some)

    if verbose or len(items) <= SHOWN_PARAMETERS:
        return shown(items)
    return f"{shown(items[:4])}  ...  {shown(items[-1:])}  ({len(items):,} parameters: --verbose lists them all)"


def _value(v, verbose=False) -> str:
    """A parameter for a person: to 4 decimals, or where those would hide its digits to 4 after the
    first (in full with ``verbose``); null where it is not a number."""
    if v is None:
        return "null"
    return repr(v) if verbose else f"{v:.4f}" if v == 0 or 1e-3 <= abs(v) < 1e12 else f"{v:.4e}"


def _constant_scale(job) -> str:
    """What an exact fit to targets that are all the same was measured against (:func:`optimizers.exact_scale`)."""
    if job.objective.spread(centred=False) == 0:
        return "√rows: every target is 0"
    return "|observed|: every target is the same"


def _summary(doc, out, job, verbose=False):
    params = _params_line(doc["params"], verbose)
    line = results.headline(doc)
    loss, best = doc["final_loss"], doc["best_loss"]
    if loss is not None and best is not None and best < loss:
        line += f" (the best, {best:.6g} at epoch {doc['best_epoch']}, beat the final one)"
    line += f" ({doc['wall_time_s']:.2f} s)"
    if "starts" in doc:
        line += f"; best of {len(doc['starts'])} starts: start {doc['best_start']} (numbered from 0)"
    say(line)
    if doc["converged"]:
        tolerance = doc["config"]["training"]["gradient_tolerance"]
        cosine = doc["gradient_cosine"]
        if cosine is not None and cosine <= tolerance:
            say(f"converged: the gradient is small (cosine {results.beside(cosine, tolerance)} <= {tolerance:g})")
        else:
            against = "|observed - mean|" if doc.get("r2") is not None else _constant_scale(job)
            say(f"converged: an exact fit (√SSR <= {tolerance:g} × {against})")
        restarts = job.config.training.restarts
        if doc.get("r2") is not None and doc["r2"] < optimizers.FLAT:
            flat = f"but the fit is no better than a constant (R² {run.flat_r2(doc['r2'])} on the training data)"
            say(f"{flat}: {_rate_too_large(doc, job, True) or run.flat_advice(job.x, job.y, restarts)}", fg="yellow")
        elif (line := run.straight_line(doc.get("r2"), job.x, job.y)) is not None:
            say(
                f"but the fit is no better than a straight line (R² {doc['r2']:.4f}, the least-squares line's "
                f"{line:.4f}): if the data bends, try {run.more_starts(restarts)}",
                fg="yellow",
            )
    elif doc["stop_reason"] in SAID:
        say(f"not converged: {_not_converged(doc, job)}", fg="yellow")
    say(params)
    if out != "-":
        say(f"wrote {out}")
