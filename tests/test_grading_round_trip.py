"""nbgrader's own autograde on the course: zero for the untouched student version, and
feedback that never shows hidden tests while it still says why each test failed.

Full marks are checked elsewhere, without running the solutions a third time: every solution
notebook runs with no error in any cell, hidden tests included (tests/test_notebooks_run.py),
and a complete set of correct, differently written answers earns every point through
nbgrader's autograde (tests/test_exercises_0N_*.py, exercise_round_trip)."""

import html

import nbformat
import pytest

from course_tools import ASSIGNMENTS, MEASUREMENTS, secret_lines, solution_notebook

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(released_course):
    """Every assignment handed in untouched (bob): the student notebook as released."""
    for assignment in ASSIGNMENTS:
        released_course.submit("bob", assignment, released_course.root / "course" / assignment / f"{assignment}.ipynb")
        seconds = released_course.autograde(assignment)
        MEASUREMENTS[f"autograde of {assignment}, untouched"] = f"{seconds:.1f} s"
        released_course.generate_feedback(assignment)
    return released_course


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_student_notebook_scores_zero(graded, assignment):
    scores = graded.scores("bob", assignment)
    assert scores and all(score in (0, None) for score, _ in scores.values()), (
        f"an unanswered notebook earned points: {scores}"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_shows_no_hidden_test_source(graded, assignment):
    hidden = secret_lines(nbformat.read(solution_notebook(assignment), as_version=4), kinds=("hidden tests",))
    assert hidden, f"{assignment} has no hidden tests"
    text = html.unescape(graded.feedback_html("bob", assignment))
    shown = sorted(line for line in hidden if line in text)
    assert not shown, f"feedback for bob shows hidden-test lines: {shown[:3]}"
    assert "BEGIN HIDDEN TESTS" not in text
    # ... while bob's feedback still says why his tests failed.
    assert "not implemented yet" in html.unescape(graded.feedback_html("bob", assignment))
