"""The README, executed: every fenced block in it runs on the files the repo ships and shows what it prints.

Each section of README.md (the text under its nearest heading) runs in a fresh copy of the shipped
files (``configs/``, ``data/``, ``docs/``, plus the Makefile and pyproject.toml for ``make train``),
the copy being the working folder and HOME, its blocks in the order they appear, so a ``predict`` on a
result sees the ``train`` before it. Every copy starts with the Quick start's ``runs/dosage.json``
(what a reader has after ``make train``), trained once per session.

- ``console`` blocks, and any block with ``$ `` prompts: each ``$ command`` runs through
  ``bash -o pipefail -c`` with the venv's bin first on PATH (``nnbackprop`` is the installed entry
  point, pipes and all), stdout and stderr merged as a terminal shows them, and the lines shown under
  it are compared with the lines printed: numbers to the digits shown, times such as ``(0.05 s)`` or
  ``0.42 s`` excepted, runs of spaces equal, ``…`` on a line of its own meaning "lines cut here"
  (shown lines without a ``…`` must be the whole output, and nothing shown means nothing printed).
- ``sh`` and plain blocks without prompts: each line that is not a comment is a command; it must exit
  with its expected code (0 unless :data:`EXIT_CODES` says otherwise). Their output is not shown, so
  it is not compared.
- ``python``: the section's blocks together are one doctest, run in the copy.
- ``yaml``: a block with a top-level ``data:`` is a whole config: written to ``configs/`` in the copy,
  it must load with :func:`nnbackprop.config.load` and pass ``train --dry-run``. A block without one is
  a fragment of a config: merged over ``configs/dosage.yaml``, the result must load.
- ``json``: the result-file example: every key it names (at every level) is a key a real result has,
  every number matches the real dosage result to the digits shown, and every key of a real result is
  in the example or in the key table under it. ``"..."`` stands for what is left out.

Blocks that cannot run here are in :data:`SKIPPED`, each with its reason; an entry the README no longer
has fails the test, as does a fenced block of a language this module does not know.
"""

from __future__ import annotations

import difflib
import doctest
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from nnbackprop import config

README = ROOT / "README.md"
SHIPPED_DIRS = ("configs", "data", "docs")
SHIPPED_FILES = ("Makefile", "pyproject.toml")
BIN = Path(sys.executable).parent  # the venv pytest runs from: its nnbackprop is the installed entry point

# Commands that do not run here, by their text without the trailing comment, and why.
SKIPPED = {
    "make test": "runs the whole suite, this test included",
    "make lint": "lints the source tree (nnbackprop/, tests/, benchmarks/), none of which the README's copy has",
    "pip install .": "installs into the environment the tests run in; the venv already has the checkout installed",
    "pip install '.[plot]'": "installs into the environment the tests run in; the venv already has matplotlib",
    "pip install '.[dask]'": "installs into the environment the tests run in; the venv already has dask",
}

# Commands whose documented outcome is a non-zero exit, by their text without the trailing comment.
EXIT_CODES = {
    "nnbackprop train --config configs/sine.yaml --lr 0.1 -q": 3,  # shown diverging
    "nnbackprop train --config configs/dosage.yaml --require-convergence -q": 5,  # the dosage run is not converged
}

# Commands whose numbers depend on the CPU, and why: their text is checked, their numbers not.
CPU_DEPENDENT = {
    # Barzilai-Borwein steps amplify last-bit differences (NumPy picks its exp/log kernels by CPU): a start
    # 4e-16 away ends 2% apart after 100 epochs. The same machine repeats it exactly.
    "nnbackprop train --config configs/sine.yaml --set training.learning_rate=auto --require-convergence -q "
    "-o runs/sine-gd.json": 5,
}
EXIT_CODES.update(CPU_DEPENDENT)

# Commands run in another form, and why.
REWRITTEN = {
    # make would build .venv: in the copy .venv is a link to the test's venv, and READY names a stamp newer
    # than pyproject.toml, so make goes straight to the training recipe (and echoes it, as it does for a user).
    "make train": "make train READY=.ready-for-the-readme-test",
    # zsh's script is not bash: the line runs in zsh where zsh is installed; elsewhere the script it evals
    # must be made.
    'eval "$(_NNBACKPROP_COMPLETE=zsh_source nnbackprop)"': (
        """zsh -c 'eval "$(_NNBACKPROP_COMPLETE=zsh_source nnbackprop)"'"""
        if shutil.which("zsh")
        else "_NNBACKPROP_COMPLETE=zsh_source nnbackprop | grep -q compdef"
    ),
}

