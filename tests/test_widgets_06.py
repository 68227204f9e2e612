"""Notebook 06's architecture explorer, driven in a real kernel: every control changes the
figure, the progress bar moves, a retrain answers within 2 s, and what it shows agrees with
the notebook (skips carry the gradient down, batch norm keeps the units alive)."""

import pytest

from widget_tools import RETRAIN_BUDGET_MS, assert_figure_changed, assert_progress_moved, kernel_run, record_timing

ARCHITECTURE_EXPLORER = """
from deadrelu.lessons.activations_and_architecture import architecture_explorer
from deadrelu.data import load_digits_split

explorer = architecture_explorer(load_digits_split(seed=0), depth=12)
"""

ARCHITECTURE_STEPS = """
plain = explorer.measurements
changed["residual"] = change("residual", True)
residual = explorer.measurements
changed["standard block"] = change("residual", "standard")
standard = explorer.measurements
change("residual", True)
changed["normalization"] = change("normalization", "batch")
residual_batch_norm = explorer.measurements
changed["activation"] = change("activation", "GELU")
changed["lr"] = change("lr", 0.2)
changed["depth"] = change("depth", 16)
change("activation", "PReLU"); change("normalization", None); change("residual", False)
deepest_plain = explorer.measurements
print(json.dumps({
    "changed": changed, "times_ms": times, "progress_steps": len(set(progress_seen)), "steps": explorer.steps,
    "plain_first_gradient": plain["at initialisation"]["gradient"][0],
    "residual_first_gradient": residual["at initialisation"]["gradient"][0],
    "standard_first_gradient": standard["at initialisation"]["gradient"][0],
    "standard_label": "x + W2" in explorer.residual.options[2][0],
    "plain_dead_after": plain["after training"]["dead"],
    "batch_norm_dead_after": residual_batch_norm["after training"]["dead"],
    "layers_shown": len(deepest_plain["after training"]["dead"]),
    "normalization_shown": explorer.normalization.label,
    "summary": explorer.summary.value,
}))
"""


architecture_explorer_run = kernel_run(ARCHITECTURE_EXPLORER, ARCHITECTURE_STEPS, timeout=300)


@pytest.mark.parametrize("control", ["activation", "normalization", "residual", "standard block", "depth", "lr"])
def test_each_control_of_the_architecture_explorer_changes_the_figure(architecture_explorer_run, control):
    assert_figure_changed(architecture_explorer_run, control)


def test_architecture_explorer_shows_progress_and_answers_within_budget(architecture_explorer_run):
    run = architecture_explorer_run
    assert_progress_moved(run)
    record_timing(
        "architecture explorer retrain + redraw",
        run["times_ms"],
        RETRAIN_BUDGET_MS,
        "retrains",
        note=f" of up to 16 hidden layers, {run['steps']} steps each",
    )


def test_architecture_explorer_agrees_with_the_notebook(architecture_explorer_run):
    run = architecture_explorer_run
    # a plain 12-layer net: the gradient barely reaches the first layer; skips carry it down
    assert run["residual_first_gradient"] > 1e3 * run["plain_first_gradient"]
    assert run["standard_first_gradient"] > 1e3 * run["plain_first_gradient"] and run["standard_label"]
    assert sum(run["plain_dead_after"]) / len(run["plain_dead_after"]) > 20
    assert max(run["batch_norm_dead_after"]) == 0
    assert run["layers_shown"] == 16 and "PReLU" in run["summary"]
    assert run["normalization_shown"] == "no normalization" and "no normalization" in run["summary"]


def test_the_explorer_offers_the_activations_that_keep_relus_sign():
    from deadrelu.activations import ACTIVATIONS
    from deadrelu.lessons.activations_and_architecture import EXPLORER_ACTIVATIONS

    assert set(EXPLORER_ACTIVATIONS) <= set(ACTIVATIONS) and list(EXPLORER_ACTIVATIONS)[0] == "ReLU"
    assert "Softplus" not in EXPLORER_ACTIVATIONS and {"GELU", "SiLU", "PReLU"} <= set(EXPLORER_ACTIVATIONS)


def test_architecture_explorer_rejects_unknown_settings():
    from deadrelu.lessons.activations_and_architecture import ArchitectureExplorer
    from deadrelu.data import load_digits_split

    with pytest.raises(ValueError, match="unknown activation 'Relu'"):
        ArchitectureExplorer(load_digits_split(seed=0), activation="Relu")
    with pytest.raises(ValueError, match="unknown normalization 'group'"):
        ArchitectureExplorer(load_digits_split(seed=0), normalization="group")
    with pytest.raises(ValueError, match="unknown residual 'pre'"):
        ArchitectureExplorer(load_digits_split(seed=0), residual="pre")
