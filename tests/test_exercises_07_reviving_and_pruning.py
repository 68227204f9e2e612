"""Notebook 07's graded exercises through nbgrader's autograde: correct alternative answers
earn every point, plausible wrong answers lose them with a hint naming the misconception.

(tests/test_checks_reviving_and_pruning.py tries more answers directly against the public checks.)
"""

import pytest

from course_tools import exercise_round_trip

pytestmark = pytest.mark.slow

ASSIGNMENT = "07_reviving_and_pruning"

CORRECT_ALTERNATIVES = {
    "recycle_units": (
        "def recycle_units(incoming, outgoing, units, optimizer=None, generator=None):\n"
        "    fresh = torch.empty(len(units), incoming.in_features)\n"
        "    nn.init.kaiming_uniform_(fresh, a=5 ** 0.5, generator=generator)\n"
        "    with torch.no_grad():\n"
        "        incoming.weight[units] = fresh\n"
        "        incoming.bias[units] = 0.0\n"
        "        outgoing.weight[:, units] = 0.0\n"
        "    if optimizer is not None:\n"
        "        for p, index in ((incoming.weight, units), (incoming.bias, units), (outgoing.weight, (slice(None), "
        "units))):\n            for value in optimizer.state.get(p, {}).values():\n                if "
        "torch.is_tensor(value) and value.shape == p.shape:\n                    value[index] = 0.0"
    ),
    "prune_pair": (
        "def prune_pair(first, second, dead):\n"
        "    keep = (~dead).nonzero().flatten()\n"
        "    a, b = nn.Linear(first.in_features, len(keep)), nn.Linear(len(keep), second.out_features)\n"
        "    a.weight = nn.Parameter(first.weight.detach()[keep].clone())\n"
        "    a.bias = nn.Parameter(first.bias.detach()[keep].clone())\n"
        "    b.weight = nn.Parameter(second.weight.detach()[:, keep].clone())\n"
        "    b.bias = nn.Parameter(second.bias.detach().clone())\n"
        "    return a, b"
    ),
    "PREDICTED_RECYCLED": "PREDICTED_RECYCLED = [6, 3, 0]",
}

# grade_id of the answer -> (wrong answer, test cell, words the failure message must contain)
WRONG_ANSWERS = {
    "recycle_units": (
        "def recycle_units(incoming, outgoing, units, optimizer=None, generator=None):\n"
        "    with torch.no_grad():\n"
        "        incoming.weight[units] = 0.0\n"
        "        incoming.bias[units] = 0.0\n"
        "        outgoing.weight[:, units] = 0.1",
        "test_recycle_units",
        "zero the OUTGOING weights",
    ),
    "prune_pair": (
        "def prune_pair(first, second, dead):\n"
        "    keep = dead\n"
        "    a, b = nn.Linear(first.in_features, int(keep.sum())), nn.Linear(int(keep.sum()), second.out_features)\n"
        "    with torch.no_grad():\n"
        "        a.weight.copy_(first.weight[keep]); a.bias.copy_(first.bias[keep])\n"
        "        b.weight.copy_(second.weight[:, keep]); b.bias.copy_(second.bias)\n"
        "    return a, b",
        "test_prune_pair",
        "you kept the DEAD units",
    ),
    "PREDICTED_RECYCLED": ("PREDICTED_RECYCLED = {0, 6}", "test_PREDICTED_RECYCLED", "exactly at τ"),
}


graded, test_correct_alternatives_earn_every_point, test_wrong_answer_loses_its_points_with_a_hint = (
    exercise_round_trip(ASSIGNMENT, CORRECT_ALTERNATIVES, WRONG_ANSWERS)
)
