"""Explorer widgets, driven in a real kernel: every control changes the figure, quickly."""

import statistics

import pytest

from course_tools import MEASUREMENTS, last_json_line, run_in_kernel

UPDATE_BUDGET_MS = 150

ACTIVATION_EXPLORER = """
import hashlib, json, statistics, time
from deadrelu.widgets import activation_explorer

explorer = activation_explorer("LeakyReLU")
png = lambda: hashlib.sha256(explorer.image.value).hexdigest()
changed, times = {}, []

def change(control, value):
    before = png()
    started = time.perf_counter()
    setattr(getattr(explorer, control), "value", value)
    times.append((time.perf_counter() - started) * 1000)
    return png() != before

changed["parameter"] = change("parameter", 0.3)
changed["extent"] = change("extent", 7.0)
changed["activation"] = change("activation", "ELU")
for alpha in (0.5, 1.5, 2.5, 0.2, 2.0, 1.0):
    change("parameter", alpha)
for name in ("GELU", "SiLU", "Softplus", "ReLU"):
    change("activation", name)
print(json.dumps({"changed": changed, "times_ms": times, "parameter_disabled_for_ReLU": explorer.parameter.disabled}))
"""


@pytest.fixture(scope="module")
def activation_explorer_run():
    return last_json_line(run_in_kernel(ACTIVATION_EXPLORER))


@pytest.mark.parametrize("control", ["activation", "parameter", "extent"])
def test_each_control_of_the_activation_explorer_changes_the_figure(activation_explorer_run, control):
    assert activation_explorer_run["changed"][control], f"changing {control} left the figure unchanged"


def test_activation_explorer_disables_the_slider_when_there_is_no_parameter(activation_explorer_run):
    assert activation_explorer_run["parameter_disabled_for_ReLU"]


def test_activation_explorer_updates_within_budget(activation_explorer_run):
    times = activation_explorer_run["times_ms"]
    median = statistics.median(times)
    MEASUREMENTS["activation explorer update"] = f"median {median:.0f} ms, max {max(times):.0f} ms over {len(times)} updates (budget {UPDATE_BUDGET_MS} ms)"
    assert median <= UPDATE_BUDGET_MS, f"median update {median:.0f} ms > {UPDATE_BUDGET_MS} ms"


def test_explorer_rejects_an_unknown_activation():
    from deadrelu.widgets import activation_explorer

    with pytest.raises(ValueError, match="unknown activation 'Relu'.*ReLU"):
        activation_explorer("Relu")
