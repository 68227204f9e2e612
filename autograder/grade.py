"""Grade a whole class: `make grade SUBMISSIONS=<folder or zip>` (or `python -m autograder.grade`).

Input: a folder `<student>/<assignment>/<notebook>.ipynb` (nbgrader's `submitted` layout)
or an LMS download, a zip of files whose names hold the student and the notebook
(`--pattern` says how). A zip is first collected into `autograder/submitted/`.

Every notebook is graded by a worker (autograder/worker.py) in a sandbox of its own, up to
`--jobs` at a time. This process alone writes the gradebook, one finished notebook at a
time, so parallel grading cannot corrupt it (nbgrader's own autograde cannot run in
parallel: jupyter/nbgrader#174). It writes, under `--out` (default `autograder/`):

    grades.csv                      one row per student x assignment: score, max score
    test_results.csv                one row per test: status, points and failure message
    autograded/<student>/<assignment>/<notebook>.ipynb   the executed notebooks (for the formgrader)
    feedback/<student>/<assignment>/<notebook>.html      what each student gets back

and prints progress while it runs and a summary at the end. Exit status: 0 when every
submission was graded (whatever the scores), 1 when some could not be, 2 for a usage
error (for example `--require-sandbox` without a working sandbox).
"""

import argparse
import csv
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat

from autograder import report
from autograder.sandbox import REPO, sandbox_problem

STATUSES = ["passed", "failed", "error", "timeout", "kernel_died", "missing", "tampered", "needs_manual_grade"]
DEFAULT_PATTERN = r"^(?P<student>[A-Za-z0-9.-]+)_"
UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


class UsageError(Exception):
    pass


def parse_size(text):
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(text))
    if not match or match.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 4GiB, 500MB, 1000000)")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


# --- the course: assignments and their notebooks ------------------------------------------
class Course:
    def __init__(self, root=REPO, gradebook=None):
        self.root = Path(root)
        self.source_dir = self.root / "solutions"
        self.assignments = {}
        for folder in sorted(self.source_dir.iterdir()):
            notebooks = sorted(p.stem for p in folder.glob("*.ipynb"))
            if folder.is_dir() and notebooks:
                self.assignments[folder.name] = notebooks
        self.db_url = "sqlite:///" + str(Path(gradebook or self.root / "autograder" / "gradebook.db").resolve())

    def source(self, assignment, notebook):
        return self.source_dir / assignment / f"{notebook}.ipynb"

    def notebook_owner(self, notebook):
        for assignment, notebooks in self.assignments.items():
            if notebook in notebooks:
                return assignment
        return None

    def ensure_gradebook(self, assignments):
        """Record assignments the gradebook lacks, as `make release` would (course/ untouched)."""
        from nbgrader.api import Gradebook, MissingEntry

        missing = []
        with Gradebook(self.db_url) as gradebook:
            for assignment in assignments:
                try:
                    known = gradebook.find_assignment(assignment)
                    if sorted(n.name for n in known.notebooks) != self.assignments[assignment]:
                        missing.append(assignment)
                except MissingEntry:
                    missing.append(assignment)
        for assignment in missing:
            with tempfile.TemporaryDirectory() as scratch:
                command = [
                    str(Path(sys.executable).parent / "nbgrader"),
                    "generate_assignment",
                    assignment,
                    "--force",
                    "--log-level=ERROR",
                    f"--CourseDirectory.release_directory={scratch}",
                    f"--CourseDirectory.db_url={self.db_url}",
                ]
                done = subprocess.run(command, cwd=self.root, capture_output=True, text=True)
                if done.returncode != 0:
                    raise UsageError(f"could not record {assignment} in the gradebook:\n{done.stderr[-2000:]}")


# --- finding the submissions ----------------------------------------------------------------
def _regular_file(path):
    return path.is_file() and not path.is_symlink()


def collect_zip(zip_path, course, submitted_dir, pattern):
    """Copy an LMS download into `submitted_dir/<student>/<assignment>/<notebook>.ipynb`.

    The notebook is recognised by the course's notebook names inside the file name (the
    longest that matches), the student by `pattern`'s `student` group. Returns the list of
    member names that were skipped, each with the reason.
    """
    regex = re.compile(pattern)
    names = sorted((name for notebooks in course.assignments.values() for name in notebooks), key=len, reverse=True)
    skipped = []
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise UsageError(f"{zip_path} is not a readable zip file: {error}") from None
    with archive:
        for member in archive.infolist():
            base = os.path.basename(member.filename)
            if member.is_dir() or not base:
                continue
            if not base.endswith(".ipynb"):
                skipped.append((member.filename, "not a notebook"))
                continue
            match = regex.search(base)
            notebook = next((name for name in names if name in base), None)
            if match is None or "student" not in match.groupdict() or notebook is None:
                why = (
                    "no student in the name (see --pattern)"
                    if match is None
                    else "no notebook of the course in the name"
                )
                skipped.append((member.filename, why))
                continue
            student = re.sub(r"[^A-Za-z0-9._-]", "_", match.group("student"))
            if member.file_size > 50_000_000:
                skipped.append((member.filename, f"{member.file_size / 1e6:.0f} MB, over the 50 MB limit"))
                continue
            target = submitted_dir / student / course.notebook_owner(notebook) / f"{notebook}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)
    return skipped


