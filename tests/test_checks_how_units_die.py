"""The public checks of 02_how_units_die: correct alternatives pass, plausible wrong answers
fail with a hint naming the misconception ("numerical safety" thresholds included), and
malformed or disguised results (a tensor subclass, a list, None) fail with a message.

The born-dead ranking is graded by its test cell's hidden tests: its catalogue runs that
cell directly (course_tools.run_graded_cell)."""

import re

import numpy as np
import pytest
import torch

from course_tools import run_graded_cell
from deadrelu.lessons.how_units_die import born_dead_probability, born_dead_share
from deadrelu.checks.how_units_die import check_dead_units, check_is_dead_on, check_ranking


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


# --- "numerical safety" thresholds: a different, looser definition of dead -----------------
def dead_threshold_6(w, b, X):
    return not bool((X @ w + b > 1e-6).any())


def dead_threshold_3(w, b, X):
    return bool(((X @ w + b) <= 1e-3).all())


def dead_threshold_9(w, b, X):
    return not bool((X @ w + b > 1e-9).any())


def dead_isclose(w, b, X):
    z = X @ w + b
    return bool(((z < 0) | torch.isclose(z, torch.zeros_like(z))).all())


@pytest.mark.parametrize("is_dead_on", [dead_threshold_6, dead_threshold_3, dead_threshold_9, dead_isclose])
def test_is_dead_on_rejects_a_threshold_naming_the_misconception(is_dead_on):
    with pytest.raises(AssertionError, match="threshold such as z > 1e-6") as error:
        check_is_dead_on(is_dead_on)
    assert "still gets gradient" in str(error.value)


def units_threshold_6(W, b, X):
    return ~(X @ W.T + b > 1e-6).any(dim=0)


def units_threshold_3(W, b, X):
    return (X @ W.T + b <= 1e-3).all(dim=0)


def units_threshold_12(W, b, X):
    return ~(X @ W.T + b > 1e-14).any(dim=0)


@pytest.mark.parametrize("dead_units", [units_threshold_6, units_threshold_3, units_threshold_12])
def test_dead_units_rejects_a_threshold_naming_the_misconception(dead_units):
    with pytest.raises(AssertionError, match="threshold such as z > 1e-6") as error:
        check_dead_units(dead_units)
    assert "still gets gradient" in str(error.value)


