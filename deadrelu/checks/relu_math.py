"""Public checks of notebook 01_relu_math: relu, relu_grad, leaky_relu, elu.

Each check compares the student's function with PyTorch's on a grid that includes the
awkward point x = 0, then on several shapes and dtypes, and fails with a hint that names
the likely misconception. The autograder adds hidden tests of its own.
"""

import torch
import torch.nn.functional as F

from ._common import (
    call,
    expect_close,
    expect_input_unchanged,
    expect_no_python_loops,
    expect_no_reference_call,
    expect_tensor_like,
    fail,
    shapes_to_try,
)

GRID = torch.linspace(-3, 3, 13)  # -3, -2.5, ..., 0, ..., 3: includes exactly 0


def _relu_gradient_reference(x):
    """f'(x) of torch.relu by autograd: 1 for x > 0, 0 for x < 0 and 0 at x = 0."""
    x = x.detach().clone().requires_grad_(True)
    torch.relu(x).sum().backward()
    return x.grad


def _common_contract(fn, name, reference, *args):
    """Shape, dtype, no mutation and values on several shapes; returns the largest error."""
    worst = 0.0
    for x in shapes_to_try():
        result = call(fn, x, *args, name=name)
        expect_tensor_like(result, x, name)
        worst = max(worst, expect_close(result, reference(x), name, f"for an input of shape {tuple(x.shape)}"))
        expect_input_unchanged(fn, x, name, *args)
    return worst


def check_relu(relu):
    """Check `relu(x)` = max(0, x), elementwise, against torch.relu."""
    name = "relu"
    expect_no_reference_call(relu, name, {"relu", "relu_", "ReLU"})
    expect_input_unchanged(relu, GRID.clone(), name)
    x = GRID.clone()
    result = call(relu, x, name=name)
    expect_tensor_like(result, x, name)
    negative, positive = x < 0, x > 0
    if torch.equal(result, positive.to(x.dtype)):
        fail(name, "returns 1 for positive inputs.", "that is the step function, ReLU's gradient; ReLU itself returns x for x > 0.")
    if torch.allclose(result[negative], x[negative].abs()):
        fail(name, "returns |x| for negative inputs.", "ReLU maps every negative input to 0, not to its absolute value.")
    if torch.allclose(result[negative], x[negative]):
        fail(name, "passes negative inputs through unchanged.", "ReLU blocks negative inputs: max(0, x) is 0 for x < 0.")
    expect_close(result, torch.relu(x), name, "on the grid -3, -2.5, ..., 3", "f(x) = max(0, x): x for x > 0, 0 otherwise.")
    worst = _common_contract(relu, name, torch.relu)
    expect_no_python_loops(relu, name)
    print(f"relu passed: matches torch.relu on the grid and on 5 shapes/dtypes (max abs error {worst:.1e}; expected 0).")


def check_relu_grad(relu_grad):
    """Check `relu_grad(x)` against autograd's gradient of torch.relu (0 at x = 0)."""
    name = "relu_grad"
    expect_input_unchanged(relu_grad, GRID.clone(), name)
    x = GRID.clone()
    result = call(relu_grad, x, name=name)
    expect_tensor_like(result, x, name)
    zero = x == 0
    if result[zero].item() != 0:
        fail(
            name,
            f"gives {result[zero].item():g} at x = 0, where torch.relu's gradient is 0.",
            "ReLU has no derivative at 0: any value in [0, 1] is a subgradient. PyTorch picks 0, "
            "and this exercise matches PyTorch. `x >= 0` includes 0 — use `x > 0`.",
        )
    positive = x > 0
    if torch.allclose(result[positive], x[positive]):
        fail(name, "returns x for positive inputs.", "that is relu(x) itself; the derivative of x is 1.")
    if (result[x < 0] != 0).any():
        fail(
            name,
            "is not 0 for negative inputs.",
            "for x < 0, max(0, x) is constant, so its derivative is 0 — which is exactly why a unit "
            "whose inputs are all negative receives no gradient.",
        )
    expect_close(result, _relu_gradient_reference(x), name, "on the grid -3, -2.5, ..., 3")
    worst = _common_contract(relu_grad, name, _relu_gradient_reference)
    expect_no_python_loops(relu_grad, name)
    print(f"relu_grad passed: matches autograd through torch.relu, 0 at x = 0, on 5 shapes/dtypes (max abs error {worst:.1e}; expected 0).")


