"""Notebook 04's graded exercises through nbgrader's autograde: correct alternative answers
earn every point, plausible wrong answers lose them with a hint naming the misconception.

(tests/test_checks_learning_rate_and_optimizers.py tries more answers directly against the public checks.)
"""

import pytest

from course_tools import exercise_round_trip

pytestmark = pytest.mark.slow

ASSIGNMENT = "04_learning_rate_and_optimizers"

CORRECT_ALTERNATIVES = {
    "warmup_factor": (
        "def warmup_factor(step, warmup_steps):\n"
        "    return 1.0 if step + 1 >= warmup_steps else (step + 1) / warmup_steps"
    ),
    "clip_grad_norm": (
        "def clip_grad_norm(parameters, max_norm):\n"
        "    grads = [p.grad for p in parameters if p.grad is not None]\n"
        "    total = torch.cat([g.flatten() for g in grads]).norm()\n"
        "    if total > max_norm:\n"
        "        for g in grads:\n"
        "            g.mul_(max_norm / total)\n"
        "    return total"
    ),
    # the design exercise: settings left out keep the baseline's (lr 0.8, raw inputs)
    "one_change_experiment": 'EXPERIMENT = {"control": {}, "treatment": {"inputs": "standardized"}}',
}

# grade_id of the answer -> (wrong answer, test cell, words the failure message must contain)
WRONG_ANSWERS = {
    "one_change_experiment": (
        'EXPERIMENT = {"control": {"lr": 0.8}, "treatment": {"lr": 0.2}}',
        "test_one_change_experiment",
        "both explanations predict fewer deaths at a lower rate",
    ),
    "warmup_factor": (
        "def warmup_factor(step, warmup_steps):\n    return 1.0 if warmup_steps == 0 else "
        "min(1.0, step / warmup_steps)",
        "test_warmup_factor",
        "wastes that step",
    ),
    "clip_grad_norm": (
        "def clip_grad_norm(parameters, max_norm):\n"
        "    total = torch.cat([p.grad.flatten() for p in parameters if p.grad is not None]).norm()\n"
        "    for p in parameters:\n"
        "        if p.grad is not None:\n"
        "            p.grad.mul_(min(1.0, max_norm / (p.grad.norm().item() + 1e-6)))\n"
        "    return total",
        "test_clip_grad_norm",
        "ONE factor for all parameters",
    ),
}


graded, test_correct_alternatives_earn_every_point, test_wrong_answer_loses_its_points_with_a_hint = (
    exercise_round_trip(ASSIGNMENT, CORRECT_ALTERNATIVES, WRONG_ANSWERS)
)
