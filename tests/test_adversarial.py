"""An adversary's pass over every promise: outputs that name inputs, odd files, endless streams,
YAML bombs, crafted result files, extreme numbers, hostile text, closed streams and signals.

Each case is the one that exposed a root cause (issue 13); the fix lives once, where the cause
did: the output guard and the atomic batch in ``files``, the bounded reader in ``files``, the
alias budget in ``yamltree``, the result checks in ``results``, the one-line error and the
signal policy at the command line's edge.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnbackprop import files, results
from nnbackprop.cli import cli
from nnbackprop.cli.common import one_line, printable
from nnbackprop.errors import ConfigError, ResultError

CSV = "dosage,efficacy\n0,0\n0.5,1\n1,0\n"
CONFIG = (
    "data: {path: data.csv}\n"
    "init: {w1: 2.74, b1: 0.0, w2: -1.13, b2: 0.0, w3: 0.36, w4: 0.63, b3: 0.0}\n"
    "training: {learning_rate: 0.01, max_epochs: 30, min_step_size: 0}\n"
)
_RUNNER = {"mix_stderr": False} if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else {}


def invoke(*args, input=None):
    return CliRunner(**_RUNNER).invoke(cli, [str(a) for a in args], input=input)


def nb(*args, **kw):
    """``python -m nnbackprop ARGS`` in a real process."""
    if "stdout" not in kw and "stderr" not in kw:
        kw["capture_output"] = True
    else:
        kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "nnbackprop", *map(str, args)], text=True, timeout=120, **kw)


def one_error_line(stderr: str, code: int, exit_code: int = 2):
    assert code == exit_code, stderr
    assert stderr.startswith("Error: ") and stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr


def no_temp_files(folder) -> bool:
    return not glob.glob(os.path.join(folder, ".*.tmp"))


@pytest.fixture
def job(tmp_path, monkeypatch):
    """A folder with the dosage data, a config and a trained result; the working folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text(CSV)
    (tmp_path / "c.yaml").write_text(CONFIG)
    assert invoke("train", "-c", "c.yaml", "--out", "run.json", "-q").exit_code == 0
    return tmp_path


# --- 1. an output that names an input is refused before any work ---------------------


def _links(tmp):
    (tmp / "link.json").symlink_to(tmp / "data.csv")
    os.link(tmp / "data.csv", tmp / "hard.json")
    (tmp / "self.yaml").write_text(CONFIG + "output: self.yaml\n")
    (tmp / "sub").mkdir()


REFUSED = [
    # (case, arguments, the input that must survive)
    ("out is the config", ["train", "-c", "c.yaml", "--out", "c.yaml"], "c.yaml"),
    ("out is the data", ["train", "-c", "c.yaml", "--out", "data.csv"], "data.csv"),
    ("out is a link to the data", ["train", "-c", "c.yaml", "--out", "link.json"], "data.csv"),
    ("out is a hard link to the data", ["train", "-c", "c.yaml", "--out", "hard.json"], "data.csv"),
    ("out reaches the config through ..", ["train", "-c", "c.yaml", "--out", "sub/../c.yaml"], "c.yaml"),
    ("out through /proc/self/cwd", ["train", "-c", "c.yaml", "--out", "/proc/self/cwd/data.csv"], "data.csv"),
    ("history-csv is the config", ["train", "-c", "c.yaml", "--history-csv", "c.yaml", "-o", "x.json"], "c.yaml"),
    ("history-csv is the data", ["train", "-c", "c.yaml", "--history-csv", "data.csv", "-o", "x.json"], "data.csv"),
    ("the config's output is itself", ["train", "-c", "self.yaml"], "self.yaml"),
    ("out is --init-params", ["train", "-c", "c.yaml", "--init-params", "run.json", "--out", "run.json"], "run.json"),
    ("history-csv is --resume", ["train", "-c", "c.yaml", "--resume", "run.json", "--history-csv", "run.json"], None),
    ("dry-run refuses too", ["train", "-c", "c.yaml", "--out", "c.yaml", "--dry-run"], "c.yaml"),
]


