"""Dead and dormant units over training steps (notebook 03; used by 02 and 04–08).

A `DeadUnitTracker` keeps a `DeadUnitMonitor` on the model while it trains and, every
`every` steps, takes a snapshot of each layer: dead %, τ-dormant %, every unit's firing
rate and a histogram of the activation values. Two ways to measure, by `probe`:

* `probe=None` (default, cheap): the statistics of the training batches of the last
  `every` steps. A unit counts as dead when it never fired on any of those batches —
  a window of `every * batch_size` examples, seen while the weights were moving.
* `probe=X` (exact, costs a forward pass over X per snapshot): a `scan` of the model on
  the fixed inputs X at that step, in eval mode — dead on X, as defined in monitor.py.
"""

from contextlib import nullcontext
from dataclasses import dataclass, field

import torch

from .monitor import DeadUnitMonitor, check_tau, scan


@dataclass
class LayerTrack:
    """One layer's history: a value per snapshot (firing rates: snapshots x units)."""

    name: str
    dead_fraction: list = field(default_factory=list)
    dormant_fraction: list = field(default_factory=list)
    firing_rates: list = field(default_factory=list)
    histograms: list = field(default_factory=list)

    @property
    def firing_rate_matrix(self):
        """Units x snapshots tensor of firing rates (the heatmap's data)."""
        return torch.stack(self.firing_rates, dim=1)

    @property
    def histogram_matrix(self):
        """Bins x snapshots tensor of activation counts (the colorful dimension's data)."""
        return torch.stack(self.histograms, dim=1)


@dataclass
class TrackingHistory:
    steps: list  # training step of each snapshot (1 = after the first step)
    layers: dict  # layer name -> LayerTrack, in forward order
    tau: float
    histogram_range: tuple
    source: str  # "training batches" or "probe of N examples"

    def __getitem__(self, name):
        return self.layers[name]


class DeadUnitTracker:
    """Record per-layer dead and τ-dormant shares every `every` training steps.

    Use it as a context manager around training and call `step()` after every optimizer
    step (the course's `train(..., tracker=...)` does both):

    >>> tracker = DeadUnitTracker(model, every=10)
    >>> with tracker:
    ...     for step, (xb, yb) in enumerate(batches):
    ...         ...; optimizer.step(); tracker.step()
    >>> history = tracker.history
    """

    def __init__(
        self,
        model,
        tau=0.1,
        every=10,
        probe=None,
        modules=None,
        unit_dim=None,
        histogram_bins=40,
        histogram_range=(-1.0, 6.0),
    ):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int (steps between snapshots), got {every!r}")
        self.model, self.tau, self.every, self.probe = model, check_tau(tau), every, probe
        self.modules, self.unit_dim = modules, unit_dim
        self.histogram = (int(histogram_bins), float(histogram_range[0]), float(histogram_range[1]))
        self.steps_done = 0
        self.history = TrackingHistory(
            steps=[],
            layers={},
            tau=self.tau,
            histogram_range=tuple(histogram_range),
            source="training batches" if probe is None else f"probe of {len(probe)} examples",
        )
        self.monitor = None

    def __enter__(self):
        if self.probe is None:
            self.monitor = DeadUnitMonitor(self.model, self.tau, self.modules, self.unit_dim, histogram=self.histogram)
        return self

    def __exit__(self, *exc):
        if self.monitor is not None:
            self.monitor.remove()
        return False

    def paused(self):
        """Context in which forward passes are not counted (evaluation during training)."""
        return nullcontext() if self.monitor is None else self.monitor.paused()

    def step(self):
        """Call after each optimizer step; takes a snapshot every `every` steps."""
        self.steps_done += 1
        if self.steps_done % self.every == 0:
            self.snapshot()

    def snapshot(self):
        if self.probe is None:
            if self.monitor is None:
                raise RuntimeError("use the tracker as a context manager (`with tracker:`) around training")
            report = self.monitor.report()
            self.monitor.reset()
        else:
            report = scan(self.model, self.probe, self.tau, self.modules, self.unit_dim, histogram=self.histogram)
        self.history.steps.append(self.steps_done)
        for layer in report.layers:
            track = self.history.layers.setdefault(layer.name, LayerTrack(layer.name))
            track.dead_fraction.append(layer.dead_fraction)
            track.dormant_fraction.append(layer.dormant_fraction)
            track.firing_rates.append(layer.firing_rate)
            track.histograms.append(layer.histogram)
