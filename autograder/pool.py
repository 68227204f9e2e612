"""Grading on this machine (the default): one long-lived `worker --serve` process per job slot.

Imports cost seconds and a task costs a kernel, so each slot keeps its worker for task after
task, and replaces it when it dies or hangs. The tasks (tasks.py) and results travel as files
in a private scratch folder (a task's JSON in, a results.Result's JSON out). cluster.py is the
same interface on a Dask cluster; grade.py uses whichever it is given.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat

from autograder import tasks
from autograder.results import Result
from autograder.sandbox import REPO

WORKER_GRACE = 180  # seconds a worker gets beyond the notebook's limit before it is killed


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


class WorkerPool:
    """`--jobs` worker slots and a private scratch folder; `grade(number, task)` returns a results.Result."""

    def __init__(self, size, notebook_timeout):
        self.notebook_timeout = notebook_timeout
        self.scratch = Path(tempfile.mkdtemp(prefix="deadrelu-grade-"))
        os.chmod(self.scratch, 0o700)
        self.slots = [WorkerSlot(self.scratch) for _ in range(size)]
        self.free_slots = list(self.slots)
        self.lock = threading.Lock()

    def describe(self):
        return f"{len(self.slots)} at a time on this machine"

    def results(self, numbered_tasks):
        """(task, Result or exception) for every task, as each finishes."""
        with ThreadPoolExecutor(max_workers=len(self.slots)) as executor:
            futures = {executor.submit(self.grade, number, task): task for number, task in numbered_tasks}
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except Exception as error:  # a bug of ours: reported by the grading run, which goes on
                    yield futures[future], error

    def grade(self, number, task):
        with self.lock:
            slot = self.free_slots.pop()
        try:
            return self._grade_in(slot, self.scratch / f"task{number:04d}", task)
        finally:
            with self.lock:
                self.free_slots.append(slot)

    def _grade_in(self, slot, task_dir, task):
        task_dir.mkdir()
        (task_dir / "task.json").write_text(tasks.to_json(task))
        result_path = task_dir / "result.json"
        hard_limit = self.notebook_timeout + WORKER_GRACE
        problem = slot.run(task_dir / "task.json", result_path, timeout=hard_limit)
        if problem is None and result_path.exists():
            result = Result.from_json(result_path.read_text())
        else:
            message = f"grader worker {problem or 'wrote no result'} (limit {hard_limit:g} s)"
            result = fault(task, message)
        shutil.rmtree(task_dir, ignore_errors=True)
        return result

    def close(self):
        for slot in self.slots:
            slot.kill()
        shutil.rmtree(self.scratch, ignore_errors=True)


def fault(task, message):
    """The Result of a task that could not be graded on our side (every test an error, saying so)."""
    source = nbformat.reads(task["source_bytes"].decode("utf-8"), as_version=4)
    return Result.grader_fault(task, source, message)
