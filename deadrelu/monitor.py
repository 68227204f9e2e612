"""Count dead and dormant units in any PyTorch model with forward hooks.

Introduced in notebook 03_detecting_dead_units; every later notebook measures with it.

Definitions (one place, used everywhere in the course):

* **firing rate** of a unit: the share of its outputs that are > 0 over the data seen.
  A unit of an (N, F) layer has one output per example; a channel of an (N, C, H, W)
  layer has one per example and position; a feature of an (N, T, F) layer one per
  example and time step.
* **dead** (activations whose output is never negative: ReLU, ReLU6, ...): the unit's
  output is never > 0 over every example seen, i.e. firing rate 0 — it is exactly 0 on
  the whole data set. Dead on one batch is not dead on the data set: the monitor keeps
  counting across every batch it sees. For activations that can be negative (Leaky ReLU,
  ELU, GELU, ...), "never > 0" does not stop the gradient, so for those layers `dead`
  counts τ-dormant units instead, and the report says so.
* **τ-dormant** (Sokar, Agarwal, Castro, Evci 2023, "The Dormant Neuron Phenomenon in
  Deep RL"): with s_i = mean|h_i| / ((1/H) Σ_k mean|h_k|) over the H units of the layer,
  unit i is τ-dormant when s_i <= τ. τ = 0 gives the dead units; the paper uses 0.025
  and 0.1.

Memory is bounded by a constant per watched layer, whatever the number of examples: running
totals per unit (O(units)) and a scratch buffer of at most `_Accumulator.BUFFER_ELEMENTS`
numbers where the last few batches wait to be counted together.
"""

import difflib
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from .activations import TORCH_ACTIVATIONS
from .tables import Table

#: Activation modules watched by default: every elementwise activation of torch.nn
#: (`activations.TORCH_ACTIVATIONS`, the one list of activation types).
ACTIVATION_MODULES = tuple(spec.module for spec in TORCH_ACTIVATIONS)
#: Activations that output exactly 0 for every negative input: "never > 0" means no gradient.
ZERO_FOR_NEGATIVE_INPUTS = tuple(spec.module for spec in TORCH_ACTIVATIONS if spec.zero_for_negative_inputs)
#: Activations whose output is never negative: for them dead means never > 0 (else τ-dormant).
NEVER_NEGATIVE = tuple(spec.module for spec in TORCH_ACTIVATIONS if spec.never_negative)

DEFAULT_UNIT_DIMS = {2: 1, 3: 2, 4: 1}  # (N, F) -> F, (N, T, F) -> F, (N, C, H, W) -> C


def check_tau(tau):
    if not isinstance(tau, (int, float)) or isinstance(tau, bool) or not 0.0 <= tau <= 1.0:
        raise ValueError(f"tau must be a number in [0, 1] (the paper uses 0.025 and 0.1), got {tau!r}")
    return float(tau)


def dormant_scores(mean_abs):
    """ReDo's score s_i = mean|h_i| / layer average of mean|h_k| (0 for an all-zero layer)."""
    return mean_abs / (mean_abs.mean() + 1e-12)


@dataclass
class LayerStats:
    """Dead and dormant statistics of one activation layer over the data seen.

    `dead_mask` holds the one decision per unit, made where the statistics are made
    (`DeadUnitMonitor.report`): never > 0 for activations whose output is never negative
    (`never_negative`), τ-dormant for the others. `dead`, `dead_units` and `dead_fraction`
    are read from it.
    """

    name: str
    activation: str
    units: int
    dormant: int
    firing_rate: torch.Tensor  # per unit: share of outputs > 0
    dormant_score: torch.Tensor  # per unit: ReDo's s_i
    mean_abs: torch.Tensor  # per unit: mean |h_i|
    observations: int  # outputs seen per unit
    never_negative: bool  # the activation's output is never negative: dead = never > 0 (else τ-dormant)
    tau: float
    dead_mask: torch.Tensor  # per unit: True where the unit counts as dead
    histogram: torch.Tensor | None = None  # counts of activation values, when asked for

    @property
    def dead(self):
        """Number of units counted as dead."""
        return int(self.dead_mask.sum())

    @property
    def dead_fraction(self):
        return self.dead / self.units

    @property
    def dormant_fraction(self):
        return self.dormant / self.units

    @property
    def dead_units(self):
        """Indices of the units counted as dead."""
        return self.dead_mask.nonzero().flatten()

    @property
    def dormant_units(self):
        return (self.dormant_score <= self.tau).nonzero().flatten()

    @property
    def dead_criterion(self):
        """What dead means in this layer, in words (a label for tables and plots)."""
        return "never > 0" if self.never_negative else "τ-dormant (signed activation)"

    def dead_mask_at(self, tau):
        """`dead_mask` as it would be with threshold `tau`: the same for never-negative
        activations (never > 0 does not depend on τ), s_i <= tau for signed ones."""
        tau = check_tau(tau)
        if self.never_negative or tau == self.tau:
            return self.dead_mask
        return self.dormant_score <= tau


