"""A grading task: everything the grading of one notebook needs, carried by value.

A task holds the student's notebook as bytes and the instructor's source notebook (with its
hidden tests) as bytes, the limits, and whether the kernel must run in the sandbox. Nothing
in it is a path on the coordinator's machine, so the same task runs on this machine (pool.py,
the default) or on any worker of a Dask cluster (cluster.py) that has the course's Python
environment and bubblewrap; no shared file system is needed.

`run_task` is the one function that grades a task, wherever it runs: it writes the two
notebooks into a private scratch folder, grades them (worker.grade_job) and removes the
folder. It returns a results.Result; it never touches the gradebook.

`task_key` fingerprints what a grade depends on (the submission's bytes, the source's bytes,
the limits and the sandbox), so a rerun after an interruption skips what is already recorded
(recording.py) and regrades a submission whose bytes or tests changed.
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

from autograder.sandbox import sandbox_problem
from autograder.submissions import read_submission_secret, read_timestamp

BYTES_FIELDS = ("source_bytes", "submission_bytes")


class TaskRefused(RuntimeError):
    """A worker cannot grade this task as asked (for example: no sandbox where one is required).

    The task is not graded and nothing is recorded, so the next run grades it again.
    """


def task_key(submission_bytes, source_bytes, limits, sandboxed):
    """The fingerprint of a grade: the same key means the same grade would come out."""
    digest = hashlib.sha256()
    for part in (submission_bytes or b"<no submission>", source_bytes):
        digest.update(hashlib.sha256(part).digest())
    digest.update(json.dumps({"limits": limits, "sandboxed": sandboxed}, sort_keys=True).encode())
    return digest.hexdigest()


def make_task(job, source_path, sandboxed, limits):
    """The self-contained task of one job of submissions.find_submissions."""
    source_bytes = Path(source_path).read_bytes()
    submission_bytes, missing_reason = None, job.get("missing_reason")
    if job.get("submission") is not None:
        try:
            submission_bytes = Path(job["submission"]).read_bytes()
        except OSError as error:
            missing_reason = f"the submitted file cannot be read: {error.strerror or error}"
    return {
        "student": job["student"],
        "assignment": job["assignment"],
        "notebook": job["notebook"],
        "notes": list(job.get("notes", [])),
        "missing_reason": missing_reason,
        "timestamp": read_timestamp(job.get("timestamp_file")),  # for the gradebook; not part of the key
        # for `nbgrader release_feedback` (written beside the feedback page); not part of the key either
        "submission_secret": read_submission_secret(Path(job["timestamp_file"]).parent)
        if job.get("timestamp_file")
        else None,
        "submitted_as": Path(job["submission"]).stem if job.get("submission") else None,
        "submission_bytes": submission_bytes,
        "source_bytes": source_bytes,
        "sandboxed": bool(sandboxed),
        "limits": dict(limits),
        "key": task_key(submission_bytes, source_bytes, limits, bool(sandboxed)),
    }


def describe(task):
    """How messages name a task: `ada/01_relu_math/01_relu_math`."""
    return f"{task['student']}/{task['assignment']}/{task['notebook']}"


# --- tasks as JSON (the local pool passes them to its workers as files) --------------------------
def to_json(task):
    data = dict(task)
    for field in BYTES_FIELDS:
        if data[field] is not None:
            data[field] = base64.b64encode(data[field]).decode("ascii")
    return json.dumps(data)


def from_json(text):
    data = json.loads(text)
    for field in BYTES_FIELDS:
        if data[field] is not None:
            data[field] = base64.b64decode(data[field])
    return data


# --- grading a task, wherever it runs ---------------------------------------------------------
def worker_name():
    """Who graded a task, as the progress lines and the summary show it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_task(task, scratch=None, worker=None):
    """Grade `task` in a private folder under `scratch` (default: the system's temporary folder).

    Raises TaskRefused when the task asks for the sandbox and this machine has none: a sandboxed
    grading never quietly becomes an unsandboxed one on some worker.
    """
    from autograder.worker import grade_job  # imported here: the cluster's workers import it once, on first use

    if task["sandboxed"] and sandbox_problem():
        raise TaskRefused(f"worker {worker or worker_name()} cannot grade in the sandbox: {sandbox_problem()}")
    folder = Path(tempfile.mkdtemp(prefix="task-", dir=scratch))
    try:
        os.chmod(folder, 0o700)
        source = folder / "source" / f"{task['notebook']}.ipynb"
        source.parent.mkdir()
        source.write_bytes(task["source_bytes"])
        submission = None
        if task["submission_bytes"] is not None:
            submission = folder / "submitted.ipynb"
            submission.write_bytes(task["submission_bytes"])
        job = {
            "student": task["student"],
            "assignment": task["assignment"],
            "notebook": task["notebook"],
            "notes": task["notes"],
            "missing_reason": task["missing_reason"],
            "submission": None if submission is None else str(submission),
            "source": str(source),
            "work_dir": str(folder / "work"),
            "sandboxed": task["sandboxed"],
            "limits": task["limits"],
        }
        result = grade_job(job)
        result.worker = worker or worker_name()
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)
