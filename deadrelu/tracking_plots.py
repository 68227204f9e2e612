"""Plots of dead units over training (notebook 03). Each takes `ax=None` and returns the figure.

They take a `tracking.TrackingHistory`, or a `training.History` that carries one. Plots
against training steps can mark where each epoch ends (`epoch_steps=`, see `mark_epochs`):
notebook 02's "one noisy step" shows units dying right after the short last batch of an
epoch.
"""

import torch

from .figures import axes_or_new, panels_or_new


def _tracking(history):
    tracking = getattr(history, "tracking", history)
    if tracking is None or not hasattr(tracking, "layers"):
        raise ValueError("no tracking data: train with tracker=DeadUnitTracker(model, ...) to record it")
    if not tracking.steps:
        raise ValueError("the tracker took no snapshot: train for at least `every` steps")
    return tracking


def _layer(tracking, layer):
    """The LayerTrack for `layer` (a module name, or a position 0, 1, ...; None: the first)
    and its label, e.g. "hidden 2 ('3')": its position among the watched layers and its name."""
    names = list(tracking.layers)
    if layer is None:
        layer = names[0]
    elif isinstance(layer, int):
        if not -len(names) <= layer < len(names):
            raise KeyError(f"no layer at position {layer}; {len(names)} layers tracked: {names}")
        layer = names[layer]
    if layer not in tracking.layers:
        raise KeyError(f"no layer {layer!r}; tracked layers: {names}")
    return tracking.layers[layer], _label(names, layer)


def _label(names, name):
    return f"hidden {names.index(name) + 1} ('{name}')"


def mark_epochs(ax, epoch_steps, last_step, label="end of an epoch"):
    """Draw a dotted vertical line at the last step of every epoch — steps epoch_steps,
    2 * epoch_steps, ... up to `last_step` — with one legend entry `label`. Returns those
    steps. `epoch_steps` is `training.steps_per_epoch(...)` of the run (notebook 02)."""
    if not isinstance(epoch_steps, int) or isinstance(epoch_steps, bool) or epoch_steps < 1:
        raise ValueError(f"epoch_steps must be an int >= 1 (optimizer steps per epoch), got {epoch_steps!r}")
    ends = list(range(epoch_steps, int(last_step) + 1, epoch_steps))
    for i, step in enumerate(ends):
        ax.axvline(step, color="0.45", lw=0.9, ls=":", zorder=0, label=label if i == 0 else None)
    return ends


