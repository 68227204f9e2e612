"""Grading on a Dask cluster: `make grade SCHEDULER=tcp://host:8786` (or `--scheduler`).

The same tasks as on this machine (tasks.py: a submission's bytes, the source notebook with
its hidden tests, the limits) go to the workers of an existing Dask cluster
(https://distributed.dask.org), which grade them with tasks.run_task and send back a
results.Result. The grading run (grade.py) alone records results, as with the local pool.

A cluster is started with one command per machine, each machine having this course's
environment (`make env`) and bubblewrap:

    dask scheduler --host 10.0.0.1 --port 8786
    dask worker tcp://10.0.0.1:8786 --nworkers <cores> --nthreads 1

Dask retries a task whose worker dies (the worker was killed, lost its machine, ran out of
memory) on another worker, up to its `allowed-failures` (3), so a lost worker costs time,
never a student's grade. On a cluster the sandbox is required on every worker unless
`--no-sandbox` is given: a worker without bubblewrap refuses its tasks (tasks.TaskRefused).
"""

from autograder.course import UsageError
from autograder.tasks import describe, run_task

CONNECT_TIMEOUT = 20  # seconds to reach the scheduler, and to wait for a first worker


def grade_on_worker(task):
    """What a cluster's worker runs for one task (named by module and function, so workers import it)."""
    from distributed import get_worker

    return run_task(task, worker=get_worker().address)


def _sandbox_problem_here():
    from autograder.sandbox import sandbox_problem

    return sandbox_problem()


class DaskCluster:
    """A connection to a running Dask scheduler; `results(numbered_tasks)` grades tasks on its workers."""

    def __init__(self, address, sandboxed, connect_timeout=CONNECT_TIMEOUT):
        from distributed import Client

        self.address = address
        try:
            self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise UsageError(
                f"cannot reach the Dask scheduler at {address}: {error}\n"
                f"Start one with `dask scheduler`, or check the address (--scheduler / SCHEDULER=)."
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=connect_timeout)
        except TimeoutError:
            self.close()
            raise UsageError(
                f"the Dask scheduler at {address} has no workers after {connect_timeout:g} s; start some with "
                f"`dask worker {address} --nthreads 1` on machines with the course's environment"
            ) from None
        if sandboxed:
            self._check_sandboxes()

    def _check_sandboxes(self):
        problems = {worker: why for worker, why in self.client.run(_sandbox_problem_here).items() if why}
        if problems:
            self.close()
            lines = "\n".join(f"  {worker}: {why}" for worker, why in sorted(problems.items()))
            raise UsageError(
                f"{len(problems)} worker(s) of {self.address} cannot grade in the sandbox:\n{lines}\n"
                "Install bubblewrap on every worker, or (trusted notebooks only) pass --no-sandbox."
            )

    def workers(self):
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def describe(self):
        count = len(self.workers())
        return f"on the Dask cluster at {self.address} ({count} worker(s), one notebook each at a time)"

    def results(self, numbered_tasks):
        """(task, Result or exception) for every task, as each finishes on some worker."""
        from distributed import as_completed

        futures = {}
        for number, task in numbered_tasks:
            key = f"grade-{number:05d}-{describe(task)}-{task['key'][:12]}"
            futures[self.client.submit(grade_on_worker, task, key=key, pure=False)] = task
        for future in as_completed(futures, loop=self.client.loop):
            try:
                yield futures[future], future.result()
            except Exception as error:  # a worker died too often (KilledWorker), a task refused, ...
                yield futures[future], error
            finally:
                future.release()

    def close(self):
        self.client.close()
