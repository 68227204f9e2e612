"""ReDo recycling and dead-unit pruning on small MLPs with units forced dead."""

import pytest
import torch
from torch import nn

from deadrelu.monitor import scan
from deadrelu.pruning import prune_dead
from deadrelu.recycling import ReDo, recycle_dormant
from deadrelu.stacks import hidden_layers


def relu_mlp(widths=(6, 10, 8, 3), dead=((1, 4, 9), (0, 5)), seed=1):
    """A ReLU MLP whose listed units of each hidden layer are dead (bias -1000)."""
    torch.manual_seed(seed)
    layers = []
    for n_in, n_out in zip(widths[:-2], widths[1:-1]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(widths[-2], widths[-1]))
    with torch.no_grad():
        for linear, units in zip([m for m in model if isinstance(m, nn.Linear)], dead):
            linear.bias[list(units)] = -1000.0
    return model


X = torch.randn(200, 6, generator=torch.Generator().manual_seed(1))


def test_fixture_has_exactly_the_forced_dead_units():
    report = scan(relu_mlp(), X)
    assert [layer.dead_units.tolist() for layer in report.layers] == [[1, 4, 9], [0, 5]]


# --- pruning ---------------------------------------------------------------------------
def test_pruning_keeps_outputs_and_removes_exactly_the_dead_units():
    model = relu_mlp()
    result = prune_dead(model, X)
    with torch.no_grad():
        torch.testing.assert_close(result.model(X), model(X), atol=1e-6, rtol=0)
    assert {k: v.tolist() for k, v in result.removed.items()} == {"1": [1, 4, 9], "3": [0, 5]}
    linears = [m for m in result.model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(6, 7), (7, 6), (6, 3)]
    # parameters removed: 3 rows (6 weights + 1 bias each) and 3 columns (8 weights) of layer 1's
    # units, then 2 rows (10 + 1) of layer 2's units and 2 columns (3 weights) of the output layer
    removed_parameters = 3 * 7 + 3 * 8 + 2 * 11 + 2 * 3 - 3 * 2  # the 3x2 crossing counted twice
    assert result.parameters_before - result.parameters_after == removed_parameters
    assert (result.flops_before, result.flops_after) == (6 * 10 + 10 * 8 + 8 * 3, 6 * 7 + 7 * 6 + 6 * 3)


def test_pruning_keeps_the_surviving_weights_exactly():
    model = relu_mlp()
    pruned = prune_dead(model, X).model
    keep1 = [i for i in range(10) if i not in (1, 4, 9)]
    keep2 = [i for i in range(8) if i not in (0, 5)]
    assert torch.equal(pruned[0].weight, model[0].weight[keep1])
    assert torch.equal(pruned[2].weight, model[2].weight[keep2][:, keep1])
    assert torch.equal(pruned[4].weight, model[4].weight[:, keep2])
    assert torch.equal(pruned[4].bias, model[4].bias)


def test_pruning_does_not_modify_the_original_and_handles_an_all_dead_layer():
    model = relu_mlp(dead=(range(10), ()))
    before = [p.clone() for p in model.parameters()]
    result = prune_dead(model, X)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert result.model[0].out_features == 1 and len(result.removed["1"]) == 9
    with torch.no_grad():
        torch.testing.assert_close(result.model(X), model(X), atol=1e-6, rtol=0)


def test_pruning_refuses_what_it_cannot_do_exactly():
    leaky = nn.Sequential(nn.Linear(6, 4), nn.LeakyReLU(), nn.Linear(4, 2))
    with pytest.raises(ValueError, match="LeakyReLU.*not exactly 0"):
        prune_dead(leaky, X)
    normed = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(ValueError, match="BatchNorm1d"):
        prune_dead(normed, X)
    with pytest.raises(ValueError, match="expected nn.Linear at position 0.*Conv2d"):
        hidden_layers(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Linear(2, 2)))


# --- recycling -------------------------------------------------------------------------
def trained_state(model, optimizer_name="adam"):
    """One optimizer step so that the optimizer has state for every parameter."""
    optimizer = {"adam": torch.optim.Adam, "sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)}[optimizer_name](
        model.parameters()
    )
    loss = model(X).pow(2).mean() + sum(p.sum() * 0 for p in model.parameters())
    loss.backward()
    optimizer.step()
    return optimizer


