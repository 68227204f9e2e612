"""The public checks of 01_relu_math: correct alternatives pass, plausible wrong answers
fail with a hint that names the misconception, and the escape routes (a tensor subclass that
overrides comparisons, the reference under another name, a check module's own reference,
malformed results) fail with a message instead of earning points or crashing.

The prediction exercise (which units get no gradient) is graded by its test cell's hidden
tests: its catalogue runs that cell directly (course_tools.run_graded_cell)."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_tools import run_graded_cell
from deadrelu.checks.relu_math import check_elu, check_leaky_relu, check_relu, check_relu_grad, check_unit_set


# --- relu -------------------------------------------------------------------------------
def relu_clamp(x):
    return torch.clamp(x, min=0)


def relu_where(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_mask(x):
    return x * (x > 0)


def relu_maximum(x):
    return torch.maximum(x, torch.zeros_like(x))


def relu_abs(x):
    return (x + x.abs()) / 2


def relu_torch_max(x):
    return torch.max(x, 0)


def relu_in_place(x):
    x[x < 0] = 0
    return x


def relu_step(x):
    return (x > 0).float()


def relu_absolute(x):
    return x.abs()


def relu_loop(x):
    flat = x.flatten().clone()
    for i in range(flat.numel()):
        flat[i] = max(flat[i], 0)
    return flat.reshape(x.shape)


def relu_numpy(x):
    return x.numpy().clip(0)


def relu_calls_reference(x):
    return torch.relu(x)


def relu_stub(x):
    raise NotImplementedError()


@pytest.mark.parametrize("relu", [relu_clamp, relu_where, relu_mask, relu_maximum, relu_abs])
def test_relu_accepts_correct_alternatives(relu, capsys):
    check_relu(relu)
    assert "relu passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "relu, hint",
    [
        (relu_torch_max, "torch.max(x, 0) is a reduction"),
        (relu_in_place, "in place"),
        (relu_step, "step function"),
        (relu_absolute, "absolute value"),
        (relu_loop, "Python loop"),
        (relu_numpy, "not a torch.Tensor"),
        (relu_calls_reference, "the answer it is checked against"),
        (relu_stub, "not implemented yet"),
    ],
)
def test_relu_rejects_wrong_answers_with_a_hint(relu, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_relu(relu)


# --- relu_grad --------------------------------------------------------------------------
def grad_mask(x):
    return (x > 0).to(x.dtype)


def grad_where(x):
    return torch.where(x > 0, torch.ones_like(x), torch.zeros_like(x))


def grad_heaviside(x):
    return torch.heaviside(x, torch.zeros_like(x))


def grad_autograd(x):
    leaf = x.detach().clone().requires_grad_(True)
    torch.relu(leaf).sum().backward()
    return leaf.grad


def grad_ge(x):
    return (x >= 0).to(x.dtype)


def grad_bool(x):
    return x > 0


def grad_returns_relu(x):
    return torch.clamp(x, min=0)


def grad_sign(x):
    return torch.sign(x)


def grad_clamp_autograd(x):  # autograd through clamp: 1 at x = 0
    leaf = x.detach().clone().requires_grad_(True)
    torch.clamp(leaf, min=0).sum().backward()
    return leaf.grad


@pytest.mark.parametrize("relu_grad", [grad_mask, grad_where, grad_heaviside, grad_autograd])
def test_relu_grad_accepts_correct_alternatives(relu_grad):
    check_relu_grad(relu_grad)


@pytest.mark.parametrize(
    "relu_grad, hint",
    [
        (grad_ge, "`x >= 0` includes 0"),
        (grad_clamp_autograd, "PyTorch picks 0"),
        (grad_bool, "bool mask"),
        (grad_returns_relu, "relu(x) itself"),
        (grad_sign, "not 0 for negative inputs"),
    ],
)
def test_relu_grad_rejects_wrong_answers_with_a_hint(relu_grad, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_relu_grad(relu_grad)


# --- leaky_relu -------------------------------------------------------------------------
def leaky_where(x, slope=0.01):
    return torch.where(x > 0, x, slope * x)


def leaky_max(x, slope=0.01):  # correct for 0 <= slope <= 1
    return torch.maximum(x, slope * x)


def leaky_sum(x, slope=0.01):
    return torch.clamp(x, min=0) + slope * torch.clamp(x, max=0)


def leaky_default_01(x, slope=0.1):
    return torch.where(x > 0, x, slope * x)


def leaky_no_default(x, slope):
    return torch.where(x > 0, x, slope * x)


def leaky_scales_everything(x, slope=0.01):
    return slope * x


def leaky_sign_error(x, slope=0.01):
    return torch.where(x > 0, x, -slope * x)


def leaky_is_relu(x, slope=0.01):
    return torch.where(x > 0, x, torch.zeros_like(x))


def leaky_calls_reference(x, slope=0.01):
    return torch.nn.functional.leaky_relu(x, slope)


@pytest.mark.parametrize("leaky_relu", [leaky_where, leaky_max, leaky_sum])
def test_leaky_relu_accepts_correct_alternatives(leaky_relu):
    check_leaky_relu(leaky_relu)


@pytest.mark.parametrize(
    "leaky_relu, hint",
    [
        (leaky_default_01, "default slope of 0.1"),
        (leaky_no_default, "give slope a default of 0.01"),
        (leaky_scales_everything, "positive inputs by the slope"),
        (leaky_sign_error, "no minus sign"),
        (leaky_is_relu, "plain ReLU"),
        (leaky_calls_reference, "reference"),
    ],
)
def test_leaky_relu_rejects_wrong_answers_with_a_hint(leaky_relu, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_leaky_relu(leaky_relu)


# --- elu --------------------------------------------------------------------------------
def elu_where_clamped(x, alpha=1.0):
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))


def elu_split(x, alpha=1.0):
    return torch.clamp(x, min=0) + alpha * (torch.exp(torch.clamp(x, max=0)) - 1)


def elu_where_plain(x, alpha=1.0):  # exp(x) overflows for large x but where() discards it
    return torch.where(x > 0, x, alpha * (torch.exp(x) - 1))


def elu_no_minus_one(x, alpha=1.0):
    return torch.where(x > 0, x, alpha * torch.exp(x))


def elu_ignores_alpha(x, alpha=1.0):
    return torch.where(x > 0, x, torch.exp(x) - 1)


def elu_detached(x, alpha=1.0):
    return torch.tensor(torch.where(x > 0, x, alpha * torch.expm1(x)).tolist(), dtype=x.dtype).reshape(x.shape)


def elu_overflows(x, alpha=1.0):
    return torch.clamp(x, min=0) + alpha * (torch.exp(x) - 1) * (x <= 0) - 0 * torch.exp(x)


@pytest.mark.parametrize("elu", [elu_where_clamped, elu_split])
def test_elu_accepts_correct_alternatives(elu):
    check_elu(elu)


@pytest.mark.parametrize(
    "elu, hint",
    [
        (elu_no_minus_one, "without the - 1"),
        (elu_ignores_alpha, "ignores alpha"),
        (elu_detached, "not differentiable"),
        (elu_overflows, "overflows"),
        (elu_where_plain, "torch.where computes BOTH branches"),
    ],
)
def test_elu_rejects_wrong_answers_with_a_hint(elu, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_elu(elu)


def elu_default_half(x, alpha=0.5):
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))


def elu_no_default(x, alpha):
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))


def test_elu_checks_the_documented_default_alpha():
    with pytest.raises(AssertionError, match=r"default alpha of about 0\.5") as error:
        check_elu(elu_default_half)
    assert "nn.ELU" in str(error.value)
    with pytest.raises(AssertionError, match="give alpha a default of 1.0"):
        check_elu(elu_no_default)


# --- escape routes, as classes ------------------------------------------------------------------
class Agreeable(torch.Tensor):
    """A tensor subclass whose __torch_function__ makes every comparison say "equal"."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("allclose", "equal", "isclose"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def _agreeable(x, *args):
    return torch.zeros_like(x).as_subclass(Agreeable)


