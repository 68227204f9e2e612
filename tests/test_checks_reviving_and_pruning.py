"""The public checks of 07_reviving_and_pruning: correct alternatives pass, plausible wrong
answers fail with a hint naming the misconception; and the catalogue of the prediction
exercise (PREDICTED_RECYCLED), run through its graded cell (public check + hidden tests)."""

import copy
import re

import pytest
import torch
from course_tools import run_graded_cell
from torch import nn

import deadrelu.checks.reviving_and_pruning as checks
from deadrelu.checks.reviving_and_pruning import (
    REDO_EXAMPLE_MEAN_ABS,
    REDO_EXAMPLE_TAU,
    check_prune_pair,
    check_recycle_units,
    check_recycling_prediction,
)
from deadrelu.recycling import recycle_dormant

ASSIGNMENT = "07_reviving_and_pruning"


# --- recycle_units: correct alternatives ---------------------------------------------------
def _reset_state(optimizer, pairs, units):
    if optimizer is None:
        return
    for parameter, dim in pairs:
        for value in optimizer.state.get(parameter, {}).values():
            if isinstance(value, torch.Tensor) and value.shape == parameter.shape:
                value.index_fill_(dim, units, 0.0)


def _finish(incoming, outgoing, units, optimizer):
    with torch.no_grad():
        incoming.bias[units] = 0
        outgoing.weight[:, units] = 0
    _reset_state(optimizer, [(incoming.weight, 0), (incoming.bias, 0), (outgoing.weight, 1)], units)


def recycle_reference(incoming, outgoing, units, optimizer=None, generator=None):
    bound = 1 / incoming.in_features**0.5
    with torch.no_grad():
        incoming.weight[units] = torch.rand(len(units), incoming.in_features, generator=generator) * 2 * bound - bound
    _finish(incoming, outgoing, units, optimizer)


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


def recycle_init_uniform(incoming, outgoing, units, optimizer=None, generator=None):
    fan_in = incoming.weight.shape[1]
    fresh = torch.empty(len(units), fan_in)
    nn.init.uniform_(fresh, -(fan_in**-0.5), fan_in**-0.5, generator=generator)
    with torch.no_grad():
        incoming.weight[units] = fresh
    _finish(incoming, outgoing, units, optimizer)


def recycle_tensor_uniform_(incoming, outgoing, units, optimizer=None, generator=None):
    import math

    bound = 1 / math.sqrt(incoming.in_features)
    with torch.no_grad():
        incoming.weight[units] = torch.empty(len(units), incoming.in_features).uniform_(
            -bound, bound, generator=generator
        )
        incoming.bias.index_fill_(0, units, 0.0)
        outgoing.weight.index_fill_(1, units, 0.0)
    _reset_state(optimizer, [(incoming.weight, 0), (incoming.bias, 0), (outgoing.weight, 1)], units)


@pytest.mark.parametrize("fn", [recycle_reference, recycle_kaiming_loop, recycle_init_uniform, recycle_tensor_uniform_])
def test_recycle_accepts_correct_alternatives(fn, capsys):
    check_recycle_units(fn)
    assert "recycle_units passed" in capsys.readouterr().out


def test_the_statistical_test_of_the_draws_cannot_flake():
    """The bound test on 1,280 draws passes a correct draw for every one of 300 generator seeds
    (its limits lie 6 or more standard errors from the expected values; see the check module)."""
    for seed in range(300):
        torch.manual_seed(seed)
        incoming, outgoing = (
            nn.Linear(checks._FAN_IN, checks._LAYER_UNITS),
            nn.Linear(checks._LAYER_UNITS, checks._NEXT_OUTPUTS),
        )
        units = torch.arange(checks._LAYER_UNITS)[torch.arange(checks._LAYER_UNITS) % 5 != 0]
        recycle_reference(incoming, outgoing, units, None, torch.Generator().manual_seed(seed))
        draws = incoming.weight.detach()[units].flatten().double()
        bound = 0.25
        assert 0.97 * bound <= draws.abs().max() <= bound
        assert abs(draws.mean()) <= 0.1 * bound
        assert 0.85 <= draws.std() / (bound / 3**0.5) <= 1.15
        assert 0.4 <= (draws.abs() < bound / 2).double().mean() <= 0.6


