"""Public checks of notebook 07_reviving_and_pruning: recycle_units, prune_pair."""

import copy
import math

import torch
from torch import nn

from ._common import call, fail


# --- recycle_units ------------------------------------------------------------------------
def _recycling_fixture(seed, optimizer_kind):
    """Linear(5, 6) -> ReLU -> Linear(6, 4) whose units 1 and 4 are dead (bias -5), and an
    optimizer that has taken a few steps, so every weight has non-zero state."""
    torch.manual_seed(seed)
    incoming, outgoing = nn.Linear(5, 6), nn.Linear(6, 4)
    with torch.no_grad():
        incoming.bias[[1, 4]] = -5.0
    parameters = list(incoming.parameters()) + list(outgoing.parameters())
    optimizer = None
    if optimizer_kind == "adam":
        optimizer = torch.optim.Adam(parameters, lr=1e-3)
    elif optimizer_kind == "sgd-momentum":
        optimizer = torch.optim.SGD(parameters, lr=1e-3, momentum=0.9)
    if optimizer is not None:
        g = torch.Generator().manual_seed(seed)
        for _ in range(3):
            optimizer.zero_grad()
            for p in parameters:  # random gradients: every entry, dead units included, gets state
                p.grad = torch.randn(p.shape, generator=g)
            optimizer.step()
    return incoming, outgoing, optimizer


def _state_tensors(optimizer, parameter):
    if optimizer is None:
        return {}
    return {k: v.clone() for k, v in optimizer.state.get(parameter, {}).items() if isinstance(v, torch.Tensor) and v.shape == parameter.shape}


