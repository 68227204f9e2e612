"""Notebook 02's helpers (how_units_die): see the sections below.

From the former `born_dead` module:

Born dead: how often is a freshly initialised deep, narrow ReLU net dead? (notebook 02)

Lu, Shin, Su & Karniadakis 2019 ("Dying ReLU and Initialization") show that with a
symmetric weight distribution, deep narrow ReLU nets are dead at initialisation with a
probability that tends to 1 as depth grows. This module measures it by Monte Carlo.
"""

from matplotlib.figure import Figure
import ipywidgets as widgets
import matplotlib.pyplot as plt
import time
import torch

from ..figures import figure_to_png
from ..tracking import DeadUnitTracker
from ..tracking_plots import plot_dead_over_steps


def born_dead_probability(width, depth):
    """P(a net of `depth` hidden layers of `width` units is born dead) for one live input.

    Symmetric weights, no biases: each unit is off with probability 1/2, independently, so a
    layer dies with probability 2**-width, and the net lives only if every layer does.
    """
    if width < 1 or depth < 1:
        raise ValueError(f"width and depth must be >= 1, got {width}, {depth}")
    return 1 - (1 - 2.0**-width) ** depth


def standard_normal_weights(n_nets, n_out, n_in, generator):
    """Symmetric init: every weight N(0, 1) (the scale does not matter for the sign)."""
    return torch.randn(n_nets, n_out, n_in, generator=generator)


