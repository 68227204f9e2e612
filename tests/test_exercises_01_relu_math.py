"""Notebook 01's graded exercises through nbgrader's autograde: correct alternative answers
earn every point, plausible wrong answers lose them with a hint naming the misconception.

(tests/test_checks_relu_math.py tries many more answers directly against the public checks.)
"""

import pytest

from course_tools import exercise_round_trip

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_relu_math"

CORRECT_ALTERNATIVES = {
    "relu": "def relu(x):\n    return torch.clamp(x, min=0)",
    "relu_grad": "def relu_grad(x):\n    return torch.heaviside(x, torch.zeros_like(x))",
    "leaky_relu": "def leaky_relu(x, slope=0.01):\n    return torch.maximum(x, slope * x)",
    "elu": (
        "def elu(x, alpha=1.0):\n    return torch.clamp(x, min=0) + alpha * (torch.exp(torch.clamp(x, max=0)) - 1)"
    ),
    "zero_gradient_units": "ZERO_GRADIENT_RELU = [4, 2, 1]\nZERO_GRADIENT_LEAKY = (4,)",
}

# grade_id of the answer -> (wrong answer, test cell, words the failure message must contain)
WRONG_ANSWERS = {
    "relu": ("def relu(x):\n    return torch.max(x, 0)", "test_relu", "torch.max(x, 0) is a reduction"),
    "relu_grad": ("def relu_grad(x):\n    return (x >= 0).to(x.dtype)", "test_relu_grad", "`x >= 0` includes 0"),
    "leaky_relu": (
        "def leaky_relu(x, slope=0.01):\n    return slope * x",
        "test_leaky_relu",
        "multiplies positive inputs by the slope",
    ),
    "elu": (
        "def elu(x, alpha=1.0):\n    return torch.where(x > 0, x, alpha * torch.exp(x))",
        "test_elu",
        "without the - 1",
    ),
    "zero_gradient_units": (
        "ZERO_GRADIENT_RELU = {1, 2, 3, 4}\nZERO_GRADIENT_LEAKY = {4}",
        "test_zero_gradient_units",
        "negative on average can still fire on one example",
    ),
}


graded, test_correct_alternatives_earn_every_point, test_wrong_answer_loses_its_points_with_a_hint = (
    exercise_round_trip(ASSIGNMENT, CORRECT_ALTERNATIVES, WRONG_ANSWERS)
)
