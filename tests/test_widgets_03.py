"""Notebook 03's monitor dashboard, driven in a real kernel: every control changes the
figure, quickly; plus the plot and the dashboard's inputs, tested directly."""

import pytest
import torch
from torch import nn

from widget_tools import UPDATE_BUDGET_MS, assert_figure_changed, kernel_run, record_rounds

MONITOR_DASHBOARD = """
import torch
from torch import nn
from deadrelu.lessons.detecting_dead_units import monitor_dashboard

# A 6-40-30-3 MLP with known dead units: 10 in the first layer, 5 in the second.
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 40), nn.ReLU(), nn.Linear(40, 30), nn.ReLU(), nn.Linear(30, 3))
with torch.no_grad():
    model[0].bias[:10] = -100.0
    model[2].bias[:5] = -100.0
X = torch.randn(500, 6, generator=torch.Generator().manual_seed(1))
explorer = monitor_dashboard(model, {"all 500": X, "first 8": X[:8]}, tau=0.1)
"""

DASHBOARD_STEPS = """
dead_at_start = explorer.summary.value
changed["tau"] = change("tau", 0.4)
changed["sort"] = change("sort", False)
changed["layer"] = change("layer", "3")
changed["source"] = change("source", "first 8")
taus = [("tau", tau) for tau in (0.0, 0.025, 0.1, 0.2, 0.5, 0.05)]
others = [("sort", True), ("layer", "1"), ("source", "all 500"), ("sort", False), ("layer", "3"), ("source", "first 8")]
rounds = in_rounds(taus + others)
print(json.dumps({
    "changed": changed, "rounds_ms": rounds, "last_update_ms": explorer.last_update_ms,
    "summary_at_start": dead_at_start, "layer_options": [label for label, _ in explorer.layer.options],
}))
"""


dashboard_run = kernel_run(MONITOR_DASHBOARD, DASHBOARD_STEPS)


@pytest.mark.parametrize("control", ["tau", "sort", "layer", "source"])
def test_each_control_of_the_monitor_dashboard_changes_the_figure(dashboard_run, control):
    assert_figure_changed(dashboard_run, control)


def test_monitor_dashboard_reports_the_known_dead_units(dashboard_run):
    summary = dashboard_run["summary_at_start"]
    assert "<b>10</b> dead" in summary and "Dead units: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in summary, summary
    assert dashboard_run["layer_options"] == ["hidden 1 ('1')", "hidden 2 ('3')"]


def test_monitor_dashboard_updates_within_budget(dashboard_run):
    record_rounds("monitor dashboard update", dashboard_run["rounds_ms"], UPDATE_BUDGET_MS)
    assert 0 < dashboard_run["last_update_ms"] < 10_000


# --- the plot and the inputs, without a kernel ----------------------------------------------
def _report(tau=0.1):
    from deadrelu.monitor import scan

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 12), nn.ReLU(), nn.Linear(12, 2))
    with torch.no_grad():
        model[0].bias[:3] = -100.0  # dead
        model[0].weight[3:5] *= 0.001
        model[0].bias[3:5] = 0.0  # nearly silent: τ-dormant but alive
    return model, scan(model, torch.randn(200, 4, generator=torch.Generator().manual_seed(2)), tau=tau)


def test_unit_states_separate_dead_dormant_and_active():
    from deadrelu.lessons.detecting_dead_units import unit_states

    _, report = _report()
    states = unit_states(report["1"], tau=0.1)
    assert states[:3] == ["dead"] * 3
    assert states[3:5] == ["dormant"] * 2
    assert states.count("active") == 7
    assert unit_states(report["1"], tau=0.0).count("dormant") == 0  # τ = 0: dormant is dead


def test_plot_dormant_scores_draws_on_given_axes_and_returns_the_figure():
    from matplotlib.figure import Figure

    from deadrelu.lessons.detecting_dead_units import plot_dormant_scores

    _, report = _report()
    figure = Figure()
    ax = figure.subplots()
    assert plot_dormant_scores(report["1"], tau=0.1, ax=ax) is figure
    assert "3 dead, 5 τ-dormant at τ = 0.1" in ax.get_title()
    assert [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"] == [0.1]


def test_monitor_dashboard_accepts_a_report_and_rejects_other_things():
    from deadrelu.lessons.detecting_dead_units import MonitorDashboard, monitor_dashboard

    model, report = _report()
    assert isinstance(monitor_dashboard(report), MonitorDashboard)
    with pytest.raises(ValueError, match="give the data"):
        monitor_dashboard(model)
    with pytest.raises(TypeError, match="takes a Report"):
        monitor_dashboard([report])
    with pytest.raises(ValueError, match="no layer 'x'"):
        monitor_dashboard(report, layer="x")
    with pytest.raises(ValueError, match="tau must be a number in"):
        monitor_dashboard(report, tau=2.0)
