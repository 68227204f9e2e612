"""Notebook 09's triage through nbgrader's autograde, with two students (each costs a full
notebook run): the right diagnosis, written partly as CAUSES[i] / FIXES[j], earns every
point; a submission with one wrong cause and one wrong first fix loses those two scenarios'
points (and only those) with the hint about what the evidence shows.

(tests/test_checks_interview_prep.py runs every wrong cause and every wrong fix of every
scenario against the same test cells, without nbgrader, and the public check's malformed answers.)
"""

import pytest

from course_tools import error_messages, with_answers
from test_checks_interview_prep import RIGHT, WRONG_CAUSES, WRONG_FIXES

pytestmark = pytest.mark.slow

ASSIGNMENT = "09_interview_prep"

RIGHT_SOURCE = (
    "TRIAGE = {\n"
    "    'A': (CAUSES[2], FIXES[2]),\n"
    "    'B': ('nothing wrong', 'no change: keep monitoring'),\n"
    "    'C': ['unscaled inputs', FIXES[1]],\n"
    "    'D': (CAUSES[0], 'lower the learning rate or clip gradients'),\n"
    "    'E': (CAUSES[-1], FIXES[-1]),\n"
    "    'F': ('network too deep and narrow', 'make the network shallower or wider'),\n"
    "}"
)
WRONG_CAUSE = ("D", "unscaled inputs")
WRONG_FIX = ("F", "initialise the biases at zero")
WRONG = {**RIGHT, "D": (WRONG_CAUSE[1], RIGHT["D"][1]), "F": (RIGHT["F"][0], WRONG_FIX[1])}


def triage_source(triage):
    return "TRIAGE = {\n" + "".join(f"    {k!r}: ({c!r}, {f!r}),\n" for k, (c, f) in triage.items()) + "}"


@pytest.fixture(scope="module")
def graded(released_course):
    student_version = released_course.root / "course" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for student, source in {"carol": RIGHT_SOURCE, "dave": triage_source(WRONG)}.items():
        released_course.submit(student, ASSIGNMENT, with_answers(student_version, {"triage": source}))
    released_course.autograde(ASSIGNMENT)
    return released_course


def auto_scores(course, student):
    return {k: v for k, v in course.scores(student, ASSIGNMENT).items() if k.startswith("test_triage_")}


def test_the_right_diagnosis_earns_every_point(graded):
    scores = auto_scores(graded, "carol")
    assert len(scores) == 6 and all(score == maximum == 2 for score, maximum in scores.values()), scores


def test_a_wrong_cause_and_a_wrong_fix_lose_only_their_scenarios_with_a_hint(graded):
    scores = auto_scores(graded, "dave")
    assert {cell for cell, (score, _) in scores.items() if score != 2} == {"test_triage_D", "test_triage_F"}, scores
    assert scores["test_triage_D"] == scores["test_triage_F"] == (0, 2)
    notebook = graded.autograded_notebook("dave", ASSIGNMENT)
    cause_hint = WRONG_CAUSES[WRONG_CAUSE]
    assert any(cause_hint in m and "not the most likely cause" in m for m in error_messages(notebook, "test_triage_D"))
    fix_hint = WRONG_FIXES[WRONG_FIX]
    assert any(fix_hint in m and "the cause is right" in m for m in error_messages(notebook, "test_triage_F"))
