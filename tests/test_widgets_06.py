"""Notebook 06's architecture explorer, driven in a real kernel: every control changes the
figure, the progress bar moves, a retrain answers within 2 s, and what it shows agrees with
the notebook (skips carry the gradient down, batch norm keeps the units alive)."""

import statistics

import pytest

from course_tools import MEASUREMENTS, last_json_line, run_in_kernel

RETRAIN_BUDGET_MS = 2000  # an explorer that retrains a model

ARCHITECTURE_EXPLORER = """
import hashlib, json, time
from deadrelu.lessons.activations_and_architecture import architecture_explorer
from deadrelu.data import load_digits_split

explorer = architecture_explorer(load_digits_split(seed=0), depth=12)
png = lambda: hashlib.sha256(explorer.image.value).hexdigest()
changed, times, progress_seen = {}, [], []
explorer.progress.observe(lambda change: progress_seen.append(change["new"]), names="value")
plain = explorer.measurements

def change(control, value):
    before = png()
    started = time.perf_counter()
    setattr(getattr(explorer, control), "value", value)
    times.append((time.perf_counter() - started) * 1000)
    return png() != before

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
    "summary": explorer.summary.value,
}))
"""


@pytest.fixture(scope="module")
def architecture_explorer_run():
    return last_json_line(run_in_kernel(ARCHITECTURE_EXPLORER, timeout=300))


@pytest.mark.parametrize("control", ["activation", "normalization", "residual", "standard block", "depth", "lr"])
def test_each_control_of_the_architecture_explorer_changes_the_figure(architecture_explorer_run, control):
    assert architecture_explorer_run["changed"][control], f"changing {control} left the figure unchanged"


def test_architecture_explorer_shows_progress_and_answers_within_budget(architecture_explorer_run):
    run = architecture_explorer_run
    assert run["progress_steps"] > 5, "the progress bar should move while the model retrains"
    median = statistics.median(run["times_ms"])
    MEASUREMENTS["architecture explorer retrain + redraw"] = (
        f"median {median:.0f} ms, max {max(run['times_ms']):.0f} ms over {len(run['times_ms'])} retrains "
        f"of up to 16 hidden layers, {run['steps']} steps each (budget {RETRAIN_BUDGET_MS} ms)"
    )
    assert median <= RETRAIN_BUDGET_MS, f"median retrain {median:.0f} ms > {RETRAIN_BUDGET_MS} ms"


def test_architecture_explorer_agrees_with_the_notebook(architecture_explorer_run):
    run = architecture_explorer_run
    # a plain 12-layer net: the gradient barely reaches the first layer; skips carry it down
    assert run["residual_first_gradient"] > 1e3 * run["plain_first_gradient"]
    assert run["standard_first_gradient"] > 1e3 * run["plain_first_gradient"] and run["standard_label"]
    assert sum(run["plain_dead_after"]) / len(run["plain_dead_after"]) > 20
    assert max(run["batch_norm_dead_after"]) == 0
    assert run["layers_shown"] == 16 and "PReLU" in run["summary"]


def test_architecture_explorer_rejects_unknown_settings():
    from deadrelu.lessons.activations_and_architecture import ArchitectureExplorer
    from deadrelu.data import load_digits_split

    with pytest.raises(ValueError, match="unknown activation 'Relu'"):
        ArchitectureExplorer(load_digits_split(seed=0), activation="Relu")
    with pytest.raises(ValueError, match="unknown normalization 'group'"):
        ArchitectureExplorer(load_digits_split(seed=0), normalization="group")
    with pytest.raises(ValueError, match="unknown residual 'pre'"):
        ArchitectureExplorer(load_digits_split(seed=0), residual="pre")
