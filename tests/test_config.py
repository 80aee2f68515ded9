"""Config: defaults, number forms, overrides, and one clear error per mistake."""

from __future__ import annotations

import os

import pytest
from conftest import STATQUEST_CONFIG

from nnbackprop.config import load
from nnbackprop.errors import ConfigError


def test_statquest_config_resolves(write_config, tmp_path):
    config = load(str(write_config(STATQUEST_CONFIG)))
    assert config.data.path == str(tmp_path / "data.csv")
    assert (config.data.input, config.data.target) == ("dosage", "efficacy")
    assert config.model.hidden == 2
    assert config.model.activation == "softplus"
    assert config.init.values["w2"] == -1.13
    assert config.init.seed is None
    assert config.training.learning_rate == 0.01
    assert config.training.max_epochs == 20000
    assert config.training.min_step_size == 1e-6
    assert config.output is None


def test_defaults(write_config):
    config = load(str(write_config("data: {path: data.csv}\n")))
    assert config.init.seed == 0
    assert (config.training.learning_rate, config.training.max_epochs, config.training.min_step_size) == (
        "auto",
        5000,  # lm's
        0.001,
    )
    assert config.training.optimizer == "lm"  # neither an optimizer nor a rate named
    assert config.training.trainable is None
    assert config.training.restarts == 1
    assert config.data.input is None
    assert config.data.target is None


@pytest.mark.parametrize(
    ("training", "hidden", "optimizer", "rate"),
    [
        ("", 2, "lm", "auto"),  # nothing named: the optimizer that fits
        ("learning_rate: 0.01", 2, "gd", 0.01),  # a rate: the article's gradient descent
        ("learning_rate: auto", 2, "gd", "auto"),
        ("optimizer: gd", 2, "gd", "auto"),
        ("", 33, "lm", "auto"),  # 100 parameters
        ("", 34, "gd", "auto"),  # 103: past LM_DEFAULT_PARAMETERS
        ("trainable: [w1, b1]", 34, "lm", "auto"),  # what trains counts
    ],
)
def test_the_default_optimizer_is_lm_unless_a_rate_is_named(write_config, training, hidden, optimizer, rate):
    def config(keys):
        return load(str(write_config(f"data: {{path: data.csv}}\nmodel: {{hidden: {hidden}}}\ntraining: {{{keys}}}\n")))

    default = config(training)
    assert (default.training.optimizer, default.training.learning_rate) == (optimizer, rate)
    assert default.training.max_epochs == (5000 if optimizer == "lm" else 1000)
    named = config(", ".join(filter(None, [training, "max_epochs: 7"])))
    assert (named.training.optimizer, named.training.max_epochs) == (optimizer, 7)


@pytest.mark.parametrize(
    ("training", "hidden", "says"),
    [
        ("", 33, None),  # 100 parameters: lm, and nothing to explain
        (
            "",
            34,
            "as 103 parameters train: lm, the default for up to 100, would solve a 103 x 103 system each "
            "iteration; set training.optimizer: lm to use it anyway",
        ),
        (
            "",
            667,
            "as 2,002 parameters train: lm, the default for up to 100, would solve a 2,002 x 2,002 system "
            "each iteration; lm takes at most 2,000",
        ),
        ("learning_rate: auto", 34, None),  # asked for: nothing to explain
        ("optimizer: gd", 34, None),
    ],
)
def test_a_config_says_why_it_trains_with_gd_when_it_named_no_optimizer(write_config, training, hidden, says):
    path = write_config(f"data: {{path: data.csv}}\nmodel: {{hidden: {hidden}}}\ntraining: {{{training}}}\n")
    config = load(str(path))
    assert config.notes == (() if says is None else (f"training with gd, learning_rate: auto, {says}",))
    assert "notes" not in config.to_dict()