def find_submissions(folder, course, assignments):
    """Jobs for every student folder: (student, assignment, notebook, path or None, notes)."""
    found, ignored = [], []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for assignment_dir in sorted(p for p in student_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            assignment = assignment_dir.name
            if assignment not in course.assignments:
                ignored.append(f"{student_dir.name}/{assignment}: not an assignment of the course")
                continue
            if assignments and assignment not in assignments:
                continue
            present = sorted(p for p in assignment_dir.glob("*.ipynb"))
            expected = course.assignments[assignment]
            unclaimed = [p for p in present if p.stem not in expected]
            for notebook in expected:
                path, notes, reason = assignment_dir / f"{notebook}.ipynb", [], None
                if path.is_symlink() or (path.exists() and not _regular_file(path)):
                    path, reason = None, f"{notebook}.ipynb is not a regular file (a link?); not graded"
                elif not path.exists():
                    if len(expected) == 1 and len(unclaimed) == 1 and _regular_file(unclaimed[0]):
                        path = unclaimed[0]
                        notes.append(f"graded {path.name} in place of the missing {notebook}.ipynb (misnamed)")
                    else:
                        path = None
                        reason = f"no {notebook}.ipynb in the submission" + (
                            f" (found: {', '.join(p.name for p in present)})" if present else ""
                        )
                found.append(
                    {
                        "student": student_dir.name,
                        "assignment": assignment,
                        "notebook": notebook,
                        "submission": None if path is None else str(path),
                        "notes": notes,
                        "missing_reason": reason,
                        "timestamp_file": str(assignment_dir / "timestamp.txt"),
                    }
                )
    return found, ignored


# --- running the workers ----------------------------------------------------------------------
class WorkerSlot:
    """One long-lived worker process (`worker --serve`); replaced when it dies or hangs."""

    def __init__(self, log_dir):
        self.process = None
        self.log_dir = log_dir

    def _start(self):
        log = open(self.log_dir / f"worker-{threading.get_ident()}.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.worker", "--serve"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        log.close()

    def run(self, job_path, result_path, timeout):
        if self.process is None or self.process.poll() is not None:
            self._start()
        answer = {}

        def read_answer():
            try:
                self.process.stdin.write(f"{job_path} {result_path}\n")
                self.process.stdin.flush()
                answer["line"] = self.process.stdout.readline()
            except (BrokenPipeError, OSError, ValueError) as error:
                answer["error"] = error

        reader = threading.Thread(target=read_answer, daemon=True)
        reader.start()
        reader.join(timeout)
        if reader.is_alive() or answer.get("line", "").strip() != "done":
            why = "took too long" if reader.is_alive() else "stopped unexpectedly"
            self.kill()
            return why
        return None

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 9)
            except ProcessLookupError:
                pass
            self.process.wait()
        self.process = None


def _fault_result(job, source_path, message):
    source = nbformat.read(source_path, as_version=4)
    from nbgrader import utils

    tests = [
        {
            "test_id": c.metadata["nbgrader"]["grade_id"],
            "points": 0.0,
            "max_points": float(c.metadata["nbgrader"].get("points", 0)),
            "status": "error",
            "message": message,
        }
        for c in source.cells
        if utils.is_grade(c)
    ]
    return {
        "student": job["student"],
        "assignment": job["assignment"],
        "notebook": job["notebook"],
        "repairs": [],
        "stopped": message,
        "tests": tests,
        "notebook_json": None,
        "seconds": 0,
    }


# --- recording the results ---------------------------------------------------------------------
class Recorder:
    """Writes results as they come: gradebook, autograded notebook, feedback page, CSV rows."""

    def __init__(self, course, out_dir):
        self.course = course
        self.out_dir = out_dir
        self.rows = []
        self.by_submission = {}
        self.redactors = {}

    def redactor(self, assignment, notebook):
        key = (assignment, notebook)
        if key not in self.redactors:
            source = nbformat.read(self.course.source(assignment, notebook), as_version=4)
            self.redactors[key] = report.Redactor(report.hidden_lines(source))
        return self.redactors[key]

    def record(self, job, result):
        from nbgrader.api import Gradebook

        student, assignment, notebook_name = result["student"], result["assignment"], result["notebook"]
        redact = self.redactor(assignment, notebook_name)
        for row in result["tests"]:
            row["message"] = redact(row["message"] or "")
        notebook = nbformat.reads(result["notebook_json"], as_version=4) if result.get("notebook_json") else None

        with warnings.catch_warnings(), Gradebook(self.course.db_url) as gradebook:
            warnings.simplefilter("ignore")  # SQLAlchemy's SAWarnings from inside nbgrader's API
            gradebook.update_or_create_student(student)
            kwargs = {}
            timestamp = _read_timestamp(job.get("timestamp_file"))
            if timestamp:
                kwargs["timestamp"] = timestamp
            gradebook.update_or_create_submission(assignment, student, **kwargs)
            for row in result["tests"]:
                grade = gradebook.find_grade(row["test_id"], notebook_name, assignment, student)
                grade.auto_score = row["points"]
                grade.needs_manual_grade = row["points"] is None or grade.manual_score is not None
            gradebook.db.commit()

        graded_dir = self.out_dir / "autograded" / student / assignment
        graded_dir.mkdir(parents=True, exist_ok=True)
        graded_path = graded_dir / f"{notebook_name}.ipynb"
        if notebook is not None:
            nbformat.write(notebook, graded_path)
        elif graded_path.exists():
            graded_path.unlink()
        feedback_dir = self.out_dir / "feedback" / student / assignment
        feedback_dir.mkdir(parents=True, exist_ok=True)
        (feedback_dir / f"{notebook_name}.html").write_text(
            report.feedback_html(result, notebook, redact), encoding="utf-8"
        )

        for row in result["tests"]:
            self.rows.append({"student": student, "assignment": assignment, "notebook": notebook_name, **row})
        total = self.by_submission.setdefault((student, assignment), {"score": 0.0, "max_score": 0.0, "manual": 0})
        total["score"] += sum(row["points"] or 0 for row in result["tests"])
        total["max_score"] += sum(row["max_points"] for row in result["tests"])
        total["manual"] += sum(1 for row in result["tests"] if row["status"] == "needs_manual_grade")

    def write_csvs(self):
        grades_path = self.out_dir / "grades.csv"
        with open(grades_path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "assignment", "score", "max_score", "needs_manual_grade"])
            for (student, assignment), total in sorted(self.by_submission.items()):
                writer.writerow(
                    [student, assignment, f"{total['score']:g}", f"{total['max_score']:g}", total["manual"]]
                )
        tests_path = self.out_dir / "test_results.csv"
        with open(tests_path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["student", "assignment", "notebook", "test_id", "points", "max_points", "status", "message"]
            )
            for row in sorted(self.rows, key=lambda r: (r["student"], r["assignment"], r["notebook"])):
                points = "" if row["points"] is None else f"{row['points']:g}"
                writer.writerow(
                    [
                        row["student"],
                        row["assignment"],
                        row["notebook"],
                        row["test_id"],
                        points,
                        f"{row['max_points']:g}",
                        row["status"],
                        row["message"],
                    ]
                )
        return grades_path, tests_path


