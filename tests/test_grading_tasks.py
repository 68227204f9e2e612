"""Grading tasks and how results are recorded so that an interrupted run loses nothing (fast tier).

tasks.py (a task carries a submission by value; its key says when a grade can be reused),
recording.py (a result lands in the gradebook whole or not at all; kept on disk first; a
rerun skips what the gradebook holds) and grade.py's errors for a database or scheduler
that cannot be reached. The same behaviour with real servers (a Dask cluster, PostgreSQL,
workers and coordinators killed) is in tests/test_grading_cluster.py.
"""

import argparse
import json

import nbformat
import pytest
from nbgrader.api import Gradebook
from sqlalchemy import text

from autograder import grade as grading
from autograder import recording, tasks
from autograder.course import Course, UsageError
from autograder.results import Outcome, Result, Status, TestResult
from autograder.sandbox import REPO
from cluster_tools import free_port

ASSIGNMENT = "01_relu_math"
SOURCE = REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
LIMITS = grading._limits(grading.build_parser().parse_args([]))
TEST_IDS = [
    cell.metadata["nbgrader"]["grade_id"]
    for cell in nbformat.read(SOURCE, as_version=4).cells
    if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
]


def job(tmp_path, student="ada", content=b'{"cells": []}'):
    folder = tmp_path / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ASSIGNMENT}.ipynb"
    path.write_bytes(content)
    return {
        "student": student,
        "assignment": ASSIGNMENT,
        "notebook": ASSIGNMENT,
        "notes": [],
        "submission": str(path),
        "missing_reason": None,
        "timestamp_file": str(folder / "timestamp.txt"),
    }


# --- tasks ------------------------------------------------------------------------------------
def test_a_task_carries_the_notebooks_by_value_and_survives_json(tmp_path):
    task = tasks.make_task(job(tmp_path, content=b"student bytes"), SOURCE, True, LIMITS)
    assert task["submission_bytes"] == b"student bytes" and task["source_bytes"] == SOURCE.read_bytes()
    assert not any(isinstance(value, str) and str(tmp_path) in value for value in task.values()), "no local paths"
    assert tasks.from_json(tasks.to_json(task)) == task


def test_the_key_changes_with_the_submission_the_tests_the_limits_and_the_sandbox(tmp_path):
    base = tasks.task_key(b"answer", b"source", LIMITS, True)
    assert tasks.task_key(b"answer", b"source", dict(LIMITS), True) == base
    assert tasks.task_key(b"answer!", b"source", LIMITS, True) != base
    assert tasks.task_key(b"answer", b"source with a fixed test", LIMITS, True) != base
    assert tasks.task_key(b"answer", b"source", {**LIMITS, "cell_timeout": 1}, True) != base
    assert tasks.task_key(b"answer", b"source", LIMITS, False) != base
    assert tasks.task_key(None, b"source", LIMITS, True) != base


def test_an_unreadable_submission_becomes_a_missing_one_with_the_reason(tmp_path):
    broken = job(tmp_path)
    broken["submission"] = str(tmp_path / "gone.ipynb")
    task = tasks.make_task(broken, SOURCE, True, LIMITS)
    assert task["submission_bytes"] is None and "cannot be read" in task["missing_reason"]


def test_a_worker_without_the_sandbox_refuses_a_sandboxed_task(tmp_path, monkeypatch):
    monkeypatch.setattr(tasks, "sandbox_problem", lambda: "bubblewrap (bwrap) is not installed")
    task = tasks.make_task(job(tmp_path), SOURCE, True, LIMITS)
    with pytest.raises(tasks.TaskRefused, match="cannot grade in the sandbox: bubblewrap"):
        tasks.run_task(task, scratch=tmp_path, worker="tcp://10.0.0.7:4000")


def test_run_task_grades_in_a_private_folder_and_removes_it(tmp_path):
    missing = {**job(tmp_path), "submission": None, "missing_reason": "no 01_relu_math.ipynb in the submission"}
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = tasks.run_task(tasks.make_task(missing, SOURCE, False, LIMITS), scratch=scratch, worker="w1")
    assert result.outcome is Outcome.NOT_SUBMITTED and result.worker == "w1"
    assert {test.status for test in result.tests} == {Status.MISSING}
    assert list(scratch.iterdir()) == []