def plot_dead_over_steps(
    history, kind="dead", ax=None, label_prefix="", epoch_steps=None, epoch_label="end of an epoch"
):
    """Share of dead (or τ-dormant) units per layer against training step.

    `epoch_steps` (optional, steps per epoch): mark the last step of every epoch with a
    dotted line (`mark_epochs`), labelled `epoch_label`."""
    if kind not in ("dead", "dormant"):
        raise ValueError(f"kind must be 'dead' or 'dormant', got {kind!r}")
    tracking = _tracking(history)
    fig, ax = axes_or_new(ax, (6.5, 3.4))
    if epoch_steps is not None:
        # a training.History knows every step; a TrackingHistory only its snapshots
        mark_epochs(ax, epoch_steps, getattr(history, "steps", tracking.steps)[-1], epoch_label)
    for name, track in tracking.layers.items():
        values = track.dead_fraction if kind == "dead" else track.dormant_fraction
        ax.plot(
            tracking.steps,
            [100 * v for v in values],
            marker=".",
            label=f"{label_prefix}{_label(list(tracking.layers), name)}",
        )
    what = "dead" if kind == "dead" else f"τ-dormant (τ={tracking.tau:g})"
    ax.set_xlabel("training step")
    ax.set_ylabel(f"{what} units (%)")
    ax.set_ylim(-3, 103)
    ax.set_title(f"{what.capitalize()} units during training ({tracking.source})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_gradient_norm(history, ax=None, epoch_steps=None, epoch_label="end of an epoch", label=None):
    """The global gradient norm of every training step (`History.grad_norm`, before any
    clipping), log scale; `epoch_steps` marks the last step of every epoch as in
    `plot_dead_over_steps`. Introduced in notebook 02 ("one noisy step")."""
    if not getattr(history, "grad_norm", None):
        raise ValueError("no gradient norms: pass the History that `train` returned (it records one per step)")
    fig, ax = axes_or_new(ax, (6.5, 3.0))
    if epoch_steps is not None:
        mark_epochs(ax, epoch_steps, history.steps[-1], epoch_label)
    ax.plot(history.steps, history.grad_norm, color="C3", lw=0.9, label=label or "gradient norm")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("||gradient||")
    ax.set_title("Gradient norm of every step")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def plot_firing_heatmap(history, layer=None, ax=None):
    """Firing rate of every unit (rows) at every snapshot (columns).

    Units are sorted by their last firing rate, so the units that died end up together at
    the bottom as a black band.
    """
    tracking = _tracking(history)
    track, label = _layer(tracking, layer)
    matrix = track.firing_rate_matrix
    order = torch.argsort(matrix[:, -1], descending=True, stable=True)
    fig, ax = axes_or_new(ax, (6.5, 3.6))
    steps = tracking.steps
    image = ax.imshow(
        matrix[order].numpy(),
        aspect="auto",
        interpolation="nearest",
        cmap="magma",
        vmin=0,
        vmax=1,
        extent=(steps[0] - 0.5, steps[-1] + 0.5, matrix.shape[0] - 0.5, -0.5),
    )
    fig.colorbar(image, ax=ax, label="firing rate")
    dead_now = int((matrix[:, -1] == 0).sum())
    ax.set_title(f"{label.capitalize()}: firing rate per unit ({dead_now} of {matrix.shape[0]} silent at the end)")
    ax.set_xlabel("training step")
    ax.set_ylabel("unit (sorted by final rate)")
    return fig


def plot_colorful_dimension(history, layer=None, ax=None):
    """Histogram of the layer's activations at every snapshot, as an image (fastai's
    "colorful dimension"): log(1 + count) per value bin (rows) and snapshot (columns).

    A healthy ReLU layer shows a band spread over positive values; as units die, the mass
    collapses into the bin that holds 0.
    """
    tracking = _tracking(history)
    track, label = _layer(tracking, layer)
    if any(h is None for h in track.histograms):
        raise ValueError("this tracking has no activation histograms")
    counts = track.histogram_matrix
    lo, hi = tracking.histogram_range
    steps = tracking.steps
    fig, ax = axes_or_new(ax, (6.5, 3.6))
    ax.imshow(
        torch.log1p(counts).numpy(),
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        cmap="viridis",
        extent=(steps[0] - 0.5, steps[-1] + 0.5, lo, hi),
    )
    ax.axhline(0, color="white", lw=0.6, ls=":")
    zero_bin = int((0 - lo) / (hi - lo) * counts.shape[0])
    share_at_zero = (counts[zero_bin] / counts.sum(dim=0).clamp(min=1)).tolist()
    first, last = 100 * share_at_zero[0], 100 * share_at_zero[-1]
    ax.set_title(f"{label.capitalize()}: activations over training (share at 0: {first:.0f}% → {last:.0f}%)")
    ax.set_xlabel("training step")
    ax.set_ylabel("activation value")
    return fig


def plot_update_ratio(histories, weight=None, layer=0, axes=None, healthy=1e-3):
    """Left: ||ΔW|| / ||W|| per step for one weight matrix (log scale, CS231n's healthy ~1e-3
    marked); right: dead % of one tracked layer over the same steps. `histories` maps a
    label (e.g. "lr 0.5") to a History trained with record_update_ratio=True and a tracker.
    Introduced in 04_learning_rate_and_optimizers.
    """
    if not histories:
        raise ValueError("histories is empty")
    fig, (ax_ratio, ax_dead) = panels_or_new(axes, 2, (11, 3.6), "(update ratio, dead %)")
    for i, (label, history) in enumerate(histories.items()):
        if not history.update_ratio:
            raise ValueError(f"{label}: train with record_update_ratio=True to record update ratios")
        name = weight or next(iter(history.update_ratio))
        ratios = history.update_ratio[name]
        ax_ratio.plot(range(1, len(ratios) + 1), ratios, color=f"C{i}", lw=0.8, alpha=0.8, label=label)
        tracking = _tracking(history)
        track, layer_label = _layer(tracking, layer)
        ax_dead.plot(tracking.steps, [100 * v for v in track.dead_fraction], color=f"C{i}", marker=".", label=label)
    ax_ratio.axhline(healthy, color="black", ls="--", lw=1)
    ax_ratio.annotate(f"≈ {healthy:g} (CS231n)", (1, healthy), xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax_ratio.set_yscale("log")
    ax_ratio.set_xlabel("training step")
    ax_ratio.set_ylabel(f"||ΔW|| / ||W||  ({name})")
    ax_ratio.set_title("Update-to-weight ratio per step")
    ax_ratio.grid(alpha=0.3, which="both")
    ax_ratio.legend(fontsize=8)
    ax_dead.set_xlabel("training step")
    ax_dead.set_ylabel(f"dead units, {layer_label} (%)")
    ax_dead.set_ylim(-3, 103)
    ax_dead.set_title("Dead units over the same steps")
    ax_dead.grid(alpha=0.3)
    return fig
