"""Public checks of notebook 04_learning_rate_and_optimizers: update_to_weight_ratio,
warmup_factor, clip_grad_norm."""

import math

import torch
from torch import nn

from ._common import call, expect_no_reference_call, fail


def _number(value, name, what):
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            fail(name, f"returned a tensor of shape {tuple(value.shape)} for {what}, not one number.",
                 "reduce to a single number: one norm for the whole weight matrix.")
        return value.item()
    try:
        return float(value)
    except (TypeError, ValueError):
        fail(name, f"returned {value!r} for {what}, not a number.")


def check_update_to_weight_ratio(update_to_weight_ratio):
    """Check ||W_after - W_before|| / ||W_before|| (Frobenius norms), as in the CS231n notes."""
    name = "update_to_weight_ratio"
    g = torch.Generator().manual_seed(4)
    before = torch.randn(6, 5, generator=g)
    rotation = torch.linalg.qr(torch.randn(5, 5, generator=g)).Q
    cases = {
        "a small random step": before - 0.01 * torch.randn(6, 5, generator=g),
        "a rotation (same norm, different weights)": before @ rotation,
        "a step on weights with tiny entries": before.masked_fill(before.abs() < 0.3, 1e-6) + 0.001,
    }
    for what, after in cases.items():
        value = _number(call(update_to_weight_ratio, before.clone(), after.clone(), name=name), name, what)
        expected = ((after - before).norm() / before.norm()).item()
        if math.isclose(value, expected, rel_tol=1e-4):
            continue
        wrong = {
            "change of the norms": ((after.norm() - before.norm()).abs() / before.norm()).item(),
            "signed change of the norms": ((after.norm() - before.norm()) / before.norm()).item(),
            "divided by the new weights": ((after - before).norm() / after.norm()).item(),
            "not normalised": (after - before).norm().item(),
            "mean of elementwise ratios": ((after - before).abs() / before.abs()).mean().item(),
            "squared norms": ((after - before).norm() ** 2 / before.norm() ** 2).item(),
        }
        hints = {
            "change of the norms": "||W_after|| - ||W_before|| measures how the weights' size changed, not how far they moved: a rotation moves them without changing the norm. Take the norm of the difference.",
            "signed change of the norms": "||W_after|| - ||W_before|| measures how the weights' size changed, not how far they moved. Take the norm of the difference.",
            "divided by the new weights": "divide by the weights the step started from, ||W_before||.",
            "not normalised": "divide by ||W_before||: the ratio says how big the step is compared with the weights.",
            "mean of elementwise ratios": "elementwise ratios blow up on tiny weights; use whole-matrix norms: ||ΔW|| / ||W||.",
            "squared norms": "use the norms themselves, not their squares.",
        }
        for label, wrong_value in wrong.items():
            if math.isclose(value, wrong_value, rel_tol=1e-4):
                fail(name, f"gives {value:.4g} for {what}; expected {expected:.4g} (this looks like the {label}).", hints[label])
        fail(name, f"gives {value:.4g} for {what}; expected {expected:.4g}.", "the ratio is ||W_after - W_before|| / ||W_before||, Frobenius norms over the whole matrix.")
    print("update_to_weight_ratio passed: a small step, a rotation and tiny weights (relative error < 1e-4).")


def check_warmup_factor(warmup_factor):
    """Check the linear warmup multiplier used with LambdaLR: min(1, (step + 1) / warmup_steps)."""
    name = "warmup_factor"
    expected = lambda step, n: 1.0 if n == 0 else min(1.0, (step + 1) / n)  # noqa: E731
    grid = [(0, 4), (1, 4), (3, 4), (4, 4), (50, 4), (0, 1), (9, 100), (0, 0), (7, 0)]
    got = {}
    for step, n in grid:
        try:
            got[(step, n)] = _number(call(warmup_factor, step, n, name=name), name, f"step {step} of a {n}-step warmup")
        except ZeroDivisionError:
            fail(name, "divides by zero when warmup_steps is 0.", "no warmup means a factor of 1 at every step.")
    if all(math.isclose(got[k], expected(*k), rel_tol=1e-9) for k in grid):
        print(f"warmup_factor passed on {len(grid)} (step, warmup_steps) pairs, including no warmup at all.")
        return
    if math.isclose(got[(0, 4)], 0.0, abs_tol=1e-12) and math.isclose(got[(1, 4)], 0.25):
        fail(name, "gives 0 at step 0.", "LambdaLR calls the function with 0 for the first step: a factor of 0 wastes that step. Count from step + 1.")
    if got[(50, 4)] > 1.0 + 1e-9:
        fail(name, f"gives {got[(50, 4)]:g} at step 50 of a 4-step warmup.", "after the warmup the factor stays at 1: cap it with min(1, ...).")
    if not math.isclose(got[(0, 0)], 1.0) or not math.isclose(got[(7, 0)], 1.0):
        fail(name, f"gives {got[(0, 0)]:g} with warmup_steps = 0.", "no warmup means a factor of 1 at every step.")
    bad = next(k for k in grid if not math.isclose(got[k], expected(*k), rel_tol=1e-9))
    fail(name, f"gives {got[bad]:g} at step {bad[0]} of a {bad[1]}-step warmup; expected {expected(*bad):g}.",
         "the factor rises linearly: (step + 1) / warmup_steps, then stays at 1.")


