"""The training loop: seeded, the knobs do what they say, tracking and callbacks are wired in."""

import matplotlib
import pytest
import torch
from torch import nn

from deadrelu.data import load_digits_split
from deadrelu.tracking import DeadUnitTracker
from deadrelu.tracking_plots import (
    plot_colorful_dimension,
    plot_dead_over_steps,
    plot_firing_heatmap,
    plot_gradient_norm,
)
from deadrelu.training import evaluate_accuracy, steps_per_epoch, train

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(scaled=True, seed=0)


def small_mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10))


def test_same_seed_same_run_different_seed_different_run(digits):
    runs = [train(small_mlp(), digits, lr=0.1, steps=30, seed=s, progress=False) for s in (3, 3, 4)]
    assert runs[0].train_loss == runs[1].train_loss
    assert runs[0].train_loss != runs[2].train_loss


def test_learns_the_digits(digits):
    history = train(small_mlp(), digits, lr=0.2, epochs=15, batch_size=32, eval_every=50, progress=False)
    assert history.final_test_accuracy > 0.9
    assert len(history.steps) == 15 * (len(digits.y_train) // 32)  # full batches only
    assert history.eval_steps[-1] == history.steps[-1]
    assert history.steps_to_accuracy(0.5) is not None and history.steps_to_accuracy(1.01) is None


def test_gradient_clipping_bounds_the_update(digits):
    model_clipped, model_free = small_mlp(), small_mlp()
    w0 = model_clipped[0].weight.detach().clone()
    train(model_clipped, digits, lr=1.0, steps=1, clip_grad_norm=0.01, progress=False)
    train(model_free, digits, lr=1.0, steps=1, progress=False)
    clipped_step = torch.cat(
        [(p1 - p0).flatten() for p1, p0 in zip(model_clipped.parameters(), small_mlp().parameters())]
    ).norm()
    free_step = (model_free[0].weight - w0).norm()
    assert clipped_step.item() == pytest.approx(0.01, rel=1e-4)  # lr * clipped norm
    assert free_step.item() > 0.05


def test_warmup_ramps_the_learning_rate(digits):
    seen = []
    train(
        small_mlp(),
        digits,
        lr=0.4,
        steps=5,
        warmup_steps=4,
        callbacks=[lambda step, m, opt: seen.append(opt.param_groups[0]["lr"])],
        progress=False,
    )
    assert seen == pytest.approx([0.2, 0.3, 0.4, 0.4, 0.4])  # set after each step: (step + 1) / 4 * lr


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_optimizers_by_name(digits, optimizer):
    history = train(
        small_mlp(), digits, optimizer=optimizer, lr=0.01 if optimizer != "sgd" else 0.1, steps=40, progress=False
    )
    assert history.train_loss[-1] < history.train_loss[0]


def test_divergence_is_detected_and_stops(digits):
    history = train(small_mlp(), digits, lr=1e6, steps=200, progress=False)
    assert history.diverged and len(history.steps) < 200


def test_tracker_records_snapshots_and_pauses_during_evaluation(digits):
    model = small_mlp()
    tracker = DeadUnitTracker(model, every=10)
    history = train(model, digits, lr=0.1, steps=40, batch_size=16, eval_every=10, tracker=tracker, progress=False)
    tracking = history.tracking
    assert tracking.steps == [10, 20, 30, 40]
    assert list(tracking.layers) == ["1", "3"]
    track = tracking["1"]
    assert track.firing_rate_matrix.shape == (32, 4)
    assert track.histogram_matrix.shape == (40, 4)
    # each window holds 10 batches of 16 training examples and nothing from the evaluations
    assert track.histogram_matrix[:, 0].sum().item() <= 10 * 16 * 32
    assert not any(m._forward_hooks for m in model.modules()), "hooks must be gone after training"


def test_tracker_with_probe_measures_on_fixed_inputs(digits):
    model = small_mlp()
    tracker = DeadUnitTracker(model, every=5, probe=digits.X_train)
    history = train(model, digits, lr=0.1, steps=10, tracker=tracker, progress=False)
    assert history.tracking.source == f"probe of {len(digits.X_train)} examples"
    assert history.tracking.steps == [5, 10]


def test_too_high_learning_rate_kills_units_that_the_tracker_sees(digits):
    model = small_mlp()
    history = train(
        model, digits, lr=2.0, epochs=3, batch_size=32, tracker=DeadUnitTracker(model, every=20), progress=False
    )
    first_layer = history.tracking["1"].dead_fraction
    assert first_layer[-1] > 0.3 and first_layer[-1] > first_layer[0]


def test_tracking_plots_return_figures(digits):
    model = small_mlp()
    history = train(model, digits, lr=0.5, steps=40, tracker=DeadUnitTracker(model, every=10), progress=False)
    for plot in (plot_dead_over_steps, plot_firing_heatmap, plot_colorful_dimension):
        fig = plot(history)
        assert fig.axes and fig.axes[0].get_title()
    with pytest.raises(ValueError, match="no tracking data"):
        plot_dead_over_steps(train(small_mlp(), digits, steps=2, progress=False))


def _vertical_lines(ax):
    """x of every vertical line (axvline) on `ax`."""
    return [line.get_xdata()[0] for line in ax.lines if len(set(line.get_xdata())) == 1 and len(line.get_xdata()) == 2]


def test_epoch_ends_are_marked_at_the_last_step_of_every_epoch(digits):
    model = small_mlp()
    history = train(model, digits, lr=0.5, steps=40, tracker=DeadUnitTracker(model, every=5), progress=False)
    fig = plot_dead_over_steps(history, epoch_steps=12, epoch_label="epoch ends here")
    ax = fig.axes[0]
    assert _vertical_lines(ax) == [12, 24, 36]  # none past the last step (40)
    labels = ax.get_legend_handles_labels()[1]
    assert labels.count("epoch ends here") == 1 and sum("hidden" in label for label in labels) == 2
    assert _vertical_lines(plot_dead_over_steps(history).axes[0]) == []  # off unless asked for
    history = train(model, digits, lr=0.5, steps=47, tracker=DeadUnitTracker(model, every=5), progress=False)
    assert _vertical_lines(plot_dead_over_steps(history, epoch_steps=12).axes[0]) == [12, 24, 36]
    # an epoch that ends after the last snapshot (45) but within training (47) is marked too
    assert _vertical_lines(plot_dead_over_steps(history, epoch_steps=46).axes[0]) == [46]
    fig = plot_gradient_norm(history, epoch_steps=12)
    assert _vertical_lines(fig.axes[0]) == [12, 24, 36]
    assert list(fig.axes[0].lines[-1].get_ydata()) == history.grad_norm
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="epoch_steps must be an int >= 1"):
            plot_dead_over_steps(history, epoch_steps=bad)
    with pytest.raises(ValueError, match="no gradient norms"):
        plot_gradient_norm(history.tracking)


