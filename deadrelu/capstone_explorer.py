"""The capstone's explorer (notebook 08): change the broken run's knobs, retrain, see the result."""

import time

import ipywidgets as widgets
from matplotlib.figure import Figure

from .capstone import ACCURACY_BAR, BROKEN_CONFIG, DEAD_LIMIT, check_config
from .data import load_digits_split
from .models import make_mlp
from .monitor import scan
from .training import steps_per_epoch, train
from .widgets import figure_to_png


def plot_layer_dead(dead_fractions, limit=DEAD_LIMIT, ax=None, title=None):
    """Bar chart of dead % per hidden layer with the limit drawn; returns the figure."""
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
    else:
        fig = ax.figure
    values = [100 * d for d in dead_fractions]
    colors = ["C3" if v > 100 * limit else "C2" for v in values]
    ax.bar([f"hidden {i + 1}" for i in range(len(values))], values, color=colors)
    ax.axhline(100 * limit, color="black", ls="--", lw=1)
    ax.annotate(f"limit {100 * limit:.0f}%", (0, 100 * limit), xytext=(0, 4), textcoords="offset points", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("dead units on the training set (%)")
    ax.set_title(title or "Dead units per hidden layer")
    return fig


class CapstoneExplorer(widgets.VBox):
    """Retrain the capstone run (seed 0) with the knobs below; red bars break the limit.

    To answer within 2 s it trains `epochs` epochs (default 10, half the graded run), so
    its figures are a preview: judge your fix with `log_experiment` on several seeds. It
    trains like the grader: full batches only, `steps_per_epoch` steps per epoch (the
    progress bar's length); `history` holds the last run's `training.History`.
    """

    def __init__(self, config=None, seed=0, epochs=10):
        config = check_config({**(config or BROKEN_CONFIG), "epochs": epochs})
        self.seed, self.base = seed, config
        self.inputs = widgets.Dropdown(options=["raw", "scaled"], value=config["inputs"], description="inputs")
        self.lr = widgets.FloatLogSlider(
            value=config["lr"],
            base=10,
            min=-3,
            max=0,
            step=0.1,
            description="lr",
            continuous_update=False,
            readout_format=".3g",
        )
        self.bias = widgets.Dropdown(
            options=[
                ("init's own", None),
                ("-0.3", -0.3),
                ("0", 0.0),
                ("0.01", 0.01),
                ("0.1", 0.1),
                ("0.3", 0.3),
                ("0.5", 0.5),
            ],
            value=config["bias_init"],
            description="bias init",
        )
        self.momentum = widgets.Dropdown(options=[0.0, 0.5, 0.7, 0.9], value=config["momentum"], description="momentum")
        self.init = widgets.Dropdown(
            options=["default", "he_normal", "xavier_normal"], value=config["init"], description="init"
        )
        self.normalization = widgets.Dropdown(
            options=[("none", None), ("batch", "batch"), ("layer", "layer")],
            value=config["normalization"],
            description="norm",
        )
        self.progress = widgets.IntProgress(min=0, max=1, description="training")
        self.image = widgets.Image(format="png")
        self.last_update_ms = float("nan")
        self.history = None
        self._figure = Figure(figsize=(7, 3.2))
        self._ax = self._figure.subplots()
        self._figure.subplots_adjust(left=0.1, right=0.98, bottom=0.12, top=0.87)
        self._data = {kind: load_digits_split(scaled=kind == "scaled", seed=0) for kind in ("raw", "scaled")}
        controls = [self.inputs, self.lr, self.momentum, self.bias, self.init, self.normalization]
        for control in controls:
            control.observe(lambda change: self.retrain(), names="value")
        super().__init__([widgets.HBox(controls[:3]), widgets.HBox(controls[3:] + [self.progress]), self.image])
        self.retrain()

    @property
    def config(self):
        return check_config(
            {
                **self.base,
                "inputs": self.inputs.value,
                "lr": self.lr.value,
                "momentum": self.momentum.value,
                "bias_init": self.bias.value,
                "init": self.init.value,
                "normalization": self.normalization.value,
            }
        )

    def retrain(self):
        start = time.perf_counter()
        c, data = self.config, self._data[self.inputs.value]
        model = make_mlp(
            (data.n_features, *c["hidden"], data.n_classes),
            activation=c["activation"],
            normalization=c["normalization"],
            residual=c["residual"],
            init=c["init"],
            bias_init=c["bias_init"],
            seed=self.seed,
        )
        steps = c["epochs"] * steps_per_epoch(len(data.y_train), c["batch_size"])
        self.progress.max, self.progress.value = steps, 0
        tick = lambda step, m, o: setattr(self.progress, "value", step) if step % 20 == 0 else None  # noqa: E731
        history = train(
            model,
            data,
            optimizer=c["optimizer"],
            lr=c["lr"],
            momentum=c["momentum"],
            warmup_steps=c["warmup_steps"],
            clip_grad_norm=c["clip_grad_norm"],
            epochs=c["epochs"],
            batch_size=c["batch_size"],
            seed=self.seed,
            progress=False,
            callbacks=[tick],
        )
        self.progress.value = steps
        self.history = history
        dead = [layer.dead_fraction for layer in scan(model, data.X_train).layers]
        verdict = (
            "meets the bar" if max(dead) <= DEAD_LIMIT and history.final_test_accuracy >= ACCURACY_BAR else "not yet"
        )
        if history.diverged:  # the weights are inf/nan: the bars below mean nothing
            verdict = f"the loss diverged at step {len(history.steps)}"
        self._ax.clear()
        plot_layer_dead(
            dead,
            ax=self._ax,
            title=f"seed {self.seed}, {c['epochs']} epochs: test accuracy {100 * history.final_test_accuracy:.1f}% — {verdict}",
        )
        self.image.value = figure_to_png(self._figure)
        self.last_update_ms = (time.perf_counter() - start) * 1000


def capstone_explorer(config=None, seed=0, epochs=10):
    """Build the explorer of notebook 08 (see `CapstoneExplorer`)."""
    return CapstoneExplorer(config, seed, epochs)
