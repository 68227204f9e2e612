"""The worker processes of a grading run: one long-lived `worker --serve` per job slot.

Imports cost seconds and a job costs a kernel, so each slot keeps its worker for job after
job, and replaces it when it dies or hangs. The jobs and results travel as files in a
private scratch folder (a job's JSON in, a results.Result's JSON out).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import nbformat

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
    """`--jobs` worker slots and a private scratch folder; `grade(job)` returns a results.Result."""

    def __init__(self, course, size, sandboxed, limits):
        self.course = course
        self.sandboxed = sandboxed
        self.limits = limits
        self.scratch = Path(tempfile.mkdtemp(prefix="deadrelu-grade-"))
        os.chmod(self.scratch, 0o700)
        self.slots = [WorkerSlot(self.scratch) for _ in range(size)]
        self.free_slots = list(self.slots)
        self.lock = threading.Lock()

    def grade(self, number, job):
        with self.lock:
            slot = self.free_slots.pop()
        try:
            return self._grade_in(slot, self.scratch / f"job{number:04d}", job)
        finally:
            with self.lock:
                self.free_slots.append(slot)

    def _grade_in(self, slot, job_dir, job):
        job_dir.mkdir()
        source = self.course.source(job["assignment"], job["notebook"])
        payload = {
            **job,
            "source": str(source),
            "work_dir": str(job_dir / "work"),
            "sandboxed": self.sandboxed,
            "limits": self.limits,
        }
        (job_dir / "job.json").write_text(json.dumps(payload))
        result_path = job_dir / "result.json"
        hard_limit = self.limits["notebook_timeout"] + WORKER_GRACE
        problem = slot.run(job_dir / "job.json", result_path, timeout=hard_limit)
        if problem is None and result_path.exists():
            result = Result.from_json(result_path.read_text())
        else:
            message = f"grader worker {problem or 'wrote no result'} (limit {hard_limit:g} s)"
            result = self.fault(job, message)
        shutil.rmtree(job_dir, ignore_errors=True)
        return result

    def fault(self, job, message):
        source = nbformat.read(self.course.source(job["assignment"], job["notebook"]), as_version=4)
        return Result.grader_fault(job, source, message)

    def close(self):
        for slot in self.slots:
            slot.kill()
        shutil.rmtree(self.scratch, ignore_errors=True)
