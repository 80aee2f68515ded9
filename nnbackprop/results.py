"""Result JSON in and out. Writes are atomic; reads check every key they use."""

from __future__ import annotations

import json
import math
import os

import numpy as np

from .errors import ResultError
from .files import read_bytes, reading, write_text
from .network import ACTIVATIONS, MAX_HIDDEN, param_names


def finite_or_none(value):
    """A float for JSON: strict JSON has no NaN or Infinity, so those become null."""
    value = float(value)
    return value if math.isfinite(value) else None


def json_safe(value):
    """Plain data for strict JSON, to any depth: NaN and infinities become null."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return finite_or_none(value) if isinstance(value, float) else value


def named(theta, hidden: int) -> dict[str, float]:
    return {name: finite_or_none(v) for name, v in zip(param_names(hidden), theta)}


def dumps(document) -> str:
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def write(document, path: str):
    write_text(dumps(document), path)


# --- reading -------------------------------------------------------------------------


class Model:
    """A trained network as a result file describes it."""

    def __init__(self, theta: np.ndarray, hidden: int, activation: str, input_name: str | None, document: dict):
        self.theta = theta
        self.hidden = hidden
        self.activation = activation
        self.input_name = input_name  # the training CSV's input column, if the result says
        self.document = document


def read(path: str) -> dict:
    """The JSON object in ``path`` (a path or a :class:`~nnbackprop.files.Stream`)."""
    with reading(path, ResultError, "result file"):
        text = read_bytes(path, ResultError, "result file").decode("utf-8")
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise ResultError(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    except ValueError as e:  # NaN, Infinity, an integer of more than 4,300 digits
        raise ResultError(f"{path}: {e}") from None
    except RecursionError:
        raise ResultError(f"{path}: JSON nested too deeply to be a result file") from None
    if not isinstance(document, dict):
        raise ResultError(f"{path}: expected a JSON object from 'nnbackprop train', got {type(document).__name__}")
    return document


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def load_model(path: str) -> Model:
    """Read and check a result file: its model and a parameter for every name it needs."""
    document = read(path)
    model = _key(document, "model", dict, path)
    hidden = _key(model, "hidden", int, path, "model.hidden")
    if isinstance(hidden, bool) or hidden < 1:
        raise ResultError(f"{path}: model.hidden: must be a whole number >= 1, got {hidden!r}")
    activation = _key(model, "activation", str, path, "model.activation")
    if activation not in ACTIVATIONS:
        raise ResultError(f"{path}: model.activation: unknown '{activation}' (one of: {', '.join(ACTIVATIONS)})")
    if hidden > MAX_HIDDEN:  # before any work that grows with hidden
        raise ResultError(f"{path}: model.hidden: at most {MAX_HIDDEN:,} neurons, got {hidden:,}")
    theta = params_vector(_key(document, "params", dict, path), hidden, path, "params")
    check_document(document, path)
    input_name = dig(document, "data", "input") or dig(document, "config", "data", "input")
    return Model(theta, hidden, activation, input_name if isinstance(input_name, str) else None, document)


def optimizer_name(training: dict) -> str:
    """``lm``, or ``gd (learning rate R)`` with R a number or auto, from a config's ``training``."""
    rate = training.get("learning_rate")
    if training.get("optimizer") == "lm":
        return "lm"
    return f"gd (learning rate {rate if isinstance(rate, str) else format(rate, 'g')})"


def headline(document: dict) -> str:
    """A run in one line, as ``train``, the run object and the report begin it: the optimizer,
    the epochs, the stop reason and the final SSR (or why it is not a number)."""
    training = dig(document, "config", "training")
    epochs = document.get("epochs")
    line = (
        f"{optimizer_name(training if isinstance(training, dict) else {})}: {epochs} epoch{'' if epochs == 1 else 's'}"
    )
    line += f", stopped by {document.get('stop_reason')}"
    loss = document.get("final_loss")
    r2 = document.get("r2")
    if isinstance(loss, (int, float)) and not isinstance(loss, bool):
        line += f", SSR {loss:.6g}"
    elif isinstance(r2, float):  # a fit, to y so large that the squares overflow
        line += f", SSR too large for a float (R² {r2:.6g})"
    else:
        line += ", SSR not finite"
    return line


def check_fits(model: Model, config, path: str):
    """A result's network must be the config's: the same hidden and activation."""
    if (model.hidden, model.activation) != (config.model.hidden, config.model.activation):
        raise ResultError(
            f"{path}: model has hidden: {model.hidden}, activation: {model.activation}, but the config "
            f"has hidden: {config.model.hidden}, activation: {config.model.activation}"
        )


