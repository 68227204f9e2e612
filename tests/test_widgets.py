"""Explorer widgets, driven in a real kernel: every control changes the figure, quickly. Also the
explorer base class (deadrelu.figures.Explorer) and what every explorer shows: full labels,
and a name for every option."""

import pytest

from widget_tools import (
    RETRAIN_BUDGET_MS,
    UPDATE_BUDGET_MS,
    assert_figure_changed,
    assert_full_labels,
    assert_progress_moved,
    kernel_run,
    record_rounds,
    record_timing,
)

ACTIVATION_EXPLORER = """
from deadrelu.lessons.relu_math import activation_explorer

explorer = activation_explorer("LeakyReLU")
"""

ACTIVATION_STEPS = """
changed["parameter"] = change("parameter", 0.3)
changed["extent"] = change("extent", 7.0)
changed["activation"] = change("activation", "ELU")
alphas = [("parameter", alpha) for alpha in (0.5, 1.5, 2.5, 0.2, 2.0, 1.0)]
names = [("activation", name) for name in ("ELU", "GELU", "SiLU", "Softplus", "ReLU", "ELU")]
rounds = in_rounds(alphas + names)
print(json.dumps({"changed": changed, "rounds_ms": rounds}))
"""


activation_explorer_run = kernel_run(ACTIVATION_EXPLORER, ACTIVATION_STEPS)


@pytest.mark.parametrize("control", ["activation", "parameter", "extent"])
def test_each_control_of_the_activation_explorer_changes_the_figure(activation_explorer_run, control):
    assert_figure_changed(activation_explorer_run, control)


def test_activation_explorer_disables_the_slider_when_there_is_no_parameter():
    from deadrelu.lessons.relu_math import activation_explorer

    explorer = activation_explorer("ReLU")
    assert explorer.parameter.disabled
    explorer.activation.value = "ELU"
    assert not explorer.parameter.disabled and explorer.parameter.value == 1.0


def test_activation_explorer_updates_within_budget(activation_explorer_run):
    record_rounds("activation explorer update", activation_explorer_run["rounds_ms"], UPDATE_BUDGET_MS)


def test_explorer_rejects_an_unknown_activation():
    from deadrelu.lessons.relu_math import activation_explorer

    with pytest.raises(ValueError, match="unknown activation 'Relu'.*ReLU"):
        activation_explorer("Relu")


LEARNING_RATE_EXPLORER = """
from deadrelu.data import load_digits_split
from deadrelu.lessons.how_units_die import learning_rate_explorer

explorer = learning_rate_explorer(load_digits_split(seed=0), lr=0.1, optimizers=("sgd", "adam"), clip_values=(1.0,),
                                  lr_exponents=(-4, 0.5))  # notebook 04's configuration; 02's has lr and seed only
"""

LEARNING_RATE_STEPS = """
changed["lr"] = change("lr", 1.0)
changed["seed"] = change("seed", 3)
changed["optimizer"] = change("optimizer", "adam")
changed["clip"] = change("clip", 1.0)
change("optimizer", "sgd")
change("clip", None)
for lr in (0.5, 0.03, 2.0):
    change("lr", lr)
last_dead = explorer.history.tracking["3"].dead_fraction[-1]
print(json.dumps({"changed": changed, "times_ms": times, "progress_steps": len(set(progress_seen)),
                  "progress_max": explorer.progress.max, "diverged_or_dead": last_dead}))
"""


learning_rate_explorer_run = kernel_run(LEARNING_RATE_EXPLORER, LEARNING_RATE_STEPS)


@pytest.mark.parametrize("control", ["lr", "seed", "optimizer", "clip"])
def test_each_control_of_the_learning_rate_explorer_changes_the_figure(learning_rate_explorer_run, control):
    assert_figure_changed(learning_rate_explorer_run, control)


def test_learning_rate_explorer_shows_progress_and_answers_within_budget(learning_rate_explorer_run):
    run = learning_rate_explorer_run
    assert_progress_moved(run)
    record_timing(
        "learning-rate explorer retrain + redraw", run["times_ms"], RETRAIN_BUDGET_MS, "retrains", statistic="max"
    )


def test_learning_rate_explorer_shows_units_dying_at_a_high_rate(learning_rate_explorer_run):
    assert learning_rate_explorer_run["diverged_or_dead"] == 1.0  # the last setting, lr = 2: layer 3 all dead


