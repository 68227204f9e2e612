"""How fast `make grade` grades a class, against stock nbgrader and against bare execution.

    .venv/bin/python benchmarks/grading_throughput.py [--students 20] [--assignment 01_relu_math]

One run, three ways of grading the same submissions (half solved, half the untouched
student version), each timed from start to finish:

- stock:  `nbgrader autograde <assignment>` over all submissions, one at a time, in a
          scratch course configured by this course's nbgrader config;
- bare:   the notebooks the harness grades, executed one after another by nbclient in one
          process with no sandbox, probes or reports (the cost of running the code at all);
- harness: `python -m autograder.grade` with --jobs 1 and with --jobs <cores>, sandboxed.

Printed: seconds for each and the ratios the harness is held to (stock / harness at all
cores: target >= 1.7 on 2 cores; harness at 1 job / bare: target <= 1.3).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from autograder.assemble import assemble  # noqa: E402
from course_tools import ScratchCourse  # noqa: E402


def solution_answers(assignment):
    answers = {}
    for cell in nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            answers[meta["grade_id"]] = "\n".join(line for line in cell.source.split("\n") if "### " not in line)
    return answers


def make_class(folder, assignment, students):
    answers = solution_answers(assignment)
    release = ROOT / "course" / assignment / f"{assignment}.ipynb"
    paths = []
    for number in range(students):
        notebook = nbformat.read(release, as_version=4)
        if number % 2 == 0:
            for cell in notebook.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id in answers:
                    cell.source = answers[grade_id]
        path = folder / f"student{number:02d}" / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, path)
        paths.append(path)
    return paths


def time_stock(submissions, assignment, scratch):
    course = ScratchCourse(scratch / "stock", assignments=[assignment])
    course.release()
    for path in submissions:
        course.submit(path.parent.parent.name, assignment, path)
    started = time.perf_counter()
    course.nbgrader("autograde", "--force", assignment)
    return time.perf_counter() - started


def time_bare(submissions, assignment):
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    started = time.perf_counter()
    for path in submissions:
        notebook, _ = assemble(source, nbformat.read(path, as_version=4))
        with tempfile.TemporaryDirectory() as work:
            NotebookClient(
                notebook, timeout=120, allow_errors=True, kernel_name="deadrelu", resources={"metadata": {"path": work}}
            ).execute()
    return time.perf_counter() - started


def time_harness(folder, jobs, scratch, assignment):
    from autograder.grade import Course

    # As for stock nbgrader (whose release is not timed): the assignment is in the gradebook already.
    Course(gradebook=scratch / f"harness-{jobs}.db").ensure_gradebook([assignment])
    out = scratch / f"harness-{jobs}"
    command = [
        sys.executable,
        "-m",
        "autograder.grade",
        str(folder),
        "--jobs",
        str(jobs),
        "--out",
        str(out),
        "--gradebook",
        str(scratch / f"harness-{jobs}.db"),
        "--require-sandbox",
        "--quiet",
    ]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--assignment", default="01_relu_math")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    scratch = Path(tempfile.mkdtemp(prefix="grading-benchmark-"))
    try:
        folder = scratch / "submitted"
        submissions = make_class(folder, args.assignment, args.students)
        print(f"{args.students} submissions of {args.assignment} (half solved), {cores} cores")
        results = {}
        results["stock nbgrader autograde"] = time_stock(submissions, args.assignment, scratch)
        results["bare nbclient, sequential"] = time_bare(submissions, args.assignment)
        results["harness --jobs 1"] = time_harness(folder, 1, scratch, args.assignment)
        results[f"harness --jobs {cores}"] = time_harness(folder, cores, scratch, args.assignment)
        for name, seconds in results.items():
            print(f"  {name:<28} {seconds:7.1f} s   {seconds / args.students:5.2f} s per notebook")
        stock = results["stock nbgrader autograde"]
        bare = results["bare nbclient, sequential"]
        all_cores = results[f"harness --jobs {cores}"]
        print(f"throughput, harness --jobs {cores} vs stock: {stock / all_cores:.2f}x (target >= 1.7)")
        print(f"overhead, harness --jobs 1 vs bare:  {results['harness --jobs 1'] / bare:.2f}x (target <= 1.3)")
        print(f"overhead, harness --jobs {cores} vs bare:  {results[f'harness --jobs {cores}'] / bare:.2f}x")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
