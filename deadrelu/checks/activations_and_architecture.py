"""Public checks of notebook 06_activations_and_architecture: ResidualBlock, batch_norm_train,
and the form of the prediction of dead units against depth.

Each check runs the student's code on small inputs built so that the correct answer and
each plausible wrong one give different numbers; when the answer matches a wrong one, the
failure names that misconception. The student's code runs under the call watch of
`_common.call`: PyTorch's normalisation layers (by name, however reached) and the package's
`Residual` cannot stand in for the answer.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..models import Residual
from ._common import call, expect_no_python_loops, fail, graded_check, plain_tensor

# --- ResidualBlock ------------------------------------------------------------------------
# The expected block: out = x + relu(linear(x)), with one nn.Linear(width, width). Other forms
# it could be confused with, as (name, output from x and the linear, hint):
_RESIDUAL_FORMS = [
    (
        "relu(linear(x))",
        lambda x, linear: torch.relu(linear(x)),
        "the skip is missing: this is a plain Linear -> ReLU layer. A residual block returns x + f(x), so the "
        "input reaches the output (and its gradient reaches the input) even when f's units are dead.",
    ),
    (
        "relu(x + linear(x))",
        lambda x, linear: torch.relu(x + linear(x)),
        "the ReLU is applied after the addition, relu(x + Linear(x)): that gates the skip path too (the original "
        "ResNet's post-activation placement). This exercise asks for the identity skip x + ReLU(Linear(x)), the "
        "form make_mlp(residual=True) builds: with it, a block whose units are all dead outputs exactly x.",
    ),
    (
        "x + linear(x)",
        lambda x, linear: x + linear(x),
        "the branch has no activation: f(x) must be Linear followed by ReLU, x + ReLU(Linear(x)).",
    ),
    (
        "x + linear(relu(x))",
        lambda x, linear: x + linear(torch.relu(x)),
        "that is the 'pre-activation' branch x + Linear(ReLU(x)) (He et al. 2016, Identity Mappings), a valid "
        "design but not the one asked: here f applies the Linear first, then the ReLU: x + ReLU(Linear(x)).",
    ),
    (
        "relu(x) + relu(linear(x))",
        lambda x, linear: torch.relu(x) + torch.relu(linear(x)),
        "the skip passes relu(x), not x: the identity path must carry the input unchanged, negative values included.",
    ),
]


# the package's residual wrapper computes the block: an answer must not delegate to it
_PACKAGE_BLOCKS = [Residual.forward]


def _build_block(ResidualBlock, width, name):
    block = call(
        ResidualBlock,
        width,
        name=name,
        forbidden=_PACKAGE_BLOCKS,
        type_error_hint=f"ResidualBlock could not be built as ResidualBlock({width}): the constructor takes one "
        "argument, the width.",
    )
    if not isinstance(block, nn.Module):
        fail(
            name,
            f"ResidualBlock({width}) is a {type(block).__name__}, not an nn.Module.",
            "subclass nn.Module and call super().__init__() first.",
        )
    linears = [m for m in block.modules() if isinstance(m, nn.Linear)]
    if len(linears) != 1:
        fail(
            name,
            f"ResidualBlock({width}) contains {len(linears)} nn.Linear layers; expected exactly one.",
            "the branch f is one nn.Linear(width, width) followed by a ReLU; keep the Linear as an attribute "
            "(e.g. self.linear) so that its parameters belong to the block.",
        )
    linear = linears[0]
    if (linear.in_features, linear.out_features) != (width, width):
        fail(
            name,
            f"ResidualBlock({width}) holds nn.Linear({linear.in_features}, {linear.out_features}).",
            "shape mismatch: x + f(x) adds two tensors elementwise, so f must map width -> width: "
            "nn.Linear(width, width).",
        )
    return block, linear


def _forward(block, x, name):
    return call(
        block,
        x,
        name=name,
        forbidden=_PACKAGE_BLOCKS,
        error_hints={
            "in-place": "an in-place operation on x (x += ..., relu_) breaks autograd; return x + f(x), a new tensor.",
            RuntimeError: (
                "shape mismatch: x and f(x) must have the same shape to be added; use nn.Linear(width, width) "
                "and do not reshape or flatten x."
            ),
        },
    )


def _expect_same_shape(out, x, name):
    """The forward's output as a plain tensor of x's shape."""
    if out is None:
        fail(
            name,
            "forward returned None.",
            "forward must return the block's output, x + f(x) (did you forget `return`?).",
        )
    if isinstance(out, tuple):
        fail(
            name,
            f"forward returned a tuple of {len(out)} items, not one tensor.",
            "return only the block's output, x + f(x); a residual block's output feeds the next block as its input.",
        )
    out = plain_tensor(out, name, "forward returned")
    if out.shape != x.shape:
        hint = "a residual block keeps the shape of its input: out = x + f(x)."
        if out.shape[:-1] == x.shape[:-1] and out.shape[-1] == 2 * x.shape[-1]:
            hint = (
                "it concatenates x and f(x) (torch.cat, DenseNet-style), doubling the width. A residual block "
                "ADDS them: x + f(x) keeps the width."
            )
        fail(name, f"maps an input of shape {tuple(x.shape)} to shape {tuple(out.shape)}.", hint)
    return out


@graded_check(
    "ResidualBlock",
    expects="an nn.Module class ResidualBlock(width) whose forward returns x + ReLU(Linear(x)) as one tensor",
)
def check_residual_block(ResidualBlock):
    """Check `ResidualBlock(width)`: an nn.Module whose forward is x + relu(linear(x))."""
    name = "ResidualBlock"
    g = torch.Generator().manual_seed(6)
    block, linear = _build_block(ResidualBlock, 4, name)
    with torch.no_grad():  # weights chosen so that every form above gives different numbers
        linear.weight.copy_(torch.randn(4, 4, generator=g))
        linear.bias.copy_(torch.tensor([0.5, -0.5, 0.2, -1.0]))
    x = torch.randn(6, 4, generator=g)
    original = x.clone()
    out = _forward(block, x, name)
    if isinstance(out, torch.Tensor) and not torch.equal(x, original):
        fail(
            name,
            "modified its input tensor in place.",
            "`x += f(x)` or an in-place ReLU on x writes into the caller's tensor (and autograd needs the "
            "original x for the backward pass); return x + f(x), a new tensor.",
        )
    out = _expect_same_shape(out, x, name)
    with torch.no_grad():
        expected = x + torch.relu(linear(x))
        if not torch.allclose(out, expected, atol=1e-5, rtol=1e-5):
            for form, compute, hint in _RESIDUAL_FORMS:
                if torch.allclose(out, compute(x, linear), atol=1e-5, rtol=1e-5):
                    fail(name, f"computes {form}; expected x + relu(linear(x)).", hint)
            worst = (out - expected).abs().max().item()
            fail(
                name,
                f"differs from x + relu(linear(x)) by up to {worst:.3g} on a (6, 4) input.",
                "forward should return x + ReLU(Linear(x)) with the block's own nn.Linear(width, width).",
            )

    # A dead branch (every pre-activation negative) must leave the identity: out = x, d out/d x = 1.
    with torch.no_grad():
        linear.bias.fill_(-100.0)
    x = torch.randn(5, 4, generator=g, requires_grad=True)
    out = _expect_same_shape(_forward(block, x, name), x, name)
    if not torch.allclose(out.detach(), x.detach(), atol=1e-6):
        fail(
            name,
            "does not pass x through when every unit of the branch is dead (bias -100).",
            "with all of f's units dead, ReLU(Linear(x)) = 0 and the block must output exactly x: the skip is "
            "what keeps a dead block from blocking the network.",
        )
    if out.grad_fn is not None:
        out.sum().backward()
    if x.grad is None or not torch.allclose(x.grad, torch.ones_like(x)):
        fail(
            name,
            "does not let the gradient through the skip when the branch is dead.",
            "d(x + f(x))/dx = 1 + f'(x); with a dead branch the gradient should be exactly 1. Do not detach x.",
        )

    # Other widths and leading dimensions (a width hard-coded somewhere fails here).
    for width, shape in ((1, (3, 1)), (16, (7, 16)), (5, (2, 3, 5))):
        block, linear = _build_block(ResidualBlock, width, name)
        x = torch.randn(*shape, generator=g)
        out = _expect_same_shape(_forward(block, x, name), x, name)
        with torch.no_grad():
            if not torch.allclose(out, x + torch.relu(linear(x)), atol=1e-5, rtol=1e-5):
                fail(
                    name,
                    f"is wrong for width {width} on an input of shape {shape}.",
                    "do not hard-code the width; build nn.Linear(width, width) from the constructor's argument.",
                )
    print(
        "ResidualBlock passed: x + relu(linear(x)) for widths 1, 4, 5 and 16 and inputs of rank 2 and 3; "
        "a dead branch passes x through with gradient exactly 1."
    )


# --- batch_norm_train ---------------------------------------------------------------------
# PyTorch's normalisations, by the names of their Python functions, modules and C++ kernels
_BANNED = {
    "batch_norm",
    "BatchNorm1d",
    "BatchNorm2d",
    "native_batch_norm",
    "_native_batch_norm_legit",
    "_native_batch_norm_legit_no_training",
    "_batch_norm_impl_index",
    "cudnn_batch_norm",
    "miopen_batch_norm",
    "batch_norm_stats",
    "batch_norm_elemt",
    "layer_norm",
    "native_layer_norm",
    "LayerNorm",
    "instance_norm",
    "group_norm",
    "native_group_norm",
    "GroupNorm",
    "InstanceNorm1d",
}


def _reference(x, gamma, beta, eps):
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)


def _standardise(x, dim, eps, correction=0):
    mean = x.mean(dim=dim, keepdim=True)
    var = x.var(dim=dim, keepdim=True, correction=correction)
    return (x - mean) / torch.sqrt(var + eps), mean, var


_EPS_HINT = (
    "use the eps argument (the check passes eps=0.1) and add it to the variance inside the square root: "
    "(x - mean) / sqrt(var + eps). It keeps the division finite when a feature is constant over the batch."
)


def _wrong_batch_norms(x, gamma, beta, eps):
    """(name, output, hint) of each plausible wrong answer for input x."""
    x_hat, mean, var = _standardise(x, 0, eps)
    unbiased, _, _ = _standardise(x, 0, eps, correction=1)
    over_features, _, _ = _standardise(x, 1, eps)
    whole = (x - x.mean()) / torch.sqrt(x.var(correction=0) + eps)
    return [
        (
            "the unbiased variance",
            gamma * unbiased + beta,
            "torch.var / Tensor.var divide by N - 1 by default (Bessel's correction). Batch norm normalises with the "
            "BIASED batch variance, dividing by N (Ioffe & Szegedy 2015, Algorithm 1): use "
            "x.var(dim=0, unbiased=False) or correction=0, or ((x - mean)**2).mean(dim=0).",
        ),
        (
            "statistics over the features of each example (dim=1)",
            gamma * over_features + beta,
            "that normalises each example (row) over its features, which is layer norm. Batch norm normalises each "
            "feature (column) over the examples of the batch: reduce over dim=0.",
        ),
        (
            "one mean and variance for the whole tensor",
            gamma * whole + beta,
            "batch norm keeps one mean and one variance PER FEATURE: reduce over dim=0 only (keepdim or broadcasting "
            "over the rows), not over every element.",
        ),
        (
            "eps outside the square root",
            gamma * (x - mean) / (torch.sqrt(var) + eps) + beta,
            "eps goes inside the square root: (x - mean) / sqrt(var + eps).",
        ),
        (
            "no square root",
            gamma * (x - mean) / (var + eps) + beta,
            "divide by the standard deviation sqrt(var + eps), not by the variance.",
        ),
        (
            "no scale and shift",
            x_hat,
            "after normalising, scale and shift with the learned parameters: gamma * x_hat + beta. Without them the "
            "layer could not undo the normalisation where that helps.",
        ),
        (
            "gamma and beta swapped",
            beta * x_hat + gamma,
            "gamma is the scale (multiplies x_hat) and beta the shift (is added): gamma * x_hat + beta.",
        ),
        ("a fixed eps instead of the argument", gamma * _standardise(x, 0, 1e-5)[0] + beta, _EPS_HINT),
        ("no eps", gamma * (x - mean) / torch.sqrt(var) + beta, _EPS_HINT),
    ]


def _check_output(result, x, name):
    """The result as a plain tensor of x's shape and dtype."""
    if isinstance(result, tuple):
        fail(
            name, f"returned a tuple of {len(result)} items.", "return only the normalised, scaled and shifted tensor."
        )
    result = plain_tensor(result, name)
    if result.shape != x.shape:
        fail(
            name,
            f"returned shape {tuple(result.shape)} for an input of shape {tuple(x.shape)}.",
            "the output has the input's shape (N, F): subtract the per-feature mean with keepdim=True or by "
            "broadcasting.",
        )
    if result.dtype != x.dtype:
        fail(
            name,
            f"returned dtype {result.dtype} for an input of dtype {x.dtype}.",
            "use tensor ops that keep x's dtype.",
        )
    return result