def dig(document, *keys):
    """``document[k1][k2]...`` or None, whatever the document holds on the way."""
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def params_vector(params: dict, hidden: int, path: str, key: str) -> np.ndarray:
    """A name -> value mapping as a packed vector, checked against the names H needs."""
    names = param_names(hidden)
    known = set(names)  # sets: 300,001 names for 100,000 neurons, checked in linear time
    missing = [n for n in names if n not in params]
    extra = [n for n in params if n not in known]
    if missing or extra:
        detail = "; ".join(
            part
            for part in (missing and f"missing {listing(missing)}", extra and f"unexpected {listing(extra)}")
            if part
        )
        raise ResultError(f"{path}: {key}: does not fit a network with hidden: {hidden} ({detail})")
    return np.array([number(params[name], path, f"{key}.{name}") for name in names])


def listing(names, most: int = 10) -> str:
    """Names for a message: the first ``most`` of them, and how many more."""
    shown = ", ".join(str(n) for n in names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most:,} more"


def number(value, path, key: str, allow_null: bool = False):
    """A finite float from a JSON value, or a ResultError naming ``key``."""
    if value is None and allow_null:
        return None
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        try:
            result = float(value)
        except OverflowError:  # a 400-digit integer
            result = math.inf
        if math.isfinite(result):
            return result
    raise ResultError(f"{path}: {key}: must be a finite number, got {_shown(value)}")