def test_paths_resolve_against_the_config_folder(write_config, tmp_path):
    (tmp_path / "sub").mkdir()
    path = write_config("data: {path: ../data.csv}\noutput: ../runs/r.json\n", name="sub/c.yaml")
    config = load(str(path))
    assert config.data.path == str(tmp_path / "data.csv")
    assert config.output == str(tmp_path / "runs" / "r.json")


@pytest.mark.parametrize("text, value", [("1e-3", 1e-3), ("1E-3", 1e-3), (".5", 0.5), ("5", 5.0), ("+2.5e+1", 25.0)])
def test_numbers_as_people_write_them(write_config, text, value):
    config = load(str(write_config(f"data: {{path: data.csv}}\ntraining: {{learning_rate: {text}}}\n")))
    assert config.training.learning_rate == value


def test_whole_numbers_may_be_written_as_floats(write_config):
    config = load(str(write_config("data: {path: data.csv}\ntraining: {max_epochs: 1e4}\n")))
    assert config.training.max_epochs == 10000


def test_overrides_win_and_are_validated_alike(write_config):
    path = str(write_config(STATQUEST_CONFIG))
    config = load(path, ["training.learning_rate=0.05", "model.hidden=3", "init={seed: 4}"])
    assert config.training.learning_rate == 0.05
    assert config.model.hidden == 3
    assert config.init.seed == 4
    with pytest.raises(
        ConfigError, match=r"^--set training.learning_rate=-1: training.learning_rate: must be greater than 0"
    ):
        load(path, ["training.learning_rate=-1"])
    with pytest.raises(
        ConfigError,
        match=r"^--set training.learnin_rate=1: training.learnin_rate: unknown key \(did you mean 'learning_rate'\?\)",
    ):
        load(path, ["training.learnin_rate=1"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load(path, ["training.learning_rate"])


def test_a_column_named_like_a_yaml_boolean_stays_a_string(write_config):
    config = load(str(write_config("data: {path: data.csv, input: no, target: yes}\n")))
    assert (config.data.input, config.data.target) == ("no", "yes")


@pytest.mark.parametrize(
    "text, message",
    [
        ("data: [1, 2\n", r"config.yaml:2:1: YAML syntax error"),
        ("data:\n  path: data.csv\n   bad: 1\n", r"config.yaml:3:\d+: YAML syntax error"),
        ("- just\n- a list\n", r"config.yaml: expected a mapping of keys"),
        ("", r"config.yaml: empty config"),
        ("model: {hidden: 2}\n", r"config.yaml: data: missing"),
        ("data: {path: data.csv}\ntrainig: {}\n", r"config.yaml:2: trainig: unknown key \(did you mean 'training'\?\)"),
        (
            "data: {path: data.csv}\nmodel: {hiden: 3}\n",
            r"config.yaml:2: model.hiden: unknown key \(did you mean 'hidden'\?\)",
        ),
        ("data: {path: nope.csv}\n", r"config.yaml:1: data.path: .*nope.csv does not exist"),
        ("data: {path: data.csv}\nmodel: {hidden: 0}\n", r"config.yaml:2: model.hidden: must be at least 1, got 0"),
        ("data: {path: data.csv}\nmodel: {hidden: 2.5}\n", r"model.hidden: must be a whole number, got '2.5'"),
        (
            "data: {path: data.csv}\nmodel: {activation: swish}\n",
            r"model.activation: unknown 'swish' \(one of: softplus, relu, sigmoid, tanh\)",
        ),
        ("data: {path: data.csv}\nmodel: 3\n", r"config.yaml:2: model: must be a mapping, got '3'"),
        (
            "data: {path: data.csv}\ntraining:\n  learning_rate: 0\n",
            r"config.yaml:3: training.learning_rate: must be greater than 0 or auto, got 0",
        ),
        (
            "data: {path: data.csv}\ntraining: {learning_rate: .inf}\n",
            r"training.learning_rate: must be a number > 0 or auto, got '.inf'",
        ),
        (
            "data: {path: data.csv}\ntraining: {learning_rate: .nan}\n",
            r"training.learning_rate: must be a number > 0 or auto, got '.nan'",
        ),
        (
            "data: {path: data.csv}\ntraining: {learning_rate: fast}\n",
            r"training.learning_rate: must be a number > 0 or auto, got 'fast'",
        ),
        (
            "data: {path: data.csv}\ntraining: {learning_rate: '0.1'}\n",
            r"training.learning_rate: must be a number, got '0.1'",
        ),
        (
            "data: {path: data.csv}\ntraining: {learning_rate: }\n",
            r"training.learning_rate: must be a number, got nothing",
        ),
        ("data: {path: data.csv}\ntraining: {max_epochs: -1}\n", r"training.max_epochs: must be at least 0, got -1"),
        ("data: {path: data.csv}\ntraining: {min_step_size: -1e-3}\n", r"training.min_step_size: must be at least 0"),
        ("data: {path: data.csv}\ntraining: {trainable: [b9]}\n", r"training.trainable: no parameter 'b9'"),
        ("data: {path: data.csv}\ntraining: {trainable: [w1, b3, w1]}\n", r"training.trainable: 'w1' is named twice"),
        (
            "data: {path: data.csv}\noutput: true\n",
            r"config.yaml:2: output: must be a file's path, got the boolean true; quote it \('true'\)",
        ),
        ("data: {path: data.csv}\noutput: 3\n", r"output: must be a file's path, got the number 3"),
        ("data: {path: 1e3}\n", r"config.yaml:1: data.path: must be a file's path, got the number 1e3"),
        (
            "data: {path: data.csv}\ntraining: {trainable: []}\n",
            r"training.trainable: must name at least one parameter",
        ),
        ("data: {path: data.csv}\ninit: {w1: 1}\n", r"config.yaml:2: init: missing b1, w2, b2, w3, w4, b3"),
        ("data: {path: data.csv}\ninit: {seed: 1, w7: 1}\n", r"init.w7: unknown key"),
        ("data: {path: data.csv}\ninit: {seed: -1}\n", r"init.seed: must be at least 0"),
        (
            "data: {path: data.csv}\ninit: {w1: 1, b1: 0, w2: 1, b2: 0, w3: 1, w4: 1, b3: 0}\n"
            "training: {restarts: 4}\n",
            r"training.restarts: needs init: \{seed: N\}",
        ),
        ("data: {path: data.csv}\ndata: {path: data.csv}\n", r"config.yaml:2: data: key given twice"),
    ],
)
def test_errors_name_file_line_and_key(write_config, text, message):
    with pytest.raises(ConfigError, match=message):
        load(str(write_config(text)))


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.yaml: no such config file"):
        load(str(tmp_path / "nope.yaml"))


def test_lm_refuses_more_parameters_than_its_dense_solve_takes(write_config):
    with pytest.raises(ConfigError, match=r"config.yaml:2: training.optimizer: lm solves a 2,101 x 2,101 system"):
        load(str(write_config("data: {path: data.csv}\ntraining: {optimizer: lm}\nmodel: {hidden: 700}\n")))
    few = load(
        str(
            write_config("data: {path: data.csv}\ntraining: {optimizer: lm, trainable: [b701]}\nmodel: {hidden: 700}\n")
        )
    )
    assert few.training.optimizer == "lm"  # one trainable parameter: a 1 x 1 system


@pytest.mark.parametrize("text", ["optimizer: LM", "optimizer: adam", "learning_rate: Auto", "gradient_tolerance: 1"])
def test_training_choices_are_checked(write_config, text):
    with pytest.raises(ConfigError, match=r"config.yaml:2: training\."):
        load(str(write_config(f"data: {{path: data.csv}}\ntraining: {{{text}}}\n")))


def test_a_quoted_number_or_boolean_is_a_files_name(write_config):
    config = load(str(write_config("data: {path: data.csv}\noutput: 'true'\n")))
    assert os.path.basename(config.output) == "true"
