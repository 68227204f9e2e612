"""Recording finished results: the gradebook, the autograded notebook, the feedback page, the CSVs.

The grading run alone records, one result at a time, so parallel workers (local or on a
cluster) never write the gradebook. Every message is redacted (cells.Redactor) before it is
written anywhere. The gradebook is nbgrader's, in SQLite (the default) or any database
SQLAlchemy reaches (`--db postgresql://...`).

Nothing is lost and nothing is graded twice when a run is interrupted:

1. a result is first kept on disk, `<out>/results/<student>/<assignment>/<notebook>.json`,
   with the key of its task (tasks.task_key: the submission's and the source's bytes, the
   limits), then the autograded notebook and the feedback page are written;
2. then the gradebook gets the grades and a row of the `autograder_recorded` table (student,
   notebook, key) in ONE transaction: nbgrader's API commits after every step, and those
   commits are held until the end (`one_transaction`), so the gradebook never holds half a
   result.

A rerun skips a task whose key the gradebook has recorded (using the result kept on disk
for the CSVs), records without regrading a task whose result is on disk but not in the
gradebook (the database was down, or the run was killed between 1 and 2), and grades the
rest. Results of grader faults are never kept: they are graded again.
"""

import contextlib
import csv
import datetime
import json
import warnings

import nbformat
from sqlalchemy import text

from autograder import report
from autograder.cells import Redactor
from autograder.course import UsageError
from autograder.results import Outcome, Result, Status

LEDGER = "autograder_recorded"
LEDGER_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {LEDGER} (student VARCHAR(128) NOT NULL, assignment VARCHAR(128) NOT NULL, "
    "notebook VARCHAR(128) NOT NULL, task_key VARCHAR(64) NOT NULL, recorded_at VARCHAR(40) NOT NULL, "
    "PRIMARY KEY (student, assignment, notebook))"
)


class RecordingDeferred(RuntimeError):
    """The gradebook could not be written; the result is kept on disk and the next run records it."""


def shown_url(db_url):
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:
        return "<the gradebook URL>"


def open_gradebook(db_url):
    """nbgrader's Gradebook at `db_url`, quietly (SQLAlchemy warns from inside nbgrader's API)."""
    from nbgrader.api import Gradebook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Gradebook(db_url)


