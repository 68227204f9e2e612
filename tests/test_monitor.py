"""DeadUnitMonitor and scan: exact counts, agreement with a brute-force reference, PyTorch's
hook contract, and clear errors."""

import pytest
import torch
from torch import nn

from deadrelu.activations import ACTIVATIONS, TORCH_ACTIVATIONS
from deadrelu.monitor import (
    ACTIVATION_MODULES,
    NEVER_NEGATIVE,
    ZERO_FOR_NEGATIVE_INPUTS,
    DeadUnitMonitor,
    Report,
    _Accumulator,
    scan,
)
from deadrelu.tracking import DeadUnitTracker


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def mlp_with_forced_dead_units(dead_first=(0, 3), dead_second=(1,)):
    """A 5-8-6-3 ReLU MLP whose listed units get bias -1000 (dead on any reasonable input)
    and whose other units get a large positive bias (alive on any reasonable input)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    with torch.no_grad():
        for layer, units, alive_bias in ((model[0], dead_first, 50.0), (model[2], dead_second, 500.0)):
            layer.bias.fill_(alive_bias)
            layer.bias[list(units)] = -1000.0
    return model


# --- a brute-force reference: store every activation, then apply the definitions -------
def reference_stats(model, batches, tau, unit_dims):
    """Firing rate, dormant score and dead count per activation module, from stored outputs."""
    stored = {}
    handles = [
        module.register_forward_hook(lambda m, i, o, name=name: stored.setdefault(name, []).append(o.detach().clone()))
        for name, module in model.named_modules()
        if isinstance(module, (nn.ReLU, nn.GELU, nn.LeakyReLU))
    ]
    with torch.no_grad():
        for batch in batches:
            model(batch)
    for handle in handles:
        handle.remove()
    result = {}
    for name, outputs in stored.items():
        everything = torch.cat(outputs)
        dim = unit_dims[everything.dim()]
        per_unit = everything.movedim(dim, 0).reshape(everything.shape[dim], -1)  # units x observations
        firing = (per_unit > 0).double().mean(dim=1)
        mean_abs = per_unit.abs().double().mean(dim=1)
        scores = mean_abs / mean_abs.mean() if mean_abs.mean() > 0 else torch.zeros_like(mean_abs)  # silent layer
        result[name] = {
            "firing": firing,
            "scores": scores,
            "dead": int((per_unit > 0).sum(dim=1).eq(0).sum()),
            "dormant": int((scores <= tau).sum()),
        }
    return result


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.act1 = nn.Conv2d(1, 4, 3, padding=1), nn.ReLU()
        self.conv2, self.act2 = nn.Conv2d(4, 6, 3, padding=1), nn.ReLU()
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        x = self.act2(self.conv2(self.act1(self.conv1(x))))
        return self.head(x.mean(dim=(2, 3)))


class TinySequenceModel(nn.Module):
    """(N, T, F) activations: a per-time-step MLP, as in a transformer's feed-forward block."""

    def __init__(self):
        super().__init__()
        self.up, self.act, self.down = nn.Linear(4, 7), nn.ReLU(), nn.Linear(7, 4)

    def forward(self, x):
        return self.down(self.act(self.up(x)))


@pytest.mark.parametrize(
    "make_model, make_batch",
    [
        (
            lambda: nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 9), nn.GELU(), nn.Linear(9, 2)),
            lambda g: torch.randn(17, 6, generator=g) - 0.5,
        ),
        (TinyCNN, lambda g: torch.randn(5, 1, 8, 8, generator=g)),
        (TinySequenceModel, lambda g: torch.randn(3, 11, 4, generator=g)),
    ],
    ids=["mlp", "cnn", "sequence"],
)
def test_matches_brute_force_reference(make_model, make_batch):
    torch.manual_seed(1)
    model = make_model()
    with torch.no_grad():  # kill the first unit of every layer, so that the counts are not all zero
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                module.bias[0] = -100.0
    g = seeded(2)
    batches = [make_batch(g) for _ in range(4)]
    with DeadUnitMonitor(model, tau=0.3) as monitor:
        with torch.no_grad():
            for batch in batches:
                model(batch)
    report = monitor.report()
    reference = reference_stats(model, batches, tau=0.3, unit_dims={2: 1, 3: 2, 4: 1})
    assert [layer.name for layer in report.layers] == list(reference)
    for layer in report.layers:
        expected = reference[layer.name]
        torch.testing.assert_close(layer.firing_rate.double(), expected["firing"], atol=1e-6, rtol=0)
        torch.testing.assert_close(layer.dormant_score.double(), expected["scores"], atol=1e-5, rtol=1e-5)
        assert layer.dormant == expected["dormant"]
        if layer.activation == "ReLU":
            assert layer.dead == expected["dead"]
    assert sum(layer.dead for layer in report.layers) > 0, "fixture should contain some dead units"


