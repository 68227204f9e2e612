"""Grade a whole class: `make grade SUBMISSIONS=<folder or zip>` (or `python -m autograder.grade`).

Input: a folder `<student>/<assignment>/<notebook>.ipynb` (nbgrader's `submitted` layout)
or an LMS download, a zip of files whose names hold the student and the notebook
(`--pattern` says how). A zip is first collected into `autograder/submitted/`.

Every notebook becomes a task (tasks.py: the submission's bytes and the source notebook,
carried by value), graded in a sandbox of its own: on this machine by worker processes
(pool.py), up to `--jobs` at a time, or with `--scheduler tcp://host:8786` by the workers
of a Dask cluster (cluster.py). submissions.py finds the notebooks, recording.py writes
what comes back, and this module is the command and its run loop. This process alone
writes the gradebook (SQLite by default, `--db postgresql://...` for a server), one
finished notebook at a time, so parallel grading cannot corrupt it (nbgrader's own
autograde cannot run in parallel: jupyter/nbgrader#174). Running the same command again
after an interruption grades only what the gradebook does not hold yet (`--regrade`
grades everything). It writes, under `--out` (default `autograder/`):

    grades.csv                      one row per student x assignment: score, max score
    test_results.csv                one row per test: status, points and failure message
    autograded/<student>/<assignment>/<notebook>.ipynb   the executed notebooks (for the formgrader)
    feedback/<student>/<assignment>/<notebook>.html      what each student gets back
    results/<student>/<assignment>/<notebook>.json       each result with its task's key (for reruns)

and prints progress while it runs and a summary at the end. Exit status: 0 when every
submission was graded (whatever the scores), 1 when some could not be, 2 for a usage
error (for example `--require-sandbox` without a working sandbox, a gradebook database or a
scheduler that cannot be reached: nothing is graded then).
"""

import argparse
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

from autograder import tasks
from autograder.course import Course, UsageError
from autograder.pool import WorkerPool, fault
from autograder.recording import Recorder, RecordingDeferred, check_database
from autograder.results import Outcome, Status
from autograder.sandbox import REPO, sandbox_problem
from autograder.submissions import DEFAULT_PATTERN, collect_zip, find_submissions

__all__ = ["Course", "UsageError", "DEFAULT_PATTERN", "collect_zip", "find_submissions", "grade", "main"]

STATUSES = [status.value for status in Status]
UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
SUBMITTED_DIR = REPO / "autograder" / "submitted"


def parse_size(text):
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(text))
    if not match or match.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 4GiB, 500MB, 1000000)")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


# --- the command --------------------------------------------------------------------------------
def build_parser():
    parser = argparse.ArgumentParser(
        prog="make grade SUBMISSIONS=<path> GRADE_ARGS=... (or python -m autograder.grade)",
        description="Grade every submission in a folder (<student>/<assignment>/<notebook>.ipynb) or an LMS zip.",
    )
    parser.add_argument(
        "submissions",
        type=Path,
        nargs="?",
        default=REPO / "autograder" / "submitted",
        help="folder or zip file (default: autograder/submitted)",
    )
    parser.add_argument("--assignment", action="append", default=[], help="grade only this assignment (repeatable)")
    parser.add_argument(
        "--jobs", "-j", type=int, default=os.cpu_count() or 1, help="notebooks graded at once (default: all cores)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "autograder", help="where reports go (default: autograder/)")
    parser.add_argument(
        "--pattern",
        default=DEFAULT_PATTERN,
        help="regex with a `student` group, searched in each file name of a zip (default: %(default)s)",
    )
    parser.add_argument("--cell-timeout", type=float, default=120, help="seconds one cell may run (default: 120)")
    parser.add_argument(
        "--notebook-timeout", type=float, default=900, help="seconds one notebook may run (default: 900)"
    )
    parser.add_argument(
        "--memory", type=parse_size, default=parse_size("6GiB"), help="address-space limit of a kernel (default: 6GiB)"
    )
    parser.add_argument(
        "--output-limit", type=parse_size, default=parse_size("1MB"), help="output kept per cell (default: 1MB)"
    )
    parser.add_argument(
        "--interrupt-grace",
        type=float,
        default=10,
        help="seconds a timed-out cell gets to stop after the interrupt (default: 10)",
    )
    database = parser.add_mutually_exclusive_group()
    database.add_argument(
        "--gradebook", type=Path, default=None, help="gradebook file (default: autograder/gradebook.db)"
    )
    database.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="gradebook database as an SQLAlchemy URL, e.g. postgresql://grader@dbhost/deadrelu "
        "(default: the SQLite file autograder/gradebook.db)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="grade on the Dask cluster of this scheduler, e.g. tcp://10.0.0.1:8786 (default: on this machine)",
    )
    parser.add_argument(
        "--scheduler-timeout",
        type=float,
        default=20,
        metavar="SECONDS",
        help="how long to try to reach the scheduler, and to wait for its first worker (default: 20)",
    )
    parser.add_argument(
        "--regrade",
        action="store_true",
        help="grade every submission again, even those the gradebook already holds with the same bytes",
    )
    parser.add_argument(
        "--file-size",
        type=parse_size,
        default=parse_size("100MB"),
        help="largest file a kernel may write (default: 100MB)",
    )
    sandbox = parser.add_mutually_exclusive_group()
    sandbox.add_argument(
        "--require-sandbox", action="store_true", help="refuse to grade without the bubblewrap sandbox"
    )
    sandbox.add_argument("--no-sandbox", action="store_true", help="grade without the sandbox (trusted notebooks only)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (the summary is still printed)")
    return parser