CHECKS = {"relu": check_relu, "relu_grad": check_relu_grad, "leaky_relu": check_leaky_relu, "elu": check_elu}
WITH_DEFAULT = {  # a signature each check can call
    "relu": lambda f: lambda x: f(x),
    "relu_grad": lambda f: lambda x: f(x),
    "leaky_relu": lambda f: lambda x, slope=0.01: f(x, slope),
    "elu": lambda f: lambda x, alpha=1.0: f(x, alpha),
}


@pytest.mark.parametrize("exercise", sorted(CHECKS))
def test_a_tensor_subclass_that_overrides_comparisons_fails(exercise):
    with pytest.raises(AssertionError, match="a subclass of torch.Tensor, not a plain tensor"):
        CHECKS[exercise](WITH_DEFAULT[exercise](_agreeable))


MALFORMED = {
    "None": (lambda x, *a: None, "not a torch.Tensor"),
    "a list": (lambda x, *a: x.tolist(), "not a torch.Tensor"),
    "a tuple": (lambda x, *a: (x, x), "tuple of 2 items"),
    "a float": (lambda x, *a: 0.0, "not a torch.Tensor"),
    "a NumPy array": (lambda x, *a: np.zeros(3), "not a torch.Tensor"),
    "the wrong shape": (lambda x, *a: torch.zeros(3), "changed the shape"),
    "a bool tensor": (lambda x, *a: x > 0, "bool mask"),
    "a 0-d tensor": (lambda x, *a: x.sum(), "changed the shape"),
    "a Parameter of the wrong values": (lambda x, *a: nn.Parameter(torch.ones_like(x)), ""),
}


@pytest.mark.parametrize("exercise", sorted(CHECKS))
@pytest.mark.parametrize("malformed", sorted(MALFORMED))
def test_malformed_results_end_in_a_message_not_a_crash(exercise, malformed):
    answer, words = MALFORMED[malformed]
    with pytest.raises(AssertionError, match=re.escape(words) if words else f"^{exercise}:"):
        CHECKS[exercise](WITH_DEFAULT[exercise](answer))


def _relu_alias():
    r = torch.relu
    return lambda x: r(x)