@pytest.mark.parametrize("case, args, survivor", REFUSED, ids=[case for case, _, _ in REFUSED])
def test_an_output_that_names_an_input_is_refused_before_any_work(job, case, args, survivor):
    _links(job)
    before = {p: p.read_bytes() for p in job.iterdir() if p.is_file()}
    result = invoke(*args)
    one_error_line(result.stderr, result.exit_code)
    assert "would destroy an input" in result.stderr
    assert {p: p.read_bytes() for p in job.iterdir() if p.is_file() and p in before} == before
    assert not (job / "x.json").exists() and no_temp_files(job)


def test_resuming_in_place_still_works(job):
    result = invoke("train", "-c", "c.yaml", "--resume", "run.json", "--out", "run.json", "--epochs", "60", "-q")
    assert result.exit_code == 0, result.stderr
    assert json.loads((job / "run.json").read_text())["epochs"] == 60


def test_plot_refuses_an_image_path_that_is_its_result(job):
    (job / "pic.png").symlink_to(job / "run.json")
    result = invoke("plot", "run.json", "--out", "pic.png")
    one_error_line(result.stderr, result.exit_code)
    json.loads((job / "run.json").read_text())


# --- 2. regular files anywhere are replaced atomically; devices are written in place ---


def test_a_result_in_dev_shm_is_replaced_not_appended(job):
    path = Path(f"/dev/shm/nnbackprop-adversarial-{os.getpid()}.json")
    try:
        for _ in range(2):  # a new file there is allowed, then an existing one is replaced
            result = invoke("train", "-c", "c.yaml", "--out", path, "-q")
            assert result.exit_code == 0, result.stderr
        assert json.loads(path.read_text())["epochs"] == 30
    finally:
        path.unlink(missing_ok=True)


def test_a_result_reached_through_proc_self_cwd_is_replaced(job):
    for _ in range(2):
        assert invoke("train", "-c", "c.yaml", "--out", "/proc/self/cwd/again.json", "-q").exit_code == 0
    assert json.loads((job / "again.json").read_text())["epochs"] == 30
    assert no_temp_files(job)


def test_a_long_name_that_passes_dry_run_is_written(job):
    name = "a" * 250 + ".json"  # 255 bytes: the temporary name must not be longer
    assert invoke("train", "-c", "c.yaml", "--out", name, "--dry-run").exit_code == 0
    result = invoke("train", "-c", "c.yaml", "--out", name, "-q")
    assert result.exit_code == 0, result.stderr
    assert json.loads((job / name).read_text())["epochs"] == 30 and no_temp_files(job)


@pytest.mark.parametrize("option", ["--out", "--report", "--history-csv"])
def test_a_folder_that_cannot_be_made_is_refused_by_dry_run_as_by_the_run(job, option):
    """Root passes every permission test, and /proc lets no one make a folder in it: --dry-run said valid
    where the run then failed (exit 2), and that failure did not name the folder."""
    place = "/proc/nope/out.txt"
    for extra in (["--dry-run"], []):
        result = invoke("train", "-c", "c.yaml", option, place, "-q", *extra)
        one_error_line(result.stderr, result.exit_code)
        assert f"{place}: cannot write in /proc: " in result.stderr
    assert no_temp_files(job)


def test_dry_run_quiet_says_nothing(job):
    result = invoke("train", "-c", "c.yaml", "--dry-run", "-q")
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout)["model"]["hidden"] >= 1


def test_a_name_too_long_for_the_folder_is_refused_up_front(job):
    result = invoke("train", "-c", "c.yaml", "--out", "a" * 256 + ".json", "--dry-run")
    one_error_line(result.stderr, result.exit_code)
    assert "longer than 255 bytes" in result.stderr


