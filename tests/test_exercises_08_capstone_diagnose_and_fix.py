"""The capstone through nbgrader's autograde: a correct alternative fix, diagnosis and
experiment log earn every automatic point; a fix that meets the bar on the notebook's seed 0
but not on the grader's fresh seeds loses its points, as does a diagnosis that misses a real
cause, names a distractor and has no experiment behind a cause it names."""

import pytest

from course_tools import error_messages, with_answers

pytestmark = pytest.mark.slow

ASSIGNMENT = "08_capstone_diagnose_and_fix"

CORRECT_ALTERNATIVES = {
    # another log than the model answer's: the three fixes with bias 0, each fault put back into it
    "experiment_log": (
        'three = {**BROKEN_CONFIG, "inputs": "scaled", "lr": 0.2, "bias_init": 0.0}\n'
        'log_experiment(LOG, "three fixes", three)\n'
        'for knob in ("inputs", "lr", "bias_init"):\n'
        '    log_experiment(LOG, f"three fixes but {knob} back", {**three, knob: BROKEN_CONFIG[knob]})\n'
        "Table(LOG)"
    ),
    # a list instead of a set, in another order
    "diagnosis": 'DIAGNOSIS = ["negative bias initialization", "inputs not scaled", "learning rate too high"]',
    # another legitimate repair: the three fixes and batch norm (batch norm is allowed in the fix,
    # only not in the diagnosis)
    "fixed_config": (
        'FIXED_CONFIG = {**BROKEN_CONFIG, "inputs": "scaled", "lr": 0.2, "bias_init": 0.0, "normalization": "batch"}'
    ),
    "justification": "Leave-one-out rows of my log show each of the three faults breaks the run on its own; ...",
}

WRONG_ANSWERS = {
    # one run that changes two knobs at once, on one seed
    "experiment_log": (
        'log_experiment(LOG, "scaled and slower", {**BROKEN_CONFIG, "inputs": "scaled", "lr": 0.2}, seeds=(0,))'
    ),
    # misses the bias, names a distractor (the init the course recommends for ReLU is not the default)
    "diagnosis": 'DIAGNOSIS = {"inputs not scaled", "learning rate too high", "bad weight initialization"}',
    # only the learning rate lowered: meets the bar on seed 0, and on 12 of the grader's 40 fresh seeds
    "fixed_config": 'FIXED_CONFIG = {**BROKEN_CONFIG, "lr": 0.1}',
}

EXPECTED_FAILURES = {  # test cell -> words its failure message must contain
    "test_diagnosis_finds_every_cause": "before the first update",
    "test_diagnosis_names_no_false_cause": "a change that helps is not a cause",
    "test_diagnosis_is_backed_by_the_log": "the log has no run that changes init",
    "test_fixed_config_keeps_units_alive_on_fresh_seeds": "luck, not a fix",
    "test_fixed_config_learns_on_fresh_seeds": "is not enough",
}


@pytest.fixture(scope="module")
def graded(released_course):
    student_version = released_course.root / "course" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    released_course.submit("carol", ASSIGNMENT, with_answers(student_version, CORRECT_ALTERNATIVES))
    released_course.submit("dave", ASSIGNMENT, with_answers(student_version, WRONG_ANSWERS))
    released_course.autograde(ASSIGNMENT)
    return released_course


def test_correct_alternatives_earn_every_automatic_point(graded):
    scores = graded.scores("carol", ASSIGNMENT)
    automatic = {k: v for k, v in scores.items() if k != "justification"}
    assert all(score == maximum for score, maximum in automatic.values()), scores
    assert scores["justification"][0] is None, "an answered justification waits for a grader"


@pytest.mark.parametrize("test_cell", sorted(EXPECTED_FAILURES))
def test_wrong_or_seed_lucky_answers_lose_their_points(graded, test_cell):
    score, maximum = graded.scores("dave", ASSIGNMENT)[test_cell]
    assert maximum > 0 and score == 0, f"{test_cell} kept {score} of {maximum} points"
    messages = error_messages(graded.autograded_notebook("dave", ASSIGNMENT), test_cell)
    assert any(EXPECTED_FAILURES[test_cell] in m for m in messages), messages


def test_the_seed_lucky_fix_does_pass_the_public_check_on_seed_0(graded):
    """The point of fresh seeds: the wrong fix above looks fine on the notebook's own seed."""
    notebook = graded.autograded_notebook("dave", ASSIGNMENT)
    cell = next(
        c
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "test_fixed_config_learns_on_fresh_seeds"
    )
    printed = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    assert "FIXED_CONFIG meets the bar on seed 0" in printed