# Programs the README's commands use that are the system's, not the project's: without one, its section is skipped.
TOOLS = ("make", "jq", "column", "cut", "seq")

# The languages of fenced blocks this module checks ("" is a plain fence).
COMMAND_LANGUAGES = {"", "sh", "console"}
KNOWN_LANGUAGES = COMMAND_LANGUAGES | {"python", "yaml", "json"}


# --- reading the README --------------------------------------------------------------------------


@dataclass
class Block:
    language: str
    text: str
    line: int  # of the opening fence, 1-based


@dataclass
class Section:
    heading: str
    line: int
    blocks: list[Block] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # its text, up to the next heading

    @property
    def id(self):
        return re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-")


def sections() -> list[Section]:
    """The README's sections that hold fenced blocks, each under its nearest heading."""
    found, fence, body = [Section("(top)", 1)], None, []
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        found[-1].lines.append(line)
        if fence is None:
            if m := re.match(r"(#{1,6}) (.*)", line):
                found.append(Section(m.group(2).strip(), number, lines=[line]))
            elif m := re.match(r"```(\S*)\s*$", line):
                fence, body = (m.group(1), number), []
        elif line.startswith("```"):
            found[-1].blocks.append(Block(fence[0], "\n".join(body) + "\n", fence[1]))
            fence = None
        else:
            body.append(line)
    assert fence is None, f"README.md:{fence[1]}: a fence that is never closed"
    return [s for s in found if s.blocks]


@dataclass
class Command:
    text: str  # as the README has it
    shown: list[str] | None  # the lines shown under it; None when the block shows no output
    line: int

    @property
    def key(self):
        """The command without a trailing ``# comment``."""
        return re.sub(r"\s+#\s.*$", "", self.text).strip()


