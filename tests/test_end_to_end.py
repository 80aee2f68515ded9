"""The installed `nnbackprop` command in real processes: the shipped example, signals, resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, STATQUEST_OPTIMIZED

COMMAND = Path(sys.executable).parent / "nnbackprop"


def nnbackprop(*args, **kw):
    return subprocess.run([str(COMMAND), *map(str, args)], capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture(autouse=True)
def installed():
    if not COMMAND.exists():
        pytest.fail(f"{COMMAND} is not installed: run the tests through `make test`")


def test_shipped_dosage_example_reproduces_statquest(tmp_path):
    out = tmp_path / "dosage.json"
    run = nnbackprop("train", "--config", ROOT / "configs" / "dosage.yaml", "--out", out)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    doc = json.loads(out.read_text())
    assert {k: round(v, 2) for k, v in doc["params"].items()} == STATQUEST_OPTIMIZED
    assert "w1 = 3.338" in run.stderr
    predicted = nnbackprop("predict", "--params", out, "0", "0.5", "1")
    values = [float(line.split(",")[1]) for line in predicted.stdout.splitlines()[1:]]
    np.testing.assert_allclose(values, [0, 1, 0], atol=1e-3)


def test_python_dash_m_works_too():
    run = subprocess.run([sys.executable, "-m", "nnbackprop", "--version"], capture_output=True, text=True)
    assert run.returncode == 0
    assert "nnbackprop" in run.stdout


def test_a_pipeline_reads_final_loss_from_stdout():
    train = nnbackprop("train", "--config", ROOT / "configs" / "dosage.yaml", "--out", "-", "-q")
    assert train.returncode == 0
    assert train.stderr == ""
    assert json.loads(train.stdout)["final_loss"] < 1e-6


@pytest.fixture
def slow_config(tmp_path):
    """A run of a few seconds: 5,000 rows, never converging before max_epochs."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=5_000)
    y = 4 * x * (1 - x) + rng.normal(scale=0.05, size=x.size)
    np.savetxt(tmp_path / "big.csv", np.column_stack([x, y]), delimiter=",", header="x,y", comments="")
    config = tmp_path / "big.yaml"
    config.write_text(
        "data: {path: big.csv}\ninit: {seed: 1}\n"
        "training: {learning_rate: 0.00001, max_epochs: 4000, min_step_size: 0}\n"
    )
    return config


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_writes_the_result_so_far_and_resume_matches_an_uninterrupted_run(tmp_path, slow_config, signum, code):
    out = tmp_path / "run.json"
    proc = subprocess.Popen(
        [str(COMMAND), "train", "-c", slow_config, "--out", out, "--checkpoint-every", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert "--resume" in stderr
    interrupted = json.loads(out.read_text())
    assert interrupted["stop_reason"] == "interrupted"
    assert 0 < interrupted["epochs"] < 4000
    assert len(interrupted["loss_history"]) == interrupted["epochs"] + 1

    resumed = nnbackprop("train", "-c", slow_config, "--resume", out, "--out", tmp_path / "resumed.json")
    assert resumed.returncode == 0, resumed.stderr
    whole = nnbackprop("train", "-c", slow_config, "--out", tmp_path / "whole.json")
    a = json.loads((tmp_path / "resumed.json").read_text())
    b = json.loads((tmp_path / "whole.json").read_text())
    for key in (
        "params",
        "initial_params",
        "loss_history",
        "epochs",
        "stop_reason",
        "best_epoch",
        "best_loss",
        "best_params",
    ):
        assert a[key] == b[key], key
    assert whole.returncode == 0


def test_predict_streams_and_a_closed_pipe_ends_quietly(tmp_path):
    out = tmp_path / "dosage.json"
    assert nnbackprop("train", "--config", ROOT / "configs" / "dosage.yaml", "--out", out, "-q").returncode == 0
    with subprocess.Popen(
        [str(COMMAND), "predict", "--params", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        proc.stdin.write("0.5\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "input,prediction\n"  # answers before its input ends
        assert proc.stdout.readline().startswith("0.5,")
        proc.stdin.close()
        assert proc.stderr.read() == ""
        assert proc.wait(timeout=30) == 0
    head = subprocess.run(
        f"seq 0 0.0001 100 | '{COMMAND}' predict -p '{out}' | head -3",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert head.stdout.splitlines()[0] == "input,prediction"
    assert len(head.stdout.splitlines()) == 3
    assert head.stderr == ""


def test_usage_errors_and_a_full_stdout_are_one_line_each(tmp_path):
    usage = nnbackprop("train")
    assert usage.returncode == 2
    assert usage.stderr.count("\n") == 1
    assert usage.stderr.startswith("Error: ")
    with open("/dev/full", "w") as full:
        run = subprocess.run(
            [str(COMMAND), "predict", "-p", ROOT / "nowhere.json", "1"], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    result = tmp_path / "r.json"
    assert nnbackprop("train", "-c", ROOT / "configs" / "dosage.yaml", "-o", result, "-q").returncode == 0
    with open("/dev/full", "w") as full:
        run = subprocess.run(
            [str(COMMAND), "predict", "-p", str(result), "1"], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert run.returncode == 2
    assert run.stderr == "Error: stdout: cannot write: No space left on device\n"


def test_dev_stdout_appends_to_a_redirected_file_and_bare_nnbackprop_shows_help(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("earlier\n")
    config = ROOT / "configs" / "lesson1-main-ideas.yaml"
    with open(log, "a") as f:
        run = subprocess.run([str(COMMAND), "train", "-c", str(config), "-q", "--out", "/dev/stdout"], stdout=f)
    assert run.returncode == 0
    text = log.read_text()
    assert text.startswith("earlier\n")
    assert json.loads(text[len("earlier\n") :])["stop_reason"] == "min_step_size"
    bare = nnbackprop()
    assert bare.stderr.startswith("Usage: nnbackprop")
    assert "Commands:" in bare.stderr
