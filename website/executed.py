"""The reference runs: each solution notebook executed top to bottom in a fresh kernel.

A run is kept in `build/executed/<id>.ipynb` with the *key* of what it ran (the solution
notebook and every file of the helper package and the pinned versions it used). `make site`
reuses a kept run whose key still matches and executes the others; the notebook tests
(tests/test_notebooks_run.py) store their runs here, so that the site built after them in
`make test` executes nothing twice.
"""

import hashlib
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
CACHE = ROOT / "build" / "executed"
KEY_FIELD = "deadrelu_reference_run"  # notebook metadata: {"key": ..., "seconds": ...}
# What a run depends on besides its own notebook.
INPUTS = ("deadrelu/**/*.py", "deadrelu/sweep_results/*.json", "requirements.txt")


def solution_notebook(assignment):
    return SOLUTIONS / assignment / f"{assignment}.ipynb"


def run_key(assignment):
    """A hash of the solution notebook and of everything it imports from this repository."""
    digest = hashlib.sha256()
    named = [(f"solutions/{assignment}", solution_notebook(assignment))]
    named += [(p.relative_to(ROOT).as_posix(), p) for p in sorted(p for pattern in INPUTS for p in ROOT.glob(pattern))]
    for name, path in named:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def execute(path, timeout=120):
    """(the notebook at `path` run top to bottom in a fresh kernel, seconds). Raises nbclient's
    CellExecutionError, naming the cell, on an error."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=notebook.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(Path(path).parent)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # not its notice about TCP on every start
    )
    started = time.perf_counter()
    client.execute()
    return notebook, time.perf_counter() - started


def store(assignment, notebook, seconds, key=None):
    """Keep an executed solution notebook as the reference run of `assignment`."""
    notebook = nbformat.from_dict(notebook)
    notebook.metadata[KEY_FIELD] = {"key": key or run_key(assignment), "seconds": round(seconds, 1)}
    CACHE.mkdir(parents=True, exist_ok=True)
    temporary = CACHE / f"{assignment}.ipynb.partial"
    nbformat.write(notebook, temporary)
    temporary.replace(CACHE / f"{assignment}.ipynb")  # never a half-written run


def kept(assignment):
    """The kept reference run of `assignment` if it ran what is here now, else None."""
    path = CACHE / f"{assignment}.ipynb"
    if not path.exists():
        return None
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # a damaged copy is simply run again
        return None
    if notebook.metadata.get(KEY_FIELD, {}).get("key") != run_key(assignment):
        return None
    return notebook


class ReferenceRunFailed(RuntimeError):
    """A solution notebook stopped with an error: the site cannot show its outputs."""


def _run_and_store(assignment):
    key = run_key(assignment)
    try:
        notebook, seconds = execute(solution_notebook(assignment))
    except Exception as error:  # nbclient's CellExecutionError names the cell and the error
        raise ReferenceRunFailed(
            f"solutions/{assignment} stopped with an error in its reference run (fix the notebook; "
            f"`make test` runs it too):\n{error}"
        ) from None
    store(assignment, notebook, seconds, key)
    return assignment, seconds


def reference_runs(assignments, jobs=2, report=print):
    """{assignment: executed notebook}: kept runs where they match, the others executed now,
    `jobs` at a time."""
    runs = {a: kept(a) for a in assignments}
    missing = [a for a, notebook in runs.items() if notebook is None]
    report(f"reference runs: {len(assignments) - len(missing)} kept, {len(missing)} to execute")
    if missing:
        with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(missing)))) as pool:
            for assignment, seconds in pool.map(_run_and_store, missing):
                report(f"  executed {assignment} in {seconds:.1f} s")
                runs[assignment] = kept(assignment)
    return runs