def test_argument_errors(digits):
    with pytest.raises(ValueError, match="exactly one of epochs= or steps="):
        train(small_mlp(), digits, progress=False)
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'"):
        train(small_mlp(), digits, optimizer="adamw", steps=1, progress=False)
    with pytest.raises(ValueError, match="every must be a positive int"):
        DeadUnitTracker(small_mlp(), every=0)


def test_threads_are_restored(digits):
    before = torch.get_num_threads()
    seen = []
    train(small_mlp(), digits, steps=2, callbacks=[lambda *_: seen.append(torch.get_num_threads())], progress=False)
    assert seen == [1, 1] and torch.get_num_threads() == before


def test_evaluate_accuracy_restores_mode(digits):
    model = small_mlp().train()
    accuracy = evaluate_accuracy(model, digits.X_test, digits.y_test)
    assert 0 <= accuracy <= 1 and model.training


def test_update_ratio_is_the_step_size_relative_to_the_weights(digits):
    model = small_mlp()
    before = model[0].weight.detach().clone()
    history = train(model, digits, lr=0.1, steps=1, record_update_ratio=True, progress=False)
    expected = ((model[0].weight.detach() - before).norm() / before.norm()).item()
    assert set(history.update_ratio) == {"0.weight", "2.weight", "4.weight"}
    assert history.update_ratio["0.weight"] == [pytest.approx(expected)]
    assert train(small_mlp(), digits, steps=1, progress=False).update_ratio == {}