def _batch_norm(batch_norm_train, *args, name):
    return call(
        batch_norm_train,
        *args,
        name=name,
        banned=_BANNED,
        type_error_hint="the signature is batch_norm_train(x, gamma, beta, eps=1e-5): eps has a default.",
    )


def _check_gradients(batch_norm_train, x, gamma, beta, name):
    """Autograd through the answer (default eps) gives finite gradients equal to F.batch_norm's,
    w.r.t. x, gamma, beta."""
    leaves = [t.detach().clone().requires_grad_(True) for t in (x, gamma, beta)]
    out = _check_output(_batch_norm(batch_norm_train, *leaves, name=name), x, name)
    if out.grad_fn is None:
        fail(
            name,
            "returned a tensor that autograd cannot differentiate.",
            "build the output from x, gamma and beta with torch ops (no .detach(), .item(), numpy or torch.tensor(...) "
            "around the result): a normalisation layer must pass gradients to the layer before it.",
        )
    upstream = torch.linspace(-1, 1, x.numel(), dtype=x.dtype).reshape(x.shape) ** 3
    grads = torch.autograd.grad((out * upstream).sum(), leaves, allow_unused=True)
    reference = [t.detach().clone().requires_grad_(True) for t in (x, gamma, beta)]
    expected = torch.autograd.grad((_reference(*reference, 1e-5) * upstream).sum(), reference)
    for what, grad, wanted in zip(("x", "gamma", "beta"), grads, expected):
        if grad is None:
            fail(
                name,
                f"returned an output that does not depend on {what} through autograd.",
                f"use {what} itself in the computation, not a copy of its values.",
            )
        if not torch.isfinite(grad).all():
            fail(
                name,
                f"gives a nan or inf gradient with respect to {what} for a batch with a constant feature.",
                "the value is right but the backward pass is not: the square root of a zero variance has an infinite "
                "derivative. Add eps to the variance BEFORE the square root (compute the variance itself, not std "
                "squared).",
            )
        if not torch.allclose(grad, wanted, atol=1e-4, rtol=1e-3):
            hint = (
                "the batch mean and variance are functions of x, so the gradient flows through them too: do not "
                ".detach() them or compute them under torch.no_grad()."
                if what == "x"
                else "compute the output from the gamma and beta you are given, with differentiable tensor ops."
            )
            fail(
                name,
                f"has the right values but a wrong gradient with respect to {what} (compared with F.batch_norm's).",
                hint,
            )


