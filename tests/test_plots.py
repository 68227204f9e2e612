"""The plots of notebooks 01 and 02 (deadrelu/plots.py): they draw what they say, from the runs given."""

import matplotlib
import pytest

from deadrelu.experiments import RunResult
from deadrelu.lessons.relu_math import plot_activation, plot_activation_family, plot_relu_valve
from deadrelu.lessons.how_units_die import plot_sweep

matplotlib.use("Agg")


def run(seed, dead, accuracy):
    return RunResult(
        seed=seed,
        layers=["1", "3"],
        dead_fraction=list(dead),
        dormant_fraction=list(dead),
        test_accuracy=accuracy,
        diverged=False,
    )


RESULTS = [
    [run(0, (0.1, 0.0), 0.9), run(1, (0.3, 0.1), 0.8)],  # value 0.1
    [run(0, (0.5, 0.25), 0.5), run(1, (0.7, 0.25), 0.3)],  # value 1.0
]


def test_sweep_plot_draws_mean_dead_share_per_layer_and_accuracy():
    fig = plot_sweep([0.1, 1.0], RESULTS)
    ax, accuracy_ax = fig.axes
    # one error bar per hidden layer: the mean over the two seeds at each value
    assert [list(c.lines[0].get_ydata()) for c in ax.containers] == [pytest.approx([20, 60]), pytest.approx([5, 25])]
    assert list(accuracy_ax.containers[0].lines[0].get_ydata()) == pytest.approx([85, 40])
    assert "dead %, all hidden units" not in ax.get_legend_handles_labels()[1]


def test_sweep_plot_adds_the_whole_network_share_when_given_the_widths():
    fig = plot_sweep([0.1, 1.0], RESULTS, network_widths=(100, 300))
    ax = fig.axes[0]
    # seed 0 at 0.1: (10 + 0) / 400 = 2.5 %; seed 1: (30 + 30) / 400 = 15 % -> mean 8.75
    network = ax.containers[-1]
    assert list(network.lines[0].get_ydata()) == pytest.approx([8.75, (50 + 75 + 70 + 75) / 400 * 100 / 2])
    assert "dead %, all hidden units" in ax.get_legend_handles_labels()[1]
    with pytest.raises(ValueError, match="network_widths gives 3 widths for 2 hidden layers"):
        plot_sweep([0.1, 1.0], RESULTS, network_widths=(1, 2, 3))


def test_activation_plots_return_figures():
    assert plot_activation("GELU").axes[1].get_title() == "GELU: f'(x) by autograd"
    assert len(plot_activation_family().axes) == 2
    fig = plot_relu_valve([-1.0, -0.5, 0.5, 1.0])
    assert "50% of outputs are exactly 0" in [t.get_text() for t in fig.axes[0].texts]
