"""How the grader rebuilds a submission (autograder/assemble.py): fast checks, no kernels."""

import copy

import nbformat
import pytest

from autograder.assemble import SubmissionUnreadable, assemble, read_submission
from course_tools import ASSIGNMENTS, course_notebook, solution_notebook


def grade_ids(notebook):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_an_untouched_student_version_needs_no_repairs(assignment):
    source = nbformat.read(solution_notebook(assignment), as_version=4)
    graded, repairs = assemble(source, nbformat.read(course_notebook(assignment), as_version=4))
    assert repairs == []
    assert grade_ids(graded) == grade_ids(source)
    for ours, theirs in zip(graded.cells, source.cells):
        meta = theirs.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            assert ours.source == theirs.source  # the hidden tests are back


def test_repairs_are_listed_and_tests_come_from_the_source():
    source = nbformat.read(solution_notebook("01_relu_math"), as_version=4)
    student = nbformat.read(course_notebook("01_relu_math"), as_version=4)
    ids = grade_ids(student)
    student.cells[ids.index("test_relu")].source = "pass"
    del student.cells[ids.index("test_elu")]
    copy_of_answer = copy.deepcopy(student.cells[ids.index("relu")])
    student.cells.append(copy_of_answer)
    student.cells[ids.index("leaky_relu")].metadata["nbgrader"]["points"] = 100
    graded, repairs = assemble(source, student)
    text = "\n".join(repairs)
    assert "'test_relu': edited" in text
    assert "'test_elu' was deleted; put back" in text
    assert "a second cell with the answer id 'relu'" in text
    graded_ids = grade_ids(graded)
    assert graded_ids.count("test_elu") == 1 and graded_ids.index("test_elu") == graded_ids.index("elu") + 1
    assert (
        graded.cells[graded_ids.index("test_relu")].source == source.cells[grade_ids(source).index("test_relu")].source
    )
    assert "points" not in graded.cells[graded_ids.index("leaky_relu")].metadata["nbgrader"]
    assert len({c.id for c in graded.cells}) == len(graded.cells)


@pytest.mark.parametrize(
    "content, reason",
    [
        (b'{"cells": [', "not a valid notebook"),
        (b"\xff\xfe garbage", "not UTF-8"),
        (
            b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "widget", "source": ""}]}',
            "missing an expected key: metadata",
        ),
    ],
)
def test_unreadable_submissions_say_why(tmp_path, content, reason):
    path = tmp_path / "01_relu_math.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionUnreadable, match=reason):
        read_submission(path)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(SubmissionUnreadable, match="cannot read"):
        read_submission(tmp_path / "nothing.ipynb")
