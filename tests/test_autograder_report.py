"""What students and instructors get back: feedback pages (autograder/report.py), the
nbgrader feedback preprocessor (autograder/feedback.py) and the CSVs (autograder/recording.py),
rendered from results made up here: fast, no kernels, no gradebook."""

import csv
import html

import nbformat
import pytest

from autograder.cells import HIDDEN_LINE, HIDDEN_NOTE, Redactor, hidden_lines
from autograder.feedback import HideHiddenTests
from autograder.recording import Recorder
from autograder.submissions import read_timestamp
from autograder.report import feedback_html
from autograder.results import Result, Status, TestResult

SECRET = "assert relu(torch.tensor([-3.0])).item() == 0.0, 'hidden'"
TEST_SOURCE = f"check_relu(relu)\n### BEGIN HIDDEN TESTS\n{SECRET}\n### END HIDDEN TESTS"


def graded_notebook():
    answer = nbformat.v4.new_code_cell("def relu(x):\n    return x.clamp(min=0)\nprint(In[-1])")
    answer.metadata["nbgrader"] = {"grade_id": "relu", "grade": False, "solution": True, "locked": False}
    answer.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"leaked: {SECRET}\n")]
    test = nbformat.v4.new_code_cell(TEST_SOURCE)
    test.metadata["nbgrader"] = {"grade_id": "test_relu", "grade": True, "solution": False, "locked": True, "points": 2}
    test.outputs = [
        nbformat.v4.new_output(
            "error", ename="AssertionError", evalue="hidden", traceback=[f"----> 3 {SECRET}", "AssertionError: hidden"]
        )
    ]
    intro = nbformat.v4.new_markdown_cell("# The instructor's introduction")
    intro.metadata["nbgrader"] = {"grade_id": "intro", "locked": True, "grade": False, "solution": False}
    written = nbformat.v4.new_markdown_cell("My **own** words.")
    written.metadata["nbgrader"] = {"grade_id": "why", "grade": True, "solution": True, "points": 3}
    return nbformat.v4.new_notebook(cells=[intro, answer, test, written])


def result(**fields):
    tests = [
        TestResult("test_relu", 0.0, 2.0, Status.FAILED, f"hidden ({SECRET})"),
        TestResult("why", None, 3.0, Status.NEEDS_MANUAL_GRADE, "graded by hand"),
    ]
    return Result.for_job(
        {"student": "alice", "assignment": "01_relu_math", "notebook": "01_relu_math"}, tests=tests, **fields
    )


def test_feedback_page_shows_score_tests_and_answers_but_no_hidden_test():
    notebook = graded_notebook()
    page = feedback_html(result(), notebook, Redactor(hidden_lines(notebook)))
    assert "<title>01_relu_math / 01_relu_math: feedback for alice</title>" in page
    assert "Score: 0 / 5" in page and "(1 answer(s) still to be graded by hand)" in page
    assert "<code>test_relu</code>" in page and ">failed</span>" in page and "0 / 2" in page
    assert ">needs manual grade</span>" in page and "—" in page
    assert "Your answer <code>relu</code>" in page and "My <strong>own</strong> words." in page
    assert "instructor&#x27;s introduction" not in page and "The instructor's introduction" not in page
    assert HIDDEN_NOTE in html.unescape(page) and HIDDEN_LINE in page
    assert "tensor([-3.0])" not in page and "BEGIN HIDDEN TESTS" not in page
    assert "Grading stopped early" not in page and "What the grader changed" not in page


def test_feedback_page_says_why_grading_stopped_and_what_was_repaired():
    page = feedback_html(
        result(stopped="the kernel died in cell 3", repairs=["test cell 'test_relu': edited; restored"]),
        None,
        Redactor([]),
    )
    assert "Grading stopped early: the kernel died in cell 3." in page
    assert "<li>test cell &#x27;test_relu&#x27;: edited; restored</li>" in page
    assert "No notebook could be run." in page


def test_status_words_are_escaped_and_coloured():
    page = feedback_html(result(), None, Redactor([]))
    assert 'style="color:#cf222e">failed</span>' in page and 'style="color:#0969da">needs manual grade</span>' in page


def test_nbgrader_feedback_preprocessor_hides_hidden_tests():
    notebook, _ = HideHiddenTests().preprocess(graded_notebook(), {})
    answer, test = notebook.cells[1], notebook.cells[2]
    assert answer.outputs[0]["text"] == f"leaked: {HIDDEN_LINE}\n"
    assert test.source == f"check_relu(relu)\n{HIDDEN_NOTE}"
    assert test.outputs[0]["traceback"] == ["AssertionError: hidden"]


# --- the CSVs and timestamps -------------------------------------------------------------------------------
def test_csvs_have_their_columns_and_one_row_per_test(tmp_path):
    recorder = Recorder(course=None, out_dir=tmp_path)
    recorder.results = [
        Result.for_job(
            {"student": "bob", "assignment": "a1", "notebook": "n1"},
            tests=[TestResult("t1", 1.5, 2.0, Status.FAILED, "partial")],
        ),
        result(),
        Result.for_job(
            {"student": "alice", "assignment": "01_relu_math", "notebook": "second"},
            tests=[TestResult("t", 1.0, 1.0, Status.PASSED)],
        ),
    ]
    grades_path, tests_path = recorder.write_csvs()
    with open(grades_path) as handle:
        assert list(csv.reader(handle)) == [
            ["student", "assignment", "score", "max_score", "needs_manual_grade"],
            ["alice", "01_relu_math", "1", "6", "1"],
            ["bob", "a1", "1.5", "2", "0"],
        ]
    with open(tests_path) as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["student", "assignment", "notebook", "test_id", "points", "max_points", "status", "message"]
    assert rows[1:] == [
        ["alice", "01_relu_math", "01_relu_math", "test_relu", "0", "2", "failed", f"hidden ({SECRET})"],
        ["alice", "01_relu_math", "01_relu_math", "why", "", "3", "needs_manual_grade", "graded by hand"],
        ["alice", "01_relu_math", "second", "t", "1", "1", "passed", ""],
        ["bob", "a1", "n1", "t1", "1.5", "2", "failed", "partial"],
    ]
    assert recorder.status_counts()[Status.FAILED] == 2


@pytest.mark.parametrize(
    "text, kept",
    [("2026-11-30 16:00:00.000000 UTC", True), ("2026-11-30T16:00:00Z", True), ("yesterday", False), ("", False)],
)
def test_read_timestamp(tmp_path, text, kept):
    (tmp_path / "timestamp.txt").write_text(text)
    assert read_timestamp(str(tmp_path / "timestamp.txt")) == (text if kept else None)


def test_read_timestamp_ignores_missing_files_and_links(tmp_path):
    assert read_timestamp(None) is None and read_timestamp(str(tmp_path / "none.txt")) is None
    (tmp_path / "real.txt").write_text("2026-11-30T16:00:00Z")
    (tmp_path / "timestamp.txt").symlink_to(tmp_path / "real.txt")
    assert read_timestamp(str(tmp_path / "timestamp.txt")) is None