LEARNING_RATE_EXPLORER_02 = """
from deadrelu.data import load_digits_split
from deadrelu.lessons.how_units_die import learning_rate_explorer

explorer = learning_rate_explorer(load_digits_split(seed=0), lr=0.8, every=5, short_batch=False)  # notebook 02's
"""

LEARNING_RATE_STEPS_02 = """
def epoch_lines():
    vertical = [line.get_xdata() for line in explorer.ax.lines]
    return [x[0] for x in vertical if len(x) == 2 and len(set(x)) == 1]

lines = {"full batches": epoch_lines()}
changed["short_batch"] = change("short_batch", True)
lines["short batch kept"] = epoch_lines()
steps = {"short batch kept": len(explorer.history.steps)}
changed["lr"] = change("lr", 0.3)
changed["seed"] = change("seed", 2)
change("short_batch", False)
steps["full batches"] = len(explorer.history.steps)
for lr in (0.8, 1.5, 0.05):
    change("lr", lr)
print(json.dumps({"changed": changed, "times_ms": times, "lines": lines, "steps": steps,
                  "controls": [type(c).__name__ for c in explorer.children[0].children]}))
"""


learning_rate_explorer_02_run = kernel_run(LEARNING_RATE_EXPLORER_02, LEARNING_RATE_STEPS_02)


@pytest.mark.parametrize("control", ["short_batch", "lr", "seed"])
def test_each_control_of_notebook_02s_explorer_changes_the_figure(learning_rate_explorer_02_run, control):
    assert_figure_changed(learning_rate_explorer_02_run, control)


def test_notebook_02s_explorer_marks_every_epoch_end_and_keeps_the_short_batch_only_when_asked(
    learning_rate_explorer_02_run,
):
    run = learning_rate_explorer_02_run
    # 1,347 training images at batch 32: 42 full batches, plus a 3-example batch when it is kept
    assert run["lines"]["full batches"] == [42, 84, 126, 168, 210]
    assert run["lines"]["short batch kept"] == [43, 86, 129, 172, 215]
    assert run["steps"] == {"full batches": 210, "short batch kept": 215}
    assert run["controls"] == [
        "FloatLogSlider",
        "IntSlider",
        "Checkbox",
    ]  # lr, seed, short batch: 04's optimizer and clip stay off


def test_notebook_02s_explorer_answers_within_budget(learning_rate_explorer_02_run):
    times = learning_rate_explorer_02_run["times_ms"]
    record_timing("learning-rate explorer (02) retrain + redraw", times, RETRAIN_BUDGET_MS, "retrains", statistic="max")


CAPSTONE_EXPLORER = """
from deadrelu.lessons.capstone_diagnose_and_fix import capstone_explorer

explorer = capstone_explorer()
"""

CAPSTONE_STEPS = """
for control, value in (("inputs", "scaled"), ("bias", 0.0), ("lr", 0.1), ("normalization", "batch"),
                       ("init", "he_normal")):
    changed[control] = change(control, value)
print(json.dumps({"changed": changed, "times_ms": times, "progress": explorer.progress.value == explorer.progress.max}))
"""


capstone_explorer_run = kernel_run(CAPSTONE_EXPLORER, CAPSTONE_STEPS)


@pytest.mark.parametrize("control", ["inputs", "bias", "lr", "normalization", "init"])
def test_each_control_of_the_capstone_explorer_changes_the_figure(capstone_explorer_run, control):
    assert_figure_changed(capstone_explorer_run, control)


def test_capstone_explorer_answers_within_budget(capstone_explorer_run):
    assert capstone_explorer_run["progress"]
    record_timing(
        "capstone explorer retrain + redraw", capstone_explorer_run["times_ms"], RETRAIN_BUDGET_MS, "retrains"
    )


