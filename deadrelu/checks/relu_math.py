"""Public checks of notebook 01_relu_math: relu, relu_grad, leaky_relu, elu, and the form of
the gradient prediction.

Each function check compares the student's function with PyTorch's on a grid that includes
the awkward point x = 0, then on several shapes and dtypes, and fails with a hint that names
the likely misconception. The student's function runs under the call watch of `_common.call`:
calling PyTorch's own version (under any name: an alias, a wrapper, nn.ReLU(), F.relu) or a
reference of this module fails the check. Results are compared as plain tensors. The
autograder adds hidden tests of its own.
"""

import torch
import torch.nn.functional as F

from deadrelu.activations import value_and_gradient

from ._common import (
    call,
    expect_close,
    expect_finite_gradient,
    expect_input_unchanged,
    expect_no_python_loops,
    expect_tensor_like,
    fail,
    graded_check,
    plain_tensor,
    shapes_to_try,
)

GRID = torch.linspace(-3, 3, 13)  # -3, -2.5, ..., 0, ..., 3: includes exactly 0

# torch's own versions of each exercise, by the name the call watch sees (torch.relu,
# Tensor.relu, F.relu and nn.ReLU all end in a function called `relu`)
BANNED = {
    "relu": {"relu", "relu_", "threshold", "threshold_", "relu6", "hardtanh", "hardtanh_"},
    "relu_grad": {"threshold_backward"},
    "leaky_relu": {"leaky_relu", "leaky_relu_", "rrelu", "rrelu_", "prelu", "_prelu_kernel"},
    "elu": {"elu", "elu_", "celu", "celu_", "selu", "selu_"},
}
# the package's own activations (notebook 01's explorer and tables) are not answers either
FORBIDDEN = [value_and_gradient]
ELU_DEFAULT_ALPHA = 1.0  # nn.ELU's


def _relu_gradient_reference(x):
    """f'(x) of torch.relu by autograd: 1 for x > 0, 0 for x < 0 and 0 at x = 0."""
    x = x.detach().clone().requires_grad_(True)
    torch.relu(x).sum().backward()
    return x.grad


def _run(fn, name, *args, **kwargs):
    """The student's function under the call watch, with this exercise's banned names."""
    return call(fn, *args, name=name, banned=BANNED[name], forbidden=FORBIDDEN, **kwargs)


def _plain_result(fn, name, x, *args, **kwargs):
    """Call, then insist on a plain tensor of x's shape and dtype; return it."""
    result = _run(fn, name, x, *args, **kwargs)
    expect_tensor_like(result, x, name)
    return plain_tensor(result, name)


def _common_contract(fn, name, reference, *args):
    """Shape, dtype, no mutation and values on several shapes; returns the largest error."""
    worst = 0.0
    for x in shapes_to_try():
        result = _plain_result(fn, name, x, *args)
        worst = max(worst, expect_close(result, reference(x), name, f"for an input of shape {tuple(x.shape)}"))
        expect_input_unchanged(fn, x, name, *args)
    return worst


@graded_check("relu", expects="a tensor of x's shape and dtype, max(0, x) elementwise")
def check_relu(relu):
    """Check `relu(x)` = max(0, x), elementwise, against torch.relu."""
    name = "relu"
    expect_input_unchanged(relu, GRID.clone(), name)
    x = GRID.clone()
    result = _plain_result(relu, name, x)
    negative, positive = x < 0, x > 0
    if torch.equal(result, positive.to(x.dtype)):
        fail(
            name,
            "returns 1 for positive inputs.",
            "that is the step function, ReLU's gradient; ReLU itself returns x for x > 0.",
        )
    if torch.allclose(result[negative], x[negative].abs()):
        fail(
            name, "returns |x| for negative inputs.", "ReLU maps every negative input to 0, not to its absolute value."
        )
    if torch.allclose(result[negative], x[negative]):
        fail(
            name, "passes negative inputs through unchanged.", "ReLU blocks negative inputs: max(0, x) is 0 for x < 0."
        )
    expect_close(
        result, torch.relu(x), name, "on the grid -3, -2.5, ..., 3", "f(x) = max(0, x): x for x > 0, 0 otherwise."
    )
    worst = _common_contract(relu, name, torch.relu)
    expect_no_python_loops(relu, name)
    print(
        f"relu passed: matches torch.relu on the grid and on 5 shapes/dtypes (max abs error {worst:.1e}; expected 0)."
    )