# --- recording ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gradebook_template(tmp_path_factory):
    """A gradebook with 01 recorded (nbgrader generate_assignment, once for the module)."""
    grading._put_venv_on_path()  # nbgrader runs `alembic` from the environment
    path = tmp_path_factory.mktemp("template") / "gradebook.db"
    Course(gradebook=path).ensure_gradebook([ASSIGNMENT])
    return path.read_bytes()


@pytest.fixture
def recorder(tmp_path, gradebook_template):
    path = tmp_path / "gradebook.db"
    path.write_bytes(gradebook_template)
    course = Course(gradebook=path)
    recording.check_database(course.db_url)
    return recording.Recorder(course, tmp_path / "out")


def a_result(student, points, outcome=Outcome.GRADED):
    tests = [TestResult(test_id, points, 2.0, Status.PASSED if points else Status.FAILED) for test_id in TEST_IDS]
    return Result(student, ASSIGNMENT, ASSIGNMENT, outcome=outcome, tests=tests)


def gradebook_state(recorder):
    """{student: [auto scores]} of every submission, and the ledger's rows."""
    with Gradebook(recorder.course.db_url) as gradebook:
        scores = {}
        for submission in gradebook.assignment_submissions(ASSIGNMENT):
            notebook = submission.notebooks[0]
            scores[submission.student.id] = sorted((g.name, g.auto_score) for g in notebook.grades)
        ledger = gradebook.db.execute(text(f"SELECT student, task_key FROM {recording.LEDGER}")).fetchall()
    return scores, sorted(tuple(row) for row in ledger)


def test_a_result_lands_whole_with_its_ledger_row(tmp_path, recorder):
    task = tasks.make_task(job(tmp_path), SOURCE, True, LIMITS)
    recorder.record(task, a_result("ada", 2.0))
    scores, ledger = gradebook_state(recorder)
    assert [score for _, score in scores["ada"] if score is not None] == [2.0] * len(TEST_IDS)
    assert ledger == [("ada", task["key"])]
    kept = json.loads(recorder.kept_path(task).read_text())
    assert kept["key"] == task["key"] and recorder.kept_result(task).score == 2.0 * len(TEST_IDS)


def test_a_failure_half_way_through_leaves_no_half_result(tmp_path, recorder, monkeypatch):
    """nbgrader commits after creating the student and the submission; those commits are held."""
    task = tasks.make_task(job(tmp_path, "bob"), SOURCE, True, LIMITS)
    real_find_grade = Gradebook.find_grade
    calls = []

    def failing_find_grade(self, *args):
        calls.append(args)
        if len(calls) == 3:
            raise ConnectionError("the database went away")
        return real_find_grade(self, *args)

    monkeypatch.setattr(Gradebook, "find_grade", failing_find_grade)
    with pytest.raises(recording.RecordingDeferred, match="kept in .* the next run records it"):
        recorder.record(task, a_result("bob", 2.0))
    scores, ledger = gradebook_state(recorder)
    assert "bob" not in scores and ledger == [], "the student and submission rows were committed half way"
    with Gradebook(recorder.course.db_url) as gradebook:
        assert "bob" not in [student.id for student in gradebook.students]
    assert recorder.kept_result(task) is not None, "the result must stay on disk for the next run"


