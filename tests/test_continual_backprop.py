"""Continual backprop: utility, maturity, replacement of the lowest-utility units."""

import pytest
import torch
from torch import nn

from deadrelu.continual_backprop import ContinualBackprop


def small_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    with torch.no_grad():
        model[0].bias[2] = -100.0  # unit 2 is dead: utility 0
    return model


def test_utility_follows_the_formula_and_hooks_ignore_eval_mode():
    model = small_model()
    X = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    with ContinualBackprop(model, replacement_rate=0.0, eta=0.99) as cbp:
        model.train()
        h = model[1](model[0](X))
        model(X)
        cbp(1, model, None)
        expected = 0.01 * h.detach().abs().mean(0) * model[2].weight.detach().abs().sum(0)
        torch.testing.assert_close(cbp.utility["1"], expected)
        model.eval()
        model(X * 100)  # an evaluation pass must not be recorded
        cbp(2, model, None)
        torch.testing.assert_close(
            cbp.utility["1"], 0.99 * expected + 0.01 * h.detach().abs().mean(0) * model[2].weight.detach().abs().sum(0)
        )
    assert cbp._handles == []


def test_replaces_the_dead_unit_once_mature_and_resets_its_state():
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    X = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    cbp = ContinualBackprop(model, replacement_rate=1 / 12, maturity=3)
    for step in range(1, 4):
        optimizer.zero_grad()
        model(X).pow(2).mean().backward()
        optimizer.step()
        cbp(step, model, optimizer)
    assert cbp.replaced["1"] == 1
    assert model[0].bias[2].item() == 0.0 and torch.equal(model[2].weight[:, 2], torch.zeros(3))
    assert torch.equal(optimizer.state[model[0].weight]["exp_avg"][2], torch.zeros(4))
    assert cbp.age["1"][2] == 0 and cbp.age["1"][0] == 3
    cbp.remove()
    cbp.remove()  # idempotent


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="replacement_rate"):
        ContinualBackprop(small_model(), replacement_rate=2.0)
    with pytest.raises(ValueError, match="eta"):
        ContinualBackprop(small_model(), eta=1.0)
