"""Notebook 07's helpers (reviving_and_pruning): see the sections below.

From the former `recycling_explorer` module:

Explorer of notebook 07: recycling on or off, τ and period -> dead % and accuracy over training.

The plot functions take `ax=None` and return the figure; the widget is a thin wrapper that
retrains a small MLP with Adam (the setting of notebook 07) and redraws them.
"""

from matplotlib.figure import Figure
import ipywidgets as widgets
import matplotlib.pyplot as plt
import time
import torch

from ..figures import figure_to_png
from ..recycling import ReDo
from ..tracking import DeadUnitTracker
from ..tracking_plots import plot_dead_over_steps


def plot_accuracy_over_steps(history, recycle_steps=(), ax=None, label=None):
    """Held-out accuracy at the evaluation steps of a `training.History`; dotted lines mark recycling steps."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
    for step in recycle_steps:
        ax.axvline(step, color="0.8", lw=0.8, ls=":")
    ax.plot(history.eval_steps, [100 * a for a in history.test_accuracy], marker=".", label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 102)
    ax.grid(alpha=0.3)
    if label:
        ax.legend(fontsize=8)
    return ax.figure


def plot_recycling_run(history, recycle_steps=(), axes=None, title=None):
    """Two panels: dead % per layer over training, and test accuracy; recycling steps dotted."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    plot_dead_over_steps(history, ax=axes[0])
    for step in recycle_steps:
        axes[0].axvline(step, color="0.8", lw=0.8, ls=":")
    plot_accuracy_over_steps(history, recycle_steps, ax=axes[1])
    if title:
        axes[0].set_title(title, fontsize=9)
        axes[1].set_title(f"final test accuracy {100 * history.final_test_accuracy:.1f}%", fontsize=9)
    return axes[0].figure


class RecyclingExplorer(widgets.VBox):
    """Retrain an MLP with Adam and, optionally, ReDo every `period` steps at threshold τ.

    Changing a control retrains from scratch (`epochs` epochs, a progress bar shows the
    steps) and redraws dead % per layer (on the whole training set, every `every` steps) and
    the test accuracy. `reset_optimizer` is offered too, since notebook 07 measures it.
    """

    def __init__(
        self,
        data,
        build_model=None,
        lr=0.01,
        seed=0,
        epochs=4,
        batch_size=32,
        every=10,
        recycle=True,
        tau=0.1,
        period=50,
        reset_optimizer=False,
    ):
        from ..models import make_mlp
        from ..training import train

        self._train, self.data, self.epochs, self.batch_size, self.every, self.lr = (
            train,
            data,
            epochs,
            batch_size,
            every,
            lr,
        )
        self.build_model = build_model or (lambda s: make_mlp((data.n_features, 128, 128, data.n_classes), seed=s))
        self.recycle = widgets.ToggleButtons(options=[("recycling on", True), ("off", False)], value=recycle)
        self.tau = widgets.Dropdown(options=[0.0, 0.025, 0.1, 0.3], value=tau, description="τ")
        self.period = widgets.IntSlider(
            value=period, min=10, max=200, step=10, description="period", continuous_update=False
        )
        self.reset = widgets.Checkbox(value=reset_optimizer, description="reset optimizer state")
        self.seed = widgets.IntSlider(value=seed, min=0, max=9, description="seed", continuous_update=False)
        controls = [self.recycle, self.tau, self.period, self.reset, self.seed]
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="training")
        self.image = widgets.Image(format="png")
        self.last_update_ms = float("nan")
        self.history, self.recycle_steps = None, []
        self._figure = Figure(figsize=(10, 3.4))  # fixed layout: one draw per update
        self._axes = self._figure.subplots(1, 2)
        self._figure.subplots_adjust(left=0.07, right=0.99, bottom=0.15, top=0.88, wspace=0.22)
        for control in controls:
            control.observe(lambda change: self.retrain(), names="value")
        super().__init__([widgets.HBox(controls[:3]), widgets.HBox(controls[3:]), self.progress, self.image])
        self.retrain()

    def _show_progress(self, step, model, optimizer):
        if step % 10 == 0:
            self.progress.value = step

    def retrain(self):
        start = time.perf_counter()
        seed = self.seed.value
        model = self.build_model(seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
        callbacks = [self._show_progress]
        redo = None
        if self.recycle.value:
            redo = ReDo(
                self.data.X_train,
                period=self.period.value,
                tau=self.tau.value,
                reset_optimizer=self.reset.value,
                seed=seed,
            )
            callbacks.insert(0, redo)
        tracker = DeadUnitTracker(model, every=self.every, probe=self.data.X_train)
        from ..training import steps_per_epoch

        steps = self.epochs * steps_per_epoch(len(self.data.y_train), self.batch_size)
        self.progress.max, self.progress.value = steps, 0
        self.history = self._train(
            model,
            self.data,
            optimizer=optimizer,
            epochs=self.epochs,
            batch_size=self.batch_size,
            tracker=tracker,
            eval_every=self.every,
            seed=seed,
            progress=False,
            callbacks=callbacks,
        )
        self.recycle_steps = redo.steps if redo is not None else []
        self.progress.value = steps
        for ax in self._axes:
            ax.clear()
        if self.recycle.value:
            what = f"ReDo every {self.period.value} steps, τ = {self.tau.value:g}, optimizer state {'reset' if self.reset.value else 'kept'}"
        else:
            what = "no recycling"
        plot_recycling_run(
            self.history, self.recycle_steps, axes=self._axes, title=f"Adam lr {self.lr:g}, seed {seed}: {what}"
        )
        self.image.value = figure_to_png(self._figure)
        self.last_update_ms = (time.perf_counter() - start) * 1000


def recycling_explorer(data, **kwargs):
    """Build the recycling explorer of notebook 07 (see `RecyclingExplorer`)."""
    return RecyclingExplorer(data, **kwargs)


def plot_accuracy_against_dead(runs, pairs=(), ax=None):
    """Scatter: each run's dead share (mean over its hidden layers: the share of all hidden
    units when the layers are equally wide) against its test accuracy.

    `runs` maps a label to a list of `experiments.RunResult`s (one marker colour per label).
    `pairs` lists (label a, label b) of runs over the same seeds that differ in one thing
    (recycling off and on): a thin line joins the two runs of each seed, so the plot shows
    what that one change did to both numbers. Diverged runs are left out (see
    `experiments.finished`).
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")

    def point(run):
        return 100 * sum(run.dead_fraction) / len(run.dead_fraction), 100 * run.test_accuracy

    for a, b in pairs:
        for run_a, run_b in zip(runs[a], runs[b]):
            if run_a.seed != run_b.seed:
                raise ValueError(f"pair ({a!r}, {b!r}): seed {run_a.seed} is matched with seed {run_b.seed}")
            if not (run_a.diverged or run_b.diverged):
                (xa, ya), (xb, yb) = point(run_a), point(run_b)
                ax.plot([xa, xb], [ya, yb], color="0.75", lw=0.8, zorder=1)
    for label, results in runs.items():
        kept = [point(r) for r in results if not r.diverged]
        ax.scatter([x for x, _ in kept], [y for _, y in kept], label=label, alpha=0.85, zorder=2)
    ax.set_xlabel("dead units, mean over hidden layers (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(
        "Accuracy against dead units, one point per run" + (" (lines: same seed)" if pairs else ""), fontsize=10
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax.figure
