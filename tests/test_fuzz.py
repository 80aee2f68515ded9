"""Whatever the CLI is fed, it answers with a documented exit code, never a traceback, and loses nothing."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnbackprop.cli import ExitStatus

VALID_CONFIG = {
    "data": {"path": "data.csv", "input": "dosage", "target": "efficacy"},
    "model": {"hidden": 2, "activation": "softplus"},
    "init": {"w1": 2.74, "b1": 0.0, "w2": -1.13, "b2": 0.0, "w3": 0.36, "w4": 0.63, "b3": 0.0},
    "training": {"learning_rate": 0.1, "max_epochs": 20, "min_step_size": 0.001},
}
VALID_CSV = "dosage,efficacy\n0,0\n0.5,1\n1,0\n"
SENTINEL = '{"an existing result": "must survive"}'
FUZZ = settings(
    max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["1e-3", ".5", ".inf", ".nan", "-1", "0", "softplus", "relu", "w1", "b9", "data.csv", "nope.csv"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)
paths = st.sampled_from(
    [
        ("data",),
        ("data", "path"),
        ("data", "input"),
        ("model",),
        ("model", "hidden"),
        ("model", "activation"),
        ("init",),
        ("init", "w1"),
        ("init", "seed"),
        ("training",),
        ("training", "learning_rate"),
        ("training", "max_epochs"),
        ("training", "min_step_size"),
        ("training", "trainable"),
        ("training", "restarts"),
        ("output",),
        ("extra",),
        ("model", "extra"),
    ]
)


def mutate_tree(tree, path, value):
    node = tree
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    if value == "<delete>":
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def mutate_text(text: str, edits) -> str:
    for position, insert, delete in edits:
        position %= len(text) + 1
        text = text[:position] + insert + text[position + delete :]
    return text


text_edits = st.lists(st.tuples(st.integers(0, 400), st.text(max_size=4), st.integers(0, 3)), max_size=4)


def run_train(invoke, config_text: str, csv: bytes | str):
    """Train in a fresh folder; check the invariants; return the exit code."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "c.yaml").write_text(config_text, encoding="utf-8", errors="surrogatepass")
        (folder / "data.csv").write_bytes(csv.encode("utf-8", "surrogatepass") if isinstance(csv, str) else csv)
        (folder / "out.json").write_text(SENTINEL)
        before = sorted(p.name for p in folder.iterdir())
        result = invoke("train", "-c", folder / "c.yaml", "--out", folder / "out.json", "--epochs", "20")
        check(result)
        assert sorted(p.name for p in folder.iterdir()) == before  # no temporary file left behind
        written = (folder / "out.json").read_text()
        if result.exit_code in (0, 3, 5):
            json.loads(written, parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(c)))  # strict JSON
        else:
            assert written == SENTINEL
        return result.exit_code


def check(result):
    assert result.exit_code in set(ExitStatus), (result.exit_code, result.output)
    assert result.exit_code != 1, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: ") or "Usage:" in result.stderr


@FUZZ
@given(st.lists(st.tuples(paths, st.one_of(values, st.just("<delete>"))), min_size=1, max_size=4))
def test_mutated_configs(invoke, mutations):
    tree = json.loads(json.dumps(VALID_CONFIG))
    for path, value in mutations:
        mutate_tree(tree, path, value)
    run_train(invoke, yaml.safe_dump(tree, allow_unicode=True), VALID_CSV)


@FUZZ
@given(text_edits)
def test_mutated_config_text(invoke, edits):
    run_train(invoke, mutate_text(yaml.safe_dump(VALID_CONFIG), edits), VALID_CSV)


@FUZZ
@given(st.one_of(text_edits.map(lambda e: mutate_text(VALID_CSV, e)), st.binary(max_size=64)))
def test_mutated_csv(invoke, csv):
    run_train(invoke, yaml.safe_dump(VALID_CONFIG), csv)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["params", "model", "params.w1", "model.hidden", "model.activation", "config", "config.data", "extra"]
            ),
            st.one_of(values, st.just("<delete>")),
        ),
        max_size=3,
    ),
    text_edits,
)
def test_mutated_result_files(invoke, mutations, edits):
    document = {
        "model": {"hidden": 2, "activation": "softplus"},
        "params": {"w1": 3.34, "b1": -1.43, "w2": -3.53, "b2": 0.57, "w3": -1.22, "w4": -2.30, "b3": 2.61},
        "config": {"data": {"input": "dosage"}},
    }
    for path, value in mutations:
        mutate_tree(document, tuple(path.split(".")), value)
    text = mutate_text(json.dumps(document), edits)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.json"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        for args in (["0", "0.5"], ["--input", "-"]):
            result = invoke("predict", "-p", path, *args, input="dosage\n0.25\n")
            check(result)
            if result.exit_code == 0:
                assert result.stdout.startswith("input,prediction\n")