def commands(block: Block) -> list[Command]:
    lines = block.text.splitlines()
    if any(line.startswith("$ ") for line in lines):
        found = []
        for offset, line in enumerate(lines, block.line + 1):
            if line.startswith("$ "):
                found.append(Command(line[2:], [], offset))
            else:
                assert found, f"README.md:{offset}: output before the first $ command"
                found[-1].shown.append(line)
        for command in found:
            while command.shown and not command.shown[-1].strip():
                command.shown.pop()
        return found
    return [
        Command(line, None, offset)
        for offset, line in enumerate(lines, block.line + 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


SECTIONS = sections()


# --- comparing what is shown with what is printed ------------------------------------------------

TIME = re.compile(r"\(\d+(?:\.\d+)? m?s\)|\b\d+(?:\.\d+)? m?s\b")
NUMBER = re.compile(r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


FULL_PRECISION = 12  # significant digits from which a number is a float's repr, not a rounding
CPU_RTOL = 1e-9  # a repr's last digits depend on the CPU (NumPy picks its exp/log kernels by CPU)
NOISE = 1e-12  # a number this small (gradcheck's rel_error at a minimum, say) is rounding noise: any two agree


def _same_number(shown: str, printed: str) -> bool:
    """Whether ``printed`` rounds to ``shown`` at the digits ``shown`` has; a number shown at full
    precision (a float's repr) agrees to ``CPU_RTOL``."""
    if shown == printed or max(abs(float(shown)), abs(float(printed))) < NOISE:
        return True
    mantissa, _, exponent = shown.lower().partition("e")
    if len(mantissa.replace("-", "").replace(".", "").lstrip("0")) >= FULL_PRECISION:
        return abs(float(printed) - float(shown)) <= CPU_RTOL * abs(float(shown))
    decimals = len(mantissa.partition(".")[2])
    unit = 10.0 ** (int(exponent or 0) - decimals)
    return abs(float(printed) - float(shown)) <= unit / 2 * (1 + 1e-9)


def same_line(shown: str, printed: str) -> bool:
    shown, printed = (TIME.sub("(time)", s) for s in (shown, printed))
    a, b = NUMBER.split(shown), NUMBER.split(printed)
    if len(a) != len(b):
        return False
    spaced = functools.partial(re.sub, r"\s+", " ")  # a run of spaces is a run of spaces, however long
    texts_agree = all(spaced(x) == spaced(y) for x, y in zip(a[::2], b[::2]))
    return texts_agree and all(_same_number(x, y) for x, y in zip(a[1::2], b[1::2]))


def _segment_at(segment, printed, start) -> bool:
    return start + len(segment) <= len(printed) and all(
        same_line(s, p) for s, p in zip(segment, printed[start : start + len(segment)])
    )


def shows(shown: list[str], printed: list[str]) -> bool:
    """Whether the lines ``shown`` (``…`` lines marking cuts) are what was ``printed``."""
    segments, current = [], []
    for line in shown:
        if line.strip() == "…":
            segments.append(current)
            current = []
        else:
            current.append(line)
    segments.append(current)
    if len(segments) == 1:
        return len(shown) == len(printed) and _segment_at(shown, printed, 0)
    first, *middle, last = segments
    if not _segment_at(first, printed, 0):
        return False
    at = len(first)
    for segment in middle:
        while at <= len(printed) - len(segment) and not _segment_at(segment, printed, at):
            at += 1
        if at > len(printed) - len(segment):
            return False
        at += len(segment)
    return len(printed) - len(last) >= at and _segment_at(last, printed, len(printed) - len(last))


def _numbers_hidden(command, *texts):
    """The texts as they are, or with every number a 0 for a command in ``CPU_DEPENDENT``."""
    if command.key not in CPU_DEPENDENT:
        return texts
    return [[NUMBER.sub("0", line) for line in lines] for lines in texts]


# --- running ---------------------------------------------------------------------------------------


def _environment(home: Path) -> dict:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", HOME=str(home))
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr in the order a terminal shows them
    for name in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "MAKELEVEL", "MAKEFLAGS", "MFLAGS"):
        env.pop(name, None)  # (under `make test`, a make inside would say which folder it enters)
    return env


def run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        env=_environment(cwd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )


def _copy_shipped(to: Path) -> Path:
    for name in SHIPPED_DIRS:
        shutil.copytree(ROOT / name, to / name)
    for name in SHIPPED_FILES:
        shutil.copy(ROOT / name, to / name)
    (to / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    stamp = to / REWRITTEN["make train"].split("READY=")[1]
    stamp.touch()
    older = stamp.stat().st_mtime - 60
    os.utime(to / "pyproject.toml", (older, older))
    (to / "runs").mkdir()
    (to / ".config" / "fish" / "completions").mkdir(parents=True)  # a fish user's home has it (fish makes it)
    return to


@pytest.fixture(scope="session")
def quick_start_result(tmp_path_factory) -> Path:
    """``runs/dosage.json`` as the Quick start leaves it (``nnbackprop train --config configs/dosage.yaml``)."""
    where = _copy_shipped(tmp_path_factory.mktemp("quick-start"))
    done = run("nnbackprop train --config configs/dosage.yaml -q", where)
    assert done.returncode == 0, done.stdout
    return where / "runs" / "dosage.json"


@pytest.fixture
def copy(tmp_path, quick_start_result) -> Path:
    where = _copy_shipped(tmp_path / "repo")
    shutil.copy(quick_start_result, where / "runs" / "dosage.json")
    return where


def check_commands(block: Block, where: Path, failures: list):
    for command in commands(block):
        if command.key in SKIPPED:
            continue
        # never let a README command change the environment the tests run in
        assert not re.match(r"(pip|python -m pip|uv)\b", command.key), f"list {command.key!r} in SKIPPED"
        text = REWRITTEN.get(command.key, command.text)
        for tool in TOOLS:
            if re.search(rf"(^|[|;&]\s*){tool}\b", text) and not shutil.which(tool):
                pytest.skip(f"{tool} is not installed")  # a tool of the system's, not the project's
        done = run(text, where)
        expected = EXIT_CODES.get(command.key, 0)
        printed = done.stdout.splitlines()
        while printed and not printed[-1].strip():
            printed.pop()
        where_ = f"README.md:{command.line}: $ {command.text}"
        if done.returncode != expected:
            failures.append(f"{where_}\n  exit {done.returncode}, expected {expected}:\n{done.stdout}")
        elif command.shown is not None and not shows(*_numbers_hidden(command, command.shown, printed)):
            diff = "\n".join(difflib.unified_diff(command.shown, printed, "shown", "printed", lineterm=""))
            failures.append(f"{where_}\n  prints something else than shown:\n{diff}")


def check_python(blocks: list[Block], where: Path, monkeypatch, failures: list):
    monkeypatch.chdir(where)
    source = "\n".join(block.text for block in blocks)
    test = doctest.DocTestParser().get_doctest(source, {}, "README", str(README), blocks[0].line)
    assert test.examples, f"README.md:{blocks[0].line}: a python block with no >>> example"
    out = []
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test, out=out.append)
    if runner.summarize(verbose=False).failed:
        failures.append(f"README.md:{blocks[0].line}: the python blocks fail as a doctest:\n" + "".join(out))


def check_yaml(block: Block, where: Path, failures: list):
    tree = yaml.safe_load(block.text)
    assert isinstance(tree, dict), f"README.md:{block.line}: a YAML block that is not a mapping"
    path = where / "configs" / f"readme-line-{block.line}.yaml"
    if "data" in tree:  # a whole config
        path.write_text(block.text, encoding="utf-8")
        done = run(f"nnbackprop train -c {path.relative_to(where)} --dry-run", where)
        if done.returncode != 0:
            failures.append(f"README.md:{block.line}: the config does not pass train --dry-run:\n{done.stdout}")
    else:  # a fragment: over the shipped dosage config
        whole = yaml.safe_load((where / "configs" / "dosage.yaml").read_text())
        for key, value in tree.items():
            whole[key] = (
                {**whole[key], **value} if isinstance(value, dict) and isinstance(whole.get(key), dict) else value
            )
        path.write_text(yaml.safe_dump(whole), encoding="utf-8")
    try:
        config.load(str(path))
    except Exception as e:  # noqa: BLE001 - reported as the README's failure
        failures.append(f"README.md:{block.line}: the config does not load: {e}")


def _compare_document(shown, real, at, failures):
    """Every key and number of the example ``shown`` as the real result ``real`` has it."""
    if shown == "..." or at == "wall_time_s":
        return
    if isinstance(shown, dict):
        if not isinstance(real, dict):
            failures.append(f"{at}: the example has a mapping, a real result {real!r}")
            return
        for key, value in shown.items():
            if key == "...":
                continue
            where = f"{at}.{key}" if at else key
            if key not in real:
                failures.append(f"{where}: not a key of a real result (it has {', '.join(real)})")
            else:
                _compare_document(value, real[key], where, failures)
    elif isinstance(shown, list):
        cut = shown[-1:] == ["..."]
        shown = shown[:-1] if cut else shown
        if not isinstance(real, list) or (len(real) < len(shown) if cut else len(real) != len(shown)):
            failures.append(f"{at}: the example's list {shown!r} is not what a real result has")
            return
        for k, value in enumerate(shown):
            _compare_document(value, real[k], f"{at}[{k}]", failures)
    elif isinstance(shown, bool) or shown is None or isinstance(shown, str):
        if shown != real:
            failures.append(f"{at}: the example has {shown!r}, a real result {real!r}")
    elif not isinstance(real, (int, float)) or isinstance(real, bool) or not _same_number(repr(shown), repr(real)):
        failures.append(f"{at}: the example has {shown!r}, a real result {real!r}")


def check_json(block: Block, section_text: str, where: Path, failures: list):
    shown = json.loads(block.text)
    real = json.loads((where / "runs" / "dosage.json").read_text())
    problems = []
    _compare_document(shown, real, "", problems)
    tabled = {
        key for row in re.findall(r"^\| (.*?) \|", section_text, flags=re.M) for key in re.findall(r"`(\w+)`", row)
    }
    missing = [key for key in real if key not in shown and key not in tabled]
    if missing:
        problems.append(f"keys of a real result neither in the example nor in the table: {', '.join(missing)}")
    failures.extend(f"README.md:{block.line}: the result example: {p}" for p in problems)


# --- the tests -------------------------------------------------------------------------------------

SLOW = {"plot", "in-ci-and-scripts"}  # sections that take over 3 s: matplotlib; five dosage trainings


def test_every_block_is_of_a_kind_this_module_checks():
    blocks = [(b.line, b.language) for s in SECTIONS for b in s.blocks]
    assert len(blocks) >= 25
    assert [(line, language) for line, language in blocks if language not in KNOWN_LANGUAGES] == []


@pytest.mark.parametrize(
    "section",
    [pytest.param(s, id=s.id, marks=[pytest.mark.slow] if s.id in SLOW else []) for s in SECTIONS],
)
def test_the_section_does_what_it_shows(section, copy, monkeypatch):
    failures: list[str] = []
    python = [b for b in section.blocks if b.language == "python"]
    for block in section.blocks:
        if block.language in COMMAND_LANGUAGES:
            check_commands(block, copy, failures)
        elif block.language == "yaml":
            check_yaml(block, copy, failures)
        elif block.language == "json":
            check_json(block, "\n".join(section.lines), copy, failures)
    if python:
        check_python(python, copy, monkeypatch, failures)
    assert not failures, "\n\n".join(failures)


def test_every_skip_and_exit_code_is_still_in_the_readme():
    keys = {c.key for s in SECTIONS for b in s.blocks if b.language in COMMAND_LANGUAGES for c in commands(b)}
    assert sorted(set(SKIPPED) - keys) == []
    assert sorted(set(EXIT_CODES) - keys) == []
    assert sorted(set(REWRITTEN) - keys) == []
