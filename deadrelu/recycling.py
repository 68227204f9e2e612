"""ReDo: recycle τ-dormant units (Sokar, Agarwal, Castro, Evci 2023). Notebook 07.

For every τ-dormant unit of a hidden layer, ReDo
  1. reinitialises its incoming weights (its row of the Linear before the activation),
  2. sets its outgoing weights to zero (its column of the Linear after it), so the network's
     output does not jump, and
  3. resets the optimizer state of exactly those weights, so that momentum built up for the
     old weights does not steer the fresh ones. (With PyTorch's Adam the reset has a side
     effect: the step counter t is per tensor, so zeroed moments give a fresh weight a first
     step of lr·(1-β1)/(1-β1^t)·sqrt((1-β2^t)/(1-β2)) whatever the gradient's size (unless it is
     near Adam's ε): about 1.85 lr after 420 steps, 3.2 lr in long runs; notebook 07 measures both ways.)
The output layer is never recycled: it has no activation, so it has no units to recycle;
only its columns (outgoing weights of the last hidden layer) are zeroed.

`recycle_dormant` recycles once; `ReDo` is the callback that does it every F steps of training.
"""

import math
from dataclasses import dataclass

import torch

from .monitor import check_tau, scan
from .stacks import hidden_layers


def _fresh_rows(weight, rows, generator):
    """PyTorch's default nn.Linear draw, U(±1/sqrt(fan_in)), for the given rows."""
    bound = 1.0 / math.sqrt(weight.shape[1])
    fresh = torch.rand((len(rows), weight.shape[1]), generator=generator) * 2 * bound - bound
    return fresh.to(device=weight.device, dtype=weight.dtype)


def reset_optimizer_state(optimizer, parameter, index, dim):
    """Zero every per-element state (momentum, Adam's moments, ...) of `parameter` at `index` along `dim`."""
    state = optimizer.state.get(parameter, {})
    for value in state.values():
        if isinstance(value, torch.Tensor) and value.shape == parameter.shape:
            value.index_fill_(dim, index.to(value.device), 0.0)


def recycle_dormant(model, X, optimizer=None, tau=0.1, generator=None, reset_optimizer=True, max_draws=10):
    """Recycle the τ-dormant units of a flat MLP, measured on inputs `X`.

    Returns {layer name: indices of the recycled units}. Pass the `optimizer` training the
    model so that its state for the recycled weights is reset (`reset_optimizer=False`
    leaves it, to show what goes wrong). Incoming biases are set to 0.

    A fresh random row can itself land dormant on X. ReDo draws once; here a unit that is
    still τ-dormant on X after its draw is drawn again, up to `max_draws` times in all
    (`max_draws=1` is plain ReDo).
    """
    tau = check_tau(tau)
    if not isinstance(max_draws, int) or max_draws < 1:
        raise ValueError(f"max_draws must be a positive int, got {max_draws!r}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    layers = hidden_layers(model)
    report = scan(model, X, tau)
    recycled = {layer.name: report[layer.name].dormant_units for layer in layers}
    pending = dict(recycled)
    for _ in range(max_draws):
        _draw_incoming(layers, pending, generator)
        _zero_outgoing(layers, recycled)  # after the draws: a recycled unit's outgoing weights stay 0
        report = scan(model, X, tau)
        pending = {name: units[report[name].dormant_score[units] <= tau] for name, units in recycled.items()}
        if not any(len(units) for units in pending.values()):
            break
    if optimizer is not None and reset_optimizer:
        for layer in layers:
            units = recycled[layer.name]
            edited = [(layer.incoming.weight, 0), (layer.outgoing.weight, 1)]
            edited += [
                (p, 0)
                for p in (layer.incoming.bias, getattr(layer.norm, "weight", None), getattr(layer.norm, "bias", None))
                if p is not None
            ]
            for parameter, dim in edited:
                reset_optimizer_state(optimizer, parameter, units, dim)
    return recycled


def _draw_incoming(layers, units_by_layer, generator):
    """Fresh incoming weights, zero incoming bias, identity norm parameters for the given units."""
    with torch.no_grad():
        for layer in layers:
            units = units_by_layer[layer.name].to(layer.incoming.weight.device)
            if len(units) == 0:
                continue
            layer.incoming.weight[units] = _fresh_rows(layer.incoming.weight, units, generator)
            if layer.incoming.bias is not None:
                layer.incoming.bias[units] = 0.0
            norm = layer.norm
            if norm is not None and getattr(norm, "weight", None) is not None:
                norm.weight[units], norm.bias[units] = 1.0, 0.0
            if norm is not None and getattr(norm, "running_mean", None) is not None:
                norm.running_mean[units], norm.running_var[units] = 0.0, 1.0


def _zero_outgoing(layers, units_by_layer):
    with torch.no_grad():
        for layer in layers:
            units = units_by_layer[layer.name].to(layer.outgoing.weight.device)
            if len(units):
                layer.outgoing.weight[:, units] = 0.0


@dataclass
class RecyclingRound:
    """One round of `ReDo`: its step, the units dead on X just before it and the units it recycled, per layer."""

    step: int
    dead: dict  # layer name -> number of units dead (never > 0 on X) before recycling
    recycled: dict  # layer name -> number of units recycled (the τ-dormant ones; τ = 0: the dead ones)


class ReDo:
    """ReDo during training, as a `train(..., callbacks=[redo])` callback: every `period` steps,
    recycle the τ-dormant units of every hidden layer, found on inputs `X` (`recycle_dormant`).

    Plain ReDo draws each fresh row once (`max_draws=1`, unlike `recycle_dormant`'s default).
    `reset_optimizer` as in `recycle_dormant`. `rounds` records every round as a
    `RecyclingRound` (how many units were dead before it and how many it recycled);
    `recycled` totals the recycled units per layer. A generator is made from `seed` when none
    is given, so each run's fresh weights are reproducible.
    """

    def __init__(self, X, period=50, tau=0.1, reset_optimizer=True, max_draws=1, generator=None, seed=0):
        if not isinstance(period, int) or isinstance(period, bool) or period < 1:
            raise ValueError(f"period must be an int >= 1, got {period!r}")
        self.X, self.period, self.tau = X, period, check_tau(tau)
        self.reset_optimizer, self.max_draws = reset_optimizer, max_draws
        self.generator = generator if generator is not None else torch.Generator().manual_seed(seed)
        self.rounds = []

    def __call__(self, step, model, optimizer):
        if step % self.period:
            return
        dead = {layer.name: len(layer.dead_units) for layer in scan(model, self.X).layers}
        recycled = recycle_dormant(
            model,
            self.X,
            optimizer,
            tau=self.tau,
            generator=self.generator,
            reset_optimizer=self.reset_optimizer,
            max_draws=self.max_draws,
        )
        self.rounds.append(RecyclingRound(step, dead, {name: len(units) for name, units in recycled.items()}))

    @property
    def steps(self):
        """The steps at which it recycled."""
        return [r.step for r in self.rounds]

    @property
    def recycled(self):
        """Units recycled per layer over all rounds (a unit recycled twice counts twice)."""
        totals = {}
        for r in self.rounds:
            for name, n in r.recycled.items():
                totals[name] = totals.get(name, 0) + n
        return totals
