"""The public checks of 04_learning_rate_and_optimizers: correct alternatives pass, plausible
wrong answers fail with a hint naming the misconception."""

import re

import pytest
import torch

from deadrelu.checks.learning_rate_and_optimizers import check_clip_grad_norm, check_warmup_factor


# --- warmup_factor -------------------------------------------------------------------------
def warmup_min(step, warmup_steps):
    return 1.0 if warmup_steps == 0 else min(1.0, (step + 1) / warmup_steps)


def warmup_branch(step, warmup_steps):
    if step + 1 >= warmup_steps:
        return 1.0
    return (step + 1) / warmup_steps


def warmup_max_guard(step, warmup_steps):
    return min(1.0, (step + 1) / max(warmup_steps, 1))


@pytest.mark.parametrize("fn", [warmup_min, warmup_branch, warmup_max_guard])
def test_warmup_accepts_correct_alternatives(fn):
    check_warmup_factor(fn)


@pytest.mark.parametrize(
    "fn, hint",
    [
        (lambda s, n: 1.0 if n == 0 else min(1.0, s / n), "wastes that step"),
        (lambda s, n: 1.0 if n == 0 else (s + 1) / n, "cap it"),
        (lambda s, n: min(1.0, (s + 1) / n), "ZeroDivisionError"),
        (lambda s, n: min(1.0, (s + 1) / n), "no warmup at all: a factor of 1 at every step"),
        (
            lambda s, n: 1.0 if n == 0 else min(1.0, (s + 1) / (n + 1)),
            "at the last warmup step the rate should have arrived",
        ),
        (lambda s, n: 1.0 if n == 0 else min(1.0, ((s + 1) / n) ** 2), "a straight line, not a curve"),
        (lambda s, n: 1.0 if n == 0 else min(1.0, 2 * (s + 1) / n), "the rate arrives before the warmup ends"),
        (lambda s, n: 1.0 if n == 0 else min(1.0, (s + 2) / (n + 1)), "compare them with a rise in equal steps"),
        (lambda s, n: 0.0 if n == 0 else min(1.0, (s + 1) / n), "factor of 1 at every step"),
    ],
)
def test_warmup_rejects_wrong_answers_with_a_hint(fn, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_warmup_factor(fn)


# --- clip_grad_norm ------------------------------------------------------------------------
def clip_loop(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    factor = min(1.0, max_norm / (total.item() + 1e-6))
    for g in grads:
        g.mul_(factor)
    return total


def clip_stack(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    factor = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(factor)
    return total.item()


def clip_no_eps(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.cat([g.flatten() for g in grads]).norm()
    if total > max_norm:
        for g in grads:
            g *= max_norm / total
    return total


def clip_per_tensor(parameters, max_norm):
    total = torch.cat([p.grad.flatten() for p in parameters if p.grad is not None]).norm()
    for p in parameters:
        if p.grad is not None:
            p.grad.mul_(min(1.0, max_norm / (p.grad.norm().item() + 1e-6)))
    return total


def clip_always(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.cat([g.flatten() for g in grads]).norm()
    for g in grads:
        g.mul_(max_norm / total)
    return total


def clip_returns_after(parameters, max_norm):
    clip_loop(parameters, max_norm)
    return torch.cat([p.grad.flatten() for p in parameters if p.grad is not None]).norm()


def clip_not_in_place(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.cat([g.flatten() for g in grads]).norm()
    [g * min(1.0, max_norm / total.item()) for g in grads]
    return total


def clip_crashes_on_none(parameters, max_norm):
    total = torch.cat([p.grad.flatten() for p in parameters]).norm()
    return total


def clip_calls_torch(parameters, max_norm):
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm)


@pytest.mark.parametrize("fn", [clip_loop, clip_stack, clip_no_eps])
def test_clip_accepts_correct_alternatives(fn):
    check_clip_grad_norm(fn)


@pytest.mark.parametrize(
    "fn, hint",
    [
        (clip_per_tensor, "ONE factor for all parameters"),
        (clip_always, "only shrink"),
        (clip_returns_after, "BEFORE clipping"),
        (clip_not_in_place, "clip in place"),
        (clip_crashes_on_none, "must be skipped"),
        (clip_calls_torch, "computes the answer it is checked against"),
    ],
)
def test_clip_rejects_wrong_answers_with_a_hint(fn, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_clip_grad_norm(fn)


def test_warmup_hints_name_the_misconception_not_the_formula():
    for fn in (
        lambda s, n: 1.0 if n == 0 else min(1.0, (s + 1) / (n + 1)),
        lambda s, n: 1.0 if n == 0 else min(1.0, ((s + 1) / n) ** 2),
    ):
        with pytest.raises(AssertionError) as failure:
            check_warmup_factor(fn)
        assert "(step + 1) / warmup_steps" not in str(failure.value)


class PosingAsANumber(float):
    """A float subclass whose comparisons always succeed."""

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class TensorThatAgrees(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        result = super().__torch_function__(func, types, args, kwargs or {})
        return True if func in (torch.allclose, torch.equal, torch.Tensor.__eq__) else result


@pytest.mark.parametrize(
    "returned, words",
    [
        (None, "not a number"),
        ("0.25", "not a number"),
        ([0.25], "not a number"),
        (torch.tensor([0.25, 0.25]), "not one number"),
        (True, "a bool"),
        (PosingAsANumber(0.0), "not a number"),
        (torch.tensor(0.25).as_subclass(TensorThatAgrees), "not a number"),
    ],
)
def test_warmup_malformed_answers_end_in_a_hint(returned, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_warmup_factor(lambda step, warmup_steps: returned)


def test_warmup_that_crashes_ends_in_a_hint():
    with pytest.raises(AssertionError, match="raised TypeError"):
        check_warmup_factor(lambda step: 1.0)


# --- clip_grad_norm: escape routes --------------------------------------------------------------
from torch.nn.utils import clip_grad_norm_ as shrink  # noqa: E402 - an alias, as a student might import it


def clip_alias(parameters, max_norm):
    return shrink(parameters, max_norm)


def clip_wrapper(parameters, max_norm):
    import torch.nn.utils as utils

    helper = getattr(utils, "clip_" + "grad_norm_")
    return helper([p for p in parameters], max_norm=max_norm)


def clip_total_norm_from_torch(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.nn.utils.get_total_norm(grads)
    for g in grads:
        g.mul_(min(1.0, max_norm / (total.item() + 1e-6)))
    return total


def clip_with_the_checks_helper(parameters, max_norm):
    from deadrelu.checks import learning_rate_and_optimizers as checks

    checks._model_with_gradients(0)  # any function of a check module, called by an answer, is the check's own code
    return clip_loop(parameters, max_norm)


def clip_returns_a_subclass(parameters, max_norm):
    return clip_loop(parameters, max_norm).as_subclass(TensorThatAgrees)


def clip_returns_a_list(parameters, max_norm):
    return [clip_loop(parameters, max_norm)]


def clip_drops_grad(parameters, max_norm):
    total = clip_loop(parameters, max_norm)
    for p in parameters:
        p.grad = None
    return total


def clip_sums_norms(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = sum(g.norm() for g in grads)
    for g in grads:
        g.mul_(min(1.0, max_norm / (total.item() + 1e-6)))
    return total


def clip_to_twice(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.cat([g.flatten() for g in grads]).norm()
    for g in grads:
        g.mul_(min(1.0, 2 * max_norm / (total.item() + 1e-6)))
    return total


@pytest.mark.parametrize(
    "fn, hint",
    [
        (clip_alias, "torch's `clip_grad_norm_`"),
        (clip_wrapper, "a reference called under another name"),
        (clip_total_norm_from_torch, "get_total_norm"),
        (clip_with_the_checks_helper, "from the check module"),
        (clip_returns_a_subclass, "subclass of torch.Tensor"),
        (clip_returns_a_list, "not a number"),
        (lambda parameters, max_norm: clip_loop(parameters, max_norm) and None, "not a number"),
        (lambda parameters, max_norm: str(clip_loop(parameters, max_norm).item()), "not a number"),
        (lambda parameters, max_norm: torch.stack([clip_loop(parameters, max_norm)] * 2), "not one number"),
        (lambda parameters: None, "raised TypeError"),
        (clip_drops_grad, "set a parameter's .grad to None"),
        (clip_sums_norms, "not a sum or mean of per-tensor norms"),
        (clip_to_twice, "the same factor"),
    ],
)
def test_clip_escape_routes_and_malformed_answers_fail_with_a_hint(fn, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_clip_grad_norm(fn)


# --- Exercise 3, the one-change experiment: the public check validates the form only; the hidden test grades ---
from course_tools import run_graded_cell  # noqa: E402

from deadrelu.checks.learning_rate_and_optimizers import check_one_change_experiment  # noqa: E402

ASSIGNMENT = "04_learning_rate_and_optimizers"
PRELUDE = "from deadrelu.checks.learning_rate_and_optimizers import check_one_change_experiment"


def graded_design(experiment):
    return run_graded_cell(ASSIGNMENT, "test_one_change_experiment", {"EXPERIMENT": experiment}, prelude=PRELUDE)


@pytest.mark.parametrize(
    "experiment",
    [
        {"control": {"lr": 0.8, "inputs": "raw"}, "treatment": {"lr": 0.8, "inputs": "standardized"}},
        {"control": {}, "treatment": {"inputs": "standardized"}},  # settings left out keep the baseline's
        {"control": {"inputs": "standardized"}, "treatment": {"inputs": "raw"}},  # the arms swapped
        {
            "control": {"lr": 0.5, "inputs": "raw"},
            "treatment": {"lr": 0.5, "inputs": "standardized"},
        },  # another killing rate
        {
            "control": {"lr": 0.8, "clip_grad_norm": None, "momentum": 0},
            "treatment": {"lr": 0.8, "inputs": "standardized", "momentum": 0.0},
        },
        {
            "control": {"clip_grad_norm": 8.0},
            "treatment": {"clip_grad_norm": 8.0, "inputs": "standardized"},
        },  # a limit that clips nothing
    ],
)
def test_design_catalogue_right_answers_earn_the_points(experiment):
    assert graded_design(experiment) is None


@pytest.mark.parametrize(
    "experiment, words",
    [
        ({"control": {}, "treatment": {}}, "an experiment needs a difference between its arms"),
        ({"control": {"inputs": "raw"}, "treatment": {"inputs": "raw", "lr": 0.8}}, "an experiment needs a difference"),
        ({"control": {"lr": 0.8}, "treatment": {"lr": 0.2}}, "both explanations predict fewer deaths at a lower rate"),
        ({"control": {}, "treatment": {"clip_grad_norm": 2.0}}, "clipping makes the largest steps smaller"),
        ({"control": {}, "treatment": {"momentum": 0.9, "lr": 0.8}}, "momentum changes the size and the noise"),
        (
            {"control": {}, "treatment": {"lr": 0.2, "inputs": "standardized"}},
            "cannot tell which change made the difference",
        ),
        (
            {"control": {"lr": 0.2}, "treatment": {"lr": 0.2, "inputs": "standardized"}},
            "a rate at which raw inputs already keep",
        ),
        ({"control": {"lr": 0.05}, "treatment": {"lr": 0.05, "inputs": "standardized"}}, "both predict no deaths"),
        ({"control": {"lr": 3.0}, "treatment": {"lr": 3.0, "inputs": "standardized"}}, "above the baseline's rate"),
        (
            {"control": {"clip_grad_norm": 2.0}, "treatment": {"clip_grad_norm": 2.0, "inputs": "standardized"}},
            "already keeps (part of)",
        ),
        (
            {
                "control": {"momentum": 0.9, "lr": 0.08},
                "treatment": {"momentum": 0.9, "lr": 0.08, "inputs": "standardized"},
            },
            "changes the effective step",
        ),
    ],
)
def test_design_catalogue_wrong_answers_lose_the_points_with_a_hint(experiment, words):
    message = graded_design(experiment)
    assert message is not None and words in message, message
    assert "standardi" not in message  # the hint names the flaw, never the answer


@pytest.mark.parametrize(
    "experiment",
    [
        {"control": {"lr": 0.8}, "treatment": {"lr": 0.2}},  # wrong, but well formed: the public check must not tell
        {"control": {}, "treatment": {}},
        {"control": {"lr": 0.8, "inputs": "raw"}, "treatment": {"lr": 0.8, "inputs": "standardized"}},
    ],
)
def test_design_public_check_passes_any_well_formed_answer(experiment, capsys):
    check_one_change_experiment(experiment)
    assert "graded when you hand in" in capsys.readouterr().out


@pytest.mark.parametrize(
    "experiment, words",
    [
        (None, "not answered yet"),
        ("lr", "not a dict"),
        ([{"lr": 0.8}, {"lr": 0.2}], "not a dict"),
        ({"control": {"lr": 0.8}}, "exactly two arms"),
        ({"control": {"lr": 0.8}, "treatment": {"lr": 0.2}, "placebo": {}}, "exactly two arms"),
        ({"control": {"seed": 3}, "treatment": {}}, "settings this experiment cannot run"),
        ({"control": ("lr", 0.8), "treatment": {}}, "not a dict of settings"),
        ({"control": {"lr": "0.8"}, "treatment": {}}, "not a number"),
        ({"control": {"lr": -0.8}, "treatment": {}}, "a positive number"),
        ({"control": {"lr": torch.tensor([0.8, 0.2])}, "treatment": {}}, "not one number"),
        ({"control": {"inputs": "centred"}, "treatment": {}}, "the inputs are one of"),
        ({"control": {"clip_grad_norm": 0}, "treatment": {}}, "None (no clipping) or a positive number"),
        ({"control": {"momentum": 1.0}, "treatment": {}}, "a number in [0, 1)"),
        ({"control": {"momentum": True}, "treatment": {}}, "a bool"),
    ],
)
def test_design_public_check_rejects_malformed_answers_with_a_hint(experiment, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_one_change_experiment(experiment)
