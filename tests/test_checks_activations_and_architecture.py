"""The public checks of 06_activations_and_architecture: correct alternatives pass, plausible
wrong answers fail with a hint naming the misconception."""

import re

import pytest
import torch
import torch.nn.functional as F
from course_tools import run_graded_cell
from torch import nn

from deadrelu.checks.activations_and_architecture import (
    DEPTH_ARCHITECTURES,
    check_batch_norm_train,
    check_dead_ranking_prediction,
    check_residual_block,
)
from deadrelu.models import Residual

ASSIGNMENT = "06_activations_and_architecture"


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


class BlockFloat64Inside(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.linear = nn.Linear(width, width)

    def forward(self, x):
        return torch.add(x, F.relu(self.linear(x)), alpha=1)


@pytest.mark.parametrize("block", [BlockWithModules, BlockFunctional, BlockSequentialBranch, BlockFloat64Inside])
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


class BlockFromTheHelper(Residual):
    """The package's Residual does the work: its forward is the package's implementation."""

    def __init__(self, width):
        super().__init__(nn.Sequential(nn.Linear(width, width), nn.ReLU()))


class BlockDelegating(nn.Module):
    """Hides the package's Residual inside an attribute: still the package's implementation."""

    def __init__(self, width):
        super().__init__()
        self.inner = Residual(nn.Sequential(nn.Linear(width, width), nn.ReLU()))

    def forward(self, x):
        return self.inner(x)


class Posing(torch.Tensor):
    """A tensor subclass that claims to equal everything."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.isclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


class BrokenInit(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.linear.weight[0, 0] = 1.0  # in-place write into a leaf that requires grad: RuntimeError


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
        (BlockFromTheHelper, "calls the course's `Residual.forward`"),
        (BlockDelegating, "calls the course's `Residual.forward`"),
        (block_with(lambda self, x: None), "forward returned None"),
        (block_with(lambda self, x: (x + torch.relu(self.linear(x)), x)), "forward returned a tuple of 2 items"),
        (block_with(lambda self, x: (x + torch.relu(self.linear(x))).tolist()), "not a torch.Tensor"),
        (
            block_with(lambda self, x: (x + torch.relu(self.linear(x))).as_subclass(Posing)),
            "a subclass of torch.Tensor",
        ),
        (block_with(lambda self, x: x + torch.relu(self.linear(x.T))), "shape mismatch"),
        (BrokenInit, "raised RuntimeError"),
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


normalise = F.batch_norm  # an alias: the call watch sees what runs, not the name in the source


def bn_alias(x, gamma, beta, eps=1e-5):
    return normalise(x, None, None, gamma, beta, training=True, eps=eps)


def bn_torch_batch_norm(x, gamma, beta, eps=1e-5):
    return torch.batch_norm(x, gamma, beta, None, None, True, 0.1, eps, False)


def bn_native(x, gamma, beta, eps=1e-5):
    return torch.native_batch_norm(x, gamma, beta, None, None, True, 0.1, eps)[0]


def bn_aten(x, gamma, beta, eps=1e-5):
    return torch.ops.aten.native_batch_norm(x, gamma, beta, None, None, True, 0.1, eps)[0]


def bn_layer_norm_transposed(x, gamma, beta, eps=1e-5):
    return (F.layer_norm(x.T, (x.shape[0],), eps=eps).T) * gamma + beta


def bn_check_reference(x, gamma, beta, eps=1e-5):
    from deadrelu.checks.activations_and_architecture import _reference

    return _reference(x, gamma, beta, eps)


def bn_check_helper(x, gamma, beta, eps=1e-5):
    from deadrelu.checks import activations_and_architecture as helpers

    x_hat, _, _ = helpers._standardise(x, 0, eps)
    return gamma * x_hat + beta


def bn_std_squared(x, gamma, beta, eps=1e-5):
    # right values, but the derivative of std at a zero variance is infinite: nan gradients for a constant feature
    std = torch.sqrt(x.var(0, unbiased=False))
    return gamma * (x - x.mean(0)) / torch.sqrt(std**2 + eps) + beta


def bn_detached_statistics(x, gamma, beta, eps=1e-5):
    mean, var = x.mean(0).detach(), x.var(0, unbiased=False).detach()
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def bn_no_grad(x, gamma, beta, eps=1e-5):
    with torch.no_grad():
        return gamma * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) + beta


def bn_rebuilt(x, gamma, beta, eps=1e-5):
    out = gamma * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) + beta
    return torch.tensor(out.tolist(), dtype=x.dtype)


def bn_numpy(x, gamma, beta, eps=1e-5):
    return (gamma * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) + beta).detach().numpy()


def bn_posing(x, gamma, beta, eps=1e-5):
    return x.as_subclass(Posing)


def bn_none(x, gamma, beta, eps=1e-5):
    gamma * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) + beta


def bn_no_default(x, gamma, beta, eps):
    return gamma * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) + beta


def bn_gamma_as_list(x, gamma, beta, eps=1e-5):
    return gamma.tolist() * x  # TypeError: a list times a tensor of another length


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
        (bn_reference, "calls torch's `batch_norm`"),
        (bn_module, "calls torch's `batch_norm`"),
        (bn_alias, "calls torch's `batch_norm`"),
        (bn_torch_batch_norm, "calls torch's `batch_norm`"),
        (bn_native, "calls torch's `native_batch_norm`"),
        (bn_aten, "native_batch_norm"),
        (bn_layer_norm_transposed, "calls torch's `layer_norm`"),
        (bn_check_reference, "`_reference` from the check module"),
        (bn_check_helper, "`_standardise` from the check module"),
        (bn_std_squared, "nan or inf gradient with respect to x"),
        (bn_detached_statistics, "do not .detach() them"),
        (bn_no_grad, "autograd cannot differentiate"),
        (bn_rebuilt, "autograd cannot differentiate"),
        (bn_numpy, "not a torch.Tensor"),
        (bn_posing, "a subclass of torch.Tensor"),
        (bn_none, "returned a NoneType"),
        (bn_no_default, "eps has a default"),
        (bn_gamma_as_list, "raised TypeError"),
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

    rules = [(_reference(_X, _GAMMA, _BETA, _EPS), None)] + [
        (out, hint) for _, out, hint in _wrong_batch_norms(_X, _GAMMA, _BETA, _EPS)
    ]
    for i, (a, hint_a) in enumerate(rules):
        for b, hint_b in rules[i + 1 :]:
            if hint_a != hint_b:
                assert not torch.allclose(a, b, atol=1e-4), (
                    "two rules with different hints give the same output on the check's batch"
                )


# --- the prediction: dead units at initialisation against depth ----------------------------
PRELUDE = "from deadrelu.checks.activations_and_architecture import check_dead_ranking_prediction"
PLAIN, SIMPLE, STANDARD = DEPTH_ARCHITECTURES


def grade_ranking(answer):
    return run_graded_cell(
        ASSIGNMENT, "test_PREDICTED_DEAD_RANKING", {"PREDICTED_DEAD_RANKING": answer}, prelude=PRELUDE
    )


@pytest.mark.parametrize(
    "answer",
    [
        [PLAIN, SIMPLE, STANDARD],
        (PLAIN, SIMPLE, STANDARD),
        ["plain", "x + ReLU(Wx)", "x + W2·ReLU(W1x)"],
        ["Plain", "x+relu(Wx)", "x + W2 ReLU(W1 x)"],
        ["plain", "simple", "standard"],
        ["plain", "x + ReLU(W x)", "x + W2*ReLU(W1x)"],
    ],
)
def test_ranking_accepts_every_form_of_the_right_answer(answer):
    assert grade_ranking(answer) is None


@pytest.mark.parametrize(
    "answer, hint",
    [
        ([SIMPLE, PLAIN, STANDARD], "shrinks layer after layer"),
        ([PLAIN, STANDARD, SIMPLE], "can only add"),
        ([STANDARD, SIMPLE, PLAIN], "skip connections create dead units"),
        ([SIMPLE, STANDARD, PLAIN], "skip connections create dead units"),
        ([STANDARD, PLAIN, SIMPLE], "can only add"),
    ],
)
def test_ranking_rejects_wrong_answers_with_a_hint(answer, hint):
    message = grade_ranking(answer)
    assert message is not None and hint in message, message
    assert "most dead units first: plain" not in message  # the hint never gives the answer away


@pytest.mark.parametrize(
    "answer, words",
    [
        (None, "no prediction yet"),
        ("plain > x + ReLU(Wx) > x + W2·ReLU(W1x)", "not an ordered list"),
        ({PLAIN, SIMPLE, STANDARD}, "not an ordered list"),
        ([PLAIN, SIMPLE], "exactly once"),
        ([PLAIN, PLAIN, SIMPLE], "exactly once"),
        ([PLAIN, SIMPLE, "batch norm"], "not one of the architectures"),
        ([1, 2, 3], "not one of the architectures"),
    ],
)
def test_ranking_check_validates_the_form_only(answer, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_dead_ranking_prediction(answer)


def test_ranking_public_check_does_not_reveal_whether_it_is_right(capsys):
    check_dead_ranking_prediction([PLAIN, SIMPLE, STANDARD])
    check_dead_ranking_prediction([STANDARD, SIMPLE, PLAIN])
    out = capsys.readouterr().out
    assert out.count("has the right form") == 2 and "correct" not in out.lower()