def born_dead_share(
    width, depth, n_nets=2000, n_inputs=1, input_features=None, sample_weights=standard_normal_weights, generator=None
):
    """Share of `n_nets` random nets (no biases) that output 0 at some hidden layer for all of
    `n_inputs` positive inputs drawn U(0, 1).

    Each net has `depth` hidden ReLU layers of `width` units; a net counts as born dead when
    some hidden layer's output is all zeros for every input, so that nothing reaches the
    output. All nets are simulated at once (batched matrix products).
    """
    if width < 1 or depth < 1 or n_nets < 1 or n_inputs < 1:
        raise ValueError(f"width, depth, n_nets and n_inputs must be >= 1, got {width}, {depth}, {n_nets}, {n_inputs}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    features = input_features or width
    h = torch.rand(n_nets, features, n_inputs, generator=generator)  # positive inputs, one column each
    dead = torch.zeros(n_nets, dtype=torch.bool)
    for _ in range(depth):
        weights = sample_weights(n_nets, width, h.shape[1], generator)
        h = torch.relu(weights @ h)
        dead |= (h == 0).flatten(1).all(dim=1)
    return dead.float().mean().item()


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


class LearningRateExplorer(widgets.VBox):
    """Retrain a small MLP at the chosen learning rate and seed; watch its units die (notebook 02).

    Releasing a slider retrains from scratch (`epochs` epochs, a progress bar shows the
    steps) and redraws dead % per layer over the training steps — dead on the whole
    training set, measured every `every` steps — with the test accuracy. Dotted lines mark
    the last step of every epoch.
    `build_model(seed)` makes the model (default: `make_mlp((64, 128, 128, 10), seed=seed)`).
    `short_batch` (None, False or True): when not None, a checkbox offers to keep the short
    last batch of every epoch (`train(..., drop_last=False)`; 3 examples for the digits at
    batch 32) and starts at that value — notebook 02's "one noisy step"; with None every
    step is a full batch. With `optimizers` (e.g. ("sgd", "adam")) and `clip_values`
    (e.g. (None, 1.0)) it also offers the optimizer and gradient-norm clipping (notebook 04).
    `lr_exponents` is the slider's range as powers of 10.
    """

    def __init__(
        self,
        data,
        build_model=None,
        lr=0.1,
        seed=0,
        epochs=5,
        batch_size=32,
        every=10,
        optimizers=None,
        clip_values=None,
        lr_exponents=(-2, 0.5),
        short_batch=None,
    ):
        from ..models import make_mlp
        from ..training import train

        self._train, self.data, self.epochs, self.batch_size, self.every = train, data, epochs, batch_size, every
        self.build_model = build_model or (lambda s: make_mlp((data.n_features, 128, 128, data.n_classes), seed=s))
        self.lr = widgets.FloatLogSlider(
            value=lr,
            base=10,
            min=lr_exponents[0],
            max=lr_exponents[1],
            step=0.05,
            description="lr",
            continuous_update=False,
            readout_format=".3g",
        )
        self.seed = widgets.IntSlider(value=seed, min=0, max=9, description="seed", continuous_update=False)
        self.optimizer = widgets.Dropdown(options=list(optimizers or ["sgd"]), description="optimizer")
        self.clip = widgets.Dropdown(
            options=[("off", None)] + [(f"{c:g}", c) for c in (clip_values or []) if c is not None],
            description="clip norm",
        )
        leftover = len(data.y_train) % batch_size
        self.short_batch = widgets.Checkbox(
            value=bool(short_batch), description=f"keep the short last batch ({leftover} examples)", indent=False
        )
        controls = [self.lr, self.seed]
        if optimizers:
            controls.append(self.optimizer)
        if clip_values:
            controls.append(self.clip)
        if short_batch is not None:
            controls.append(self.short_batch)
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="training")
        self.image = widgets.Image(format="png")
        self.last_update_ms = float("nan")
        self.history = None
        self._figure = Figure(figsize=(7.5, 3.3))
        self._ax = self._figure.subplots()
        self._figure.subplots_adjust(left=0.09, right=0.98, bottom=0.15, top=0.88)
        for control in controls:
            control.observe(lambda change: self.retrain(), names="value")
        super().__init__([widgets.HBox(controls), self.progress, self.image])
        self.retrain()

    def _tick(self, step, model, optimizer):
        if step % 10 == 0:
            self.progress.value = step

    @property
    def drop_last(self):
        """False when the short last batch is kept (the checkbox), else True."""
        return not self.short_batch.value

    def retrain(self):
        from ..training import steps_per_epoch

        start = time.perf_counter()
        model = self.build_model(self.seed.value)
        tracker = DeadUnitTracker(model, every=self.every, probe=self.data.X_train)  # dead on the whole training set
        epoch_steps = steps_per_epoch(len(self.data.y_train), self.batch_size, self.drop_last)
        steps = self.epochs * epoch_steps
        self.progress.max, self.progress.value = steps, 0
        self.history = self._train(
            model,
            self.data,
            lr=self.lr.value,
            epochs=self.epochs,
            batch_size=self.batch_size,
            tracker=tracker,
            seed=self.seed.value,
            progress=False,
            callbacks=[self._tick],
            optimizer=self.optimizer.value,
            clip_grad_norm=self.clip.value,
            drop_last=self.drop_last,
        )
        self.progress.value = steps
        self._ax.clear()
        leftover = len(self.data.y_train) % self.batch_size
        epoch_label = (
            f"end of an epoch (a {leftover}-example step)" if not self.drop_last and leftover else "end of an epoch"
        )
        plot_dead_over_steps(self.history, ax=self._ax, epoch_steps=epoch_steps, epoch_label=epoch_label)
        verdict = (
            "diverged" if self.history.diverged else f"test accuracy {100 * self.history.final_test_accuracy:.1f}%"
        )
        clip = "" if self.clip.value is None else f", clip {self.clip.value:g}"
        batches = ", short batch kept" if not self.drop_last and leftover else ""
        self._ax.set_title(
            f"{self.optimizer.value}, lr = {self.lr.value:.3g}{clip}{batches}, seed {self.seed.value}: {verdict}",
            fontsize=10,
        )
        self.image.value = figure_to_png(self._figure)
        self.last_update_ms = (time.perf_counter() - start) * 1000


def learning_rate_explorer(data, **kwargs):
    """Build the learning-rate explorer of notebook 02 (see `LearningRateExplorer`)."""
    return LearningRateExplorer(data, **kwargs)
