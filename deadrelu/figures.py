"""What every plot and explorer shares: axes set-up, PNG rendering, the explorer base class.

- `axes_or_new(ax, figsize)` and `panels_or_new(axes, count, figsize)`: a plot draws on the
  axes it is given, or on a new figure of its own; both return (figure, axes).
- `figure_to_png(fig)`: the PNG bytes an explorer shows.
- `Choice`: a dropdown whose every option has a visible name, None included.
- `Explorer`: the skeleton of the course's explorers. A subclass makes its controls, passes
  them in rows to `Explorer.__init__` and writes `draw()` (and, if it trains a model,
  `retrain()`); the figure, the image, the timing, the progress bar and the wiring of the
  controls are done here.
"""

import base64
import io
import time

from matplotlib.figure import Figure
from traitlets import observe, validate
import ipywidgets as widgets
import matplotlib.pyplot as plt


def axes_or_new(ax, figsize):
    """(figure, ax): `ax` and its figure, or a new figure of `figsize` with one axes (constrained
    layout) when `ax` is None."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def panels_or_new(axes, count, figsize, what="panels"):
    """(figure, axes): `axes` (a sequence of `count` axes, side by side) and their figure, or a new
    figure of `figsize` with `count` axes in a row when `axes` is None. `what` names the
    panels in the error for a wrong number of axes, e.g. "(function, gradient)"."""
    if axes is None:
        fig, axes = plt.subplots(1, count, figsize=figsize, layout="constrained")
        return fig, axes
    if len(axes) != count:
        wanted = "a pair" if count == 2 else f"{count} axes"
        raise ValueError(f"axes must be {wanted} {what}, got {len(axes)} axes")
    return axes[0].figure, axes


def figure_to_png(fig, dpi=80):
    """Render a matplotlib figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


_FIRST = object()  # Choice's default value: the first option


class Choice(widgets.Dropdown):
    """A dropdown of (label, value) pairs in which None is a value like any other.

    ipywidgets reads a `value` of None as "nothing selected" and shows an empty box; a Choice
    keeps a None option ("none", "off", "the scheme's own") selected and shows its label.
    Every option needs a label that says what it is: a bare None, or an empty label, is refused.
    """

    def __init__(self, options, value=_FIRST, **kwargs):
        options = list(options)
        for option in options:
            label = option[0] if isinstance(option, tuple) else option
            if option is None or not str(label).strip():
                raise ValueError(
                    f"every option needs a visible label: give None as a (label, None) pair such as "
                    f"('none', None), got {option!r} among {options}"
                )
        super().__init__(options=options, **kwargs)
        if value is not _FIRST:
            self.value = value
        if self.index is None and options:  # a None value at construction: select its option
            self.index = self._options_values.index(None) if None in self._options_values else 0

    @validate("value")
    def _validate_value(self, proposal):
        if proposal.value not in self._options_values:
            raise ValueError(f"{proposal.value!r} is not one of the options {list(self._options_values)}")
        return self._options_values[self._options_values.index(proposal.value)]

    @observe("value")
    def _propagate_value(self, change):
        index = self._options_values.index(change.new)
        if self.index != index:
            self.index = index


def learning_rate_slider(value, exponents, step=0.1, description="lr"):
    """A slider over learning rates from 10**exponents[0] to 10**exponents[1] (log scale, moved in
    steps of `step` in the exponent) that acts when released: an explorer retrains on it."""
    low, high = exponents
    return widgets.FloatLogSlider(
        value=value,
        base=10,
        min=low,
        max=high,
        step=step,
        description=description,
        continuous_update=False,
        readout_format=".3g",
    )


def remove_plotted(ax):
    """Remove what a plot drew on `ax` (lines, collections, patches, texts, legend) but keep the
    axes' tick objects: `ax.clear()` throws them away, and building them again costs about a
    third of an explorer's redraw. A plot drawn next must set its own scale, limits and labels."""
    for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.relim()  # forget the removed artists' data limits, so that the new plot sets its own view
    ax.autoscale()