def check_recycle_units(recycle_units):
    """Check recycle_units(incoming, outgoing, units, optimizer=None, generator=None) on a
    small pair with dead units 1 and 4, with Adam, SGD with momentum and no optimizer."""
    name = "recycle_units"
    units = torch.tensor([1, 4])
    others = torch.tensor([0, 2, 3, 5])
    for seed, kind in ((0, "adam"), (1, "sgd-momentum"), (2, None)):
        incoming, outgoing, optimizer = _recycling_fixture(seed, kind)
        before_in, before_out = copy.deepcopy(incoming), copy.deepcopy(outgoing)
        parameters = {"incoming.weight": incoming.weight, "incoming.bias": incoming.bias, "outgoing.weight": outgoing.weight, "outgoing.bias": outgoing.bias}
        state_before = {k: _state_tensors(optimizer, p) for k, p in parameters.items()}
        call(recycle_units, incoming, outgoing, units.clone(), optimizer, torch.Generator().manual_seed(seed), name=name)
        where = f"(with {kind or 'no optimizer'})"
        for label, module in (("incoming", incoming), ("outgoing", outgoing)):
            for pname in ("weight", "bias"):
                if getattr(module, pname) is not parameters[f"{label}.{pname}"]:
                    fail(name, f"replaced {label}.{pname} by a new Parameter {where}.",
                         "edit the existing tensors in place (inside torch.no_grad(): layer.weight[rows] = ...): "
                         "the optimizer holds the old Parameter objects and would keep updating those.")
        w_in, b_in, w_out = incoming.weight.detach(), incoming.bias.detach(), outgoing.weight.detach()
        # the recycled units' incoming rows
        if torch.equal(w_in[units], torch.zeros_like(w_in[units])):
            fail(name, f"set the recycled units' incoming weights to zero {where}.",
                 "zero the OUTGOING weights (the columns of `outgoing`) and draw fresh INCOMING weights (rows of `incoming`). "
                 "A unit with zero incoming weights outputs 0 for every input: it stays dead.")
        if torch.equal(w_in[units], before_in.weight.detach()[units]):
            fail(name, f"left the recycled units' incoming weights unchanged {where}.",
                 "draw fresh incoming weights for those units: their rows of `incoming.weight`, e.g. with PyTorch's default U(±1/sqrt(fan_in)).")
        if not torch.isfinite(w_in).all() or w_in[units].abs().max() > 3.0:
            fail(name, f"drew incoming weights of size up to {w_in[units].abs().max().item():.3g} {where}.",
                 "draw them like a fresh nn.Linear: U(±1/sqrt(in_features)), or another standard initialisation.")
        # the incoming bias
        bound = 1.0 / math.sqrt(incoming.in_features)
        if torch.equal(b_in[units], before_in.bias.detach()[units]):
            fail(name, f"kept the recycled units' incoming bias ({before_in.bias[units].tolist()}) {where}.",
                 "the bias is part of the unit's incoming weights; a very negative bias is often what killed it. Set it to 0 (ReDo).")
        if b_in[units].abs().max() > bound + 1e-6:
            fail(name, f"set the recycled units' incoming bias to {b_in[units].tolist()} {where}.", "set it to 0, as ReDo does.")
        # the outgoing columns
        if not torch.equal(w_out[:, units], torch.zeros_like(w_out[:, units])):
            if torch.equal(w_out[:, units], before_out.weight.detach()[:, units]):
                hint = "set the recycled units' outgoing weights (their COLUMNS of outgoing.weight) to 0, so the network's output does not jump."
            elif (w_out == 0).all(dim=1).any():
                hint = ("you zeroed ROWS of outgoing.weight (one per output of the next layer); a unit's outgoing weights are its "
                        "COLUMNS of outgoing.weight: outgoing.weight[:, units] = 0.")
            elif not torch.equal(w_out[:, others], before_out.weight.detach()[:, others]):
                hint = "do not reinitialise the outgoing layer: only zero the recycled units' columns of outgoing.weight; every other weight stays."
            else:
                hint = "set the recycled units' outgoing weights to exactly 0 (not fresh random values), so the network's output does not jump."
            fail(name, f"did not set the recycled units' outgoing weights to zero {where}.", hint)
        # everything else unchanged
        checks = [
            ("other units' incoming weights", w_in[others], before_in.weight.detach()[others]),
            ("other units' incoming bias", b_in[others], before_in.bias.detach()[others]),
            ("other units' outgoing weights", w_out[:, others], before_out.weight.detach()[:, others]),
            ("the outgoing bias", outgoing.bias.detach(), before_out.bias.detach()),
        ]
        for what, now, then in checks:
            if not torch.equal(now, then):
                hint = ("the outgoing layer's bias belongs to the next layer, not to a unit: leave it."
                        if what == "the outgoing bias" else
                        "touch only the listed units: their rows of incoming.weight and incoming.bias, their columns of outgoing.weight. "
                        "Rows are dimension 0 of a Linear's weight (one per output unit), columns dimension 1.")
                fail(name, f"changed {what} {where}.", hint)
        # the optimizer state
        if optimizer is None:
            continue
        selections = {
            "incoming.weight": (lambda t: t[units], lambda t: t[others]),
            "incoming.bias": (lambda t: t[units], lambda t: t[others]),
            "outgoing.weight": (lambda t: t[:, units], lambda t: t[:, others]),
            "outgoing.bias": (lambda t: t[:0], lambda t: t),
        }
        for pname, parameter in parameters.items():
            now = _state_tensors(optimizer, parameter)
            if not now and state_before[pname]:
                fail(name, f"deleted the optimizer state of {pname} {where}.",
                     "reset only the recycled units' entries (set them to 0, e.g. state['exp_avg'][units] = 0); "
                     "the other units keep their momentum and Adam moments.")
            mine, rest = selections[pname]
            for key, then in state_before[pname].items():
                value = now[key]
                if not torch.equal(rest(value), rest(then)):
                    fail(name, f"changed the optimizer state '{key}' of units that were not recycled ({pname}) {where}.",
                         "reset the state of exactly the recycled weights: rows `units` of incoming.weight and incoming.bias, "
                         "columns `units` of outgoing.weight. Resetting all of the optimizer's state throws away what the live units learned.")
                if mine(value).numel() and not torch.equal(mine(value), torch.zeros_like(mine(value))):
                    fail(name, f"did not reset the optimizer state '{key}' of {pname} for the recycled units {where}.",
                         f"set optimizer.state[{pname}]['{key}'] to 0 at the recycled units ("
                         + ("their columns, dimension 1" if pname == "outgoing.weight" else "their rows, dimension 0")
                         + "), for every per-weight state tensor (Adam's exp_avg and exp_avg_sq, SGD's momentum_buffer).")
    print("recycle_units passed: fresh incoming rows, bias 0, outgoing columns 0, optimizer state reset for exactly "
          "the recycled units (Adam, SGD with momentum, no optimizer); every other weight and state untouched.")


