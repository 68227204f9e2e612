"""Recording finished results: the gradebook, the autograded notebook, the feedback page, the CSVs.

The grading run alone records, one result at a time, so parallel workers never write the
gradebook. Every message is redacted (cells.Redactor) before it is written anywhere.
"""

import csv
import datetime
import os
import warnings
from pathlib import Path

import nbformat

from autograder import report
from autograder.cells import Redactor
from autograder.results import Status

GRADES_COLUMNS = ["student", "assignment", "score", "max_score", "needs_manual_grade"]
TESTS_COLUMNS = ["student", "assignment", "notebook", "test_id", "points", "max_points", "status", "message"]


def read_timestamp(path):
    """The submission's timestamp.txt, if it holds an ISO date (else None: nbgrader uses now)."""
    if not path or not os.path.isfile(path) or os.path.islink(path):
        return None
    try:
        text = Path(path).read_text()[:100].strip()
        datetime.datetime.fromisoformat(text.replace(" UTC", "").replace("Z", "+00:00"))
        return text
    except (OSError, ValueError):
        return None


def csv_row(result, test):
    """One row of test_results.csv."""
    points = "" if test.points is None else f"{test.points:g}"
    return [
        result.student,
        result.assignment,
        result.notebook,
        test.test_id,
        points,
        f"{test.max_points:g}",
        test.status.value,
        test.message,
    ]


class Recorder:
    """Writes results as they come: gradebook, autograded notebook, feedback page, CSV rows."""

    def __init__(self, course, out_dir):
        self.course = course
        self.out_dir = out_dir
        self.results = []
        self.redactors = {}

    def redactor(self, assignment, notebook):
        key = (assignment, notebook)
        if key not in self.redactors:
            source = nbformat.read(self.course.source(assignment, notebook), as_version=4)
            self.redactors[key] = Redactor.for_source(source)
        return self.redactors[key]

    @property
    def tests(self):
        """Every recorded test, as (result, test)."""
        return [(result, test) for result in self.results for test in result.tests]

    def record(self, job, result):
        redact = self.redactor(result.assignment, result.notebook)
        for test in result.tests:
            test.message = redact(test.message or "")
        notebook = nbformat.reads(result.notebook_json, as_version=4) if result.notebook_json else None
        self._write_gradebook(result, read_timestamp(job.get("timestamp_file")))
        self._write_notebook(result, notebook)
        feedback_dir = self.out_dir / "feedback" / result.student / result.assignment
        feedback_dir.mkdir(parents=True, exist_ok=True)
        page = report.feedback_html(result, notebook, redact)
        (feedback_dir / f"{result.notebook}.html").write_text(page, encoding="utf-8")
        self.results.append(result)

    def _write_gradebook(self, result, timestamp):
        from nbgrader.api import Gradebook

        with warnings.catch_warnings(), Gradebook(self.course.db_url) as gradebook:
            warnings.simplefilter("ignore")  # SQLAlchemy's SAWarnings from inside nbgrader's API
            gradebook.update_or_create_student(result.student)
            kwargs = {"timestamp": timestamp} if timestamp else {}
            gradebook.update_or_create_submission(result.assignment, result.student, **kwargs)
            for test in result.tests:
                grade = gradebook.find_grade(test.test_id, result.notebook, result.assignment, result.student)
                grade.auto_score = test.points
                grade.needs_manual_grade = test.points is None or grade.manual_score is not None
            gradebook.db.commit()

    def _write_notebook(self, result, notebook):
        graded_dir = self.out_dir / "autograded" / result.student / result.assignment
        graded_dir.mkdir(parents=True, exist_ok=True)
        graded_path = graded_dir / f"{result.notebook}.ipynb"
        if notebook is not None:
            nbformat.write(notebook, graded_path)
        elif graded_path.exists():
            graded_path.unlink()

    def totals(self):
        """{(student, assignment): {"score", "max_score", "manual"}} over every recorded notebook."""
        totals = {}
        for result in self.results:
            key = (result.student, result.assignment)
            total = totals.setdefault(key, {"score": 0.0, "max_score": 0.0, "manual": 0})
            total["score"] += result.score
            total["max_score"] += result.max_score
            total["manual"] += result.manual
        return totals

    def write_csvs(self):
        grades_path = self.out_dir / "grades.csv"
        with open(grades_path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(GRADES_COLUMNS)
            for (student, assignment), total in sorted(self.totals().items()):
                writer.writerow(
                    [student, assignment, f"{total['score']:g}", f"{total['max_score']:g}", total["manual"]]
                )
        tests_path = self.out_dir / "test_results.csv"
        with open(tests_path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(TESTS_COLUMNS)
            ordered = sorted(self.tests, key=lambda pair: (pair[0].student, pair[0].assignment, pair[0].notebook))
            for result, test in ordered:
                writer.writerow(csv_row(result, test))
        return grades_path, tests_path

    def status_counts(self):
        counts = {status: 0 for status in Status}
        for _, test in self.tests:
            counts[test.status] += 1
        return counts
