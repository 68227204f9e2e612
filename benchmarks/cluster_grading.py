"""How grading on a Dask cluster (`--scheduler`) compares with grading on this machine (`--jobs`).

    .venv/bin/python benchmarks/cluster_grading.py [--students 6] [--assignment 01_relu_math] [--trivial 200]

One run on this machine. The same class (grading_throughput.make_class: half solved, half the
untouched student version) is graded three ways, each `python -m autograder.grade ... --require-sandbox`
as a subprocess into a fresh out folder and a fresh gradebook (the assignment recorded in it
beforehand, untimed), timed from start to finish:

- local:         `--jobs <cores>`, the default local worker pool;
- cluster cold:  `--scheduler` of a Dask cluster of <cores> workers (tests/cluster_tools.DaskProcesses:
                 `dask scheduler` + `dask worker --nthreads 1` processes on 127.0.0.1) just started, so the
                 workers still import the grader on their first task;
- cluster warm:  the same again on the same cluster (imports done).

Then the per-task cost of the cluster itself: `--trivial` tasks whose submission is missing (run_task
returns at once, no kernel) are run (a) in this process one after another with tasks.run_task and
(b) through the cluster with client.map(cluster.grade_on_worker) + client.gather, after a warm-up round.

Printed: seconds and seconds per notebook for the three gradings and the cluster/local ratios; the
trivial tasks' milliseconds per task both ways and the overhead per task of a worker; and an estimate of a 500-student
class (9 notebooks each) on 2, 16 and 64 workers from the measured per-notebook time and overhead.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cluster_tools import DaskProcesses  # noqa: E402
from grading_throughput import make_class  # noqa: E402

ESTIMATE_STUDENTS = 500
ESTIMATE_NOTEBOOKS = 9
ESTIMATE_WORKERS = (2, 16, 64)
WARM_UP_TASKS = 4


def time_grading(folder, scratch, name, assignment, how):
    """Seconds for one `python -m autograder.grade` run; `how` is ["--jobs", N] or ["--scheduler", ADDRESS]."""
    from autograder.grade import Course

    gradebook = scratch / f"{name}.db"
    Course(gradebook=gradebook).ensure_gradebook([assignment])  # untimed, as in grading_throughput.time_harness
    command = [
        sys.executable,
        "-m",
        "autograder.grade",
        str(folder),
        *how,
        "--out",
        str(scratch / f"{name}-out"),
        "--gradebook",
        str(gradebook),
        "--require-sandbox",
        "--quiet",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"grading ({name}) failed with exit status {done.returncode}: {' '.join(command)}\n"
            f"--- stdout ---\n{done.stdout[-4000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
        )
    return seconds


def trivial_tasks(assignment, count):
    """`count` tasks without a submission: run_task answers them at once, without a kernel."""
    from autograder import grade, tasks

    limits = grade._limits(grade.build_parser().parse_args([]))
    source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    made = []
    for number in range(count):
        job = {
            "student": f"s{number}",
            "assignment": assignment,
            "notebook": assignment,
            "notes": [],
            "submission": None,
            "missing_reason": "benchmark: no notebook",
            "timestamp_file": None,
        }
        made.append(tasks.make_task(job, source, sandboxed=False, limits=limits))
    return made


def time_trivial_local(task_list):
    from autograder.tasks import run_task

    run_task(task_list[0])  # warm-up: grade_job's imports
    started = time.perf_counter()
    for task in task_list:
        run_task(task)
    return time.perf_counter() - started


def time_trivial_cluster(cluster, task_list):
    from autograder.cluster import grade_on_worker

    with cluster.client() as client, warnings.catch_warnings():
        # client.map sends all tasks in one graph; Dask warns that it is large (each task carries the source
        # notebook's bytes). The size is printed with the results instead.
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        client.gather(client.map(grade_on_worker, task_list[:WARM_UP_TASKS], pure=False))  # warm-up round
        started = time.perf_counter()
        futures = client.map(grade_on_worker, task_list, pure=False)
        client.gather(futures)
        seconds = time.perf_counter() - started
        del futures
    return seconds


def task_bytes(task):
    return sum(len(task[field] or b"") for field in ("source_bytes", "submission_bytes"))


def print_estimate(per_notebook, overhead, assignment):
    total = ESTIMATE_STUDENTS * ESTIMATE_NOTEBOOKS
    print()
    print(f"Estimate for {ESTIMATE_STUDENTS} students x {ESTIMATE_NOTEBOOKS} notebooks = {total} notebooks")
    print("  total CPU-seconds = students x notebooks x per-notebook seconds")
    print("  wall time on W workers ~ CPU-seconds / W + students x notebooks x overhead / W")
    print(f"  overhead = {overhead * 1000:.1f} ms per task (the overhead per task above, floored at 0)")
    print(
        f"  per-notebook seconds: {per_notebook:.2f} s is {assignment}'s measured time (local --jobs wall time x"
        " cores / notebooks,\n  grading run's start-up included); real notebooks take 10-60 s, so 10 s and 60 s"
        " bracket it"
    )
    cases = [
        (f"{assignment} ({per_notebook:.2f} s)", per_notebook),
        ("10 s per notebook", 10.0),
        ("60 s per notebook", 60.0),
    ]
    header = "".join(f"{f'W={workers}':>14}" for workers in ESTIMATE_WORKERS)
    print(f"  {'per notebook':<28}{'CPU-hours':>10}{header}")
    for label, seconds in cases:
        cpu_seconds = total * seconds
        walls = "".join(
            f"{format_duration((cpu_seconds + total * overhead) / workers):>14}" for workers in ESTIMATE_WORKERS
        )
        print(f"  {label:<28}{cpu_seconds / 3600:>10.1f}{walls}")


def format_duration(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--assignment", default="01_relu_math")
    parser.add_argument("--trivial", type=int, default=200, help="tasks without a kernel, for the per-task overhead")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    if shutil.which("dask") is None:
        raise SystemExit(f"`dask` is not installed in {Path(sys.executable).parent} (make env installs it)")
    scratch = Path(tempfile.mkdtemp(prefix="cluster-benchmark-"))
    cluster = None
    try:
        folder = scratch / "submitted"
        make_class(folder, args.assignment, args.students)
        print(f"{args.students} submissions of {args.assignment} (half solved), {cores} cores, {cores} Dask workers")
        print(f"load average at the start (1/5/15 min): {' '.join(f'{load:.2f}' for load in os.getloadavg())}")

        results = {}
        results[f"local --jobs {cores}"] = time_grading(
            folder, scratch, "local", args.assignment, ["--jobs", str(cores)]
        )
        cluster = DaskProcesses(scratch / "dask", workers=cores)
        try:
            cluster.wait_for_workers(cores)
        except Exception as error:
            raise SystemExit(f"the Dask cluster did not start: {error}\n{cluster.log('scheduler')[-2000:]}")
        scheduler = ["--scheduler", cluster.address]
        results["cluster, cold workers"] = time_grading(folder, scratch, "cluster-cold", args.assignment, scheduler)
        results["cluster, warm workers"] = time_grading(folder, scratch, "cluster-warm", args.assignment, scheduler)

        local = results[f"local --jobs {cores}"]
        print()
        print(f"  {'grading':<26}{'seconds':>9}{'s/notebook':>12}{'vs local':>10}")
        for name, seconds in results.items():
            print(f"  {name:<26}{seconds:>9.1f}{seconds / args.students:>12.2f}{seconds / local:>9.2f}x")
        print("  (s/notebook = wall seconds / notebooks, with all workers busy at once; the cold run includes")
        print("   each worker's first imports, the warm run is the same class graded again on the same workers)")

        task_list = trivial_tasks(args.assignment, args.trivial)
        trivial_local = time_trivial_local(task_list)
        trivial_cluster = time_trivial_cluster(cluster, task_list)
        local_ms = trivial_local / args.trivial * 1000
        cluster_ms = trivial_cluster / args.trivial * 1000
        print()
        print(f"Per-task overhead: {args.trivial} tasks without a kernel (missing submission)")
        print(f"  run_task in this process, one after another  {trivial_local:7.2f} s  {local_ms:7.2f} ms per task")
        print(
            f"  client.map(grade_on_worker) + gather         {trivial_cluster:7.2f} s  {cluster_ms:7.2f} ms per task"
            f" ({cores} workers in parallel)"
        )
        # Worker time per task on the cluster: its wall time with `cores` workers busy at once, times `cores`.
        worker_ms = cluster_ms * cores
        print(f"  per task on a worker (wall x {cores} workers)             {worker_ms:7.2f} ms per task")
        print(f"  overhead per task: worker time - in-process time          {worker_ms - local_ms:+7.2f} ms")
        print("  (the scheduler's round trip and the task's transfer; compare with seconds per graded notebook)")
        print(
            f"  each task carries {task_bytes(task_list[0]) / 1024:.0f} KiB (the source notebook; a graded task also"
            " carries the submission)"
        )

        print()
        print(
            f"load average at the end (1/5/15 min): {' '.join(f'{load:.2f}' for load in os.getloadavg())}"
            f" on {cores} cores; well above {cores} means other work shared the machine and the times are inflated"
        )

        per_notebook = local * cores / args.students  # seconds of one core for one notebook
        print_estimate(per_notebook, max(0.0, (worker_ms - local_ms) / 1000), args.assignment)
    finally:
        if cluster is not None:
            cluster.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
