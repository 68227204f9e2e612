"""What the explorer tests share: driving an explorer in a real kernel, and judging its timing.

`drive_in_kernel(build, steps)` runs `build` (code that makes `explorer`) in a fresh kernel,
then the shared helpers below, then `steps`, which must print one JSON line; it returns that
line, parsed. In `steps`:
- `change(control, value)` sets `explorer.<control>.value = value`, appends how long it took
  (ms) to `times` and returns whether the figure's PNG changed;
- `changed` is a dict to record those answers in, `progress_seen` every value the progress
  bar took (explorers that train);
- `in_rounds(changes)` makes a list of changes twice and returns the times of each round.
`kernel_run` makes that a module-scoped fixture and `assert_figure_changed` reads its
`changed`; `record_timing` and `record_rounds` write a measurement to MEASUREMENTS and check it against
its budget.
"""

import statistics

import pytest

from course_tools import MEASUREMENTS, last_json_line, run_in_kernel

UPDATE_BUDGET_MS = 150  # an explorer that only redraws
RETRAIN_BUDGET_MS = 2000  # an explorer that retrains a model

HELPERS = """
import hashlib, json, statistics, time

png = lambda: hashlib.sha256(explorer.image.value).hexdigest()
changed, times, progress_seen = {}, [], []
if getattr(explorer, "progress", None) is not None:
    explorer.progress.observe(lambda change: progress_seen.append(change["new"]), names="value")


def change(control, value):
    before = png()
    started = time.perf_counter()
    setattr(getattr(explorer, control), "value", value)
    times.append((time.perf_counter() - started) * 1000)
    return png() != before


def in_rounds(changes, count=2):
    # make `changes` ((control, value) pairs) `count` times over; the times (ms) of each round:
    # several rounds, so that a burst of load on a shared machine does not decide a test
    rounds = []
    for _ in range(count):
        start = len(times)
        for control, value in changes:
            change(control, value)
        rounds.append(times[start:])
    return rounds
"""


def drive_in_kernel(build, steps, timeout=120):
    """Run `build`, the shared helpers and `steps` in a fresh kernel; the JSON line it printed last."""
    return last_json_line(run_in_kernel(build + "\n" + HELPERS + "\n" + steps, timeout=timeout))


def kernel_run(build, steps, timeout=120):
    """A module-scoped fixture: the JSON line of `drive_in_kernel(build, steps)`, run once per
    test module (name it like the explorer: `init_explorer_run = kernel_run(...)`)."""

    @pytest.fixture(scope="module")
    def run():
        return drive_in_kernel(build, steps, timeout)

    return run


def assert_figure_changed(run, control):
    """Changing `control` (recorded in `changed` by the kernel's steps) changed the figure."""
    assert run["changed"][control], f"changing {control} left the figure unchanged"


def assert_progress_moved(run):
    """The progress bar moved while the model retrained (`progress_seen` in the kernel's steps)."""
    assert run["progress_steps"] > 5, "the progress bar should move while the model retrains"


def record_timing(name, times, budget_ms, what="updates", statistic="median", note=""):
    """Record `name`'s median and max over `times` (ms) and check `statistic` ("median" or
    "max") against `budget_ms`."""
    median, longest = statistics.median(times), max(times)
    MEASUREMENTS[name] = (
        f"median {median:.0f} ms, max {longest:.0f} ms over {len(times)} {what}{note} (budget {budget_ms} ms)"
    )
    measured = median if statistic == "median" else longest
    assert measured <= budget_ms, f"{name}: {statistic} {measured:.0f} ms > {budget_ms} ms"


def record_rounds(name, rounds, budget_ms):
    """Like `record_timing` for several rounds of the same updates: the best round's median must
    fit the budget, so that a burst of load on a shared machine does not decide the test."""
    medians = [statistics.median(times) for times in rounds]
    every = [t for times in rounds for t in times]
    MEASUREMENTS[name] = (
        f"median {min(medians):.0f} ms (rounds: {', '.join(f'{m:.0f}' for m in medians)}), max {max(every):.0f} ms "
        f"over {len(every)} updates (budget {budget_ms} ms)"
    )
    assert min(medians) <= budget_ms, f"{name}: median update {min(medians):.0f} ms > {budget_ms} ms in every round"


def assert_full_labels(explorer):
    """Every control of `explorer` shows its whole description (description_width "initial"),
    and every option of a dropdown has a visible label that is not "None"."""
    for control in explorer.controls:
        if getattr(control, "description", ""):
            assert control.style.description_width == "initial", (
                f"{type(explorer).__name__}.{control.description!r}: its label may be cut"
            )
        for label in getattr(control, "_options_labels", ()):
            assert label.strip() and label != "None", (
                f"{type(explorer).__name__}: the {control.description!r} dropdown has an option labelled {label!r}"
            )
        if hasattr(control, "_options_labels"):
            assert control.index is not None, f"{control.description!r} shows no selection (value {control.value!r})"
