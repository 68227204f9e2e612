"""Shared helpers of the test suite: the course's layout, nbgrader in a scratch course,
notebook execution, and the secrets (solutions, hidden tests) that must not reach course/."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from website import executed
from website.leak_check import MARKERS, SECRET_REGIONS, found_in, secret_lines  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"
BIN = Path(sys.executable).parent
COURSE_ID = "dead_relu"  # as in autograder/nbgrader_config.py
IGNORED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}

ASSIGNMENTS = sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and (p / f"{p.name}.ipynb").exists())

# Figures the tests measure, printed at the end of the run (see conftest.py).
MEASUREMENTS: dict[str, str] = {}


solution_notebook = executed.solution_notebook  # solutions/<id>/<id>.ipynb


def course_notebook(assignment):
    return COURSE / assignment / f"{assignment}.ipynb"


def files_under(folder):
    """Relative path -> bytes for every file below `folder`, skipping editor and cache files."""
    folder = Path(folder)
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not (IGNORED_NAMES & set(path.relative_to(folder).parts)):
            found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return found


def tree_differences(expected, actual):
    """Human-readable differences between two {relative path: bytes} trees (empty if equal)."""
    problems = [f"missing: {p}" for p in sorted(set(expected) - set(actual))]
    problems += [f"unexpected: {p}" for p in sorted(set(actual) - set(expected))]
    problems += [f"differs: {p}" for p in sorted(set(expected) & set(actual)) if expected[p] != actual[p]]
    return problems


# --- nbgrader in a scratch course -----------------------------------------------------
class ScratchCourse:
    """A throw-away nbgrader course in `root`, configured by the course's own config file.

    Only the root and the gradebook are redirected, so everything else (timeouts, kernel
    arguments, feedback preprocessors) is exactly what instructors run.
    """

    def __init__(self, root, assignments=ASSIGNMENTS, source=SOLUTIONS):
        self.root = Path(root)
        self.db_url = f"sqlite:///{self.root / 'gradebook.db'}"
        shutil.copytree(source, self.root / "solutions", ignore=shutil.ignore_patterns(*IGNORED_NAMES))
        self.assignments = list(assignments)
        self._pending = {}  # assignment -> students submitted but not yet autograded

    def nbgrader(self, *args, extra=()):
        command = [
            str(BIN / "nbgrader"),
            *args,
            f"--CourseDirectory.root={self.root}",
            f"--CourseDirectory.db_url={self.db_url}",
            *extra,
        ]
        started = time.perf_counter()
        environment = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }  # nbgrader runs `alembic`
        result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result, time.perf_counter() - started

    def release(self):
        for assignment in self.assignments:
            self.nbgrader("generate_assignment", "--force", assignment)
        return self.root / "course"

    def submit(self, student, assignment, notebook):
        folder = self.root / "autograder" / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{assignment}.ipynb"
        self._pending.setdefault(assignment, set()).add(student)
        if isinstance(notebook, (str, Path)):
            shutil.copy(notebook, path)
        else:
            nbformat.write(notebook, path)
        return path

    def autograde(self, assignment, students=None, extra=()):
        """Autograde `students`; by default those submitted since this assignment was last
        autograded (nbgrader alone would regrade every submission each time)."""
        pending = self._pending.setdefault(assignment, set())
        students = sorted(pending) if students is None else list(students)
        pending.difference_update(students)
        seconds = 0.0
        for student in students:
            _, took = self.nbgrader("autograde", "--force", assignment, f"--student={student}", extra=extra)
            seconds += took
        return seconds

    def generate_feedback(self, assignment):
        self.nbgrader("generate_feedback", "--force", assignment)

    def feedback_html(self, student, assignment):
        return (self.root / "autograder" / "feedback" / student / assignment / f"{assignment}.html").read_text()

    def autograded_notebook(self, student, assignment):
        return nbformat.read(
            self.root / "autograder" / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4
        )

    def scores(self, student, assignment):
        """grade_id -> (score, max_score) for one student's notebook, from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url, COURSE_ID) as gradebook:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            # a hand-graded cell has no auto_score and no manual_score until someone grades it:
            # report None then (nbgrader's `score` would say 0)
            return {
                grade.name: (
                    grade.manual_score if grade.manual_score is not None else grade.auto_score,
                    grade.max_score,
                )
                for grade in notebook.grades
            }


def solution_answers(assignment):
    """grade_id -> the instructor's solution (markers removed), for every solution cell of `assignment`."""
    answers = {}
    for cell in nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = "\n".join(
                line
                for line in cell.source.split("\n")
                if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
            )
    return answers


def with_answers(student_notebook, answers):
    """A copy of a student notebook with the cells named in `answers` (grade_id -> code) filled in."""
    notebook = nbformat.read(student_notebook, as_version=4)
    remaining = dict(answers)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in remaining:
            cell.source = remaining.pop(grade_id)
    if remaining:
        raise KeyError(f"no solution cells named {sorted(remaining)} in {student_notebook}")
    return notebook