def test_exact_counts_on_units_forced_dead_by_bias():
    model = mlp_with_forced_dead_units(dead_first=(0, 3, 7), dead_second=(1, 4))
    report = scan(model, torch.randn(300, 5, generator=seeded()))
    first, second = report.layers
    assert (first.name, first.units, first.dead) == ("1", 8, 3)
    assert (second.name, second.units, second.dead) == ("3", 6, 2)
    assert first.dead_units.tolist() == [0, 3, 7]
    assert second.dead_units.tolist() == [1, 4]
    assert first.dormant >= first.dead  # dead units have score 0, so they are τ-dormant for any τ
    assert report.dead == 5 and report.units == 14


def test_dead_means_dead_on_every_batch_not_on_one():
    """A unit silent on one batch but firing on another is not dead (the seed article's bug)."""
    model = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 1))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[0].bias.zero_()
    with DeadUnitMonitor(model) as monitor, torch.no_grad():
        model(-torch.ones(4, 1))  # silent on this batch
        assert monitor.report().layers[0].dead == 1
        model(torch.ones(4, 1))  # fires on this one
    assert monitor.report().layers[0].dead == 0
    assert monitor.report().layers[0].firing_rate.item() == pytest.approx(0.5)


def test_outputs_and_gradients_unchanged_with_monitor_attached():
    model = mlp_with_forced_dead_units()
    x = torch.randn(32, 5, generator=seeded(3))
    expected = model(x)
    expected.sum().backward()
    expected_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    with DeadUnitMonitor(model):
        output = model(x)
        output.sum().backward()
    assert torch.equal(output, expected)
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), expected_grads))


def test_hooks_return_none_and_are_all_removed():
    model = mlp_with_forced_dead_units()
    before = [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()]
    monitor = DeadUnitMonitor(model)
    relu = model[1]
    (hook,) = relu._forward_hooks.values()
    x = torch.randn(3, 8)
    assert hook(relu, (x,), torch.relu(x)) is None
    monitor.remove()
    monitor.remove()  # idempotent
    after = [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()]
    assert after == before and not monitor.active


def test_context_manager_removes_hooks_even_after_an_error():
    model = mlp_with_forced_dead_units()
    with pytest.raises(RuntimeError):
        with DeadUnitMonitor(model) as monitor:
            model(torch.randn(2, 7))  # wrong width: the model raises
    assert not monitor.active
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_in_place_relu_train_and_eval_and_no_grad():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(8, 2))
    with torch.no_grad():
        model[0].bias[2] = -1000.0
    x = torch.randn(64, 5, generator=seeded(4))
    for mode in ("train", "eval"):
        getattr(model, mode)()
        with DeadUnitMonitor(model) as monitor:
            out = model(x)
            out.sum().backward()  # in-place ReLU plus the monitor: autograd still works
            with torch.no_grad():
                model(x)
        layer = monitor.report().layers[0]
        assert layer.dead == 1 and layer.dead_units.tolist() == [2], mode


def never_buffer(monkeypatch):
    """Make every accumulator reduce each batch at once (the path of large outputs)."""
    monkeypatch.setattr(_Accumulator, "BUFFER_ELEMENTS", 0)
    monkeypatch.setattr(_Accumulator, "BUFFER_ELEMENTS_THREADED", 0)


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "reduced at once"])
def test_memory_does_not_grow_with_the_number_of_examples(monkeypatch, buffered):
    if not buffered:
        never_buffer(monkeypatch)
    model = mlp_with_forced_dead_units()

    def stored_elements(n_batches):
        with DeadUnitMonitor(model) as monitor, torch.no_grad():
            for _ in range(n_batches):
                model(torch.randn(64, 5))
        return sum(acc.stored_elements() for acc in monitor._stats.values())

    units = 8 + 6
    # per layer: two totals per unit, the buffer, the per-batch sums waiting to be totalled
    bound = 2 * units + 2 * _Accumulator.BUFFER_ELEMENTS + 2 * _Accumulator.FOLD_EVERY * units
    assert max(stored_elements(1), stored_elements(300), stored_elements(1000)) <= bound
    if buffered:
        assert stored_elements(1) == stored_elements(300) == stored_elements(1000)


