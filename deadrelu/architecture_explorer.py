"""Explorer of notebook 06_activations_and_architecture: activation x normalization x residual.

A thin ipywidgets wrapper over `architecture_plots`: every change retrains a deep, narrow
MLP on the data for a few hundred steps (a progress bar shows them), then draws dead units
and gradient norms per layer, at initialisation and after training, side by side.
"""

import time

import ipywidgets as widgets
from matplotlib.figure import Figure

from .architecture_plots import dead_per_layer, gradient_norms, plot_dead_per_layer, plot_gradient_flow
from .models import make_mlp
from .training import torch_threads, train
from .widgets import figure_to_png

EXPLORER_ACTIVATIONS = ("ReLU", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU")
NORMALIZATION_CHOICES = (("no normalization", None), ("batch norm", "batch"), ("layer norm", "layer"))
RESIDUAL_CHOICES = (("no skips", False), ("skips: x + ReLU(Wx)", True), ("skips: x + W2·ReLU(W1x)", "standard"))
STYLES = {
    "at initialisation": {"color": "0.55", "ls": "--"},
    "after training": {"color": "C3"},
}


def build_deep_mlp(n_features, n_classes, depth, width, activation, normalization, residual, seed):
    """`make_mlp` with `depth` hidden layers of `width` (`residual`: False, True or "standard",
    see `models.make_mlp`); PReLU slopes are learned, as everywhere."""
    return make_mlp((n_features,) + (width,) * depth + (n_classes,), activation, normalization, residual, seed=seed)


class ArchitectureExplorer(widgets.VBox):
    """Pick an activation, a normalization, the residual block (none, x + ReLU(Wx) or the
    standard x + W2·ReLU(W1x)), the depth and the learning rate; the MLP (`width` units per
    hidden layer) retrains for `steps` plain-SGD steps (batch 32, seed `seed`) and the figure shows, per layer, dead units (τ-dormant for signed
    activations) and the gradient norm, at initialisation and after training.

    Dead units at initialisation are measured with the batch's own statistics
    (`dead_per_layer(..., batch_statistics=True)`), after training in eval mode.
    `last_update_ms` holds how long the last retrain and redraw took.
    """

    def __init__(
        self,
        data,
        activation="ReLU",
        normalization=None,
        residual=False,
        depth=12,
        width=32,
        lr=0.05,
        steps=120,
        seed=0,
    ):
        if activation not in EXPLORER_ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {list(EXPLORER_ACTIVATIONS)}")
        if normalization not in dict(NORMALIZATION_CHOICES).values():
            raise ValueError(f"unknown normalization {normalization!r}; choose None, 'batch' or 'layer'")
        if residual not in dict(RESIDUAL_CHOICES).values():
            raise ValueError(f"unknown residual {residual!r}; choose False, True (x + ReLU(Wx)) or 'standard'")
        self.data, self.width, self.steps, self.seed = data, width, steps, seed
        self.activation = widgets.Dropdown(
            options=list(EXPLORER_ACTIVATIONS), value=activation, description="activation"
        )
        self.normalization = widgets.Dropdown(
            options=list(NORMALIZATION_CHOICES), value=normalization, description="normalization"
        )
        self.residual = widgets.Dropdown(options=list(RESIDUAL_CHOICES), value=residual, description="residual")
        self.depth = widgets.IntSlider(value=depth, min=2, max=16, description="hidden layers", continuous_update=False)
        self.lr = widgets.FloatLogSlider(
            value=lr,
            base=10,
            min=-2.5,
            max=0,
            step=0.1,
            description="lr",
            continuous_update=False,
            readout_format=".3g",
        )
        self.progress = widgets.IntProgress(value=0, min=0, max=steps, description="training")
        self.summary = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.last_update_ms = float("nan")
        self.history = None
        self.measurements = {}
        # A fixed layout: a constrained layout would draw the figure twice per update.
        self._figure = Figure(figsize=(10, 3.6))
        self._axes = self._figure.subplots(1, 2)
        self._figure.subplots_adjust(left=0.06, right=0.99, bottom=0.14, top=0.8, wspace=0.22)
        for control in (self.activation, self.normalization, self.residual, self.depth, self.lr):
            control.observe(lambda change: self.retrain(), names="value")
        super().__init__(
            [
                widgets.HBox([self.activation, self.normalization, self.residual]),
                widgets.HBox([self.depth, self.lr, self.progress]),
                self.summary,
                self.image,
            ]
        )
        self.retrain()

    def _tick(self, step, model, optimizer):
        if step % 10 == 0:
            self.progress.value = step

    def retrain(self):
        start = time.perf_counter()
        data = self.data
        with torch_threads(1):  # tiny model: one thread is faster, and steadier on a busy machine
            model = build_deep_mlp(
                data.n_features,
                data.n_classes,
                self.depth.value,
                self.width,
                self.activation.value,
                self.normalization.value,
                self.residual.value,
                self.seed,
            )
            self.progress.value = 0
            before = {
                "gradient": gradient_norms(model, data.X_train, data.y_train),
                "dead": dead_per_layer(model, data.X_train, batch_statistics=True),
            }
            self.history = train(
                model,
                data,
                lr=self.lr.value,
                steps=self.steps,
                batch_size=32,
                seed=self.seed,
                progress=False,
                callbacks=[self._tick],
            )
            self.progress.value = self.steps
            after = {
                "gradient": gradient_norms(model, data.X_train, data.y_train),
                "dead": dead_per_layer(model, data.X_train),
            }
        self.measurements = {"at initialisation": before, "after training": after}
        self._draw()
        self.last_update_ms = (time.perf_counter() - start) * 1000

    def _draw(self):
        for ax in self._axes:
            ax.clear()
        dead = {label: [m["dead"]] for label, m in self.measurements.items()}
        gradient = {label: [m["gradient"]] for label, m in self.measurements.items()}
        plot_dead_per_layer(dead, ax=self._axes[0], styles=STYLES, title="Dead (τ-dormant if signed) units per layer")
        plot_gradient_flow(gradient, ax=self._axes[1], styles=STYLES, title="Gradient norm per layer")
        history, after = self.history, self.measurements["after training"]["dead"]
        if history.diverged:
            verdict = f"diverged at step {history.steps[-1]}"
        else:
            verdict = f"test accuracy {100 * history.final_test_accuracy:.1f}% after {history.steps[-1]} steps"
        norm = dict((v, k) for k, v in NORMALIZATION_CHOICES)[self.normalization.value]
        skips = dict((v, k) for k, v in RESIDUAL_CHOICES)[self.residual.value]
        setting = (
            f"{self.activation.value}, {norm}, {skips}, "
            f"{self.depth.value} hidden layers of {self.width}, lr {self.lr.value:.3g}"
        )
        self._figure.suptitle(f"{setting}: {verdict}", fontsize=10)
        self.summary.value = (
            f"{setting}: <b>{verdict}</b>; after training {sum(after) / len(after):.0f}% of the hidden units are dead "
            "(τ-dormant for activations that can be negative)."
        )
        self.image.value = figure_to_png(self._figure)


def architecture_explorer(data, **kwargs):
    """Build the explorer of notebook 06 (see `ArchitectureExplorer`)."""
    return ArchitectureExplorer(data, **kwargs)