def batch_sizes_seen(model):
    """Sizes of the batches `model` runs on in training mode (a forward pre-hook records them)."""
    sizes = []
    model.register_forward_pre_hook(lambda m, inputs: sizes.append(len(inputs[0])) if m.training else None)
    return sizes


@pytest.mark.parametrize("with_batch_norm", [False, True])
def test_no_short_batch_unless_asked_for_one_rule_for_every_model(digits, with_batch_norm):
    torch.manual_seed(0)
    middle = [nn.BatchNorm1d(16)] if with_batch_norm else []
    model = nn.Sequential(nn.Linear(64, 16), *middle, nn.ReLU(), nn.Linear(16, 10))
    sizes = batch_sizes_seen(model)
    history = train(model, digits, lr=0.1, epochs=3, batch_size=32, progress=False)
    assert len(digits.y_train) % 32 == 3  # the digits' 1,347 images leave 3 over at batch 32
    assert set(sizes) == {32}, f"train ran batches of {sorted(set(sizes))} examples; it was asked for 32"
    assert len(history.steps) == 3 * steps_per_epoch(len(digits.y_train), 32) == 3 * 42


def test_drop_last_false_keeps_the_short_batch_and_still_uses_every_example_once_per_epoch(digits):
    model = small_mlp()
    sizes = batch_sizes_seen(model)
    history = train(model, digits, lr=0.1, epochs=2, batch_size=32, drop_last=False, progress=False)
    assert sizes == ([32] * 42 + [3]) * 2
    assert len(history.steps) == 2 * steps_per_epoch(len(digits.y_train), 32, drop_last=False) == 2 * 43


def test_skipped_examples_are_reshuffled_into_the_next_epoch(digits):
    """drop_last skips different examples each epoch (a fresh permutation), so none is lost for good."""
    seen = []
    model = small_mlp()
    model.register_forward_pre_hook(lambda m, inputs: seen.append(inputs[0].sum(dim=1)) if m.training else None)
    train(model, digits, lr=0.0, epochs=4, batch_size=32, progress=False)
    per_epoch = [torch.cat(seen[i * 42 : (i + 1) * 42]) for i in range(4)]
    assert all(len(e) == 42 * 32 for e in per_epoch)
    assert len({tuple(sorted(e.tolist())) for e in per_epoch}) > 1


def test_a_set_smaller_than_a_batch_is_one_short_batch(digits):
    from deadrelu.data import DataSplit

    tiny = DataSplit(digits.X_train[:10], digits.y_train[:10], digits.X_test, digits.y_test)
    model = small_mlp()
    sizes = batch_sizes_seen(model)
    history = train(model, tiny, lr=0.1, epochs=2, batch_size=32, progress=False)
    assert sizes == [10, 10] and len(history.steps) == 2


@pytest.mark.parametrize(
    "n, batch, drop_last, expected",
    [
        (1347, 32, True, 42),
        (1347, 32, False, 43),
        (1344, 32, True, 42),
        (1344, 32, False, 42),
        (10, 32, True, 1),
        (10, 32, False, 1),
    ],
)
def test_steps_per_epoch(n, batch, drop_last, expected):
    assert steps_per_epoch(n, batch, drop_last) == expected


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_steps_per_epoch_rejects_a_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        steps_per_epoch(100, bad)


def test_per_layer_learning_rates(digits):
    model = small_mlp()
    seen = {}
    train(
        model,
        digits,
        lr=0.4,
        lr_scale={"0": 0.25},
        steps=1,
        progress=False,
        callbacks=[lambda step, m, opt: seen.update({id(p): g["lr"] for g in opt.param_groups for p in g["params"]})],
    )
    assert seen[id(model[0].weight)] == seen[id(model[0].bias)] == pytest.approx(0.1)
    assert seen[id(model[2].weight)] == seen[id(model[4].bias)] == pytest.approx(0.4)
    assert len(seen) == len(list(model.parameters()))
    with pytest.raises(ValueError, match="not modules of the model"):
        train(small_mlp(), digits, lr=0.4, lr_scale={"fc1": 0.5}, steps=1, progress=False)
