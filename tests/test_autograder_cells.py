"""Cell identity and hidden-test redaction (autograder/cells.py): fast, no kernels."""

import nbformat
import pytest

from autograder.cells import (
    HIDDEN_LINE,
    HIDDEN_NOTE,
    Redactor,
    grade_id,
    hidden_lines,
    is_graded,
    is_locked,
    is_test,
    strip_hidden_tests,
)

TEST_SOURCE = (
    "check_relu(relu)\n"
    "### BEGIN HIDDEN TESTS\n"
    "    assert relu(torch.tensor([-1.0])).item() == 0.0\n"
    "short = 1\n"
    "### END HIDDEN TESTS\n"
    "print('visible line of the test')"
)


def cell(kind="code", source="", **nbgrader):
    made = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if nbgrader:
        made.metadata["nbgrader"] = {"grade_id": "x", "grade": False, "solution": False, "locked": False, **nbgrader}
    return made


@pytest.mark.parametrize(
    "made, graded, test, locked",
    [
        (cell(grade=True, locked=True, points=2), True, True, True),  # a test
        (cell(solution=True), False, False, False),  # an answer
        (cell(grade=True, solution=True, points=2), True, False, False),  # an answer graded by hand
        (cell("markdown", grade=True, solution=True, points=2), True, False, False),  # a written answer
        (cell(locked=True), False, False, True),  # read-only set-up
        (cell("markdown", task=True, grade=True, points=1), True, False, False),  # a task
        (cell(), False, False, False),  # an ordinary cell
    ],
)
def test_cell_identity(made, graded, test, locked):
    assert (is_graded(made), is_test(made), is_locked(made)) == (graded, test, locked)


def test_grade_id_of_nodes_and_of_raw_dicts():
    assert grade_id(cell(grade=True, grade_id="test_relu")) == "test_relu"
    assert grade_id(cell()) is None
    assert grade_id({"cell_type": "code", "source": ""}) is None
    assert grade_id({"metadata": {"nbgrader": None}}) is None
    assert grade_id({"metadata": {"nbgrader": {"grade_id": "relu"}}}) == "relu"


def test_strip_hidden_tests_keeps_the_indent_and_the_visible_lines():
    stripped, removed = strip_hidden_tests(TEST_SOURCE)
    assert removed
    assert stripped.split("\n") == ["check_relu(relu)", HIDDEN_NOTE, "print('visible line of the test')"]
    source = "if True:\n    # BEGIN HIDDEN TESTS\n    assert secret\n    # END HIDDEN TESTS\n"
    assert strip_hidden_tests(source)[0].split("\n")[1] == "    " + HIDDEN_NOTE


def test_strip_hidden_tests_without_a_region_changes_nothing():
    assert strip_hidden_tests("assert ok\n") == ("assert ok\n", False)


def test_an_unterminated_region_hides_everything_after_it():
    stripped, removed = strip_hidden_tests("a = 1\n### BEGIN HIDDEN TESTS\nassert secret_value == 42\nmore = 2")
    assert removed and stripped == "a = 1\n" + HIDDEN_NOTE


def test_custom_markers():
    stripped, removed = strip_hidden_tests("x\n<<\nsecret\n>>\ny", begin="<<", end=">>")
    assert removed and stripped == f"x\n{HIDDEN_NOTE}\ny"


def test_hidden_lines_are_the_long_hidden_lines_of_tests_only():
    answer = cell(source="### BEGIN HIDDEN TESTS\nanswer_line_that_is_long = 1\n### END HIDDEN TESTS", solution=True)
    notebook = nbformat.v4.new_notebook(cells=[cell(source=TEST_SOURCE, grade=True, points=1), answer])
    assert hidden_lines(notebook) == ["assert relu(torch.tensor([-1.0])).item() == 0.0"]  # `short = 1` is too short


def test_hidden_lines_come_longest_first():
    source = "### BEGIN HIDDEN TESTS\nassert value == 1\nassert value == 1 and other == 2\n### END HIDDEN TESTS"
    notebook = nbformat.v4.new_notebook(cells=[cell(source=source, grade=True, points=1)])
    assert hidden_lines(notebook) == ["assert value == 1 and other == 2", "assert value == 1"]


def test_redactor_replaces_every_secret_line():
    redact = Redactor(["assert value == 1 and other == 2", "assert value == 1"])
    text = "In [3]: assert value == 1 and other == 2\nthen assert value == 1 again\nassert value == 1"
    assert redact(text) == f"In [3]: {HIDDEN_LINE}\nthen {HIDDEN_LINE} again\n{HIDDEN_LINE}"
    assert redact("nothing secret") == "nothing secret"
    assert redact("") == "" and redact(None) is None


def test_redactor_for_a_source_notebook():
    notebook = nbformat.v4.new_notebook(cells=[cell(source=TEST_SOURCE, grade=True, points=1)])
    redact = Redactor.for_source(notebook)
    assert HIDDEN_LINE in redact(TEST_SOURCE) and "tensor([-1.0])" not in redact(TEST_SOURCE)
