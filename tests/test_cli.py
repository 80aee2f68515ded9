"""The command line, through click's CliRunner: train, predict, and their errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import STATQUEST_CONFIG, STATQUEST_OPTIMIZED

from nnbackprop.cli import EXIT_CODES, cli
from nnbackprop.network import forward

RESULT_KEYS = {"params", "initial_params", "loss_history", "epochs", "stop_reason", "final_loss", "model", "config", "version"}


def invoke(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


@pytest.fixture
def trained(write_config, tmp_path):
    """A result file trained on the dosage data, and its config."""
    config = write_config(STATQUEST_CONFIG)
    out = tmp_path / "result.json"
    result = invoke("train", "--config", config, "--out", out)
    assert result.exit_code == 0, result.output
    return out, config


def test_train_writes_the_result_and_talks_on_stderr(trained):
    out, _ = trained
    doc = json.loads(out.read_text())
    assert RESULT_KEYS <= doc.keys()
    assert doc["stop_reason"] == "min_step_size"
    assert len(doc["loss_history"]) == doc["epochs"] + 1
    assert doc["final_loss"] == doc["loss_history"][-1]
    assert doc["model"] == {"hidden": 2, "activation": "softplus"}
    assert doc["initial_params"]["w2"] == -1.13
    assert {k: round(v, 2) for k, v in doc["params"].items()} == STATQUEST_OPTIMIZED
    assert doc["config"]["training"]["learning_rate"] == 0.01
    assert doc["best_loss"] <= doc["final_loss"]


def test_train_out_dash_prints_only_json_on_stdout(write_config):
    result = invoke("train", "--config", write_config(STATQUEST_CONFIG), "--out", "-", "--epochs", "100")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)  # nothing but the JSON
    assert doc["epochs"] == 100 and doc["stop_reason"] == "max_epochs"
    assert "100 epochs" in result.stderr and "w1 =" in result.stderr


def test_same_config_and_seed_give_the_same_result(write_config):
    config = write_config("data: {path: data.csv}\ninit: {seed: 11}\ntraining: {max_epochs: 300}\n")
    first = json.loads(invoke("train", "-c", config, "--out", "-").stdout)
    second = json.loads(invoke("train", "-c", config, "--out", "-").stdout)
    for key in ("params", "initial_params", "loss_history"):
        assert first[key] == second[key]
    other = json.loads(invoke("train", "-c", config, "--out", "-", "--seed", "12").stdout)
    assert other["initial_params"] != first["initial_params"]


def test_quiet_says_nothing(write_config):
    result = invoke("train", "-c", write_config(STATQUEST_CONFIG), "--out", "-", "--epochs", "5", "-q")
    assert result.exit_code == 0 and result.stderr == ""


def test_predict_values_csv_and_json(trained):
    out, _ = trained
    doc = json.loads(out.read_text())
    result = invoke("predict", "--params", out, "0", "0.5", "1")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "input,prediction"
    rows = [tuple(map(float, line.split(","))) for line in lines[1:]]
    theta = [doc["params"][n] for n in ("w1", "b1", "w2", "b2", "w3", "w4", "b3")]
    import numpy as np

    expected = forward(np.array(theta), np.array([0, 0.5, 1.0]))
    assert [r[0] for r in rows] == [0, 0.5, 1]
    assert [r[1] for r in rows] == expected.tolist()
    as_json = json.loads(invoke("predict", "-p", out, "--format", "json", "--", "-1", "0.5").stdout)
    assert [r["input"] for r in as_json] == [-1, 0.5]
    assert as_json[1]["prediction"] == expected[1]


def test_predict_reads_files_and_stdin(trained, tmp_path):
    out, _ = trained
    (tmp_path / "in.csv").write_text("patient,dosage\na,0.25\nb,0.75\n")
    from_csv = invoke("predict", "-p", out, "--input", tmp_path / "in.csv")
    from_stdin = invoke("predict", "-p", out, "--input", "-", input="0.25\n0.75\n")
    from_pipe = invoke("predict", "-p", out, input="0.25\n0.75\n")
    assert from_csv.exit_code == from_stdin.exit_code == from_pipe.exit_code == 0
    assert from_csv.stdout == from_stdin.stdout == from_pipe.stdout
    assert len(from_csv.stdout.splitlines()) == 3


def test_predict_refuses_empty_input(trained):
    out, _ = trained
    result = invoke("predict", "-p", out, "--format", "json", "-i", "-", input="")
    assert result.exit_code == 2 and "-: empty" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "-p", "{out}", "abc"], "Error: value 1 ('abc'): not a number"),
        (["predict", "-p", "{out}", "nan"], "Error: value 1 ('nan'): not a finite number"),
        (["predict", "-p", "{out}", "-i", "{tmp}/nope.txt"], "nope.txt: no such file"),
        (["predict", "-p", "{tmp}/nope.json", "1"], "nope.json: no such result file"),
        (["train", "-c", "{tmp}/nope.yaml"], "nope.yaml: no such config file"),
        (["train", "-c", "{config}", "--lr", "-1"], "--set training.learning_rate=-1: training.learning_rate: must be greater than 0"),
        (["train", "-c", "{config}", "--set", "training.epochs=5"], "training.epochs: unknown key (did you mean 'max_epochs'?)"),
    ],
)
def test_errors_are_one_line_exit_2_no_traceback(trained, tmp_path, args, message):
    out, config = trained
    result = invoke(*[a.format(out=out, tmp=tmp_path, config=config) for a in args])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "bad.json:1:1: not valid JSON"),
        ("[1, 2]", "bad.json: expected a JSON object"),
        ('{"model": {"hidden": 2, "activation": "softplus"}}', "bad.json: params: missing"),
        ('{"model": {"hidden": 2, "activation": "softplus"}, "params": {"w1": 1}}', "params: does not fit a network with hidden: 2 (missing b1, w2, b2, w3, w4, b3)"),
        ('{"model": {"hidden": "2", "activation": "softplus"}, "params": {}}', 'model.hidden: expected int, got "2"'),
        ('{"model": {"hidden": 1, "activation": "softplus"}, "params": {"w1": 1, "b1": 0, "w2": "x", "b2": 0}}', 'params.w2: must be a finite number, got "x"'),
        ('{"model": {"hidden": 1, "activation": "softplus"}, "params": {"w1": NaN, "b1": 0, "w2": 1, "b2": 0}}', "NaN is not a number JSON allows"),
    ],
)
def test_bad_result_files(tmp_path, content, message):
    (tmp_path / "bad.json").write_text(content)
    result = invoke("predict", "-p", tmp_path / "bad.json", "1")
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1


def test_a_failed_run_leaves_an_existing_output_untouched(write_config, tmp_path):
    out = tmp_path / "keep.json"
    out.write_text('{"precious": true}')
    config = write_config(STATQUEST_CONFIG.replace("data.csv", "missing.csv"))
    result = invoke("train", "-c", config, "--out", out)
    assert result.exit_code == 2
    assert out.read_text() == '{"precious": true}'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_help_lists_every_exit_code_and_every_command_has_an_example():
    result = invoke("--help")
    for code in EXIT_CODES:
        assert f"{code:>3}  " in result.stdout
    for name, command in cli.commands.items():
        help_text = invoke(name, "--help").stdout
        assert "Examples:" in help_text and f"nnbackprop {name}" in help_text, name


def test_version():
    from nnbackprop import __version__

    assert invoke("--version").stdout.strip().endswith(__version__)
