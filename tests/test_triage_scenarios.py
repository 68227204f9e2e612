"""deadrelu/triage_scenarios.py: notebook 09's triage runs show, on every one of the five
seeds, the evidence its answer key relies on — and nothing of how they were configured.

The key (tests/test_checks_interview_prep.py's RIGHT, the hidden tests' asserts) names a
cause per letter; here each configuration's evidence is measured, and the notebook's triage
section is read for any setting it would give away.
"""

import dataclasses
import math
import re

import nbformat
import pytest

from course_tools import SECRET_REGIONS, course_notebook, solution_notebook
from deadrelu.checks.interview_prep import CAUSES
from deadrelu.lessons.interview_prep import (
    _CONFIGURATIONS,
    _LETTERS,
    SCENARIOS,
    TriageRun,
    layer_table,
    overview_table,
    triage_runs,
)
from test_checks_interview_prep import RIGHT

ASSIGNMENT = "09_interview_prep"

# configuration -> the cause its evidence must show
CAUSE_OF = {
    "control": "nothing wrong",
    "deep_control": "nothing wrong",
    "raw_pixels": "unscaled inputs",
    "high_rate": "learning rate too high",
    "deep_narrow": "network too deep and narrow",
    "negative_bias": "large negative bias initialisation",
}
LETTER_OF = {name: letter for letter, name in _LETTERS.items()}


@pytest.fixture(scope="module")
def runs():
    return triage_runs()


def of(runs, name):
    return runs[LETTER_OF[name]]


def ratios(run):
    return [run.update_ratio(i) for i in range(run.layers)]


def at_chance_loss(run):
    return abs(run.final_loss() - math.log(10)) <= 0.05


def test_every_letter_has_one_configuration_and_the_key_agrees():
    assert sorted(_LETTERS) == list(SCENARIOS) and sorted(_LETTERS.values()) == sorted(_CONFIGURATIONS) == sorted(
        CAUSE_OF
    )
    assert {letter: CAUSE_OF[name] for letter, name in _LETTERS.items()} == {
        letter: cause for letter, (cause, _) in RIGHT.items()
    }
    assert set(CAUSE_OF.values()) <= set(CAUSES)


def test_a_record_holds_measurements_only():
    names = {f.name for f in dataclasses.fields(TriageRun)}
    assert not names & {
        "lr",
        "learning_rate",
        "widths",
        "bias_init",
        "init",
        "data",
        "model",
        "config",
        "scaled",
        "name",
    }


def test_every_run_finished_on_five_seeds(runs):
    assert list(runs) == list(SCENARIOS)
    assert all(len(seeds) == 5 and not any(run.diverged for run in seeds) for seeds in runs.values())


def test_negative_bias_shows_its_bias_and_a_network_dead_before_the_first_step(runs):
    for run in of(runs, "negative_bias"):
        assert max(run.mean_bias_at_init) < -0.5
        assert min(run.dead_at_init) >= 0.95 and max(ratios(run)) == 0 and max(run.grad_norm_at_init) == 0
        assert at_chance_loss(run) and run.accuracy_percent() <= 15
        assert run.units == [128, 128], "an ordinary shape: the architecture does not explain it"


def test_deep_narrow_is_born_dead_with_biases_near_zero(runs):
    seeds = of(runs, "deep_narrow")
    for run in seeds:
        assert run.units == [3] * 10
        assert max(abs(b) for b in run.mean_bias_at_init) < 0.5, "the bias column rules the bias out"
        assert max(run.dead_at_init) >= 0.5, "dead units at step 0: the evidence, not the shape, decides"
        assert at_chance_loss(run) and max(ratios(run)) < 1e-2
        assert run.input_stats["max"] <= 1
    assert sum(any(d == 1 for d in run.dead_at_init) for run in seeds) >= 3, (
        "a whole layer dead at step 0 on most seeds"
    )


def test_the_deep_control_is_deep_and_healthy(runs):
    for run in of(runs, "deep_control"):
        assert run.layers >= 6, "a deep stack, so that depth alone does not point at the deep narrow scenario"
        assert max(run.dead_at_init) <= 0.4 and max(run.dead[i][-1] for i in range(run.layers)) <= 0.2
        assert 1e-3 <= min(ratios(run)) and max(ratios(run)) <= 1e-2
        assert run.final_loss() < 0.5 and run.accuracy_percent() >= 75


def test_unscaled_inputs_show_in_the_data_statistics_and_the_gradients(runs):
    control = of(runs, "control")
    for run, healthy in zip(of(runs, "raw_pixels"), control):
        assert run.input_stats["max"] > 1 and run.input_stats["mean"] > 1 and healthy.input_stats["max"] <= 1
        assert all(g >= 10 * h for g, h in zip(run.grad_norm_at_init, healthy.grad_norm_at_init)), (
            "large gradients from the start"
        )
        assert min(ratios(run)) > 1e-2
        assert max(run.dead_at_init) <= 0.1 and run.dead_percent_at_end(0) >= run.dead_percent_at_step_0(0)
        assert run.accuracy_percent() >= 95, "the accuracy looks fine: the trap"
    assert sum(run.dead_percent_at_end(0) - run.dead_percent_at_step_0(0) for run in of(runs, "raw_pixels")) > 0


