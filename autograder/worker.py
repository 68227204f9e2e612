"""Grade one submitted notebook: `grade_job`, used by tasks.run_task on this machine or a cluster's worker.

On this machine the grading run (autograder/grade.py) keeps worker processes
(`python -m autograder.worker --serve`, pool.py), one per job slot, each grading task after
task; on a Dask cluster (cluster.py) the cluster's workers call tasks.run_task themselves.
A worker rebuilds the notebook from the student's answers and the instructor's source
(assemble.py), starts an IPython kernel inside the sandbox (sandbox.py), runs the cells in
order with a time limit per cell and a cap on output, asks the integrity probe
(kernel_startup.py) before and after every test cell whether anything a test relies on was
replaced, and scores every test. It writes one JSON result; it never touches the gradebook
(the grading run alone does, one result at a time), so workers can run side by side.

Faults stay local: a test that fails or raises costs that test; a cell past its time limit
is interrupted and the run goes on, unless the kernel ignores the interrupt, in which case
the kernel is stopped and the tests from there on are reported `timeout`; a kernel that
dies (os._exit, a crash, the memory limit) costs the tests from that cell on (`kernel_died`).
Earlier tests keep their points either way.
"""

import asyncio
import ast
import copy
import hmac
import json
import secrets
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbgrader import utils

from autograder.assemble import SubmissionUnreadable, assemble, read_submission
from autograder.cells import grade_id, is_graded, is_test
from autograder.integrity import sign
from autograder.results import Outcome, Result, Status, TestResult
from autograder.sandbox import integrity_file, kernel_command, startup_file

TIMEOUT_ENAME = "CellTimeoutError"
PROBE_TIMEOUT = 60  # seconds the integrity probe may take to answer


class GraderFault(RuntimeError):
    """Something on the grader's side went wrong (not the student's doing)."""


class GradingKernelManager(AsyncKernelManager):
    """A kernel started through `sandbox.kernel_command`, talking over Unix sockets.

    Unix sockets in the working copy reach a kernel in another network namespace, where
    TCP on loopback would not. Interrupts go as messages: a signal would reach bubblewrap,
    not the kernel.
    """

    def __init__(self, work_dir, memory_bytes, file_size_bytes, sandboxed, **kwargs):
        runtime = Path(work_dir) / ".kernel"
        runtime.mkdir(parents=True, exist_ok=True)
        super().__init__(
            transport="ipc",
            ip=str(runtime / "ipc"),
            connection_file=str(runtime / "connection.json"),
            **kwargs,
        )
        argv = kernel_command(
            work_dir,
            ["-f", "{connection_file}"],
            memory_bytes=memory_bytes,
            file_size_bytes=file_size_bytes,
            sandboxed=sandboxed,
        )
        self._kernel_spec = KernelSpec(
            argv=argv, display_name="grading", language="python", interrupt_mode="message", env={}
        )


class LimitedOutputClient(NotebookClient):
    """nbclient's client with a cap on how much output one cell may keep."""

    def __init__(self, *args, output_limit, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_limit = output_limit
        self.output_bytes = {}
        self.dropped_bytes = {}

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {})))
        used = self.output_bytes.get(cell_index, 0)
        if used + size > self.output_limit:
            self.dropped_bytes[cell_index] = self.dropped_bytes.get(cell_index, 0) + size
            return None
        self.output_bytes[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)


def _error_output(ename, evalue):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _message_of(cell):
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output.get("ename", "Error"), str(output.get("evalue", ""))
    return None, None


