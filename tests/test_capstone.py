"""The capstone's configuration checks, evaluation and public checks."""

import re

import pytest

from deadrelu.capstone import BROKEN_CONFIG, CAUSES, check_config, evaluate_config, log_experiment
from deadrelu.checks.capstone_diagnose_and_fix import check_diagnosis, check_fixed_config


@pytest.mark.parametrize(
    "config, message",
    [
        ({"learning_rate": 0.1}, "unknown keys ['learning_rate']"),
        ({"inputs": "normalised"}, "inputs='normalised' is not one of"),
        ({"epochs": 30}, "the budget is 1000"),
        ({"hidden": ()}, "hidden must be 1 to 8 layer widths"),
        ({"lr": -1}, "lr must be a number"),
        ({"clip_grad_norm": 0}, "clip_grad_norm must be None or a positive number"),
        ("sgd", "a configuration is a dict"),
    ],
)
def test_invalid_configurations_are_refused_with_a_reason(config, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_config(config)


def test_missing_keys_come_from_the_broken_config():
    assert check_config({"lr": 0.1}) == {**BROKEN_CONFIG, "lr": 0.1}


def test_the_broken_run_fails_and_the_model_fix_passes():
    (broken,) = evaluate_config(BROKEN_CONFIG, seeds=(0,))
    assert not broken.passed and broken.worst_dead == 1.0
    (fixed,) = evaluate_config({"inputs": "scaled", "lr": 0.1, "bias_init": 0.0, "normalization": "batch"}, seeds=(0,))
    assert fixed.passed


def test_log_records_the_changes_and_the_verdict():
    log = []
    row = log_experiment(log, "scaled", {"inputs": "scaled"}, seeds=(0,))
    assert log == [row] and row["changes from BROKEN_CONFIG"] == "inputs=scaled" and row["meets the bar"] == "no"


def test_diagnosis_check_accepts_sets_and_lists_and_catches_typos():
    check_diagnosis({CAUSES[0]})
    check_diagnosis([CAUSES[1], CAUSES[2]])
    with pytest.raises(AssertionError, match="did you mean 'learning rate too high'"):
        check_diagnosis({"learning rate to high"})
    with pytest.raises(AssertionError, match="set of causes"):
        check_diagnosis("inputs not scaled")
    with pytest.raises(AssertionError, match="is empty"):
        check_diagnosis(set())
    with pytest.raises(AssertionError, match="not implemented yet"):
        check_diagnosis(None)


def test_fixed_config_check_refuses_the_broken_run_and_reports_seed_0():
    with pytest.raises(AssertionError, match="still BROKEN_CONFIG"):
        check_fixed_config(dict(BROKEN_CONFIG))
    with pytest.raises(AssertionError, match="above the 5% limit"):
        check_fixed_config({"inputs": "scaled"})