# --- prune_pair ----------------------------------------------------------------------------
def _pruning_fixture(seed):
    """Linear(6, 9) -> ReLU -> Linear(9, 3) whose units 0, 3 and 7 are dead on X, and X."""
    torch.manual_seed(seed)
    first, second = nn.Linear(6, 9), nn.Linear(9, 3)
    with torch.no_grad():
        first.bias[[0, 3, 7]] = -100.0
        second.bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
    X = torch.randn(64, 6, generator=torch.Generator().manual_seed(seed))
    dead = torch.zeros(9, dtype=torch.bool)
    dead[[0, 3, 7]] = True
    return first, second, X, dead


def check_prune_pair(prune_pair):
    """Check prune_pair(first, second, dead) -> (smaller first, smaller second) on a pair
    with dead units 0, 3 and 7: same outputs on the data, exactly the live units kept."""
    name = "prune_pair"
    for seed in (0, 1):
        first, second, X, dead = _pruning_fixture(seed)
        originals = copy.deepcopy((first, second))
        with torch.no_grad():
            expected = second(torch.relu(first(X)))
        result = call(prune_pair, first, second, dead.clone(), name=name)
        if not (isinstance(result, tuple) and len(result) == 2 and all(isinstance(m, nn.Linear) for m in result)):
            fail(name, f"returned {type(result).__name__}, not a pair of nn.Linear.", "return (new_first, new_second), two nn.Linear modules.")
        new_first, new_second = result
        if not (torch.equal(first.weight, originals[0].weight) and torch.equal(second.weight, originals[1].weight)
                and torch.equal(first.bias, originals[0].bias) and torch.equal(second.bias, originals[1].bias)):
            fail(name, "modified the layers it was given.", "build new, smaller nn.Linear modules; leave the originals as they are.")
        live = int((~dead).sum())
        shapes = ((new_first.in_features, new_first.out_features), (new_second.in_features, new_second.out_features))
        if shapes != ((6, live), (live, 3)):
            if shapes == ((6, int(dead.sum())), (int(dead.sum()), 3)):
                hint = "you kept the DEAD units and removed the live ones: keep the units where `dead` is False (~dead)."
            elif new_first.in_features != 6 or new_second.out_features != 3:
                hint = ("the rows of first.weight are the units (dimension 0: one row per output) and the columns of second.weight "
                        "are the units (dimension 1). Remove rows of the first layer and columns of the second, not the other way round.")
            else:
                hint = f"each layer should lose exactly the {int(dead.sum())} dead units."
            fail(name, f"gives layers of shapes {shapes} (in, out); expected ((6, {live}), ({live}, 3)).", hint)
        with torch.no_grad():
            got = new_second(torch.relu(new_first(X)))
        difference = (got - expected).abs().max().item()
        if difference > 1e-5:
            keep = ~dead
            if new_first.bias is None or new_second.bias is None:
                hint = "keep the biases: create the new layers with bias=True and copy them."
            elif not torch.allclose(new_first.bias.detach(), first.bias.detach()[keep]):
                hint = "copy the first layer's bias too: it has one entry per unit, so keep the live units' entries, first.bias[~dead]."
            elif not torch.allclose(new_second.bias.detach(), second.bias.detach()):
                hint = "copy the second layer's bias unchanged: it belongs to the outputs, which are all kept."
            else:
                hint = "keep rows ~dead of first.weight and first.bias, columns ~dead of second.weight, all of second.bias."
            fail(name, f"changes the outputs on the data: largest difference {difference:.3g} (expected < 1e-5).", hint)
    print(f"prune_pair passed: on 2 pairs with 3 of 9 units dead the smaller layers give the same outputs (max abs difference {difference:.1e}).")
