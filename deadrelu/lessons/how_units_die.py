"""Notebook 02 (how_units_die): the ways a ReLU unit dies, measured.

Born dead: `born_dead_probability` and `born_dead_share` give, exactly and by Monte Carlo, how
often a deep, narrow ReLU net with symmetric weights is dead at initialisation (Lu, Shin, Su &
Karniadakis 2019, "Dying ReLU and Initialization"). `plot_sweep` draws dead units and accuracy
against a swept setting over seeds; `learning_rate_explorer` retrains a small MLP at the
learning rate you pick and shows its units dying (notebook 04 adds the optimizer and clipping).
"""

import ipywidgets as widgets
import torch

from ..figures import Choice, Explorer, axes_or_new, learning_rate_slider
from ..tracking import DeadUnitTracker
from ..tracking_plots import plot_dead_over_steps
from ..training import steps_per_epoch


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


def _mean_with_spread(ax, values, results, measure, **style):
    """An error bar per value: the mean ± std over its runs of `measure(run)` (no bar for one run)."""
    measured = torch.tensor([[measure(run) for run in runs] for runs in results], dtype=torch.float64)
    spread = measured.std(dim=1) if measured.shape[1] > 1 else torch.zeros(len(values))
    ax.errorbar(values, measured.mean(dim=1), yerr=spread, capsize=3, **style)


def plot_sweep(values, results, xlabel="learning rate", ax=None, log_x=True, network_widths=None):
    """Dead % per layer (mean ± std over seeds, left axis) and test accuracy (right axis)
    against the swept setting. `results[i]` is the list of `experiments.RunResult` of
    `values[i]`. With `network_widths` (the hidden layers' widths, e.g. (128, 128)) it also
    draws the dead % of all hidden units together: the share that CS231n's "40 % of your
    network" speaks of. Introduced in 02_how_units_die.
    """
    if len(values) != len(results) or not results:
        raise ValueError(f"need one list of runs per value: got {len(values)} values and {len(results)} lists")
    fig, ax = axes_or_new(ax, (7, 3.8))
    for i in range(len(results[0][0].layers)):
        _mean_with_spread(
            ax, values, results, lambda r: 100 * r.dead_fraction[i], marker="o", label=f"dead %, hidden {i + 1}"
        )
    if network_widths is not None:
        widths = [int(n) for n in network_widths]
        if len(widths) != len(results[0][0].layers):
            raise ValueError(f"network_widths gives {len(widths)} widths for {len(results[0][0].layers)} hidden layers")

        def all_hidden(run):
            return 100 * sum(f * n for f, n in zip(run.dead_fraction, widths)) / sum(widths)

        _mean_with_spread(
            ax, values, results, all_hidden, marker="D", ls=":", color="0.3", label="dead %, all hidden units"
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("dead units on the training set (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    accuracy_ax = ax.twinx()
    _mean_with_spread(
        accuracy_ax,
        values,
        results,
        lambda r: 100 * r.test_accuracy,
        color="black",
        ls="--",
        marker="s",
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


class LearningRateExplorer(Explorer):
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
        self.lr = learning_rate_slider(lr, lr_exponents, step=0.05)
        self.seed = widgets.IntSlider(value=seed, min=0, max=9, description="seed", continuous_update=False)
        self.optimizer = Choice(list(optimizers or ["sgd"]), description="optimizer")
        self.clip = Choice(
            [("off", None)] + [(f"{c:g}", c) for c in (clip_values or []) if c is not None], description="clip norm"
        )
        self.leftover = len(data.y_train) % batch_size  # the short last batch's examples
        self.short_batch = widgets.Checkbox(
            value=bool(short_batch), description=f"keep the short last batch ({self.leftover} examples)", indent=False
        )
        controls = [self.lr, self.seed]
        if optimizers:
            controls.append(self.optimizer)
        if clip_values:
            controls.append(self.clip)
        if short_batch is not None:
            controls.append(self.short_batch)
        self.history = None
        Explorer.__init__(
            self,
            [controls],
            figsize=(7.5, 3.3),
            margins={"left": 0.09, "right": 0.98, "bottom": 0.15, "top": 0.88},
            trains=True,
        )

    @property
    def drop_last(self):
        """False when the short last batch is kept (the checkbox), else True."""
        return not self.short_batch.value

    @property
    def epoch_steps(self):
        """Optimizer steps per epoch of the current setting (`training.steps_per_epoch`)."""
        return steps_per_epoch(len(self.data.y_train), self.batch_size, self.drop_last)

    def retrain(self):
        model = self.build_model(self.seed.value)
        tracker = DeadUnitTracker(model, every=self.every, probe=self.data.X_train)  # dead on the whole training set
        self.start_progress(self.epochs * self.epoch_steps)
        self.history = self._train(
            model,
            self.data,
            lr=self.lr.value,
            epochs=self.epochs,
            batch_size=self.batch_size,
            tracker=tracker,
            seed=self.seed.value,
            progress=False,
            callbacks=[self.tick],
            optimizer=self.optimizer.value,
            clip_grad_norm=self.clip.value,
            drop_last=self.drop_last,
        )

    def draw(self):
        short_step = not self.drop_last and self.leftover
        epoch_label = f"end of an epoch (a {self.leftover}-example step)" if short_step else "end of an epoch"
        plot_dead_over_steps(self.history, ax=self.ax, epoch_steps=self.epoch_steps, epoch_label=epoch_label)
        verdict = (
            "diverged" if self.history.diverged else f"test accuracy {100 * self.history.final_test_accuracy:.1f}%"
        )
        clip = "" if self.clip.value is None else f", clip {self.clip.value:g}"
        batches = ", short batch kept" if short_step else ""
        self.ax.set_title(
            f"{self.optimizer.value}, lr = {self.lr.value:.3g}{clip}{batches}, seed {self.seed.value}: {verdict}",
            fontsize=10,
        )


def learning_rate_explorer(data, **kwargs):
    """Build the learning-rate explorer of notebook 02 (see `LearningRateExplorer`)."""
    return LearningRateExplorer(data, **kwargs)