def test_outputs_land_together_or_not_at_all(job):
    before = (job / "run.json").read_bytes()
    result = invoke("train", "-c", "c.yaml", "--out", "run.json", "--epochs", "7", "--history-csv", "/dev/full")
    one_error_line(result.stderr, result.exit_code)
    assert (job / "run.json").read_bytes() == before  # the run failed: --out was not replaced
    assert no_temp_files(job)


def test_the_batch_removes_its_temporary_files_when_a_later_write_fails(tmp_path):
    with pytest.raises(RuntimeError), files.Outputs():
        files.write_text("one", str(tmp_path / "a.txt"))
        raise RuntimeError("the second output failed")
    assert not (tmp_path / "a.txt").exists() and no_temp_files(tmp_path)


# --- 3. empty names, closed streams -------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["train", "-c", "c.yaml", "--resume", ""],
        ["train", "-c", "c.yaml", "--init-params", ""],
        ["train", "-c", "c.yaml", "--out", ""],
        ["train", "-c", ""],
        ["predict", "-p", "", "1"],
        ["train", "-c", "c.yaml", "--resume", "  "],
    ],
    ids=["resume", "init-params", "out", "config", "params", "blank resume"],
)
def test_an_empty_path_is_an_error_not_a_default(job, args):
    before = (job / "run.json").read_bytes()
    run = nb(*args, cwd=job)  # a usage error: one line from the real program
    one_error_line(run.stderr, run.returncode)
    assert "empty file name" in run.stderr
    assert (job / "run.json").read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [
        ["train", "-c", "c.yaml", "--out", "-", "-q"],
        ["train", "-c", "c.yaml", "--out", "/dev/stdout", "-q"],
        ["predict", "-p", "run.json", "1"],
    ],
    ids=["train --out -", "train --out /dev/stdout", "predict"],
)
def test_a_closed_stdout_is_an_error_not_a_silent_success(job, args):
    run = nb(*args, stdout=None, cwd=job, preexec_fn=lambda: os.close(1))  # as `>&-` does
    one_error_line(run.stderr, run.returncode)
    assert "closed" in run.stderr


def test_a_closed_stdin_reads_as_empty(job):
    run = nb("predict", "-p", "run.json", cwd=job, stdout=subprocess.PIPE, preexec_fn=lambda: os.close(0))
    one_error_line(run.stderr, run.returncode)
    assert "empty" in run.stderr


# --- 4. YAML bombs ------------------------------------------------------------------

LAUGHS = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 12)
)


@pytest.mark.parametrize(
    "config, sets, message",
    [
        ("data: {path: data.csv}\n" + LAUGHS, [], "aliases expand to more than"),
        (CONFIG, ["--set", "model=" + "{" + LAUGHS.replace("\n", ", ").rstrip(", ") + "}"], "aliases expand"),
        ("data: {path: data.csv}\nx: " + "[" * 60 + "]" * 60 + "\n", [], "nested too deeply"),
        (CONFIG, ["--set", "model=&a [*a]"], "nested too deeply"),
        ("data: {path: data.csv}\nx: " + "[" * 100_000 + "]" * 100_000 + "\n", [], "YAML"),
        ("data: {path: data.csv}\nx: &a {b: *a}\n", [], "nested too deeply"),
    ],
    ids=["billion laughs", "laughs through --set", "60 levels", "recursive --set", "100000 levels", "self map"],
)
def test_yaml_bombs_are_refused_quickly(job, config, sets, message):
    (job / "bomb.yaml").write_text(config)
    started = time.monotonic()
    result = invoke("train", "-c", "bomb.yaml", *sets, "--dry-run")
    assert time.monotonic() - started < 10
    one_error_line(result.stderr, result.exit_code)
    assert message in result.stderr


