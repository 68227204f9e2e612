"""Public checks of notebook 07_reviving_and_pruning: recycle_units, prune_pair, and the
form of the ReDo prediction (which units recycling resets).

The student's functions run under the call watch of `_common.call`: calling the package's
own recycling or pruning code (deadrelu/recycling.py, deadrelu/pruning.py) or a helper of
this module fails the check, however it was reached.
"""

import copy
import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

from .. import pruning, recycling
from ._common import call, fail, graded_check, plain_tensor

# the package's implementations of the exercises: an answer must not call them
_PACKAGE_IMPLEMENTATIONS = [
    recycling.recycle_dormant,
    recycling._fresh_rows,
    recycling.reset_optimizer_state,
    recycling._draw_incoming,
    recycling._zero_outgoing,
    recycling.ReDo.__call__,
    pruning.prune_dead,
    pruning._sliced_linear,
]


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
    return {
        k: v.clone()
        for k, v in optimizer.state.get(parameter, {}).items()
        if isinstance(v, torch.Tensor) and v.shape == parameter.shape
    }


def _recycle(recycle_units, incoming, outgoing, units, optimizer, generator, name):
    return call(
        recycle_units,
        incoming,
        outgoing,
        units.clone(),
        optimizer,
        generator,
        name=name,
        forbidden=_PACKAGE_IMPLEMENTATIONS,
        type_error_hint="the signature is recycle_units(incoming, outgoing, units, optimizer=None, generator=None); "
        "optimizer and generator may be None.",
        error_hints={
            "leaf Variable": "edit the weights inside `with torch.no_grad():`; autograd forbids in-place writes into "
            "parameters that require gradients.",
            IndexError: "`units` is a 1-D tensor of unit indices: they index the ROWS of incoming.weight (dimension 0) "
            "and the COLUMNS of outgoing.weight (dimension 1).",
        },
    )


def _weights(module, what, name):
    return plain_tensor(module.weight, name, f"{what}.weight is").detach()


# The statistical test of the fresh draws: a layer with fan_in 16 (nn.Linear's bound 1/4) and
# 100 units, 80 of them recycled: 1,280 draws. For U(-b, b) the largest |draw| exceeds 0.97 b
# except with probability 0.97^1280 < 1e-16, the standard deviation is within 15 % of b/sqrt(3)
# (its relative standard error is about 1.3 %), the mean within 0.1 b of 0 (6 standard errors)
# and the share of draws inside (-b/2, b/2) within 0.1 of one half (7 standard errors): a
# correct answer never fails, and every bound below differs from 1/4 by more than 3 %.
_FAN_IN, _LAYER_UNITS, _NEXT_OUTPUTS = 16, 100, 4
_FAN_OUT_HINT = (
    "the bound comes from the fan_out (the number of units of the layer, incoming.out_features = weight.shape[0], or "
    "the next layer's size). A unit's fresh weights multiply its fan_in inputs, so nn.Linear scales them with the "
    "fan_in: incoming.in_features = weight.shape[1]."
)
_WRONG_BOUNDS = [
    (
        1 / _FAN_IN,
        "1/fan_in",
        "a bound of 1/fan_in shrinks the weights too fast as layers get wider: a sum of fan_in independent terms has a "
        "variance proportional to fan_in, so keeping a unit's input at the same size needs weights that shrink like "
        "one over the SQUARE ROOT of fan_in, as nn.Linear's do.",
    ),
    (1 / math.sqrt(_LAYER_UNITS), "1/sqrt(fan_out)", _FAN_OUT_HINT),
    (1 / _LAYER_UNITS, "1/fan_out", _FAN_OUT_HINT),
    (1 / math.sqrt(_NEXT_OUTPUTS), "1/sqrt(the next layer's outputs)", _FAN_OUT_HINT),
    (
        math.sqrt(6 / _FAN_IN),
        "sqrt(6/fan_in) (He/Kaiming uniform for ReLU)",
        "that is the He-uniform bound (nn.init.kaiming_uniform_ with its default a=0). The exercise asks for the draw "
        "of a fresh nn.Linear, so that a recycled unit starts like the units the network was initialised with: "
        "kaiming_uniform_ with a=sqrt(5), which is U(±1/sqrt(fan_in)).",
    ),
    (
        math.sqrt(6 / (_FAN_IN + _LAYER_UNITS)),
        "sqrt(6/(fan_in + fan_out)) (Glorot/Xavier uniform)",
        "that is the Glorot bound, which mixes in the fan_out. The exercise asks for the draw of a fresh nn.Linear, "
        "which depends on the fan_in only.",
    ),
]