# --- recycle_units: wrong answers ----------------------------------------------------------
def with_rows(draw):
    """A recycle_units that is right except for how it draws the fresh rows: draw(incoming, n, generator)."""

    def recycle(incoming, outgoing, units, optimizer=None, generator=None):
        with torch.no_grad():
            incoming.weight[units] = draw(incoming, outgoing, len(units), generator)
        _finish(incoming, outgoing, units, optimizer)

    return recycle


def uniform(bound):
    return lambda incoming, outgoing, n, g: (
        (torch.rand(n, incoming.in_features, generator=g) * 2 - 1) * bound(incoming, outgoing)
    )


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


def wrong_fresh_linear(incoming, outgoing, units, optimizer=None, generator=None):
    """Draws like nn.Linear by building one: the right distribution, but from the global generator."""
    fresh = nn.Linear(incoming.in_features, incoming.out_features)
    with torch.no_grad():
        incoming.weight[units] = fresh.weight[units]
    _finish(incoming, outgoing, units, optimizer)


def wrong_reset_parameters_copy(incoming, outgoing, units, optimizer=None, generator=None):
    fresh = copy.deepcopy(incoming)
    fresh.reset_parameters()
    with torch.no_grad():
        incoming.weight[units] = fresh.weight[units]
    _finish(incoming, outgoing, units, optimizer)


def wrong_own_generator(incoming, outgoing, units, optimizer=None, generator=None):
    recycle_reference(incoming, outgoing, units, optimizer, torch.Generator().manual_seed(0))


def wrong_no_no_grad(incoming, outgoing, units, optimizer=None, generator=None):
    bound = 1 / incoming.in_features**0.5
    incoming.weight[units] = torch.rand(len(units), incoming.in_features, generator=generator) * 2 * bound - bound


def wrong_no_generator_argument(incoming, outgoing, units, optimizer=None):
    recycle_reference(incoming, outgoing, units, optimizer)


def wrong_calls_package_draw(incoming, outgoing, units, optimizer=None, generator=None):
    from deadrelu.recycling import _fresh_rows

    with torch.no_grad():
        incoming.weight[units] = _fresh_rows(incoming.weight, units, generator)
    _finish(incoming, outgoing, units, optimizer)


def wrong_calls_package_reset(incoming, outgoing, units, optimizer=None, generator=None):
    from deadrelu import recycling as helpers  # an alias does not hide it

    recycle_reference(incoming, outgoing, units, None, generator)
    if optimizer is not None:
        for parameter, dim in ((incoming.weight, 0), (incoming.bias, 0), (outgoing.weight, 1)):
            helpers.reset_optimizer_state(optimizer, parameter, units, dim)


def wrong_calls_check_helper(incoming, outgoing, units, optimizer=None, generator=None):
    from deadrelu.checks.reviving_and_pruning import _state_tensors

    recycle_reference(incoming, outgoing, units, None, generator)
    for parameter, dim in ((incoming.weight, 0), (incoming.bias, 0), (outgoing.weight, 1)):
        for key in _state_tensors(optimizer, parameter):
            optimizer.state[parameter][key].index_fill_(dim, units, 0.0)