def _put_venv_on_path():
    # nbgrader runs `alembic` (and we run `nbgrader`) from the environment's bin folder.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _check_arguments(args, course):
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    for assignment in args.assignment:
        if assignment not in course.assignments:
            raise UsageError(f"unknown assignment {assignment!r}; the course has: {', '.join(course.assignments)}")


def _use_sandbox(args):
    """Whether kernels run in the sandbox; warns loudly when not, refuses if --require-sandbox.

    On a cluster the workers' sandboxes count, not this machine's: cluster.py refuses workers
    without one unless --no-sandbox.
    """
    problem = None if args.scheduler else sandbox_problem()
    if problem and args.require_sandbox:
        raise UsageError(f"--require-sandbox: {problem}")
    if not (args.no_sandbox or problem):
        return True
    banner = "!" * 78
    why = "--no-sandbox was given" if args.no_sandbox else problem
    print(
        f"{banner}\nWARNING: grading WITHOUT a sandbox ({why}).\nStudent code runs with your rights: it can read "
        f"solutions/, the gradebook and other students' work,\nwrite anywhere you can, and use the network. "
        f"Install bubblewrap, or use --require-sandbox.\n{banner}",
        file=sys.stderr,
    )
    return False


def _gather_jobs(args, course, stream):
    """(jobs, ignored folders, skipped zip members) of the submissions named on the command line."""
    submissions = args.submissions
    if not submissions.exists():
        raise UsageError(f"{submissions} does not exist")
    skipped = []
    if submissions.is_file():
        skipped = collect_zip(submissions, course, SUBMITTED_DIR, args.pattern)
        print(f"Collected {submissions.name} into {SUBMITTED_DIR}", file=stream)
        submissions = SUBMITTED_DIR
    jobs, ignored = find_submissions(submissions, course, set(args.assignment))
    if not jobs:
        raise UsageError(f"no submissions found in {submissions} (expected <student>/<assignment>/<notebook>.ipynb)")
    return jobs, ignored, skipped


def _limits(args):
    return {
        "cell_timeout": args.cell_timeout,
        "notebook_timeout": args.notebook_timeout,
        "memory_bytes": args.memory,
        "output_bytes": args.output_limit,
        "file_size_bytes": args.file_size,
        "interrupt_grace": args.interrupt_grace,
    }


def _progress_line(result, on_cluster):
    counts = Counter(test.status.value for test in result.tests)
    line = (
        f"{result.student:>16} {result.assignment:<34} {result.score:>5g}/{result.max_score:<4g} "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f"  ({result.seconds:.1f} s{', ' + result.worker if on_cluster else ''})"
    )
    if result.stopped:
        line += f"\n{'':>17}stopped: {result.stopped}"
    return line


class Run:
    """What this run did with each task: skipped (already recorded), recorded, deferred, failed."""

    def __init__(self):
        self.skipped = 0
        self.from_disk = 0
        self.deferred = []  # messages: results kept on disk, not yet in the gradebook
        self.failures = 0
        self.by_worker = Counter()
        self.notes = []  # how a submission was found: "graded x.ipynb in place of the missing y.ipynb (misnamed)"


def _plan(task_list, recorder, regrade):
    """Split the tasks: those the gradebook holds (skipped), those kept on disk only (recorded now), the rest."""
    if regrade:
        return [], [], task_list
    recorded = recorder.recorded_keys()
    skip, record, grade = [], [], []
    for task in task_list:
        kept = recorder.kept_result(task)
        if kept is None:
            grade.append(task)
        elif recorded.get((task["student"], task["assignment"], task["notebook"])) == task["key"]:
            skip.append((task, kept))
        else:
            record.append((task, kept))
    return skip, record, grade


def _record(recorder, task, result, run, kept=False):
    """Record one result; returns "recorded", "deferred" (kept on disk for the next run) or "failed"."""
    try:
        recorder.record(task, result, kept=kept)
    except RecordingDeferred as deferred:
        run.deferred.append(f"{tasks.describe(task)}: {deferred}")
        return "deferred"
    except Exception as error:
        run.failures += 1
        print(f"ERROR recording {tasks.describe(task)}: {error!r}", file=sys.stderr)
        return "failed"
    return "recorded"


