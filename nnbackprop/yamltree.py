"""YAML that remembers where each value stood, and readers that interpret its scalars.

The YAML is composed, never constructed: every scalar stays a :class:`Scalar` with its
text and its ``file:line`` (or the ``--set`` option it came from) until a reader asks for
the type the schema wants, so numbers read as people write them (``1e-3``, ``.5``), a
column named ``no`` stays a string, and every error names the place and the dotted key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import os
import re
from collections import abc
from dataclasses import dataclass

import yaml

from .errors import ConfigError


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


_FastLoader = getattr(yaml, "CSafeLoader", None)  # libyaml: 10x faster; its nodes are the same


def _compose(text: str):
    """The YAML node graph of ``text``: by libyaml where it is installed, and by PyYAML's
    own parser when libyaml refuses the text, so every error reads the same either way."""
    if _FastLoader is not None:
        try:
            return yaml.compose(text, Loader=_FastLoader)
        except yaml.YAMLError:
            pass  # PyYAML's parser says what is wrong, in its words
    return yaml.compose(text, Loader=_Loader)


MAX_DEPTH = 50  # mappings and lists inside each other; a config needs 3
MAX_ALIASED = 10_000  # values reached through aliases (*name), counted with repeats: no "billion laughs"


class _Budget:
    """What composing one YAML text may cost: depth and alias expansion, bounded."""

    def __init__(self, source: str):
        self.source, self.seen, self.aliased = source, set(), 0

    def visit(self, node, depth: int, via_alias: bool) -> bool:
        """Count ``node``; True when it is reached through an alias (seen before, or inside one)."""
        if depth > MAX_DEPTH:
            levels = f"more than {MAX_DEPTH} levels, or a recursive alias"
            raise ConfigError(f"{self.source}: YAML nested too deeply ({levels})")
        via_alias = via_alias or id(node) in self.seen
        self.seen.add(id(node))
        if via_alias:
            self.aliased += 1
            if self.aliased > MAX_ALIASED:
                raise ConfigError(
                    f"{self.source}: YAML aliases expand to more than {MAX_ALIASED:,} values; write the values out"
                )
        return via_alias


def _tree(node, source: str, path: str = "", budget: _Budget | None = None, depth: int = 0, via_alias=False):
    """A YAML node as dicts, lists and :class:`Scalar` s; duplicate keys are errors.

    Aliases are expanded, within ``budget``: at most :data:`MAX_ALIASED` values reached
    through them and :data:`MAX_DEPTH` levels, so a crafted file costs bounded work.
    """
    budget = budget or _Budget(source)
    via_alias = budget.visit(node, depth, via_alias)
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
            out[key] = _tree(value_node, source, dotted, budget, depth + 1, via_alias)
            out.key_where[key] = f"{source}:{key_node.start_mark.line + 1}"
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_tree(item, source, f"{path}[{i}]", budget, depth + 1, via_alias) for i, item in enumerate(node.value)]
    style = node.style or None  # libyaml writes '' for a plain scalar, PyYAML None
    null = node.tag == "tag:yaml.org,2002:null" and style is None
    return Scalar(node.value, style is not None, where, null)


def read_tree(text: str, source: str):
    try:
        node = _compose(text)
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
        raise ConfigError(f"{source}: expected a mapping of keys (data, model, init, ...), got a {kind(tree)}")
    return tree


def kind(value) -> str:
    return "mapping" if isinstance(value, dict) else "list" if isinstance(value, list) else "single value"


# --- interpreting scalars ------------------------------------------------------------

NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def fail(value, key: str, message: str):
    where = getattr(place(value), "where", None)
    prefix = f"{where}: " if where else ""
    raise ConfigError(f"{prefix}{key}: {message}")


def shown(value) -> str:
    if isinstance(value, Scalar):
        return "nothing" if value.null else repr(value.text)
    return f"a {kind(value)}"


def number(value, key: str) -> float:
    if not isinstance(value, Scalar) or value.null or value.quoted or not NUMBER.fullmatch(value.text):
        fail(value, key, f"must be a number, got {shown(value)}")
    result = float(value.text)
    if not math.isfinite(result):
        fail(value, key, f"must be a finite number, got {value.text!r}")
    return result


DIGITS = re.compile(r"\+?[0-9]+", re.ASCII)
MAX_DIGITS = 100


def whole(value, key: str, minimum: int) -> int:
    if isinstance(value, Scalar) and not value.null and not value.quoted and DIGITS.fullmatch(value.text):
        digits = value.text.lstrip("+")  # exactly as written: seed 2**64 + 1 is not rounded to 2**64
        if len(digits) > MAX_DIGITS:
            fail(value, key, f"must be a whole number of at most {MAX_DIGITS} digits, got {len(digits):,} digits")
        result = int(digits)
    else:
        result = number(value, key) if isinstance(value, Scalar) and not value.null else None
    if result is None or result != int(result):
        fail(value, key, f"must be a whole number, got {shown(value)}")
    if result < minimum:
        fail(value, key, f"must be at least {minimum}, got {value.text}")
    return int(result)


def text(value, key: str) -> str:
    if not isinstance(value, Scalar) or value.null or not value.text.strip():
        fail(value, key, f"must be a non-empty string, got {shown(value)}")
    return value.text.strip()


BOOLEAN = re.compile(r"true|false|yes|no|on|off", re.IGNORECASE)  # YAML's booleans, unquoted


def path(value, key: str) -> str:
    """A file's path: a string, but not an unquoted YAML number or boolean (``output: true``
    is not a file named "true", unless it is quoted)."""
    name = text(value, key)
    if not value.quoted and (NUMBER.fullmatch(name) or BOOLEAN.fullmatch(name)):
        kind = "number" if NUMBER.fullmatch(name) else "boolean"
        fail(
            value, key, f"must be a file's path, got the {kind} {name}; quote it ('{name}') if that is the file's name"
        )
    return name


def optional(value, read, key, *args):
    if isinstance(value, Scalar) and value.null:
        return None
    return read(value, key, *args)


def name_list(value, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(text(item, f"{key}[{i}]" if isinstance(value, list) else key) for i, item in enumerate(items))


def check_keys(mapping, allowed, path: str):
    if not isinstance(mapping, Mapping):
        fail(mapping, path, f"must be a mapping, got {shown(mapping)}")
    known = set(allowed)  # a set: init of 100,000 neurons allows 300,002 keys
    for key in mapping:
        if key not in known:
            dotted = f"{path}.{key}" if path else key
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(allowed)})"
            fail(At(mapping.key_where[key]), dotted, f"unknown key{hint}")


@dataclass(frozen=True)
class At:
    where: str


def place(value):
    """Something with a ``where`` for any value: lists have none of their own."""
    if isinstance(value, list):
        return next((place(v) for v in value), At(""))
    return value


def apply_override(tree: dict, override):
    """Set a dotted key from ``KEY=VALUE`` or ``(key, value, where)``; the value is read as YAML."""
    if isinstance(override, str):
        key, sep, raw = override.partition("=")
        where = f"--set {override}"
        if not sep or not key.strip():
            raise ConfigError(f"{where}: expected KEY=VALUE, such as training.learning_rate=0.05")
    else:
        key, raw, where = override
    set_key(tree, key, read_value(raw, where), where)


def set_key(tree: dict, key: str, value, where: str):
    """Put ``value`` (a tree) at the dotted ``key``, making the mappings on the way."""
    parts = key.strip().split(".")
    node = tree
    for i, part in enumerate(parts):
        if not isinstance(node, Mapping):
            fail(At(where), key.strip(), f"'{part}' sits inside a value that is not a mapping")
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
        node = _compose(raw if raw.strip() else "~")
        return _rewhere(_tree(node, where), where)
    except (yaml.YAMLError, RecursionError):
        raise ConfigError(f"{where}: cannot read the value as YAML") from None


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


def is_override(where: str) -> bool:
    """Whether a value came from the command line or a Python call rather than a file."""
    return where.startswith(("--", "fit("))


def from_python(value, where: str):
    """Python values (mappings, lists, numbers, strings, None) as the tree YAML would give.

    Strings read as quoted YAML would: ``"0.5"`` is text, not a number.  Every part is
    placed at ``where`` (``fit(learning_rate=...)``, say) for errors.
    """
    if isinstance(value, abc.Mapping):
        out = Mapping(where)
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(f"{where}: keys must be strings, got {key!r}")
            out[key] = from_python(item, where)
            out.key_where[key] = where
        return out
    if isinstance(value, (list, tuple)):
        return [from_python(item, where) for item in value]
    if value is None:
        return Scalar("~", False, where, null=True)
    if isinstance(value, bool):
        return Scalar(str(value).lower(), False, where)
    if isinstance(value, numbers.Integral):
        return Scalar(str(int(value)), False, where)
    if isinstance(value, numbers.Real):
        return Scalar(repr(float(value)), False, where)
    if isinstance(value, (str, os.PathLike)):
        return Scalar(os.fspath(value), True, where)
    raise ConfigError(f"{where}: cannot use a {type(value).__name__} as a config value")
