"""The public checks of 07_reviving_and_pruning: correct alternatives pass, plausible wrong
answers fail with a hint naming the misconception."""

import re

import pytest
import torch
from torch import nn

from deadrelu.checks.reviving_and_pruning import check_prune_pair, check_recycle_units


# --- recycle_units -------------------------------------------------------------------------
def _reset_state(optimizer, pairs, units):
    if optimizer is None:
        return
    for parameter, dim in pairs:
        for value in optimizer.state.get(parameter, {}).values():
            if isinstance(value, torch.Tensor) and value.shape == parameter.shape:
                value.index_fill_(dim, units, 0.0)


def recycle_reference(incoming, outgoing, units, optimizer=None, generator=None):
    bound = 1 / incoming.in_features**0.5
    with torch.no_grad():
        incoming.weight[units] = torch.rand(len(units), incoming.in_features, generator=generator) * 2 * bound - bound
        incoming.bias[units] = 0
        outgoing.weight[:, units] = 0
    _reset_state(optimizer, [(incoming.weight, 0), (incoming.bias, 0), (outgoing.weight, 1)], units)


def recycle_kaiming_loop(incoming, outgoing, units, optimizer=None, generator=None):
    with torch.no_grad():
        for u in units.tolist():
            row = torch.empty(1, incoming.in_features)
            nn.init.kaiming_uniform_(row, a=5**0.5, generator=generator)
            incoming.weight[u] = row[0]
            incoming.bias[u] = 0.0
            outgoing.weight[:, u] = 0.0
            if optimizer is not None:
                for p, index in ((incoming.weight, (u,)), (incoming.bias, (u,)), (outgoing.weight, (slice(None), u))):
                    for key, value in optimizer.state.get(p, {}).items():
                        if torch.is_tensor(value) and value.shape == p.shape:
                            value[index] = 0.0


def recycle_fresh_linear(incoming, outgoing, units, optimizer=None, generator=None):
    fresh = nn.Linear(incoming.in_features, incoming.out_features)
    with torch.no_grad():
        incoming.weight[units] = fresh.weight[units]
        incoming.bias[units] = 0.0
        outgoing.weight[:, units] = torch.zeros_like(outgoing.weight[:, units])
    _reset_state(optimizer, [(incoming.weight, 0), (incoming.bias, 0), (outgoing.weight, 1)], units)


@pytest.mark.parametrize("fn", [recycle_reference, recycle_kaiming_loop, recycle_fresh_linear])
def test_recycle_accepts_correct_alternatives(fn):
    check_recycle_units(fn)


def wrong_zero_incoming(incoming, outgoing, units, optimizer=None, generator=None):
    with torch.no_grad():
        incoming.weight[units] = 0
        incoming.bias[units] = 0
        outgoing.weight[:, units] = torch.randn(outgoing.out_features, len(units)) * 0.1
    _reset_state(optimizer, [(incoming.weight, 0), (incoming.bias, 0), (outgoing.weight, 1)], units)


def wrong_reinit_outgoing(incoming, outgoing, units, optimizer=None, generator=None):
    recycle_reference(incoming, outgoing, units, optimizer, generator)
    outgoing.reset_parameters()


def wrong_reset_all_state(incoming, outgoing, units, optimizer=None, generator=None):
    recycle_reference(incoming, outgoing, units, None, generator)
    if optimizer is not None:
        for state in optimizer.state.values():
            for key, value in state.items():
                if torch.is_tensor(value) and value.dim() > 0:
                    value.zero_()


def wrong_forgot_bias(incoming, outgoing, units, optimizer=None, generator=None):
    bias = incoming.bias.detach().clone()
    recycle_reference(incoming, outgoing, units, optimizer, generator)
    with torch.no_grad():
        incoming.bias.copy_(bias)


def wrong_touch_others(incoming, outgoing, units, optimizer=None, generator=None):
    recycle_reference(incoming, outgoing, units, optimizer, generator)
    with torch.no_grad():
        incoming.weight[units + 1] = 0.01


def wrong_rows_of_outgoing(incoming, outgoing, units, optimizer=None, generator=None):
    bound = 1 / incoming.in_features**0.5
    with torch.no_grad():
        incoming.weight[units] = torch.rand(len(units), incoming.in_features, generator=generator) * 2 * bound - bound
        incoming.bias[units] = 0
        outgoing.weight[units % outgoing.out_features] = 0  # rows instead of columns


def wrong_no_state_reset(incoming, outgoing, units, optimizer=None, generator=None):
    recycle_reference(incoming, outgoing, units, None, generator)