def test_a_rerun_skips_recorded_records_kept_and_grades_the_rest(tmp_path, recorder, monkeypatch):
    recorded = tasks.make_task(job(tmp_path, "ada"), SOURCE, True, LIMITS)
    deferred = tasks.make_task(job(tmp_path, "bob"), SOURCE, True, LIMITS)
    changed = tasks.make_task(job(tmp_path, "cy"), SOURCE, True, LIMITS)
    new = tasks.make_task(job(tmp_path, "dee"), SOURCE, True, LIMITS)
    recorder.record(recorded, a_result("ada", 2.0))
    recorder.record(changed, a_result("cy", 0.0))
    monkeypatch.setattr(recording.Recorder, "_write_gradebook", lambda *args: (_ for _ in ()).throw(OSError("down")))
    with pytest.raises(recording.RecordingDeferred):
        recorder.record(deferred, a_result("bob", 2.0))
    monkeypatch.undo()
    changed_again = tasks.make_task(job(tmp_path, "cy", content=b'{"cells": ["edited"]}'), SOURCE, True, LIMITS)
    skip, record, grade = grading._plan([recorded, deferred, changed_again, new], recorder, regrade=False)
    assert [task["student"] for task, _ in skip] == ["ada"]
    assert [task["student"] for task, _ in record] == ["bob"]
    assert [task["student"] for task in grade] == ["cy", "dee"]
    assert grading._plan([recorded, deferred], recorder, regrade=True) == ([], [], [recorded, deferred])


def test_a_grader_fault_is_recorded_for_the_student_but_graded_again_next_time(tmp_path, recorder):
    task = tasks.make_task(job(tmp_path), SOURCE, True, LIMITS)
    recorder.record(task, a_result("ada", 2.0))
    recorder.record(task, a_result("ada", 0.0, outcome=Outcome.GRADER_FAULT))
    _, ledger = gradebook_state(recorder)
    assert ledger == [], "a fault must not count as recorded"
    assert grading._plan([task], recorder, regrade=False)[2] == [task]


# --- servers that cannot be reached -------------------------------------------------------------
def test_an_unreachable_database_is_a_clear_error_without_its_password():
    url = f"postgresql://grader:s3cret@127.0.0.1:{free_port()}/gradebook"
    with pytest.raises(UsageError) as caught:
        recording.check_database(url)
    message = str(caught.value)
    assert "cannot reach the gradebook database" in message and "127.0.0.1" in message
    assert "s3cret" not in message and "Nothing was graded" in message


def run_command(arguments, capsys):
    status = grading.main(arguments)
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def a_class(tmp_path):
    folder = tmp_path / "class"
    job(folder)
    return folder / "submitted"


def test_grading_with_an_unreachable_database_stops_before_grading(tmp_path, capsys):
    port = free_port()
    out = tmp_path / "out"
    status, output = run_command(
        [str(a_class(tmp_path)), "--out", str(out), "--db", f"postgresql://grader@127.0.0.1:{port}/gb"], capsys
    )
    assert status == 2, output
    assert f"cannot reach the gradebook database postgresql://grader@127.0.0.1:{port}/gb" in output
    assert not (out / "results").exists() and not (out / "feedback").exists()


def test_grading_with_an_unreachable_scheduler_names_its_address(tmp_path, capsys):
    address = f"tcp://127.0.0.1:{free_port()}"
    out = tmp_path / "out"
    arguments = [str(a_class(tmp_path)), "--out", str(out), "--gradebook", str(tmp_path / "gb.db")]
    status, output = run_command([*arguments, "--scheduler", address, "--scheduler-timeout", "2"], capsys)
    assert status == 2, output
    assert f"cannot reach the Dask scheduler at {address}" in output
    assert not (out / "feedback").exists()


def test_gradebook_file_and_database_url_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        grading.build_parser().parse_args(["--gradebook", "x.db", "--db", "sqlite:///y.db"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_help_documents_the_cluster_and_database_options(capsys):
    with pytest.raises(SystemExit):
        grading.build_parser().parse_args(["--help"])
    text_ = capsys.readouterr().out
    for option in ("--scheduler", "--db", "--regrade", "postgresql://"):
        assert option in text_, option
    assert isinstance(grading.build_parser(), argparse.ArgumentParser)


def test_make_grade_passes_the_scheduler_and_the_database_on():
    import subprocess

    done = subprocess.run(
        ["make", "-n", "grade", "SCHEDULER=tcp://10.0.0.1:8786", "DB=postgresql://grader@dbhost/deadrelu"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "autograder.grade" in line)
    assert "--scheduler tcp://10.0.0.1:8786" in line and "--db 'postgresql://grader@dbhost/deadrelu'" in line
