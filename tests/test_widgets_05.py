"""Notebook 05's initialisation explorer, driven in a real kernel: every control changes the
figure, and an update answers within the budget."""

import statistics

import pytest

from course_tools import MEASUREMENTS, last_json_line, run_in_kernel

UPDATE_BUDGET_MS = 150  # an explorer that only redraws

INIT_EXPLORER = """
import hashlib, json, time
from deadrelu.lessons.initialization import init_explorer

explorer = init_explorer(scheme="default", depth=30, width=128)
png = lambda: hashlib.sha256(explorer.image.value).hexdigest()
changed, times, summaries = {}, [], {}

def change(control, value):
    before = png()
    started = time.perf_counter()
    setattr(getattr(explorer, control), "value", value)
    times.append((time.perf_counter() - started) * 1000)
    assert abs(explorer.last_update_ms - times[-1]) < times[-1] + 50  # the widget records its own update time
    return png() != before

changed["depth"] = change("depth", 12)
changed["scheme"] = change("scheme", "he_normal")
changed["width"] = change("width", 32)
changed["bias"] = change("bias", 0.01)
for control, value in (("depth", 40), ("depth", 5), ("scheme", "xavier_normal"), ("width", 128), ("bias", None),
                       ("depth", 30), ("scheme", "default"), ("depth", 20), ("bias", 0.0), ("scheme", "orthogonal")):
    change(control, value)
profile = explorer.profile()
print(json.dumps({"changed": changed, "times_ms": times, "depth": profile.depth, "scheme": profile.scheme,
                  "summary": explorer.summary.value}))
"""


@pytest.fixture(scope="module")
def init_explorer_run():
    return last_json_line(run_in_kernel(INIT_EXPLORER))


@pytest.mark.parametrize("control", ["scheme", "depth", "width", "bias"])
def test_each_control_of_the_init_explorer_changes_the_figure(init_explorer_run, control):
    assert init_explorer_run["changed"][control], f"changing {control} left the figure unchanged"


def test_init_explorer_shows_the_current_setting(init_explorer_run):
    run = init_explorer_run
    assert run["depth"] == 20 and run["scheme"] == "orthogonal"
    assert "Last hidden layer (20)" in run["summary"]


def test_init_explorer_updates_within_budget(init_explorer_run):
    times = init_explorer_run["times_ms"]
    median = statistics.median(times)
    MEASUREMENTS["init explorer update"] = (
        f"median {median:.0f} ms, max {max(times):.0f} ms over {len(times)} updates (budget {UPDATE_BUDGET_MS} ms)"
    )
    assert median <= UPDATE_BUDGET_MS, f"median update {median:.0f} ms > {UPDATE_BUDGET_MS} ms"


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


def test_init_explorer_view_follows_the_setting():
    """Moving from a deep net to a shallow one (or to a scheme whose signal does not vanish)
    rescales the axes instead of keeping the old view."""
    from deadrelu.lessons.initialization import init_explorer

    explorer = init_explorer(scheme="default", depth=50, width=32, bias=0.0)
    assert explorer._axes[0].get_xlim()[1] > 45 and explorer._axes[0].get_ylim()[0] < 1e-12
    explorer.depth.value = 5
    explorer.scheme.value = "he_normal"
    assert explorer._axes[0].get_xlim()[1] < 10
    assert explorer._axes[0].get_ylim()[0] >= 1e-2, "the std axis should zoom to He's range"
    assert "Last hidden layer (5)" in explorer.summary.value