def _check_fresh_draws(recycle_units, name):
    """The fresh incoming weights are drawn from U(±1/sqrt(fan_in)): bounded by it and spread over it."""
    torch.manual_seed(7)
    incoming, outgoing = nn.Linear(_FAN_IN, _LAYER_UNITS), nn.Linear(_LAYER_UNITS, _NEXT_OUTPUTS)
    with torch.no_grad():
        incoming.weight.fill_(5.0)  # far outside every bound: a row left unchanged cannot pass as a draw
    units = torch.arange(_LAYER_UNITS)[torch.arange(_LAYER_UNITS) % 5 != 0]
    _recycle(recycle_units, incoming, outgoing, units, None, torch.Generator().manual_seed(70), name)
    draws = _weights(incoming, "incoming", name)[units].flatten().double()
    bound = 1 / math.sqrt(_FAN_IN)
    where = (
        f"for a layer nn.Linear({_FAN_IN}, {_LAYER_UNITS}) followed by nn.Linear({_LAYER_UNITS}, {_NEXT_OUTPUTS}) "
        f"({draws.numel()} fresh weights; nn.Linear's bound 1/sqrt({_FAN_IN}) = {bound:g})"
    )
    if not torch.isfinite(draws).all():
        fail(name, f"drew inf or nan incoming weights {where}.", "draw finite values like a fresh nn.Linear.")
    largest = draws.abs().max().item()
    if not 0.97 * bound <= largest <= bound * (1 + 1e-5):
        for wrong, what, hint in _WRONG_BOUNDS:
            if 0.97 * wrong <= largest <= wrong * (1 + 1e-5):
                fail(
                    name,
                    f"drew fresh incoming weights up to {largest:.4g} {where}: the bound {what} = {wrong:.4g}.",
                    hint,
                )
        if largest > bound:
            hint = (
                "the draws go beyond the bound of a fresh nn.Linear: an unbounded (normal) draw, or a bound that is "
                "too large. Draw uniformly between -1/sqrt(fan_in) and +1/sqrt(fan_in)."
            )
        else:
            hint = (
                "the draws never come near the bound of a fresh nn.Linear: is the bound, or the scale of the draw, too "
                "small?"
            )
        fail(name, f"drew fresh incoming weights up to {largest:.4g} {where}.", hint)
    mean, std = draws.mean().item(), draws.std().item()
    inner = (draws.abs() < bound / 2).double().mean().item()
    if abs(mean) > 0.1 * bound:
        fail(
            name,
            f"drew fresh incoming weights with mean {mean:.3g} {where}; a fresh nn.Linear's have mean 0.",
            "the draws are one-sided: torch.rand gives values in [0, 1); scale and shift them to (-bound, bound), "
            "e.g. (2 * torch.rand(...) - 1) * bound.",
        )
    if not (0.85 <= std / (bound / math.sqrt(3)) <= 1.15 and 0.4 <= inner <= 0.6):
        fail(
            name,
            f"drew fresh incoming weights that are not spread evenly over (-{bound:g}, {bound:g}) {where}: "
            f"standard deviation {std:.3g} (uniform: {bound / math.sqrt(3):.3g}), {100 * inner:.0f} % of them "
            "inside half the bound (uniform: 50 %).",
            "draw them from the UNIFORM distribution on (-bound, bound), as nn.Linear does; clamping a normal draw, or "
            "drawing only the signs, gives another distribution.",
        )
    return largest


