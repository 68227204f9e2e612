"""The public checks of 02_how_units_die: correct alternatives pass, plausible wrong answers
fail with a hint naming the misconception."""

import re

import pytest
import torch

from deadrelu.checks.how_units_die import check_born_dead_probability, check_dead_units, check_is_dead_on


# --- is_dead_on ------------------------------------------------------------------------
def dead_any(w, b, X):
    return not (X @ w + b > 0).any()


def dead_all(w, b, X):
    return bool(((X @ w + b) <= 0).all())


def dead_max(w, b, X):
    return torch.relu(X @ w + b).max() == 0  # a 0-d bool tensor is accepted


def dead_ge(w, b, X):
    return not (X @ w + b >= 0).any()


def dead_first(w, b, X):
    return bool(X[0] @ w + b <= 0)


def dead_mean(w, b, X):
    return bool((X @ w + b).mean() <= 0)


def dead_per_example(w, b, X):
    return (X @ w + b) <= 0


def dead_loop(w, b, X):
    for x in X:
        if x @ w + b > 0:
            return False
    return True


@pytest.mark.parametrize("is_dead_on", [dead_any, dead_all, dead_max])
def test_is_dead_on_accepts_correct_alternatives(is_dead_on):
    check_is_dead_on(is_dead_on)


@pytest.mark.parametrize(
    "is_dead_on, hint",
    [
        (dead_ge, "use `> 0`, not `>= 0`"),
        (dead_first, "not on the first one"),
        (dead_mean, "not the mean"),
        (dead_per_example, "not one yes/no answer"),
        (dead_loop, "Python loop"),
    ],
)
def test_is_dead_on_rejects_wrong_answers_with_a_hint(is_dead_on, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_is_dead_on(is_dead_on)


# --- dead_units ------------------------------------------------------------------------
def units_any(W, b, X):
    return ~(X @ W.T + b > 0).any(dim=0)


def units_relu_sum(W, b, X):
    return torch.relu(torch.addmm(b, X, W.T)).sum(dim=0) == 0


def units_linear(W, b, X):
    return (torch.nn.functional.linear(X, W, b) <= 0).all(dim=0)


def units_strict(W, b, X):
    return (X @ W.T + b < 0).all(dim=0)


def units_mean(W, b, X):
    return (X @ W.T + b).mean(dim=0) <= 0


def units_wrong_dim(W, b, X):
    return ~(X @ W.T + b > 0).any(dim=1)


def units_inverted(W, b, X):
    return (X @ W.T + b > 0).any(dim=0)


@pytest.mark.parametrize("dead_units", [units_any, units_relu_sum, units_linear])
def test_dead_units_accepts_correct_alternatives(dead_units):
    check_dead_units(dead_units)


@pytest.mark.parametrize(
    "dead_units, hint",
    [
        (units_strict, "exactly 0"),
        (units_mean, "mean pre-activation"),
        (units_wrong_dim, "one value per example"),
        (units_inverted, "live units as dead"),
    ],
)
def test_dead_units_rejects_wrong_answers_with_a_hint(dead_units, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_dead_units(dead_units)


# --- born_dead_probability ----------------------------------------------------------------
def born_complement(width, depth):
    return 1 - (1 - 2**-width) ** depth


def born_torch(width, depth):
    return 1 - torch.tensor(1 - 0.5**width, dtype=torch.float64).pow(depth)


def born_log(width, depth):
    import math

    return -math.expm1(depth * math.log1p(-(2.0**-width)))


@pytest.mark.parametrize("born_dead_probability", [born_complement, born_torch, born_log])
def test_born_dead_probability_accepts_correct_alternatives(born_dead_probability):
    check_born_dead_probability(born_dead_probability)


@pytest.mark.parametrize(
    "born_dead_probability, hint",
    [
        (lambda w, d: (2**-w) ** d, "EVERY layer dies"),
        (lambda w, d: d * 2**-w, "union bound"),
        (lambda w, d: 1 - (1 - 2**-d) ** w, "swapped"),
        (lambda w, d: (1 - 2**-w) ** d, "ALIVE"),
    ],
)
def test_born_dead_probability_rejects_wrong_answers_with_a_hint(born_dead_probability, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_born_dead_probability(born_dead_probability)
