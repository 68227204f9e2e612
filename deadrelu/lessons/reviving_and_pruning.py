"""Notebook 07 (reviving_and_pruning): recycling dead units, and what it buys.

`plot_accuracy_over_steps` and `plot_recycling_run` draw a run's dead units and accuracy with
its recycling steps marked; `recycling_explorer` retrains a small MLP with Adam, with ReDo on
or off at the τ and period you pick; `plot_accuracy_against_dead` sets each run's dead share
against its accuracy, joining the runs of a seed with and without a change.
"""

import ipywidgets as widgets
import torch

from ..figures import Choice, Explorer, axes_or_new, panels_or_new
from ..recycling import ReDo
from ..tracking import DeadUnitTracker
from ..tracking_plots import plot_dead_over_steps
from ..training import steps_per_epoch


def plot_accuracy_over_steps(history, recycle_steps=(), ax=None, label=None):
    """Held-out accuracy at the evaluation steps of a `training.History`; dotted lines mark recycling steps."""
    fig, ax = axes_or_new(ax, (5, 3.2))
    for step in recycle_steps:
        ax.axvline(step, color="0.8", lw=0.8, ls=":")
    ax.plot(history.eval_steps, [100 * a for a in history.test_accuracy], marker=".", label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 102)
    ax.grid(alpha=0.3)
    if label:
        ax.legend(fontsize=8)
    return fig


def plot_recycling_run(history, recycle_steps=(), axes=None, title=None):
    """Two panels: dead % per layer over training, and test accuracy; recycling steps dotted."""
    fig, axes = panels_or_new(axes, 2, (10, 3.4), "(dead %, accuracy)")
    plot_dead_over_steps(history, ax=axes[0])
    for step in recycle_steps:
        axes[0].axvline(step, color="0.8", lw=0.8, ls=":")
    plot_accuracy_over_steps(history, recycle_steps, ax=axes[1])
    if title:
        axes[0].set_title(title, fontsize=9)
        axes[1].set_title(f"final test accuracy {100 * history.final_test_accuracy:.1f}%", fontsize=9)
    return fig


class RecyclingExplorer(Explorer):
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

        self._train, self.data, self.lr = train, data, lr
        self.epochs, self.batch_size, self.every = epochs, batch_size, every
        self.build_model = build_model or (lambda s: make_mlp((data.n_features, 128, 128, data.n_classes), seed=s))
        self.recycle = widgets.ToggleButtons(options=[("recycling on", True), ("off", False)], value=recycle)
        self.tau = Choice([0.0, 0.025, 0.1, 0.3], value=tau, description="τ")
        self.period = widgets.IntSlider(
            value=period, min=10, max=200, step=10, description="period", continuous_update=False
        )
        self.reset = widgets.Checkbox(value=reset_optimizer, description="reset optimizer state")
        self.seed = widgets.IntSlider(value=seed, min=0, max=9, description="seed", continuous_update=False)
        self.history, self.recycle_steps = None, []
        Explorer.__init__(
            self,
            [[self.recycle, self.tau, self.period], [self.reset, self.seed]],
            figsize=(10, 3.4),
            panels=2,
            margins={"left": 0.07, "right": 0.99, "bottom": 0.15, "top": 0.88, "wspace": 0.22},
            trains=True,
        )

    def retrain(self):
        seed = self.seed.value
        model = self.build_model(seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
        callbacks = [self.tick]
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
        self.start_progress(self.epochs * steps_per_epoch(len(self.data.y_train), self.batch_size))
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

    def draw(self):
        if self.recycle.value:
            state = "reset" if self.reset.value else "kept"
            what = f"ReDo every {self.period.value} steps, τ = {self.tau.value:g}, optimizer state {state}"
        else:
            what = "no recycling"
        title = f"Adam lr {self.lr:g}, seed {self.seed.value}: {what}"
        plot_recycling_run(self.history, self.recycle_steps, axes=self.axes, title=title)


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
    fig, ax = axes_or_new(ax, (6.5, 3.8))

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
    return fig