def _check_generator(recycle_units, name):
    """Fresh weights come from the given generator: reproducible, global RNG untouched, seed-dependent."""
    units = torch.tensor([1, 4])

    def draw(seed):
        incoming, outgoing, _ = _recycling_fixture(3, None)
        before = torch.get_rng_state()
        _recycle(recycle_units, incoming, outgoing, units, None, torch.Generator().manual_seed(seed), name)
        return _weights(incoming, "incoming", name)[units].clone(), torch.equal(torch.get_rng_state(), before)

    first, untouched = draw(123)
    if not untouched:
        fail(
            name,
            "drew from PyTorch's global random number generator although a `generator` was given.",
            "the generator is how an experiment reproduces a run and keeps its draws apart from everything else that "
            "uses randomness: pass it to the function that draws (torch.rand(..., generator=generator), "
            "nn.init.uniform_(..., generator=generator)). A fresh nn.Linear, torch.randn(...) without it, or "
            "reset_parameters() draw from the global generator.",
        )
    again, _ = draw(123)
    if not torch.equal(first, again):
        fail(
            name,
            "gave different fresh weights for two generators with the same seed.",
            "every random draw must come from `generator`, so that the same seed gives the same recycled units.",
        )
    other, _ = draw(124)
    if torch.equal(first, other):
        fail(
            name,
            "gave the same fresh weights for generators with different seeds.",
            "it ignores the generator it is given (a fixed seed, or a generator of its own?): draw from `generator`.",
        )


