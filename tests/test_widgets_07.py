"""Notebook 07's recycling explorer, driven in a real kernel: every control changes the figure,
the progress bar moves, and a retrain answers within 2 s."""

import pytest

from widget_tools import RETRAIN_BUDGET_MS, assert_figure_changed, assert_progress_moved, kernel_run, record_timing

RECYCLING_EXPLORER = """
from deadrelu.data import load_digits_split
from deadrelu.lessons.reviving_and_pruning import recycling_explorer

explorer = recycling_explorer(load_digits_split(seed=0), lr=0.01, epochs=4)
"""

RECYCLING_STEPS = """
changed["period"] = change("period", 100)
changed["tau"] = change("tau", 0.3)
changed["reset"] = change("reset", True)
changed["seed"] = change("seed", 2)
changed["recycle"] = change("recycle", False)
dead_off = explorer.history.tracking["1"].dead_fraction[-1]
change("recycle", True); change("reset", False); change("period", 50)
dead_on = explorer.history.tracking["1"].dead_fraction[-1]
print(json.dumps({"changed": changed, "times_ms": times, "progress_steps": len(set(progress_seen)),
                  "dead_off": dead_off, "dead_on": dead_on, "recycle_steps": explorer.recycle_steps}))
"""


recycling_explorer_run = kernel_run(RECYCLING_EXPLORER, RECYCLING_STEPS, timeout=300)


@pytest.mark.parametrize("control", ["recycle", "tau", "period", "reset", "seed"])
def test_each_control_of_the_recycling_explorer_changes_the_figure(recycling_explorer_run, control):
    assert_figure_changed(recycling_explorer_run, control)


def test_recycling_explorer_shows_progress_and_answers_within_budget(recycling_explorer_run):
    run = recycling_explorer_run
    assert_progress_moved(run)
    record_timing("recycling explorer retrain + redraw", run["times_ms"], RETRAIN_BUDGET_MS, "retrains")


def test_recycling_lowers_the_dead_share_in_the_explorer(recycling_explorer_run):
    run = recycling_explorer_run
    assert run["recycle_steps"] and run["recycle_steps"][0] == 50
    assert run["dead_on"] < run["dead_off"]


def _runs(dead_and_accuracy, diverged=()):
    from deadrelu.experiments import RunResult

    return [
        RunResult(seed, ["1", "3"], [dead, dead], [dead, dead], accuracy, seed in diverged)
        for seed, (dead, accuracy) in enumerate(dead_and_accuracy)
    ]


def test_accuracy_against_dead_joins_the_runs_of_each_seed_and_leaves_out_diverged_ones():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from deadrelu.lessons.reviving_and_pruning import plot_accuracy_against_dead

    runs = {
        "off": _runs([(0.5, 0.9), (0.4, 0.8), (0.6, 0.1)], diverged=(2,)),
        "on": _runs([(0.0, 0.91), (0.1, 0.85), (0.0, 0.9)]),
    }
    fig = plot_accuracy_against_dead(runs, pairs=[("off", "on")])
    ax = fig.axes[0]
    assert len(ax.lines) == 2, "one line per seed, none for the seed whose run diverged"
    assert [list(x) for x in ax.lines[0].get_data()] == [[50.0, 0.0], [90.0, 91.0]]
    assert [len(c.get_offsets()) for c in ax.collections] == [2, 3], "the diverged run is not plotted"
    plt.close(fig)
    with pytest.raises(ValueError, match="seed"):
        plot_accuracy_against_dead({"off": runs["off"], "on": runs["on"][::-1]}, pairs=[("off", "on")])
    plt.close("all")