def exercise_round_trip(assignment, correct_alternatives, wrong_answers, students=("carol", "dave")):
    """The module fixture and two tests every tests/test_exercises_0N_*.py shares.

    One student hands in `correct_alternatives` (grade_id -> code) and must earn every point
    through nbgrader's autograde; the other hands in `wrong_answers` (grade_id -> (code, test
    cell, words of the hint)) and must lose each test's points with the hint in its message.
    Assign the three results to module names `graded`, `test_correct_alternatives_earn_every_point`
    and `test_wrong_answer_loses_its_points_with_a_hint`, so pytest finds them.
    """
    good, bad = students

    @pytest.fixture(scope="module")
    def graded(released_course):
        student_version = released_course.root / "course" / assignment / f"{assignment}.ipynb"
        released_course.submit(good, assignment, with_answers(student_version, correct_alternatives))
        released_course.submit(
            bad, assignment, with_answers(student_version, {k: v[0] for k, v in wrong_answers.items()})
        )
        released_course.autograde(assignment)
        return released_course

    def test_correct_alternatives_earn_every_point(graded):
        scores = graded.scores(good, assignment)
        assert scores and all(score == maximum for score, maximum in scores.values()), scores

    @pytest.mark.parametrize("answer", sorted(wrong_answers))
    def test_wrong_answer_loses_its_points_with_a_hint(graded, answer):
        _, test_cell, hint = wrong_answers[answer]
        score, maximum = graded.scores(bad, assignment)[test_cell]
        assert maximum > 0 and score == 0, f"the wrong {answer} kept {score} of {maximum} points"
        messages = error_messages(graded.autograded_notebook(bad, assignment), test_cell)
        assert any(hint in message for message in messages), f"no hint {hint!r} in {messages}"

    return graded, test_correct_alternatives_earn_every_point, test_wrong_answer_loses_its_points_with_a_hint


def error_messages(notebook, grade_id):
    """`ename: evalue` of every error output of the cell `grade_id`."""
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return [f"{o['ename']}: {o['evalue']}" for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    raise KeyError(grade_id)


def graded_cell_source(assignment, grade_id):
    """The source of the solution notebook's cell `grade_id`: for a test cell, the public check and its hidden tests."""
    notebook = nbformat.read(solution_notebook(assignment), as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(f"no cell {grade_id!r} in {solution_notebook(assignment)}")


def run_graded_cell(assignment, grade_id, answers, prelude=""):
    """Run one test cell of the solution notebook (public check + hidden tests) on `answers`, in milliseconds.

    `answers` is the namespace the cell sees (e.g. {"TRIAGE": {...}}), after `prelude` (the
    imports the cell needs) has run in it. Returns None when the cell passes, else the
    message of the AssertionError a student would see. Any other exception is a defect of
    the test cell and propagates. This is how the wrong- and right-answer catalogues of the
    prediction and diagnosis exercises are tested without running the notebook; the
    nbgrader round trip (exercise_round_trip) checks the same cells end to end.
    """
    namespace = {}
    exec(compile(prelude, f"<prelude of {grade_id}>", "exec"), namespace)
    namespace.update(answers)
    try:
        exec(compile(graded_cell_source(assignment, grade_id), f"<{assignment}:{grade_id}>", "exec"), namespace)
    except AssertionError as error:
        return str(error)
    return None


# --- executing notebooks ---------------------------------------------------------------
def execute_notebook(path, timeout=120):
    """Run a notebook top to bottom in a fresh kernel (the one its metadata names).

    Returns (executed notebook, seconds). Raises nbclient's CellExecutionError on an error.
    """
    return executed.execute(path, timeout=timeout)


def run_in_kernel(code, kernel_name="deadrelu", timeout=120):
    """Execute `code` in a fresh kernel and return what it printed on stdout."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(code)]
    NotebookClient(notebook, timeout=timeout, kernel_name=kernel_name).execute()
    return "".join(o.get("text", "") for o in notebook.cells[0].outputs if o.get("name") == "stdout")


def last_json_line(text):
    return json.loads(text.strip().splitlines()[-1])


# --- what must not reach students ------------------------------------------------------
# One definition of a secret line (website/leak_check.py: secret_lines, MARKERS), shared with
# the website's leak check.


def leaks(notebook_path, secrets):
    """The secret lines and nbgrader markers that occur in a released notebook's text."""
    notebook = nbformat.read(notebook_path, as_version=4)
    found = found_in("\n".join(cell.source for cell in notebook.cells), secrets)
    raw = Path(notebook_path).read_text()  # markers anywhere in the file, metadata included
    return [line for line in found if not line.startswith("marker ")] + [
        f"marker {marker!r}" for marker in MARKERS if marker in raw
    ]