@graded_check(
    "recycle_units",
    expects="recycle_units(incoming, outgoing, units, optimizer=None, generator=None), editing the layers in place",
)
def check_recycle_units(recycle_units):
    """Check recycle_units(incoming, outgoing, units, optimizer=None, generator=None) on a
    small pair with dead units 1 and 4, with Adam, SGD with momentum and no optimizer (and
    no generator); then the fresh draws (U(±1/sqrt(fan_in)), 1,280 of them) and the generator."""
    name = "recycle_units"
    units = torch.tensor([1, 4])
    others = torch.tensor([0, 2, 3, 5])
    for seed, kind in ((0, "adam"), (1, "sgd-momentum"), (2, None)):
        incoming, outgoing, optimizer = _recycling_fixture(seed, kind)
        before_in, before_out = copy.deepcopy(incoming), copy.deepcopy(outgoing)
        parameters = {
            "incoming.weight": incoming.weight,
            "incoming.bias": incoming.bias,
            "outgoing.weight": outgoing.weight,
            "outgoing.bias": outgoing.bias,
        }
        state_before = {k: _state_tensors(optimizer, p) for k, p in parameters.items()}
        generator = torch.Generator().manual_seed(seed) if kind else None  # without optimizer: no generator either
        _recycle(recycle_units, incoming, outgoing, units, optimizer, generator, name)
        where = f"(with {kind or 'no optimizer and no generator'})"
        for label, module in (("incoming", incoming), ("outgoing", outgoing)):
            for pname in ("weight", "bias"):
                if getattr(module, pname) is not parameters[f"{label}.{pname}"]:
                    fail(
                        name,
                        f"replaced {label}.{pname} by a new Parameter {where}.",
                        "edit the existing tensors in place (inside torch.no_grad(): layer.weight[rows] = ...): "
                        "the optimizer holds the old Parameter objects and would keep updating those.",
                    )
        w_in, w_out = _weights(incoming, "incoming", name), _weights(outgoing, "outgoing", name)
        b_in = plain_tensor(incoming.bias, name, "incoming.bias is").detach()
        # the recycled units' incoming rows
        if torch.equal(w_in[units], torch.zeros_like(w_in[units])):
            fail(
                name,
                f"set the recycled units' incoming weights to zero {where}.",
                "zero the OUTGOING weights (the columns of `outgoing`) and draw fresh INCOMING weights (rows of "
                "`incoming`). A unit with zero incoming weights outputs 0 for every input: it stays dead.",
            )
        if torch.equal(w_in[units], before_in.weight.detach()[units]):
            fail(
                name,
                f"left the recycled units' incoming weights unchanged {where}.",
                "draw fresh incoming weights for those units: their rows of `incoming.weight`, like a fresh nn.Linear.",
            )
        if not torch.isfinite(w_in).all():
            fail(name, f"drew inf or nan incoming weights {where}.", "draw finite values like a fresh nn.Linear.")
        # the incoming bias
        bound = 1.0 / math.sqrt(incoming.in_features)
        if torch.equal(b_in[units], before_in.bias.detach()[units]):
            fail(
                name,
                f"kept the recycled units' incoming bias ({before_in.bias[units].tolist()}) {where}.",
                "the bias is part of the unit's incoming weights; a very negative bias is often what killed it. Set it "
                "to 0 (ReDo).",
            )
        if b_in[units].abs().max() > bound + 1e-6:
            fail(
                name,
                f"set the recycled units' incoming bias to {b_in[units].tolist()} {where}.",
                "set it to 0, as ReDo does.",
            )
        # the outgoing columns
        if not torch.equal(w_out[:, units], torch.zeros_like(w_out[:, units])):
            if torch.equal(w_out[:, units], before_out.weight.detach()[:, units]):
                hint = (
                    "set the recycled units' outgoing weights (their COLUMNS of outgoing.weight) to 0, so the "
                    "network's output does not jump."
                )
            elif (w_out == 0).all(dim=1).any():
                hint = (
                    "you zeroed ROWS of outgoing.weight (one per output of the next layer); a unit's outgoing weights "
                    "are its COLUMNS of outgoing.weight: outgoing.weight[:, units] = 0."
                )
            elif not torch.equal(w_out[:, others], before_out.weight.detach()[:, others]):
                hint = (
                    "do not reinitialise the outgoing layer: only zero the recycled units' columns of outgoing.weight; "
                    "every other weight stays."
                )
            else:
                hint = (
                    "set the recycled units' outgoing weights to exactly 0 (not fresh random values), so the network's "
                    "output does not jump."
                )
            fail(name, f"did not set the recycled units' outgoing weights to zero {where}.", hint)
        # everything else unchanged
        checks = [
            ("other units' incoming weights", w_in[others], before_in.weight.detach()[others]),
            ("other units' incoming bias", b_in[others], before_in.bias.detach()[others]),
            ("other units' outgoing weights", w_out[:, others], before_out.weight.detach()[:, others]),
            (
                "the outgoing bias",
                plain_tensor(outgoing.bias, name, "outgoing.bias is").detach(),
                before_out.bias.detach(),
            ),
        ]
        for what, now, then in checks:
            if not torch.equal(now, then):
                hint = (
                    "the outgoing layer's bias belongs to the next layer, not to a unit: leave it."
                    if what == "the outgoing bias"
                    else "touch only the listed units: their rows of incoming.weight and incoming.bias, their columns "
                    "of outgoing.weight. Rows are dimension 0 of a Linear's weight (one per output unit), columns "
                    "dimension 1."
                )
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
                fail(
                    name,
                    f"deleted the optimizer state of {pname} {where}.",
                    "reset only the recycled units' entries (set them to 0, e.g. state['exp_avg'][units] = 0); "
                    "the other units keep their momentum and Adam moments.",
                )
            mine, rest = selections[pname]
            for key, then in state_before[pname].items():
                if key not in now:
                    fail(
                        name,
                        f"removed the optimizer state '{key}' of {pname} {where}.",
                        "set the recycled units' entries of every per-weight state tensor to 0; keep the tensors "
                        "themselves.",
                    )
                value = plain_tensor(now[key], name, f"optimizer state '{key}' is")
                if not torch.equal(rest(value), rest(then)):
                    fail(
                        name,
                        f"changed the optimizer state '{key}' of units that were not recycled ({pname}) {where}.",
                        "reset the state of exactly the recycled weights: rows `units` of incoming.weight and "
                        "incoming.bias, columns `units` of outgoing.weight. Resetting all of the optimizer's state "
                        "throws away what the live units learned.",
                    )
                if mine(value).numel() and not torch.equal(mine(value), torch.zeros_like(mine(value))):
                    fail(
                        name,
                        f"did not reset the optimizer state '{key}' of {pname} for the recycled units {where}.",
                        f"set optimizer.state[{pname}]['{key}'] to 0 at the recycled units ("
                        + ("their columns, dimension 1" if pname == "outgoing.weight" else "their rows, dimension 0")
                        + "), for every per-weight state tensor (Adam's exp_avg and exp_avg_sq, SGD's "
                        "momentum_buffer).",
                    )
    largest = _check_fresh_draws(recycle_units, name)
    _check_generator(recycle_units, name)
    print(
        "recycle_units passed: fresh incoming rows, bias 0, outgoing columns 0, optimizer state reset for exactly "
        "the recycled units (Adam, SGD with momentum, no optimizer); every other weight and state untouched; "
        f"1,280 fresh weights spread uniformly up to {largest:.3f} (bound 1/sqrt(16) = 0.25); the same seed gives the "
        "same draws, another seed other draws, and the global random state is left alone."
    )


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


