"""Grade one submitted notebook, in a process of its own: `python -m autograder.worker JOB RESULT`.

The grading run (autograder/grade.py) starts one worker per notebook, several at a time.
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
import hashlib
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
from autograder.sandbox import kernel_command, startup_file

TIMEOUT_ENAME = "CellTimeoutError"


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


def _is_test(cell):
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


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
        return "timeout", 0.0, evalue
    if ename is not None:
        status = "failed" if ename == "AssertionError" else "error"
        message = evalue if ename == "AssertionError" else f"{ename}: {evalue}"
        return status, 0.0, (message or ename)[:2000]
    quiet = copy.deepcopy(cell)
    quiet.outputs = [o for o in quiet.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    points, _ = utils.determine_grade(quiet)
    if points < max_points:
        return "failed", float(points), f"partial credit: {points:g} of {max_points:g}"
    return "passed", float(points), ""


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
        msg_id = kc.execute("", silent=True, store_history=False, user_expressions={"p": expression})
        deadline = time.monotonic() + 60
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise asyncio.TimeoutError
            reply = await kc.get_shell_msg(timeout=remaining)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        result = reply["content"].get("user_expressions", {}).get("p", {})
        try:
            body, signature = ast.literal_eval(result["data"]["text/plain"])
        except Exception:
            return ["the grader's integrity probe was removed or replaced"]
        expected = hmac.new(self.secret, (nonce + "\n" + body).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return ["the grader's integrity probe was replaced"]
        return [line for line in body.split("\n") if line]

    async def responsive(self, kc, seconds):
        """Whether the kernel answers a trivial request within `seconds` (after an interrupt)."""
        msg_id = kc.execute("", silent=True, store_history=False)
        deadline = time.monotonic() + seconds
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                reply = await kc.get_shell_msg(timeout=remaining)
                if reply["parent_header"].get("msg_id") == msg_id:
                    return True
        except Exception:
            return False

    # --- one notebook ---------------------------------------------------------------------
    async def run(self):
        job = self.job
        started = time.monotonic()
        source = nbformat.read(job["source"], as_version=4)
        result = {
            "student": job["student"],
            "assignment": job["assignment"],
            "notebook": job["notebook"],
            "repairs": list(job.get("notes", [])),
            "stopped": None,
            "tests": [],
            "notebook_json": None,
        }
        tests = [cell for cell in source.cells if utils.is_grade(cell)]
        if job.get("submission") is None:
            result["tests"] = [
                self._row(cell, "missing", 0.0, job.get("missing_reason", "no notebook submitted")) for cell in tests
            ]
            return self._finish(result, started)
        try:
            submission = read_submission(Path(job["submission"]))
        except SubmissionUnreadable as error:
            result["tests"] = [self._row(cell, "missing", 0.0, str(error)) for cell in tests]
            return self._finish(result, started)
        notebook, repairs = assemble(source, submission)
        result["repairs"] += repairs
        await self.execute(notebook, result)
        result["notebook_json"] = nbformat.writes(notebook)
        return self._finish(result, started)

    def _row(self, cell, status, points, message):
        meta = cell.metadata["nbgrader"]
        return {
            "test_id": meta["grade_id"],
            "points": points,
            "max_points": float(meta.get("points", 0)),
            "status": status,
            "message": message,
        }

    def _finish(self, result, started):
        result["seconds"] = round(time.monotonic() - started, 2)
        return result

    async def execute(self, notebook, result):
        limits = self.limits
        self.work_dir.mkdir(parents=True, exist_ok=True)
        secret_path = self.work_dir / ".grader_secret"
        secret_path.write_bytes(self.secret)
        sandboxed = self.job["sandboxed"]
        exec_line = (
            f"__grader_secret_path__ = {str(secret_path)!r}; "
            f"exec(compile(open({startup_file(sandboxed)!r}).read(), 'grader-start-up', 'exec')); "
            "del __grader_secret_path__"
        )
        km = GradingKernelManager(
            self.work_dir,
            memory_bytes=int(limits["memory_bytes"]),
            file_size_bytes=int(limits["file_size_bytes"]),
            sandboxed=sandboxed,
        )
        client = LimitedOutputClient(
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
            extra_arguments=["--HistoryManager.hist_file=:memory:", f"--IPKernelApp.exec_lines={exec_line}"],
            resources={"metadata": {"path": str(self.work_dir)}},
        )
        replies = {}

        async def remember_reply(cell, cell_index, execute_reply):
            replies[cell_index] = execute_reply

        client.on_cell_executed = remember_reply
        rows = {}
        stop_status, stop_message = None, None
        deadline = time.monotonic() + float(limits["notebook_timeout"])
        last_label = "the start"
        log = None
        try:
            log = open(self.work_dir / ".kernel" / "kernel.log", "wb")
            async with client.async_setup_kernel(stdout=log, stderr=log):
                kc = client.kc
                try:
                    baseline = await self.probe(kc)
                except Exception as error:
                    raise GraderFault(
                        f"the grading kernel did not start its integrity probe ({type(error).__name__})"
                    ) from None
                if baseline:
                    raise GraderFault("the grading kernel's integrity snapshot is inconsistent: " + "; ".join(baseline))
                for index, cell in enumerate(notebook.cells):
                    if cell.cell_type != "code":
                        continue
                    grade_id = (cell.metadata.get("nbgrader") or {}).get("grade_id")
                    if stop_status is not None:
                        if _is_test(cell):
                            rows[index] = self._row(cell, stop_status, 0.0, stop_message)
                        continue
                    if time.monotonic() > deadline:
                        stop_status = "timeout"
                        stop_message = f"not run: the notebook ran past its {limits['notebook_timeout']:g} s limit before this cell"
                        result["stopped"] = f"stopped before cell {index} ({last_label}): notebook time limit"
                        if _is_test(cell):
                            rows[index] = self._row(cell, stop_status, 0.0, stop_message)
                        continue
                    before = await self.probe(kc) if _is_test(cell) else []
                    try:
                        await client.async_execute_cell(cell, index)
                    except DeadKernelError:
                        stop_status = "kernel_died"
                        where = f"cell {index}" + (f" ({grade_id!r})" if grade_id else "")
                        stop_message = f"not run: the kernel died in {where}"
                        result["stopped"] = f"the kernel died in {where}, after {last_label}"
                        cell.outputs.append(
                            _error_output(
                                "DeadKernelError",
                                "the kernel died while this cell ran (crash, os._exit or the memory limit)",
                            )
                        )
                        if _is_test(cell):
                            rows[index] = self._row(cell, "kernel_died", 0.0, "the kernel died while this test ran")
                        continue
                    if client.dropped_bytes.get(index):
                        cell.outputs.append(
                            nbformat.v4.new_output(
                                "stream",
                                name="stdout",
                                text=f"\n[output cut: this cell's output passed the {limits['output_bytes']:,} byte limit; "
                                f"{client.dropped_bytes[index]:,} more bytes were dropped]\n",
                            )
                        )
                    reply = replies.get(index, {}).get("content", {})
                    timed_out = reply.get("ename") == TIMEOUT_ENAME
                    if timed_out:
                        if _message_of(cell)[0] != TIMEOUT_ENAME:
                            cell.outputs.append(_error_output(TIMEOUT_ENAME, reply.get("evalue", "")))
                        if not await self.responsive(kc, seconds=float(limits["interrupt_grace"])):
                            stop_status = "timeout"
                            stop_message = (
                                f"not run: cell {index} ran past the {limits['cell_timeout']:g} s limit and "
                                "ignored the interrupt, so its kernel was stopped"
                            )
                            result["stopped"] = (
                                f"cell {index} ignored the interrupt after its time limit; kernel stopped"
                            )
                            if _is_test(cell):
                                rows[index] = self._row(cell, "timeout", 0.0, reply.get("evalue", ""))
                            await km.shutdown_kernel(now=True)
                            continue
                    if _is_test(cell):
                        after = await self.probe(kc)
                        changed = sorted(set(before) | set(after))
                        if timed_out:
                            rows[index] = self._row(cell, "timeout", 0.0, reply.get("evalue", ""))
                        elif changed:
                            rows[index] = self._row(
                                cell,
                                "tampered",
                                0.0,
                                "the submission changed what the tests rely on: " + "; ".join(changed),
                            )
                        else:
                            status, points, message = score_test(cell)
                            rows[index] = self._row(cell, status, points, message)
                    last_label = f"cell {index}" + (f" ({grade_id!r})" if grade_id else "")
        except GraderFault:
            raise
        except DeadKernelError:
            if stop_status is None:
                result["stopped"] = f"the kernel died after {last_label}"
                stop_status, stop_message = "kernel_died", f"not run: the kernel died after {last_label}"
        except Exception as error:  # the kernel never came up, stopped answering the probe, ...
            if stop_status is None:
                try:
                    alive = await km.is_alive()
                except Exception:
                    alive = False
                what = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                if not alive:
                    stop_status, why = "kernel_died", "the kernel died"
                else:
                    stop_status, why = "timeout", "the kernel stopped answering"
                result["stopped"] = f"{why} after {last_label} ({what})"[:500]
                stop_message = f"not run: {result['stopped']}"
        finally:
            secret_path.unlink(missing_ok=True)
            try:  # nbclient leaves a kernel it did not create running
                if km.has_kernel:
                    await km.shutdown_kernel(now=True)
            except Exception:
                pass
            if log is not None:
                log.close()
        for index, cell in enumerate(notebook.cells):
            if utils.is_grade(cell) and index not in rows:
                if utils.is_solution(cell) or cell.cell_type != "code":
                    rows[index] = self._row(cell, "needs_manual_grade", None, "graded by hand")
                else:
                    rows[index] = self._row(cell, stop_status or "error", 0.0, stop_message or "not run")
        result["tests"] = [rows[index] for index in sorted(rows)]


def grade_job(job):
    grader = Grader(job)
    try:
        return asyncio.run(grader.run())
    except GraderFault as fault:
        source = nbformat.read(job["source"], as_version=4)
        return {
            "student": job["student"],
            "assignment": job["assignment"],
            "notebook": job["notebook"],
            "repairs": [],
            "stopped": f"grader fault: {fault}",
            "notebook_json": None,
            "seconds": 0,
            "tests": [
                grader._row(cell, "error", 0.0, f"grader fault: {fault}")
                for cell in source.cells
                if utils.is_grade(cell)
            ],
        }


def run_job_file(job_path, result_path):
    job = json.loads(Path(job_path).read_text())
    result = grade_job(job)
    temporary = Path(result_path).with_suffix(".partial")
    temporary.write_text(json.dumps(result))
    temporary.replace(result_path)


def main(argv=None):
    """`worker JOB RESULT` grades one job; `worker --serve` grades one job per line of stdin.

    In serve mode each input line is "JOB RESULT" (two paths); the worker answers "done" on
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
            job_path, result_path = line.split()
            run_job_file(job_path, result_path)
            answer.write("done\n")
            answer.flush()
        return
    run_job_file(argv[0], argv[1])


if __name__ == "__main__":
    main()
