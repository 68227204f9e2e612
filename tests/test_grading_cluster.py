"""Grading a class on a real Dask cluster into a real PostgreSQL gradebook, and the faults a big class meets.

The tests start everything themselves on 127.0.0.1: `dask scheduler` and two `dask worker`
processes (tests/cluster_tools.py), and a PostgreSQL server in a temporary folder, each
test with a database of its own. A class of three 01_relu_math submissions (solved, half
solved, untouched) is graded once on this machine (`--jobs 2`, SQLite) as the reference;
every test then asserts that each student is graded exactly once, with exactly the
reference's scores and test statuses, whatever went wrong on the way:

- the cluster grades like this machine, into PostgreSQL, and a rerun grades nothing;
- a worker killed in the middle of a notebook: Dask runs the task again elsewhere;
- the coordinator (`make grade`) killed mid-run: the rerun grades only what is missing;
- the database stopped mid-run: results are kept on disk; down at start: a clear error and
  nothing graded; back up: the rerun records them without grading again;
- a worker without bubblewrap: refused before anything is graded.

Skipped with the reason where PostgreSQL or Dask is missing; with REQUIRE_SERVICES=1 (CI)
they fail instead. The kernels run in the bubblewrap sandbox on every worker, as in CI.
"""

import csv
import os
import re
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from autograder.sandbox import REPO, sandbox_problem
from cluster_tools import BIN, DaskProcesses, start_dask, start_postgres
from course_tools import MEASUREMENTS, solution_answers

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_relu_math"
SOLUTION = REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = REPO / "course" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
STUDENTS = ("solved", "half", "blank")
CODE_ANSWERS = {
    cell.metadata["nbgrader"]["grade_id"]
    for cell in nbformat.read(SOLUTION, as_version=4).cells
    if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
}
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def write_class(folder):
    answers = {k: v for k, v in solution_answers(ASSIGNMENT).items() if k in CODE_ANSWERS}
    half = dict(list(answers.items())[: len(answers) // 2])
    for student, given in zip(STUDENTS, (answers, half, {})):
        notebook = nbformat.read(RELEASE, as_version=4)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in given:
                cell.source = given[grade_id]
        path = folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, path)
    return folder


def grade_command(submissions, out, *options):
    return [
        sys.executable,
        "-m",
        "autograder.grade",
        str(submissions),
        "--out",
        str(out),
        "--require-sandbox",
        "--quiet",
        *options,
    ]


def run_grade(submissions, out, *options, timeout=300):
    done = subprocess.run(
        grade_command(submissions, out, *options), cwd=REPO, env=ENV, capture_output=True, text=True, timeout=timeout
    )
    return done.returncode, done.stdout + done.stderr


def start_grade(submissions, out, *options):
    return subprocess.Popen(
        grade_command(submissions, out, *options),
        cwd=REPO,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def read_csvs(out):
    with open(out / "grades.csv") as handle:
        grades = sorted(tuple(row.values()) for row in csv.DictReader(handle))
    with open(out / "test_results.csv") as handle:
        tests = sorted((r["student"], r["test_id"], r["points"], r["status"]) for r in csv.DictReader(handle))
    return grades, tests


def gradebook_scores(url):
    """{student: [(test, auto score)]} from the gradebook; fails if any test of a submission has no score."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(url) as gradebook:
        for submission in gradebook.assignment_submissions(ASSIGNMENT):
            grades = sorted((g.name, g.auto_score) for g in submission.notebooks[0].grades)
            assert all(score is not None for _, score in grades), f"half-written result: {grades}"
            scores[submission.student.id] = grades
    return scores


def ledger_rows(postgres, database):
    try:
        return postgres.query(database, "SELECT student FROM autograder_recorded")
    except Exception:  # the table does not exist yet
        return []


def graded_lines(output):
    """The students of the progress lines: one per notebook graded by this run."""
    return [line.split()[0] for line in output.splitlines() if f" {ASSIGNMENT} " in line and "/10" in line]


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    if sandbox_problem():
        pytest.fail(f"the grading sandbox is required for these tests: {sandbox_problem()}")
    root = tmp_path_factory.mktemp("cluster")
    submissions = write_class(root / "submitted")
    started = time.monotonic()
    status, output = run_grade(submissions, root / "local", "--jobs", "2", "--gradebook", str(root / "local.db"))
    assert status == 0, output
    MEASUREMENTS["class of 3 graded on this machine (--jobs 2)"] = f"{time.monotonic() - started:.1f} s"
    postgres = start_postgres()
    try:
        cluster = start_dask(root / "dask", workers=2)
    except BaseException:
        postgres.close()
        raise
    try:
        yield {
            "root": root,
            "submissions": submissions,
            "reference": read_csvs(root / "local"),
            "postgres": postgres,
            "cluster": cluster,
        }
    finally:
        cluster.close()
        postgres.close()


def assert_graded_like_reference(services, out, url):
    grades, tests = read_csvs(out)
    assert (grades, tests) == services["reference"]
    reference_points = {
        (student, test_id): float(points) for student, test_id, points, _ in services["reference"][1] if points
    }
    scores = gradebook_scores(url)
    assert sorted(scores) == sorted(STUDENTS)
    for student, grades_ in scores.items():
        for test_id, score in grades_:
            if (student, test_id) in reference_points:
                assert score == reference_points[(student, test_id)], (student, test_id)


def test_the_cluster_grades_like_this_machine_into_postgresql_and_a_rerun_grades_nothing(services, tmp_path):
    url = services["postgres"].create_database("same_scores")
    options = ("--scheduler", services["cluster"].address, "--db", url)
    started = time.monotonic()
    status, output = run_grade(services["submissions"], tmp_path / "out", *options)
    MEASUREMENTS["class of 3 graded on the 2-worker Dask cluster"] = f"{time.monotonic() - started:.1f} s"
    assert status == 0, output
    assert "on the Dask cluster at tcp://127.0.0.1:" in output and "in the bubblewrap sandbox" in output
    assert sorted(graded_lines(output)) == sorted(STUDENTS), output
    assert output.count("By worker: tcp://127.0.0.1:") == 1, "both workers should have graded"
    assert_graded_like_reference(services, tmp_path / "out", url)
    assert sorted(row[0] for row in ledger_rows(services["postgres"], "same_scores")) == sorted(STUDENTS)

    status, output = run_grade(services["submissions"], tmp_path / "out", *options)
    assert status == 0, output
    assert graded_lines(output) == [] and "Already in the gradebook, not graded again: 3" in output, output
    assert_graded_like_reference(services, tmp_path / "out", url)


def processing_worker(client, seconds):
    """The address of a worker that has been grading a notebook for `seconds` (kernel started, cells running)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        busy = [worker for worker, keys in client.processing().items() if keys]
        if busy:
            time.sleep(seconds)
            still = [worker for worker, keys in client.processing().items() if keys and worker in busy]
            if still:
                return still[0]
        time.sleep(0.2)
    raise AssertionError("no worker started grading within 120 s")


def test_a_worker_killed_mid_notebook_costs_time_not_grades(services, tmp_path):
    url = services["postgres"].create_database("worker_killed")
    cluster = services["cluster"]
    coordinator = start_grade(services["submissions"], tmp_path / "out", "--scheduler", cluster.address, "--db", url)
    with cluster.client() as client:
        victim = processing_worker(client, seconds=3)
        pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)  # the worker process, mid-notebook; its nanny starts a new one
        output, _ = coordinator.communicate(timeout=300)
        assert coordinator.returncode == 0, output
        client.wait_for_workers(2, timeout=60)  # the nanny's replacement, for the next tests
    assert victim not in output, "the killed worker cannot have delivered a result"
    assert sorted(graded_lines(output)) == sorted(STUDENTS), f"each student exactly once:\n{output}"
    assert_graded_like_reference(services, tmp_path / "out", url)
    assert "removed worker" in cluster.log("scheduler").lower() or "remove worker" in cluster.log("scheduler").lower()


def test_a_killed_coordinator_reruns_only_what_is_missing(services, tmp_path):
    postgres, cluster = services["postgres"], services["cluster"]
    url = postgres.create_database("coordinator_killed")
    options = ("--scheduler", cluster.address, "--db", url)
    coordinator = start_grade(services["submissions"], tmp_path / "out", *options)
    deadline = time.monotonic() + 180
    while not ledger_rows(postgres, "coordinator_killed") and coordinator.poll() is None:
        assert time.monotonic() < deadline, "nothing was recorded within 180 s"
        time.sleep(0.1)
    os.killpg(coordinator.pid, signal.SIGKILL)
    coordinator.wait()
    recorded = sorted(row[0] for row in ledger_rows(postgres, "coordinator_killed"))
    assert 1 <= len(recorded) < len(STUDENTS), f"the kill came too late to test anything: {recorded}"
    gradebook_scores(url)  # no half-written result, even killed mid-run

    status, output = run_grade(services["submissions"], tmp_path / "out", *options)
    assert status == 0, output
    assert f"Already in the gradebook, not graded again: {len(recorded)}" in output, output
    # A result the killed run had kept on disk but not yet recorded is recorded, not graded again.
    from_disk = int(re.search(r"graded by an earlier run and recorded now: (\d+)", output).group(1))
    missing = set(STUDENTS) - set(recorded)
    assert set(graded_lines(output)) <= missing and len(graded_lines(output)) + from_disk == len(missing), output
    assert_graded_like_reference(services, tmp_path / "out", url)


def test_the_database_down_mid_run_loses_nothing_and_down_at_start_grades_nothing(services, tmp_path):
    postgres, cluster = services["postgres"], services["cluster"]
    url = postgres.create_database("database_down")
    options = ("--scheduler", cluster.address, "--db", url)
    coordinator = start_grade(services["submissions"], tmp_path / "out", *options)
    deadline = time.monotonic() + 180
    while not ledger_rows(postgres, "database_down"):
        assert time.monotonic() < deadline and coordinator.poll() is None, "nothing was recorded within 180 s"
        time.sleep(0.1)
    postgres.stop()
    try:
        output, _ = coordinator.communicate(timeout=300)
        assert coordinator.returncode == 1, output
        assert "NOT YET IN THE GRADEBOOK" in output and "Run the same command again to record them" in output, output
        kept = sorted(path.parent.parent.name for path in (tmp_path / "out" / "results").glob("*/*/*.json"))
        assert kept == sorted(STUDENTS), "every graded result must be kept on disk"

        status, output = run_grade(services["submissions"], tmp_path / "out", *options)
        assert status == 2, output
        assert "cannot reach the gradebook database" in output and "Nothing was graded" in output, output
        assert graded_lines(output) == []
    finally:
        postgres.start()
    status, output = run_grade(services["submissions"], tmp_path / "out", *options)
    assert status == 0, output
    assert graded_lines(output) == [], f"kept results must be recorded, not graded again:\n{output}"
    assert "graded by an earlier run and recorded now: " in output
    assert_graded_like_reference(services, tmp_path / "out", url)


def test_a_worker_without_bubblewrap_is_refused_before_grading(services, tmp_path):
    cluster = DaskProcesses(tmp_path / "dask", workers=0)
    try:
        # The worker finds no `bwrap` on its PATH: as on a machine without the package.
        cluster.add_worker("no-sandbox", env={"PATH": str(BIN)})
        cluster.wait_for_workers(1)
        status, output = run_grade(
            services["submissions"],
            tmp_path / "out",
            "--scheduler",
            cluster.address,
            "--gradebook",
            str(tmp_path / "gb.db"),
        )
    finally:
        cluster.close()
    assert status == 2, output
    assert "1 worker(s) of tcp://127.0.0.1:" in output and "cannot grade in the sandbox" in output, output
    assert "bubblewrap (bwrap) is not installed" in output
    assert not (tmp_path / "out" / "feedback").exists()
