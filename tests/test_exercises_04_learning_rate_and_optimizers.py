"""Notebook 04's graded exercises through nbgrader's autograde: correct alternative answers
earn every point, plausible wrong answers lose them with a hint naming the misconception.

(tests/test_checks_learning_rate_and_optimizers.py tries more answers directly against the public checks.)
"""

import pytest

from course_tools import error_messages, with_answers

pytestmark = pytest.mark.slow

ASSIGNMENT = "04_learning_rate_and_optimizers"

CORRECT_ALTERNATIVES = {
    "update_to_weight_ratio": (
        "def update_to_weight_ratio(weight_before, weight_after):\n"
        "    return float(torch.linalg.matrix_norm(weight_after - weight_before) / torch.linalg.matrix_norm(weight_before))"
    ),
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
}

# grade_id of the answer -> (wrong answer, test cell, words the failure message must contain)
WRONG_ANSWERS = {
    "update_to_weight_ratio": (
        "def update_to_weight_ratio(weight_before, weight_after):\n"
        "    return ((weight_after.norm() - weight_before.norm()).abs() / weight_before.norm()).item()",
        "test_update_to_weight_ratio",
        "a rotation moves them",
    ),
    "warmup_factor": (
        "def warmup_factor(step, warmup_steps):\n    return 1.0 if warmup_steps == 0 else min(1.0, step / warmup_steps)",
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


@pytest.fixture(scope="module")
def graded(released_course):
    student_version = released_course.root / "course" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    released_course.submit("carol", ASSIGNMENT, with_answers(student_version, CORRECT_ALTERNATIVES))
    released_course.submit("dave", ASSIGNMENT, with_answers(student_version, {k: v[0] for k, v in WRONG_ANSWERS.items()}))
    released_course.autograde(ASSIGNMENT)
    return released_course


def test_correct_alternatives_earn_every_point(graded):
    scores = graded.scores("carol", ASSIGNMENT)
    assert all(score == maximum for score, maximum in scores.values()), scores


@pytest.mark.parametrize("answer", sorted(WRONG_ANSWERS))
def test_wrong_answer_loses_its_points_with_a_hint(graded, answer):
    _, test_cell, hint = WRONG_ANSWERS[answer]
    score, maximum = graded.scores("dave", ASSIGNMENT)[test_cell]
    assert maximum > 0 and score == 0, f"the wrong {answer} kept {score} of {maximum} points"
    messages = error_messages(graded.autograded_notebook("dave", ASSIGNMENT), test_cell)
    assert any(hint in message for message in messages), f"no hint {hint!r} in {messages}"