def test_a_few_aliases_still_work(job):
    (job / "alias.yaml").write_text(
        "data: {path: data.csv}\ninit: {seed: 1}\ntraining: {learning_rate: &r 0.01, min_step_size: *r}\n"
    )
    result = invoke("train", "-c", "alias.yaml", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["training"]["min_step_size"] == 0.01


# --- 5. endless streams, devices and FIFOs ------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["train", "-c", "/dev/zero"],
        ["train", "-c", "zero.yaml", "--dry-run"],
        ["predict", "-p", "run.json", "--input", "/dev/zero"],
        ["predict", "-p", "/dev/zero", "1"],
        ["evaluate", "-p", "run.json", "-d", "/dev/zero"],
        ["train", "-c", "c.yaml", "--resume", "/dev/zero", "--out", "x.json"],
        ["explain", "-c", "c.yaml", "--params", "/dev/zero"],
    ],
    ids=["config", "data", "predict input", "result", "evaluate data", "resume", "explain params"],
)
def test_dev_zero_anywhere_is_one_line_at_once(job, args):
    (job / "zero.yaml").write_text("data: {path: /dev/zero}\n")
    started = time.monotonic()
    result = invoke(*args)
    assert time.monotonic() - started < 10
    one_error_line(result.stderr, result.exit_code)


def test_an_endless_text_stream_as_config_is_bounded(job):
    yes = subprocess.Popen(["yes", "a: 1"], stdout=subprocess.PIPE)
    try:
        run = nb("train", "-c", "-", stdin=yes.stdout, cwd=job)
    finally:
        yes.kill()
        yes.wait()
        yes.stdout.close()
    one_error_line(run.stderr, run.returncode)
    assert "larger than 64 MiB" in run.stderr


def test_the_reader_stops_at_its_limit(tmp_path):
    (tmp_path / "big.yaml").write_text("a: 1\n" * 1000)
    with pytest.raises(ConfigError, match="larger than 100 bytes"):
        files.read_bytes(str(tmp_path / "big.yaml"), ConfigError, "config file", limit=100)


def _feed(fifo: Path, text: str):
    """Write ``text`` into a FIFO from a helper process (it blocks until someone reads)."""
    return subprocess.Popen([sys.executable, "-c", f"open({str(fifo)!r}, 'w').write({text!r})"])


