"""Every solution notebook runs top to bottom in a fresh kernel, within the 60 s budget.

Each run is kept as the notebook's reference run (website/executed.py): the website built
later in the same `make test` (tests/test_site.py) shows its outputs instead of running the
notebook again."""

import pytest

from course_tools import ASSIGNMENTS, MEASUREMENTS, execute_notebook, solution_notebook
from website import executed

BUDGET_SECONDS = 60  # per notebook, on 2 CPU cores


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebook_runs_top_to_bottom_within_budget(assignment):
    key = executed.run_key(assignment)  # what this run runs, taken before it starts
    notebook, seconds = execute_notebook(solution_notebook(assignment))
    MEASUREMENTS[f"run time of solutions/{assignment}"] = f"{seconds:.1f} s (budget {BUDGET_SECONDS} s)"
    print(f"{assignment}: {seconds:.1f} s")
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    executed.store(assignment, notebook, seconds, key)
    assert seconds <= BUDGET_SECONDS, f"{assignment} took {seconds:.1f} s; the budget is {BUDGET_SECONDS} s on 2 cores"
