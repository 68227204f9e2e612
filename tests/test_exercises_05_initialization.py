"""Notebook 05's graded exercises through nbgrader's autograde: correct alternative answers
earn every point, plausible wrong answers lose them with a hint naming the misconception.

(tests/test_checks_initialization.py tries more answers directly against the public checks.)
"""

import pytest

from course_tools import exercise_round_trip

pytestmark = pytest.mark.slow

ASSIGNMENT = "05_initialization"

CORRECT_ALTERNATIVES = {
    # predict, then measure: whole orders of magnitude are close enough
    "predictions_at_depth_30": (
        'PREDICTED_LOG10_STD = {"default": -12, "xavier_normal": -4.5, "he_normal": 0}\nMOST_DEAD_AT_LAYER_30 = "same"'
    ),
    "he_normal_": (
        "def he_normal_(weight, generator=None):\n"
        "    fan_out, fan_in = weight.shape\n"
        "    draws = torch.randn(fan_out, fan_in, generator=generator, dtype=weight.dtype)\n"
        "    with torch.no_grad():\n"
        "        weight.copy_(draws * (2 / fan_in) ** 0.5)\n"
        "    return weight"
    ),
    "lsuv": (
        "def lsuv(model, X, tol=0.1, max_iter=10, generator=None):\n"
        "    with torch.no_grad():\n"
        "        for i, module in enumerate(model):\n"
        "            if not isinstance(module, nn.Linear):\n"
        "                continue\n"
        "            nn.init.orthogonal_(module.weight, generator=generator)\n"
        "            passes, std = 0, model[: i + 1](X).std()\n"
        "            while abs(std - 1) >= tol and passes < max_iter:\n"
        "                module.weight.div_(std)\n"
        "                std, passes = model[: i + 1](X).std(), passes + 1\n"
        "    return model"
    ),
}

# grade_id of the answer -> (wrong answer, test cell, words the failure message must contain)
WRONG_ANSWERS = {
    "predictions_at_depth_30": (
        'PREDICTED_LOG10_STD = {"default": -7.2, "xavier_normal": 0.0, "he_normal": 4.5}\n'
        'MOST_DEAD_AT_LAYER_30 = "xavier_normal"',
        "test_predicted_log10_std",
        "half of its second moment",
    ),
    "he_normal_": (
        "def he_normal_(weight, generator=None):\n"
        "    with torch.no_grad():\n"
        "        return weight.normal_(0.0, 2.0 / weight.shape[1], generator=generator)",
        "test_he_normal_",
        "names the VARIANCE",
    ),
    "lsuv": (
        "def lsuv(model, X, tol=0.1, max_iter=10, generator=None):\n"
        "    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]\n"
        "    with torch.no_grad():\n"
        "        for layer in layers:\n"
        "            nn.init.orthogonal_(layer.weight, generator=generator)\n"
        "        for i, layer in enumerate(model):\n"
        "            if isinstance(layer, nn.Linear):\n"
        "                for _ in range(max_iter):\n"
        "                    variance = model[: i + 1](X).var()\n"
        "                    if abs(variance - 1) < tol:\n"
        "                        break\n"
        "                    layer.weight /= variance\n"
        "    return model",
        "test_lsuv",
        "by the output's STD",
    ),
}


graded, test_correct_alternatives_earn_every_point, test_wrong_answer_loses_its_points_with_a_hint = (
    exercise_round_trip(ASSIGNMENT, CORRECT_ALTERNATIVES, WRONG_ANSWERS, students=("erin", "frank"))
)