def test_a_fifo_is_read_as_data_config_and_result(job):
    fifo = job / "pipe"
    os.mkfifo(fifo)
    (job / "fifo.yaml").write_text("data: {path: pipe}\ninit: {seed: 0}\ntraining: {max_epochs: 5}\n")
    writer = _feed(fifo, CSV)
    result = invoke("train", "-c", "fifo.yaml", "--out", "f.json", "-q")
    writer.wait(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert json.loads((job / "f.json").read_text())["data"]["sha256"] is None  # a pipe's bytes are gone once read
    writer = _feed(fifo, CONFIG)
    result = invoke("train", "-c", "pipe", "--dry-run")
    writer.wait(timeout=30)
    assert result.exit_code == 0, result.stderr
    writer = _feed(fifo, (job / "run.json").read_text())
    result = invoke("predict", "-p", "pipe", "0.5")
    writer.wait(timeout=30)
    assert result.exit_code == 0 and result.stdout.startswith("input,prediction\n0.5,")


# --- 6. crafted result files ---------------------------------------------------------


def _craft(doc, case):
    doc = json.loads(json.dumps(doc))
    if case == "400-digit param":
        return json.dumps(doc).replace('"w1": ', '"w1": ' + "9" * 400 + ', "_w1": ', 1)
    if case == "5000-digit loss":
        return json.dumps({**doc, "final_loss": 0}).replace('"final_loss": 0', '"final_loss": ' + "7" * 5000)
    if case == "nested 100000 deep":
        return json.dumps({**doc, "extra": 0}).replace('"extra": 0', '"extra": ' + "[" * 100_000 + "]" * 100_000)
    edits = {
        "best_epoch 1e30": {"best_epoch": 1e30},
        "best_epoch 10**30": {"best_epoch": 10**30},
        "best_epoch past epochs": {"best_epoch": doc["epochs"] + 1},
        "epochs -1": {"epochs": -1, "loss_history": []},
        "epochs a string": {"epochs": "30"},
        "loss_history strings": {"loss_history": ["x"] * len(doc["loss_history"])},
        "final_loss a string": {"final_loss": "small"},
        "params a list": {"params": [1, 2, 3]},
        "hidden 10**30": {"model": {"hidden": 10**30, "activation": "softplus"}},
        "hidden a string": {"model": {"hidden": "2", "activation": "softplus"}},
        "data a list": {"data": [1]},
        "a top-level list": None,
    }
    if edits[case] is None:
        return "[1, 2, 3]"
    doc.update(edits[case])
    return json.dumps(doc)


CRAFTED = [
    "400-digit param",
    "5000-digit loss",
    "nested 100000 deep",
    "best_epoch 1e30",
    "best_epoch 10**30",
    "best_epoch past epochs",
    "epochs -1",
    "epochs a string",
    "loss_history strings",
    "final_loss a string",
    "params a list",
    "hidden 10**30",
    "hidden a string",
    "data a list",
    "a top-level list",
]


@pytest.mark.parametrize("case", CRAFTED)
@pytest.mark.parametrize(
    "command",
    [
        ["predict", "-p", "bad.json", "0.5"],
        ["evaluate", "-p", "bad.json", "-d", "data.csv"],
        ["train", "-c", "c.yaml", "--resume", "bad.json", "--out", "x.json"],
        ["plot", "--params", "bad.json", "--out", "x.png"],
    ],
    ids=["predict", "evaluate", "resume", "plot"],
)
def test_a_crafted_result_file_is_one_line(job, case, command):
    (job / "bad.json").write_text(_craft(json.loads((job / "run.json").read_text()), case))
    result = invoke(*command)
    one_error_line(result.stderr, result.exit_code)
    assert "bad.json" in result.stderr and len(result.stderr) < 1100
    assert not (job / "x.json").exists() and not (job / "x.png").exists()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(["epochs", "best_epoch", "best_loss", "final_loss", "loss_history", "params", "model", "data"]),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
        max_leaves=6,
    ),
)
def test_fuzzed_result_files_load_or_refuse_in_one_error(tmp_path_factory, key, value):
    from nnbackprop.config import load

    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "data.csv").write_text(CSV)
    (folder / "c.yaml").write_text(CONFIG)
    config = load(str(folder / "c.yaml"))
    doc = json.loads(_result_text(folder))
    doc[key] = value
    path = str(folder / "r.json")
    Path(path).write_text(json.dumps(doc))
    try:
        model = results.load_model(path)
        results.check_fits(model, config, path)
        results.state_from(model.document, model.hidden, path)
    except ResultError as e:
        assert "\n" not in str(e)


_RESULT_CACHE = {}


def _result_text(folder) -> str:
    if "text" not in _RESULT_CACHE:
        out = folder / "seed.json"
        assert invoke("train", "-c", folder / "c.yaml", "--out", out, "-q").exit_code == 0
        _RESULT_CACHE["text"] = out.read_text()
    return _RESULT_CACHE["text"]


# --- 7. extreme numbers and hostile text ---------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", "9" * 5000], "at most 100 digits"),
        (["--epochs", "1e400"], "must be a finite number"),
        (["--epochs", "9" * 200], "at most 100 digits"),
        (["--lr", "0.01\n--epochs 3"], "training.learning_rate"),
        (["--set", "training.learning_rate=" + "x" * 1_000_000], "elided"),
        (["--set", "x" * 100_000 + "=1"], "unknown key"),
        (["--set", "model.hidden=1e400"], "must be a finite number"),
        (["--set", "training.max_epochs=-0"], None),
    ],
    ids=[
        "5000-digit seed",
        "epochs 1e400",
        "200-digit epochs",
        "newline in --lr",
        "1 MB value",
        "100 kB key",
        "1e400",
        "-0",
    ],
)
def test_extreme_option_values_give_one_bounded_line(job, args, message):
    result = invoke("train", "-c", "c.yaml", *args, "--dry-run")
    if message is None:
        assert result.exit_code == 0, result.stderr
        return
    one_error_line(result.stderr, result.exit_code)
    assert message in result.stderr and len(result.stderr) < 1100


