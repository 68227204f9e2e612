"""Notebook 08's diagnosis, graded from the student's experiment log: catalogues of right and
wrong answers run through the notebook's own test cells (run_graded_cell), in milliseconds.

The logs are built from fake run records (the hidden tests only read the log, they do not
retrain), shaped like what `log_experiment` appends: a `LogRow` with the completed
configuration and one `CapstoneRun` per seed. The dead shares are those the real runs show
(deadrelu/sweep_results/08_capstone_causes.json and the notebook's own log).
"""

import nbformat
import pytest

from course_tools import run_graded_cell, solution_notebook

from deadrelu.lessons.capstone_diagnose_and_fix import (
    BROKEN_CONFIG,
    CAUSE_KNOBS,
    CAUSES,
    CapstoneRun,
    LogRow,
    check_config,
    find_evidence,
    rule_pass_probability,
)
from deadrelu.sweeps import load_sweep

ASSIGNMENT = "08_capstone_diagnose_and_fix"
PRELUDE = "from deadrelu.checks.capstone_diagnose_and_fix import check_diagnosis"
REAL = {"inputs not scaled", "learning rate too high", "negative bias initialization"}
THREE_FIXES = {"inputs": "scaled", "lr": 0.2, "bias_init": 0.0}

# dead share per hidden layer, one list per seed (five seeds), as the real runs show them
BROKEN = [
    [0.33, 0.28, 0.59, 1.0],
    [0.34, 0.03, 0.61, 1.0],
    [0.39, 0.23, 0.72, 1.0],
    [0.30, 0.20, 0.65, 1.0],
    [0.36, 0.25, 0.70, 1.0],
]
WORKING = [
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.016, 0.0],
    [0.0, 0.0, 0.0, 0.0],
    [0.016, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.031],
]
RAW_BACK = [
    [0.70, 0.05, 0.02, 0.0],
    [0.64, 0.03, 0.0, 0.02],
    [0.77, 0.06, 0.03, 0.0],
    [0.59, 0.02, 0.0, 0.0],
    [0.73, 0.08, 0.02, 0.03],
]
LR_BACK = [
    [0.61, 0.09, 0.05, 0.03],
    [0.55, 0.12, 0.03, 0.05],
    [0.66, 0.08, 0.06, 0.02],
    [0.58, 0.11, 0.02, 0.03],
    [0.63, 0.1, 0.04, 0.06],
]
BIAS_BACK = [
    [0.02, 0.16, 0.83, 1.0],
    [0.0, 0.2, 0.86, 1.0],
    [0.03, 0.13, 0.8, 1.0],
    [0.02, 0.17, 0.88, 1.0],
    [0.0, 0.19, 0.84, 1.0],
]
SAME_AS_WORKING = [
    [0.0, 0.016, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.016],
    [0.016, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.016, 0.0],
]


def row(log, changes, dead, seeds=(0, 1, 2, 3, 4), diverged=(), label=None):
    """Append to `log` what log_experiment would for `changes` to BROKEN_CONFIG with these dead shares."""
    config = check_config({**BROKEN_CONFIG, **changes})
    runs = [CapstoneRun(seed, list(d), 0.97, None, seed in diverged) for seed, d in zip(seeds, dead)]
    log.append(LogRow({"step": len(log) + 1, "label": label or str(changes)}, config, runs))
    return log


def model_answer_log(working=None):
    """The notebook's way: a working run, then each fault put back into it (leave-one-out)."""
    working = working or {**THREE_FIXES, "bias_init": 0.1}
    log = row([], {}, BROKEN, label="as given")
    row(log, working, WORKING, label="working")
    row(log, {**working, "inputs": "raw"}, RAW_BACK, diverged=(3,))
    row(log, {**working, "lr": 0.5}, LR_BACK)
    row(log, {**working, "bias_init": -0.3}, BIAS_BACK)
    return log


