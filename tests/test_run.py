"""nnbackprop.fit: the library the commands are shells over, checked against what `train` writes."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ROOT

import nnbackprop
from nnbackprop.cli import cli
from nnbackprop.config import SECTIONS

DOSAGE = str(ROOT / "configs" / "dosage.yaml")
DOSAGE_X, DOSAGE_Y = np.array([0.0, 0.5, 1.0]), np.array([0.0, 1.0, 0.0])
CLI_ONLY = ("wall_time_s", "platform")  # what train adds to the library's document


def train_document(*args) -> dict:
    result = CliRunner().invoke(cli, ["train", *map(str, args), "--out", "-", "--quiet"])
    assert result.exit_code in (0, 5), result.output
    return json.loads(result.stdout)


def without_cli_keys(document: dict) -> dict:
    return {k: v for k, v in document.items() if k not in CLI_ONLY}


def test_fit_gives_the_document_train_writes():
    run = nnbackprop.fit(DOSAGE, max_epochs=300)
    assert run.document == without_cli_keys(train_document("-c", DOSAGE, "--epochs", 300))


def test_the_document_holds_every_key_but_wall_time_and_platform():
    document = train_document("-c", DOSAGE, "--epochs", 3)
    assert list(nnbackprop.fit(DOSAGE, max_epochs=3).document) == [k for k in document if k not in CLI_ONLY]


def test_fit_with_restarts_gives_the_document_train_writes():
    overrides = {"max_epochs": 50, "restarts": 3, "seed": 4}
    run = nnbackprop.fit(DOSAGE, **overrides)
    cli_doc = train_document("-c", DOSAGE, "--epochs", 50, "--set", "training.restarts=3", "--seed", 4)
    assert run.document == without_cli_keys(cli_doc)


def test_run_exposes_params_history_and_verdict():
    run = nnbackprop.fit(DOSAGE, max_epochs=200)
    assert list(run.params) == nnbackprop.param_names(2)
    assert run.params == run.document["params"]
    assert run.history == run.document["loss_history"]
    assert run.stop_reason == nnbackprop.StopReason.MAX_EPOCHS
    assert run.converged is run.document["converged"]
    assert run.verdict.gradient_norm == run.document["gradient_norm"]


def test_predict_is_the_forward_pass_at_the_final_params():
    run = nnbackprop.fit(DOSAGE, max_epochs=100)
    x = np.linspace(-1, 2, 7)
    np.testing.assert_array_equal(run.predict(x), nnbackprop.forward(run.theta, x))


def test_predict_keeps_the_shape_of_its_input():
    run = nnbackprop.fit(DOSAGE, max_epochs=10)
    assert run.predict(np.zeros((4, 1))).shape == (4, 1)
    assert run.predict(0.5).shape == ()


def test_a_mapping_with_arrays_trains_as_the_config_file_does():
    from_file = nnbackprop.fit(DOSAGE, max_epochs=500)
    mapping = {
        "data": (DOSAGE_X, DOSAGE_Y),
        "init": from_file.document["initial_params"],
        "training": {"learning_rate": 0.01, "min_step_size": 1e-6, "max_epochs": 500},
    }
    from_arrays = nnbackprop.fit(mapping)
    assert from_arrays.params == from_file.params
    assert from_arrays.history == from_file.history


def test_arrays_may_stand_in_for_data_path_with_column_names():
    run = nnbackprop.fit({"data": {"path": (DOSAGE_X, DOSAGE_Y), "input": "dosage"}}, max_epochs=5)
    assert run.document["data"] == {"path": None, "input": "dosage", "target": "y", "rows": 3, "sha256": None}


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_the_result_records_the_sha256_of_the_data_files_bytes(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    if suffix == ".csv":  # a byte-order mark and CRLF line ends: the hash is of the bytes, not the text read
        path.write_bytes(b"\xef\xbb\xbfdosage,efficacy\r\n0,0\r\n0.5,1\r\n1,0\r\n")
    else:
        np.save(path, np.column_stack([DOSAGE_X, DOSAGE_Y]))
    run = nnbackprop.fit({"data": {"path": str(path)}}, max_epochs=2)
    assert run.document["data"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert run.document["data"]["rows"] == 3


def test_data_override_replaces_the_mapping_data():
    x = np.linspace(0, 1, 20)
    run = nnbackprop.fit({"model": {"hidden": 1}}, data=(x, 2 * x + 1), optimizer="lm", max_epochs=50)
    assert run.document["data"]["rows"] == 20
    np.testing.assert_allclose(run.predict(x), 2 * x + 1, atol=1e-2)  # a line, from one softplus


def test_overrides_by_name_dotted_key_and_section_agree():
    by_name = nnbackprop.fit(DOSAGE, learning_rate=0.05, max_epochs=20)
    dotted = nnbackprop.fit(DOSAGE, **{"training.learning_rate": 0.05, "training.max_epochs": 20})
    assert by_name.params == dotted.params
    assert by_name.document["config"]["training"]["learning_rate"] == 0.05


def test_every_config_field_has_an_override_name():
    fields = set(nnbackprop.config.TrainingConfig.__dataclass_fields__) | {"hidden", "activation"}
    assert fields <= set(SECTIONS)


def test_seed_override_starts_from_random_weights_as_train_seed_does():
    run = nnbackprop.fit(DOSAGE, seed=3, max_epochs=5)
    assert run.document == without_cli_keys(train_document("-c", DOSAGE, "--seed", 3, "--epochs", 5))


def test_resume_carries_on_as_train_resume_does(tmp_path):
    first = tmp_path / "first.json"
    CliRunner().invoke(cli, ["train", "-c", DOSAGE, "--epochs", "40", "--out", str(first), "-q"])
    resumed = nnbackprop.fit(DOSAGE, resume=str(first), max_epochs=90)
    cli_doc = train_document("-c", DOSAGE, "--resume", first, "--epochs", 90)
    assert resumed.document == without_cli_keys(cli_doc)


def test_resume_equals_one_long_run(tmp_path):
    first = tmp_path / "first.json"
    CliRunner().invoke(cli, ["train", "-c", DOSAGE, "--epochs", "40", "--out", str(first), "-q"])
    resumed = nnbackprop.fit(DOSAGE, resume=str(first), max_epochs=90)
    assert resumed.params == nnbackprop.fit(DOSAGE, max_epochs=90).params


def test_init_params_starts_from_a_results_params(tmp_path):
    first = tmp_path / "first.json"
    CliRunner().invoke(cli, ["train", "-c", DOSAGE, "--epochs", "40", "--out", str(first), "-q"])
    run = nnbackprop.fit(DOSAGE, init_params=str(first), max_epochs=1)
    assert run.document["initial_params"] == json.loads(first.read_text())["params"]


def test_progress_is_called_with_epoch_and_loss():
    calls = []
    run = nnbackprop.fit(DOSAGE, max_epochs=3000, progress=lambda epoch, loss: calls.append((epoch, loss)))
    assert calls
    assert all(run.history[epoch] == loss for epoch, loss in calls)


def test_progress_does_not_change_the_numbers():
    quiet = nnbackprop.fit(DOSAGE, max_epochs=3000)
    watched = nnbackprop.fit(DOSAGE, max_epochs=3000, progress=lambda epoch, loss: None)
    assert watched.document == quiet.document


def test_interrupt_stops_the_run():
    interrupt = nnbackprop.Interrupt(signal=2)
    run = nnbackprop.fit(DOSAGE, interrupt=interrupt)
    assert run.stop_reason == nnbackprop.StopReason.INTERRUPTED


def test_fit_says_nothing(capfd):
    nnbackprop.fit(DOSAGE, max_epochs=100, learning_rate=10.0)
    captured = capfd.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_resume_notes_are_kept_on_the_run_not_printed(tmp_path, capfd):
    first = tmp_path / "first.json"
    CliRunner().invoke(cli, ["train", "-c", DOSAGE, "--epochs", "10", "--out", str(first), "-q"])
    capfd.readouterr()
    run = nnbackprop.fit(DOSAGE, resume=str(first), learning_rate=0.02, max_epochs=20)
    assert run.notes == [f"{first} was trained with other learning_rate; carrying on with this config's"]
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    ("config", "overrides", "message"),
    [
        (DOSAGE, {"learning_rate": "fast"}, "training.learning_rate: must be a number > 0 or auto, got 'fast'"),
        (DOSAGE, {"epochs": 3}, "fit(epochs=...): unknown key (did you mean 'max_epochs'?)"),
        (DOSAGE, {"zzz": 3}, "fit(zzz=...): unknown key (known: optimizer, learning_rate, max_epochs,"),
        (DOSAGE, {"hidden": 0}, "model.hidden: must be at least 1"),
        ({"model": {"hidden": 2}}, {}, "data: missing"),
        ({"data": ([0, 1], [1])}, {}, "x and y must be 1-D and of one length"),
        ({"data": ([0, np.nan], [1, 2])}, {}, "data: x[1] is nan: every value must be a finite number"),
        ({"data": ([0, 1, 2], [1, 2, -np.inf])}, {}, "data: y[2] is -inf: every value must be a finite number"),
        (DOSAGE, {"data": ([0, 1], [0, 1])}, "arrays go with a config mapping"),
        (42, {}, "expected a config file's path or a mapping, got int"),
        ({"data": {"path": str(ROOT / "nope.csv")}}, {}, "does not exist"),
    ],
)
def test_bad_input_is_one_library_error(config, overrides, message):
    with pytest.raises(nnbackprop.NnbackpropError) as error:
        nnbackprop.fit(config, **overrides)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_run_shows_itself_in_a_notebook():
    pytest.importorskip("matplotlib")
    run = nnbackprop.fit(DOSAGE, max_epochs=50)
    page = run._repr_html_()
    assert run.summary() in page
    assert "<svg" in page
    assert all(name in page for name in run.params)


def test_repr_is_the_summary():
    run = nnbackprop.fit(DOSAGE, max_epochs=5)
    assert repr(run) == f"<nnbackprop.Run {run.summary()}>"
    ssr = run.document["final_loss"]
    assert run.summary() == f"gd (learning rate 0.01): 5 epochs, stopped by max_epochs, SSR {ssr:.6g}, not converged"


def test_the_summary_says_when_a_converged_fit_is_no_better_than_a_constant():
    start = {"w1": 0.0, "b1": 0.0, "w2": 0.0, "b2": 0.0, "w3": 0.36, "w4": 0.63, "b3": 0.0}  # flat: a stationary
    flat = nnbackprop.fit({"data": (DOSAGE_X, DOSAGE_Y), "init": start}, optimizer="lm")  # point of this data
    assert flat.summary().endswith("SSR 0.666667, converged, but no better than a constant (R² below 0.01)")
    assert nnbackprop.fit(DOSAGE, optimizer="lm").summary().endswith(", converged")
    same = nnbackprop.fit({"data": (np.ones(4), np.array([1.0, 2, 3, 5]))})
    assert same.summary().endswith("converged, but no better than a constant (R² below 0.01); every input is the same")


def test_the_library_never_imports_click():
    code = (
        "import sys, nnbackprop; nnbackprop.fit(sys.argv[1], max_epochs=3); "
        "assert 'click' not in sys.modules, 'click imported'"
    )
    subprocess.run([sys.executable, "-c", code, DOSAGE], check=True)


def test_the_readme_python_section_runs_as_shown(monkeypatch):
    import doctest

    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## In Python", 1)[1].split("\n## ", 1)[0]
    examples = "\n".join(re.findall(r"```python\n(.*?)```", section, flags=re.S))
    test = doctest.DocTestParser().get_doctest(examples, {}, "README: In Python", "README.md", 0)
    assert len(test.examples) >= 8
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_the_readme_report_section_prints_what_it_shows(tmp_path, monkeypatch):
    import functools
    import shlex
    import shutil

    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    section = (ROOT / "README.md").read_text().split("### Step through a run: `report`", 1)[1].split("\n### ", 1)[0]
    untimed = functools.partial(re.sub, r"\(\d+\.\d\d s\)", "(time)")
    (block,) = re.findall(r"```console\n(.*?)```", section, flags=re.S)
    chunks = re.split(r"^\$ ", block, flags=re.M)[1:]
    assert len(chunks) == 2
    for chunk in chunks:
        command, *shown = chunk.splitlines()
        result = CliRunner().invoke(cli, shlex.split(command)[1:])
        assert result.exit_code == 0, result.stderr
        assert [untimed(line) for line in (result.stdout + result.stderr).splitlines()] == [untimed(s) for s in shown]
    assert (tmp_path / "runs" / "dosage.html").stat().st_size <= 300_000


def test_snapshots_do_not_change_the_numbers():
    plain = nnbackprop.fit(DOSAGE, max_epochs=2000)
    recorded = nnbackprop.fit(DOSAGE, max_epochs=2000, snapshots=True)
    assert {k: v for k, v in recorded.document.items() if k != "snapshots"} == plain.document


def test_snapshots_keep_the_first_best_and_last_epochs_exactly():
    run = nnbackprop.fit(DOSAGE, max_epochs=2000, snapshots=True)
    snapshots = run.document["snapshots"]
    kept = dict(zip(snapshots["epochs"], snapshots["params"]))
    names = nnbackprop.param_names(2)
    assert kept[0] == [run.document["initial_params"][n] for n in names]
    assert kept[run.document["epochs"]] == [run.document["params"][n] for n in names]
    assert kept[run.document["best_epoch"]] == [run.document["best_params"][n] for n in names]


def test_train_report_writes_the_page_report_writes(tmp_path):
    out, page = tmp_path / "run.json", tmp_path / "run.html"
    args = ["train", "-c", DOSAGE, "--epochs", "500", "--out", str(out), "--report", str(page), "-q"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    again = tmp_path / "again.html"
    assert CliRunner().invoke(cli, ["report", str(out), "--out", str(again)]).exit_code == 0
    assert again.read_bytes() == page.read_bytes()


def test_train_report_refuses_the_same_place_as_out(tmp_path):
    out = tmp_path / "run.json"
    result = CliRunner().invoke(cli, ["train", "-c", DOSAGE, "--out", str(out), "--report", str(out)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: --report and --out are both {out}: give them different places\n"


@pytest.mark.parametrize(
    ("config", "arguments", "message"),
    [
        (DOSAGE, {"resume": {}}, "fit(resume=...): expected a result file's path, got dict"),
        (DOSAGE, {"progress": 5}, "fit(progress=...): expected a function of (epoch, ssr), got int"),
        (DOSAGE, {"scheduler": "tcp://x:1"}, "scheduler: goes with engine dask"),
        ({"data": (DOSAGE_X + 1j, DOSAGE_Y)}, {}, "expected a pair of real arrays"),
        ({"data": ([], [])}, {}, "no rows of data"),
    ],
)
def test_fit_checks_its_own_arguments(config, arguments, message):
    with pytest.raises(nnbackprop.NnbackpropError) as error:
        nnbackprop.fit(config, **arguments)
    assert message in str(error.value)


def test_numpy_numbers_are_numbers_to_fit():
    assert nnbackprop.fit(DOSAGE, learning_rate=np.float64(0.02), max_epochs=np.int64(3)).document["epochs"] == 3


def test_a_path_may_stand_for_the_data(monkeypatch):
    monkeypatch.chdir(ROOT)
    run = nnbackprop.fit({"data": "data/dosage.csv"}, max_epochs=2)
    assert run.document["data"]["rows"] == 3


def test_report_refuses_to_write_over_its_result(tmp_path):
    result = tmp_path / "run.json"
    CliRunner().invoke(cli, ["train", "-c", DOSAGE, "--epochs", "3", "--out", str(result), "-q"])
    before = result.read_bytes()
    done = CliRunner().invoke(cli, ["report", str(result), "-o", str(result)])
    assert done.exit_code == 2
    assert result.read_bytes() == before