def test_a_seed_above_two_to_the_53_is_used_exactly(job):
    seed = 2**64 + 1  # as a float it would be 2**64, another draw
    result = invoke("train", "-c", "c.yaml", "--seed", seed, "--epochs", "0", "--out", "-", "-q")
    doc = json.loads(result.stdout)
    assert doc["seed"] == seed
    assert doc["initial_params"]["w1"] == np.random.default_rng(seed).standard_normal((1, 4))[0, 0]


@pytest.mark.parametrize(
    "csv, config",
    [
        ("a\x1b[31mb,y\n1,2\n3,4\n", "data: {path: data.csv, input: zz}\n"),
        (CSV, "data: {path: data.csv}\n\u202ekey\u202c: 1\n"),
        (CSV, 'data: {path: data.csv}\nmodel: {activation: "relu\\e[2J"}\n'),
    ],
    ids=["escape in a column name", "bidi override in a key", "escape in a value"],
)
def test_control_characters_from_files_never_reach_the_terminal_raw(job, csv, config):
    (job / "data.csv").write_text(csv)
    (job / "hostile.yaml").write_text(config)
    result = invoke("train", "-c", "hostile.yaml", "--dry-run")
    one_error_line(result.stderr, result.exit_code)
    assert not any(ch in result.stderr for ch in "\x1b\u202e\u202c")


def test_one_line_bounds_and_escapes():
    line = one_line("a\nb\x1b[31m" + "x" * 10_000)
    assert "\n" not in line and "\x1b" not in line and len(line) < 1100 and "elided" in line
    assert printable("w1\u2028") == "w1\\u2028"


def test_no_runtime_warning_for_history_of_overflowing_data(job):
    (job / "data.csv").write_text("dosage,efficacy\n0,0\n1e300,1e300\n2,1\n")
    result = invoke("train", "-c", "c.yaml", "--out", "o.json", "--history-csv", "h.csv", "--checkpoint-every", 1)
    assert result.exit_code == 3, result.stderr  # warnings are errors in this suite: none was raised
    assert "Warning" not in result.stderr
    json.loads((job / "o.json").read_text())


def test_an_all_nan_start_with_checkpoints_says_no_warning(job):
    (job / "nan.yaml").write_text(
        "data: {path: data.csv}\ninit: {w1: 1e308, b1: 1e308, w2: 1e308, b2: 1e308, w3: 1e308, w4: 1e308, b3: 1e308}\n"
    )
    result = invoke("train", "-c", "nan.yaml", "--out", "n.json", "--checkpoint-every", 1, "-v")
    assert result.exit_code == 3 and "Warning" not in result.stderr


def test_a_model_that_cannot_fit_in_memory_says_so(job):
    (job / "wide.yaml").write_text("data: {path: data.csv}\nmodel: {hidden: 100000}\ninit: {seed: 1}\n")
    result = invoke("gradcheck", "-c", "wide.yaml")
    one_error_line(result.stderr, result.exit_code)
    assert "not enough memory" in result.stderr


def test_a_result_of_100000_neurons_is_read_in_linear_time(tmp_path):
    from nnbackprop.network import param_names

    names = param_names(100_000)
    doc = {"model": {"hidden": 100_000, "activation": "softplus"}, "params": dict.fromkeys(names, 0.5)}
    doc["params"]["w0"] = 1.0  # an unexpected name: the check that was quadratic
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(doc))
    started = time.monotonic()
    with pytest.raises(ResultError, match="unexpected w0") as error:
        results.load_model(str(path))
    assert time.monotonic() - started < 5 and len(str(error.value)) < 300
    del doc["params"]["w0"]
    path.write_text(json.dumps(doc))
    assert results.load_model(str(path)).theta.shape == (300_001,)