def test_shared_activation_module_is_reported_per_call():
    class SharedReLU(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.out = nn.Linear(3, 4), nn.Linear(4, 5), nn.Linear(5, 1)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.out(self.act(self.fc2(self.act(self.fc1(x)))))

    report = scan(SharedReLU(), torch.randn(10, 3))
    assert [(layer.name, layer.units) for layer in report.layers] == [("act[0]", 4), ("act[1]", 5)]


def test_signed_activations_count_tau_dormant_as_dead_and_say_so():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(), nn.Linear(6, 2))
    with torch.no_grad():
        model[0].bias[0] = -1000.0  # always negative: LeakyReLU still outputs (and passes gradient)
    layer = scan(model, torch.randn(50, 4), tau=0.1).layers[0]
    assert layer.dead_criterion.startswith("τ-dormant")
    assert layer.firing_rate[0] == 0  # never > 0 ...
    assert layer.dead == layer.dormant  # ... but "dead" follows the τ-dormant score
    assert "activation can be negative" in repr(scan(model, torch.randn(5, 4)))


def test_watch_chosen_modules_by_name_or_object_and_override_unit_dim():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(2, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6, 2), nn.ReLU())
    x = torch.randn(4, 2, 8)
    by_name = scan(model, x, modules=["1"], unit_dim=1)
    assert [(layer.name, layer.units) for layer in by_name.layers] == [("1", 3)]  # 3 channels of (N, C, L)
    by_object = scan(model, x, modules=[model[4]])
    assert [layer.name for layer in by_object.layers] == ["4"]
    per_layer = scan(model, x, unit_dim={"1": 1})
    assert [layer.units for layer in per_layer.layers] == [3, 2]


def test_scan_accepts_tensor_tuple_and_dataloader_and_restores_mode():
    model = mlp_with_forced_dead_units().train()
    X = torch.randn(100, 5, generator=seeded(5))
    y = torch.zeros(100, dtype=torch.long)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=16)
    reports = [scan(model, X), scan(model, (X, y)), scan(model, loader), scan(model, X, batch_size=7)]
    for report in reports:
        assert [layer.dead for layer in report.layers] == [2, 1]
        assert report.layers[0].observations == 100
    assert model.training, "scan must restore train mode"


def test_report_prints_as_text_and_html():
    report = scan(mlp_with_forced_dead_units(), torch.randn(20, 5))
    assert isinstance(report, Report)
    text, html = repr(report), report._repr_html_()
    assert "dead %" in text and "25.0" in text  # 2 of 8 units dead in the first layer
    assert html.startswith("<table>") and "<td>25.0</td>" in html
    assert report["3"].dead == 1