@dataclass
class Report:
    """What a monitor saw: one `LayerStats` per activation layer, in forward order."""

    layers: list
    tau: float
    not_called: list = field(default_factory=list)

    def __getitem__(self, name):
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer {name!r} in the report; layers: {[layer.name for layer in self.layers]}")

    @property
    def units(self):
        return sum(layer.units for layer in self.layers)

    @property
    def dead(self):
        return sum(layer.dead for layer in self.layers)

    @property
    def dormant(self):
        return sum(layer.dormant for layer in self.layers)

    def table(self):
        rows = []
        for layer in self.layers:
            rows.append(
                {
                    "layer": layer.name,
                    "activation": layer.activation,
                    "units": layer.units,
                    "dead": layer.dead,
                    "dead %": f"{100 * layer.dead_fraction:.1f}",
                    f"dormant (τ={self.tau:g})": layer.dormant,
                    "dormant %": f"{100 * layer.dormant_fraction:.1f}",
                    "median firing rate": f"{layer.firing_rate.median().item():.3f}",
                    "outputs seen per unit": layer.observations,
                }
            )
        return Table(rows, title=f"Dead and τ-dormant units (τ = {self.tau:g})")

    def notes(self):
        notes = ["dead = output never > 0 on any example seen; τ-dormant per Sokar et al. 2023."]
        signed = [layer.name for layer in self.layers if not layer.never_negative]
        if signed:
            notes.append(f"{', '.join(signed)}: activation can be negative, so 'dead' counts τ-dormant units.")
        if self.not_called:
            notes.append(f"watched but never called: {', '.join(self.not_called)}.")
        return notes

    def __repr__(self):
        return "\n".join([repr(self.table()), *self.notes()])

    def _repr_html_(self):
        notes = "".join(f"<br><small>{note}</small>" for note in self.notes())
        return self.table()._repr_html_() + notes


