"""Layer-by-layer views of a network: gradient norm and dead units per layer, and dead units
against depth (notebook 06_activations_and_architecture, and its explorer).

Two measurements and three plots. Every plot takes `ax=None` and returns the figure; its
curves are given as {label: per-seed lists}, drawn as the mean over seeds with a band
(min to max for gradient norms, ± one standard deviation for dead %), so one seed and
several seeds are drawn the same way.
"""

import matplotlib.pyplot as plt
import torch
from torch import nn

from .monitor import DeadUnitMonitor, scan


def _keep_buffers(model):
    """A copy of the model's buffers (BatchNorm's running statistics), to restore afterwards."""
    return {name: buffer.clone() for name, buffer in model.named_buffers()}


def _restore_buffers(model, saved):
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            buffer.copy_(saved[name])


def gradient_norms(model, X, y):
    """Norm of the cross-entropy loss gradient w.r.t. each nn.Linear weight, input side first.

    One forward and backward pass over all of (X, y) in training mode, so BatchNorm uses the
    statistics of X, as it does during training. The model is left as it was: its gradients
    are cleared, its running statistics and train/eval mode restored.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layers")
    was_training, saved = model.training, _keep_buffers(model)
    model.train()
    try:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(X), y).backward()
        return [layer.weight.grad.norm().item() for layer in linears]
    finally:
        model.zero_grad(set_to_none=True)
        _restore_buffers(model, saved)
        model.train(was_training)


def dead_per_layer(model, X, tau=0.1, batch_statistics=False):
    """Dead % of each activation layer on X (τ-dormant % for activations that can be negative,
    as `monitor.DeadUnitMonitor` counts them), in forward order.

    By default the model is measured in eval mode (`monitor.scan`), the way it is used after
    training. A freshly built BatchNorm has running statistics mean 0, variance 1, so in eval
    mode it barely normalises: at initialisation pass `batch_statistics=True` to measure in
    training mode, with the statistics of X itself (running statistics are restored after).
    """
    if not batch_statistics:
        return [100 * layer.dead_fraction for layer in scan(model, X, tau=tau).layers]
    was_training, saved = model.training, _keep_buffers(model)
    model.train()
    try:
        with torch.no_grad(), DeadUnitMonitor(model, tau=tau) as monitor:
            model(X)
        return [100 * layer.dead_fraction for layer in monitor.report().layers]
    finally:
        _restore_buffers(model, saved)
        model.train(was_training)


def _axes(ax, figsize=(6.2, 3.4)):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _check_curves(curves):
    if not curves:
        raise ValueError("curves is empty: give {label: [per-seed list of values], ...}")
    for label, runs in curves.items():
        lengths = {len(run) for run in runs}
        if not runs or len(lengths) != 1:
            raise ValueError(f"curve {label!r} needs one or more runs of equal length, got lengths {sorted(lengths)}")


def plot_gradient_flow(curves, ax=None, styles=None, title="Gradient norm per layer"):
    """Gradient norm of each Linear layer's weight, input side first, on a log axis.

    `curves`: {label: [norms of run 1, norms of run 2, ...]}, e.g. from `gradient_norms` for
    several seeds; the line is the geometric mean over runs, the band spans min to max.
    `styles`: optional {label: matplotlib line keywords}.
    """
    _check_curves(curves)
    fig, ax = _axes(ax)
    for i, (label, runs) in enumerate(curves.items()):
        values = torch.tensor(runs, dtype=torch.float64).clamp_min(1e-30)  # a dead layer's gradient can be exactly 0
        layers = range(1, values.shape[1] + 1)
        style = {"color": f"C{i}", "marker": "o", "ms": 3, **(styles or {}).get(label, {})}
        ax.plot(layers, values.log().mean(0).exp(), label=label, **style)
        if len(runs) > 1:
            ax.fill_between(layers, values.min(0).values, values.max(0).values, color=style["color"], alpha=0.15, lw=0)
    ax.set_yscale("log")
    ax.set_xlabel("Linear layer (1 = next to the input)")
    ax.set_ylabel("‖∂loss/∂W‖")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize=8)
    return fig


def _mean_and_band(ax, x, runs, label, style):
    values = torch.tensor(runs, dtype=torch.float64)
    mean = values.mean(0)
    ax.plot(x, mean, label=label, **style)
    if len(runs) > 1:
        spread = values.std(0)
        ax.fill_between(x, mean - spread, mean + spread, color=style["color"], alpha=0.15, lw=0)


def plot_dead_per_layer(curves, ax=None, styles=None, title="Dead units per hidden layer"):
    """Dead % (τ-dormant % for signed activations) of each hidden layer, input side first.

    `curves`: {label: [dead % per layer of run 1, of run 2, ...]}, e.g. from `dead_per_layer`;
    mean over runs, band ± one standard deviation.
    """
    _check_curves(curves)
    fig, ax = _axes(ax)
    for i, (label, runs) in enumerate(curves.items()):
        style = {"color": f"C{i}", "marker": "o", "ms": 3, **(styles or {}).get(label, {})}
        _mean_and_band(ax, range(1, len(runs[0]) + 1), runs, label, style)
    ax.set_xlabel("hidden layer (1 = next to the input)")
    ax.set_ylabel("dead units (%)")
    ax.set_ylim(-3, 103)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_dead_vs_depth(depths, curves, ax=None, title="Dead units against depth"):
    """Dead % of all hidden units against the number of hidden layers.

    `curves`: {label: [[run values at depths[0]], [run values at depths[1]], ...]} — one list
    of per-seed values per depth; mean ± one standard deviation.
    """
    if not curves:
        raise ValueError("curves is empty")
    fig, ax = _axes(ax)
    for i, (label, per_depth) in enumerate(curves.items()):
        if len(per_depth) != len(depths):
            raise ValueError(f"curve {label!r} has {len(per_depth)} depths, expected {len(depths)}")
        runs = [list(seeds) for seeds in zip(*per_depth)]  # -> per-seed lists over depths
        _mean_and_band(ax, list(depths), runs, label, {"color": f"C{i}", "marker": "o"})
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("dead units, all hidden layers (%)")
    ax.set_ylim(-3, 103)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig

