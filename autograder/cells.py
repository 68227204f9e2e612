"""What a cell of a graded notebook is, and the hidden tests in it: defined once, used everywhere.

nbgrader keeps its marks in `cell.metadata["nbgrader"]`: a `grade_id`, `grade` (the cell
is scored), `solution` (the student writes it), `locked` (read-only), `task`. From these:

- a *test* is a graded code cell the student does not write (`is_test`);
- a *locked* cell is one the student may not change: a test or a read-only cell, neither
  an answer nor a task (`is_locked`);
- a test's *hidden tests* are the lines between `BEGIN HIDDEN TESTS` and `END HIDDEN TESTS`,
  which students never see: `strip_hidden_tests` cuts them out of a source for feedback,
  `hidden_lines` lists them, and `Redactor` removes any of them that turns up elsewhere
  (student code runs in the kernel that ran the tests, and can print them).

Cells may be nbformat nodes or the plain dicts of a submitted file.
"""

from nbgrader import utils

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
HIDDEN_NOTE = "# (hidden tests ran here; their source is not shown)"
HIDDEN_LINE = "[hidden test line removed]"
MIN_SECRET_LENGTH = 12  # shorter lines (`x = 1`, `assert ok`) are too common to count as a leak


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader") or {}


def grade_id(cell):
    return nbgrader_meta(cell).get("grade_id")


def is_graded(cell):
    """Scored, by the autograder or by hand: every such cell has a row in the results."""
    return utils.is_grade(cell)


def is_test(cell):
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def is_locked(cell):
    """Cells the student may not change: tests, read-only cells (not answers, not tasks)."""
    meta = nbgrader_meta(cell)
    return (
        bool(meta.get("grade_id"))
        and not meta.get("solution")
        and not meta.get("task")
        and bool(meta.get("grade") or meta.get("locked"))
    )


def strip_hidden_tests(source, begin=BEGIN_HIDDEN, end=END_HIDDEN):
    """(source with each hidden region replaced by a note, whether there was one).

    An unterminated region hides everything after its start.
    """
    kept, hidden, removed = [], False, False
    for line in source.split("\n"):
        if begin in line:
            hidden = removed = True
            kept.append(line[: len(line) - len(line.lstrip())] + HIDDEN_NOTE)
        elif end in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept), removed


def hidden_lines(notebook, begin=BEGIN_HIDDEN, end=END_HIDDEN):
    """Lines of hidden-test source in `notebook`, long enough that seeing one elsewhere is a leak.

    Longest first, so that a redactor replaces a whole line before a shorter one inside it.
    """
    lines = set()
    for cell in notebook.cells:
        if not is_test(cell):
            continue
        visible = set(strip_hidden_tests(cell.source, begin, end)[0].split("\n"))
        for line in cell.source.split("\n"):
            if len(line.strip()) >= MIN_SECRET_LENGTH and line not in visible and begin not in line and end not in line:
                lines.add(line.strip())
    return sorted(lines, key=len, reverse=True)


class Redactor:
    """`redact(text)`: `text` with every secret line in it replaced by HIDDEN_LINE."""

    def __init__(self, secret_lines):
        self.secret_lines = list(secret_lines)

    def __call__(self, text):
        if not text:
            return text
        for line in self.secret_lines:
            if line in text:
                text = text.replace(line, HIDDEN_LINE)
        return text

    @classmethod
    def for_source(cls, source_notebook):
        """The redactor of the hidden tests of the instructor's notebook `source_notebook`."""
        return cls(hidden_lines(source_notebook))