def test_a_high_rate_makes_large_steps_from_small_gradients_in_every_layer(runs):
    for run, healthy in zip(of(runs, "high_rate"), of(runs, "control")):
        assert run.input_stats["max"] <= 1
        assert max(run.grad_norm_at_init) < 0.5 and run.grad_norm_at_init == healthy.grad_norm_at_init, (
            "same start as the control"
        )
        assert min(ratios(run)) > 1e-2 and min(ratios(run)) > 10 * max(ratios(healthy))
        assert max(run.dead_at_init) <= 0.1 and run.dead_percent_at_end(0) - run.dead_percent_at_step_0(0) >= 30
    assert sum(run.accuracy_percent() for run in of(runs, "high_rate")) / 5 < 60


def test_the_control_stays_healthy(runs):
    for run in of(runs, "control"):
        assert max(run.dead_at_init) <= 0.1 and max(run.dead[i][-1] for i in range(run.layers)) <= 0.1
        assert 1e-3 <= min(ratios(run)) and max(ratios(run)) <= 1e-2
        assert run.final_loss() < 0.5 and run.accuracy_percent() >= 85


def test_each_deciding_sign_belongs_to_one_scenario_only(runs):
    def where(test):
        return {name for name in _CONFIGURATIONS if all(test(run) for run in of(runs, name))}

    assert where(lambda run: max(run.mean_bias_at_init) < -0.5) == {"negative_bias"}
    assert where(lambda run: run.input_stats["max"] > 1) == {"raw_pixels"}
    assert where(lambda run: min(ratios(run)) > 1e-2) == {"raw_pixels", "high_rate"}
    assert where(lambda run: min(ratios(run)) > 1e-2 and max(run.grad_norm_at_init) < 0.5) == {"high_rate"}
    assert where(at_chance_loss) == {"negative_bias", "deep_narrow"}
    assert where(lambda run: run.layers > 2) == {"deep_narrow", "deep_control"}


def test_the_tables_show_every_scenario_and_layer(runs):
    assert [row["scenario"] for row in overview_table(runs).rows] == list(SCENARIOS)
    for letter in SCENARIOS:
        assert len(layer_table(letter, runs).rows) == runs[letter][0].layers


def test_unknown_scenarios_are_rejected():
    with pytest.raises(ValueError, match="unknown scenarios"):
        triage_runs(scenarios=("Z",))


# --- what the notebook shows ----------------------------------------------------------------
SETTINGS = [
    (r"\blr\b|learning_rate\s*=", "a learning rate"),
    (r"learning rate (of |is |= ?)?\d", "a learning rate's value"),
    (r"bias_init|bias\s*=", "the bias initialisation"),
    (r"\bwidths\b|\(3,\)|\* ?10\b|make_mlp", "the widths"),
    (r"\braw(\b|_)|scaled\s*=|load_digits|unscaled_", "which data"),
    (r"he_normal|kaiming|init\s*=", "the weight initialisation"),
    (r"_CONFIGURATIONS|_LETTERS|measure\(", "the package's configuration table"),
    (r"\btrain\(|\bSETUPS\b", "a training call with its settings"),
]


def triage_section(path):
    """The cells of section 2 (the triage), with the secret regions removed."""
    cells = nbformat.read(path, as_version=4).cells
    start = next(i for i, c in enumerate(cells) if c.source.startswith("## 2. Triage"))
    end = next(i for i, c in enumerate(cells) if c.source.startswith("## 3."))
    texts = []
    for cell in cells[start:end]:
        text = cell.source
        for begin, finish in SECRET_REGIONS.values():
            text = re.sub(rf"### {begin}.*?### {finish}", "", text, flags=re.DOTALL)
        texts.append(text)
    return texts


@pytest.mark.parametrize(
    "path", [solution_notebook(ASSIGNMENT), course_notebook(ASSIGNMENT)], ids=["solutions", "course"]
)
def test_the_triage_section_shows_no_setting_of_the_scenarios(path):
    cells = triage_section(path)
    assert any("triage_runs(" in text for text in cells)
    for text in cells:
        for pattern, what in SETTINGS:
            found = re.search(pattern, text, flags=re.IGNORECASE)
            assert not found, f"the triage section names {what}: {found.group(0)!r} in\n{text[:300]}"


def test_the_claims_of_the_triage_name_no_scenario():
    """The claims check the evidence by counting scenarios; a claim that names a letter would
    tell a reader of the code what to answer."""
    for text in triage_section(solution_notebook(ASSIGNMENT)):
        for statement in re.findall(r"claim(?:_difference)?\(\s*f?\"([^\"]*)\"", text):
            assert not re.search(r"\b[A-F]\b", statement), f"a claim names a scenario: {statement}"
