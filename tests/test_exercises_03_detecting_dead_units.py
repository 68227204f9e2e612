"""Notebook 03's graded exercises through nbgrader's autograde: correct alternative answers
earn every point, plausible wrong answers lose them with a hint naming the misconception.

(tests/test_checks_detecting_dead_units.py tries many more answers directly against the public checks.)
"""

import pytest

from course_tools import error_messages, exercise_round_trip, with_answers

pytestmark = pytest.mark.slow

ASSIGNMENT = "03_detecting_dead_units"

CORRECT_ALTERNATIVES = {
    "which_units_are_dead": "DEAD_ON_TRAINING_SET = [7, 4, 0]\nDORMANT_NOT_DEAD = (5, 2)",
    "count_dead_units": (
        "def count_dead_units(activation_batches):\n"
        "    everything = torch.cat(list(activation_batches))\n"
        "    return int((everything <= 0).all(dim=0).sum())"
    ),
    "dead_units_with_hooks": (
        "def dead_units_with_hooks(model, X, batch_size=256):\n"
        "    outputs, handles = {}, []\n"
        "    for name, module in model.named_modules():\n"
        "        if isinstance(module, nn.ReLU):\n"
        "            outputs[name] = []\n"
        "            handles.append(module.register_forward_hook(\n"
        "                lambda m, inputs, out, name=name: outputs[name].append(out.detach().clone())))\n"
        "    try:\n"
        "        with torch.no_grad():\n"
        "            for xb in X.split(batch_size):\n"
        "                model(xb)\n"
        "    finally:\n"
        "        for handle in handles:\n"
        "            handle.remove()\n"
        "    return {name: int((torch.cat(outs) <= 0).all(dim=0).sum()) for name, outs in outputs.items() if outs}"
    ),
    "dormant_scores": (
        "def dormant_scores(h):\n"
        "    units_last = h.movedim(1, -1) if h.dim() == 4 else h\n"
        "    per_unit = units_last.abs().reshape(-1, units_last.shape[-1]).mean(dim=0)\n"
        "    return per_unit / (per_unit.mean() + 1e-12)"
    ),
}

# grade_id of the answer -> (wrong answer, test cell, words the failure message must contain)
WRONG_ANSWERS = {
    "which_units_are_dead": (  # unit 4 fired once on the test set, never on the training set
        "DEAD_ON_TRAINING_SET = {0, 7}\nDORMANT_NOT_DEAD = {2, 5}",
        "test_which_units_are_dead",
        "Firing on another data set (the test set)",
    ),
    "count_dead_units": (
        "def count_dead_units(activation_batches):\n"
        "    dead = 0\n"
        "    for h in activation_batches:\n"
        "        dead += int((h.sum(dim=0) == 0).sum())\n"
        "    return dead",
        "test_count_dead_units",
        "Counting each batch on its own and adding",
    ),
    "dead_units_with_hooks": (
        "def dead_units_with_hooks(model, X, batch_size=256):\n"
        "    fired = {}\n"
        "    for name, module in model.named_modules():\n"
        "        if isinstance(module, nn.ReLU):\n"
        "            module.register_forward_hook(\n"
        "                lambda m, i, out, name=name: fired.__setitem__(name, fired.get(name, False) | (out > "
        "0).any(0)))\n    with torch.no_grad():\n        for xb in X.split(batch_size):\n            model(xb)\n    "
        "return {name: int((~mask).sum()) for name, mask in fired.items()}",
        "test_dead_units_with_hooks",
        "forgetting to remove hooks",
    ),
    "dormant_scores": (
        "def dormant_scores(h):\n"
        "    per_position = h.abs().mean(dim=0).flatten()\n"
        "    return per_position / (per_position.mean() + 1e-12)",
        "test_dormant_scores",
        "counts (channel, position) pairs as units",
    ),
}


graded, test_correct_alternatives_earn_every_point, test_wrong_answer_loses_its_points_with_a_hint = (
    exercise_round_trip(ASSIGNMENT, CORRECT_ALTERNATIVES, WRONG_ANSWERS, students=("erin", "frank"))
)


# A second wrong dead_units_with_hooks, handed in by a third student (one answer per cell and
# student): everything right except torch.no_grad(). Nothing calls backward, yet every forward
# pass records the autograd graph; the test cell must say so.
MEASURES_WITH_GRADIENTS = (
    "def dead_units_with_hooks(model, X, batch_size=256):\n"
    "    fired, handles = {}, []\n"
    "    for name, module in model.named_modules():\n"
    "        if isinstance(module, nn.ReLU):\n"
    "            handles.append(module.register_forward_hook(\n"
    "                lambda m, i, out, name=name: fired.__setitem__(name, fired.get(name, False) | (out.detach() > "
    "0).any(0))))\n    try:\n        for xb in X.split(batch_size):\n            model(xb)\n    finally:\n        for "
    "handle in handles:\n            handle.remove()\n    return {name: int((~mask).sum()) for name, mask in "
    "fired.items()}"
)


@pytest.fixture(scope="module")
def graded_with_gradients(graded):
    student_version = graded.root / "course" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    graded.submit(
        "grace", ASSIGNMENT, with_answers(student_version, {"dead_units_with_hooks": MEASURES_WITH_GRADIENTS})
    )
    graded.autograde(ASSIGNMENT)
    return graded


def test_measuring_with_gradients_enabled_loses_its_points_with_a_hint(graded_with_gradients):
    score, maximum = graded_with_gradients.scores("grace", ASSIGNMENT)["test_dead_units_with_hooks"]
    assert maximum > 0 and score == 0, f"measuring with gradients enabled kept {score} of {maximum} points"
    messages = error_messages(
        graded_with_gradients.autograded_notebook("grace", ASSIGNMENT), "test_dead_units_with_hooks"
    )
    assert any("nothing calls backward, so no gradients are involved" in message for message in messages), messages