def wrong_new_parameter(incoming, outgoing, units, optimizer=None, generator=None):
    recycle_reference(incoming, outgoing, units, optimizer, generator)
    incoming.weight = nn.Parameter(incoming.weight.detach().clone())


@pytest.mark.parametrize(
    "fn, hint",
    [
        (wrong_zero_incoming, "zero the OUTGOING weights"),
        (wrong_reinit_outgoing, "do not reinitialise the outgoing layer"),
        (wrong_reset_all_state, "Resetting all of the optimizer's state"),
        (wrong_forgot_bias, "a very negative bias is often what killed it"),
        (wrong_touch_others, "touch only the listed units"),
        (wrong_rows_of_outgoing, "COLUMNS of outgoing.weight"),
        (wrong_no_state_reset, "did not reset the optimizer state"),
        (wrong_new_parameter, "the optimizer holds the old Parameter"),
    ],
)
def test_recycle_rejects_wrong_answers_with_a_hint(fn, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_recycle_units(fn)


# --- prune_pair ----------------------------------------------------------------------------
def prune_reference(first, second, dead):
    keep = ~dead
    a, b = nn.Linear(first.in_features, int(keep.sum())), nn.Linear(int(keep.sum()), second.out_features)
    with torch.no_grad():
        a.weight.copy_(first.weight[keep])
        a.bias.copy_(first.bias[keep])
        b.weight.copy_(second.weight[:, keep])
        b.bias.copy_(second.bias)
    return a, b


def prune_index_select(first, second, dead):
    keep = (~dead).nonzero().flatten()
    a, b = nn.Linear(first.in_features, len(keep)), nn.Linear(len(keep), second.out_features)
    a.weight = nn.Parameter(first.weight.detach().index_select(0, keep).clone())
    a.bias = nn.Parameter(first.bias.detach().index_select(0, keep).clone())
    b.weight = nn.Parameter(second.weight.detach().index_select(1, keep).clone())
    b.bias = nn.Parameter(second.bias.detach().clone())
    return a, b


def prune_deepcopy(first, second, dead):
    import copy

    a, b = copy.deepcopy(first), copy.deepcopy(second)
    a.weight = nn.Parameter(a.weight.data[~dead])
    a.bias = nn.Parameter(a.bias.data[~dead])
    b.weight = nn.Parameter(b.weight.data[:, ~dead])
    a.out_features = b.in_features = int((~dead).sum())
    return a, b


@pytest.mark.parametrize("fn", [prune_reference, prune_index_select, prune_deepcopy])
def test_prune_accepts_correct_alternatives(fn):
    check_prune_pair(fn)


def wrong_transposed(first, second, dead):
    """Removes input columns of the first layer and output rows of the second (dimensions swapped)."""
    keep_in, keep_out = torch.arange(first.in_features - 1), torch.arange(second.out_features - 1)
    a, b = nn.Linear(first.in_features - 1, first.out_features), nn.Linear(second.in_features, second.out_features - 1)
    with torch.no_grad():
        a.weight.copy_(first.weight[:, keep_in])
        b.weight.copy_(second.weight[keep_out])
    return a, b


def wrong_keep_dead(first, second, dead):
    return prune_reference(first, second, ~dead)


def wrong_no_first_bias(first, second, dead):
    a, b = prune_reference(first, second, dead)
    with torch.no_grad():
        a.bias.zero_()
    return a, b


def wrong_fresh_second_bias(first, second, dead):
    a, b = prune_reference(first, second, dead)
    b.reset_parameters()
    with torch.no_grad():
        b.weight.copy_(second.weight[:, ~dead])
    return a, b


def wrong_in_place(first, second, dead):
    with torch.no_grad():
        first.weight[dead] = 0
    return prune_reference(first, second, dead)


@pytest.mark.parametrize(
    "fn, hint",
    [
        (wrong_transposed, "Remove rows of the first layer and columns of the second"),
        (wrong_keep_dead, "you kept the DEAD units"),
        (wrong_no_first_bias, "copy the first layer's bias too"),
        (wrong_fresh_second_bias, "copy the second layer's bias unchanged"),
        (wrong_in_place, "modified the layers it was given"),
    ],
)
def test_prune_rejects_wrong_answers_with_a_hint(fn, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_prune_pair(fn)


def test_checks_report_a_missing_implementation():
    def stub(*args):
        raise NotImplementedError()

    for check in (check_recycle_units, check_prune_pair):
        with pytest.raises(AssertionError, match="not implemented yet"):
            check(stub)