def _layer_tensors(layer, what, name):
    """(weight, bias or None) of a returned layer, as plain tensors (its forward is not trusted: the check
    computes it)."""
    if not isinstance(layer, nn.Linear):
        fail(
            name,
            f"returned {what} as a {type(layer).__name__}, not an nn.Linear.",
            "return (new_first, new_second), two nn.Linear modules.",
        )
    weight = plain_tensor(layer.weight, name, f"{what}'s weight is").detach()
    bias = None if layer.bias is None else plain_tensor(layer.bias, name, f"{what}'s bias is").detach()
    if weight.dim() != 2:
        fail(name, f"{what}'s weight has shape {tuple(weight.shape)}, not (out_features, in_features).")
    return weight, bias


@graded_check("prune_pair", expects="a pair (new_first, new_second) of new nn.Linear modules without the dead units")
def check_prune_pair(prune_pair):
    """Check prune_pair(first, second, dead) -> (smaller first, smaller second) on a pair
    with dead units 0, 3 and 7: same outputs on the data, exactly the live units kept."""
    name = "prune_pair"
    for seed in (0, 1):
        first, second, X, dead = _pruning_fixture(seed)
        originals = copy.deepcopy((first, second))
        with torch.no_grad():
            expected = second(torch.relu(first(X)))
        result = call(
            prune_pair,
            first,
            second,
            dead.clone(),
            name=name,
            forbidden=_PACKAGE_IMPLEMENTATIONS,
            error_hints={
                IndexError: "`dead` is a bool tensor with one entry per unit: it selects ROWS of "
                "first.weight (dimension 0) and COLUMNS of second.weight (dimension 1)."
            },
        )
        if not (isinstance(result, tuple) and len(result) == 2):
            what = f"a tuple of {len(result)} items" if isinstance(result, tuple) else type(result).__name__
            fail(
                name,
                f"returned {what}, not a pair of nn.Linear.",
                "return (new_first, new_second), two nn.Linear modules.",
            )
        (w1, b1), (w2, b2) = (
            _layer_tensors(result[0], "the first layer", name),
            _layer_tensors(result[1], "the second layer", name),
        )
        if not (
            torch.equal(first.weight, originals[0].weight)
            and torch.equal(second.weight, originals[1].weight)
            and torch.equal(first.bias, originals[0].bias)
            and torch.equal(second.bias, originals[1].bias)
        ):
            fail(
                name,
                "modified the layers it was given.",
                "build new, smaller nn.Linear modules; leave the originals as they are.",
            )
        live, n_dead = int((~dead).sum()), int(dead.sum())
        shapes = ((w1.shape[1], w1.shape[0]), (w2.shape[1], w2.shape[0]))
        if shapes != ((6, live), (live, 3)):
            if shapes == ((6, n_dead), (n_dead, 3)):
                hint = (
                    "you kept the DEAD units and removed the live ones: keep the units where `dead` is False (~dead)."
                )
            elif shapes[0][0] != 6 or shapes[1][1] != 3:
                hint = (
                    "the rows of first.weight are the units (dimension 0: one row per output) and the columns of "
                    "second.weight are the units (dimension 1). Remove rows of the first layer and columns of the "
                    "second, not the other way round."
                )
            else:
                hint = f"each layer should lose exactly the {n_dead} dead units."
            fail(name, f"gives layers of shapes {shapes} (in, out); expected ((6, {live}), ({live}, 3)).", hint)
        if b1 is None or b2 is None:
            fail(
                name,
                "returned a layer without a bias.",
                "keep the biases: create the new layers with bias=True and copy them.",
            )
        got = F.linear(torch.relu(F.linear(X, w1, b1)), w2, b2)
        difference = (got - expected).abs().max().item()
        if not difference <= 1e-5:
            keep = ~dead
            if not torch.allclose(b1, first.bias.detach()[keep]):
                hint = (
                    "copy the first layer's bias too: it has one entry per unit, so keep the live units' entries, "
                    "first.bias[~dead]."
                )
            elif not torch.allclose(b2, second.bias.detach()):
                hint = "copy the second layer's bias unchanged: it belongs to the outputs, which are all kept."
            else:
                hint = (
                    "keep rows ~dead of first.weight and first.bias, columns ~dead of second.weight, all of "
                    "second.bias."
                )
            fail(name, f"changes the outputs on the data: largest difference {difference:.3g} (expected < 1e-5).", hint)
    print(
        "prune_pair passed: on 2 pairs with 3 of 9 units dead the smaller layers give the same outputs (max abs "
        f"difference {difference:.1e})."
    )


