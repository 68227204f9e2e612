"""The public checks of 06_activations_and_architecture: correct alternatives pass, plausible
wrong answers fail with a hint naming the misconception."""

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deadrelu.checks.activations_and_architecture import check_batch_norm_train, check_residual_block
from deadrelu.models import Residual


# --- ResidualBlock: correct alternatives ----------------------------------------------------
class BlockWithModules(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.relu = nn.ReLU()

    def forward(self, x):
        return x + self.relu(self.linear(x))


class BlockFunctional(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return torch.clamp(self.fc(x), min=0) + x


class BlockSequentialBranch(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.branch = nn.Sequential(nn.Linear(width, width), nn.ReLU(inplace=True))

    def forward(self, x):
        return x.add(self.branch(x))


class BlockFromTheHelper(Residual):
    def __init__(self, width):
        super().__init__(nn.Sequential(nn.Linear(width, width), nn.ReLU()))


@pytest.mark.parametrize("block", [BlockWithModules, BlockFunctional, BlockSequentialBranch, BlockFromTheHelper])
def test_residual_block_accepts_correct_alternatives(block, capsys):
    check_residual_block(block)
    assert "ResidualBlock passed" in capsys.readouterr().out


# --- ResidualBlock: wrong answers -----------------------------------------------------------
def block_with(forward, out_features=None, extra_linear=False):
    """A block class with one Linear (width -> out_features or width) and the given forward."""

    class Block(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.linear = nn.Linear(width, out_features(width) if out_features else width)
            if extra_linear:
                self.second = nn.Linear(width, width)

        def forward(self, x):
            return forward(self, x)

    return Block


def _inplace_forward(self, x):
    x += torch.relu(self.linear(x))
    return x


class NotImplementedBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        raise NotImplementedError()


@pytest.mark.parametrize(
    "block, hint",
    [
        (block_with(lambda self, x: torch.relu(self.linear(x))), "the skip is missing"),
        (block_with(lambda self, x: torch.relu(x + self.linear(x))), "ReLU is applied after the addition"),
        (block_with(lambda self, x: x + self.linear(x)), "the branch has no activation"),
        (block_with(lambda self, x: x + self.linear(torch.relu(x))), "pre-activation"),
        (block_with(lambda self, x: torch.relu(x) + torch.relu(self.linear(x))), "the skip passes relu(x)"),
        (block_with(lambda self, x: torch.cat([x, torch.relu(self.linear(x))], dim=-1)), "concatenates"),
        (block_with(lambda self, x: x + torch.relu(self.linear(x)), out_features=lambda w: 2 * w), "shape mismatch"),
        (block_with(lambda self, x: x + torch.relu(self.second(self.linear(x))), extra_linear=True), "exactly one"),
        (block_with(_inplace_forward), "in place"),
        (block_with(lambda self, x: x.detach() + torch.relu(self.linear(x))), "gradient"),
        (block_with(lambda self, x: x + 0.5 * torch.relu(self.linear(x))), "differs from x + relu(linear(x))"),
        (NotImplementedBlock, "not implemented yet"),
        (lambda: nn.Identity(), "could not be built"),
    ],
)
def test_residual_block_rejects_wrong_answers_with_a_hint(block, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_residual_block(block)


def test_residual_block_rejects_a_hard_coded_width():
    class FixedWidth(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.linear = nn.Linear(width, width)

        def forward(self, x):
            return x + torch.relu(self.linear(x)) * (x.shape[-1] == 4)  # only right for width 4

    with pytest.raises(AssertionError, match="is wrong for width 1"):
        check_residual_block(FixedWidth)


# --- batch_norm_train: correct alternatives -------------------------------------------------
def bn_var_unbiased_false(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=0)
    var = x.var(dim=0, unbiased=False)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def bn_by_hand(x, gamma, beta, eps=1e-5):
    centred = x - x.mean(0, keepdim=True)
    var = (centred**2).mean(0, keepdim=True)
    return centred * torch.rsqrt(var + eps) * gamma + beta


def bn_var_mean(x, gamma, beta, eps=1e-5):
    var, mean = torch.var_mean(x, dim=0, correction=0)
    return torch.addcmul(beta, gamma, (x - mean) / (var + eps).sqrt())


def bn_float64_inside(x, gamma, beta, eps=1e-5):
    # computes in float64, returns the input's dtype
    x64 = x.double()
    x_hat = (x64 - x64.mean(0)) / (x64.var(0, correction=0) + eps) ** 0.5
    return (gamma.double() * x_hat + beta.double()).to(x.dtype)


@pytest.mark.parametrize("batch_norm_train", [bn_var_unbiased_false, bn_by_hand, bn_var_mean, bn_float64_inside])
def test_batch_norm_train_accepts_correct_alternatives(batch_norm_train, capsys):
    check_batch_norm_train(batch_norm_train)
    assert "batch_norm_train passed" in capsys.readouterr().out


# --- batch_norm_train: wrong answers --------------------------------------------------------
def bn_unbiased(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(0)) / torch.sqrt(x.var(0) + eps) + beta


def bn_over_features(x, gamma, beta, eps=1e-5):
    mean, var = x.mean(1, keepdim=True), x.var(1, keepdim=True, unbiased=False)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def bn_whole_tensor(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + eps) + beta


def bn_eps_outside(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(0)) / (x.std(0, unbiased=False) + eps) + beta


def bn_no_sqrt(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(0)) / (x.var(0, unbiased=False) + eps) + beta


def bn_no_affine(x, gamma, beta, eps=1e-5):
    return (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps)


def bn_swapped(x, gamma, beta, eps=1e-5):
    return beta * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) + gamma


def bn_fixed_eps(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5) + beta


def bn_no_eps(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(0)) / x.std(0, unbiased=False) + beta


def bn_reference(x, gamma, beta, eps=1e-5):
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)


def bn_module(x, gamma, beta, eps=1e-5):
    layer = nn.BatchNorm1d(x.shape[1], eps=eps)
    with torch.no_grad():
        layer.weight.copy_(gamma)
        layer.bias.copy_(beta)
    return layer(x)


def bn_in_place(x, gamma, beta, eps=1e-5):
    x -= x.mean(0)
    return gamma * x / torch.sqrt(x.var(0, unbiased=False) + eps) + beta


def bn_loop(x, gamma, beta, eps=1e-5):
    columns = []
    for j in range(x.shape[1]):
        c = x[:, j]
        columns.append(gamma[j] * (c - c.mean()) / torch.sqrt(c.var(unbiased=False) + eps) + beta[j])
    return torch.stack(columns, dim=1)


def bn_tuple(x, gamma, beta, eps=1e-5):
    mean, var = x.mean(0), x.var(0, unbiased=False)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, mean, var


def bn_reduced(x, gamma, beta, eps=1e-5):
    return gamma * x.mean(0) + beta


def bn_stub(x, gamma, beta, eps=1e-5):
    raise NotImplementedError()


@pytest.mark.parametrize(
    "batch_norm_train, hint",
    [
        (bn_unbiased, "BIASED batch variance"),
        (bn_over_features, "which is layer norm"),
        (bn_whole_tensor, "PER FEATURE"),
        (bn_eps_outside, "eps goes inside the square root"),
        (bn_no_sqrt, "not by the variance"),
        (bn_no_affine, "gamma * x_hat + beta"),
        (bn_swapped, "gamma is the scale"),
        (bn_fixed_eps, "use the eps argument"),
        (bn_no_eps, "use the eps argument"),
        (bn_reference, "calls `batch_norm`"),
        (bn_module, "calls `BatchNorm1d`"),
        (bn_in_place, "in place"),
        (bn_loop, "Python loop"),
        (bn_tuple, "returned a tuple"),
        (bn_reduced, "returned shape (3,)"),
        (bn_stub, "not implemented yet"),
    ],
)
def test_batch_norm_train_rejects_wrong_answers_with_a_hint(batch_norm_train, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_batch_norm_train(batch_norm_train)


def test_batch_norm_check_fixture_tells_every_wrong_answer_apart():
    """The fixed batch must give a different output for the correct rule and each wrong one,
    or a hint could name the wrong misconception."""
    from deadrelu.checks.activations_and_architecture import _BETA, _EPS, _GAMMA, _X, _reference, _wrong_batch_norms

    rules = [(_reference(_X, _GAMMA, _BETA, _EPS), None)] + [(out, hint) for _, out, hint in _wrong_batch_norms(_X, _GAMMA, _BETA, _EPS)]
    for i, (a, hint_a) in enumerate(rules):
        for b, hint_b in rules[i + 1 :]:
            if hint_a != hint_b:
                assert not torch.allclose(a, b, atol=1e-4), "two rules with different hints give the same output on the check's batch"
