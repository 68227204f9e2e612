"""Notebook 02's graded exercises through nbgrader's autograde: correct alternative answers
earn every point, plausible wrong answers lose them with a hint naming the misconception.

(tests/test_checks_how_units_die.py tries more answers directly against the public checks.)
"""

import pytest

from course_tools import exercise_round_trip

pytestmark = pytest.mark.slow

ASSIGNMENT = "02_how_units_die"

CORRECT_ALTERNATIVES = {
    "is_dead_on": "def is_dead_on(w, b, X):\n    return torch.relu(X @ w + b).max() == 0",
    "dead_units": "def dead_units(W, b, X):\n    return torch.relu(nn.functional.linear(X, W, b)).sum(dim=0) == 0",
    "born_dead_ranking": "BORN_DEAD_RANKING = 'b, a, d, c'",
}

# grade_id of the answer -> (wrong answer, test cell, words the failure message must contain)
WRONG_ANSWERS = {
    "is_dead_on": (
        "def is_dead_on(w, b, X):\n    return not bool((X @ w + b > 1e-6).any())  # a safety margin",
        "test_is_dead_on",
        "is a different, looser definition",
    ),
    "dead_units": (
        "def dead_units(W, b, X):\n    return (X @ W.T + b < 0).all(dim=0)",
        "test_dead_units",
        "exactly 0",
    ),
    "born_dead_ranking": (
        "BORN_DEAD_RANKING = ['C', 'B', 'D', 'A']  # deeper is deader",
        "test_born_dead_ranking",
        "depth is not the whole story",
    ),
}


graded, test_correct_alternatives_earn_every_point, test_wrong_answer_loses_its_points_with_a_hint = (
    exercise_round_trip(ASSIGNMENT, CORRECT_ALTERNATIVES, WRONG_ANSWERS)
)