# --- every explorer: full labels, named options; the base class -----------------------------
def _every_explorer():
    from deadrelu.data import load_digits_split
    from deadrelu.lessons.activations_and_architecture import architecture_explorer
    from deadrelu.lessons.capstone_diagnose_and_fix import capstone_explorer
    from deadrelu.lessons.detecting_dead_units import monitor_dashboard
    from deadrelu.lessons.how_units_die import learning_rate_explorer
    from deadrelu.lessons.initialization import init_explorer
    from deadrelu.lessons.relu_math import activation_explorer
    from deadrelu.lessons.reviving_and_pruning import recycling_explorer
    from deadrelu.models import make_mlp

    digits = load_digits_split(seed=0)
    model = make_mlp((64, 16, 16, 10), seed=0)
    X = digits.X_train[:200]
    return [
        activation_explorer("ELU"),
        learning_rate_explorer(digits, epochs=1, optimizers=("sgd", "adam"), clip_values=(None, 1.0), short_batch=True),
        monitor_dashboard(model, {"training set": X, "first 8": X[:8]}),
        init_explorer(depth=5, width=32),
        architecture_explorer(digits, depth=3, steps=10),
        recycling_explorer(digits, epochs=1),
        capstone_explorer(epochs=1, config={"normalization": None, "bias_init": None}),
    ]


def test_every_explorer_shows_full_labels_and_names_every_option():
    explorers = _every_explorer()
    assert len(explorers) == 7
    for explorer in explorers:
        assert_full_labels(explorer)
    # a None choice is selected and named, not a blank box (ipywidgets reads value None as "no selection")
    capstone = explorers[-1]
    assert (capstone.normalization.label, capstone.bias.label) == ("none", "init's own")
    architecture = explorers[4]
    architecture.normalization.value = "batch"
    architecture.normalization.value = None
    assert architecture.normalization.label == "no normalization" and "no normalization" in architecture.summary.value


def test_a_choice_keeps_none_selected_and_refuses_unnamed_options():
    from deadrelu.figures import Choice

    choice = Choice([("off", None), ("1", 1.0)], value=None, description="clip norm")
    assert (choice.index, choice.label) == (0, "off")
    choice.value = 1.0
    choice.index = 0  # what the browser sends when "off" is picked
    assert (choice.value, choice.label, choice.index) == (None, "off", 0)
    with pytest.raises(ValueError, match="visible label"):
        Choice([None, 1.0])
    with pytest.raises(ValueError, match="visible label"):
        Choice([("", 1.0)])
    with pytest.raises(ValueError, match="not one of the options"):
        choice.value = 2.0


def test_the_explorer_base_class_times_a_redraw_and_shows_it():
    import ipywidgets as widgets

    from deadrelu.figures import Explorer

    class Line(Explorer):
        def __init__(self):
            self.slope = widgets.FloatSlider(value=1.0, min=-2, max=2, description="slope of the line")
            self.draws = 0
            Explorer.__init__(self, [[self.slope]], figsize=(3, 2), summary=True)

        def draw(self):
            self.draws += 1
            self.ax.plot([0, 1], [0, self.slope.value])
            self.summary.value = f"slope {self.slope.value:g}"

    line = Line()
    first = bytes(line.image.value)
    assert line.draws == 1 and first.startswith(b"\x89PNG") and line.last_update_ms > 0
    assert line.progress is None and line.children[-1] is line.image and line.children[-2] is line.summary
    assert line.slope.style.description_width == "initial"
    line.last_update_ms = float("nan")
    line.slope.value = -1.5
    assert line.draws == 2 and bytes(line.image.value) != first and line.last_update_ms > 0
    assert len(line.ax.lines) == 1, "the axes are cleared before each draw"
    assert line.summary.value == "slope -1.5"


def test_an_explorer_that_trains_moves_its_progress_bar():
    import ipywidgets as widgets

    from deadrelu.figures import Explorer

    class Counter(Explorer):
        def __init__(self):
            self.steps = widgets.IntSlider(value=25, min=10, max=50, description="steps")
            self.seen = []
            self.progress_seen = []
            Explorer.__init__(self, [[self.steps]], figsize=(3, 2), trains=True)

        def retrain(self):
            self.start_progress(self.steps.value)
            self.progress.observe(lambda change: self.progress_seen.append(change["new"]), names="value")
            for step in range(1, self.steps.value + 1):
                self.tick(step, None, None)

        def draw(self):
            self.ax.bar([0], [self.steps.value])

    counter = Counter()
    assert counter.progress.max == 25 and counter.progress.value == 25
    assert counter.progress_seen[:2] == [10, 20]
    assert list(counter.children).index(counter.progress) == 1, "the progress bar sits under the controls"