# --- the prediction: which units does ReDo recycle? ----------------------------------------
# One hidden layer of 10 units: each unit's mean |output| over the data, and τ. The values are
# exact in binary floating point (the layer average is exactly 0.5), so the notebook's run of
# recycle_dormant on a layer with these outputs gives the same answer on every machine.
REDO_EXAMPLE_MEAN_ABS = (0.0, 0.375, 1.5, 0.125, 0.75, 0.25, 0.0625, 0.5, 0.9375, 0.5)
REDO_EXAMPLE_TAU = 0.25


@graded_check("PREDICTED_RECYCLED", expects="a set of unit indices (ints from 0 to 9), e.g. {2, 7}")
def check_recycling_prediction(predicted):
    """Check the FORM of the prediction only (a set of unit indices of the example layer); the
    answer is graded by the hidden tests. Returns it as a frozenset."""
    name = "PREDICTED_RECYCLED"
    n = len(REDO_EXAMPLE_MEAN_ABS)
    if predicted is None:
        fail(
            name,
            "is None: no prediction yet.",
            "set it to the set of unit indices you expect ReDo to recycle, e.g. {2, 7} (set() for none).",
        )
    if type(predicted) is torch.Tensor:
        predicted = predicted.flatten().tolist()
    if isinstance(predicted, (str, bytes, dict)) or not isinstance(predicted, (set, frozenset, list, tuple, range)):
        fail(
            name,
            f"is a {type(predicted).__name__}, not a set of unit indices.",
            "write it as a set of ints, e.g. {2, 7}.",
        )
    items = list(predicted)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            fail(
                name,
                f"contains {item!r}, which is not a unit index.",
                f"units are numbered 0 to {n - 1}; write their indices, e.g. {{2, 7}}.",
            )
    units = [int(item) for item in items]
    if any(not 0 <= unit < n for unit in units):
        fail(
            name, f"contains {sorted(u for u in units if not 0 <= u < n)}: the layer's units are numbered 0 to {n - 1}."
        )
    if len(set(units)) != len(units):
        fail(name, f"names a unit twice: {units}.", "each unit is recycled at most once; list each index once.")
    print(
        f"PREDICTED_RECYCLED has the right form: units {sorted(set(units))} ({len(units)} of {n}). "
        "Whether it is right is graded when you hand in; the next cell runs ReDo on this layer."
    )
    return frozenset(units)
