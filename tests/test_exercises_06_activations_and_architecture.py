"""Notebook 06's graded exercises through nbgrader's autograde: correct alternative answers
earn every point, plausible wrong answers lose them with a hint naming the misconception.

(tests/test_checks_activations_and_architecture.py tries more answers directly against the
public checks.)
"""

import pytest

from course_tools import exercise_round_trip

pytestmark = pytest.mark.slow

ASSIGNMENT = "06_activations_and_architecture"

CORRECT_ALTERNATIVES = {
    "batch_norm_train": (
        "def batch_norm_train(x, gamma, beta, eps=1e-5):\n"
        "    var, mean = torch.var_mean(x, dim=0, correction=0)\n"
        "    return torch.addcmul(beta, gamma, (x - mean) * torch.rsqrt(var + eps))"
    ),
    "ResidualBlock": (
        "class ResidualBlock(nn.Module):\n"
        "    def __init__(self, width):\n"
        "        super().__init__()\n"
        "        self.branch = nn.Sequential(nn.Linear(width, width), nn.ReLU())\n\n"
        "    def forward(self, x):\n"
        "        return self.branch(x) + x"
    ),
    "PREDICTED_DEAD_RANKING": 'PREDICTED_DEAD_RANKING = ("Plain", "x+relu(Wx)", "standard")',
}

# grade_id of the answer -> (wrong answer, test cell, words the failure message must contain)
WRONG_ANSWERS = {
    "batch_norm_train": (
        "def batch_norm_train(x, gamma, beta, eps=1e-5):\n"
        "    return gamma * (x - x.mean(0)) / torch.sqrt(x.var(0) + eps) + beta",
        "test_batch_norm_train",
        "BIASED batch variance",
    ),
    "ResidualBlock": (
        "class ResidualBlock(nn.Module):\n"
        "    def __init__(self, width):\n"
        "        super().__init__()\n"
        "        self.linear = nn.Linear(width, width)\n\n"
        "    def forward(self, x):\n"
        "        return torch.relu(x + self.linear(x))",
        "test_ResidualBlock",
        "ReLU is applied after the addition",
    ),
    "PREDICTED_DEAD_RANKING": (
        'PREDICTED_DEAD_RANKING = ["x + ReLU(Wx)", "plain", "x + W2·ReLU(W1x)"]',
        "test_PREDICTED_DEAD_RANKING",
        "shrinks layer after layer",
    ),
}


graded, test_correct_alternatives_earn_every_point, test_wrong_answer_loses_its_points_with_a_hint = (
    exercise_round_trip(ASSIGNMENT, CORRECT_ALTERNATIVES, WRONG_ANSWERS)
)
