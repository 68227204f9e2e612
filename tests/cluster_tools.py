"""Real servers for the grading tests: a Dask scheduler with its workers, and a PostgreSQL server.

Both are started by the tests on 127.0.0.1 in a temporary folder and torn down afterwards.
Where a component is missing they skip with the reason, and with REQUIRE_SERVICES=1 (CI,
.ci/run) they fail instead: CI never silently skips them.

- `DaskProcesses`: `dask scheduler` and N `dask worker` processes (each a nanny and its
  worker process, one thread: one notebook at a time), as an instructor starts them.
- `PostgresServer`: Debian's PostgreSQL (`postgresql` package, installed by
  scripts/install_system_packages.sh): `initdb` into a temporary folder, a server listening on
  127.0.0.1 only with a fresh port; as root, the server runs as the `postgres` user (PostgreSQL
  refuses to run as root).
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"


def skip_or_fail(reason):
    """Skip with a visible reason; with REQUIRE_SERVICES=1 (CI), fail instead."""
    if REQUIRED:
        pytest.fail(f"REQUIRE_SERVICES=1 but a server for these tests cannot start: {reason}", pytrace=False)
    pytest.skip(f"{reason} (set REQUIRE_SERVICES=1 to make this an error)")


def free_port():
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def _wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} within {seconds} s")


# --- Dask --------------------------------------------------------------------------------------
class DaskProcesses:
    """A Dask scheduler and `workers` workers on 127.0.0.1, started as separate processes."""

    def __init__(self, folder, workers=2, env=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
        self.processes = []
        self.scheduler = self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port)])
        self.workers = [self.add_worker(f"worker{number}") for number in range(workers)]

    def _start(self, name, arguments, env=None):
        log = open(self.folder / f"{name}.log", "ab")
        process = subprocess.Popen(
            [str(BIN / "dask"), *arguments, "--no-dashboard"],
            cwd=ROOT,
            env=env or self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def add_worker(self, name, env=None):
        arguments = ["worker", self.address, "--name", name, "--nthreads", "1", "--host", "127.0.0.1"]
        return self._start(name, arguments, env={**self.env, **(env or {})})

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def wait_for_workers(self, count, seconds=60):
        with self.client() as client:
            client.wait_for_workers(count, timeout=seconds)

    def log(self, name):
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def close(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def start_dask(folder, workers=2):
    """A running DaskProcesses with `workers` workers connected, or skip/fail saying why not."""
    if shutil.which("dask", path=str(BIN)) is None:
        skip_or_fail(f"`dask` is not installed in {BIN} (make env installs it)")
    cluster = DaskProcesses(folder, workers)
    try:
        cluster.wait_for_workers(workers)
    except Exception as error:
        cluster.close()
        pytest.fail(f"the Dask cluster did not start: {error}\n{cluster.log('scheduler')[-2000:]}")
    return cluster


# --- PostgreSQL --------------------------------------------------------------------------------
def postgres_bin():
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), or None."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """A PostgreSQL server of our own in a fresh temporary folder, on 127.0.0.1:<free port>, trusting local
    connections. (Not under pytest's tmp_path: as root that folder is closed to the `postgres` user.)"""

    def __init__(self, bin_dir):
        self.folder = Path(tempfile.mkdtemp(prefix="deadrelu-postgres-"))
        self.data = self.folder / "data"
        self.bin = Path(bin_dir)
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            self.user = pwd.getpwnam("postgres")
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()

    def _run(self, program, *arguments):
        command = [str(self.bin / program), *arguments]
        if self.user is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        return done

    def start(self):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"), "-w", "start")

    def stop(self):
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def running(self):
        return (self.data / "postmaster.pid").exists()

    def url(self, database):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name):
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def query(self, database, sql):
        import psycopg

        with psycopg.connect(self.url(database)) as connection:
            return connection.execute(sql).fetchall()

    def close(self):
        if self.running():
            try:
                self.stop()
            except RuntimeError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres():
    """A running PostgresServer, or skip/fail saying why not."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        skip_or_fail("PostgreSQL is not installed (Debian: apt-get install postgresql; make env does it as root)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            skip_or_fail("running as root and there is no `postgres` user to run the server as")
    try:
        return PostgresServer(bin_dir)
    except Exception as error:
        pytest.fail(f"the PostgreSQL server did not start: {error}")