class _Accumulator:
    """Running per-unit counts of one (module, call) pair, in memory bounded by a constant.

    The hook runs on every training step, so it does as little as it can. A small output (at
    most `BUFFER_ELEMENTS / WAITING_BATCHES` numbers, an MLP layer's) is copied into a
    preallocated buffer: one tensor op per step and no reduction; when the buffer is full, and
    before reading, the waiting batches are counted together. A larger output (or a batch of
    another shape, such as the short last one of an epoch) is reduced at once, its per-unit sums
    waiting in a short list (at most `FOLD_EVERY`). Either way the sums are taken batch by batch
    and totalled in float64, so the result does not depend on the path; `reset()` keeps the
    buffers for the next batches.

    For never-negative activations h.sign() is 1 where h > 0 and 0 where h == 0, and |h| = h:
    the cheapest ops that give both counts (bool reductions such as (h > 0).sum() are several
    times slower on CPU).
    """

    BUFFER_ELEMENTS = 2**18  # most numbers a layer's buffer holds (1 MiB in float32), with one PyTorch thread
    # With several threads, at most PyTorch's grain size: counting the buffer then stays on the
    # calling thread instead of waking the thread pool, which on a busy machine can wait milliseconds.
    BUFFER_ELEMENTS_THREADED = 2**15
    WAITING_BATCHES = 4  # buffer an output only when this many fit: for larger ones a copy costs more than it saves
    FOLD_EVERY = 64  # per-batch sums waiting in the list before they are totalled

    def __init__(self, output, unit_dim, never_negative, histogram=None):
        self.shape = output.shape
        self._dtype_seen = output.dtype
        self.unit_dim = unit_dim
        self.units = output.shape[unit_dim]
        self.dims = tuple(d for d in range(output.dim()) if d != unit_dim)
        self.never_negative = never_negative
        self.histogram_range = histogram  # (bins, min, max) or None
        self.histogram = None
        self.totals = torch.zeros(2, self.units, dtype=torch.float64, device=output.device)
        self._positive, self._abs_sum = self.totals  # views: outputs > 0, sum of |output|, per unit
        self._pending_positive, self._pending_abs = [], []
        self.observations = 0
        self._per_batch = output.numel() // max(self.units, 1)
        elements = self.BUFFER_ELEMENTS if torch.get_num_threads() == 1 else self.BUFFER_ELEMENTS_THREADED
        capacity = elements // max(output.numel(), 1)
        if capacity >= self.WAITING_BATCHES:
            dtype = torch.promote_types(output.dtype, torch.float32)  # half precision waits as float32
            self._buffer = torch.empty((capacity, *output.shape), dtype=dtype, device=output.device)
            self._slots = self._buffer.unbind(0)  # one view per batch, made once
        else:
            self._buffer, self._slots = None, ()
        self._waiting = 0

    def fits(self, output):
        """Whether this accumulator can count `output` (same shape, dtype and device as its first)."""
        return output.shape == self.shape and output.dtype == self._dtype_seen and output.device == self.totals.device

    def clear(self):
        """Forget every count (the buffer stays, for the next batches)."""
        self.totals.zero_()
        self._pending_positive, self._pending_abs = [], []
        self._waiting = 0
        self.observations = 0
        self.histogram = None

    def add(self, output):
        """Count one batch of this layer's outputs (called by the hook on every forward pass)."""
        if output.shape == self.shape and self._slots:
            self._slots[self._waiting].copy_(output.detach())
            self._waiting += 1
            self.observations += self._per_batch
            if self._waiting == len(self._slots):
                self._count_waiting()
            return
        shape = output.shape
        if len(shape) != len(self.shape) or shape[self.unit_dim] != self.units:
            raise RuntimeError(
                f"this layer's output had shape {tuple(self.shape)} ({self.units} units) before and "
                f"{tuple(shape)} now; a monitor watches one model with fixed layer sizes: create a new "
                "DeadUnitMonitor (or call reset()) for another model"
            )
        output = output.detach()
        if output.dtype in (torch.float16, torch.bfloat16):
            output = output.float()  # half precision cannot count past 2048
        if self.never_negative:
            positive, absolute = output.sign(), output
        else:
            positive, absolute = output.sign().clamp_(min=0), output.abs()
        self._pending_positive.append(positive.sum(self.dims))
        self._pending_abs.append(absolute.sum(self.dims))
        self.observations += output.numel() // self.units
        if len(self._pending_positive) >= self.FOLD_EVERY:
            self.fold()
        if self.histogram_range is not None:
            self._add_histogram(output)

    def _count_waiting(self):
        """Count the batches waiting in the buffer, batch by batch, into the totals."""
        waiting = self._buffer if self._waiting == len(self._slots) else self._buffer[: self._waiting]
        self._waiting = 0
        if self.never_negative:
            positive, absolute = waiting.sign(), waiting
        else:
            positive, absolute = waiting.sign().clamp_(min=0), waiting.abs()
        within_batch = tuple(d + 1 for d in self.dims)
        # one sum per batch (batches x units), in the activations' dtype, then their total in float64
        self._positive += positive.sum(within_batch).sum(0, dtype=torch.float64)
        self._abs_sum += absolute.sum(within_batch).sum(0, dtype=torch.float64)
        if self.histogram_range is not None:
            self._add_histogram(waiting)

    def _add_histogram(self, values):
        bins, low, high = self.histogram_range
        counts = torch.histc(values.float(), bins=bins, min=low, max=high)
        self.histogram = counts if self.histogram is None else self.histogram + counts

    def fold(self):
        """Total every count waiting, in the buffer or in the list, into the float64 totals."""
        if self._waiting:
            self._count_waiting()
        if self._pending_positive:
            units = self.units
            self._positive += torch.cat([t.reshape(-1, units) for t in self._pending_positive]).sum(
                0, dtype=torch.float64
            )
            self._abs_sum += torch.cat([t.reshape(-1, units) for t in self._pending_abs]).sum(0, dtype=torch.float64)
            self._pending_positive, self._pending_abs = [], []

    def stored_elements(self):
        """Numbers held (for the memory test): the totals, the buffer and the sums waiting in the list."""
        buffered = 0 if self._buffer is None else self._buffer.numel()
        waiting = sum(t.numel() for t in self._pending_positive + self._pending_abs)
        return self.totals.numel() + buffered + waiting

    @property
    def positive(self):
        """Per unit: how many of its outputs were > 0 (float64)."""
        self.fold()
        return self._positive

    @property
    def abs_sum(self):
        """Per unit: the sum of |output| (float64)."""
        self.fold()
        return self._abs_sum