def wrong_index_error(incoming, outgoing, units, optimizer=None, generator=None):
    with torch.no_grad():
        incoming.weight[units + 100] = 0.0


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
        # the initialisation bound (a layer with fan_in 16, 100 units, followed by 4 outputs)
        (with_rows(uniform(lambda i, o: 1 / i.in_features)), "the bound 1/fan_in"),
        (with_rows(uniform(lambda i, o: 1 / i.out_features**0.5)), "comes from the fan_out"),
        (with_rows(uniform(lambda i, o: 1 / i.weight.shape[0])), "comes from the fan_out"),
        (with_rows(uniform(lambda i, o: 1 / o.out_features**0.5)), "comes from the fan_out"),
        (with_rows(uniform(lambda i, o: 1 / o.in_features**0.5)), "comes from the fan_out"),
        (with_rows(uniform(lambda i, o: (6 / i.in_features) ** 0.5)), "He-uniform bound"),
        (with_rows(uniform(lambda i, o: (6 / (i.in_features + i.out_features)) ** 0.5)), "Glorot bound"),
        (with_rows(uniform(lambda i, o: 0.5 / i.in_features**0.5)), "never come near the bound"),
        (
            with_rows(lambda i, o, n, g: torch.randn(n, i.in_features, generator=g) / i.in_features**0.5),
            "unbounded (normal) draw",
        ),
        (with_rows(lambda i, o, n, g: torch.rand(n, i.in_features, generator=g) / i.in_features**0.5), "one-sided"),
        (
            with_rows(
                lambda i, o, n, g: torch.clamp(torch.randn(n, i.in_features, generator=g), -1, 1) / i.in_features**0.5
            ),
            "not spread evenly",
        ),
        (
            with_rows(
                lambda i, o, n, g: torch.sign(torch.rand(n, i.in_features, generator=g) - 0.5) / i.in_features**0.5
            ),
            "not spread evenly",
        ),
        # the generator
        (wrong_fresh_linear, "global random number generator"),
        (wrong_reset_parameters_copy, "global random number generator"),
        (
            with_rows(lambda i, o, n, g: (torch.rand(n, i.in_features) * 2 - 1) / i.in_features**0.5),
            "global random number generator",
        ),
        (wrong_own_generator, "ignores the generator it is given"),
        # the package's implementation or a check module's helper, called from the answer
        (wrong_calls_package_draw, "calls the course's `_fresh_rows`"),
        (wrong_calls_package_reset, "calls the course's `reset_optimizer_state`"),
        (wrong_calls_check_helper, "`_state_tensors` from the check module"),
        # crashes end in hints
        (wrong_no_no_grad, "torch.no_grad()"),
        (wrong_no_generator_argument, "optimizer and generator may be None"),
        (wrong_index_error, "ROWS of incoming.weight"),
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
    a, b = copy.deepcopy(first), copy.deepcopy(second)
    a.weight = nn.Parameter(a.weight.data[~dead])
    a.bias = nn.Parameter(a.bias.data[~dead])
    b.weight = nn.Parameter(b.weight.data[:, ~dead])
    a.out_features = b.in_features = int((~dead).sum())
    return a, b


@pytest.mark.parametrize("fn", [prune_reference, prune_index_select, prune_deepcopy])
def test_prune_accepts_correct_alternatives(fn, capsys):
    check_prune_pair(fn)
    assert "prune_pair passed" in capsys.readouterr().out


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


def wrong_without_bias(first, second, dead):
    a, b = prune_reference(first, second, dead)
    a.bias = None
    return a, b


def wrong_returns_none(first, second, dead):
    prune_reference(first, second, dead)


def wrong_returns_three(first, second, dead):
    return (*prune_reference(first, second, dead), ~dead)


def wrong_returns_sequential(first, second, dead):
    a, b = prune_reference(first, second, dead)
    return nn.Sequential(a, nn.ReLU(), b)


def wrong_returns_weights(first, second, dead):
    a, b = prune_reference(first, second, dead)
    return a.weight, b.weight


def wrong_returns_originals(first, second, dead):
    return first, second


