"""The public checks of 01_relu_math: correct alternatives pass, plausible wrong answers
fail with a hint that names the misconception."""

import re

import pytest
import torch

from deadrelu.checks.relu_math import check_elu, check_leaky_relu, check_relu, check_relu_grad


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
        (relu_calls_reference, "reference it is checked against"),
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


@pytest.mark.parametrize("elu", [elu_where_clamped, elu_split, elu_where_plain])
def test_elu_accepts_correct_alternatives(elu):
    check_elu(elu)


@pytest.mark.parametrize(
    "elu, hint",
    [
        (elu_no_minus_one, "without the - 1"),
        (elu_ignores_alpha, "ignores alpha"),
        (elu_detached, "not differentiable"),
        (elu_overflows, "overflows"),
    ],
)
def test_elu_rejects_wrong_answers_with_a_hint(elu, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_elu(elu)