class DeadUnitMonitor:
    """Watch activation modules with forward hooks and count dead and τ-dormant units.

    >>> with DeadUnitMonitor(model, tau=0.1) as monitor:
    ...     for xb in batches:
    ...         model(xb)
    >>> report = monitor.report()

    `modules`: names (as in `model.named_modules()`) or module objects to watch; by default
    every module of a type in `ACTIVATION_MODULES`. A module called several times per forward
    pass (one `nn.ReLU()` shared by all layers) is reported once per call: `relu[0]`, `relu[1]`...
    Activations applied functionally (`F.relu` inside `forward`) have no module to hook: give
    the model `nn.ReLU` modules, or watch the modules whose outputs you want.

    `unit_dim`: the axis that indexes units. By default features for (N, F), the last axis for
    (N, T, F) and channels for (N, C, H, W); pass an int, or a dict {name: int}, for other
    layouts (a Conv1d's (N, C, L) output needs unit_dim=1).

    `histogram`: optional (bins, min, max); also accumulate a histogram of activation values
    per layer (for the "colorful dimension" plot).

    Hooks follow PyTorch's contract: they return None (the model's outputs are unchanged),
    their `RemovableHandle`s are kept, `remove()` is idempotent and the monitor is a context
    manager. Works in train and eval mode, under `torch.no_grad()`, with in-place ReLU and on
    any device (counts stay on the activations' device until `report()`).
    """

    def __init__(self, model, tau=0.1, modules=None, unit_dim=None, histogram=None):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.tau = check_tau(tau)
        self.unit_dim = unit_dim
        self.histogram = histogram
        self.watched = self._resolve(model, modules)  # name -> module, in registration order
        self._stats = {}  # (name, call index) -> _Accumulator, in first-seen (forward) order
        self._cleared = {}  # the accumulators of before the last reset(), emptied
        self._calls = {}  # name -> calls so far in the current forward pass
        self._calls_per_forward = {}  # name -> most calls seen in one forward pass
        self._paused = False
        self._handles = [model.register_forward_pre_hook(self._start_forward)]
        for name, module in self.watched.items():
            self._handles.append(module.register_forward_hook(self._make_hook(name)))

    @staticmethod
    def _resolve(model, modules):
        named = dict(model.named_modules())
        if modules is None:
            found = {n: m for n, m in named.items() if isinstance(m, ACTIVATION_MODULES) and n}
            if not found and isinstance(model, ACTIVATION_MODULES):
                found = {type(model).__name__.lower(): model}
            if not found:
                kinds = ", ".join(cls.__name__ for cls in ACTIVATION_MODULES[:8])
                raise ValueError(
                    f"no activation modules found in {type(model).__name__}: looked for torch.nn activation "
                    f"modules ({kinds}, ...). If its forward() calls F.relu or torch.relu, give it nn.ReLU "
                    "modules, or pass modules=[...] naming the modules to watch."
                )
            return found
        resolved = {}
        by_identity = {id(m): n for n, m in named.items()}
        for item in modules:
            if isinstance(item, str):
                if item not in named or not item:
                    close = difflib.get_close_matches(item, [n for n in named if n], n=3)
                    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
                    raise ValueError(f"no module named {item!r} in {type(model).__name__}.{hint}")
                resolved[item] = named[item]
            elif isinstance(item, nn.Module) and id(item) in by_identity:
                resolved[by_identity[id(item)] or type(item).__name__.lower()] = item
            else:
                raise ValueError(f"{item!r} is neither a module name nor a module of this model")
        if not resolved:
            raise ValueError("modules is empty: nothing to watch")
        return resolved

    def _start_forward(self, module, inputs):
        self._calls = {}
        return None

    def _unit_dim_for(self, name, output):
        if isinstance(self.unit_dim, int):
            dim = self.unit_dim
        elif isinstance(self.unit_dim, dict) and name in self.unit_dim:
            dim = self.unit_dim[name]
        elif output.dim() in DEFAULT_UNIT_DIMS:
            dim = DEFAULT_UNIT_DIMS[output.dim()]
        else:
            raise ValueError(
                f"layer {name!r} produced an output of shape {tuple(output.shape)} (rank {output.dim()}); the "
                "monitor knows rank 2 (N, F), 3 (N, T, F) and 4 (N, C, H, W). Pass unit_dim=<axis of the units> "
                f"(or unit_dim={{{name!r}: axis}})."
            )
        if not -output.dim() <= dim < output.dim():
            raise ValueError(
                f"unit_dim {dim} is out of range for layer {name!r} with output shape {tuple(output.shape)}"
            )
        return dim % output.dim()

    def _make_hook(self, name):
        # Runs on every forward pass of every watched module: kept lean on purpose.
        def hook(module, inputs, output):
            if self._paused or not isinstance(output, torch.Tensor):
                return None
            calls = self._calls
            call = calls.get(name, 0)
            calls[name] = call + 1
            accumulator = self._stats.get((name, call))
            if accumulator is None:
                accumulator = self._new_accumulator(name, call, output)
            accumulator.add(output)
            return None  # a returned value would replace the module's output

        return hook

    def _new_accumulator(self, name, call, output):
        self._calls_per_forward[name] = max(self._calls_per_forward.get(name, 0), call + 1)
        accumulator = self._cleared.pop((name, call), None)  # the one used before reset(), emptied
        if accumulator is None or not accumulator.fits(output):
            never_negative = isinstance(self.watched[name], NEVER_NEGATIVE)
            accumulator = _Accumulator(output, self._unit_dim_for(name, output), never_negative, self.histogram)
        self._stats[(name, call)] = accumulator
        return accumulator

    @contextmanager
    def paused(self):
        """Ignore forward passes inside this block (e.g. evaluation during training)."""
        previous, self._paused = self._paused, True
        try:
            yield self
        finally:
            self._paused = previous

    def reset(self):
        """Forget what was seen so far (the hooks stay)."""
        for accumulator in self._stats.values():
            accumulator.clear()  # emptied, and used again if the layer is called again: no new buffers
        self._cleared, self._stats = self._stats, {}
        self._calls = {}

    def remove(self):
        """Remove every hook. Safe to call more than once; the statistics stay readable."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    @property
    def active(self):
        return bool(self._handles)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def layer_name(self, name, call):
        return f"{name}[{call}]" if self._calls_per_forward.get(name, 1) > 1 else name

    def report(self):
        """Statistics of every watched layer over everything seen since creation or `reset()`."""
        if not self._stats:
            raise RuntimeError(
                "the monitor has seen no data yet: run the model on some inputs while the monitor is "
                "attached (inside the `with` block), then call report()"
            )
        layers = []
        for (name, call), acc in self._stats.items():
            module = self.watched[name]
            acc.fold()
            firing_rate, mean_abs = (acc.totals / acc.observations).float().cpu()  # float64 totals, per unit
            scores = dormant_scores(mean_abs)
            dormant = scores <= self.tau
            # The one place that decides which units are dead (see the module docstring). A unit that
            # fired once has a firing rate of at least 1 / observations, which is > 0 in float32.
            dead_mask = firing_rate == 0 if acc.never_negative else dormant
            layers.append(
                LayerStats(
                    name=self.layer_name(name, call),
                    activation=type(module).__name__,
                    units=firing_rate.numel(),
                    dormant=int(dormant.sum()),
                    firing_rate=firing_rate,
                    dormant_score=scores,
                    mean_abs=mean_abs,
                    observations=acc.observations,
                    never_negative=acc.never_negative,
                    tau=self.tau,
                    dead_mask=dead_mask,
                    histogram=None if acc.histogram is None else acc.histogram.cpu(),
                )
            )
        seen = {name for name, _ in self._stats}
        return Report(layers=layers, tau=self.tau, not_called=[n for n in self.watched if n not in seen])


def _batches(data, batch_size):
    """Yield input tensors from a tensor, an (X, y, ...) tuple, or an iterable of batches."""
    if isinstance(data, torch.Tensor):
        yield from data.split(batch_size)
    elif isinstance(data, tuple) and data and isinstance(data[0], torch.Tensor):  # (X, y)
        yield from data[0].split(batch_size)
    else:
        for batch in data:
            if isinstance(batch, (tuple, list)):
                batch = batch[0]
            if isinstance(batch, dict):
                raise TypeError("scan() takes batches of tensors or (X, y) tuples, not dicts; pass the input tensors")
            yield batch


def scan(model, data, tau=0.1, modules=None, unit_dim=None, batch_size=1024, histogram=None):
    """Report dead and dormant units of `model` on `data`, in eval mode and without gradients.

    `data`: an input tensor, an (X, y) tuple, or a DataLoader / iterable of batches (each a
    tensor or an (X, y, ...) tuple). The model's train/eval mode is restored afterwards.
    `modules`, `unit_dim` and `histogram` are as for `DeadUnitMonitor`.
    """
    device = next((p.device for p in model.parameters()), None)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), DeadUnitMonitor(model, tau, modules, unit_dim, histogram) as monitor:
            for batch in _batches(data, batch_size):
                model(batch if device is None else batch.to(device))
        return monitor.report()
    finally:
        model.train(was_training)
