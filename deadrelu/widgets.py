"""Explorer widgets: thin ipywidgets wrappers over the plot functions in `plots.py`.

Each explorer draws into one matplotlib Figure that is not registered with pyplot (so it
is never shown twice or leaked) and shows it as a PNG in an `ipywidgets.Image`. The PNG
lives in the kernel (`explorer.image.value`), which is what the tests compare.
"""

import io
import time

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from .activations import ACTIVATIONS, value_and_gradient
from .plots import plot_activation
from .tracking import DeadUnitTracker
from .tracking_plots import plot_dead_over_steps


def figure_to_png(fig, dpi=80):
    """Render a matplotlib figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class ActivationExplorer(widgets.VBox):
    """Pick an activation and its parameter; see f and f' side by side (notebook 01).

    Controls: `activation` (dropdown), `parameter` (slider, disabled when the activation has
    none) and `extent` (the plot shows -extent <= x <= extent). `last_update_ms` holds how
    long the last redraw took.
    """

    def __init__(self, activation="LeakyReLU", parameter=None, extent=4.0):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
        self.activation = widgets.Dropdown(options=list(ACTIVATIONS), value=activation, description="activation")
        self.parameter = widgets.FloatSlider(description="parameter", step=0.01, continuous_update=True)
        self.extent = widgets.FloatSlider(value=extent, min=1.0, max=10.0, step=0.5, description="|x| up to")
        self.summary = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.last_update_ms = float("nan")
        # A fixed layout: a constrained layout would draw the figure twice per update.
        self._figure = Figure(figsize=(9, 3.2))
        self._axes = self._figure.subplots(1, 2)
        self._figure.subplots_adjust(left=0.07, right=0.99, bottom=0.16, top=0.9, wspace=0.22)
        self._holding = False

        self._configure_parameter(parameter)
        for control in (self.activation, self.parameter, self.extent):
            control.observe(self._on_change, names="value")
        super().__init__([widgets.HBox([self.activation, self.parameter, self.extent]), self.summary, self.image])
        self.redraw()

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
        self.redraw()

    @property
    def current_parameter(self):
        spec = ACTIVATIONS[self.activation.value]
        return None if spec.parameter is None else self.parameter.value

    def redraw(self):
        start = time.perf_counter()
        name, parameter, extent = self.activation.value, self.current_parameter, self.extent.value
        for ax in self._axes:
            ax.clear()
        plot_activation(name, parameter, x_range=(-extent, extent), axes=self._axes)
        self.image.value = figure_to_png(self._figure)

        negatives = torch.linspace(-extent, -1e-3, 200)
        _, gradient = value_and_gradient(name, negatives, parameter)
        lo, hi = gradient.min().item(), gradient.max().item()
        if hi == 0 and lo == 0:
            verdict = "<b>exactly 0</b>: a unit whose inputs all land here gets no gradient and cannot recover."
        else:
            verdict = f"between {lo:.3g} and {hi:.3g}: a unit here still gets a learning signal."
        self.summary.value = f"{ACTIVATIONS[name].note}. For {-extent:g} &le; x &lt; 0, f'(x) is {verdict}"
        self.last_update_ms = (time.perf_counter() - start) * 1000


def activation_explorer(activation="LeakyReLU", parameter=None, extent=4.0):
    """Build the activation explorer of notebook 01 (see `ActivationExplorer`)."""
    return ActivationExplorer(activation, parameter, extent)


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
        from .models import make_mlp
        from .training import train

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
        from .training import steps_per_epoch

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