def check_database(db_url):
    """Reach the gradebook and make sure the ledger table exists; a clear UsageError if it cannot be reached."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with open_gradebook(db_url) as gradebook:
            gradebook.db.execute(text(LEDGER_SCHEMA))
            gradebook.db.commit()
            gradebook.engine.dispose()
    except (SQLAlchemyError, OSError) as error:
        first_line = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise UsageError(
            f"cannot reach the gradebook database {shown_url(db_url)}: {first_line}\nNothing was graded."
        ) from None


@contextlib.contextmanager
def one_transaction(gradebook):
    """Hold nbgrader's commits (each of its update_or_create_* commits) until the block ends, then
    commit once; roll everything back if the block fails. A result lands whole or not at all."""
    session = gradebook.db
    session.commit = session.flush  # on this session object only: nbgrader's own commits become flushes
    try:
        yield session
    except BaseException:
        del session.commit
        session.rollback()
        raise
    del session.commit
    session.commit()


GRADES_COLUMNS = ["student", "assignment", "score", "max_score", "needs_manual_grade"]
TESTS_COLUMNS = ["student", "assignment", "notebook", "test_id", "points", "max_points", "status", "message"]


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


def _write_atomically(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(data, encoding="utf-8")
    temporary.replace(path)


class Recorder:
    """Writes results as they come (kept result, autograded notebook, feedback page, gradebook); CSVs at the end."""

    def __init__(self, course, out_dir):
        self.course = course
        self.out_dir = out_dir
        self.results = []
        self.redactors = {}

    # --- what an earlier run already did ----------------------------------------------------------
    def kept_path(self, task):
        return self.out_dir / "results" / task["student"] / task["assignment"] / f"{task['notebook']}.json"

    def kept_result(self, task):
        """The result an earlier run kept on disk for exactly this task (same key), or None."""
        try:
            data = json.loads(self.kept_path(task).read_text(encoding="utf-8"))
            if data.get("key") == task["key"]:
                return Result.from_json(json.dumps(data["result"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def recorded_keys(self):
        """{(student, assignment, notebook): task key} of every result the gradebook holds whole."""
        with open_gradebook(self.course.db_url) as gradebook:
            rows = gradebook.db.execute(text(f"SELECT student, assignment, notebook, task_key FROM {LEDGER}"))
            keys = {(row[0], row[1], row[2]): row[3] for row in rows}
            gradebook.engine.dispose()
        return keys

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

    def take(self, result):
        """Count a result the gradebook already holds (a rerun's skipped task) in this run's CSVs."""
        self.results.append(result)

    def record(self, task, result, kept=False):
        """Record a fresh result (or, with kept=True, one an earlier run kept on disk).

        Raises RecordingDeferred when the gradebook cannot be written: the result stays on disk.
        """
        redact = self.redactor(result.assignment, result.notebook)
        for test in result.tests:
            test.message = redact(test.message or "")
        finished = result.outcome is not Outcome.GRADER_FAULT
        if not finished:  # graded again next time: no earlier result of this task may stand in for it
            self.kept_path(task).unlink(missing_ok=True)
        elif not kept:
            record = {"key": task["key"], "result": json.loads(result.to_json())}
            _write_atomically(self.kept_path(task), json.dumps(record))
        notebook = nbformat.reads(result.notebook_json, as_version=4) if result.notebook_json else None
        self._write_notebook(result, notebook)
        self._write_feedback(task, result, report.feedback_html(result, notebook, redact))
        try:
            self._write_gradebook(result, task.get("timestamp"), task["key"] if finished else None)
        except Exception as error:
            raise RecordingDeferred(
                f"the gradebook {shown_url(self.course.db_url)} could not be written "
                f"({type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}); "
                f"the result is kept in {self.kept_path(task)} and the next run records it"
            ) from error
        self.results.append(result)

    def _write_feedback(self, task, result, page):
        """The feedback page, and beside it what `nbgrader release_feedback` needs to hand it back.

        nbgrader's exchange finds a student's feedback by the name of the notebook they submitted,
        so a notebook graded in place of a misnamed one gets a copy under the name it was handed in as.
        """
        folder = self.out_dir / "feedback" / result.student / result.assignment
        names = [result.notebook]
        submitted_as = task.get("submitted_as")
        if submitted_as and submitted_as != result.notebook:
            names.append(submitted_as)
        for name in names:
            _write_atomically(folder / f"{name}.html", page)
        if task.get("timestamp"):
            _write_atomically(folder / "timestamp.txt", task["timestamp"])
        if task.get("submission_secret"):
            _write_atomically(folder / "submission_secret.txt", task["submission_secret"])

    def _write_gradebook(self, result, timestamp, key):
        with open_gradebook(self.course.db_url) as gradebook:
            try:
                with warnings.catch_warnings(), one_transaction(gradebook) as session:
                    warnings.simplefilter("ignore")  # SQLAlchemy's SAWarnings from inside nbgrader's API
                    gradebook.update_or_create_student(result.student)
                    kwargs = {"timestamp": timestamp} if timestamp else {}
                    gradebook.update_or_create_submission(result.assignment, result.student, **kwargs)
                    for test in result.tests:
                        grade = gradebook.find_grade(test.test_id, result.notebook, result.assignment, result.student)
                        grade.auto_score = test.points
                        grade.needs_manual_grade = test.points is None or grade.manual_score is not None
                    where = {"s": result.student, "a": result.assignment, "n": result.notebook}
                    session.execute(
                        text(f"DELETE FROM {LEDGER} WHERE student = :s AND assignment = :a AND notebook = :n"), where
                    )
                    if key is not None:
                        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
                        session.execute(
                            text(f"INSERT INTO {LEDGER} VALUES (:s, :a, :n, :k, :t)"), {**where, "k": key, "t": now}
                        )
            finally:
                gradebook.engine.dispose()

    def _write_notebook(self, result, notebook):
        graded_dir = self.out_dir / "autograded" / result.student / result.assignment
        graded_dir.mkdir(parents=True, exist_ok=True)
        graded_path = graded_dir / f"{result.notebook}.ipynb"
        if notebook is not None:
            _write_atomically(graded_path, nbformat.writes(notebook))
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
