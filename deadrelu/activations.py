"""The ReLU family: each activation, its parameter, and its gradient by autograd.

Introduced in notebook 01_relu_math. What decides whether a unit can recover is the
gradient for negative inputs: ReLU's is exactly 0, the others keep some slope there.

`TORCH_ACTIVATIONS` is the one list of activation types: every elementwise activation of
torch.nn, with what its output can be; `ACTIVATIONS` is the course's family among them.
"""

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn


@dataclass(frozen=True)
class ActivationSpec:
    """One elementwise activation of torch.nn: its module type, what its output can be, and, for
    the members of the course's family, how to build it and what its parameter means."""

    name: str
    module: type[nn.Module]  # the torch.nn class: a model's modules of this type are its activations
    build: Callable[[float | None], nn.Module] | None = None  # None: recognised in models, not offered by the course
    parameter: str | None = None  # name of the tunable parameter, None if it has none
    default: float | None = None  # PyTorch's default value of that parameter
    bounds: tuple[float, float] | None = None  # range offered by the explorer
    note: str = ""
    zero_for_negative_inputs: bool = False  # output exactly 0 (gradient 0) for every input < 0: ReLU, ReLU6
    never_negative: bool = False  # output >= 0 for every input, so "never > 0" means "always exactly 0"


#: Every elementwise activation module of torch.nn, the course's family first. The one list of
#: activation types: `ACTIVATIONS` (the family the course builds and explains), the modules a
#: `monitor.DeadUnitMonitor` watches by default and what "dead" means for each, and
#: `models.hidden_activations` all derive from it.
TORCH_ACTIVATIONS: tuple[ActivationSpec, ...] = (
    ActivationSpec(
        "ReLU",
        nn.ReLU,
        lambda _: nn.ReLU(),
        note="max(0, x); gradient 0 for x < 0",
        zero_for_negative_inputs=True,
        never_negative=True,
    ),
    ActivationSpec(
        "LeakyReLU",
        nn.LeakyReLU,
        lambda a: nn.LeakyReLU(negative_slope=a),
        "negative_slope",
        0.01,
        (0.0, 0.5),
        note="slope a for x < 0 (Maas et al. 2013; CS231n)",
    ),
    ActivationSpec(
        "PReLU",
        nn.PReLU,
        lambda a: nn.PReLU(init=a),
        "init",
        0.25,
        (0.0, 0.5),
        note="like LeakyReLU but the slope is learned, initialised at 0.25 (He et al. 2015)",
    ),
    ActivationSpec(
        "ELU",
        nn.ELU,
        lambda a: nn.ELU(alpha=a),
        "alpha",
        1.0,
        (0.1, 3.0),
        note="alpha*(exp(x)-1) for x <= 0 (Clevert et al. 2015)",
    ),
    ActivationSpec(
        "SELU",
        nn.SELU,
        lambda _: nn.SELU(),
        note="scaled ELU with fixed lambda ~ 1.0507, alpha ~ 1.6733 (Klambauer et al. 2017)",
    ),
    ActivationSpec("GELU", nn.GELU, lambda _: nn.GELU(), note="x * Phi(x), the Gaussian CDF"),
    ActivationSpec("SiLU", nn.SiLU, lambda _: nn.SiLU(), note="x * sigmoid(x), also called Swish"),
    ActivationSpec(
        "Softplus",
        nn.Softplus,
        lambda b: nn.Softplus(beta=b),
        "beta",
        1.0,
        (0.25, 5.0),
        note="log(1 + exp(beta*x)) / beta, a smooth ReLU",
        never_negative=True,
    ),
    # Recognised in any model (the monitor watches them), not built by the course:
    ActivationSpec("ReLU6", nn.ReLU6, zero_for_negative_inputs=True, never_negative=True),
    ActivationSpec("RReLU", nn.RReLU),
    ActivationSpec("CELU", nn.CELU),
    ActivationSpec("Mish", nn.Mish),
    ActivationSpec("Hardswish", nn.Hardswish),
    ActivationSpec("Hardsigmoid", nn.Hardsigmoid, never_negative=True),
    ActivationSpec("Hardtanh", nn.Hardtanh),
    ActivationSpec("Sigmoid", nn.Sigmoid, never_negative=True),
    ActivationSpec("Tanh", nn.Tanh),
    ActivationSpec("Softsign", nn.Softsign),
    ActivationSpec("Threshold", nn.Threshold),  # its replacement value may be negative
    ActivationSpec("LogSigmoid", nn.LogSigmoid),
    ActivationSpec("Tanhshrink", nn.Tanhshrink),
    ActivationSpec("Softshrink", nn.Softshrink),
    ActivationSpec("Hardshrink", nn.Hardshrink),
)

#: The course's ReLU family, by name: what `get_activation`, `models.make_mlp` and the explorers offer.
ACTIVATIONS: dict[str, ActivationSpec] = {spec.name: spec for spec in TORCH_ACTIVATIONS if spec.build is not None}


def get_activation(name: str, parameter: float | None = None) -> nn.Module:
    """Build the activation called `name`, with `parameter` or PyTorch's default.

    Every call builds a new module, so each layer of a model gets its own. "PReLU" is a
    plain `nn.PReLU`: one slope, a learnable parameter that starts at `parameter` (0.25)
    and that an optimizer over `model.parameters()` trains (notebook 06 shows the learned
    slopes)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    spec = ACTIVATIONS[name]
    if parameter is None:
        parameter = spec.default
    elif spec.parameter is None:
        raise ValueError(f"{name} has no parameter to set (got {parameter!r})")
    return spec.build(parameter)


def value_and_gradient(name: str, x: torch.Tensor, parameter: float | None = None):
    """Return f(x) and f'(x), element by element, with f'(x) computed by autograd.

    Every element of the output depends only on the same element of the input, so the
    gradient of f(x).sum() is exactly the elementwise derivative.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    x = x.detach().to(torch.get_default_dtype()).requires_grad_(True)
    y = get_activation(name, parameter)(x)
    (gradient,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), gradient


def negative_side_table(points=(-1.0, -6.0)):
    """Each activation's gradient at negative inputs `points`, with PyTorch's defaults.

    The gradient there is the learning signal of a unit whose pre-activations all land
    there: 0 means it cannot recover; a negative gradient (GELU, SiLU left of their minimum)
    pushes the pre-activation further down. Returns a list of dict rows (see `tables.Table`).
    """
    rows = []
    x = torch.tensor([float(p) for p in points])
    if not (x < 0).all():
        raise ValueError(f"points must all be negative, got {list(points)}")
    for name, spec in ACTIVATIONS.items():
        _, gradient = value_and_gradient(name, x)
        row = {"activation": name, "parameter": "-" if spec.parameter is None else f"{spec.parameter}={spec.default:g}"}
        row.update({f"f'({p:g})": g for p, g in zip(points, gradient.tolist())})
        if (gradient == 0).all():
            row["for x < 0"] = "exactly 0: no recovery"
        elif torch.allclose(gradient, gradient[0].expand_as(gradient)):
            row["for x < 0"] = "constant slope"
        elif (gradient < 0).any():
            row["for x < 0"] = "negative below its minimum, then fades to 0"  # GELU, SiLU: not monotonic
        else:
            row["for x < 0"] = "positive, shrinks toward 0"
        rows.append(row)
    return rows