# --- plain values only, and every malformed answer ends in a message --------------------------
class Agreeable(torch.Tensor):
    """A tensor subclass whose comparisons always agree."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("equal", "allclose", "__eq__", "__ne__"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda w, b, X: torch.tensor(True).as_subclass(Agreeable), "a subclass of torch.Tensor"),
        (lambda w, b, X: None, "not a bool"),
        (lambda w, b, X: [True], "not a bool"),
        (lambda w, b, X: (True,), "not a bool"),
        (lambda w, b, X: 0.0, "not a bool"),
        (lambda w, b, X: 1, "not a bool"),
        (lambda w, b, X: "True", "not a bool"),
        (lambda w, b, X: torch.tensor(1.0), "not a bool"),
        (lambda w, b, X: torch.ones(2, dtype=torch.bool), "not one yes/no answer"),
    ],
)
def test_is_dead_on_malformed_answers_fail_with_a_message(answer, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_is_dead_on(answer)


def test_is_dead_on_accepts_numpy_and_one_element_bool_tensors():
    check_is_dead_on(lambda w, b, X: np.bool_(not (X @ w + b > 0).any().item()))
    check_is_dead_on(lambda w, b, X: ~(X @ w + b > 0).any().reshape(1))


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda W, b, X: (~(X @ W.T + b > 0).any(dim=0)).as_subclass(Agreeable), "a subclass of torch.Tensor"),
        (lambda W, b, X: None, "not a torch.Tensor"),
        (lambda W, b, X: (~(X @ W.T + b > 0).any(dim=0)).tolist(), "not a torch.Tensor"),
        (lambda W, b, X: ((X @ W.T + b) <= 0,), "tuple of 1 items"),
        (lambda W, b, X: 3.0, "not a torch.Tensor"),
        (lambda W, b, X: torch.zeros(2, 2, dtype=torch.bool), "expected (7,)"),
        (lambda W, b, X: (~(X @ W.T + b > 0).any(dim=0)).float(), "dtype torch.float32"),
        (lambda W, b, X: (~(X @ W.T + b > 0).any(dim=0)).numpy(), "not a torch.Tensor"),
        (lambda W, b, X: (X @ W.T + b)[:, 0], "one value per example"),
    ],
)
def test_dead_units_malformed_answers_fail_with_a_message(answer, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_dead_units(answer)


def test_a_check_module_helper_is_not_an_answer():
    def peeks(w, b, X):
        from deadrelu.checks.how_units_die import _tiny_positive

        return not bool((X @ w + b > 0).any()) or _tiny_positive(X @ w + b) and False

    with pytest.raises(AssertionError, match="from the check module"):
        check_is_dead_on(peeks)


# --- the born-dead ranking (test_born_dead_ranking) -------------------------------------------
PRELUDE = "from deadrelu.checks.how_units_die import check_ranking"
NETS = {"A": (2, 2), "B": (3, 30), "C": (8, 50), "D": (4, 5)}  # as in the notebook


def graded(ranking):
    return run_graded_cell(
        "02_how_units_die", "test_born_dead_ranking", {"BORN_DEAD_RANKING": ranking}, prelude=PRELUDE
    )


def test_the_key_is_what_the_monte_carlo_measures_on_any_seed():
    for seed in (0, 1, 2):
        share = {
            net: born_dead_share(w, d, n_nets=2000, generator=torch.Generator().manual_seed(seed))
            for net, (w, d) in NETS.items()
        }
        assert sorted(NETS, key=share.get, reverse=True) == ["B", "A", "D", "C"]
    assert sorted(NETS, key=lambda net: born_dead_probability(*NETS[net]), reverse=True) == ["B", "A", "D", "C"]


@pytest.mark.parametrize(
    "ranking", [["B", "A", "D", "C"], ("B", "A", "D", "C"), "BADC", "b, a, d, c", ["b", "a", "d", "c"], "B > A > D > C"]
)
def test_ranking_accepts_the_key_in_any_spelling(ranking):
    assert graded(ranking) is None


@pytest.mark.parametrize(
    "ranking, hint",
    [
        ("CBDA", "depth is not the whole story"),
        ("ABDC", "width is not the whole story"),
        ("ADBC", "as soon as ONE of its layers"),
        ("CDAB", "from the least to the most likely"),
        ("BADC"[::-1], "from the least to the most likely"),
        ("BDAC", "independent chance to die"),
        ("ABCD", "independent chance to die"),
    ],
)
def test_ranking_rejects_misconceptions_with_a_hint(ranking, hint):
    message = graded(ranking)
    assert message is not None and hint in message, message
    assert "B > A > D > C" not in message


@pytest.mark.parametrize(
    "ranking, words",
    [
        (None, "not answered yet"),
        (["B", "A", "D"], "exactly once"),
        ("BADCA", "exactly once"),
        (["B", "A", "D", "E"], "exactly once"),
        ({"B", "A", "D", "C"}, "not a list of letters"),
        ([1, 2, 3, 4], "not a list of letters"),
        (42, "not a list of letters"),
    ],
)
def test_ranking_form_is_checked_publicly(ranking, words):
    message = graded(ranking)
    assert message is not None and words in message, message
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_ranking(ranking)


def test_born_dead_probability_of_the_package():
    assert born_dead_probability(1, 1) == 0.5
    assert abs(born_dead_probability(3, 30) - (1 - (7 / 8) ** 30)) < 1e-12
    with pytest.raises(ValueError):
        born_dead_probability(0, 3)
