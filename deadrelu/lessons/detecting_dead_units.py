"""Notebook 03 (detecting_dead_units): which units of a layer are dead or τ-dormant.

`unit_states` sorts a layer's units into dead, τ-dormant and active; `plot_dormant_scores`
draws its ReDo scores, one bar per unit, with the threshold τ; `monitor_dashboard` wraps
them in the notebook's dashboard: pick what the model was measured on, the layer, τ and the
order of the units. Scores and firing rates come from a `monitor.Report`: moving τ only
moves the threshold, nothing is measured again.
"""

from matplotlib.lines import Line2D
from torch import nn
import ipywidgets as widgets
import numpy as np

from ..figures import Choice, Explorer, axes_or_new
from ..monitor import Report, check_tau, scan


COLORS = {"dead": "#c0392b", "dormant": "#e69f00", "active": "#4c72b0"}


LINEAR_BELOW = 0.01  # the y axis is linear on [0, 0.01] and logarithmic above, so 0 and τ both show


def unit_states(layer, tau):
    """Per unit: 'dead', 'dormant' (τ-dormant but not dead) or 'active', as a list of str.

    Dead is the layer's own criterion (never > 0 for ReLU layers, τ-dormant for signed
    activations, see monitor.py); τ-dormant is s_i <= tau.
    """
    tau = check_tau(tau)
    scores = layer.dormant_score
    dead = layer.dead_mask_at(tau)
    dormant = (scores <= tau) & ~dead
    return ["dead" if d else "dormant" if m else "active" for d, m in zip(dead.tolist(), dormant.tolist())]


def plot_dormant_scores(layer, tau=None, sort=True, ax=None, label=None, legend=True):
    """One bar per unit of `layer` (a `monitor.LayerStats`): its ReDo score s_i, coloured by
    state (dead / τ-dormant / active), with the threshold τ as a dashed line.

    `tau` defaults to the τ the layer was measured with; `sort=True` orders the units by
    score (largest first), so the dead and dormant ones gather on the right. The y axis is
    linear near 0 and logarithmic above, so that a score of 0 and τ = 0.025 both show.
    `label` names the layer in the title (default: its module name); `legend=False` leaves
    out the colour key (the dashboard shows it as text, which redraws faster).
    """
    tau = layer.tau if tau is None else check_tau(tau)
    fig, ax = axes_or_new(ax, (8, 3.4))
    states = unit_states(layer, tau)
    scores = layer.dormant_score.numpy()
    order = np.argsort(-scores, kind="stable") if sort else np.arange(len(scores))
    x = np.arange(len(scores))
    colors = [COLORS[states[i]] for i in order]
    # one LineCollection instead of one Rectangle per unit: redraws stay fast for wide layers
    ax.vlines(x, 0, scores[order], colors=colors, linewidth=max(1.0, 300 / max(len(scores), 1)))
    dead_x = [position for position, i in enumerate(order) if states[i] == "dead"]
    ax.plot(dead_x, [0] * len(dead_x), "x", color=COLORS["dead"], markersize=4, clip_on=False)
    ax.axhline(tau, color="0.2", ls="--", lw=1)
    ax.set_yscale("symlog", linthresh=LINEAR_BELOW)
    top = max(float(scores.max()) if len(scores) else 1.0, tau, 1.0)
    ax.set_ylim(0, top * 1.6)
    # fixed ticks: symlog's automatic (minor) ticks cost about a third of a redraw
    ax.set_yticks([0, 0.01, 0.1, 1] + [10.0**k for k in range(1, int(np.log10(top * 1.6)) + 1)], minor=False)
    ax.set_yticks([], minor=True)
    ax.set_yticklabels([f"{t:g}" for t in ax.get_yticks()])
    ax.set_xlim(-1, len(scores))
    ax.locator_params(axis="x", nbins=5, integer=True)  # fewer tick labels: faster redraws in the dashboard
    counts = {state: states.count(state) for state in COLORS}
    dead_label = "dead (never > 0)" if layer.never_negative else "dead (τ-dormant, signed activation)"
    handles = [
        Line2D([], [], color=COLORS["dead"], lw=4, label=f"{dead_label}: {counts['dead']}"),
        Line2D([], [], color=COLORS["dormant"], lw=4, label=f"τ-dormant, not dead: {counts['dormant']}"),
        Line2D([], [], color=COLORS["active"], lw=4, label=f"active: {counts['active']}"),
        Line2D([], [], color="0.2", ls="--", label=f"τ = {tau:g}"),
    ]
    if legend:
        ax.legend(handles=handles, fontsize=8, loc="upper right", framealpha=0.9)
    ax.set_xlabel("unit, sorted by score" if sort else "unit index")
    ax.set_ylabel("dormant score s_i")
    dormant_total = counts["dead"] + counts["dormant"]
    label = f"Layer '{layer.name}'" if label is None else label
    ax.set_title(
        f"{label} ({layer.activation}, {layer.units} units): {counts['dead']} dead, "
        f"{dormant_total} τ-dormant at τ = {tau:g}"
    )
    return fig