def test_a_config_naming_every_init_value_of_many_neurons_is_checked_quickly(tmp_path):
    from nnbackprop.config import load
    from nnbackprop.network import param_names

    names = param_names(30_000)
    (tmp_path / "data.csv").write_text(CSV)
    lines = ["data: {path: data.csv}", "model: {hidden: 30000}", "init:", *(f"  {n}: 0.5" for n in names)]
    (tmp_path / "wide.yaml").write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    config = load(str(tmp_path / "wide.yaml"))
    assert time.monotonic() - started < 10 and len(config.init.values) == len(names)


# --- 8. the documented behaviours of predict, plot and the options --------------------


@pytest.mark.parametrize("fmt, rows", [("csv", 10), ("json", 10)])
def test_predict_writes_every_row_before_a_bad_line(job, fmt, rows):
    lines = "".join(f"{i / 10}\n" for i in range(10)) + "bad\n" + "0.5\n" * 5
    result = invoke("predict", "-p", "run.json", "-f", fmt, input=lines)
    assert result.exit_code == 2 and "line 11" in result.stderr
    body = result.stdout.splitlines()[1:]
    assert len(body) == rows


def test_plot_finds_the_training_data_when_train_ran_elsewhere(job, monkeypatch):
    (job / "elsewhere").mkdir()
    monkeypatch.chdir(job / "elsewhere")
    assert invoke("train", "-c", "../c.yaml", "--out", "../away/run.json", "-q").exit_code == 0
    doc = json.loads((job / "away" / "run.json").read_text())
    assert doc["data"]["path"] == "../data.csv"  # unchanged: as it was given
    assert doc["data"]["abspath"] == str(job / "data.csv")
    monkeypatch.chdir(job / "away")
    result = invoke("plot", "-p", "run.json", "--out", "fit.svg")
    assert result.exit_code == 0, result.stderr
    assert "not found" not in result.stderr


def test_plot_takes_params_like_the_other_commands(job):
    assert invoke("plot", "--params", "run.json", "--out", "a.svg").exit_code == 0
    assert invoke("plot", "run.json", "--out", "b.svg").exit_code == 0  # the old spelling still works
    both = invoke("plot", "run.json", "--params", "run.json", "--out", "c.svg")
    one_error_line(both.stderr, both.exit_code)


def test_predict_can_choose_the_input_column(job):
    (job / "doses.csv").write_text("id,dose\n1,0.5\n2,1\n")
    result = invoke("predict", "-p", "run.json", "--input", "doses.csv", "--input-column", "dose")
    assert result.exit_code == 0, result.stderr
    assert [line.split(",")[0] for line in result.stdout.splitlines()] == ["input", "0.5", "1.0"]


def test_explain_and_gradcheck_take_the_shorthands(job):
    plain = json.loads(invoke("explain", "-c", "c.yaml", "-f", "json").stdout)
    faster = json.loads(invoke("explain", "-c", "c.yaml", "-f", "json", "--lr", "0.1").stdout)
    w1, fast_w1 = plain["parameters"]["w1"], faster["parameters"]["w1"]
    assert fast_w1["step_size"] == pytest.approx(10 * w1["step_size"])
    quiet = invoke("gradcheck", "-c", "c.yaml", "-q", "--seed", "3", "--epochs", "5")
    assert quiet.exit_code == 0 and quiet.stderr == ""


# --- 9. signals, in real processes ----------------------------------------------------