# A batch of 4 examples x 3 features: small enough that N and N - 1 differ by a third, with
# features of different scales; eps = 0.1 makes the place of eps visible.
_X = torch.tensor([[1.0, -2.0, 0.3], [3.0, 0.0, 0.1], [-1.0, 4.0, 0.2], [1.0, 2.0, 0.6]])
_GAMMA = torch.tensor([1.5, -0.5, 2.0])
_BETA = torch.tensor([0.1, 0.2, -0.3])
_EPS = 0.1


@graded_check(
    "batch_norm_train",
    expects="one tensor of x's shape (N, F): gamma * (x - mean) / sqrt(var + eps) + beta per feature",
)
def check_batch_norm_train(batch_norm_train):
    """Check `batch_norm_train(x, gamma, beta, eps=1e-5)` against F.batch_norm(training=True),
    values and gradients."""
    name = "batch_norm_train"
    x, gamma, beta = _X.clone(), _GAMMA.clone(), _BETA.clone()
    result = _batch_norm(batch_norm_train, x, gamma, beta, _EPS, name=name)
    if not (torch.equal(x, _X) and torch.equal(gamma, _GAMMA) and torch.equal(beta, _BETA)):
        fail(
            name,
            "modified its inputs in place.",
            "x -= mean and similar in-place ops change the caller's tensors; use out-of-place ops.",
        )
    result = _check_output(result, x, name)
    expected = _reference(_X, _GAMMA, _BETA, _EPS)
    if not torch.allclose(result, expected, atol=1e-5, rtol=1e-5):
        for mistake, wrong, hint in _wrong_batch_norms(_X, _GAMMA, _BETA, _EPS):
            if torch.allclose(result, wrong, atol=1e-5, rtol=1e-5):
                fail(name, f"uses {mistake}.", hint)
        bad = (~torch.isclose(result, expected, atol=1e-5, rtol=1e-5)).nonzero()[0].tolist()
        fail(
            name,
            f"differs from F.batch_norm(training=True) at index {tuple(bad)} of a (4, 3) batch with eps=0.1: "
            f"got {result[tuple(bad)].item():.6g}, expected {expected[tuple(bad)].item():.6g}.",
            "x_hat = (x - mean) / sqrt(var + eps) with the per-feature mean and biased variance over dim 0; "
            "return gamma * x_hat + beta.",
        )
    # the default eps, a larger float64 batch, and a feature that is constant over the batch
    g = torch.Generator().manual_seed(66)
    worst = 0.0
    for n, features, dtype in ((32, 7, torch.float32), (5, 2, torch.float64)):
        x = torch.randn(n, features, generator=g, dtype=dtype) * 3 + 1
        x[:, 0] = 2.0  # constant feature: variance 0, only eps keeps the division finite
        gamma = torch.rand(features, generator=g, dtype=dtype) + 0.5
        beta = torch.randn(features, generator=g, dtype=dtype)
        result = _check_output(
            _batch_norm(batch_norm_train, x, gamma, beta, name=name), x, name
        )  # eps left at its default
        if not torch.isfinite(result).all():
            fail(
                name,
                "returned inf or nan for a batch with a constant feature.",
                "add eps to the variance before the square root: (x - mean) / sqrt(var + eps).",
            )
        expected = _reference(x, gamma, beta, 1e-5)
        if not torch.allclose(result, expected, atol=1e-4, rtol=1e-4):
            fail(
                name,
                f"differs from F.batch_norm(training=True) on a ({n}, {features}) {dtype} batch with the default eps.",
                "is the default of eps 1e-5, as in PyTorch?",
            )
        worst = max(worst, (result - expected).abs().max().item())
        _check_gradients(batch_norm_train, x, gamma, beta, name)
    expect_no_python_loops(batch_norm_train, name)
    print(
        f"batch_norm_train passed: matches F.batch_norm(training=True) on (4, 3), (32, 7) and (5, 2) batches, "
        f"a constant feature included; largest difference {worst:.1e} (tolerance 1e-4); its gradients with respect to "
        "x, gamma and beta are finite and match F.batch_norm's."
    )