@graded_check("relu_grad", expects="a tensor of x's shape and dtype, 1 where x > 0 and 0 elsewhere")
def check_relu_grad(relu_grad):
    """Check `relu_grad(x)` against autograd's gradient of torch.relu (0 at x = 0)."""
    name = "relu_grad"
    expect_input_unchanged(relu_grad, GRID.clone(), name)
    x = GRID.clone()
    result = _plain_result(relu_grad, name, x)
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
    print(
        "relu_grad passed: matches autograd through torch.relu, 0 at x = 0, on 5 shapes/dtypes (max abs error "
        f"{worst:.1e}; expected 0)."
    )


@graded_check(
    "leaky_relu", expects="a tensor of x's shape and dtype: x where x > 0, slope * x elsewhere (slope defaults to 0.01)"
)
def check_leaky_relu(leaky_relu):
    """Check `leaky_relu(x, slope=0.01)` against F.leaky_relu."""
    name = "leaky_relu"
    expect_input_unchanged(leaky_relu, GRID.clone(), name, 0.1)
    x = GRID.clone()
    result = _plain_result(
        leaky_relu, name, x, type_error_hint="give slope a default of 0.01, PyTorch's default negative_slope."
    )
    for wrong_default in (0.1, 0.2, 0.3, 1.0):
        if torch.allclose(result, F.leaky_relu(x, wrong_default)):
            fail(
                name,
                f"uses a default slope of {wrong_default:g}.",
                "PyTorch's default negative_slope (nn.LeakyReLU, F.leaky_relu) is 0.01.",
            )
    negative, positive = x < 0, x > 0
    for slope in (0.2, 0.05, 0.0):
        result = _plain_result(leaky_relu, name, x, slope)
        if slope and torch.allclose(result[positive], slope * x[positive]):
            fail(
                name,
                "multiplies positive inputs by the slope too.",
                "the slope applies only to x < 0; for x > 0 Leaky ReLU is the identity.",
            )
        if slope and torch.allclose(result[negative], torch.zeros_like(x[negative])):
            fail(
                name,
                f"returns 0 for negative inputs with slope={slope:g}.",
                "that is plain ReLU; Leaky ReLU returns slope * x for x < 0.",
            )
        if slope and torch.allclose(result[negative], -slope * x[negative]):
            fail(
                name,
                "returns positive values for negative inputs.",
                "for x < 0 the output is slope * x, which is negative (no minus sign, no abs).",
            )
        expect_close(
            result,
            F.leaky_relu(x, slope),
            name,
            f"with slope={slope:g} on the grid",
            "slope * x for x < 0, x otherwise.",
        )
    expect_close(
        _plain_result(leaky_relu, name, x),
        F.leaky_relu(x),
        name,
        "when called with x alone (the default slope)",
        "PyTorch's default negative_slope (nn.LeakyReLU, F.leaky_relu) is 0.01.",
    )
    worst = max(_common_contract(leaky_relu, name, lambda t, s=s: F.leaky_relu(t, s), s) for s in (0.01, 0.3))
    expect_no_python_loops(leaky_relu, name)
    print(
        "leaky_relu passed: matches F.leaky_relu for slopes 0, 0.01, 0.05, 0.2, 0.3 and the default (max abs error "
        f"{worst:.1e}; expected < 1e-6)."
    )