def whole(value, path, key: str, low: int = 0, high: int | None = None) -> int:
    """A whole number in [low, high] from a JSON value, or a ResultError naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = f">= {low}" if high in (None, MAX_EPOCHS_IN_A_FILE) else f"from {low} to {high}"
        raise ResultError(f"{path}: {key}: must be a whole number {bounds}, got {_shown(value)}")
    return value


def _shown(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text):,} characters)"


MAX_EPOCHS_IN_A_FILE = 2**62  # epochs count as int64


def check_document(document: dict, path):
    """The keys a command may read besides the parameters, checked when present.

    A result file need not hold them all, but those it holds have the type training
    writes, so no command meets a string where a number belongs, an epoch count of -1
    or a best epoch of 1e30 after the file was read.
    """
    epochs = document.get("epochs")
    if epochs is not None:
        epochs = whole(epochs, path, "epochs", 0, MAX_EPOCHS_IN_A_FILE)
    for key in ("final_loss", "best_loss", "gradient_norm", "gradient_cosine", "wall_time_s"):
        if key in document:
            number(document[key], path, key, allow_null=True)
    if "best_epoch" in document:
        whole(document["best_epoch"], path, "best_epoch", 0, epochs if epochs is not None else MAX_EPOCHS_IN_A_FILE)
    if "passes" in document:
        whole(document["passes"], path, "passes", 0, MAX_EPOCHS_IN_A_FILE)
    history = document.get("loss_history")
    if history is not None:
        if not isinstance(history, list):
            raise ResultError(f"{path}: loss_history: expected a list of numbers, got {_shown(history)}")
        for i, value in enumerate(history):
            number(value, path, f"loss_history[{i}]", allow_null=True)
    for key in ("stop_reason", "optimizer"):
        if key in document and not isinstance(document[key], (str, type(None))):
            raise ResultError(f"{path}: {key}: expected a string, got {_shown(document[key])}")
    for key in ("data", "config"):
        if key in document and not isinstance(document[key], (dict, type(None))):
            raise ResultError(f"{path}: {key}: expected an object, got {_shown(document[key])}")


def _key(mapping: dict, key: str, kind, path: str, dotted: str | None = None):
    dotted = dotted or key
    if key not in mapping:
        raise ResultError(f"{path}: {dotted}: missing (is this a result of 'nnbackprop train'?)")
    value = mapping[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        wanted = kind.__name__ if isinstance(kind, type) else "a number"
        raise ResultError(f"{path}: {dotted}: expected {wanted}, got {json.dumps(value)[:40]}")
    return value


# --- a training run as a document ----------------------------------------------------


def document(config, state, data: dict, extra: dict | None = None, verdict=None) -> dict:
    """The result of a run: the best start's parameters and history, and what reproduces it.

    ``verdict`` (an :class:`~nnbackprop.optimizers.Verdict` at the final parameters) gives
    ``gradient_norm``, ``gradient_cosine`` and ``converged``; without one (a checkpoint
    taken mid-run) they are null and ``converged`` is false.
    """
    from . import __version__

    hidden = config.model.hidden
    r = state.best_start
    history = state.history(r)
    doc = {
        "version": __version__,
        "model": {"hidden": hidden, "activation": config.model.activation},
        "params": named(state.theta[r], hidden),
        "initial_params": named(state.initial[r], hidden),
        "final_loss": finite_or_none(history[-1]),
        "epochs": int(state.epochs[r]),
        "stop_reason": state.reasons[r],
        "optimizer": config.training.optimizer,
        "passes": int(state.passes[r]),
        "gradient_norm": None,
        "gradient_cosine": None,
        "converged": False,
        **(verdict.to_dict() if verdict is not None else {}),
        "best_epoch": int(state.best_epoch[r]),
        "best_loss": finite_or_none(state.best_loss[r]),
        "best_params": named(state.best_theta[r], hidden),
        "loss_history": [finite_or_none(v) for v in history],
        "config": config.to_dict(),
        "data": with_abspath(data),
    }
    if len(state.reasons) > 1:
        doc["best_start"] = r
        doc["starts"] = [
            {
                "final_loss": finite_or_none(state.losses[e][i]),
                "epochs": int(e),
                "stop_reason": state.reasons[i],
                "passes": int(state.passes[i]),
                "initial_params": named(state.initial[i], hidden),
                "params": named(state.theta[i], hidden),
            }
            for i, e in enumerate(state.epochs)
        ]
    doc.update(extra or {})
    return doc


def with_abspath(data: dict) -> dict:
    """The result's ``data`` with ``abspath`` beside ``path``: the file as any folder finds it.

    ``path`` stays as it was given (relative to the working folder of the time).
    """
    path = data.get("path")
    if not isinstance(path, str) or path == "-" or "abspath" in data:
        return data
    out = {}
    for key, value in data.items():
        out[key] = value
        if key == "path":
            out["abspath"] = os.path.abspath(path)
    return out


def training_data(document: dict, result_path) -> str | None:
    """Where the training data a result names is now: ``data.path`` as given, then beside
    the result file, then ``data.abspath``; None when none of them is a file."""
    info = document.get("data") if isinstance(document.get("data"), dict) else {}
    path, absolute = info.get("path"), info.get("abspath")
    candidates = []
    if isinstance(path, str) and path != "-":
        candidates.append(path)
        if not os.path.isabs(path) and isinstance(result_path, (str, os.PathLike)):
            candidates.append(os.path.join(os.path.dirname(os.fspath(result_path)), path))
    if isinstance(absolute, str):
        candidates.append(absolute)
    return next((p for p in candidates if os.path.isfile(p)), None)


def state_from(document: dict, hidden: int, path: str):
    """The :class:`~nnbackprop.training.State` a result file holds, to carry a run on."""
    from .training import State

    if "starts" in document:
        raise ResultError(f"{path}: a run of several restarts cannot be resumed; resume needs a single start")
    theta = params_vector(_key(document, "params", dict, path), hidden, path, "params")
    state = State.start(theta)
    state.initial[0] = params_vector(_key(document, "initial_params", dict, path), hidden, path, "initial_params")
    history = _key(document, "loss_history", list, path)
    epochs = whole(_key(document, "epochs", int, path), path, "epochs", 0, MAX_EPOCHS_IN_A_FILE)
    if len(history) != epochs + 1 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in history):
        raise ResultError(f"{path}: loss_history: expected {epochs + 1} numbers (epochs + 1)")
    state.losses = [np.array([number(v, path, f"loss_history[{i}]")]) for i, v in enumerate(history)]
    state.epochs[0] = epochs
    state.best_theta[0] = params_vector(_key(document, "best_params", dict, path), hidden, path, "best_params")
    state.best_loss[0] = number(_key(document, "best_loss", (int, float), path), path, "best_loss")
    state.best_epoch[0] = whole(_key(document, "best_epoch", int, path), path, "best_epoch", 0, epochs)
    passes = document.get("passes")
    state.passes[0] = passes if isinstance(passes, int) and not isinstance(passes, bool) and passes >= 0 else 0
    return state


def beside(value: float, tolerance: float) -> str:
    """``value`` to two digits, or to as many more as it takes not to read as ``tolerance``."""
    for digits in range(2, 18):
        if f"{value:.{digits}g}" != f"{tolerance:.{digits}g}":
            break
    return f"{value:.{digits}g}"