def _relu_wrapper(x):
    def helper(t):
        return F.relu(t)

    return helper(x)


_module = nn.ReLU()
_leaky_module = nn.LeakyReLU()


def _relu_via_package(x):
    from deadrelu.activations import value_and_gradient

    return value_and_gradient("ReLU", x)[0].detach()


def _grad_via_check_reference(x):
    from deadrelu.checks.relu_math import _relu_gradient_reference

    return _relu_gradient_reference(x)


def _grad_via_package(x):
    from deadrelu.activations import value_and_gradient

    return value_and_gradient("ReLU", x)[1]


def _elu_via_module(x, alpha=1.0):
    return nn.ELU(alpha)(x)


def _elu_via_getattr(x, alpha=1.0):
    return getattr(torch.nn.functional, "e" + "lu")(x, alpha)


REFERENCE_CALLS = [
    ("relu", _relu_alias()),
    ("relu", _relu_wrapper),
    ("relu", lambda x: _module(x)),
    ("relu", lambda x: x.relu()),
    ("relu", lambda x: F.threshold(x, 0.0, 0.0)),
    ("relu", _relu_via_package),
    ("relu_grad", _grad_via_check_reference),
    ("relu_grad", _grad_via_package),
    ("leaky_relu", lambda x, slope=0.01: nn.LeakyReLU(slope)(x)),
    ("leaky_relu", lambda x, slope=0.01: torch._C._nn.leaky_relu(x, slope)),
    ("elu", _elu_via_module),
    ("elu", _elu_via_getattr),
    ("elu", lambda x, alpha=1.0: torch.celu(x, alpha) if alpha else x),
]


@pytest.mark.parametrize(
    "exercise, answer", REFERENCE_CALLS, ids=[f"{e}-{i}" for i, (e, _) in enumerate(REFERENCE_CALLS)]
)
def test_the_reference_under_any_name_fails(exercise, answer):
    with pytest.raises(AssertionError, match="which computes the answer it is checked against"):
        CHECKS[exercise](answer)


# --- the prediction: which units get exactly zero gradient (test_zero_gradient_units) -----------
PRELUDE = "from deadrelu.checks.relu_math import check_unit_set"


def graded(relu, leaky):
    return run_graded_cell(
        "01_relu_math",
        "test_zero_gradient_units",
        {"ZERO_GRADIENT_RELU": relu, "ZERO_GRADIENT_LEAKY": leaky},
        prelude=PRELUDE,
    )


@pytest.mark.parametrize(
    "relu, leaky",
    [
        ({1, 2, 4}, {4}),
        ([4, 2, 1], [4]),
        ((1, 2, 4), (4,)),
        (frozenset({1, 2, 4}), frozenset({4})),
    ],
)
def test_zero_gradient_prediction_accepts_the_key_in_any_collection(relu, leaky):
    assert graded(relu, leaky) is None


@pytest.mark.parametrize(
    "relu, leaky, hint",
    [
        ({1, 2, 3, 4}, {4}, "negative on average can still fire on one example"),
        ({1, 3}, {4}, "decide example by example"),
        ({1, 4}, {4}, "pre-activation of exactly 0"),
        ({1, 2}, {4}, "zero gradient does not mean dead"),
        ({1}, {4}, "pre-activation of exactly 0"),
        ({0, 1, 2, 4}, {4}, "only a zero factor in the chain rule stops it"),
        ({2, 4}, {4}, "negative on every example"),
        ({1, 2, 4}, {1, 2, 4}, "slope for z <= 0 is 0.01, not 0"),
        ({1, 2, 4}, {2, 4}, "PyTorch uses it at z = 0 too"),
        ({1, 2, 4}, set(), "changes f'(z), not dL/dh"),
        ({1, 2, 4}, {0, 4}, "only a zero factor in the chain rule stops it"),
    ],
)
def test_zero_gradient_prediction_rejects_misconceptions_with_a_hint(relu, leaky, hint):
    message = graded(relu, leaky)
    assert message is not None and hint in message, message


@pytest.mark.parametrize(
    "relu, words",
    [
        (None, "not answered yet"),
        ("1, 2, 4", "not a set of unit numbers"),
        ({"1", "2"}, "not a unit number"),
        ({1.0, 2.0}, "not a unit number"),
        ({True}, "not a unit number"),
        ({1, 5}, "units 0 to 4 only"),
        ([1, 1, 2], "names a unit twice"),
        ({1: True}, "not a set of unit numbers"),
        (3, "not a set of unit numbers"),
    ],
)
def test_zero_gradient_prediction_form_is_checked_publicly(relu, words):
    message = graded(relu, {4})
    assert message is not None and words in message, message
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_unit_set(relu, "ZERO_GRADIENT_RELU")


def test_the_public_check_does_not_reveal_whether_a_prediction_is_right(capsys):
    for prediction in ({1, 2, 4}, {0, 3}, set()):
        check_unit_set(prediction, "ZERO_GRADIENT_RELU")
    printed = capsys.readouterr().out
    assert "well formed" in printed and "wrong" not in printed and "correct" not in printed