# --- the prediction: which architecture keeps its units at depth? ---------------------------
# The three 16-layer architectures of section 5 (the keys of the notebook's BLOCKS).
DEPTH_ARCHITECTURES = ("plain", "x + ReLU(Wx)", "x + W2·ReLU(W1x)")
_ARCHITECTURE_NAMES = {
    "plain": "plain",
    "x+relu(wx)": "x + ReLU(Wx)",
    "simple": "x + ReLU(Wx)",
    "x+w2relu(w1x)": "x + W2·ReLU(W1x)",
    "standard": "x + W2·ReLU(W1x)",
}


def _architecture(label):
    key = "".join(str(label).lower().split())
    for mark in ("·", "*", "@", "."):
        key = key.replace(mark, "")
    return _ARCHITECTURE_NAMES.get(key)


@graded_check(
    "PREDICTED_DEAD_RANKING",
    expects=(
        'a list of the three architectures, most dead units first, e.g. ["x + W2·ReLU(W1x)", "plain", "x + ReLU(Wx)"]'
    ),
)
def check_dead_ranking_prediction(predicted):
    """Check the FORM of the ranking only (each of the three architectures once); the answer is
    graded by the hidden tests. Returns it as a tuple of the architectures' labels."""
    name = "PREDICTED_DEAD_RANKING"
    if predicted is None:
        fail(
            name,
            "is None: no prediction yet.",
            "set it to the three architectures ordered from the MOST dead units at initialisation to the fewest, e.g. "
            '["x + W2·ReLU(W1x)", "plain", "x + ReLU(Wx)"] (that example is not the answer).',
        )
    if isinstance(predicted, (str, bytes, dict, set, frozenset)) or not isinstance(predicted, (list, tuple)):
        fail(
            name,
            f"is a {type(predicted).__name__}, not an ordered list.",
            "write a list (an order matters, so not a set) of the three labels, most dead units first.",
        )
    ranking = []
    for item in predicted:
        label = _architecture(item) if isinstance(item, str) else None
        if label is None:
            fail(
                name,
                f"contains {item!r}, which is not one of the architectures {list(DEPTH_ARCHITECTURES)}.",
                "copy the labels from BLOCKS (spaces and the middle dot are optional; 'simple' and 'standard' also "
                "work).",
            )
        ranking.append(label)
    if sorted(ranking) != sorted(DEPTH_ARCHITECTURES):
        missing = [a for a in DEPTH_ARCHITECTURES if a not in ranking]
        fail(
            name,
            f"names {ranking}: each of the three architectures must appear exactly once"
            + (f" (missing: {missing})." if missing else "."),
        )
    print(
        f"PREDICTED_DEAD_RANKING has the right form: {' > '.join(ranking)} (most dead units first). "
        "Whether it is right is graded when you hand in; the next cell measures it."
    )
    return tuple(ranking)