@pytest.mark.parametrize("optimizer_name", ["adam", "sgd"])
def test_recycling_revives_chosen_units_and_touches_nothing_else(optimizer_name):
    model = relu_mlp()
    optimizer = trained_state(model, optimizer_name)
    params_before = {name: p.detach().clone() for name, p in model.named_parameters()}
    state_before = {
        name: {k: v.clone() for k, v in optimizer.state[p].items() if isinstance(v, torch.Tensor)}
        for name, p in model.named_parameters()
    }

    recycled = recycle_dormant(model, X, optimizer, tau=0.1)  # the 0.1-dormant units are exactly the dead ones
    assert {k: v.tolist() for k, v in recycled.items()} == {"1": [1, 4, 9], "3": [0, 5]}
    after = scan(model, X, tau=0.1)
    for name, units in recycled.items():
        assert (after[name].dormant_score[units] > 0.1).all(), f"recycled units of layer {name} are still dormant"

    # the slices that belong to recycled units: (parameter, dim, units); everything else must stay
    recycled_slices = [
        ("0.weight", 0, [1, 4, 9]),
        ("0.bias", 0, [1, 4, 9]),
        ("2.weight", 1, [1, 4, 9]),
        ("2.weight", 0, [0, 5]),
        ("2.bias", 0, [0, 5]),
        ("4.weight", 1, [0, 5]),
    ]
    for name, p in model.named_parameters():
        mask = torch.ones_like(p, dtype=torch.bool)
        for param_name, dim, units in recycled_slices:
            if param_name == name:
                mask.index_fill_(dim, torch.tensor(units), False)
        assert torch.equal(p.detach()[mask], params_before[name][mask]), f"recycling changed other weights of {name}"
        for key, value in state_before[name].items():
            new_value = optimizer.state[p][key]
            if value.shape == p.shape:
                assert torch.equal(new_value[mask], value[mask]), f"optimizer state {key} of {name} changed elsewhere"
                assert (new_value[~mask] == 0).all(), f"optimizer state {key} of {name} not reset for recycled weights"
    assert (model[2].weight[:, [1, 4, 9]] == 0).all() and (model[4].weight[:, [0, 5]] == 0).all()


def test_recycling_dead_units_leaves_outputs_unchanged_and_never_the_output_layer():
    model = relu_mlp()
    with torch.no_grad():
        before = model(X)
        output_rows = model[4].weight.clone(), model[4].bias.clone()
    recycle_dormant(model, X, tau=0.0)
    with torch.no_grad():
        torch.testing.assert_close(model(X), before)  # dead units contributed 0; their outgoing weights are now 0
    assert torch.equal(model[4].bias, output_rows[1])
    assert torch.equal(model[4].weight[:, [1, 2, 3, 4, 6, 7]], output_rows[0][:, [1, 2, 3, 4, 6, 7]])


def test_recycling_without_optimizer_reset_keeps_the_old_state():
    model = relu_mlp()
    optimizer = trained_state(model, "adam")
    state = optimizer.state[model[0].weight]["exp_avg_sq"].clone()
    recycle_dormant(model, X, optimizer, tau=0.0, reset_optimizer=False)
    assert torch.equal(optimizer.state[model[0].weight]["exp_avg_sq"], state)


def test_units_drawn_dormant_again_are_redrawn():
    """One draw (plain ReDo) can land a unit dormant again; by default it is drawn again."""
    once = relu_mlp()
    recycled = recycle_dormant(once, X, tau=0.1, max_draws=1)
    still_dormant = [int(u) for u in recycled["3"] if scan(once, X, tau=0.1)["3"].dormant_score[u] <= 0.1]
    assert still_dormant, "this fixture is chosen so that one fresh row lands dormant"
    redrawn = relu_mlp()
    recycle_dormant(redrawn, X, tau=0.1)
    assert (scan(redrawn, X, tau=0.1)["3"].dormant_score[recycled["3"]] > 0.1).all()


