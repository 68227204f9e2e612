"""Public checks of notebook 04_learning_rate_and_optimizers: warmup_factor, clip_grad_norm,
and the form of the one-change experiment of section 10 (EXPERIMENT).

The design exercise is graded by hidden tests when the notebook is handed in; its public
check only says whether the answer has the right form, never whether it is right.
"""

import math

import torch
from torch import nn

from ..lessons.learning_rate_and_optimizers import ONE_CHANGE_KNOBS, arm_text
from ._common import as_number, call, fail, graded_check, plain_tensor

# --- warmup_factor ---------------------------------------------------------------------------


@graded_check("warmup_factor", "a function warmup_factor(step, warmup_steps) that returns one number")
def check_warmup_factor(warmup_factor):
    """Check the linear warmup multiplier used with LambdaLR (the notebook states its contract)."""
    name = "warmup_factor"
    expected = lambda step, n: 1.0 if n == 0 else min(1.0, (step + 1) / n)  # noqa: E731
    grid = [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4), (50, 4), (0, 1), (9, 100), (0, 0), (7, 0)]
    got = {}
    for step, n in grid:
        value = call(
            warmup_factor,
            step,
            n,
            name=name,
            error_hints={
                ZeroDivisionError: "with warmup_steps = 0 there is no warmup at all: a factor of 1 at every step.",
            },
        )
        got[(step, n)] = as_number(value, name, f"the factor at step {step} of a {n}-step warmup")
    if all(math.isclose(got[k], expected(*k), rel_tol=1e-9) for k in grid):
        print(f"warmup_factor passed on {len(grid)} (step, warmup_steps) pairs, including no warmup at all.")
        return
    if math.isclose(got[(0, 4)], 0.0, abs_tol=1e-12):
        fail(
            name,
            "gives 0 at step 0.",
            "LambdaLR calls the function with 0 for the first step: a factor of 0 wastes that step. Count from "
            "step + 1.",
        )
    if got[(50, 4)] > 1.0 + 1e-9:
        fail(
            name,
            f"gives {got[(50, 4)]:g} at step 50 of a 4-step warmup.",
            "after the warmup the factor stays at 1: cap it with min(1, ...).",
        )
    if not math.isclose(got[(0, 0)], 1.0) or not math.isclose(got[(7, 0)], 1.0):
        fail(name, f"gives {got[(0, 0)]:g} with warmup_steps = 0.", "no warmup means a factor of 1 at every step.")
    bad = next(k for k in grid if not math.isclose(got[k], expected(*k), rel_tol=1e-9))
    rise = [got[(step, 4)] for step in range(4)]  # the four steps of a 4-step warmup
    shown = ", ".join(f"{v:.4g}" for v in rise)
    if not math.isclose(rise[3], 1.0):
        hint = (
            f"over a 4-step warmup your factors are {shown}: at the last warmup step the rate should have arrived "
            "at its full value, so that the step after the warmup is no jump."
        )
    elif any(math.isclose(v, 1.0) for v in rise[:3]):
        hint = (
            f"over a 4-step warmup your factors are {shown}: the rate arrives before the warmup ends. The rise is "
            "spread over all warmup_steps steps."
        )
    elif not all(math.isclose(b - a, rise[1] - rise[0], rel_tol=1e-6) for a, b in zip(rise, rise[1:])):
        hint = (
            f"over a 4-step warmup your factors are {shown}: a LINEAR warmup rises by the same amount at every step, a "
            "straight line, not a curve."
        )
    else:
        hint = (
            f"over a 4-step warmup your factors are {shown}; compare them with a rise in equal steps that reaches 1 at "
            "the last warmup step."
        )
    fail(name, f"gives {got[bad]:g} at step {bad[0]} of a {bad[1]}-step warmup; expected {expected(*bad):g}.", hint)


# --- clip_grad_norm --------------------------------------------------------------------------

_CLIP_REFERENCES = {
    "clip_grad_norm_",
    "clip_grad_norm",
    "clip_grads_with_norm_",
    "clip_grad_value_",
    "get_total_norm",
    "_get_total_norm",
}
_NO_GRAD_HINT = "parameters that got no gradient (p.grad is None) must be skipped."


def _model_with_gradients(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3), nn.Linear(3, 2))
    g = torch.Generator().manual_seed(seed)
    model(torch.randn(11, 5, generator=g)).pow(2).sum().backward()
    model[3].weight.grad = None  # a parameter without gradient must be skipped
    model[3].bias.grad = None
    return model


