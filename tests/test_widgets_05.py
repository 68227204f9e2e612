"""Notebook 05's initialisation explorer, driven in a real kernel: every control changes the
figure, and an update answers within the budget."""

import pytest

from widget_tools import UPDATE_BUDGET_MS, assert_figure_changed, kernel_run, record_timing

INIT_EXPLORER = """
from deadrelu.lessons.initialization import init_explorer

explorer = init_explorer(scheme="default", depth=30, width=128)
"""

INIT_STEPS = """
def timed_change(control, value):
    answer = change(control, value)
    assert abs(explorer.last_update_ms - times[-1]) < times[-1] + 50  # the widget records its own update time
    return answer

changed["depth"] = timed_change("depth", 12)
changed["scheme"] = timed_change("scheme", "he_normal")
changed["width"] = timed_change("width", 32)
changed["bias"] = timed_change("bias", 0.01)
for control, value in (("depth", 40), ("depth", 5), ("scheme", "xavier_normal"), ("width", 128), ("bias", None),
                       ("depth", 30), ("scheme", "default"), ("depth", 20), ("bias", 0.0), ("scheme", "orthogonal")):
    timed_change(control, value)
profile = explorer.profile()
print(json.dumps({"changed": changed, "times_ms": times, "depth": profile.depth, "scheme": profile.scheme,
                  "summary": explorer.summary.value}))
"""


init_explorer_run = kernel_run(INIT_EXPLORER, INIT_STEPS)


@pytest.mark.parametrize("control", ["scheme", "depth", "width", "bias"])
def test_each_control_of_the_init_explorer_changes_the_figure(init_explorer_run, control):
    assert_figure_changed(init_explorer_run, control)


def test_init_explorer_shows_the_current_setting(init_explorer_run):
    run = init_explorer_run
    assert run["depth"] == 20 and run["scheme"] == "orthogonal"
    assert "Last hidden layer (20)" in run["summary"]


def test_init_explorer_updates_within_budget(init_explorer_run):
    record_timing("init explorer update", init_explorer_run["times_ms"], UPDATE_BUDGET_MS)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scheme": "kaiming"}, "unknown init scheme 'kaiming'"),
        ({"width": 100}, "width must be one of"),
        ({"bias": 0.5}, "bias must be one of"),
    ],
)
def test_init_explorer_rejects_unknown_settings(kwargs, message):
    from deadrelu.lessons.initialization import init_explorer

    with pytest.raises(ValueError, match=message):
        init_explorer(**kwargs)


def test_init_explorer_takes_the_arguments_and_defaults_of_its_class():
    import inspect

    from deadrelu.lessons.initialization import InitExplorer, init_explorer

    explorer = init_explorer(depth=4, width=16, n_inputs=64)
    assert explorer.n_inputs == 64 and explorer.profile().n_inputs == 64
    defaults = {k: p.default for k, p in inspect.signature(InitExplorer).parameters.items()}
    assert (defaults["scheme"], defaults["bias"]) == (explorer.scheme.value, explorer.bias.value)


def test_init_explorer_view_follows_the_setting():
    """Moving from a deep net to a shallow one (or to a scheme whose signal does not vanish)
    rescales the axes instead of keeping the old view."""
    from deadrelu.lessons.initialization import init_explorer

    explorer = init_explorer(scheme="default", depth=50, width=32, bias=0.0)
    assert explorer.axes[0].get_xlim()[1] > 45 and explorer.axes[0].get_ylim()[0] < 1e-12
    explorer.depth.value = 5
    explorer.scheme.value = "he_normal"
    assert explorer.axes[0].get_xlim()[1] < 10
    assert explorer.axes[0].get_ylim()[0] >= 1e-2, "the std axis should zoom to He's range"
    assert "Last hidden layer (5)" in explorer.summary.value
