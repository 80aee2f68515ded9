"""Result JSON in and out. Writes are atomic; reads check every key they use."""

from __future__ import annotations

import json
import math

import numpy as np

from .errors import ResultError
from .files import read_bytes, reading, write_text
from .network import ACTIVATIONS, MAX_HIDDEN, param_names


def finite_or_none(value):
    """A float for JSON: strict JSON has no NaN or Infinity, so those become null."""
    value = float(value)
    return value if math.isfinite(value) else None


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
    """The JSON object in ``path`` (``-`` is stdin)."""
    with reading(path, ResultError, "result file"):
        text = read_bytes(path, ResultError, "result file").decode("utf-8")
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise ResultError(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    except ValueError as e:
        raise ResultError(f"{path}: {e}") from None
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
    input_name = dig(document, "data", "input") or dig(document, "config", "data", "input")
    return Model(theta, hidden, activation, input_name if isinstance(input_name, str) else None, document)


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
    missing = [n for n in names if n not in params]
    extra = [n for n in params if n not in names]
    if missing or extra:
        detail = "; ".join(
            part
            for part in (missing and f"missing {', '.join(missing)}", extra and f"unexpected {', '.join(extra)}")
            if part
        )
        raise ResultError(f"{path}: {key}: does not fit a network with hidden: {hidden} ({detail})")
    values = []
    for name in names:
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ResultError(f"{path}: {key}.{name}: must be a finite number, got {json.dumps(value)}")
        values.append(float(value))
    return np.array(values)


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
        "data": data,
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


def state_from(document: dict, hidden: int, path: str):
    """The :class:`~nnbackprop.training.State` a result file holds, to carry a run on."""
    from .training import State

    if "starts" in document:
        raise ResultError(f"{path}: a run of several restarts cannot be resumed; resume needs a single start")
    theta = params_vector(_key(document, "params", dict, path), hidden, path, "params")
    state = State.start(theta)
    state.initial[0] = params_vector(_key(document, "initial_params", dict, path), hidden, path, "initial_params")
    history = _key(document, "loss_history", list, path)
    epochs = _key(document, "epochs", int, path)
    if len(history) != epochs + 1 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in history):
        raise ResultError(f"{path}: loss_history: expected {epochs + 1} numbers (epochs + 1)")
    state.losses = [np.array([float(v)]) for v in history]
    state.epochs[0] = epochs
    state.best_theta[0] = params_vector(_key(document, "best_params", dict, path), hidden, path, "best_params")
    best_loss = _key(document, "best_loss", (int, float), path)
    state.best_loss[0] = float(best_loss)
    state.best_epoch[0] = _key(document, "best_epoch", int, path)
    passes = document.get("passes")
    state.passes[0] = passes if isinstance(passes, int) and not isinstance(passes, bool) and passes >= 0 else 0
    return state
