"""Notebook 01 (relu_math): the ReLU family drawn and explored.

`plot_activation` draws one activation and its gradient by autograd, `plot_activation_family`
all of them at once, `plot_relu_valve` ReLU as a one-way valve on real pre-activations;
`activation_explorer` lets you pick an activation and its parameter and watch the gradient
on the negative side, where a ReLU unit can die.
"""

import ipywidgets as widgets
import torch

from ..activations import ACTIVATIONS, value_and_gradient
from ..figures import Choice, Explorer, axes_or_new, panels_or_new


NEGATIVE_SIDE = "#f3e6e6"  # background of x < 0, where ReLU's gradient is zero


def _decorate(ax, x_range, title, ylabel):
    ax.axvspan(x_range[0], 0, color=NEGATIVE_SIDE, zorder=0)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.set_xlim(*x_range)
    ax.set_title(title)
    ax.set_xlabel("pre-activation x")
    ax.set_ylabel(ylabel)
    ax.locator_params(nbins=6)  # fewer tick labels: easier to read, and faster to redraw in explorers
    ax.grid(alpha=0.3)


def plot_activation(name, parameter=None, x_range=(-4.0, 4.0), axes=None):
    """Plot activation `name` (left) and its autograd gradient (right) over `x_range`.

    The gradient at the middle of the negative side is written on the right panel: it is the
    learning signal a unit gets when all its inputs land there. Introduced in 01_relu_math.
    """
    lo, hi = float(x_range[0]), float(x_range[1])
    if not lo < 0 < hi:
        raise ValueError(f"x_range must contain 0 with lo < 0 < hi, got {x_range}")
    fig, (ax_f, ax_g) = panels_or_new(axes, 2, (9, 3.4), "(function, gradient)")
    spec = ACTIVATIONS.get(name)
    label = name
    if spec is not None and spec.parameter is not None:
        shown = spec.default if parameter is None else parameter
        label = f"{name} ({spec.parameter}={shown:g})"

    x = torch.linspace(lo, hi, 801)
    y, dy = value_and_gradient(name, x, parameter)
    ax_f.plot(x, y, color="C0", lw=2.2, label=label)
    ax_f.plot(x, torch.relu(x), color="0.35", lw=1, ls="--", label="ReLU, for reference")
    ax_f.legend(loc="upper left", fontsize=8)
    _decorate(ax_f, (lo, hi), f"{name}: f(x)", "f(x)")

    ax_g.plot(x, dy, color="C3", lw=2.2)
    probe = lo / 2
    _, g_probe = value_and_gradient(name, torch.tensor([probe]), parameter)
    ax_g.plot([probe], [g_probe.item()], "o", color="C3")
    ax_g.annotate(
        f"f'({probe:g}) = {g_probe.item():.3g}",
        (probe, g_probe.item()),
        xytext=(0, 14),
        textcoords="offset points",
        ha="center",
        fontsize=9,
    )
    _decorate(ax_g, (lo, hi), f"{name}: f'(x) by autograd", "f'(x)")
    ax_g.set_ylim(min(-0.2, dy.min().item() - 0.1), max(1.3, dy.max().item() + 0.15))
    return fig


def plot_activation_family(names=None, x_range=(-4.0, 4.0), axes=None):
    """All activations (PyTorch defaults) on one pair of panels: f(x) and f'(x)."""
    names = list(ACTIVATIONS) if names is None else list(names)
    fig, (ax_f, ax_g) = panels_or_new(axes, 2, (11, 4), "(function, gradient)")
    x = torch.linspace(float(x_range[0]), float(x_range[1]), 801)
    for i, name in enumerate(names):
        y, dy = value_and_gradient(name, x)
        style = {"lw": 2.6 if name == "ReLU" else 1.4, "color": "black" if name == "ReLU" else f"C{i}"}
        ax_f.plot(x, y, label=name, **style)
        ax_g.plot(x, dy, **style)
    _decorate(ax_f, x_range, "The ReLU family: f(x)", "f(x)")
    _decorate(ax_g, x_range, "Their gradients: only ReLU is flat zero for x < 0", "f'(x)")
    ax_f.legend(fontsize=8, ncols=2)
    return fig