# --- errors --------------------------------------------------------------------------
def test_error_for_a_model_without_activation_modules():
    class FunctionalReLU(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return torch.relu(self.fc(x))

    with pytest.raises(ValueError, match="no activation modules found in FunctionalReLU.*looked for.*ReLU.*F.relu"):
        DeadUnitMonitor(FunctionalReLU())


def test_error_for_an_unknown_module_name_suggests_close_ones():
    model = nn.Sequential()
    model.add_module("hidden_relu", nn.ReLU())
    with pytest.raises(ValueError, match="no module named 'hiden_relu'.*'hidden_relu'"):
        DeadUnitMonitor(model, modules=["hiden_relu"])


@pytest.mark.parametrize("tau", [-0.1, 1.5, "0.1", None, True])
def test_error_for_tau_outside_zero_one(tau):
    with pytest.raises(ValueError, match="tau must be a number in \\[0, 1\\]"):
        DeadUnitMonitor(mlp_with_forced_dead_units(), tau=tau)


def test_error_for_report_before_any_data():
    with DeadUnitMonitor(mlp_with_forced_dead_units()) as monitor:
        with pytest.raises(RuntimeError, match="has seen no data yet"):
            monitor.report()


def test_error_for_unsupported_rank_without_override():
    model = nn.Sequential(nn.ReLU())
    with pytest.raises(ValueError, match="rank 5.*unit_dim"):
        scan(model, torch.randn(2, 3, 4, 5, 6))
    assert scan(model, torch.randn(2, 3, 4, 5, 6), unit_dim=1).layers[0].units == 3


def test_paused_monitor_ignores_forward_passes():
    model = mlp_with_forced_dead_units()
    with DeadUnitMonitor(model) as monitor, torch.no_grad():
        model(torch.randn(10, 5))
        with monitor.paused():
            model(torch.randn(99, 5))
    assert monitor.report().layers[0].observations == 10


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_tensors():
    model = mlp_with_forced_dead_units().cuda()
    report = scan(model, torch.randn(50, 5).cuda())
    assert [layer.dead for layer in report.layers] == [2, 1]


# --- rarely-firing units: alive is alive, however rarely -------------------------------
# The course is about units that fire rarely. A unit that fires on 1 example in 1,000 is
# alive: a rule such as "firing rate <= 1 % counts as dead" must fail these tests.
RARE_EXAMPLES = 1000


def rarely_firing_mlp():
    """1 -> 3 ReLU -> 1 on inputs that are 0 except on one example, where x = 1:
    unit 0 fires only on that example, unit 1 never fires (dead), unit 2 always fires."""
    model = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0], [-1.0], [0.0]]))
        model[0].bias.copy_(torch.tensor([0.0, 0.0, 1.0]))
    return model


def inputs_firing_once(position):
    X = torch.zeros(RARE_EXAMPLES, 1)
    X[position] = 1.0
    return X


def expect_rare_unit_alive(layer, observations=RARE_EXAMPLES):
    assert layer.observations == observations
    assert layer.firing_rate[0].item() == pytest.approx(1 / observations, rel=1e-6), "unit 0 fires exactly once"
    assert layer.dead_mask.tolist() == [False, True, False], "firing once is alive, never firing is dead"
    assert layer.dead == 1 and layer.dead_units.tolist() == [1] and layer.dead_fraction == pytest.approx(1 / 3)


POSITIONS = [0, 1, 499, 500, 511, 512, 998, RARE_EXAMPLES - 1]  # first, middle, batch edges, last
BATCH_SIZES = [1, 7, 64, 100, 128, 333, 500, 999, 1000, 1024]  # dividing 1,000 and not


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_scan_counts_a_unit_firing_once_in_a_thousand_as_alive(position, batch_size):
    report = scan(rarely_firing_mlp(), inputs_firing_once(position), batch_size=batch_size)
    expect_rare_unit_alive(report.layers[0])


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "reduced at once"])
@pytest.mark.parametrize("position", [0, 500, RARE_EXAMPLES - 1])
@pytest.mark.parametrize("batch_size", [1, 16, 64, 300, 1000])
def test_monitor_during_training_counts_a_unit_firing_once_as_alive(monkeypatch, buffered, position, batch_size):
    if not buffered:
        never_buffer(monkeypatch)
    model = rarely_firing_mlp()
    X = inputs_firing_once(position)
    with DeadUnitMonitor(model) as monitor:
        for xb in X.split(batch_size):
            model(xb).sum().backward()  # with gradients, as in training
    expect_rare_unit_alive(monitor.report().layers[0])
    with DeadUnitMonitor(model) as silent, torch.no_grad():
        for xb in torch.cat([X[:position], X[position + 1 :]]).split(batch_size):
            model(xb)
    assert silent.report().layers[0].dead_mask.tolist() == [True, True, False], "without its example it is dead"


