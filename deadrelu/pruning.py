"""Remove dead units from a trained MLP: same outputs, fewer parameters and FLOPs. Notebook 07.

A ReLU unit that is dead on a data set outputs exactly 0 for every example of it, so its
outgoing weights multiply zeros: deleting the unit (its row of the incoming Linear, its
column of the outgoing Linear) leaves the network's outputs on that data unchanged. On
other data the unit might have fired; the pruned model is exact on the data it was
measured on.
"""

import copy
from dataclasses import dataclass

import torch
from torch import nn

from .monitor import ZERO_FOR_NEGATIVE_INPUTS, scan
from .stacks import hidden_layers


@dataclass
class PruneResult:
    model: nn.Sequential  # the smaller copy; the original is not modified
    removed: dict  # layer name -> indices of the removed (dead) units
    parameters_before: int
    parameters_after: int
    flops_before: int  # multiply-adds per example in the Linear layers
    flops_after: int

    def __repr__(self):
        removed = {name: len(units) for name, units in self.removed.items()}
        return (
            f"PruneResult(removed units per layer {removed}; parameters {self.parameters_before:,} -> "
            f"{self.parameters_after:,}; multiply-adds per example {self.flops_before:,} -> {self.flops_after:,})"
        )


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def linear_flops(model):
    """Multiply-adds per example in the model's Linear layers."""
    return sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))


def _sliced_linear(linear, rows=None, cols=None):
    weight = linear.weight.detach()
    if rows is not None:
        weight = weight[rows]
    if cols is not None:
        weight = weight[:, cols]
    new = nn.Linear(
        weight.shape[1], weight.shape[0], bias=linear.bias is not None, device=weight.device, dtype=weight.dtype
    )
    with torch.no_grad():
        new.weight.copy_(weight)
        if linear.bias is not None:
            new.bias.copy_(linear.bias.detach() if rows is None else linear.bias.detach()[rows])
    return new


def prune_dead(model, X):
    """A copy of the flat ReLU MLP `model` without the units that are dead on inputs `X`.

    Only for stacks Linear -> ReLU -> ... -> Linear (no normalisation, no residuals): a
    dead ReLU unit outputs exactly 0, so removing it changes nothing on X. A layer whose
    units are all dead keeps one (dead) unit, so the stack stays valid.
    """
    layers = hidden_layers(model)
    for layer in layers:
        if layer.norm is not None:
            raise ValueError(
                f"layer {layer.name} has a {type(layer.norm).__name__}; prune_dead handles Linear -> ReLU stacks only"
            )
        if not isinstance(layer.activation, ZERO_FOR_NEGATIVE_INPUTS):
            raise ValueError(
                f"layer {layer.name} uses {type(layer.activation).__name__}, which is not exactly 0 when 'dead'; "
                "only ReLU-type units can be removed without changing the outputs"
            )
    report = scan(model, X)
    keep_rows, keep_cols, removed = {}, {}, {}
    for layer in layers:
        dead = report[layer.name].dead_mask  # ReLU-type layers: dead = never > 0 on X
        keep = (~dead).nonzero().flatten()
        if len(keep) == 0:
            keep = torch.tensor([0])
        kept = torch.zeros(len(dead), dtype=torch.bool)
        kept[keep] = True
        removed[layer.name] = (~kept).nonzero().flatten()
        if len(keep) == len(dead):
            continue
        keep_rows[id(layer.incoming)] = keep.to(layer.incoming.weight.device)
        keep_cols[id(layer.outgoing)] = keep.to(layer.outgoing.weight.device)
    pruned = nn.Sequential()
    for name, module in model.named_children():
        if isinstance(module, nn.Linear):
            module = _sliced_linear(module, keep_rows.get(id(module)), keep_cols.get(id(module)))
        else:
            module = copy.deepcopy(module)
        pruned.add_module(name, module)
    pruned.train(model.training)
    return PruneResult(
        pruned, removed, count_parameters(model), count_parameters(pruned), linear_flops(model), linear_flops(pruned)
    )