def _grade_all(task_list, executor, recorder, run, say, on_cluster):
    """Grade every task, recording each result as it comes."""
    for task, result in executor.results(enumerate(task_list)):
        if isinstance(result, tasks.TaskRefused):
            run.failures += 1
            say(f"NOT GRADED {tasks.describe(task)}: {result} (run again once fixed)")
            continue
        if isinstance(result, Exception):  # a bug of ours, or a task that killed its workers: reported, not lost
            result = fault(task, f"grader error: {result!r}")
        if result.outcome is Outcome.GRADER_FAULT:
            run.failures += 1
        run.by_worker[result.worker or "?"] += 1
        run.notes += [f"{tasks.describe(task)}: {note}" for note in task["notes"]]
        line = _progress_line(result, on_cluster)
        outcome = _record(recorder, task, result, run)
        if outcome == "deferred":
            line += f"\n{'':>17}NOT YET IN THE GRADEBOOK (kept on disk for the next run)"
        elif outcome == "failed":
            line += f"\n{'':>17}NOT RECORDED (see the error above; the next run tries again)"
        say(line)


def _print_summary(recorder, graded, run, elapsed, ignored, skipped, paths, stream):
    grades_path, tests_path = paths
    counts = recorder.status_counts()
    print(
        f"\nGraded {graded} notebook(s) in {elapsed:.1f} s. Tests: "
        + ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s]),
        file=stream,
    )
    if run.skipped or run.from_disk:
        print(
            f"Already in the gradebook, not graded again: {run.skipped}; "
            f"graded by an earlier run and recorded now: {run.from_disk}",
            file=stream,
        )
    if len(run.by_worker) > 1:
        print("By worker: " + ", ".join(f"{w} {n}" for w, n in sorted(run.by_worker.items())), file=stream)
    for line in run.deferred:
        print(f"NOT YET IN THE GRADEBOOK: {line}", file=stream)
    if run.deferred:
        print("Run the same command again to record them (they are not graded again).", file=stream)
    for line in run.notes:
        print(f"note: {line}", file=stream)
    for line in ignored:
        print(f"ignored: {line}", file=stream)
    for name, why in skipped:
        print(f"skipped in the zip: {name}: {why}", file=stream)
    out_dir = grades_path.parent
    print(f"Grades:   {grades_path}\nTests:    {tests_path}\nFeedback: {out_dir / 'feedback'}", file=stream)


def _executor(args, count, sandboxed):
    if args.scheduler:
        from autograder.cluster import DaskCluster

        return DaskCluster(args.scheduler, sandboxed, connect_timeout=args.scheduler_timeout)
    return WorkerPool(max(1, min(args.jobs, count)), args.notebook_timeout)


def grade(args, stream=sys.stdout):
    """Run a grading; returns (exit status, Recorder)."""
    _put_venv_on_path()
    course = Course(gradebook=args.gradebook, db_url=args.db)
    _check_arguments(args, course)
    check_database(course.db_url)  # before anything is graded
    sandboxed = _use_sandbox(args)
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs, ignored, skipped = _gather_jobs(args, course, stream)
    course.ensure_gradebook(sorted({job["assignment"] for job in jobs}))

    recorder = Recorder(course, out_dir)
    limits = _limits(args)
    task_list = [
        tasks.make_task(job, course.source(job["assignment"], job["notebook"]), sandboxed, limits) for job in jobs
    ]
    to_skip, to_record, to_grade = _plan(task_list, recorder, args.regrade)
    run = Run()
    for task, result in to_skip:
        recorder.take(result)
        run.skipped += 1
    for task, result in to_record:
        run.from_disk += _record(recorder, task, result, run, kept=True) == "recorded"
    started = time.monotonic()
    executor = _executor(args, len(to_grade), sandboxed) if to_grade else None
    if executor is not None:
        print(
            f"Grading {len(to_grade)} notebook(s) of {len({t['student'] for t in to_grade})} student(s), "
            f"{executor.describe()}, {'in the bubblewrap sandbox' if sandboxed else 'WITHOUT a sandbox'}",
            file=stream,
        )
    progress = None
    if not args.quiet and executor is not None:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(to_grade), unit="notebook", desc="grading", file=sys.stderr, dynamic_ncols=True)

    def say(line):
        if progress is None:
            print(line, file=stream)
        else:
            progress.write(line)
            progress.update(1)
            if args.scheduler:  # how the work spreads over the workers
                progress.set_postfix_str(", ".join(f"{w.rsplit(':', 1)[-1]}: {n}" for w, n in run.by_worker.items()))

    try:
        if executor is not None:
            _grade_all(to_grade, executor, recorder, run, say, bool(args.scheduler))
    finally:
        if progress is not None:
            progress.close()
        if executor is not None:
            executor.close()
    paths = recorder.write_csvs()
    _print_summary(recorder, len(to_grade), run, time.monotonic() - started, ignored, skipped, paths, stream)
    return (1 if run.failures or run.deferred else 0), recorder


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        status, _ = grade(args)
    except UsageError as error:
        print(f"make grade: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