class Posing(torch.Tensor):
    """A tensor subclass that claims to equal everything."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def wrong_tensor_subclass(first, second, dead):
    a, b = nn.Linear(first.in_features, 1), nn.Linear(1, second.out_features)
    a.weight = nn.Parameter(torch.zeros(1, first.in_features).as_subclass(Posing))
    return a, b


def wrong_calls_package(first, second, dead):
    from deadrelu.pruning import _sliced_linear

    keep = (~dead).nonzero().flatten()
    return _sliced_linear(first, rows=keep), _sliced_linear(second, cols=keep)


def wrong_calls_prune_dead(first, second, dead):
    from deadrelu.pruning import prune_dead

    X = torch.randn(512, first.in_features, generator=torch.Generator().manual_seed(0))
    model = prune_dead(nn.Sequential(first, nn.ReLU(), second), X).model
    return model[0], model[2]


def wrong_bool_index_on_columns(first, second, dead):
    a, b = prune_reference(first, second, dead)
    with torch.no_grad():
        second.weight[:, torch.tensor([False] * 3)]  # an IndexError: a mask of the wrong length
    return a, b


@pytest.mark.parametrize(
    "fn, hint",
    [
        (wrong_transposed, "Remove rows of the first layer and columns of the second"),
        (wrong_keep_dead, "you kept the DEAD units"),
        (wrong_no_first_bias, "copy the first layer's bias too"),
        (wrong_fresh_second_bias, "copy the second layer's bias unchanged"),
        (wrong_in_place, "modified the layers it was given"),
        (wrong_without_bias, "keep the biases"),
        (wrong_returns_none, "returned NoneType, not a pair of nn.Linear"),
        (wrong_returns_three, "returned a tuple of 3 items"),
        (wrong_returns_sequential, "returned Sequential, not a pair"),
        (wrong_returns_weights, "not an nn.Linear"),
        (wrong_returns_originals, "each layer should lose exactly the 3 dead units"),
        (wrong_tensor_subclass, "a subclass of torch.Tensor"),
        (wrong_calls_package, "calls the course's `_sliced_linear`"),
        (wrong_calls_prune_dead, "calls the course's `prune_dead`"),
        (wrong_bool_index_on_columns, "`dead` is a bool tensor"),
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


# --- the prediction: which units ReDo recycles ---------------------------------------------
PRELUDE = "from deadrelu.checks.reviving_and_pruning import check_recycling_prediction"


def grade_prediction(answer):
    return run_graded_cell(ASSIGNMENT, "test_PREDICTED_RECYCLED", {"PREDICTED_RECYCLED": answer}, prelude=PRELUDE)


def test_the_key_is_what_recycle_dormant_recycles():
    """The hidden test's key, {0, 3, 6}, is what the course's ReDo recycles on the example layer."""
    model = nn.Sequential(nn.Linear(1, len(REDO_EXAMPLE_MEAN_ABS)), nn.ReLU(), nn.Linear(len(REDO_EXAMPLE_MEAN_ABS), 2))
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias.copy_(torch.tensor(REDO_EXAMPLE_MEAN_ABS))
    recycled = recycle_dormant(model, torch.ones(8, 1), tau=REDO_EXAMPLE_TAU, max_draws=1)["1"]
    assert set(recycled.tolist()) == {0, 3, 6}
    assert grade_prediction(set(recycled.tolist())) is None


@pytest.mark.parametrize("answer", [{0, 3, 6}, [6, 3, 0], (0, 3, 6), frozenset({3, 0, 6}), torch.tensor([0, 3, 6])])
def test_prediction_accepts_every_form_of_the_right_answer(answer):
    assert grade_prediction(answer) is None


@pytest.mark.parametrize(
    "answer, hint",
    [
        ({0, 6}, "exactly at τ"),  # a strict inequality
        ({0}, "τ-dormant is wider than dead"),
        ({0, 3, 5, 6}, "compared each unit's mean |output| with τ directly"),
        ({0, 1, 3, 5, 6}, "LARGEST unit"),
        ({0, 1, 3, 4, 5, 6, 7, 8, 9}, "divided by the layer's total"),
        ({1, 2, 3, 4, 5, 7, 8, 9}, "contribute LITTLE"),
        ({1, 2, 4, 5, 7, 8, 9}, "contribute LITTLE"),
        ({0, 3}, "you left out units"),
        ({0, 3, 6, 7}, "you included units whose score is above τ"),
        ({3, 7}, "both misses"),
        (set(), "you left out units"),
    ],
)
def test_prediction_rejects_wrong_answers_with_a_hint(answer, hint):
    message = grade_prediction(answer)
    assert message is not None and hint in message, message
    assert "{0, 3, 6}" not in message and "[0, 3, 6]" not in message  # the hint never gives the answer away


@pytest.mark.parametrize(
    "answer, words",
    [
        (None, "no prediction yet"),
        ("0, 3, 6", "not a set of unit indices"),
        ({0: True}, "not a set of unit indices"),
        (3, "not a set of unit indices"),
        ({0.0, 3.0}, "not a unit index"),
        ({True, 3}, "not a unit index"),
        ({0, 10}, "numbered 0 to 9"),
        ({-1}, "numbered 0 to 9"),
        ([0, 0, 3], "names a unit twice"),
    ],
)
def test_prediction_check_validates_the_form_only(answer, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_recycling_prediction(answer)


def test_public_check_does_not_reveal_whether_the_prediction_is_right(capsys):
    right, wrong = check_recycling_prediction({0, 3, 6}), check_recycling_prediction({1, 2})
    out = capsys.readouterr().out
    assert right == frozenset({0, 3, 6}) and wrong == frozenset({1, 2})
    assert out.count("has the right form") == 2 and "correct" not in out.lower()