@graded_check(
    "elu",
    expects="a tensor of x's shape and dtype: x where x > 0, alpha * (exp(x) - 1) elsewhere (alpha defaults to 1.0)",
)
def check_elu(elu):
    """Check `elu(x, alpha=1.0)` against F.elu: values, the default alpha, finite autograd gradients."""
    name = "elu"
    expect_input_unchanged(elu, GRID.clone(), name, 1.0)
    x = GRID.clone()
    by_default = _plain_result(elu, name, x, type_error_hint="give alpha a default of 1.0, as nn.ELU does.")
    negative = x < 0
    for alpha in (1.0, 0.5, 2.0):
        result = _plain_result(elu, name, x, alpha)
        if torch.allclose(result[negative], alpha * torch.exp(x[negative])):
            fail(
                name,
                "is positive for negative inputs.",
                "ELU is alpha * (exp(x) - 1) for x <= 0; without the - 1 it jumps at 0 and never goes below 0.",
            )
        if torch.allclose(result[negative], torch.expm1(x[negative])) and alpha != 1.0:
            fail(name, f"ignores alpha (alpha={alpha:g} gave the result of alpha=1).", "multiply exp(x) - 1 by alpha.")
        expect_close(
            result,
            F.elu(x, alpha),
            name,
            f"with alpha={alpha:g} on the grid",
            "x for x > 0, alpha * (exp(x) - 1) for x <= 0.",
        )
    if not torch.allclose(by_default, F.elu(x, ELU_DEFAULT_ALPHA), atol=1e-6):
        saturates_at = by_default[0].item() / torch.expm1(x[0]).item()  # elu(-3) / (exp(-3) - 1): the alpha it used
        fail(
            name,
            f"uses a default alpha of about {saturates_at:.3g} (elu(x) called without alpha).",
            "the documented default is nn.ELU's: look it up (`nn.ELU()` prints it) rather than picking a value.",
        )
    far = torch.tensor([-100.0, -1.0, 1.0, 100.0])
    result = _plain_result(elu, name, far, 1.5)
    if not torch.isfinite(result).all():
        fail(
            name,
            f"gives {result.tolist()} for inputs {far.tolist()}.",
            "exp(100) overflows float32 to inf, and 0 * inf is nan: only let exp(x) reach the output where x <= 0.",
        )
    expect_close(result, F.elu(far, 1.5), name, "for inputs -100, -1, 1 and 100 (ELU saturates at -alpha on the left)")
    # ELU keeps a gradient for x < 0: autograd through the student's function must give the
    # right one, and a finite one where exp would overflow (torch.where differentiates both branches)
    points = torch.tensor([-2.0, -0.5, 0.5, 2.0])
    grad = expect_finite_gradient(elu, points, name, 1.0, where="on [-2, -0.5, 0.5, 2]")
    expect_close(
        grad,
        torch.where(points > 0, 1.0, torch.exp(points)),
        name,
        "of the autograd gradient",
        "d/dx alpha*(exp(x)-1) = alpha*exp(x) for x < 0.",
    )
    expect_finite_gradient(elu, far, name, 1.5)
    worst = max(_common_contract(elu, name, lambda t, a=a: F.elu(t, a), a) for a in (1.0, 0.3))
    expect_no_python_loops(elu, name)
    print(
        "elu passed: matches F.elu for alpha 0.3, 0.5, 1, 1.5, 2 and the default, finite gradients at ±100 (max abs "
        f"error {worst:.1e}; expected < 1e-6)."
    )


# --- the prediction exercise: which units receive exactly zero gradient ---------------------
UNITS = 5  # the tiny layer of the prediction exercise has units 0, 1, 2, 3, 4


@graded_check("prediction", expects="a set of unit numbers, e.g. {0, 3} (an empty set if you predict none)")
def check_unit_set(prediction, name, units=UNITS):
    """The FORM of a prediction (a set of unit numbers in 0..units-1), not whether it is right.

    Accepts a set, frozenset, list or tuple of ints without repeats; returns it as a set. The
    grade of the answer itself is decided by the hidden tests.
    """
    if prediction is None or prediction is Ellipsis:
        fail(
            name,
            "is not answered yet.",
            "replace None with your prediction: a set of unit numbers, e.g. {0, 3} (or set() for none).",
        )
    if isinstance(prediction, (str, bytes, dict)) or not isinstance(prediction, (set, frozenset, list, tuple)):
        fail(
            name,
            f"is {prediction!r} ({type(prediction).__name__}), not a set of unit numbers.",
            "write it as a set, e.g. {0, 3}, or set() for none.",
        )
    items = list(prediction)
    for item in items:
        if isinstance(item, bool) or type(item) is not int:
            fail(
                name,
                f"contains {item!r} ({type(item).__name__}), not a unit number.",
                f"units are numbered 0 to {units - 1}: use plain ints.",
            )
        if not 0 <= item < units:
            fail(name, f"contains {item}, but the layer has units 0 to {units - 1} only.")
    if len(set(items)) != len(items):
        fail(
            name,
            f"names a unit twice: {sorted(items)}.",
            "each unit either gets a zero gradient or it does not: list it once.",
        )
    answer = set(items)
    print(
        f"{name}: a prediction of {len(answer)} unit(s) out of {units}, {sorted(answer)}: well formed. It is graded "
        "when you hand in; the cell below measures it."
    )
    return answer
