"""The config's schema: YAML (read by :mod:`nnbackprop.yamltree`) -> a validated, frozen :class:`Config`.

Each section has a frozen dataclass whose field defaults are the defaults, written
only there, and a reader that checks each key and names file, line and dotted key in
its error.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ConfigError
from .files import MAX_CONFIG_BYTES, Stream, name_of, read_bytes, reading
from .network import ACTIVATIONS, DEFAULT_ACTIVATION, MAX_HIDDEN, param_names
from .optimizers import GRADIENT_TOLERANCE
from .training import Settings
from .yamltree import (
    NUMBER,
    At,
    Mapping,
    Scalar,
    apply_override,
    check_keys,
    fail,
    from_python,
    is_override,
    kind,
    name_list,
    number,
    optional,
    read_tree,
    set_key,
    shown,
    text,
    whole,
)
from .yamltree import (
    path as file_path,
)

MAX_RESTARTS = 10_000  # each start's loss is kept for every epoch


@dataclass(frozen=True)
class DataConfig:
    path: str | None  # None: arrays given to fit()
    input: str | None = None  # None: the first column
    target: str | None = None  # None: the second column


@dataclass(frozen=True)
class ModelConfig:
    hidden: int = 2
    activation: str = DEFAULT_ACTIVATION


@dataclass(frozen=True)
class InitConfig:
    seed: int | None = 0  # None: values names every parameter
    values: dict[str, float] = field(default_factory=dict)  # parameter name -> starting value


OPTIMIZERS = ("gd", "lm")
LM_MAX_PARAMETERS = 2000  # lm's JᵀJ is P x P: 32 MB and about a second of solving each iteration here
LM_DEFAULT_PARAMETERS = 100  # a config naming neither optimizer nor learning rate gets lm up to this many
LM_MAX_EPOCHS = 5000  # lm's max_epochs where none is named: fits whose weights keep growing need thousands


@dataclass(frozen=True)
class TrainingConfig:
    optimizer: str = Settings.optimizer  # "gd"; "lm" where a config names neither this nor a rate (_training)
    learning_rate: float | str = "auto"  # a fixed rate, or "auto": a step size found from the data
    max_epochs: int = 1000
    min_step_size: float = 0.001
    trainable: tuple[str, ...] | None = None  # None: every parameter
    restarts: int = 1
    gradient_tolerance: float = GRADIENT_TOLERANCE


@dataclass(frozen=True)
class Config:
    data: DataConfig
    model: ModelConfig = ModelConfig()
    init: InitConfig = InitConfig()
    training: TrainingConfig = TrainingConfig()
    output: str | None = None  # None: stdout, unless --out says otherwise
    source: str = "<config>"
    notes: tuple[str, ...] = field(default=(), compare=False)  # what a person should hear about how it was read

    @property
    def trainable_mask(self) -> np.ndarray:
        """(P,) bool: which parameters training steps."""
        names = param_names(self.model.hidden)
        trainable = set(self.training.trainable or names)
        return np.array([name in trainable for name in names])

    def to_dict(self) -> dict[str, Any]:
        """The config as resolved, for the result file."""
        d = dataclasses.asdict(self)
        d.pop("source")
        d.pop("notes")
        init = d.pop("init")
        d["init"] = {**({"seed": init["seed"]} if init["seed"] is not None else {}), **init["values"]}
        if d["training"]["trainable"] is not None:
            d["training"]["trainable"] = list(d["training"]["trainable"])
        return d


# --- the config ----------------------------------------------------------------------


def load(path, overrides: list = ()) -> Config:
    """Read, override and validate the config at ``path`` (a path or a :class:`~nnbackprop.files.Stream`).

    Each override is a ``KEY=VALUE`` string (from --set) or a ``(key, value, where)``
    triple, ``where`` naming the option it came from in errors.  Relative paths in the
    file resolve against its folder (a stream's: the working folder).
    """
    with reading(path, ConfigError, "config file"):
        source_text = read_bytes(path, ConfigError, "config file", MAX_CONFIG_BYTES).decode("utf-8-sig")
    source = name_of(path)
    tree = read_tree(source_text, source)
    base = "" if isinstance(path, Stream) else os.path.dirname(path)
    for override in overrides:
        apply_override(tree, override)
    return from_tree(tree, source, base)


def from_mapping(mapping, overrides: dict | None = None, arrays: bool = False) -> Config:
    """Validate a config given as Python values: a mapping with the keys a YAML config has.

    ``overrides`` maps dotted keys (``training.learning_rate``) to values.  With
    ``arrays``, the data comes as arrays rather than a file: ``data.path`` is None.
    Relative paths resolve against the working folder.
    """
    tree = from_python(mapping, "fit(config)")
    if not isinstance(tree, Mapping):
        raise ConfigError(f"fit(config): expected a mapping of keys (data, model, init, ...), got {kind(tree)}")
    for key, value in (overrides or {}).items():
        where = f"fit({key}={value!r:.60})"
        set_key(tree, key, from_python(value, where), where)
    return from_tree(tree, "fit(config)", ".", arrays)


def from_tree(tree: dict, source: str, base: str, arrays: bool = False) -> Config:
    check_keys(tree, ["data", "model", "init", "training", "output"], "")
    if "data" not in tree and not arrays:
        raise ConfigError(f"{source}: data: missing (data.path names the CSV file)")
    data = _data(tree.get("data", Mapping(source)), source, base, arrays)
    model = _model(tree.get("model", Mapping(source)))
    init = _init(tree.get("init"), model.hidden)
    training_tree = tree.get("training", Mapping(source))
    training = _training(training_tree, model.hidden, init)
    output = tree.get("output")
    if output is not None:
        output = optional(output, file_path, "output")
        if output is not None and output != "-":
            output = _resolve(output, output_where(tree), base)
    notes = _default_optimizer_notes(training_tree, training, model.hidden)
    return Config(data, model, init, training, output, source, notes)


def _default_optimizer_notes(tree, t: TrainingConfig, hidden: int) -> tuple[str, ...]:
    """Why a config that names neither optimizer nor learning rate trains with gd: its size."""
    if "optimizer" in tree or "learning_rate" in tree or t.optimizer == "lm":
        return ()
    trained = _trained(t, hidden)
    anyway = "set training.optimizer: lm to use it anyway"
    if trained > LM_MAX_PARAMETERS:
        anyway = f"lm takes at most {LM_MAX_PARAMETERS:,}"
    return (
        f"training with gd, learning_rate: auto, as {trained:,} parameters train: lm, the default for up to "
        f"{LM_DEFAULT_PARAMETERS}, would solve a {trained:,} x {trained:,} system each iteration; {anyway}",
    )


def _trained(t: TrainingConfig, hidden: int) -> int:
    """How many parameters train."""
    return len(t.trainable) if t.trainable is not None else 3 * hidden + 1


def output_where(tree):
    return tree["output"].where if isinstance(tree.get("output"), Scalar) else ""


def _resolve(path: str, where: str, base: str) -> str:
    if path == "-":
        return path
    if is_override(where) or os.path.isabs(path):
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(base, path))


def _data(tree, source, base, arrays=False) -> DataConfig:
    """Where the data comes from; ``-`` is stdin; None: arrays given in Python."""
    check_keys(tree, ["path", "input", "target"], "data")
    columns = {k: optional(tree[k], text, f"data.{k}") for k in ("input", "target") if k in tree}
    if arrays:
        return DataConfig(None, **columns)
    if "path" not in tree:
        fail(tree, "data.path", "missing (the CSV file to train on)")
    path = _resolve(file_path(tree["path"], "data.path"), tree["path"].where, base)
    if path == "-" and source == "-":
        fail(tree["path"], "data.path", "the config already comes from stdin, so the data cannot")
    if path != "-" and (os.path.isdir(path) or not os.path.exists(path)):  # a FIFO or a device is read
        what = "is a directory" if os.path.isdir(path) else "does not exist"
        fail(tree["path"], "data.path", f"{path} {what}")
    return DataConfig(path, **columns)


def _model(tree) -> ModelConfig:
    check_keys(tree, ["hidden", "activation"], "model")
    model = ModelConfig()
    hidden = whole(tree["hidden"], "model.hidden", 1) if "hidden" in tree else model.hidden
    if hidden > MAX_HIDDEN:
        fail(tree["hidden"], "model.hidden", f"at most {MAX_HIDDEN:,} neurons, got {hidden:,}")
    activation = model.activation
    if "activation" in tree:
        activation = text(tree["activation"], "model.activation")
        if activation not in ACTIVATIONS:
            fail(tree["activation"], "model.activation", f"unknown '{activation}' (one of: {', '.join(ACTIVATIONS)})")
    return ModelConfig(hidden, activation)


def _init(tree, hidden) -> InitConfig:
    names = param_names(hidden)
    if tree is None:
        return InitConfig()
    check_keys(tree, ["seed", *names], "init")
    seed = optional(tree["seed"], whole, "init.seed", 0) if "seed" in tree else None
    values = {name: number(tree[name], f"init.{name}") for name in names if name in tree}
    missing = [name for name in names if name not in values]
    if seed is None and missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10:,} more" if len(missing) > 10 else "")
        fail(tree, "init", f"missing {shown} (give every parameter, or seed: N)")
    return InitConfig(seed, values)


def _training(tree, hidden, init) -> TrainingConfig:
    allowed = [
        "optimizer",
        "learning_rate",
        "max_epochs",
        "min_step_size",
        "gradient_tolerance",
        "trainable",
        "restarts",
    ]
    check_keys(tree, allowed, "training")
    t = TrainingConfig()
    if "optimizer" in tree:
        optimizer = text(tree["optimizer"], "training.optimizer")
        if optimizer not in OPTIMIZERS:
            fail(tree["optimizer"], "training.optimizer", f"must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
        t = dataclasses.replace(t, optimizer=optimizer)
    if "learning_rate" in tree:
        value = tree["learning_rate"]
        if isinstance(value, Scalar) and value.text.strip() == "auto":
            lr = "auto"
        elif isinstance(value, Scalar) and not value.null and not value.quoted and not NUMBER.fullmatch(value.text):
            fail(value, "training.learning_rate", f"must be a number > 0 or auto, got {shown(value)}")
        else:
            lr = number(value, "training.learning_rate")
            if lr <= 0:
                fail(value, "training.learning_rate", f"must be greater than 0 or auto, got {lr:g}")
        t = dataclasses.replace(t, learning_rate=lr)
    if "gradient_tolerance" in tree:
        tol = number(tree["gradient_tolerance"], "training.gradient_tolerance")
        if not 0 < tol < 1:
            fail(tree["gradient_tolerance"], "training.gradient_tolerance", f"must be between 0 and 1, got {tol:g}")
        t = dataclasses.replace(t, gradient_tolerance=tol)
    if "max_epochs" in tree:
        t = dataclasses.replace(t, max_epochs=whole(tree["max_epochs"], "training.max_epochs", 0))
    if "min_step_size" in tree:
        step = number(tree["min_step_size"], "training.min_step_size")
        if step < 0:
            fail(tree["min_step_size"], "training.min_step_size", f"must be at least 0, got {step:g}")
        t = dataclasses.replace(t, min_step_size=step)
    if "trainable" in tree:
        trainable = name_list(tree["trainable"], "training.trainable")
        names = param_names(hidden)
        known = set(names)
        for i, name in enumerate(trainable):
            if name in trainable[:i]:
                fail(tree["trainable"], "training.trainable", f"'{name}' is named twice")
            if name not in known:
                listed = ", ".join(names) if hidden <= 4 else f"{names[0]}, {names[1]}, ..., {names[-1]}"
                fail(
                    tree["trainable"], "training.trainable", f"no parameter '{name}' (with hidden: {hidden}: {listed})"
                )
        if not trainable:
            fail(At(tree.key_where["trainable"]), "training.trainable", "must name at least one parameter")
        t = dataclasses.replace(t, trainable=trainable)
    if "restarts" in tree:
        restarts = whole(tree["restarts"], "training.restarts", 1)
        if restarts > MAX_RESTARTS:
            fail(tree["restarts"], "training.restarts", f"at most {MAX_RESTARTS:,}, got {restarts:,}")
        if restarts > 1 and init.seed is None:
            fail(tree["restarts"], "training.restarts", "needs init: {seed: N} so that the starts differ")
        t = dataclasses.replace(t, restarts=restarts)
    trained = _trained(t, hidden)
    if "optimizer" not in tree and "learning_rate" not in tree and trained <= LM_DEFAULT_PARAMETERS:
        t = dataclasses.replace(t, optimizer="lm")  # nothing asked for: the optimizer that fits (README)
    if t.optimizer == "lm" and "max_epochs" not in tree:
        t = dataclasses.replace(t, max_epochs=LM_MAX_EPOCHS)  # it stops by itself once converged
    if t.optimizer == "lm" and trained > LM_MAX_PARAMETERS:
        fail(
            tree["optimizer"],
            "training.optimizer",
            f"lm solves a {trained:,} x {trained:,} system each iteration; it takes at most "
            f"{LM_MAX_PARAMETERS:,} trainable parameters (hidden <= {(LM_MAX_PARAMETERS - 1) // 3}): use gd",
        )
    return t


# --- the config as fit() is given it --------------------------------------------------

SECTIONS = {  # fit(learning_rate=...) means training.learning_rate, and so on
    **{name: f"training.{name}" for name in TrainingConfig.__dataclass_fields__},
    **{name: f"model.{name}" for name in ModelConfig.__dataclass_fields__},
    "input": "data.input",
    "target": "data.target",
}


def given(config, overrides=None):
    """``(Config, arrays or None)`` from what :func:`nnbackprop.fit` was given: a config's path
    (or a :class:`~nnbackprop.files.Stream`) or a mapping with its keys, and the overrides (a
    mapping: names, dotted keys, ``seed``, ``data``; or ``--set`` style overrides for a file)."""
    if isinstance(overrides, abc.Mapping):
        overrides = dict(overrides)
        arrays = _arrays(overrides.pop("data", None), "fit(data=...)")
        if "seed" in overrides:
            overrides["init"] = {"seed": overrides.pop("seed")}
        dotted = {SECTIONS.get(key, key): value for key, value in overrides.items()}
        for key in dotted:
            if key.split(".")[0] not in ("data", "model", "init", "training", "output"):
                known = [*SECTIONS, "seed", "data"]
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
                raise ConfigError(f"fit({key}=...): unknown key ({hint})")
    else:
        arrays, dotted = None, None
    if isinstance(config, abc.Mapping):
        mapping = dict(config)
        data = mapping.get("data")
        if isinstance(data, (str, os.PathLike)):  # a CSV's path for the data: {"path": it}
            data = mapping["data"] = {"path": os.fspath(data)}
        given = _arrays(data, "fit(config): data") if not isinstance(data, abc.Mapping) else None
        if isinstance(data, abc.Mapping) and "path" in data and not isinstance(data["path"], (str, os.PathLike)):
            given = _arrays(data["path"], "fit(config): data.path")
            mapping["data"] = {k: v for k, v in data.items() if k != "path"}
        elif given is not None:
            mapping.pop("data")
        arrays = arrays if arrays is not None else given
        return from_mapping(mapping, dotted, arrays is not None), arrays
    if not isinstance(config, (str, os.PathLike, Stream)):
        raise ConfigError(f"fit(config): expected a config file's path or a mapping, got {type(config).__name__}")
    if dotted is not None:
        if arrays is not None:
            raise ConfigError("fit(data=...): arrays go with a config mapping, not a config file")
        overrides = [(key, _yaml(value), f"fit({key}={value!r:.60})") for key, value in dotted.items()]
    return load(config if isinstance(config, Stream) else os.fspath(config), overrides or ()), None


def _yaml(value) -> str:
    import yaml

    if isinstance(value, np.generic):  # a NumPy number: its Python value
        value = value.item()
    try:
        return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    except yaml.YAMLError:
        raise ConfigError(f"fit(...={value!r:.60}): cannot use a {type(value).__name__} as a config value") from None


def _arrays(value, where):
    """A pair ``(x, y)`` of equal-length 1-D float arrays, or None when ``value`` is None."""
    if value is None:
        return None
    try:
        x, y = (np.asarray(v) for v in value)
        if np.iscomplexobj(x) or np.iscomplexobj(y):
            raise TypeError
        x, y = x.astype(np.float64), y.astype(np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a pair of real arrays (x, y), or {{'path': CSV}}") from None
    if x.ndim != 1 or y.ndim != 1 or len(x) != len(y):
        raise ConfigError(f"{where}: x and y must be 1-D and of one length, got shapes {x.shape} and {y.shape}")
    for name, values in (("x", x), ("y", y)):
        if not np.isfinite(values).all():
            first = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ConfigError(f"{where}: {name}[{first}] is {values[first]}: every value must be a finite number")
    if not len(x):
        raise ConfigError(f"{where}: no rows of data")
    return np.ascontiguousarray(x), np.ascontiguousarray(y)
