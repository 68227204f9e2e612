"""Notebook 09's triage through nbgrader's autograde: the right diagnosis earns every point;
a plausible wrong cause, or the right cause with a plausible wrong first fix, loses that
scenario's points (and only those) with a hint about what the evidence points to.

(tests/test_checks_interview_prep.py tries malformed answers against the public check.)
"""

import pytest

from course_tools import error_messages, with_answers

pytestmark = pytest.mark.slow

ASSIGNMENT = "09_interview_prep"

RIGHT = {
    "A": ("unscaled inputs", "standardise the inputs"),
    "B": ("nothing wrong", "no change: keep monitoring"),
    "C": ("learning rate too high", "lower the learning rate or clip gradients"),
    "D": ("network too deep and narrow", "make the network shallower or wider"),
    "E": ("large negative bias initialisation", "initialise the biases at zero"),
}

# scenario -> (plausible wrong cause, words its failure message must contain)
WRONG_CAUSES = {
    "A": ("learning rate too high", "raw pixels up to 16"),
    "B": ("too few training steps", "nothing to diagnose"),
    "C": ("unscaled inputs", "already scaled"),
    "D": ("large negative bias initialisation", "born dead"),
    "E": ("network too deep and narrow", "mean bias at initialisation"),
}

# scenario -> (plausible wrong first fix with the right cause, words its failure message must contain)
WRONG_FIXES = {
    "A": ("lower the learning rate or clip gradients", "treats the symptom"),
    "B": ("train for more epochs", "needs no fix"),
    "C": ("switch to Adam at the same learning rate", "kills the network outright"),
    "D": ("initialise the biases at zero", "already near zero"),
    "E": ("lower the learning rate or clip gradients", "not how they move"),
}


def triage_source(triage):
    return "TRIAGE = {\n" + "".join(f"    {k!r}: ({c!r}, {f!r}),\n" for k, (c, f) in triage.items()) + "}"


@pytest.fixture(scope="module")
def graded(released_course):
    student_version = released_course.root / "course" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    wrong_causes = {k: (WRONG_CAUSES[k][0], RIGHT[k][1]) for k in RIGHT}
    wrong_fixes = {k: (RIGHT[k][0], WRONG_FIXES[k][0]) for k in RIGHT}
    one_wrong = {**RIGHT, "C": (WRONG_CAUSES["C"][0], RIGHT["C"][1])}
    submissions = {"carol": RIGHT, "dave": wrong_causes, "erin": wrong_fixes, "frank": one_wrong}
    for student, triage in submissions.items():
        released_course.submit(student, ASSIGNMENT, with_answers(student_version, {"triage": triage_source(triage)}))
    released_course.autograde(ASSIGNMENT)
    return released_course


def auto_scores(course, student):
    return {k: v for k, v in course.scores(student, ASSIGNMENT).items() if k.startswith("test_triage_")}


def test_the_right_diagnosis_earns_every_point(graded):
    scores = auto_scores(graded, "carol")
    assert len(scores) == 5 and all(score == maximum == 2 for score, maximum in scores.values()), scores


@pytest.mark.parametrize("scenario", sorted(WRONG_CAUSES))
def test_a_wrong_cause_loses_the_scenario_with_a_hint(graded, scenario):
    cell = f"test_triage_{scenario}"
    score, maximum = auto_scores(graded, "dave")[cell]
    assert maximum == 2 and score == 0, f"a wrong cause in scenario {scenario} kept {score} of {maximum} points"
    messages = error_messages(graded.autograded_notebook("dave", ASSIGNMENT), cell)
    hint = WRONG_CAUSES[scenario][1]
    assert any(hint in m and "not the most likely cause" in m for m in messages), f"no hint {hint!r} in {messages}"


@pytest.mark.parametrize("scenario", sorted(WRONG_FIXES))
def test_a_wrong_first_fix_loses_the_scenario_with_a_hint(graded, scenario):
    cell = f"test_triage_{scenario}"
    score, maximum = auto_scores(graded, "erin")[cell]
    assert maximum == 2 and score == 0, f"a wrong fix in scenario {scenario} kept {score} of {maximum} points"
    messages = error_messages(graded.autograded_notebook("erin", ASSIGNMENT), cell)
    hint = WRONG_FIXES[scenario][1]
    assert any(hint in m and "the cause is right" in m for m in messages), f"no hint {hint!r} in {messages}"


def test_one_wrong_scenario_costs_only_its_own_points(graded):
    scores = auto_scores(graded, "frank")
    assert scores.pop("test_triage_C") == (0, 2)
    assert all(score == 2 for score, _ in scores.values()), scores


def test_hints_do_not_name_the_answers_of_other_scenarios(graded):
    notebook = graded.autograded_notebook("dave", ASSIGNMENT)
    for scenario in RIGHT:
        text = " ".join(error_messages(notebook, f"test_triage_{scenario}"))
        for other, (cause, fix) in RIGHT.items():
            if other != scenario:
                assert f"scenario {other}" not in text, f"scenario {scenario}'s hint mentions scenario {other}"
