"""The public checks of 04_learning_rate_and_optimizers: correct alternatives pass, plausible
wrong answers fail with a hint naming the misconception."""

import math
import re

import pytest
import torch

from deadrelu.checks.learning_rate_and_optimizers import check_clip_grad_norm, check_update_to_weight_ratio, check_warmup_factor


# --- update_to_weight_ratio ---------------------------------------------------------------------
def ratio_norms(before, after):
    return (after - before).norm() / before.norm()


def ratio_linalg(before, after):
    return float(torch.linalg.matrix_norm(after - before) / torch.linalg.matrix_norm(before))


def ratio_sqrt_sums(before, after):
    return math.sqrt(((after - before) ** 2).sum().item() / (before**2).sum().item())


@pytest.mark.parametrize("fn", [ratio_norms, ratio_linalg, ratio_sqrt_sums])
def test_ratio_accepts_correct_alternatives(fn):
    check_update_to_weight_ratio(fn)


@pytest.mark.parametrize(
    "fn, hint",
    [
        (lambda b, a: (a.norm() - b.norm()).abs() / b.norm(), "a rotation moves them"),
        (lambda b, a: (a - b).norm() / a.norm(), "||W_before||"),
        (lambda b, a: (a - b).norm(), "divide by ||W_before||"),
        (lambda b, a: ((a - b).abs() / b.abs()).mean(), "blow up on tiny weights"),
        (lambda b, a: (a - b).norm() ** 2 / b.norm() ** 2, "not their squares"),
        (lambda b, a: (a - b).norm(dim=1) / b.norm(dim=1), "single number"),
    ],
)
def test_ratio_rejects_wrong_answers_with_a_hint(fn, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_update_to_weight_ratio(fn)


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
        (lambda s, n: min(1.0, (s + 1) / n), "divides by zero"),
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
        (clip_calls_torch, "reference it is checked against"),
    ],
)
def test_clip_rejects_wrong_answers_with_a_hint(fn, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_clip_grad_norm(fn)