def score_test(cell):
    """(status, points, message) of an executed test cell, from its outputs.

    As nbgrader, except that stderr costs nothing: an error output scores 0, a number
    returned by the cell is partial credit, anything else is full marks.
    """
    max_points = float(cell.metadata["nbgrader"]["points"])
    ename, evalue = _message_of(cell)
    if ename == TIMEOUT_ENAME:
        return Status.TIMEOUT, 0.0, evalue
    if ename is not None:
        status = Status.FAILED if ename == "AssertionError" else Status.ERROR
        message = evalue if ename == "AssertionError" else f"{ename}: {evalue}"
        return status, 0.0, (message or ename)[:2000]
    quiet = copy.deepcopy(cell)
    quiet.outputs = [o for o in quiet.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    points, _ = utils.determine_grade(quiet)
    if points < max_points:
        return Status.FAILED, float(points), f"partial credit: {points:g} of {max_points:g}"
    return Status.PASSED, float(points), ""


def _where(index, cell):
    """How messages name a cell: `cell 7 ('test_relu')`."""
    return f"cell {index}" + (f" ({grade_id(cell)!r})" if grade_id(cell) else "")


async def _request(kc, seconds, **execute_args):
    """Send an execute request and wait up to `seconds` for its reply (asyncio.TimeoutError after)."""
    msg_id = kc.execute("", silent=True, store_history=False, **execute_args)
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise asyncio.TimeoutError
        reply = await kc.get_shell_msg(timeout=remaining)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


class NotebookRun:
    """Where the run of one notebook stands: the tests scored so far, and why it stopped, if it did.

    Once stopped, every later test gets the stop's status and message, and no points.
    """

    def __init__(self, notebook, result, notebook_timeout):
        self.notebook = notebook
        self.result = result
        self.deadline = time.monotonic() + notebook_timeout
        self.tests = {}  # cell index -> TestResult
        self.stop_status, self.stop_message = None, None
        self.last_label = "the start"

    @property
    def stopped(self):
        return self.stop_status is not None

    def stop(self, status, message, why):
        """Stop the run: `message` for the tests not run, `why` for the result (and the feedback)."""
        self.stop_status, self.stop_message = status, message
        self.result.stopped = why

    def score(self, index, cell, status, points, message):
        self.tests[index] = TestResult.for_cell(cell, status, points, message)

    def skip(self, index, cell):
        if is_test(cell):
            self.score(index, cell, self.stop_status, 0.0, self.stop_message)

    def finished(self, index, cell):
        self.last_label = _where(index, cell)

    def all_tests(self):
        """Every graded cell's result in notebook order: answers to grade by hand, tests never reached."""
        for index, cell in enumerate(self.notebook.cells):
            if not is_graded(cell) or index in self.tests:
                continue
            if utils.is_solution(cell) or cell.cell_type != "code":
                self.score(index, cell, Status.NEEDS_MANUAL_GRADE, None, "graded by hand")
            else:
                self.score(index, cell, self.stop_status or Status.ERROR, 0.0, self.stop_message or "not run")
        return [self.tests[index] for index in sorted(self.tests)]


class Grader:
    def __init__(self, job):
        self.job = job
        self.limits = job["limits"]
        self.work_dir = Path(job["work_dir"])
        self.nonce_counter = 0
        self.secret = secrets.token_bytes(32)

    # --- the integrity probe -------------------------------------------------------------
    async def probe(self, kc):
        """What the probe in the kernel says was replaced (a list of sentences)."""
        self.nonce_counter += 1
        nonce = f"{secrets.token_hex(8)}-{self.nonce_counter}"
        expression = f"__import__('_grader_probe').probe({nonce!r})"
        reply = await _request(kc, PROBE_TIMEOUT, user_expressions={"p": expression})
        result = reply["content"].get("user_expressions", {}).get("p", {})
        try:
            body, signature = ast.literal_eval(result["data"]["text/plain"])
            if not isinstance(body, str) or not isinstance(signature, str):
                raise TypeError("not two strings")
        except Exception:
            return ["the grader's integrity probe was removed or replaced"]
        if not hmac.compare_digest(sign(self.secret, nonce, body).encode(), signature.encode()):
            return ["the grader's integrity probe was replaced"]
        return [line for line in body.split("\n") if line]

    async def responsive(self, kc, seconds):
        """Whether the kernel answers a trivial request within `seconds` (after an interrupt)."""
        try:
            await _request(kc, seconds)
            return True
        except Exception:
            return False

    async def check_baseline(self, kc):
        """The probe must answer, and find nothing, before any student code has run."""
        try:
            baseline = await self.probe(kc)
        except Exception as error:
            raise GraderFault(
                f"the grading kernel did not start its integrity probe ({type(error).__name__})"
            ) from None
        if baseline:
            raise GraderFault("the grading kernel's integrity snapshot is inconsistent: " + "; ".join(baseline))

    # --- one notebook ---------------------------------------------------------------------
    async def run(self):
        """The Result of the job: the submission assembled, run and scored (or why it could not be)."""
        job = self.job
        started = time.monotonic()
        source = nbformat.read(job["source"], as_version=4)
        notes = list(job.get("notes", []))
        if job.get("submission") is None:
            reason = job.get("missing_reason", "no notebook submitted")
            result = Result.unrun(job, source, Outcome.NOT_SUBMITTED, Status.MISSING, reason, repairs=notes)
            return self._finish(result, started)
        try:
            submission = read_submission(Path(job["submission"]))
        except SubmissionUnreadable as error:
            result = Result.unrun(job, source, Outcome.UNREADABLE, Status.MISSING, str(error), repairs=notes)
            return self._finish(result, started)
        notebook, repairs = assemble(source, submission)
        result = Result.for_job(job, repairs=notes + repairs)
        await self.execute(notebook, result)
        result.notebook_json = nbformat.writes(notebook)
        return self._finish(result, started)

    def _finish(self, result, started):
        result.seconds = round(time.monotonic() - started, 2)
        return result

    def _exec_line(self, secret_path):
        sandboxed = self.job["sandboxed"]
        return (
            f"__grader_secret_path__ = {str(secret_path)!r}; "
            f"__grader_integrity_path__ = {integrity_file(sandboxed)!r}; "
            f"exec(compile(open({startup_file(sandboxed)!r}).read(), 'grader-start-up', 'exec')); "
            "del __grader_secret_path__, __grader_integrity_path__"
        )

    def _client(self, notebook, km, secret_path):
        limits = self.limits
        return LimitedOutputClient(
            notebook,
            km=km,
            timeout=int(limits["cell_timeout"]),
            interrupt_on_timeout=True,
            error_on_timeout={
                "ename": TIMEOUT_ENAME,
                "evalue": f"the cell ran past the {limits['cell_timeout']:g} s limit and was interrupted",
                "traceback": [],
            },
            allow_errors=True,
            startup_timeout=90,
            iopub_timeout=10,
            record_timing=False,
            output_limit=int(limits["output_bytes"]),
            extra_arguments=[
                "--HistoryManager.hist_file=:memory:",
                f"--IPKernelApp.exec_lines={self._exec_line(secret_path)}",
            ],
            resources={"metadata": {"path": str(self.work_dir)}},
        )

    async def execute(self, notebook, result):
        """Run `notebook` in a fresh sandboxed kernel, cell by cell; sets result.tests (and .stopped)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        secret_path = self.work_dir / ".grader_secret"
        secret_path.write_bytes(self.secret)
        km = GradingKernelManager(
            self.work_dir,
            memory_bytes=int(self.limits["memory_bytes"]),
            file_size_bytes=int(self.limits["file_size_bytes"]),
            sandboxed=self.job["sandboxed"],
        )
        client = self._client(notebook, km, secret_path)
        replies = {}

        async def remember_reply(cell, cell_index, execute_reply):
            replies[cell_index] = execute_reply

        client.on_cell_executed = remember_reply
        run = NotebookRun(notebook, result, float(self.limits["notebook_timeout"]))
        log = None
        try:
            log = open(self.work_dir / ".kernel" / "kernel.log", "wb")
            async with client.async_setup_kernel(stdout=log, stderr=log):
                await self.check_baseline(client.kc)
                for index, cell in enumerate(notebook.cells):
                    if cell.cell_type == "code":
                        await self.run_cell(client, km, run, index, cell, replies)
        except GraderFault:
            raise
        except DeadKernelError:
            if not run.stopped:
                message = f"the kernel died after {run.last_label}"
                run.stop(Status.KERNEL_DIED, f"not run: {message}", message)
        except Exception as error:  # the kernel never came up, stopped answering the probe, ...
            if not run.stopped:
                await self._lost_kernel(km, run, error)
        finally:
            secret_path.unlink(missing_ok=True)
            await _shut_down(km)
            if log is not None:
                log.close()
        result.tests = run.all_tests()

    async def _lost_kernel(self, km, run, error):
        try:
            alive = await km.is_alive()
        except Exception:
            alive = False
        what = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        status, why = (
            (Status.TIMEOUT, "the kernel stopped answering") if alive else (Status.KERNEL_DIED, "the kernel died")
        )
        stopped = f"{why} after {run.last_label} ({what})"[:500]
        run.stop(status, f"not run: {stopped}", stopped)

    # --- one cell --------------------------------------------------------------------------
    async def run_cell(self, client, km, run, index, cell, replies):
        """Run one code cell (unless the run has stopped) and score it if it is a test."""
        if run.stopped:
            run.skip(index, cell)
            return
        if time.monotonic() > run.deadline:
            limit = self.limits["notebook_timeout"]
            run.stop(
                Status.TIMEOUT,
                f"not run: the notebook ran past its {limit:g} s limit before this cell",
                f"stopped before cell {index} ({run.last_label}): notebook time limit",
            )
            run.skip(index, cell)
            return
        before = await self.probe(client.kc) if is_test(cell) else []
        try:
            await client.async_execute_cell(cell, index)
        except DeadKernelError:
            self._kernel_died_in(run, index, cell)
            return
        self._note_dropped_output(client, index, cell)
        reply = replies.get(index, {}).get("content", {})
        timed_out = reply.get("ename") == TIMEOUT_ENAME
        if timed_out and not await self._survived_timeout(client, km, run, index, cell, reply):
            return
        if is_test(cell):
            after = await self.probe(client.kc)
            self._score(run, index, cell, sorted(set(before) | set(after)), timed_out, reply)
        run.finished(index, cell)

    def _kernel_died_in(self, run, index, cell):
        where = _where(index, cell)
        run.stop(
            Status.KERNEL_DIED,
            f"not run: the kernel died in {where}",
            f"the kernel died in {where}, after {run.last_label}",
        )
        evalue = "the kernel died while this cell ran (crash, os._exit or the memory limit)"
        cell.outputs.append(_error_output("DeadKernelError", evalue))
        if is_test(cell):
            run.score(index, cell, Status.KERNEL_DIED, 0.0, "the kernel died while this test ran")

    def _note_dropped_output(self, client, index, cell):
        dropped = client.dropped_bytes.get(index)
        if dropped:
            limit = self.limits["output_bytes"]
            text = (
                f"\n[output cut: this cell's output passed the {limit:,} byte limit; "
                f"{dropped:,} more bytes were dropped]\n"
            )
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))

    async def _survived_timeout(self, client, km, run, index, cell, reply):
        """After a cell's time limit: whether its kernel stopped at the interrupt (else it is shut down)."""
        if _message_of(cell)[0] != TIMEOUT_ENAME:
            cell.outputs.append(_error_output(TIMEOUT_ENAME, reply.get("evalue", "")))
        if await self.responsive(client.kc, seconds=float(self.limits["interrupt_grace"])):
            return True
        limit = self.limits["cell_timeout"]
        run.stop(
            Status.TIMEOUT,
            f"not run: cell {index} ran past the {limit:g} s limit and "
            "ignored the interrupt, so its kernel was stopped",
            f"cell {index} ignored the interrupt after its time limit; kernel stopped",
        )
        if is_test(cell):
            run.score(index, cell, Status.TIMEOUT, 0.0, reply.get("evalue", ""))
        await km.shutdown_kernel(now=True)
        return False

    def _score(self, run, index, cell, changed, timed_out, reply):
        if timed_out:
            run.score(index, cell, Status.TIMEOUT, 0.0, reply.get("evalue", ""))
        elif changed:
            message = "the submission changed what the tests rely on: " + "; ".join(changed)
            run.score(index, cell, Status.TAMPERED, 0.0, message)
        else:
            run.score(index, cell, *score_test(cell))


async def _shut_down(km):
    try:  # nbclient leaves a kernel it did not create running
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    except Exception:
        pass


def grade_job(job):
    """The Result of one job; a GraderFault becomes a result that says so."""
    grader = Grader(job)
    try:
        return asyncio.run(grader.run())
    except GraderFault as fault:
        source = nbformat.read(job["source"], as_version=4)
        return Result.grader_fault(job, source, f"grader fault: {fault}")


def run_task_file(task_path, result_path):
    """Grade the task (tasks.py) in the JSON file `task_path`; write its Result to `result_path`."""
    from autograder.tasks import from_json, run_task

    task_path = Path(task_path)
    result = run_task(from_json(task_path.read_text()), scratch=task_path.parent)
    temporary = Path(result_path).with_suffix(".partial")
    temporary.write_text(result.to_json())
    temporary.replace(result_path)


def main(argv=None):
    """`worker TASK RESULT` grades one task; `worker --serve` grades one task per line of stdin.

    In serve mode each input line is "TASK RESULT" (two paths); the worker answers "done" on
    stdout when the result file is written. The grading run keeps one such worker per job
    slot (imports cost seconds; a job costs a kernel) and replaces a worker that dies.
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        answer = sys.stdout
        sys.stdout = sys.stderr  # nothing but the protocol on the real stdout
        for line in sys.stdin:
            if not line.strip():
                continue
            task_path, result_path = line.split()
            run_task_file(task_path, result_path)
            answer.write("done\n")
            answer.flush()
        return
    run_task_file(argv[0], argv[1])


if __name__ == "__main__":
    main()