def graded(grade_id, diagnosis, log):
    return run_graded_cell(ASSIGNMENT, grade_id, {"DIAGNOSIS": diagnosis, "LOG": log}, PRELUDE)


FINDS, NO_FALSE, BACKED = (
    "test_diagnosis_finds_every_cause",
    "test_diagnosis_names_no_false_cause",
    "test_diagnosis_is_backed_by_the_log",
)


# --- right answers -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "diagnosis",
    [
        set(REAL),
        sorted(REAL),
        tuple(sorted(REAL, reverse=True)),
        frozenset(REAL),
    ],
    ids=["set", "list", "tuple", "frozenset"],
)
def test_the_real_causes_backed_by_leave_one_out_rows_earn_every_point(diagnosis):
    log = model_answer_log()
    assert [graded(cell, diagnosis, log) for cell in (FINDS, NO_FALSE, BACKED)] == [None, None, None]


def test_a_one_change_run_against_broken_config_itself_backs_a_cause():
    log = row([], {}, BROKEN, label="as given")
    row(log, {"inputs": "scaled"}, [[0.02, 0.1, 0.5, 1.0]] * 5)  # the first layer lives: lower on every seed
    assert graded(BACKED, {"inputs not scaled"}, log) is None


def test_the_experiment_may_sit_anywhere_in_a_longer_log_with_more_seeds():
    log = row([], {"lr": 0.1}, BROKEN)
    row(
        log, {**THREE_FIXES, "init": "he_normal", "bias_init": 0.1}, WORKING
    )  # two knobs apart from everything: ignored
    log += model_answer_log()
    row(
        log, {**THREE_FIXES, "bias_init": 0.1}, WORKING + [[0.0] * 4], seeds=(0, 1, 2, 3, 4, 5)
    )  # six seeds, five shared
    assert graded(BACKED, REAL, log) is None


def test_a_repair_to_another_value_than_the_model_answer_counts():
    log = model_answer_log(working={**THREE_FIXES, "lr": 0.1, "bias_init": None})  # init's own biases, lr 0.1
    assert graded(BACKED, REAL, log) is None


def test_a_hidden_list_is_the_same_network_as_a_tuple():
    log = row([], {**THREE_FIXES, "bias_init": 0.1, "hidden": [64, 64, 64, 64]}, WORKING)
    row(log, {**THREE_FIXES, "bias_init": -0.3}, BIAS_BACK)
    assert graded(BACKED, {"negative bias initialization"}, log) is None


# --- wrong answers: the diagnosis ----------------------------------------------------------------
@pytest.mark.parametrize(
    "missing, words",
    [
        ("inputs not scaled", "input range"),
        ("learning rate too high", "update-to-weight ratio"),
        ("negative bias initialization", "before the first update"),
    ],
)
def test_a_diagnosis_missing_a_real_cause_fails_with_the_evidence_to_look_at(missing, words):
    message = graded(FINDS, REAL - {missing}, model_answer_log())
    assert message is not None and "a real cause is missing" in message and words in message
    assert missing not in message, "the hint points at the evidence, it does not name the answer"


@pytest.mark.parametrize(
    "distractor, words",
    [
        ("bad weight initialization", "a change that helps is not a cause"),
        ("batch size too small", "before the first update"),
        ("network too deep", "the first layer"),
        ("no normalization layers", "hides"),
        ("the ReLU activation itself", "cannot die"),
    ],
)
def test_a_diagnosis_naming_a_distractor_loses_the_no_false_cause_point(distractor, words):
    message = graded(NO_FALSE, REAL | {distractor}, model_answer_log())
    assert message is not None and distractor in message and words in message
    assert graded(FINDS, REAL | {distractor}, model_answer_log()) is None, (
        "naming an extra cause does not hide the real ones"
    )


def test_naming_every_listed_cause_loses_the_no_false_cause_point():
    assert "not a cause here" in graded(NO_FALSE, set(CAUSES), model_answer_log())