def _read_timestamp(path):
    if not path or not os.path.isfile(path) or os.path.islink(path):
        return None
    try:
        text = Path(path).read_text()[:100].strip()
        datetime.datetime.fromisoformat(text.replace(" UTC", "").replace("Z", "+00:00"))
        return text
    except (OSError, ValueError):
        return None


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


def grade(args, stream=sys.stdout):
    """Run a grading; returns (exit status, Recorder)."""
    # nbgrader runs `alembic` (and we run `nbgrader`) from the environment's bin folder.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    course = Course(gradebook=args.gradebook)
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    for assignment in args.assignment:
        if assignment not in course.assignments:
            raise UsageError(f"unknown assignment {assignment!r}; the course has: {', '.join(course.assignments)}")
    problem = sandbox_problem()
    sandboxed = not args.no_sandbox
    if problem and args.require_sandbox:
        raise UsageError(f"--require-sandbox: {problem}")
    if args.no_sandbox or problem:
        banner = "!" * 78
        why = "--no-sandbox was given" if args.no_sandbox else problem
        print(
            f"{banner}\nWARNING: grading WITHOUT a sandbox ({why}).\nStudent code runs with your rights: it can read "
            f"solutions/, the gradebook and other students' work,\nwrite anywhere you can, and use the network. "
            f"Install bubblewrap, or use --require-sandbox.\n{banner}",
            file=sys.stderr,
        )
        sandboxed = False

    submissions = args.submissions
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if not submissions.exists():
        raise UsageError(f"{submissions} does not exist")
    skipped = []
    if submissions.is_file():
        submitted_dir = REPO / "autograder" / "submitted"
        skipped = collect_zip(submissions, course, submitted_dir, args.pattern)
        print(f"Collected {submissions.name} into {submitted_dir}", file=stream)
        submissions = submitted_dir
    jobs, ignored = find_submissions(submissions, course, set(args.assignment))
    if not jobs:
        raise UsageError(f"no submissions found in {submissions} (expected <student>/<assignment>/<notebook>.ipynb)")
    course.ensure_gradebook(sorted({job["assignment"] for job in jobs}))

    limits = {
        "cell_timeout": args.cell_timeout,
        "notebook_timeout": args.notebook_timeout,
        "memory_bytes": args.memory,
        "output_bytes": args.output_limit,
        "file_size_bytes": args.file_size,
        "interrupt_grace": args.interrupt_grace,
    }
    recorder = Recorder(course, out_dir)
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="deadrelu-grade-"))
    os.chmod(scratch, 0o700)
    slots = [WorkerSlot(scratch) for _ in range(min(args.jobs, len(jobs)))]
    free_slots = list(slots)
    lock = threading.Lock()
    failures = 0
    print(
        f"Grading {len(jobs)} notebook(s) of {len({j['student'] for j in jobs})} student(s), {len(slots)} at a time, "
        f"{'in the bubblewrap sandbox' if sandboxed else 'WITHOUT a sandbox'}",
        file=stream,
    )

    def run_one(number, job):
        with lock:
            slot = free_slots.pop()
        try:
            job_dir = scratch / f"job{number:04d}"
            job_dir.mkdir()
            source = course.source(job["assignment"], job["notebook"])
            payload = {
                **job,
                "source": str(source),
                "work_dir": str(job_dir / "work"),
                "sandboxed": sandboxed,
                "limits": limits,
            }
            (job_dir / "job.json").write_text(json.dumps(payload))
            result_path = job_dir / "result.json"
            hard_limit = args.notebook_timeout + 180
            problem = slot.run(job_dir / "job.json", result_path, timeout=hard_limit)
            if problem is None and result_path.exists():
                result = json.loads(result_path.read_text())
            else:
                result = _fault_result(
                    job, source, f"grader worker {problem or 'wrote no result'} (limit {hard_limit:g} s)"
                )
            shutil.rmtree(job_dir, ignore_errors=True)
            return result
        finally:
            with lock:
                free_slots.append(slot)

    progress = None
    if not args.quiet:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(jobs), unit="notebook", desc="grading", file=sys.stderr, dynamic_ncols=True)
    try:
        with ThreadPoolExecutor(max_workers=len(slots)) as pool:
            futures = {pool.submit(run_one, number, job): job for number, job in enumerate(jobs)}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except Exception as error:  # a bug of ours: report it, go on with the others
                    result = _fault_result(
                        job, course.source(job["assignment"], job["notebook"]), f"grader error: {error!r}"
                    )
                try:
                    recorder.record(job, result)
                except Exception as error:
                    failures += 1
                    print(f"ERROR recording {job['student']}/{job['assignment']}: {error!r}", file=sys.stderr)
                    continue
                if any(row["status"] == "error" and row["message"].startswith("grader") for row in result["tests"]):
                    failures += 1
                score = sum(row["points"] or 0 for row in result["tests"])
                max_score = sum(row["max_points"] for row in result["tests"])
                counts = Counter(row["status"] for row in result["tests"])
                line = (
                    f"{job['student']:>16} {job['assignment']:<34} {score:>5g}/{max_score:<4g} "
                    + ", ".join(f"{n} {s}" for s, n in counts.items())
                    + f"  ({result.get('seconds', 0):.1f} s)"
                )
                if result.get("stopped"):
                    line += f"\n{'':>17}stopped: {result['stopped']}"
                if progress is not None:
                    progress.write(line)
                    progress.update(1)
                else:
                    print(line, file=stream)
    finally:
        if progress is not None:
            progress.close()
        for slot in slots:
            slot.kill()
        shutil.rmtree(scratch, ignore_errors=True)

    grades_path, tests_path = recorder.write_csvs()
    elapsed = time.monotonic() - started
    counts = Counter(row["status"] for row in recorder.rows)
    print(
        f"\nGraded {len(jobs)} notebook(s) in {elapsed:.1f} s. Tests: "
        + ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]),
        file=stream,
    )
    for line in ignored:
        print(f"ignored: {line}", file=stream)
    for name, why in skipped:
        print(f"skipped in the zip: {name}: {why}", file=stream)
    print(f"Grades:   {grades_path}\nTests:    {tests_path}\nFeedback: {out_dir / 'feedback'}", file=stream)
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