# --- ReDo during training ----------------------------------------------------------------
def test_redo_recycles_every_period_and_records_each_round():
    model = relu_mlp()
    with torch.no_grad():
        before = model(X)
    redo = ReDo(X, period=2, tau=0.0, seed=0)
    redo(1, model, None)
    assert redo.rounds == [], "no round before the first multiple of the period"
    redo(2, model, None)
    assert redo.steps == [2]
    assert redo.rounds[0].dead == {"1": 3, "3": 2} and redo.rounds[0].recycled == {"1": 3, "3": 2}
    with torch.no_grad():
        torch.testing.assert_close(model(X), before)  # recycled dead units: outgoing weights 0, outputs unchanged
    redo(3, model, None)
    redo(4, model, None)
    assert redo.steps == [2, 4]
    assert redo.rounds[1].dead == {name: n for name, n in redo.rounds[1].recycled.items()}, (
        "τ = 0 recycles exactly the dead units"
    )
    assert redo.recycled == {name: redo.rounds[0].recycled[name] + redo.rounds[1].recycled[name] for name in ("1", "3")}


def test_redo_draws_from_its_seed_and_checks_its_arguments():
    a, b = relu_mlp(), relu_mlp()
    ReDo(X, period=1, tau=0.0, seed=5)(1, a, None)
    ReDo(X, period=1, tau=0.0, seed=5)(1, b, None)
    assert torch.equal(a[0].weight, b[0].weight), "the same seed must give the same fresh weights"
    c = relu_mlp()
    ReDo(X, period=1, tau=0.0, seed=6)(1, c, None)
    assert not torch.equal(a[0].weight, c[0].weight)
    with pytest.raises(ValueError, match="period"):
        ReDo(X, period=0)
    with pytest.raises(ValueError):
        ReDo(X, tau=-0.1)


def test_redo_as_a_training_callback_recycles_at_multiples_of_its_period():
    from deadrelu.data import DataSplit
    from deadrelu.training import train

    y = torch.arange(200) % 3
    data = DataSplit(X, y, X[:50], y[:50])
    model = relu_mlp()
    redo = ReDo(X, period=5, tau=0.0, seed=0)
    train(model, data, optimizer="adam", lr=1e-3, steps=12, batch_size=20, progress=False, callbacks=[redo])
    assert redo.steps == [5, 10]
    assert redo.rounds[0].dead == {"1": 3, "3": 2}, "the first round finds the fixture's dead units"
    assert (scan(model, X)["1"].firing_rate[[1, 4, 9]] > 0).all(), (
        "the first layer's dead units fire again after training"
    )


# --- notebook 07's stored sweep ------------------------------------------------------------
def test_the_stored_width_sweep_matches_a_fresh_run_of_its_script():
    """The sweep notebook 07 shows is what its script computes today (seed 0; a stale file fails here)."""
    import importlib.util
    from pathlib import Path

    from deadrelu.data import load_digits_split
    from deadrelu.sweeps import load_sweep

    path = Path(__file__).resolve().parents[1] / "scripts" / "sweeps" / "07_width_and_recycling.py"
    spec = importlib.util.spec_from_file_location("sweep_07", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    record = load_sweep(script.NAME)
    assert record["command"] == "python scripts/sweeps/07_width_and_recycling.py"
    stored = {(entry["width"], entry["redo"]): entry["runs"] for entry in record["results"]}
    assert sorted(stored) == sorted((w, r) for w in script.HIDDEN_WIDTHS for r in (False, True))
    assert all([run["seed"] for run in runs] == list(script.SEEDS) for runs in stored.values())
    data = load_digits_split(scaled=True, seed=0)
    for width, recycling in ((16, True), (128, False)):
        fresh = script.run(width, recycling, 0, data)
        kept = stored[(width, recycling)][0]
        assert fresh["dead_percent"] == pytest.approx(kept["dead_percent"], abs=1e-6), (width, recycling)
        assert fresh["test_accuracy_percent"] == pytest.approx(kept["test_accuracy_percent"], abs=1e-6), (
            width,
            recycling,
        )
