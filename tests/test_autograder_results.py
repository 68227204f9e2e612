"""The result of grading one notebook (autograder/results.py) and how a worker scores a test
cell (autograder/worker.py): fast, no kernels."""

import json

import nbformat
import pytest

from autograder.grade import STATUSES
from autograder.results import Outcome, Result, Status, TestResult
from autograder.worker import TIMEOUT_ENAME, NotebookRun, score_test

JOB = {"student": "alice", "assignment": "01_relu_math", "notebook": "01_relu_math"}


def graded_cell(grade_id, points=2, kind="code", solution=False):
    made = nbformat.v4.new_code_cell("") if kind == "code" else nbformat.v4.new_markdown_cell("")
    made.metadata["nbgrader"] = {"grade_id": grade_id, "grade": True, "solution": solution, "points": points}
    return made


def source_notebook():
    answer = nbformat.v4.new_code_cell("def relu(x): ...")
    answer.metadata["nbgrader"] = {"grade_id": "relu", "grade": False, "solution": True}
    written = graded_cell("why", points=3, kind="markdown", solution=True)
    return nbformat.v4.new_notebook(cells=[answer, graded_cell("test_relu"), graded_cell("test_elu", 1), written])


def test_status_values_are_the_csv_words_in_summary_order():
    assert STATUSES == [
        "passed",
        "failed",
        "error",
        "timeout",
        "kernel_died",
        "missing",
        "tampered",
        "needs_manual_grade",
    ]


def test_a_result_survives_the_trip_through_json():
    result = Result.for_job(
        JOB,
        tests=[
            TestResult("test_relu", 2.0, 2.0, Status.PASSED),
            TestResult("test_elu", 0.0, 2.0, Status.TAMPERED, "torch.allclose replaced"),
            TestResult("why", None, 3.0, Status.NEEDS_MANUAL_GRADE, "graded by hand"),
        ],
        repairs=["test cell 'test_relu': edited; the instructor's test ran instead"],
        stopped="the kernel died after cell 3",
        notebook_json=nbformat.writes(nbformat.v4.new_notebook()),
        seconds=4.25,
    )
    text = result.to_json()
    assert json.loads(text)["tests"][1]["status"] == "tampered" and json.loads(text)["outcome"] == "graded"
    assert Result.from_json(text) == result


def test_score_max_score_and_manual_count():
    result = Result.for_job(
        JOB,
        tests=[
            TestResult("a", 2.0, 2.0, Status.PASSED),
            TestResult("b", 0.5, 2.0, Status.FAILED, "partial credit: 0.5 of 2"),
            TestResult("c", None, 3.0, Status.NEEDS_MANUAL_GRADE),
        ],
    )
    assert (result.score, result.max_score, result.manual) == (2.5, 7.0, 1)


def test_a_grader_fault_is_an_outcome_with_every_graded_cell_an_error():
    result = Result.grader_fault(JOB, source_notebook(), "grader worker took too long (limit 1080 s)")
    assert result.outcome is Outcome.GRADER_FAULT
    assert [t.test_id for t in result.tests] == ["test_relu", "test_elu", "why"]
    assert {t.status for t in result.tests} == {Status.ERROR} and result.score == 0 and result.max_score == 6
    assert result.stopped == result.tests[0].message == "grader worker took too long (limit 1080 s)"
    assert Result.from_json(result.to_json()).outcome is Outcome.GRADER_FAULT


def test_a_missing_notebook_is_not_a_grader_fault():
    result = Result.unrun(JOB, source_notebook(), Outcome.NOT_SUBMITTED, Status.MISSING, "no 01_relu_math.ipynb")
    assert result.outcome is Outcome.NOT_SUBMITTED and result.stopped is None
    assert [t.status for t in result.tests] == [Status.MISSING] * 3


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError):
        TestResult.from_dict({"test_id": "a", "points": 0, "max_points": 1, "status": "pwned", "message": ""})


# --- scoring an executed test cell ---------------------------------------------------------------
def executed(*outputs, points=2):
    made = graded_cell("test_relu", points)
    made.outputs = [nbformat.from_dict(output) for output in outputs]
    return made


def error(ename, evalue):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


STDERR = {"output_type": "stream", "name": "stderr", "text": "UserWarning: noise\n"}


@pytest.mark.parametrize(
    "cell, expected",
    [
        (executed(), (Status.PASSED, 2.0, "")),
        (executed(STDERR), (Status.PASSED, 2.0, "")),  # stderr costs nothing
        (executed(error("AssertionError", "relu(-1) should be 0")), (Status.FAILED, 0.0, "relu(-1) should be 0")),
        (executed(error("AssertionError", "")), (Status.FAILED, 0.0, "AssertionError")),
        (
            executed(error("NameError", "name 'relu' is not defined")),
            (Status.ERROR, 0.0, "NameError: name 'relu' is not defined"),
        ),
        (executed(error(TIMEOUT_ENAME, "ran past the 8 s limit")), (Status.TIMEOUT, 0.0, "ran past the 8 s limit")),
        (
            executed(
                {"output_type": "execute_result", "data": {"text/plain": "0.5"}, "metadata": {}, "execution_count": 1}
            ),
            (Status.FAILED, 0.5, "partial credit: 0.5 of 2"),
        ),
    ],
)
def test_score_test(cell, expected):
    assert score_test(cell) == expected


def test_a_long_error_message_is_cut():
    status, _, message = score_test(executed(error("ValueError", "x" * 5000)))
    assert status is Status.ERROR and len(message) == 2000


def test_tests_a_stopped_run_never_reached_get_the_stop_and_answers_go_to_hand_grading():
    notebook = source_notebook()
    result = Result.for_job(JOB)
    run = NotebookRun(notebook, result, notebook_timeout=60)
    run.score(1, notebook.cells[1], Status.PASSED, 2.0, "")
    run.stop(Status.KERNEL_DIED, "not run: the kernel died in cell 1", "the kernel died in cell 1, after the start")
    run.skip(2, notebook.cells[2])
    run.skip(0, notebook.cells[0])  # not a test: nothing recorded
    tests = run.all_tests()
    assert [(t.test_id, t.status, t.points) for t in tests] == [
        ("test_relu", Status.PASSED, 2.0),
        ("test_elu", Status.KERNEL_DIED, 0.0),
        ("why", Status.NEEDS_MANUAL_GRADE, None),
    ]
    assert tests[1].message == "not run: the kernel died in cell 1"
    assert result.stopped == "the kernel died in cell 1, after the start"


def test_tests_of_a_run_that_never_started_are_errors():
    notebook = source_notebook()
    tests = NotebookRun(notebook, Result.for_job(JOB), notebook_timeout=60).all_tests()
    assert [(t.status, t.message) for t in tests[:2]] == [(Status.ERROR, "not run")] * 2
