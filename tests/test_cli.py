"""The command line, through click's CliRunner: train, predict, and their errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import ROOT, STATQUEST_CONFIG, STATQUEST_OPTIMIZED

from nnbackprop.cli import ExitStatus, cli
from nnbackprop.network import forward

RESULT_KEYS = {
    "params",
    "initial_params",
    "loss_history",
    "epochs",
    "stop_reason",
    "final_loss",
    "model",
    "config",
    "version",
}


@pytest.fixture
def trained(write_config, tmp_path, invoke):
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


def test_train_out_dash_prints_only_json_on_stdout(write_config, invoke):
    result = invoke("train", "--config", write_config(STATQUEST_CONFIG), "--out", "-", "--epochs", "100")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)  # nothing but the JSON
    assert doc["epochs"] == 100
    assert doc["stop_reason"] == "max_epochs"
    assert "100 epochs" in result.stderr
    assert "w1 =" in result.stderr


def test_same_config_and_seed_give_the_same_result(write_config, invoke):
    config = write_config("data: {path: data.csv}\ninit: {seed: 11}\ntraining: {max_epochs: 300}\n")
    first = json.loads(invoke("train", "-c", config, "--out", "-").stdout)
    second = json.loads(invoke("train", "-c", config, "--out", "-").stdout)
    for key in ("params", "initial_params", "loss_history"):
        assert first[key] == second[key]
    other = json.loads(invoke("train", "-c", config, "--out", "-", "--seed", "12").stdout)
    assert other["initial_params"] != first["initial_params"]


def test_quiet_says_nothing(write_config, invoke):
    result = invoke("train", "-c", write_config(STATQUEST_CONFIG), "--out", "-", "--epochs", "5", "-q")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_predict_values_csv_and_json(trained, invoke):
    out, _ = trained
    doc = json.loads(out.read_text())
    result = invoke("predict", "--params", out, "0", "0.5", "1")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "input,prediction"
    rows = [tuple(map(float, line.split(","))) for line in lines[1:]]
    theta = [doc["params"][n] for n in ("w1", "b1", "w2", "b2", "w3", "w4", "b3")]
    expected = forward(np.array(theta), np.array([0, 0.5, 1.0]))
    assert [r[0] for r in rows] == [0, 0.5, 1]
    assert [r[1] for r in rows] == expected.tolist()
    as_json = json.loads(invoke("predict", "-p", out, "--format", "json", "--", "-1", "0.5").stdout)
    assert [r["input"] for r in as_json] == [-1, 0.5]
    assert as_json[1]["prediction"] == expected[1]


def test_predict_reads_files_and_stdin(trained, tmp_path, invoke):
    out, _ = trained
    (tmp_path / "in.csv").write_text("patient,dosage\na,0.25\nb,0.75\n")
    from_csv = invoke("predict", "-p", out, "--input", tmp_path / "in.csv")
    from_stdin = invoke("predict", "-p", out, "--input", "-", input="0.25\n0.75\n")
    from_pipe = invoke("predict", "-p", out, input="0.25\n0.75\n")
    assert from_csv.exit_code == 0
    assert from_stdin.exit_code == 0
    assert from_pipe.exit_code == 0
    assert from_stdin.stdout == from_csv.stdout
    assert from_pipe.stdout == from_csv.stdout
    assert len(from_csv.stdout.splitlines()) == 3


def test_predict_refuses_empty_input(trained, invoke):
    out, _ = trained
    result = invoke("predict", "-p", out, "--format", "json", "-i", "-", input="")
    assert result.exit_code == 2
    assert "-: empty" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "-p", "{out}", "abc"], "Error: value 1 ('abc'): not a number"),
        (["predict", "-p", "{out}", "nan"], "Error: value 1 ('nan'): not a finite number"),
        (["predict", "-p", "{out}", "-i", "{tmp}/nope.txt"], "nope.txt: no such input file"),
        (["predict", "-p", "{tmp}/nope.json", "1"], "nope.json: no such result file"),
        (["train", "-c", "{tmp}/nope.yaml"], "nope.yaml: no such config file"),
        (
            ["train", "-c", "{config}", "--lr", "-1"],
            "--lr -1: training.learning_rate: must be greater than 0",
        ),
        (
            ["train", "-c", "{config}", "--set", "training.epochs=5"],
            "training.epochs: unknown key (did you mean 'max_epochs'?)",
        ),
    ],
)
def test_errors_are_one_line_exit_2_no_traceback(trained, tmp_path, args, message, invoke):
    out, config = trained
    result = invoke(*[a.format(out=out, tmp=tmp_path, config=config) for a in args])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "bad.json:1:1: not valid JSON"),
        ("[1, 2]", "bad.json: expected a JSON object"),
        ('{"model": {"hidden": 2, "activation": "softplus"}}', "bad.json: params: missing"),
        (
            '{"model": {"hidden": 2, "activation": "softplus"}, "params": {"w1": 1}}',
            "params: does not fit a network with hidden: 2 (missing b1, w2, b2, w3, w4, b3)",
        ),
        ('{"model": {"hidden": "2", "activation": "softplus"}, "params": {}}', 'model.hidden: expected int, got "2"'),
        (
            '{"model": {"hidden": 1, "activation": "softplus"}, "params": {"w1": 1, "b1": 0, "w2": "x", "b2": 0}}',
            'params.w2: must be a finite number, got "x"',
        ),
        (
            '{"model": {"hidden": 1, "activation": "softplus"}, "params": {"w1": NaN, "b1": 0, "w2": 1, "b2": 0}}',
            "NaN is not a number JSON allows",
        ),
    ],
)
def test_bad_result_files(tmp_path, content, message, invoke):
    (tmp_path / "bad.json").write_text(content)
    result = invoke("predict", "-p", tmp_path / "bad.json", "1")
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_failed_run_leaves_an_existing_output_untouched(write_config, tmp_path, invoke):
    out = tmp_path / "keep.json"
    out.write_text('{"precious": true}')
    config = write_config(STATQUEST_CONFIG.replace("data.csv", "missing.csv"))
    result = invoke("train", "-c", config, "--out", out)
    assert result.exit_code == 2
    assert out.read_text() == '{"precious": true}'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_help_lists_every_exit_code_and_every_command_has_an_example(invoke):
    result = invoke("--help")
    for status in ExitStatus:
        assert f"{status.value:>3}  {status.meaning}"[:60] in result.stdout
    for name in cli.commands:
        help_text = invoke(name, "--help").stdout
        assert "Examples:" in help_text, name
        assert f"nnbackprop {name}" in help_text, name


def test_a_diverged_runs_proposed_rate_comes_with_a_min_step_size_it_does_not_stop_on_at_once(invoke):
    """At the rate stable at the sine config's start (2e-4), steps fell below the default min_step_size
    after 87 epochs at SSR 70 (it started at 2600): the proposal names a min_step_size to go with it."""
    sine = str(ROOT / "configs" / "sine.yaml")
    result = invoke("train", "-c", sine, "--lr", "0.1", "--out", "-", "-q")
    assert result.exit_code == 3
    proposed = re.search(r"try learning_rate: ([0-9.e-]+) .* with min_step_size: ([0-9.e-]+) ", result.stderr)
    assert proposed, result.stderr
    alone = json.loads(invoke("train", "-c", sine, "--lr", proposed[1], "--out", "-", "-q").stdout)
    assert alone["stop_reason"] == "min_step_size" and alone["epochs"] < 200
    both = ("--lr", proposed[1], "--set", f"training.min_step_size={proposed[2]}")
    paired = json.loads(invoke("train", "-c", sine, *both, "--epochs", 20000, "--out", "-", "-q").stdout)
    assert paired["stop_reason"] == "max_epochs" and paired["final_loss"] < alone["final_loss"] / 2


def test_version(invoke):
    from nnbackprop import __version__

    assert invoke("--version").stdout.strip().endswith(__version__)


def test_divergence_writes_strict_json_and_exits_3(write_config, tmp_path, invoke):
    config = write_config(STATQUEST_CONFIG)
    out = tmp_path / "d.json"
    result = invoke("train", "-c", config, "--lr", "50", "--out", out)
    assert result.exit_code == 3
    assert "diverged" in result.stderr
    proposed = re.search(
        r"try learning_rate: ([0-9.e-]+) \(stable at the start, now 50\)( with min_step_size: ([0-9.e-]+) "
        r"\(its first step is [0-9.e-]+\))?, or learning_rate: auto, or optimizer: lm",
        result.stderr,
    )
    assert proposed, result.stderr
    steps = ["--set", f"training.min_step_size={proposed[3]}"] if proposed[3] else []
    stable = invoke("train", "-c", config, "--lr", proposed[1], *steps, "--out", "-", "-q")
    assert stable.exit_code == 0  # the proposed rate, from the data, does not diverge
    doc = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert doc["stop_reason"] == "diverged"
    assert all(isinstance(v, float) for v in doc["params"].values())
    assert len(doc["loss_history"]) == doc["epochs"] + 1


def test_extreme_values_train_to_finite_numbers(write_config, tmp_path, invoke):
    config = write_config(
        "data: {path: data.csv}\ninit: {w1: 1000, b1: 0, w2: -1000, b2: 0, w3: 1000, w4: -1000, b3: 0}\n"
        "training: {learning_rate: 1e-20, max_epochs: 10}\n",
        csv="x,y\n-1e6,0\n0,1\n1e6,0\n",
    )
    result = invoke("train", "-c", config, "--out", "-", "-q")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["stop_reason"] == "max_epochs"
    assert all(v is not None for v in doc["loss_history"])


def test_require_convergence_exits_5_when_max_epochs_stops_training(write_config, invoke):
    config = write_config(STATQUEST_CONFIG)
    stopped = invoke("train", "-c", config, "--out", "-", "--epochs", "10", "--require-convergence")
    assert stopped.exit_code == 5
    assert "not converged" in stopped.stderr
    assert json.loads(stopped.stdout)["stop_reason"] == "max_epochs"  # the result is still written
    converged = invoke("train", "-c", config, "--out", "-", "--require-convergence", "--set", "training.optimizer=lm")
    assert converged.exit_code == 0
    assert json.loads(converged.stdout)["converged"] is True


def test_require_convergence_exits_5_when_small_steps_stop_a_run_with_a_large_gradient(write_config, invoke):
    config = write_config(STATQUEST_CONFIG)  # a tiny fixed rate: small steps, large gradient
    stalled = invoke(
        "train",
        "-c",
        config,
        "--out",
        "-",
        "--lr",
        "0.0001",
        "--set",
        "training.min_step_size=0.001",
        "--require-convergence",
    )
    doc = json.loads(stalled.stdout)
    assert doc["stop_reason"] == "min_step_size"
    assert doc["converged"] is False
    assert stalled.exit_code == 5
    assert "not converged: the gradient is still large" in stalled.stderr
    assert "try optimizer: lm or learning_rate: auto" in stalled.stderr


def test_dry_run_checks_and_prints_the_resolved_config_and_writes_nothing(write_config, tmp_path, invoke):
    config = write_config(STATQUEST_CONFIG + "output: never.json\n")
    result = invoke("train", "-c", config, "--dry-run", "--lr", "0.2")
    assert result.exit_code == 0
    resolved = json.loads(result.stdout)
    assert resolved["training"]["learning_rate"] == 0.2
    assert resolved["output"] == str(tmp_path / "never.json")
    assert "3 rows" in result.stderr
    assert not (tmp_path / "never.json").exists()
    bad = invoke("train", "-c", write_config(STATQUEST_CONFIG, csv="dosage,efficacy\n0,x\n"), "--dry-run")
    assert bad.exit_code == 2
    assert "line 2, column 'efficacy'" in bad.stderr


def test_init_params_starts_a_new_run_from_another_runs_params(trained, write_config, invoke):
    out, config = trained
    doc = json.loads(out.read_text())
    result = invoke("train", "-c", config, "--init-params", out, "--out", "-", "--epochs", "3")
    again = json.loads(result.stdout)
    assert again["initial_params"] == doc["params"]
    assert again["epochs"] <= 3
    assert len(again["loss_history"]) == again["epochs"] + 1
    wrong = write_config("data: {path: data.csv}\nmodel: {hidden: 3}\n", name="h3.yaml")
    mismatch = invoke("train", "-c", wrong, "--init-params", out, "--out", "-")
    assert mismatch.exit_code == 2
    assert "model has hidden: 2" in mismatch.stderr


def test_resume_carries_on_the_history(write_config, tmp_path, invoke):
    config = write_config(STATQUEST_CONFIG)
    part = tmp_path / "part.json"
    assert invoke("train", "-c", config, "--epochs", "400", "--out", part).exit_code == 0
    resumed = json.loads(invoke("train", "-c", config, "--epochs", "1000", "--resume", part, "--out", "-").stdout)
    whole = json.loads(invoke("train", "-c", config, "--epochs", "1000", "--out", "-").stdout)
    assert resumed["epochs"] == 1000
    assert resumed["loss_history"] == whole["loss_history"]
    assert resumed["params"] == whole["params"]


def test_config_from_stdin(write_config, tmp_path, invoke):
    write_config(STATQUEST_CONFIG)
    text = STATQUEST_CONFIG.replace("data.csv", str(tmp_path / "data.csv"))
    result = invoke("train", "-c", "-", "--out", "-", "--epochs", "5", input=text)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["epochs"] == 5


def test_progress_off_a_terminal_has_no_carriage_returns_or_escapes(write_config, invoke):
    result = invoke("train", "-c", write_config(STATQUEST_CONFIG), "--out", "-", "-v")
    assert "\r" not in result.stderr
    assert "\x1b" not in result.stderr


@pytest.mark.parametrize(("hidden", "listed"), [(8, 25), (9, 5)])
def test_the_summary_lists_a_wide_networks_first_parameters_and_its_last(write_config, invoke, hidden, listed):
    config = write_config(f"data: {{path: data.csv}}\nmodel: {{hidden: {hidden}}}\ntraining: {{max_epochs: 3}}\n")
    result = invoke("train", "-c", config, "--out", "-")
    params = json.loads(result.stdout)["params"]
    line = result.stderr.splitlines()[-1]
    shown = dict(pair.split(" = ") for pair in line.split("  ") if " = " in pair)
    names = list(params) if listed == len(params) else [*list(params)[:4], list(params)[-1]]
    assert shown == {name: f"{params[name]:.4f}" for name in names}
    if listed < len(params):
        assert line.endswith(f"  ...  {names[-1]} = {shown[names[-1]]}  (28 parameters: --verbose lists them all)")
    verbose = invoke("train", "-c", config, "--out", "-", "-v").stderr.splitlines()
    listing = next(line for line in verbose if line.startswith("w1 = "))
    assert dict(pair.split(" = ") for pair in listing.split("  ")) == {k: repr(v) for k, v in params.items()}


def test_restarts_keep_the_best_start_and_report_every_start(write_config, invoke):
    config = write_config("data: {path: data.csv}\ninit: {seed: 3}\ntraining: {restarts: 8, max_epochs: 500}\n")
    doc = json.loads(invoke("train", "-c", config, "--out", "-", "-q").stdout)
    finals = [s["final_loss"] for s in doc["starts"]]
    assert len(finals) == 8
    assert doc["final_loss"] == min(finals)
    best = doc["starts"][doc["best_start"]]
    assert best["params"] == doc["params"]
    assert best["initial_params"] == doc["initial_params"]


@pytest.mark.parametrize("where", ["{tmp}", "{tmp}/afile/x.json"])
def test_an_unwritable_output_is_refused_before_training(write_config, tmp_path, where, invoke):
    (tmp_path / "afile").write_text("a file, not a folder")
    config = write_config(STATQUEST_CONFIG)
    for option in ("--out", "--history-csv"):
        args = ["train", "-c", config, option, where.format(tmp=tmp_path)] + (
            ["--out", "-"] if option != "--out" else []
        )
        result = invoke(*args)
        assert result.exit_code == 2
        assert result.stderr.startswith("Error: ")
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert "epochs" not in result.stderr


def test_resume_notes_when_the_data_changed(write_config, tmp_path, invoke):
    config = write_config(STATQUEST_CONFIG)
    part = tmp_path / "part.json"
    assert invoke("train", "-c", config, "--epochs", "10", "--out", part).exit_code == 0
    (tmp_path / "data.csv").write_text("dosage,efficacy\n0,0\n0.5,1\n1,0.1\n")
    result = invoke("train", "-c", config, "--epochs", "20", "--resume", part, "--out", "-")
    assert result.exit_code == 0
    assert "has changed since" in result.stderr


@pytest.mark.parametrize("same", ["-", "{tmp}/same.out", "{tmp}/./same.out"])
def test_two_outputs_in_one_place_are_refused(write_config, tmp_path, same, invoke):
    out, history = "-" if same == "-" else str(tmp_path / "same.out"), same.format(tmp=tmp_path)
    result = invoke("train", "-c", write_config(STATQUEST_CONFIG), "--out", out, "--history-csv", history)
    assert result.exit_code == 2
    assert "give them different places" in result.stderr
    assert not (tmp_path / "same.out").exists()


def test_dry_run_checks_the_resume_file_and_the_outputs_too(write_config, tmp_path, invoke):
    config = write_config(STATQUEST_CONFIG)
    for extra in (["--resume", tmp_path / "nope.json"], ["--out", tmp_path], ["--checkpoint-every", "5", "--out", "-"]):
        result = invoke("train", "-c", config, "--dry-run", *extra)
        assert result.exit_code == 2, extra
        assert result.stderr.startswith("Error: "), extra
        assert result.stdout == "", extra


@pytest.mark.parametrize(
    "columns, data, message",
    [
        ("efficacy,dosage", "input: dosage", None),  # the target is the other column, not the input again
        ("efficacy,dosage", "target: efficacy", None),
        ("dosage,efficacy", "input: dosage, target: dosage", "input and target are the same column 'dosage'"),
    ],
)
def test_columns_default_to_ones_not_already_taken(write_config, columns, data, message, invoke):
    rows = "\n".join(",".join(r if columns.startswith("dosage") else r[::-1]) for r in ["00", "51", "10"])
    csv = f"{columns}\n" + rows.replace("5", "0.5") + "\n"
    config = write_config(f"data: {{path: data.csv, {data}}}\ntraining: {{max_epochs: 1}}\n", csv=csv)
    result = invoke("train", "-c", config, "--out", "-", "-q")
    if message:
        assert result.exit_code == 2
        assert message in result.stderr
    else:
        doc = json.loads(result.stdout)
        assert (doc["data"]["input"], doc["data"]["target"]) == ("dosage", "efficacy")


def test_a_converged_run_resumed_stays_as_it_was(trained, invoke):
    out, config = trained
    doc = json.loads(out.read_text())
    again = json.loads(invoke("train", "-c", config, "--resume", out, "--out", "-", "-q").stdout)
    assert again["epochs"] == doc["epochs"]
    assert again["stop_reason"] == "min_step_size"
    assert again["params"] == doc["params"]
    assert again["resumed_from"] == str(out)
    stricter = invoke(
        "train", "-c", config, "--resume", out, "--out", "-", "-q", "--set", "training.min_step_size=1e-9"
    )
    assert json.loads(stricter.stdout)["epochs"] > doc["epochs"]


def test_init_params_is_recorded(trained, invoke):
    out, config = trained
    doc = json.loads(invoke("train", "-c", config, "--init-params", out, "--out", "-", "--epochs", "2").stdout)
    assert doc["init_params_from"] == str(out)
    assert doc["seed"] is None


def test_dash_is_stdin_for_data_given_with_set(write_config, invoke):
    config = write_config(STATQUEST_CONFIG)
    result = invoke(
        "train",
        "-c",
        config,
        "--set",
        "data.path=-",
        "--out",
        "-",
        "--epochs",
        "3",
        input="dosage,efficacy\n0,0\n1,1\n",
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["data"]["rows"] == 2


def test_an_output_through_a_link_keeps_the_link(write_config, tmp_path, invoke):
    (tmp_path / "target.json").write_text("old")
    (tmp_path / "link.json").symlink_to(tmp_path / "target.json")
    result = invoke("train", "-c", write_config(STATQUEST_CONFIG), "--out", tmp_path / "link.json", "--epochs", "3")
    assert result.exit_code == 0
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "target.json").read_text())["epochs"] == 3


def test_an_output_in_a_folder_that_does_not_exist_creates_the_folder(write_config, tmp_path, invoke):
    new = tmp_path / "runs" / "2026"
    args = ["--out", new / "r.json", "--history-csv", new / "h" / "h.csv", "--report", new / "p" / "r.html"]
    result = invoke("train", "-c", write_config(STATQUEST_CONFIG), "--epochs", "3", *args)
    assert result.exit_code == 0, result.stderr
    assert json.loads((new / "r.json").read_text())["epochs"] == 3
    assert (new / "h" / "h.csv").read_text().count("\n") == 5  # the header and epochs 0..3
    assert (new / "p" / "r.html").read_text().startswith("<!DOCTYPE html>")
    result = invoke("report", new / "r.json", "--out", tmp_path / "pages" / "again.html")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "pages" / "again.html").read_bytes() == (new / "p" / "r.html").read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["gradcheck", "-c", "{config}", "--tolerance", "nan"], "nan is not a finite number"),
        (["train", "-c", "{config}", "--seed", "1, w1: 5"], "--seed 1, w1: 5: must be a whole number"),
        (["train", "-c", "{config}", "--set", "model.hidden=1000001"], "model.hidden: at most 100,000 neurons"),
        (["predict", "-p", "-"], "--params - reads stdin, so the inputs cannot"),
        (["predict", "-p", "{out}", "1_000"], "value 1 ('1_000'): not a number"),
    ],
)
def test_more_refusals(trained, args, message, invoke):
    out, config = trained
    result = invoke(*[a.format(out=out, config=config) for a in args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_recursive_yaml_alias_is_refused(write_config, invoke):
    result = invoke("train", "-c", write_config("data: {path: data.csv}\nx: &a [*a]\n"))
    assert result.exit_code == 2
    assert "nested too deeply" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "-c", "{config}", "--seed", "²"], "--seed ²: must be a whole number"),
        (
            ["train", "-c", "{config}", "--set", "training.restarts=1e12", "--seed", "1"],
            "training.restarts: at most 10,000",
        ),
        (["train", "-c", "{config}", "--epochs", "1_0"], "training.max_epochs: must be a number, got '1_0'"),
        (
            ["train", "-c", "{config}", "--init-params", "{out}", "--set", "training.restarts=4", "--seed", "1"],
            "--init-params carries one start",
        ),
        (["train", "-c", "{config}", "--out", "-", "--history-csv", "/dev/stdout"], "give them different places"),
    ],
)
def test_still_more_refusals(trained, args, message, invoke):
    out, config = trained
    result = invoke(*[a.format(out=out, config=config) for a in args])
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr, result.stderr


def test_a_one_column_csv_cannot_be_input_and_target(write_config, invoke):
    config = write_config("data: {path: data.csv, target: y}\n", csv="y\n1\n2\n")
    result = invoke("train", "-c", config, "--dry-run")
    assert result.exit_code == 2
    assert "found only 'y' for both" in result.stderr


def test_resume_from_stdin(write_config, tmp_path, invoke):
    config = write_config(STATQUEST_CONFIG)
    part = tmp_path / "part.json"
    assert invoke("train", "-c", config, "--epochs", "10", "--out", part, "-q").exit_code == 0
    result = invoke(
        "train", "-c", config, "--epochs", "20", "--resume", "-", "--out", "-", "-q", input=part.read_text()
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["epochs"] == 20


@pytest.mark.parametrize(
    ("cosine", "shown"),
    [(0.37, "0.37"), (1.05e-4, "0.00011"), (1.00507e-4, "0.000101"), (9.996e-5, "9.996e-05"), (1e-4, "0.0001")],
)
def test_a_cosine_beside_its_tolerance_never_reads_as_the_tolerance_unless_it_is(cosine, shown):
    from nnbackprop.results import beside

    assert beside(cosine, 1e-4) == shown
    assert beside(0.00999, 0.01) == "0.00999" and beside(0.0086, 0.01) == "0.0086"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2.6103, "2.6103"), (-0.0139, "-0.0139"), (0.0, "0.0000"), (1.098e-05, "1.0980e-05"), (-6.8e-16, "-6.8000e-16")],
)
def test_a_parameter_too_small_for_four_decimals_keeps_its_digits(value, shown):
    """The output weights of a fit to y of about 1e-6 read "w3 = 0.0000" before: a learner saw no number."""
    from nnbackprop.cli.train import _value

    assert _value(value) == shown


def test_a_wide_csv_says_which_columns_a_config_that_names_one_trains_on(write_config, invoke):
    """Four columns, the input named: the target is the first free column, 'id', which a person
    should hear; naming both says nothing; naming neither, where the second is text, says why."""
    csv = "id,name,temp,response\n1,a,3,4\n2,b,4,5\n3,c,6,7\n"
    one = write_config("data: {path: data.csv, input: temp}\ntraining: {max_epochs: 2}\n", csv=csv)
    result = invoke("train", "-c", one, "--out", "-")
    assert json.loads(result.stdout)["data"]["target"] == "id"
    assert (
        "note: data.target is not set: it is 'id', the first of the 4 columns that data.input does not take"
        in result.stderr
    )
    both = write_config("data: {path: data.csv, input: temp, target: response}\ntraining: {max_epochs: 2}\n", csv=csv)
    assert "not set" not in invoke("train", "-c", both, "--out", "-").stderr
    neither = write_config("data: {path: data.csv}\n", csv=csv)
    result = invoke("train", "-c", neither, "--out", "-")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "column 'name': 'a' is not a number; data.input and data.target are not set: they are the first two of "
        "4 columns, 'id' and 'name'\n"
    )