def check_leaky_relu(leaky_relu):
    """Check `leaky_relu(x, slope=0.01)` against F.leaky_relu."""
    name = "leaky_relu"
    expect_no_reference_call(leaky_relu, name, {"leaky_relu", "leaky_relu_", "LeakyReLU", "rrelu"})
    expect_input_unchanged(leaky_relu, GRID.clone(), name, 0.1)
    x = GRID.clone()
    try:
        result = call(leaky_relu, x, name=name)
    except TypeError as error:
        fail(name, f"cannot be called as leaky_relu(x): {error}.", "give slope a default of 0.01, PyTorch's default negative_slope.")
    expect_tensor_like(result, x, name)
    for wrong_default in (0.1, 0.2, 0.3):
        if torch.allclose(result, F.leaky_relu(x, wrong_default)):
            fail(name, f"uses a default slope of {wrong_default:g}.", "PyTorch's default negative_slope (nn.LeakyReLU, F.leaky_relu) is 0.01.")
    negative, positive = x < 0, x > 0
    for slope in (0.2, 0.05, 0.0):
        result = call(leaky_relu, x, slope, name=name)
        expect_tensor_like(result, x, name)
        if slope and torch.allclose(result[positive], slope * x[positive]):
            fail(name, "multiplies positive inputs by the slope too.", "the slope applies only to x < 0; for x > 0 Leaky ReLU is the identity.")
        if slope and torch.allclose(result[negative], torch.zeros_like(x[negative])):
            fail(name, f"returns 0 for negative inputs with slope={slope:g}.", "that is plain ReLU; Leaky ReLU returns slope * x for x < 0.")
        if slope and torch.allclose(result[negative], -slope * x[negative]):
            fail(name, "returns positive values for negative inputs.", "for x < 0 the output is slope * x, which is negative (no minus sign, no abs).")
        expect_close(result, F.leaky_relu(x, slope), name, f"with slope={slope:g} on the grid", "slope * x for x < 0, x otherwise.")
    worst = max(_common_contract(leaky_relu, name, lambda t, s=s: F.leaky_relu(t, s), s) for s in (0.01, 0.3))
    expect_no_python_loops(leaky_relu, name)
    print(f"leaky_relu passed: matches F.leaky_relu for slopes 0, 0.01, 0.05, 0.2, 0.3 and the default (max abs error {worst:.1e}; expected < 1e-6).")


def check_elu(elu):
    """Check `elu(x, alpha=1.0)` against F.elu, values and autograd gradients."""
    name = "elu"
    expect_no_reference_call(elu, name, {"elu", "elu_", "ELU", "celu", "selu", "SELU", "CELU"})
    expect_input_unchanged(elu, GRID.clone(), name, 1.0)
    x = GRID.clone()
    try:
        result = call(elu, x, name=name)
    except TypeError as error:
        fail(name, f"cannot be called as elu(x): {error}.", "give alpha a default of 1.0, as nn.ELU does.")
    expect_tensor_like(result, x, name)
    negative = x < 0
    for alpha in (1.0, 0.5, 2.0):
        result = call(elu, x, alpha, name=name)
        expect_tensor_like(result, x, name)
        if torch.allclose(result[negative], alpha * torch.exp(x[negative])):
            fail(name, "is positive for negative inputs.", "ELU is alpha * (exp(x) - 1) for x <= 0; without the - 1 it jumps at 0 and never goes below 0.")
        if torch.allclose(result[negative], torch.expm1(x[negative])) and alpha != 1.0:
            fail(name, f"ignores alpha (alpha={alpha:g} gave the result of alpha=1).", "multiply exp(x) - 1 by alpha.")
        expect_close(result, F.elu(x, alpha), name, f"with alpha={alpha:g} on the grid", "x for x > 0, alpha * (exp(x) - 1) for x <= 0.")
    far = torch.tensor([-100.0, 100.0])
    result = call(elu, far, 1.5, name=name)
    if not torch.isfinite(result).all():
        fail(name, f"gives {result.tolist()} for inputs -100 and 100.", "exp(100) overflows float32 to inf, and 0 * inf is nan: only let exp(x) reach the output where x <= 0.")
    expect_close(result, F.elu(far, 1.5), name, "for inputs -100 and 100 (ELU saturates at -alpha on the left)")
    # ELU keeps a gradient for x < 0: check the student's function carries the right one.
    points = torch.tensor([-2.0, -0.5, 0.5, 2.0])
    leaf = points.clone().requires_grad_(True)
    out = call(elu, leaf, 1.0, name=name)
    if not isinstance(out, torch.Tensor) or out.grad_fn is None:
        fail(name, "is not differentiable by autograd.", "build it from torch ops on x (no .numpy(), .item() or torch.tensor(...) around the result).")
    (grad,) = torch.autograd.grad(out.sum(), leaf)
    expect_close(grad, torch.where(points > 0, 1.0, torch.exp(points)), name, "of the autograd gradient", "d/dx alpha*(exp(x)-1) = alpha*exp(x) for x < 0.")
    worst = max(_common_contract(elu, name, lambda t, a=a: F.elu(t, a), a) for a in (1.0, 0.3))
    expect_no_python_loops(elu, name)
    print(f"elu passed: matches F.elu for alpha 0.3, 0.5, 1, 1.5, 2, gradients included (max abs error {worst:.1e}; expected < 1e-6).")
