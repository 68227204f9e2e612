"""Plots of the course. Each takes `ax=None` (or `axes=None`) and returns the figure.

With no axes given, a new pyplot figure is made, so a notebook cell shows it; widgets pass
axes of their own figure instead.
"""

import matplotlib.pyplot as plt
import torch

from .activations import ACTIVATIONS, value_and_gradient

NEGATIVE_SIDE = "#f3e6e6"  # background of x < 0, where ReLU's gradient is zero


def _two_panels(axes, figsize=(9, 3.4)):
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=figsize, layout="constrained")
    else:
        if len(axes) != 2:
            raise ValueError(f"axes must be a pair (function, gradient), got {len(axes)} axes")
        fig = axes[0].figure
    return fig, axes


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
    fig, (ax_f, ax_g) = _two_panels(axes)
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
    fig, (ax_f, ax_g) = _two_panels(axes, figsize=(11, 4))
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
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.4), layout="constrained")
    else:
        fig = ax.figure
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


def plot_sweep(values, results, xlabel="learning rate", ax=None, log_x=True, network_widths=None):
    """Dead % per layer (mean ± std over seeds, left axis) and test accuracy (right axis)
    against the swept setting. `results[i]` is the list of `experiments.RunResult` of
    `values[i]`. With `network_widths` (the hidden layers' widths, e.g. (128, 128)) it also
    draws the dead % of all hidden units together: the share that CS231n's "40 % of your
    network" speaks of. Introduced in 02_how_units_die.
    """
    if len(values) != len(results) or not results:
        raise ValueError(f"need one list of runs per value: got {len(values)} values and {len(results)} lists")
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    else:
        fig = ax.figure
    for i in range(len(results[0][0].layers)):
        dead = torch.tensor([[100 * r.dead_fraction[i] for r in runs] for runs in results])
        spread = dead.std(dim=1) if dead.shape[1] > 1 else torch.zeros(len(values))
        ax.errorbar(values, dead.mean(dim=1), yerr=spread, marker="o", capsize=3, label=f"dead %, hidden {i + 1}")
    if network_widths is not None:
        widths = [int(n) for n in network_widths]
        if len(widths) != len(results[0][0].layers):
            raise ValueError(f"network_widths gives {len(widths)} widths for {len(results[0][0].layers)} hidden layers")
        dead = torch.tensor(
            [
                [100 * sum(f * n for f, n in zip(r.dead_fraction, widths)) / sum(widths) for r in runs]
                for runs in results
            ]
        )
        spread = dead.std(dim=1) if dead.shape[1] > 1 else torch.zeros(len(values))
        ax.errorbar(
            values,
            dead.mean(dim=1),
            yerr=spread,
            marker="D",
            ls=":",
            color="0.3",
            capsize=3,
            label="dead %, all hidden units",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("dead units on the training set (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    accuracy_ax = ax.twinx()
    accuracy = torch.tensor([[100 * r.test_accuracy for r in runs] for runs in results])
    spread = accuracy.std(dim=1) if accuracy.shape[1] > 1 else torch.zeros(len(values))
    accuracy_ax.errorbar(
        values,
        accuracy.mean(dim=1),
        yerr=spread,
        color="black",
        ls="--",
        marker="s",
        capsize=3,
        label="test accuracy %",
    )
    accuracy_ax.set_ylabel("test accuracy (%)")
    accuracy_ax.set_ylim(-3, 103)
    if log_x:
        ax.set_xscale("log")
    handles = ax.get_legend_handles_labels()[0] + accuracy_ax.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="center left")
    ax.set_title(f"Dead units and accuracy over {len(results[0])} seeds (mean ± std)")
    return fig
