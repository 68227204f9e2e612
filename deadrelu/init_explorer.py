"""Explorer of notebook 05_initialization: init scheme x depth -> signal scale and dead units at init.

A thin ipywidgets wrapper over `init_plots.depth_profile` and `init_plots.plot_depth_profiles`,
drawn like the other explorers (`widgets.py`): one matplotlib Figure that pyplot does not
know about, with a fixed layout, shown as a PNG in an `ipywidgets.Image`.
"""

import time

import ipywidgets as widgets
from matplotlib.figure import Figure

from .init_plots import depth_profile, plot_depth_profiles
from .initialization import INIT_SCHEMES
from .widgets import figure_to_png

BIASES = {"the scheme's own": None, "0": 0.0, "0.01": 0.01, "-0.1": -0.1}
WIDTHS = (4, 8, 16, 32, 64, 128)  # wider nets take longer to measure than an update may
MAX_DEPTH = 50


class InitExplorer(widgets.VBox):
    """Pick an init scheme, a depth, a width and the biases; see, per hidden layer, the std of
    the pre-activations (log scale) and the share of units dead at init, on 256 random
    zero-mean inputs.

    The net of the deepest setting is measured once per (scheme, width, bias) and cached:
    a shallower net with the same seed is the first layers of the deeper one
    (`DepthProfile.truncated`), so moving the depth slider only redraws.
    `last_update_ms` holds how long the last update took.
    """

    def __init__(self, scheme="default", depth=30, width=128, bias=None, seed=0, n_inputs=256):
        if scheme not in INIT_SCHEMES:
            raise ValueError(f"unknown init scheme {scheme!r}; choose one of {list(INIT_SCHEMES)}")
        if width not in WIDTHS:
            raise ValueError(f"width must be one of {list(WIDTHS)}, got {width!r}")
        if bias not in BIASES.values():
            raise ValueError(f"bias must be one of {list(BIASES.values())}, got {bias!r}")
        self.seed, self.n_inputs = seed, n_inputs
        self.scheme = widgets.Dropdown(options=list(INIT_SCHEMES), value=scheme, description="init")
        self.depth = widgets.IntSlider(value=depth, min=1, max=MAX_DEPTH, description="depth")
        self.width = widgets.SelectionSlider(options=list(WIDTHS), value=width, description="width")
        self.bias = widgets.Dropdown(options=list(BIASES.items()), value=bias, description="biases")
        self.summary = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.last_update_ms = float("nan")
        self._profiles = {}
        self._figure = Figure(figsize=(10, 3.5))  # a fixed layout: constrained layout draws twice
        self._axes = self._figure.subplots(1, 2)
        self._figure.subplots_adjust(left=0.075, right=0.99, bottom=0.15, top=0.9, wspace=0.25)
        for control in (self.scheme, self.depth, self.width, self.bias):
            control.observe(lambda change: self.redraw(), names="value")
        super().__init__(
            [widgets.HBox([self.scheme, self.depth]), widgets.HBox([self.width, self.bias]), self.summary, self.image]
        )
        self.redraw()

    def profile(self):
        """The `DepthProfile` of the current setting (measured at MAX_DEPTH once, then cut)."""
        key = (self.scheme.value, self.width.value, self.bias.value)
        if key not in self._profiles:
            self._profiles[key] = depth_profile(
                key[0], depth=MAX_DEPTH, width=key[1], n_inputs=self.n_inputs, bias=key[2], seed=self.seed
            )
        return self._profiles[key].truncated(self.depth.value)

    def redraw(self):
        start = time.perf_counter()
        profile = self.profile()
        for ax in self._axes:
            _remove_data(ax)
        plot_depth_profiles(profile, axes=self._axes)
        self._axes[0].set_title(f"{profile.label}, width {profile.width}: pre-activation std")
        self.image.value = figure_to_png(self._figure)
        ratio = profile.ratio_per_layer()
        ratio_text = f"{ratio:.3f}" if ratio == ratio else "n/a"
        all_dead = sum(d == 1.0 for d in profile.dead_fraction)
        self.summary.value = (
            f"Last hidden layer ({profile.depth}): std {profile.std[-1]:.3g} (input {profile.input_std:.3g}), "
            f"{100 * profile.dead_fraction[-1]:.0f}% of its units dead at init. "
            f"Mean std ratio per layer: <b>{ratio_text}</b>. Layers with every unit dead: {all_dead}."
        )
        self.last_update_ms = (time.perf_counter() - start) * 1000


def _remove_data(ax):
    """Remove what a plot drew, but keep the axes' tick objects: `ax.clear()` would throw them
    away, and building them again costs about a third of an update."""
    for artist in [*ax.lines, *ax.collections, *ax.texts]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.relim()  # forget the removed lines' data limits, so that the new plot sets its own view
    ax.autoscale()


def init_explorer(scheme="default", depth=30, width=128, bias=None, seed=0):
    """Build the initialisation explorer of notebook 05 (see `InitExplorer`)."""
    return InitExplorer(scheme, depth, width, bias, seed)
