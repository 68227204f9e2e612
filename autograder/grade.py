"""Grade a whole class: `make grade SUBMISSIONS=<folder or zip>` (or `python -m autograder.grade`).

Input: a folder `<student>/<assignment>/<notebook>.ipynb` (nbgrader's `submitted` layout)
or an LMS download, a zip of files whose names hold the student and the notebook
(`--pattern` says how). A zip is first collected into `autograder/submitted/`.

Every notebook is graded by a worker (autograder/worker.py, started by pool.py) in a sandbox
of its own, up to `--jobs` at a time; submissions.py finds the notebooks, recording.py writes
what comes back, and this module is the command and its run loop. This process alone
writes the gradebook, one finished notebook at a time, so parallel grading cannot corrupt
it (nbgrader's own autograde cannot run in parallel: jupyter/nbgrader#174). It writes,
under `--out` (default `autograder/`):

    grades.csv                      one row per student x assignment: score, max score
    test_results.csv                one row per test: status, points and failure message
    autograded/<student>/<assignment>/<notebook>.ipynb   the executed notebooks (for the formgrader)
    feedback/<student>/<assignment>/<notebook>.html      what each student gets back

and prints progress while it runs and a summary at the end. Exit status: 0 when every
submission was graded (whatever the scores), 1 when some could not be, 2 for a usage
error (for example `--require-sandbox` without a working sandbox).
"""

import argparse
import os
import re
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder.course import Course, UsageError
from autograder.pool import WorkerPool
from autograder.recording import Recorder
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
    parser.add_argument(
        "--gradebook", type=Path, default=None, help="gradebook file (default: autograder/gradebook.db)"
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
    """Whether kernels run in the sandbox; warns loudly when not, refuses if --require-sandbox."""
    problem = sandbox_problem()
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


def _progress_line(job, result):
    counts = Counter(test.status.value for test in result.tests)
    line = (
        f"{job['student']:>16} {job['assignment']:<34} {result.score:>5g}/{result.max_score:<4g} "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f"  ({result.seconds:.1f} s)"
    )
    if result.stopped:
        line += f"\n{'':>17}stopped: {result.stopped}"
    return line


def _grade_all(jobs, pool, recorder, say):
    """Grade every job, recording each result as it comes; returns how many could not be graded."""
    failures = 0
    with ThreadPoolExecutor(max_workers=len(pool.slots)) as executor:
        futures = {executor.submit(pool.grade, number, job): job for number, job in enumerate(jobs)}
        for future in as_completed(futures):
            job = futures[future]
            try:
                result = future.result()
            except Exception as error:  # a bug of ours: report it, go on with the others
                result = pool.fault(job, f"grader error: {error!r}")
            try:
                recorder.record(job, result)
            except Exception as error:
                failures += 1
                print(f"ERROR recording {job['student']}/{job['assignment']}: {error!r}", file=sys.stderr)
                continue
            if result.outcome is Outcome.GRADER_FAULT:
                failures += 1
            say(_progress_line(job, result))
    return failures


def _print_summary(recorder, jobs, elapsed, ignored, skipped, paths, stream):
    grades_path, tests_path = paths
    counts = recorder.status_counts()
    print(
        f"\nGraded {len(jobs)} notebook(s) in {elapsed:.1f} s. Tests: "
        + ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s]),
        file=stream,
    )
    for line in ignored:
        print(f"ignored: {line}", file=stream)
    for name, why in skipped:
        print(f"skipped in the zip: {name}: {why}", file=stream)
    out_dir = grades_path.parent
    print(f"Grades:   {grades_path}\nTests:    {tests_path}\nFeedback: {out_dir / 'feedback'}", file=stream)


def grade(args, stream=sys.stdout):
    """Run a grading; returns (exit status, Recorder)."""
    _put_venv_on_path()
    course = Course(gradebook=args.gradebook)
    _check_arguments(args, course)
    sandboxed = _use_sandbox(args)
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs, ignored, skipped = _gather_jobs(args, course, stream)
    course.ensure_gradebook(sorted({job["assignment"] for job in jobs}))

    recorder = Recorder(course, out_dir)
    started = time.monotonic()
    pool = WorkerPool(course, min(args.jobs, len(jobs)), sandboxed, _limits(args))
    print(
        f"Grading {len(jobs)} notebook(s) of {len({j['student'] for j in jobs})} student(s), "
        f"{len(pool.slots)} at a time, {'in the bubblewrap sandbox' if sandboxed else 'WITHOUT a sandbox'}",
        file=stream,
    )
    progress = None
    if not args.quiet:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(jobs), unit="notebook", desc="grading", file=sys.stderr, dynamic_ncols=True)

    def say(line):
        if progress is None:
            print(line, file=stream)
        else:
            progress.write(line)
            progress.update(1)

    try:
        failures = _grade_all(jobs, pool, recorder, say)
    finally:
        if progress is not None:
            progress.close()
        pool.close()
    paths = recorder.write_csvs()
    _print_summary(recorder, jobs, time.monotonic() - started, ignored, skipped, paths, stream)
    return (1 if failures else 0), recorder


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