@graded_check(
    "clip_grad_norm",
    "a function clip_grad_norm(parameters, max_norm) that clips p.grad in place and returns the total norm",
)
def check_clip_grad_norm(clip_grad_norm):
    """Check a hand-written clip_grad_norm(parameters, max_norm) against torch's clip_grad_norm_."""
    name = "clip_grad_norm"
    for seed, max_norm in ((0, 0.5), (1, 1e6), (2, 2.0)):
        mine, reference = _model_with_gradients(seed), _model_with_gradients(seed)
        total_norm = torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
        original = [p.grad.clone() if p.grad is not None else None for p in mine.parameters()]
        returned = call(
            clip_grad_norm,
            list(mine.parameters()),
            max_norm,
            name=name,
            banned=_CLIP_REFERENCES,
            error_hints={"NoneType": _NO_GRAD_HINT},
        )
        if isinstance(returned, torch.Tensor):
            returned = plain_tensor(returned, name)
        value = as_number(returned, name, "the returned total norm")
        if not math.isclose(value, total_norm.item(), rel_tol=1e-5):
            after = torch.cat([p.grad.flatten() for p in mine.parameters() if p.grad is not None]).norm().item()
            hint = (
                "return the total norm measured BEFORE clipping, as clip_grad_norm_ does."
                if math.isclose(value, after, rel_tol=1e-5)
                else "the total norm is the length of ALL gradients together, as if every gradient were one long "
                "vector — not a sum or mean of per-tensor norms."
            )
            fail(name, f"returned a total norm of {value:.6g}; clip_grad_norm_ gives {total_norm.item():.6g}.", hint)
        unchanged = all(
            p.grad is not None and torch.equal(p.grad, o) for p, o in zip(mine.parameters(), original) if o is not None
        )
        for p, r, o in zip(mine.parameters(), reference.parameters(), original):
            if o is None:
                continue
            if p.grad is None:
                fail(
                    name,
                    "set a parameter's .grad to None.",
                    "clip the gradients in place (p.grad.mul_(...)); the optimizer reads p.grad.",
                )
            if torch.allclose(plain_tensor(p.grad, name, "left a .grad that is"), r.grad, rtol=1e-5, atol=1e-8):
                continue
            if unchanged and max_norm < total_norm:
                fail(
                    name,
                    "did not change the gradients.",
                    "clip in place: multiply each p.grad by the clipping factor (p.grad.mul_(...)); the optimizer "
                    "reads p.grad.",
                )
            if max_norm >= total_norm:
                fail(
                    name,
                    f"changed gradients whose total norm {total_norm.item():.3g} is already below "
                    f"max_norm={max_norm:g}.",
                    "only shrink: gradients whose total norm is below the limit stay exactly as they are.",
                )
            per_tensor = o * min(1.0, max_norm / (o.norm().item() + 1e-6))
            if torch.allclose(p.grad, per_tensor, rtol=1e-5):
                fail(
                    name,
                    "clips each parameter's gradient on its own.",
                    "clip_grad_norm_ uses ONE factor for all parameters, from the norm of all gradients together; "
                    "clipping tensors separately changes the update's direction.",
                )
            fail(
                name,
                f"gives gradients that differ from clip_grad_norm_ (max_norm={max_norm:g}).",
                "every gradient must shrink by the same factor, the one that brings the total norm down to max_norm; "
                "compare the total norm after your clipping with max_norm.",
            )
    print(
        "clip_grad_norm passed: same total norm and same clipped gradients as torch.nn.utils.clip_grad_norm_ "
        "for 3 models (below and above the limit)."
    )


# --- the one-change experiment (form only) -------------------------------------------------------

_INPUTS = ("raw", "standardized")


def _check_arm(arm, which, name):
    if not isinstance(arm, dict):
        fail(
            name,
            f"the {which} arm is {arm!r} ({type(arm).__name__}), not a dict of settings.",
            'each arm is a dict such as {"lr": 0.8, "inputs": "raw"}.',
        )
    unknown = sorted(str(k) for k in arm if k not in ONE_CHANGE_KNOBS)
    if unknown:
        fail(
            name,
            f"the {which} arm has settings this experiment cannot run: {unknown}.",
            f"an arm may set only {sorted(ONE_CHANGE_KNOBS)}; what it leaves out keeps the baseline's value.",
        )
    if "lr" in arm and as_number(arm["lr"], name, f"the {which} arm's lr") <= 0:
        fail(name, f"the {which} arm's lr is {arm['lr']!r}; a learning rate is a positive number.")
    if "inputs" in arm and arm["inputs"] not in _INPUTS:
        fail(name, f"the {which} arm's inputs are {arm['inputs']!r}.", f"the inputs are one of {list(_INPUTS)}.")
    if (
        arm.get("clip_grad_norm") is not None
        and as_number(arm["clip_grad_norm"], name, f"the {which} arm's clip_grad_norm") <= 0
    ):
        fail(
            name,
            f"the {which} arm's clip_grad_norm is {arm['clip_grad_norm']!r}.",
            "None (no clipping) or a positive number.",
        )
    if "momentum" in arm and not 0 <= as_number(arm["momentum"], name, f"the {which} arm's momentum") < 1:
        fail(name, f"the {which} arm's momentum is {arm['momentum']!r}.", "momentum is a number in [0, 1); 0 is none.")


@graded_check("EXPERIMENT", 'a dict {"control": {...settings...}, "treatment": {...settings...}}')
def check_one_change_experiment(experiment):
    """The FORM of the design: two arms, each a dict of known settings with valid values.

    Whether the design separates the two explanations is graded when the notebook is handed in."""
    name = "EXPERIMENT"
    if experiment is None:
        fail(name, "is None: not answered yet.", 'set EXPERIMENT = {"control": {...}, "treatment": {...}}.')
    if not isinstance(experiment, dict):
        fail(
            name,
            f"is a {type(experiment).__name__}, not a dict.",
            'set EXPERIMENT = {"control": {...}, "treatment": {...}}.',
        )
    if set(experiment) != {"control", "treatment"}:
        fail(
            name,
            f"has the keys {sorted(map(str, experiment))}.",
            'it needs exactly two arms: "control" and "treatment".',
        )
    for which in ("control", "treatment"):
        _check_arm(experiment[which], which, name)
    print(
        "EXPERIMENT has the right form. Filled in with the baseline's settings, the two arms are:\n"
        f"  control:   {arm_text(experiment['control'])}\n  treatment: {arm_text(experiment['treatment'])}\n"
        "Whether this design tells the two explanations apart is graded when you hand in; the run after it shows what "
        "it measures."
    )