def _as_reports(source, data, tau):
    """{label: Report} from a Report, a dict of Reports, or a model with data to scan."""
    if isinstance(source, Report):
        return {"data": source}
    if isinstance(source, dict) and source and all(isinstance(r, Report) for r in source.values()):
        return dict(source)
    if isinstance(source, nn.Module):
        if data is None:
            raise ValueError(
                "give the data to measure on: monitor_dashboard(model, X) or monitor_dashboard(model, {'name': X, ...})"
            )
        datasets = data if isinstance(data, dict) else {"data": data}
        return {label: scan(source, X, tau=tau) for label, X in datasets.items()}
    raise TypeError(
        "monitor_dashboard takes a Report (from scan or DeadUnitMonitor.report()), a dict {label: Report}, "
        f"or a model with data; got {type(source).__name__}"
    )


class MonitorDashboard(Explorer):
    """Pick what the model was measured on, a layer and τ; see which units are dead or dormant.

    Controls: `source` (dropdown of the reports given), `layer` (dropdown), `tau` (slider) and
    `sort` (checkbox). `summary` lists the counts and the dead units; `image` holds the PNG of
    the figure; `last_update_ms` how long the last redraw took.
    """

    def __init__(self, reports, tau=0.1, layer=None):
        if not reports:
            raise ValueError("no reports to show")
        self.reports = dict(reports)
        first = next(iter(self.reports.values()))
        names = [stats.name for stats in first.layers]
        if layer is None:
            layer = names[0]
        if layer not in names:
            raise ValueError(f"no layer {layer!r}; layers: {names}")
        # hidden layers numbered by position, as in the course's tables: "hidden 2 ('3')"
        self._labels = {name: f"hidden {i} ('{name}')" for i, name in enumerate(names, start=1)}
        self.source = Choice(list(self.reports), description="measured on")
        self.source.layout.display = None if len(self.reports) > 1 else "none"
        self.layer = Choice([(self._labels[n], n) for n in names], value=layer, description="layer")
        self.tau = widgets.FloatSlider(
            value=check_tau(tau),
            min=0.0,
            max=1.0,
            step=0.005,
            readout_format=".3f",
            description="τ",
            continuous_update=True,
        )
        self.sort = widgets.Checkbox(value=True, description="sort units by score", indent=False)
        self._key = (
            " ".join(
                f"<span style='color:{COLORS[state]}'>&#9632;</span> {text}"
                for state, text in (
                    ("dead", "dead (never &gt; 0; crosses at 0)"),
                    ("dormant", "τ-dormant, not dead"),
                    ("active", "active"),
                )
            )
            + " &nbsp;- - - τ"
        )
        Explorer.__init__(
            self,
            [[self.source, self.layer], [self.tau, self.sort]],
            figsize=(8, 3.4),
            margins={"left": 0.08, "right": 0.99, "bottom": 0.14, "top": 0.9},
            summary=True,
        )

    @property
    def current_layer(self):
        """The `LayerStats` on show."""
        return self.reports[self.source.value][self.layer.value]

    def draw(self):
        layer, tau = self.current_layer, self.tau.value
        plot_dormant_scores(
            layer, tau=tau, sort=self.sort.value, ax=self.ax, label=self._labels[layer.name].capitalize(), legend=False
        )
        states = unit_states(layer, tau)
        dead = [i for i, s in enumerate(states) if s == "dead"]
        dormant = [i for i, s in enumerate(states) if s == "dormant"]
        shown = ", ".join(map(str, dead[:24])) + (" ..." if len(dead) > 24 else "")
        self.summary.value = (
            f"<b>{self.source.value}</b>, <b>{self._labels[layer.name]}</b>: {layer.units} units, "
            f"{layer.observations:,} outputs seen per unit. "
            f"<b>{len(dead)}</b> dead ({100 * len(dead) / layer.units:.1f}%), "
            f"<b>{len(dead) + len(dormant)}</b> τ-dormant at τ = {tau:g} "
            f"({100 * (len(dead) + len(dormant)) / layer.units:.1f}%). "
            f"Median firing rate {layer.firing_rate.median().item():.3f}."
            f"<br>Dead units: {shown or 'none'}"
            f"<br>{self._key}"
        )


def monitor_dashboard(source, data=None, tau=0.1, layer=None):
    """Build the monitor dashboard of notebook 03 (see `MonitorDashboard`).

    `source` is a `Report` (from `scan` or `DeadUnitMonitor.report()`), a dict {label: Report},
    or a model; for a model, `data` is an input tensor or a dict {label: tensor} and each is
    scanned in eval mode. `tau` is the threshold shown first; `layer` the layer shown first.
    """
    return MonitorDashboard(_as_reports(source, data, tau), tau=tau, layer=layer)
