"""Course-wide rules of evidence: claims beside results, full batches, one steps-per-epoch rule."""

import re

import nbformat
import pytest

from course_tools import ASSIGNMENTS, solution_notebook

EXPERIMENT_NOTEBOOKS = [a for a in ASSIGNMENTS if a[:2] in {"02", "03", "04", "05", "06", "07", "08", "09"}]
CLAIM_CALL = re.compile(r"\bclaim(?:_difference)?\(")


def code_of(assignment):
    notebook = nbformat.read(solution_notebook(assignment), as_version=4)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.parametrize("assignment", EXPERIMENT_NOTEBOOKS)
def test_every_experiment_notebook_checks_the_results_its_prose_states(assignment):
    claims = len(CLAIM_CALL.findall(code_of(assignment)))
    assert claims >= 20, (
        f"{assignment} checks {claims} claims; every result its prose states is a claim (deadrelu.claims)"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_only_the_one_noisy_step_lesson_trains_on_a_short_batch(assignment):
    uses_short_batches = "drop_last=False" in code_of(assignment)
    assert uses_short_batches == assignment.startswith("02_"), (
        f"{assignment}: only notebook 02's 'one noisy step' lesson may train on a batch smaller than its batch size"
    )


def test_the_capstone_step_budget_counts_the_digits_training_split():
    from deadrelu.lessons.capstone_diagnose_and_fix import TRAINING_EXAMPLES
    from deadrelu.data import load_digits_split

    assert TRAINING_EXAMPLES == len(load_digits_split(seed=0).y_train)
