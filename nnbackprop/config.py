"""YAML config -> a validated, frozen :class:`Config`.

Scalars are read from the YAML node tree and interpreted here, by the type each key
expects, so numbers read as people write them (``1e-3``, ``.5``) and a column named
``no`` stays a string.  Every error names the file, the line and the dotted key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import ConfigError, read_bytes, reading
from .network import ACTIVATIONS, MAX_HIDDEN, param_names
from .optimizers import GRADIENT_TOLERANCE

MAX_RESTARTS = 10_000  # each start's loss is kept for every epoch


@dataclass(frozen=True)
class DataConfig:
    path: str
    input: str | None = None  # None: the first column
    target: str | None = None  # None: the second column


@dataclass(frozen=True)
class ModelConfig:
    hidden: int = 2
    activation: str = "softplus"


@dataclass(frozen=True)
class InitConfig:
    seed: int | None = None
    values: dict[str, float] = field(default_factory=dict)  # parameter name -> starting value


OPTIMIZERS = ("gd", "lm")
LM_MAX_PARAMETERS = 2000  # lm's JᵀJ is P x P: 32 MB and about a second of solving each iteration here


@dataclass(frozen=True)
class TrainingConfig:
    optimizer: str = "gd"
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

    def to_dict(self) -> dict[str, Any]:
        """The config as resolved, for the result file."""
        d = dataclasses.asdict(self)
        d.pop("source")
        init = d.pop("init")
        d["init"] = {**({"seed": init["seed"]} if init["seed"] is not None else {}), **init["values"]}
        if d["training"]["trainable"] is not None:
            d["training"]["trainable"] = list(d["training"]["trainable"])
        return d


# --- reading YAML into a tree of scalars that remember where they came from ----------


@dataclass(frozen=True)
class Scalar:
    text: str
    quoted: bool
    where: str  # "file:line" or "--set KEY=VALUE"
    null: bool = False


class Mapping(dict):
    """A YAML mapping that remembers where it and each of its keys stood."""

    def __init__(self, where: str):
        super().__init__()
        self.where = where
        self.key_where: dict[str, str] = {}


class _Loader(yaml.SafeLoader):
    pass


def _tree(node, source: str, path: str = ""):
    """A YAML node as dicts, lists and :class:`Scalar` s; duplicate keys are errors."""
    where = f"{source}:{node.start_mark.line + 1}"
    if isinstance(node, yaml.MappingNode):
        out = Mapping(where)
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                raise ConfigError(f"{where}: {path or 'top level'}: keys must be plain names")
            dotted = f"{path}.{key}" if path else key
            if key in out:
                raise ConfigError(f"{source}:{key_node.start_mark.line + 1}: {dotted}: key given twice")
            out[key] = _tree(value_node, source, dotted)
            out.key_where[key] = f"{source}:{key_node.start_mark.line + 1}"
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_tree(item, source, f"{path}[{i}]") for i, item in enumerate(node.value)]
    null = node.tag == "tag:yaml.org,2002:null" and node.style is None
    return Scalar(node.value, node.style is not None, where, null)


def read_tree(text: str, source: str):
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        place = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(f"{place}: YAML syntax error: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: YAML error: {str(e).splitlines()[0]}") from None  # one line
    except RecursionError:
        raise ConfigError(f"{source}: YAML nested too deeply (a recursive alias?)") from None
    if node is None:
        raise ConfigError(f"{source}: empty config, expected a mapping with at least a 'data' key")
    try:
        tree = _tree(node, source)
    except RecursionError:
        raise ConfigError(f"{source}: YAML nested too deeply (a recursive alias?)") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{source}: expected a mapping of keys (data, model, init, ...), got a {_kind(tree)}")
    return tree


def _kind(value) -> str:
    return "mapping" if isinstance(value, dict) else "list" if isinstance(value, list) else "single value"


# --- interpreting scalars ------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def _fail(value, key: str, message: str):
    where = getattr(_place(value), "where", None)
    prefix = f"{where}: " if where else ""
    raise ConfigError(f"{prefix}{key}: {message}")


def _shown(value) -> str:
    if isinstance(value, Scalar):
        return "nothing" if value.null else repr(value.text)
    return f"a {_kind(value)}"


def number(value, key: str) -> float:
    if not isinstance(value, Scalar) or value.null or value.quoted or not _NUMBER.fullmatch(value.text):
        _fail(value, key, f"must be a number, got {_shown(value)}")
    result = float(value.text)
    if not math.isfinite(result):
        _fail(value, key, f"must be a finite number, got {value.text!r}")
    return result


def whole(value, key: str, minimum: int) -> int:
    result = number(value, key) if isinstance(value, Scalar) and not value.null else None
    if result is None or result != int(result):
        _fail(value, key, f"must be a whole number, got {_shown(value)}")
    if result < minimum:
        _fail(value, key, f"must be at least {minimum}, got {value.text}")
    return int(result)


def text(value, key: str) -> str:
    if not isinstance(value, Scalar) or value.null or not value.text.strip():
        _fail(value, key, f"must be a non-empty string, got {_shown(value)}")
    return value.text.strip()


def optional(value, read, key, *args):
    if isinstance(value, Scalar) and value.null:
        return None
    return read(value, key, *args)


def _names(value, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(text(item, f"{key}[{i}]" if isinstance(value, list) else key) for i, item in enumerate(items))


def _check_keys(mapping, allowed, path: str):
    if not isinstance(mapping, Mapping):
        _fail(mapping, path, f"must be a mapping, got {_shown(mapping)}")
    for key in mapping:
        if key not in allowed:
            dotted = f"{path}.{key}" if path else key
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(allowed)})"
            _fail(_At(mapping.key_where[key]), dotted, f"unknown key{hint}")


@dataclass(frozen=True)
class _At:
    where: str


def _place(value):
    """Something with a ``where`` for any value: lists have none of their own."""
    if isinstance(value, list):
        return next((_place(v) for v in value), _At(""))
    return value


# --- the config ----------------------------------------------------------------------


def load(path: str, overrides: list = ()) -> Config:
    """Read, override and validate the config at ``path``.

    Each override is a ``KEY=VALUE`` string (from --set) or a ``(key, value, where)``
    triple, ``where`` naming the option it came from in errors.
    """
    with reading(path, ConfigError, "config file"):
        source_text = read_bytes(path, ConfigError, "config file").decode("utf-8-sig")
    tree = read_tree(source_text, path)
    base = os.path.dirname(path)
    for override in overrides:
        apply_override(tree, override)
    return from_tree(tree, path, base)


def apply_override(tree: dict, override):
    """Set a dotted key from ``KEY=VALUE`` or ``(key, value, where)``; the value is read as YAML."""
    if isinstance(override, str):
        key, sep, raw = override.partition("=")
        where = f"--set {override}"
        if not sep or not key.strip():
            raise ConfigError(f"{where}: expected KEY=VALUE, such as training.learning_rate=0.05")
    else:
        key, raw, where = override
    parts = key.strip().split(".")
    value = read_value(raw, where)
    node = tree
    for i, part in enumerate(parts):
        if not isinstance(node, Mapping):
            _fail(_At(where), key.strip(), f"'{part}' sits inside a value that is not a mapping")
        node.key_where[part] = where
        if i == len(parts) - 1:
            node[part] = value
        elif part not in node:
            node[part] = Mapping(where)
        node = node[part]


def read_value(raw: str, where: str):
    if raw.strip() == "-":  # stdin or stdout, which YAML would read as a list
        return Scalar("-", True, where)
    try:
        node = yaml.compose(raw if raw.strip() else "~", Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        raise ConfigError(f"{where}: cannot read the value as YAML") from None
    return _rewhere(_tree(node, where), where)


def _rewhere(value, where: str):
    """The value with every part of it placed at ``where`` (the --set option)."""
    if isinstance(value, Scalar):
        return dataclasses.replace(value, where=where)
    if isinstance(value, list):
        return [_rewhere(v, where) for v in value]
    out = Mapping(where)
    for k, v in value.items():
        out[k] = _rewhere(v, where)
        out.key_where[k] = where
    return out


def from_tree(tree: dict, source: str, base: str) -> Config:
    _check_keys(tree, ["data", "model", "init", "training", "output"], "")
    if "data" not in tree:
        raise ConfigError(f"{source}: data: missing (data.path names the CSV file)")
    data = _data(tree["data"], source, base)
    model = _model(tree.get("model", Mapping(source)))
    init = _init(tree.get("init"), model.hidden)
    training = _training(tree.get("training", Mapping(source)), model.hidden, init)
    output = tree.get("output")
    if output is not None:
        output = optional(output, text, "output")
        if output is not None and output != "-":
            output = _resolve(output, output_where(tree), base)
    return Config(data, model, init, training, output, source)


def output_where(tree):
    return tree["output"].where if isinstance(tree.get("output"), Scalar) else ""


def _resolve(path: str, where: str, base: str) -> str:
    if path == "-":
        return path
    if where.startswith("--set") or os.path.isabs(path):
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(base, path))


def _data(tree, source, base) -> DataConfig:
    """Where the data comes from; ``-`` is stdin."""
    _check_keys(tree, ["path", "input", "target"], "data")
    if "path" not in tree:
        _fail(tree, "data.path", "missing (the CSV file to train on)")
    path = _resolve(text(tree["path"], "data.path"), tree["path"].where, base)
    if path == "-" and source == "-":
        _fail(tree["path"], "data.path", "the config already comes from stdin, so the data cannot")
    if path != "-" and not os.path.isfile(path):
        what = "is a directory" if os.path.isdir(path) else "does not exist"
        _fail(tree["path"], "data.path", f"{path} {what}")
    columns = {k: optional(tree[k], text, f"data.{k}") for k in ("input", "target") if k in tree}
    return DataConfig(path, **columns)


def _model(tree) -> ModelConfig:
    _check_keys(tree, ["hidden", "activation"], "model")
    hidden = whole(tree["hidden"], "model.hidden", 1) if "hidden" in tree else 2
    if hidden > MAX_HIDDEN:
        _fail(tree["hidden"], "model.hidden", f"at most {MAX_HIDDEN:,} neurons, got {hidden:,}")
    activation = "softplus"
    if "activation" in tree:
        activation = text(tree["activation"], "model.activation")
        if activation not in ACTIVATIONS:
            _fail(tree["activation"], "model.activation", f"unknown '{activation}' (one of: {', '.join(ACTIVATIONS)})")
    return ModelConfig(hidden, activation)


def _init(tree, hidden) -> InitConfig:
    names = param_names(hidden)
    if tree is None:
        return InitConfig(seed=0)
    _check_keys(tree, ["seed", *names], "init")
    seed = optional(tree["seed"], whole, "init.seed", 0) if "seed" in tree else None
    values = {name: number(tree[name], f"init.{name}") for name in names if name in tree}
    missing = [name for name in names if name not in values]
    if seed is None and missing:
        _fail(tree, "init", f"missing {', '.join(missing)} (give every parameter, or seed: N)")
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
    _check_keys(tree, allowed, "training")
    t = TrainingConfig()
    if "optimizer" in tree:
        optimizer = text(tree["optimizer"], "training.optimizer")
        if optimizer not in OPTIMIZERS:
            _fail(tree["optimizer"], "training.optimizer", f"must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
        t = dataclasses.replace(t, optimizer=optimizer)
    if "learning_rate" in tree:
        value = tree["learning_rate"]
        if isinstance(value, Scalar) and value.text.strip() == "auto":
            lr = "auto"
        elif isinstance(value, Scalar) and not value.null and not value.quoted and not _NUMBER.fullmatch(value.text):
            _fail(value, "training.learning_rate", f"must be a number > 0 or auto, got {_shown(value)}")
        else:
            lr = number(value, "training.learning_rate")
            if lr <= 0:
                _fail(value, "training.learning_rate", f"must be greater than 0 or auto, got {lr:g}")
        t = dataclasses.replace(t, learning_rate=lr)
    if "gradient_tolerance" in tree:
        tol = number(tree["gradient_tolerance"], "training.gradient_tolerance")
        if not 0 < tol < 1:
            _fail(tree["gradient_tolerance"], "training.gradient_tolerance", f"must be between 0 and 1, got {tol:g}")
        t = dataclasses.replace(t, gradient_tolerance=tol)
    if "max_epochs" in tree:
        t = dataclasses.replace(t, max_epochs=whole(tree["max_epochs"], "training.max_epochs", 0))
    if "min_step_size" in tree:
        step = number(tree["min_step_size"], "training.min_step_size")
        if step < 0:
            _fail(tree["min_step_size"], "training.min_step_size", f"must be at least 0, got {step:g}")
        t = dataclasses.replace(t, min_step_size=step)
    if "trainable" in tree:
        trainable = _names(tree["trainable"], "training.trainable")
        names = param_names(hidden)
        known = set(names)
        for name in trainable:
            if name not in known:
                shown = ", ".join(names) if hidden <= 4 else f"{names[0]}, {names[1]}, ..., {names[-1]}"
                _fail(
                    tree["trainable"], "training.trainable", f"no parameter '{name}' (with hidden: {hidden}: {shown})"
                )
        if not trainable:
            _fail(_At(tree.key_where["trainable"]), "training.trainable", "must name at least one parameter")
        t = dataclasses.replace(t, trainable=trainable)
    if "restarts" in tree:
        restarts = whole(tree["restarts"], "training.restarts", 1)
        if restarts > MAX_RESTARTS:
            _fail(tree["restarts"], "training.restarts", f"at most {MAX_RESTARTS:,}, got {restarts:,}")
        if restarts > 1 and init.seed is None:
            _fail(tree["restarts"], "training.restarts", "needs init: {seed: N} so that the starts differ")
        t = dataclasses.replace(t, restarts=restarts)
    trained = len(t.trainable) if t.trainable is not None else 3 * hidden + 1
    if t.optimizer == "lm" and trained > LM_MAX_PARAMETERS:
        _fail(
            tree["optimizer"],
            "training.optimizer",
            f"lm solves a {trained:,} x {trained:,} system each iteration; it takes at most "
            f"{LM_MAX_PARAMETERS:,} trainable parameters (hidden <= {(LM_MAX_PARAMETERS - 1) // 3}): use gd",
        )
    return t