def test_every_distractor_has_a_hint_and_every_cause_a_knob():
    source = "".join(
        c.source
        for c in nbformat.read(solution_notebook(ASSIGNMENT), as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == NO_FALSE
    )
    assert all(f'"{cause}"' in source for cause in set(CAUSES) - REAL)
    assert set(CAUSE_KNOBS) == set(CAUSES)


def test_a_distractor_backed_by_a_helpful_change_is_still_false():
    """He init lowers the dead share of the broken run (it offsets the negative bias): the log
    backs the change, yet the default init is not a cause: the working run keeps it."""
    log = model_answer_log()
    row(log, {"init": "he_normal"}, [[0.3, 0.2, 0.3, 0.5]] * 5)
    assert graded(BACKED, REAL | {"bad weight initialization"}, log) is None
    assert "bad weight initialization" in graded(NO_FALSE, REAL | {"bad weight initialization"}, log)


# --- wrong answers: the log ----------------------------------------------------------------------
def test_a_cause_claimed_without_its_experiment_fails():
    log = model_answer_log()
    del log[4]  # no row puts bias -0.3 back: only "as given" keeps it, three knobs away from the working run
    message = graded(BACKED, REAL, log)
    assert "negative bias initialization" in message and "also change another knob" in message
    log = [row for row in log if row.config["bias_init"] != BROKEN_CONFIG["bias_init"]]  # and without "as given"
    assert "no run that keeps BROKEN_CONFIG's bias_init" in graded(BACKED, REAL, log)


def test_a_cause_whose_knob_was_never_changed_fails():
    log = row([], {}, BROKEN)
    row(log, {"lr": 0.2}, [[0.1, 0.2, 0.6, 1.0]] * 5)
    message = graded(BACKED, {"inputs not scaled"}, log)
    assert "no run that changes inputs" in message


def test_a_run_that_changed_two_knobs_does_not_back_a_cause():
    log = row([], {}, BROKEN)
    row(log, {"inputs": "scaled", "lr": 0.2}, [[0.0, 0.1, 0.5, 1.0]] * 5)  # two knobs at once
    message = graded(BACKED, {"inputs not scaled"}, log)
    assert "two knobs" in message and "inputs, lr" in message


def test_a_change_that_does_not_repair_the_fault_does_not_back_it():
    log = row([], {}, BROKEN)
    row(log, {"lr": 0.8}, [[0.1, 0.1, 0.4, 1.0]] * 5)  # a higher learning rate
    assert "does not repair the fault" in graded(BACKED, {"learning rate too high"}, log)


def test_a_comparison_on_one_seed_does_not_back_a_cause():
    log = row([], {}, BROKEN[:1], seeds=(0,))
    row(log, {"inputs": "scaled"}, [[0.0, 0.1, 0.5, 1.0]], seeds=(0,))
    assert "only 1 seed" in graded(BACKED, {"inputs not scaled"}, log)


def test_a_comparison_on_different_seeds_does_not_back_a_cause():
    log = row([], {}, BROKEN, seeds=(0, 1, 2, 3, 4))
    row(log, {"inputs": "scaled"}, [[0.0, 0.1, 0.5, 1.0]] * 5, seeds=(5, 6, 7, 8, 9))
    assert "only 0 seed" in graded(BACKED, {"inputs not scaled"}, log)


def test_a_change_within_the_seed_spread_does_not_back_a_cause():
    log = model_answer_log()
    row(log, {**THREE_FIXES, "bias_init": 0.1, "normalization": "batch"}, SAME_AS_WORKING)
    message = graded(BACKED, REAL | {"no normalization layers"}, log)
    assert "no normalization layers" in message and "did not lower the dead share" in message


def test_a_repair_whose_loss_diverges_does_not_back_a_cause():
    """Fixing the bias alone makes raw inputs at lr 0.5 blow up on about half the seeds: a seed
    whose loss diverged counts as every unit lost, so that row does not back the bias."""
    log = row([], {}, BROKEN)
    row(log, {"bias_init": 0.0}, [[0.1, 0.1, 0.1, 0.1]] * 5, diverged=(1, 3, 4))
    assert "did not lower the dead share" in graded(BACKED, {"negative bias initialization"}, log)


@pytest.mark.parametrize(
    "log, words",
    [
        ([], "holds no experiments made by log_experiment"),
        ([{"step": 1, "label": "as given", "meets the bar": "no"}], "holds no experiments made by log_experiment"),
        (None, None),
    ],
    ids=["empty", "rows by hand", "no log"],
)
def test_a_log_not_made_by_log_experiment_fails_the_public_check(log, words):
    message = graded(BACKED, REAL, log)
    if words:
        assert words in message
    else:  # LOG = None: the public check cannot hold it against the student, the hidden test can
        assert "holds no experiments" in message


def test_the_public_check_does_not_say_whether_the_diagnosis_is_right(capsys):
    from deadrelu.checks.capstone_diagnose_and_fix import check_diagnosis

    check_diagnosis({"bad weight initialization"}, model_answer_log())
    check_diagnosis(REAL, model_answer_log())
    printed = capsys.readouterr().out
    assert printed.count("graded when you hand in") == 2 and "false" not in printed and "missing" not in printed


def test_find_evidence_names_the_rows_and_the_layer():
    evidence, why = find_evidence(model_answer_log(), "negative bias initialization")
    assert (
        why is None
        and evidence.layer in (1, 2, 3)
        and "row 5" in evidence.describe()
        and "row 2" in evidence.describe()
    )


# --- the grader's rule for FIXED_CONFIG --------------------------------------------------------
def test_the_rule_follows_the_pass_rate_exactly():
    """35 of 40 fresh seeds: a configuration that meets the bar on 95 % of seeds passes with
    probability 0.986, one at 70 % with 0.0086 (binomial, computed exactly)."""
    assert rule_pass_probability(0.95) == pytest.approx(0.98612, abs=1e-5)
    assert rule_pass_probability(0.70) == pytest.approx(0.008618, abs=1e-6)
    assert rule_pass_probability(1.0) == 1.0 and rule_pass_probability(0.5) < 1e-6


def test_measured_pass_rates_agree_with_the_rule():
    """scripts/sweeps/08_capstone_pass_rates.py: every configuration that met the bar on at
    least 95 % of 40 seeds passed the grader's rule, and none at 70 % or below did."""
    rows = load_sweep("08_capstone_pass_rates")["results"]["rows"]
    assert any(r["pass rate"] >= 0.95 for r in rows.values()) and any(r["pass rate"] <= 0.70 for r in rows.values())
    for name, r in rows.items():
        if r["pass rate"] >= 0.95:
            assert r["grader verdict"] == "pass", name
        if r["pass rate"] <= 0.70:
            assert r["grader verdict"] == "fail", name


def test_the_model_answer_meets_the_rule_without_batch_norm():
    """The solution's FIXED_CONFIG has no normalization layer, and the stored 40-seed sweep shows
    it passing the grader's rule (the notebook run retrains it on the grader's 40 seeds)."""
    notebook = nbformat.read(solution_notebook(ASSIGNMENT), as_version=4)
    source = next(c.source for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "fixed_config")
    namespace = {"BROKEN_CONFIG": BROKEN_CONFIG}
    exec(source.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""), namespace)
    model = check_config(namespace["FIXED_CONFIG"])
    assert model["normalization"] is None and model["activation"] == "ReLU" and model["init"] == "default"
    assert model["hidden"] == BROKEN_CONFIG["hidden"] and model["batch_size"] == BROKEN_CONFIG["batch_size"]
    rows = load_sweep("08_capstone_pass_rates")["results"]["rows"]
    (stored,) = [r for r in rows.values() if check_config({**BROKEN_CONFIG, **r["changes"]}) == model]
    assert stored["grader verdict"] == "pass" and stored["pass rate"] >= 0.95