def test_a_channel_firing_at_one_position_of_one_example_is_alive():
    conv = nn.Sequential(nn.Conv2d(1, 2, kernel_size=1), nn.ReLU())
    with torch.no_grad():
        conv[0].weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
        conv[0].bias.zero_()
    X = torch.zeros(RARE_EXAMPLES, 1, 2, 2)
    X[RARE_EXAMPLES // 2, 0, 1, 0] = 1.0
    for batch_size in (64, 1000):
        layer = scan(conv, X, batch_size=batch_size).layers[0]
        assert layer.observations == 4 * RARE_EXAMPLES
        assert layer.dead_mask.tolist() == [False, True] and layer.firing_rate[0] > 0


@pytest.mark.parametrize("probe", [True, False], ids=["probe", "training batches"])
def test_tracker_counts_a_unit_firing_once_as_alive(probe):
    model = rarely_firing_mlp()
    X = inputs_firing_once(RARE_EXAMPLES - 1)
    batches = X.split(100)
    tracker = DeadUnitTracker(model, every=len(batches), probe=X if probe else None)
    with tracker:
        for xb in batches:
            model(xb).sum().backward()
            tracker.step()
    assert tracker.history.steps == [len(batches)]
    assert tracker.history["1"].dead_fraction == [pytest.approx(1 / 3)]
    assert tracker.history["1"].firing_rates[0][0].item() == pytest.approx(1 / RARE_EXAMPLES)


# --- one decision per unit; one list of activation types ------------------------------
def test_dead_is_read_from_one_boolean_per_unit():
    layer = scan(mlp_with_forced_dead_units(dead_first=(0, 3, 7)), torch.randn(50, 5)).layers[0]
    assert layer.dead_mask.dtype == torch.bool and layer.dead_mask.shape == (8,)
    assert layer.dead_mask.nonzero().flatten().tolist() == layer.dead_units.tolist() == [0, 3, 7]
    assert layer.dead == 3 and layer.dead_fraction == 3 / 8
    assert layer.never_negative and layer.dead_criterion == "never > 0"
    assert torch.equal(layer.dead_mask_at(0.9), layer.dead_mask), "never > 0 does not depend on τ"


def test_signed_layers_dead_mask_follows_tau():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 2))
    layer = scan(model, torch.randn(50, 4), tau=0.1).layers[0]
    assert not layer.never_negative
    assert torch.equal(layer.dead_mask, layer.dormant_score <= 0.1)
    assert torch.equal(layer.dead_mask_at(1.0), layer.dormant_score <= 1.0)


def test_activation_lists_come_from_the_one_table():
    assert ACTIVATION_MODULES == tuple(spec.module for spec in TORCH_ACTIVATIONS)
    assert set(ZERO_FOR_NEGATIVE_INPUTS) == {nn.ReLU, nn.ReLU6}
    assert set(NEVER_NEGATIVE) == {nn.ReLU, nn.ReLU6, nn.Softplus, nn.Sigmoid, nn.Hardsigmoid}
    assert list(ACTIVATIONS) == ["ReLU", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU", "Softplus"]
    for spec in ACTIVATIONS.values():
        assert type(spec.build(spec.default)) is spec.module
    elementwise = {
        cls
        for cls in vars(nn).values()
        if isinstance(cls, type) and issubclass(cls, nn.Module) and cls.__module__ == "torch.nn.modules.activation"
    }
    not_elementwise = {"MultiheadAttention", "Softmax", "Softmin", "Softmax2d", "LogSoftmax", "GLU"}
    assert {cls for cls in elementwise if cls.__name__ not in not_elementwise} == set(ACTIVATION_MODULES)


def test_monitor_knows_modules_the_course_does_not_build():
    """ReLU6 in a user's model: watched by default, and dead means never > 0."""
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU6(), nn.Linear(4, 1))
    with torch.no_grad():
        model[0].bias[1] = -100.0
    layer = scan(model, torch.randn(40, 3)).layers[0]
    assert layer.activation == "ReLU6" and layer.never_negative
    assert layer.dead_units.tolist() == [1]


def test_reset_forgets_everything_but_keeps_the_hooks():
    model = rarely_firing_mlp()
    with DeadUnitMonitor(model) as monitor, torch.no_grad():
        model(inputs_firing_once(3)[:64])  # unit 0 fires here
        monitor.reset()
        with pytest.raises(RuntimeError, match="has seen no data yet"):
            monitor.report()
        for xb in torch.zeros(100, 1).split(64):  # and never here
            model(xb)
    layer = monitor.report().layers[0]
    assert layer.observations == 100 and layer.dead_mask.tolist() == [True, True, False]


def test_half_precision_outputs_are_counted_in_float32():
    model = mlp_with_forced_dead_units()
    X = torch.randn(3000, 5, generator=seeded(6))
    expected = scan(model, X, batch_size=100)
    for dtype in (torch.bfloat16, torch.float16):
        report = scan(model.to(dtype), X.to(dtype), batch_size=100)
        for layer, reference in zip(report.layers, expected.layers):
            assert layer.dead_units.tolist() == reference.dead_units.tolist()
            assert layer.observations == 3000 and layer.firing_rate.max() == 1.0, "counts past 2048 stay exact"
