"""The command line: parse, call the library, print, map errors to exit codes.

Data goes to stdout or a file; everything said to a person goes to stderr.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
import signal
import sys
import time

import click
import numpy as np

from . import __version__, results
from . import config as config_mod
from . import data as data_mod
from . import explain as explain_mod
from . import gradcheck as gradcheck_mod
from .errors import NnbackpropError
from .network import Objective, forward, param_names
from .progress import Progress
from .training import Interrupt, Settings, State, initial_theta
from .training import train as run_training

EXIT_CODES = {
    0: "success",
    1: "internal error (a bug: please report it)",
    2: "bad input: a config, data, result file, value or option (one 'Error:' line on stderr)",
    3: "training diverged (the result is still written, with the last finite parameters)",
    4: "gradcheck: an analytic gradient disagrees with the finite difference",
    5: "--require-convergence: training stopped at max_epochs without converging",
    130: "interrupted by Ctrl-C (SIGINT); the result so far is written",
    143: "terminated (SIGTERM); the result so far is written",
}
EXIT_DIVERGED, EXIT_GRADCHECK, EXIT_NOT_CONVERGED = 3, 4, 5

EXIT_CODE_HELP = "\b\nExit codes:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())


class InputError(click.ClickException):
    exit_code = 2


class Group(click.Group):
    """Turns library errors into one ``Error: ...`` line and exit code 2, Ctrl-C into 130,
    and a reader that went away (``| head``) into a quiet end."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NnbackpropError as e:
            raise InputError(str(e)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit's flush
            sys.exit(0)
        except OSError as e:  # stdout itself failed: a full disk, a closed descriptor
            raise InputError(f"{e.filename or 'stdout'}: cannot write: {e.strerror or e}") from None


def say(message: str = "", **style):
    """Talk to the person: stderr, coloured only on a terminal and without NO_COLOR."""
    if not style or not sys.stderr.isatty() or os.environ.get("NO_COLOR"):
        click.echo(message, err=True, color=False)
    else:
        click.secho(message, err=True, **style)


@click.group(cls=Group, epilog=EXIT_CODE_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nnbackprop")
def cli():
    """Train, inspect and check a small neural network whose backpropagation is derived by hand.

    \b
    Examples:
      nnbackprop train --config configs/dosage.yaml
      nnbackprop predict --params runs/dosage.json 0 0.5 1
    """


# --- train ---------------------------------------------------------------------------


@cli.command()
@click.option("--config", "-c", "config_path", required=True, metavar="FILE", help="The YAML config.")
@click.option(
    "--out", "-o", metavar="PATH", help="Where the result JSON goes ('-': stdout). Default: the config's output."
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
@click.option("--require-convergence", is_flag=True, help="Exit 5 when training stops at max_epochs.")
@click.option("--init-params", metavar="RESULT", help="Start a new run from another run's params.")
@click.option("--resume", metavar="RESULT", help="Carry on an interrupted or finished run.")
@click.option(
    "--checkpoint-every", type=click.IntRange(min=1), metavar="N", help="Write the result so far every N epochs."
)
@click.option("--history-csv", metavar="PATH", help="Also write per-epoch loss, parameters, gradients, steps as CSV.")
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
    state, started_from = _starting_state(config, init_params, resume, quiet)
    _check_outputs(out, history_csv, checkpoint_every)
    if dry_run:
        say(
            f"config {config_path} and data {config.data.path} ({len(x)} rows, columns {names[0]} -> {names[1]}) "
            "are valid; nothing written"
        )
        click.echo(json.dumps(config.to_dict(), indent=2))
        return

    mask = _trainable_mask(config)
    trainable = [name for name, on in zip(param_names(hidden), mask) if on]
    settings = Settings(config.training.learning_rate, config.training.max_epochs, config.training.min_step_size, mask)
    data_sha = data_mod.sha256(config.data.path)
    if (
        resume
        and data_sha
        and results.dig(results.read(resume), "data", "sha256") not in (None, data_sha)
        and not quiet
    ):
        say(f"note: {config.data.path} has changed since {resume} was trained; carrying on with the new data")
    data_info = {"path": config.data.path, "input": names[0], "target": names[1], "rows": len(x), "sha256": data_sha}
    extra = {"seed": config.init.seed if not (resume or init_params) else None, **started_from}
    extra["platform"] = _platform()
    started = time.perf_counter()

    def document():
        return results.document(
            config, state, data_info, {**extra, "wall_time_s": round(time.perf_counter() - started, 6)}
        )

    first = int(state.epochs.max(initial=0))
    progress = None if quiet else Progress(settings.max_epochs, first, interval=1.0 if verbose else 10.0)
    every = max(1, min(1000, 65536 // max(len(x), 1))) if progress else 0  # progress needs no more
    every = math.gcd(every, checkpoint_every or 0)
    objective = Objective(x, y, config.model.activation)
    recorder = explain_mod.Recorder(state) if history_csv else None
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

    if verbose:
        say(
            f"training {hidden} hidden {config.model.activation} neurons on {len(x)} rows of {config.data.path} "
            f"({names[0]} -> {names[1]})"
        )
        say(
            f"learning rate {settings.learning_rate:g}, at most {settings.max_epochs} epochs, "
            f"min step size {settings.min_step_size:g}, trainable: {', '.join(trainable)}"
        )
    interrupt = Interrupt()
    try:
        with _signals_to(interrupt):
            run_training(objective, state, settings, on_epoch, every, interrupt)
    finally:
        if progress:
            progress.close()

    doc = document()
    results.write(doc, out)
    if history_csv:
        rate, mask, r = settings.learning_rate, settings.trainable, state.best_start
        table = explain_mod.history_table(recorder, state, objective, rate, mask, r)
        results.write_text(explain_mod.history_csv(*table), history_csv)
    if not quiet:
        _summary(doc, out, verbose)
        if history_csv:
            say(f"wrote epochs {recorder.first_epoch}..{doc['epochs']} to {history_csv}")
    _finish(doc, out, config, interrupt, require_convergence)


def _overrides(sets, lr, epochs, seed) -> list:
    """--set, then the short flags, each remembering the option it came from."""
    overrides = list(sets)
    if lr is not None:
        overrides.append(("training.learning_rate", lr, f"--lr {lr}"))
    if epochs is not None:
        overrides.append(("training.max_epochs", epochs, f"--epochs {epochs}"))
    if seed is not None:
        if not seed.strip().isdigit():
            raise InputError(f"--seed {seed}: must be a whole number >= 0")
        overrides.append(("init", f"{{seed: {int(seed)}}}", f"--seed {seed}"))
    return overrides


def _check_outputs(out, history_csv, checkpoint_every):
    """Every output can be written, and no two go to the same place: before any work."""
    if checkpoint_every and out == "-":
        raise InputError("--checkpoint-every needs a file to write, not --out -")
    if history_csv is not None and (
        history_csv == out == "-" or "-" not in (out, history_csv) and _same_file(out, history_csv)
    ):
        raise InputError(f"--history-csv and --out are both {history_csv}: give them different places")
    for path in (out, history_csv or "-"):
        results.check_writable(path)


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _finish(doc, out, config, interrupt, require_convergence):
    """Say how training ended, and exit with its code."""
    reason = doc["stop_reason"]
    if reason == "interrupted":
        if "starts" in doc:
            say(f"interrupted after epoch {doc['epochs']}; a run of several restarts cannot be resumed")
        else:
            say(
                f"interrupted after epoch {doc['epochs']}; carry on with --resume {out if out != '-' else 'RESULT.json'}"
            )
        sys.exit(128 + interrupt.signal)
    if reason == "diverged":
        if doc["loss_history"][0] is None:
            hint = "the loss at the starting parameters is not finite: check the data and the init values"
        else:
            hint = f"try a smaller learning rate (now {config.training.learning_rate:g})"
        say(f"training diverged after epoch {doc['epochs']}: the loss or a parameter ran away; {hint}", fg="red")
        sys.exit(EXIT_DIVERGED)
    if require_convergence and reason == "max_epochs":
        say(
            f"not converged: stopped at max_epochs = {config.training.max_epochs} "
            f"with steps still >= {config.training.min_step_size:g}",
            fg="red",
        )
        sys.exit(EXIT_NOT_CONVERGED)


def _starting_state(config, init_params, resume, quiet):
    """The state training starts from, and what the result should say about it."""
    hidden = config.model.hidden
    if init_params and resume:
        raise InputError(
            "--init-params and --resume do not go together: resume carries on a run, init-params starts a new one"
        )
    if resume:
        model = results.load_model(resume)
        _check_fits(model, config, resume)
        state = results.state_from(model.document, hidden, resume)
        was = results.dig(model.document, "config", "training")
        was = was if isinstance(was, dict) else {}
        now = config.to_dict()["training"]
        changed = [k for k in ("learning_rate", "min_step_size", "trainable") if k in was and was[k] != now[k]]
        if changed and not quiet:
            say(f"note: {resume} was trained with other {', '.join(changed)}; carrying on with this config's")
        reason = model.document.get("stop_reason")
        # a run that converged stays converged, unless the stop rule is now stricter
        if reason != "min_step_size" or config.training.min_step_size < was.get("min_step_size", 0):
            state.reasons = [None]
        else:
            state.reasons = [reason]
        return state, {"resumed_from": resume}
    if init_params:
        model = results.load_model(init_params)
        _check_fits(model, config, init_params)
        return State.start(model.theta), {"init_params_from": init_params}
    return State.start(initial_theta(hidden, config.init.seed, config.init.values, config.training.restarts)), {}


def _platform() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "system": platform.system(),
        "machine": platform.machine(),
    }


def _check_fits(model, config, path):
    if (model.hidden, model.activation) != (config.model.hidden, config.model.activation):
        raise InputError(
            f"{path}: model has hidden: {model.hidden}, activation: {model.activation}, but the config "
            f"has hidden: {config.model.hidden}, activation: {config.model.activation}"
        )


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


def _summary(doc, out, verbose=False):
    params = "  ".join(
        f"{name} = {value!r}" if verbose else f"{name} = {value:.4f}" for name, value in doc["params"].items()
    )
    loss = doc["final_loss"]
    say(
        f"{doc['epochs']} epochs, stopped by {doc['stop_reason']}, SSR {loss:.6g} ({doc['wall_time_s']:.2f} s)"
        if loss is not None
        else f"{doc['epochs']} epochs, stopped by {doc['stop_reason']}"
    )
    say(params)
    if out != "-":
        say(f"wrote {out}")


# --- predict -------------------------------------------------------------------------


@cli.command()
@click.option(
    "--params", "-p", "params_path", required=True, metavar="RESULT", help="A result JSON from 'nnbackprop train'."
)
@click.argument("values", nargs=-1)
@click.option(
    "--input",
    "-i",
    "input_path",
    metavar="FILE",
    help="Inputs: one number per line, or a CSV with the training input column ('-': stdin).",
)
@click.option("--format", "-f", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--decompose", is_flag=True, help="Add the parts that sum to the prediction: neuron1.. and bias.")
def predict(params_path, values, input_path, fmt, decompose):
    """Print the network's prediction for each input.

    Inputs come from VALUES, or from --input, or from stdin when neither is given.
    Put -- before negative values. A large input is read and written in blocks.
    With --decompose each row also shows the parts the output adds up, StatQuest's
    "flip, stretch, add": neuron1 .. neuronH (y_i * w_(H+i)) and bias (b_(H+1)).

    \b
    Examples:
      nnbackprop predict --params runs/dosage.json 0 0.25 0.5
      nnbackprop predict --params runs/dosage.json -- -1 2
      seq 0 0.1 1 | nnbackprop predict -p runs/dosage.json --format json
      nnbackprop predict -p runs/dosage.json --decompose 0 0.5 1
    """
    if values and input_path:
        raise InputError("give VALUES or --input, not both")
    if params_path == "-" and not values and input_path in (None, "-"):
        raise InputError("--params - reads stdin, so the inputs cannot: give VALUES or --input FILE")
    model = results.load_model(params_path)
    if values:
        blocks = iter([_parse_values(values)])
    else:
        if input_path is None and sys.stdin.isatty():
            raise InputError("no inputs: give VALUES, --input FILE, or pipe numbers into stdin")
        blocks = data_mod.iter_inputs(input_path or "-", model.input_name)
    _write_predictions(model, blocks, fmt, decompose)


def _parse_values(values) -> np.ndarray:
    out = []
    for i, value in enumerate(values, 1):
        try:
            number = float(value if "_" not in value else "x")  # 1_000 is Python's, not a number's
        except ValueError:
            raise InputError(f"value {i} ({value!r}): not a number") from None
        if not np.isfinite(number):
            raise InputError(f"value {i} ({value!r}): not a finite number")
        out.append(number)
    return np.array(out)


def _write_predictions(model, blocks, fmt, decompose=False):
    write = sys.stdout.write
    first_block = next(blocks, np.empty(0))  # a bad first line fails before any output; a later one
    # stops the stream there, with the rows before it written and exit code 2 (see the README)
    first = True
    parts = [f"neuron{i}" for i in range(1, model.hidden + 1)] + ["bias"]  # explain.decompose's keys
    keys = ["input", "prediction", *(parts if decompose else [])]
    write(",".join(keys) + "\n" if fmt == "csv" else "[")
    for x in itertools.chain([first_block], blocks):
        with np.errstate(over="ignore", invalid="ignore"):
            columns = [forward(model.theta, x, model.activation)]
            if decompose:
                columns += explain_mod.decompose(model.theta, x, model.activation).values()
        rows = zip(x.tolist(), *(c.tolist() for c in columns), strict=True)
        finite = results.finite_or_none
        if fmt == "csv" and decompose:
            text = "".join(f"{r[0]!r}," + ",".join(map(_number, r[1:])) + "\n" for r in rows)
        elif fmt == "csv":
            text = "".join(f"{a!r},{_number(b)}\n" for a, b in rows)
        elif decompose:
            text = ",\n  ".join(json.dumps(dict(zip(keys, [r[0], *map(finite, r[1:])], strict=True))) for r in rows)
        else:
            text = ",\n  ".join(json.dumps({"input": a, "prediction": finite(b)}) for a, b in rows)
        if fmt == "csv":
            write(text)
        elif text:
            write(("\n  " if first else ",\n  ") + text)
            first = False
        sys.stdout.flush()
    if fmt == "json":
        write("\n]\n" if not first else "]\n")
    sys.stdout.flush()


def _number(value: float) -> str:
    return repr(value) if np.isfinite(value) else ""


# --- plot ----------------------------------------------------------------------------


@cli.command()
@click.argument("result_path", metavar="RESULT")
@click.option(
    "--out",
    "-o",
    required=True,
    metavar="FILE",
    help="The image to write: FILE.png or FILE.svg (the format follows the extension).",
)
@click.option(
    "--data", "-d", "data_path", metavar="CSV", help="Other data to overlay, with the training columns ('-': stdin)."
)
def plot(result_path, out, data_path):
    """Draw a result's fit and loss curves (PNG, SVG).

    The left panel builds the prediction as StatQuest's videos do ("flip, stretch,
    add"): each hidden neuron's output times its output weight (dashed), the output
    bias (dotted), and their sum, the prediction (solid), over the training data.
    The right panel is the SSR at every epoch on a log scale.  If the training data
    file is gone, the curve is drawn without points.  Needs matplotlib:
    pip install 'nnbackprop[plot]'.

    \b
    Examples:
      nnbackprop plot runs/dosage.json --out dosage.png
      nnbackprop plot runs/dosage.json --out dosage.svg --data data/new_doses.csv
    """
    from . import plot as plot_mod  # matplotlib loads only when a picture is drawn

    if result_path == "-" and data_path == "-":
        raise InputError("RESULT and --data cannot both be '-' (stdin)")
    plot_mod.image_format(out)  # a bad --out fails before anything is read
    model = results.load_model(result_path)
    for note in plot_mod.plot(model, result_path, out, data_path):
        say(note, fg="yellow")
    say(f"wrote {out}")


# --- evaluate ------------------------------------------------------------------------


@cli.command()
@click.option(
    "--params", "-p", "params_path", required=True, metavar="RESULT", help="A result JSON from 'nnbackprop train'."
)
@click.option(
    "--data", "-d", "data_path", required=True, metavar="CSV", help="The data to score, with a header row ('-': stdin)."
)
@click.option("--input-column", metavar="NAME", help="The input column. Default: the one the result was trained on.")
@click.option("--target-column", metavar="NAME", help="The target column. Default: the one the result was trained on.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def evaluate(params_path, data_path, input_column, target_column, fmt):
    """Score a trained network on a dataset: n, SSR, MSE, RMSE and R².

    \b
      SSR  = sum (observed - predicted)^2
      MSE  = SSR / n
      RMSE = sqrt(MSE)
      R²   = 1 - SSR / sum (observed - mean)^2

    When every target value is the same, R² is undefined: it prints as
    'undefined' (null in JSON), with a note on stderr.

    \b
    Examples:
      nnbackprop evaluate --params runs/dosage.json --data data/dosage.csv
      nnbackprop evaluate -p runs/dosage.json -d test.csv --format json | jq .rmse
      cat test.csv | nnbackprop evaluate -p runs/dosage.json -d - --target-column y
    """
    from . import metrics

    if params_path == "-" and data_path == "-":
        raise InputError("--params and --data cannot both be '-' (stdin)")
    model = results.load_model(params_path)
    default_input, default_target = metrics.training_columns(model.document)
    _, (x, observed) = data_mod.load_columns(
        data_path, [input_column or default_input, target_column or default_target]
    )
    with np.errstate(over="ignore", invalid="ignore"):
        predicted = forward(model.theta, x, model.activation)
    scores = metrics.regression(observed, predicted)
    note = metrics.r2_undefined_reason(observed)
    if note:
        say(note, fg="yellow")
    if fmt == "json":
        click.echo(json.dumps({k: results.finite_or_none(v) if isinstance(v, float) else v for k, v in scores.items()}))
        return
    labels = {"n": "n", "ssr": "SSR", "mse": "MSE", "rmse": "RMSE", "r2": "R²"}
    for key, value in scores.items():
        undefined = value is None or isinstance(value, float) and math.isnan(value)
        shown = "undefined" if undefined else value if isinstance(value, int) else f"{value:.8g}"
        click.echo(f"{labels[key]:<5} {shown}")


# --- explain and gradcheck -----------------------------------------------------------


def _network_at(config_path, overrides, params_path):
    """The config, its data ``(x, y)``, the parameters to look at and the trainable mask."""
    config = config_mod.load(config_path, overrides)
    if config_path == "-" and params_path == "-":
        raise InputError("--config and --params cannot both be '-' (stdin)")
    _, (x, y) = data_mod.load_xy(config.data.path, config.data.input, config.data.target)
    hidden = config.model.hidden
    if params_path:
        model = results.load_model(params_path)
        _check_fits(model, config, params_path)
        theta = model.theta
    else:
        theta = initial_theta(hidden, config.init.seed, config.init.values)[0]
    return config, x, y, theta, _trainable_mask(config)


def _finite_option(param, value):
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", param=param)
    return value


def _trainable_mask(config) -> np.ndarray:
    """(P,) bool: which parameters the config trains."""
    names = param_names(config.model.hidden)
    trainable = set(config.training.trainable or names)
    return np.array([name in trainable for name in names])


def _json_safe(value):
    """Plain data for strict JSON: NaN and infinities become null."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return results.finite_or_none(value) if isinstance(value, float) else value


@cli.command()
@click.option("--config", "-c", "config_path", required=True, metavar="FILE", help="The YAML config.")
@click.option("--params", "-p", "params_path", metavar="RESULT", help="At a result's params (default: the start).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (repeatable).")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain(config_path, params_path, overrides, fmt):
    """Show one epoch of gradient descent, factor by factor.

    At the config's starting parameters (or a result's --params): the SSR; then for
    every parameter its chain of derivatives in the article's words (dSSR/dpredicted *
    dpredicted/dy1 * dy1/dx1 * dx1/dw1), each factor's value for every sample, their
    product, the sum of the products (the gradient), the step size (gradient * learning
    rate) and the new value. Parameters not in training.trainable are shown frozen:
    step size 0.

    \b
    Examples:
      nnbackprop explain --config configs/lesson1-main-ideas.yaml
      nnbackprop explain -c configs/dosage.yaml --params runs/dosage.json
      nnbackprop explain -c configs/dosage.yaml -f json | jq .parameters.w1.per_sample
    """
    config, x, y, theta, trainable = _network_at(config_path, overrides, params_path)
    with np.errstate(over="ignore", invalid="ignore"):
        report = explain_mod.explain(theta, x, y, config.model.activation, config.training.learning_rate, trainable)
    if fmt == "json":
        click.echo(results.dumps(_json_safe(report)), nl=False)
    else:
        click.echo(explain_mod.to_text(report), nl=False)


@cli.command()
@click.option("--config", "-c", "config_path", required=True, metavar="FILE", help="The YAML config.")
@click.option("--params", "-p", "params_path", metavar="RESULT", help="At a result's params (default: the start).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (repeatable).")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda ctx, param, value: _finite_option(param, value),
    default=gradcheck_mod.DEFAULT_TOLERANCE,
    show_default=True,
    help="The largest rel_error that passes.",
)
def gradcheck(config_path, params_path, overrides, fmt, tolerance):
    """Check each analytic gradient against a finite difference.

    \b
      numeric   = (SSR(p + h) - SSR(p - h)) / 2h,  h = 6e-6 * max(1, |p|)
      rel_error = |analytic - numeric| / max(largest |gradient component|, 1)

    The error is measured against the whole gradient's size, so a gradient near 0 is not
    failed on the finite difference's rounding noise. Exits 0 when every rel_error is at
    most --tolerance, 4 when any is larger. With relu, a parameter whose difference
    straddles the corner at 0 is marked and not judged.

    \b
    Examples:
      nnbackprop gradcheck --config configs/dosage.yaml
      nnbackprop gradcheck -c configs/dosage.yaml --params runs/dosage.json --format json
      nnbackprop gradcheck -c configs/dosage.yaml --set model.activation=tanh --set model.hidden=5 \\
        --set 'init={seed: 1}'
    """
    config, x, y, theta, _ = _network_at(config_path, overrides, params_path)
    with np.errstate(over="ignore", invalid="ignore"):
        report = gradcheck_mod.check(theta, x, y, config.model.activation, tolerance)
    if fmt == "json":
        click.echo(results.dumps(_json_safe(report)), nl=False)
    else:
        click.echo(gradcheck_mod.to_text(report), nl=False)
    params = report["parameters"]
    worst = max(p["rel_error"] for p in params.values())
    agree = sum(p["ok"] for p in params.values())
    unjudged = [name for name, p in params.items() if p["kink"] and not p["ok"]]
    corner = f"; {', '.join(unjudged)} at a ReLU corner, not judged" if unjudged else ""
    largest = f"largest rel_error {worst:.2e}"
    if report["ok"]:
        passed = f"gradcheck passed: {agree} of {len(params)} gradients agree within {tolerance:g}"
        say(f"{passed}{corner} ({largest})", fg="green")
        return
    bad = [name for name, p in params.items() if not (p["ok"] or p["kink"])]
    say(f"gradcheck FAILED: {', '.join(bad)} disagree by more than {tolerance:g}{corner} ({largest})", fg="red")
    sys.exit(EXIT_GRADCHECK)


def main(**kwargs):
    """The ``nnbackprop`` command: Click's, with usage errors on one line like every other error."""
    for name in ("stdout", "stderr"):  # started with the descriptor closed: like a closed pipe
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))
    try:
        code = cli.main(standalone_mode=False, **kwargs)
    except click.UsageError as e:
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx else ""
        click.echo(f"Error: {e.format_message()}{hint}", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