@pytest.fixture
def slow(tmp_path):
    """A run of several seconds, and one whose result takes about a second to write."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=5_000)
    np.savetxt(tmp_path / "big.csv", np.column_stack([x, np.sin(3 * x)]), delimiter=",", header="x,y", comments="")
    (tmp_path / "slow.yaml").write_text(
        "data: {path: big.csv}\ninit: {seed: 1}\n"
        "training: {learning_rate: 0.00001, max_epochs: 100000, min_step_size: 0}\n"
    )
    (tmp_path / "data.csv").write_text(CSV)
    (tmp_path / "wide.yaml").write_text(
        "data: {path: data.csv}\nmodel: {hidden: 60000}\ninit: {seed: 1}\n"
        "training: {learning_rate: 0.0000001, max_epochs: 1, min_step_size: 0}\n"
    )
    return tmp_path


def _train_and_signal(folder, config, signals, delay, wait_for_out=False):
    out = folder / "out.json"
    out.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnbackprop", "train", "-c", config, "--out", out, "--checkpoint-every", "100", "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
    )
    deadline = time.monotonic() + 60
    while wait_for_out and not out.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not wait_for_out:
        proc.stderr.readline()  # -v's setup line: start-up is over, training begins
    time.sleep(delay)
    for signum in signals:
        proc.send_signal(signum)
        time.sleep(0.005)
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr, out


@pytest.mark.slow
@pytest.mark.parametrize(
    "signals, code",
    [
        ([signal.SIGINT], 130),
        ([signal.SIGTERM], 143),
        ([signal.SIGINT, signal.SIGINT], 130),
        ([signal.SIGTERM, signal.SIGINT], 143),
        ([signal.SIGINT] * 5, 130),
    ],
    ids=["int", "term", "int twice", "term then int", "int five times"],
)
def test_signals_during_training_keep_the_run(slow, signals, code):
    returncode, stderr, out = _train_and_signal(slow, "slow.yaml", signals, 0.05, wait_for_out=True)
    assert returncode == code, stderr
    assert "Traceback" not in stderr
    doc = json.loads(out.read_text())
    assert doc["stop_reason"] == "interrupted" and len(doc["loss_history"]) == doc["epochs"] + 1
    assert no_temp_files(slow)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9])
@pytest.mark.parametrize("signals", [[signal.SIGINT], [signal.SIGTERM, signal.SIGTERM]], ids=["int", "term twice"])
def test_signals_while_the_result_is_written_never_lose_it(slow, delay, signals):
    returncode, stderr, out = _train_and_signal(slow, "wide.yaml", signals, delay)
    assert "Traceback" not in stderr and returncode >= 0  # never the default action
    assert no_temp_files(slow)
    if out.exists() or returncode != signals[0] + 128:
        doc = json.loads(out.read_text())  # complete JSON, whenever the signal came
        assert len(doc["params"]) == 180_001
    else:
        assert stderr.strip().endswith(("interrupted", "terminated"))  # during start-up: nothing to save yet


@pytest.mark.parametrize(
    "signum, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_signal_during_start_up_ends_cleanly(tmp_path, signum, code, word):
    os.mkfifo(tmp_path / "config.yaml")  # train waits here, reading its config, until the signal comes
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnbackprop", "train", "-c", "config.yaml", "--out", "out.json"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    time.sleep(1.5)  # past the imports: the program is blocked opening the FIFO
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code and stderr == f"{word}\n"
    assert not (tmp_path / "out.json").exists() and no_temp_files(tmp_path)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    option=st.sampled_from(["--seed", "--epochs", "--lr", "--set", "--out", "--history-csv", "--resume"]),
    value=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)
    | st.sampled_from(["9" * 400, "1e400", "-1", "0x10", ".inf", "~", "[]", "{}", "&a [*a]", "-", "\x1b[2J"]),
)
def test_fuzzed_options_end_in_success_or_one_error_line(job, option, value):
    if option == "--set":
        value = f"training.learning_rate={value}"
    if "\x00" in value:  # a NUL cannot be in a command line
        return
    result = invoke("train", "-c", "c.yaml", option, value, "--dry-run")
    assert result.exit_code in (0, 2), result.stderr
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        error = [line for line in lines if line.startswith("Error: ")]
        assert len(error) == 1 and len(error[0]) < 1100 and "\x1b" not in error[0], result.stderr