def plot_relu_valve(pre_activations, ax=None, bins=60):
    """Histogram of pre-activations and of ReLU's outputs: the one-way valve.

    Everything left of 0 is squashed into the spike at exactly 0; its share is printed on
    the plot.
    """
    pre = torch.as_tensor(pre_activations).detach().flatten().float()
    if pre.numel() == 0:
        raise ValueError("pre_activations is empty")
    post = torch.relu(pre)
    fig, ax = axes_or_new(ax, (6.5, 3.4))
    edges = torch.linspace(pre.min().item(), pre.max().item(), bins + 1)
    ax.hist(pre.numpy(), bins=edges.numpy(), alpha=0.45, color="C0", label="input x")
    ax.hist(post.numpy(), bins=edges.numpy(), alpha=0.6, color="C1", label="output max(0, x)")
    share_zero = (post == 0).float().mean().item()
    ax.annotate(
        f"{share_zero:.0%} of outputs are exactly 0",
        xy=(0, 0),
        xytext=(0.55, 0.8),
        textcoords="axes fraction",
        arrowprops={"arrowstyle": "->", "color": "0.3"},
    )
    ax.set_xlabel("value")
    ax.set_ylabel("count")
    ax.set_title("ReLU as a one-way valve")
    ax.legend(loc="upper left")
    return fig


class ActivationExplorer(Explorer):
    """Pick an activation and its parameter; see f and f' side by side (notebook 01).

    Controls: `activation` (dropdown), `parameter` (slider, disabled when the activation has
    none) and `extent` (the plot shows -extent <= x <= extent). `last_update_ms` holds how
    long the last redraw took.
    """

    keep_ticks = True  # redraws are faster; plot_activation sets its own limits

    def __init__(self, activation="LeakyReLU", parameter=None, extent=4.0):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
        self.activation = Choice(list(ACTIVATIONS), value=activation, description="activation")
        self.parameter = widgets.FloatSlider(description="parameter", step=0.01, continuous_update=True)
        self.extent = widgets.FloatSlider(value=extent, min=1.0, max=10.0, step=0.5, description="|x| up to")
        self._holding = False
        self._configure_parameter(parameter)
        Explorer.__init__(
            self,
            [[self.activation, self.parameter, self.extent]],
            figsize=(9, 3.2),
            panels=2,
            margins={"left": 0.07, "right": 0.99, "bottom": 0.16, "top": 0.9, "wspace": 0.22},
            summary=True,
        )

    def _configure_parameter(self, value=None):
        """Fit the slider to the chosen activation without triggering redraws."""
        spec = ACTIVATIONS[self.activation.value]
        self._holding = True
        try:
            if spec.parameter is None:
                self.parameter.disabled = True
                self.parameter.description = "(none)"
            else:
                lo, hi = spec.bounds
                self.parameter.min, self.parameter.max = -1e9, 1e9  # avoid clamping while moving the range
                self.parameter.min, self.parameter.max = lo, hi
                self.parameter.value = spec.default if value is None else value
                self.parameter.description = spec.parameter
                self.parameter.disabled = False
        finally:
            self._holding = False

    def _on_change(self, change):
        if self._holding:
            return
        if change["owner"] is self.activation:
            self._configure_parameter()
        self.update()

    @property
    def current_parameter(self):
        spec = ACTIVATIONS[self.activation.value]
        return None if spec.parameter is None else self.parameter.value

    def draw(self):
        name, parameter, extent = self.activation.value, self.current_parameter, self.extent.value
        plot_activation(name, parameter, x_range=(-extent, extent), axes=self.axes)
        negatives = torch.linspace(-extent, -1e-3, 200)
        _, gradient = value_and_gradient(name, negatives, parameter)
        lo, hi = gradient.min().item(), gradient.max().item()
        if hi == 0 and lo == 0:
            verdict = "<b>exactly 0</b>: a unit whose inputs all land here gets no gradient and cannot recover."
        else:
            verdict = f"between {lo:.3g} and {hi:.3g}: a unit here still gets a learning signal."
        self.summary.value = f"{ACTIVATIONS[name].note}. For {-extent:g} &le; x &lt; 0, f'(x) is {verdict}"


def activation_explorer(*args, **kwargs):
    """Build the activation explorer of notebook 01: `ActivationExplorer`, whose arguments (and
    their defaults) it takes."""
    return ActivationExplorer(*args, **kwargs)
