"""nbgrader's own autograde on the course: full marks for the solutions, zero for the
untouched student version, and feedback that never shows hidden tests."""

import html

import nbformat
import pytest

from course_tools import ASSIGNMENTS, MEASUREMENTS, secret_lines, solution_notebook

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(released_course):
    """Every assignment submitted twice: the solution notebook (alice), the untouched student notebook (bob)."""
    for assignment in ASSIGNMENTS:
        released_course.submit("alice", assignment, solution_notebook(assignment))
        released_course.submit("bob", assignment, released_course.root / "course" / assignment / f"{assignment}.ipynb")
        seconds = released_course.autograde(assignment)
        MEASUREMENTS[f"autograde of {assignment}, 2 submissions"] = f"{seconds:.1f} s"
        released_course.generate_feedback(assignment)
    return released_course


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_submitted_as_a_student_scores_full_marks(graded, assignment):
    scores = graded.scores("alice", assignment)
    auto = {k: v for k, v in scores.items() if v[0] is not None}  # manual grades are None until graded by hand
    assert auto, f"{assignment} has no auto-graded cells"
    assert all(score == maximum for score, maximum in auto.values()), f"solution lost points: {scores}"


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
    for student in ("alice", "bob"):
        text = html.unescape(graded.feedback_html(student, assignment))
        shown = sorted(line for line in hidden if line in text)
        assert not shown, f"feedback for {student} shows hidden-test lines: {shown[:3]}"
        assert "BEGIN HIDDEN TESTS" not in text
    # ... while bob's feedback still says why his tests failed.
    assert "not implemented yet" in html.unescape(graded.feedback_html("bob", assignment))