def _model_with_gradients(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3), nn.Linear(3, 2))
    g = torch.Generator().manual_seed(seed)
    model(torch.randn(11, 5, generator=g)).pow(2).sum().backward()
    model[3].weight.grad = None  # a parameter without gradient must be skipped
    model[3].bias.grad = None
    return model


def check_clip_grad_norm(clip_grad_norm):
    """Check a hand-written clip_grad_norm(parameters, max_norm) against torch's clip_grad_norm_."""
    name = "clip_grad_norm"
    expect_no_reference_call(clip_grad_norm, name, {"clip_grad_norm_", "clip_grad_norm", "clip_grads_with_norm_", "clip_grad_value_"})
    for seed, max_norm in ((0, 0.5), (1, 1e6), (2, 2.0)):
        mine, reference = _model_with_gradients(seed), _model_with_gradients(seed)
        total_norm = torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
        original = [p.grad.clone() if p.grad is not None else None for p in mine.parameters()]
        try:
            returned = call(clip_grad_norm, list(mine.parameters()), max_norm, name=name)
        except (AttributeError, TypeError) as error:
            if any(p.grad is None for p in mine.parameters()):
                fail(name, f"fails on a parameter whose .grad is None ({type(error).__name__}: {error}).",
                     "parameters that got no gradient (p.grad is None) must be skipped.")
            raise
        value = _number(returned, name, "the returned total norm")
        if not math.isclose(value, total_norm.item(), rel_tol=1e-5):
            after = torch.cat([p.grad.flatten() for p in mine.parameters() if p.grad is not None]).norm().item()
            hint = "return the total norm measured BEFORE clipping, as clip_grad_norm_ does." if math.isclose(value, after, rel_tol=1e-5) else \
                "the total norm is the L2 norm of all gradients together: sqrt of the sum of every gradient's squared norm."
            fail(name, f"returned a total norm of {value:.6g}; clip_grad_norm_ gives {total_norm.item():.6g}.", hint)
        unchanged = all(torch.equal(p.grad, o) for p, o in zip(mine.parameters(), original) if o is not None)
        for p, r, o in zip(mine.parameters(), reference.parameters(), original):
            if o is None:
                continue
            if torch.allclose(p.grad, r.grad, rtol=1e-5, atol=1e-8):
                continue
            if unchanged and max_norm < total_norm:
                fail(name, "did not change the gradients.", "clip in place: multiply each p.grad by the clipping factor (p.grad.mul_(...)); the optimizer reads p.grad.")
            if max_norm >= total_norm:
                fail(name, f"changed gradients whose total norm {total_norm.item():.3g} is already below max_norm={max_norm:g}.",
                     "only shrink: the factor is min(1, max_norm / total_norm). Gradients below the limit stay as they are.")
            per_tensor = o * min(1.0, max_norm / (o.norm().item() + 1e-6))
            if torch.allclose(p.grad, per_tensor, rtol=1e-5):
                fail(name, "clips each parameter's gradient on its own.",
                     "clip_grad_norm_ uses ONE factor for all parameters, from the norm of all gradients together; clipping tensors separately changes the update's direction.")
            fail(name, f"gives gradients that differ from clip_grad_norm_ (max_norm={max_norm:g}).",
                 "scale every gradient by the same factor min(1, max_norm / (total_norm + 1e-6)).")
    print("clip_grad_norm passed: same total norm and same clipped gradients as torch.nn.utils.clip_grad_norm_ for 3 models (below and above the limit).")