def show_full_label(control):
    """Give a control's description the room it needs, so its whole label shows (ipywidgets
    cuts descriptions at a fixed width by default)."""
    if getattr(control, "description", "") and hasattr(control, "style"):
        control.style.description_width = "initial"
    return control


class Explorer(widgets.VBox):
    """One matplotlib Figure (not pyplot's: nothing is shown twice or kept alive), shown as a
    PNG in `image`, redrawn whenever a control changes.

    A subclass makes its controls and calls `Explorer.__init__(self, rows, ...)` (explicitly,
    not `super().__init__`: lesson modules may be reloaded), where `rows` is a list of rows of
    controls. It writes `draw()`, which draws the current setting on `self.axes` (cleared
    first by `clear()`); an explorer that trains a model (`trains=True`) also writes
    `retrain()`, which trains it and may use `self.start_progress(steps)` and the callback
    `self.tick` to move the progress bar. `update()` does all of it, timed:
    `last_update_ms` holds how long the last update took.

    Layout: the rows of controls, the progress bar (when it trains), `summary` (HTML, when
    asked for) and the image. Every control shows its full label.
    """

    keep_ticks = False  # True: clear only what the last draw plotted (`remove_plotted`): faster redraws

    def __init__(self, rows, figsize, panels=1, margins=None, summary=False, trains=False):
        rows = [list(row) for row in rows]
        self.controls = [control for row in rows for control in row]
        self.image = widgets.Image(format="png")
        self.summary = widgets.HTML() if summary else None
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="training") if trains else None
        self.last_update_ms = float("nan")
        # A fixed layout (`margins`, for subplots_adjust): a constrained layout draws the figure twice.
        self.figure = Figure(figsize=figsize)
        self.axes = list(self.figure.subplots(1, panels)) if panels > 1 else [self.figure.subplots()]
        self.ax = self.axes[0]
        if margins:
            self.figure.subplots_adjust(**margins)
        for control in self.controls:
            show_full_label(control)
            control.observe(self._on_change, names="value")
        if self.progress is not None:
            show_full_label(self.progress)
        children = [widgets.HBox(row) for row in rows] + [self.progress, self.summary, self.image]
        widgets.VBox.__init__(self, [child for child in children if child is not None])
        self.update()

    def _on_change(self, change):
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        """The widget, and its current figure as a PNG for a viewer without a live kernel (the
        course website, a notebook viewer): JupyterLab shows the widget, the others the picture."""
        bundle = widgets.VBox._repr_mimebundle_(self, **kwargs)
        if bundle is not None and self.image.value:
            bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return bundle

    def update(self):
        """Retrain (an explorer that trains), clear the axes, draw, show the PNG; timed."""
        start = time.perf_counter()
        if self.progress is not None:
            self.progress.value = 0
            self.retrain()
            self.progress.value = self.progress.max
        self.clear()
        self.draw()
        self.image.value = figure_to_png(self.figure)
        self.last_update_ms = (time.perf_counter() - start) * 1000

    def start_progress(self, steps):
        """The progress bar runs from 0 to `steps` (training steps) in the next retrain."""
        self.progress.max, self.progress.value = max(1, int(steps)), 0

    def tick(self, step, model, optimizer):
        """A `training.train` callback: moves the progress bar every 10 steps."""
        if step % 10 == 0:
            self.progress.value = min(step, self.progress.max)

    def clear(self):
        """Clear the axes before `draw()` (all of it, or with `keep_ticks` only what was plotted)."""
        for ax in self.axes:
            if self.keep_ticks:
                remove_plotted(ax)
            else:
                ax.clear()

    def retrain(self):
        raise NotImplementedError(f"{type(self).__name__} trains (trains=True): write its retrain()")

    def draw(self):
        raise NotImplementedError(f"{type(self).__name__} must write draw(): draw the current setting on self.axes")
