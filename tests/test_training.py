"""The training loop: seeded, the knobs do what they say, tracking and callbacks are wired in."""

import math

import matplotlib
import pytest
import torch
from torch import nn

from deadrelu.data import load_digits_split
from deadrelu.tracking import DeadUnitTracker
from deadrelu.tracking_plots import plot_colorful_dimension, plot_dead_over_steps, plot_firing_heatmap
from deadrelu.training import evaluate_accuracy, train

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
    assert len(history.steps) == 15 * math.ceil(len(digits.y_train) / 32)
    assert history.eval_steps[-1] == history.steps[-1]
    assert history.steps_to_accuracy(0.5) is not None and history.steps_to_accuracy(1.01) is None


def test_gradient_clipping_bounds_the_update(digits):
    model_clipped, model_free = small_mlp(), small_mlp()
    w0 = model_clipped[0].weight.detach().clone()
    train(model_clipped, digits, lr=1.0, steps=1, clip_grad_norm=0.01, progress=False)
    train(model_free, digits, lr=1.0, steps=1, progress=False)
    clipped_step = torch.cat([(p1 - p0).flatten() for p1, p0 in zip(model_clipped.parameters(), small_mlp().parameters())]).norm()
    free_step = (model_free[0].weight - w0).norm()
    assert clipped_step.item() == pytest.approx(0.01, rel=1e-4)  # lr * clipped norm
    assert free_step.item() > 0.05


def test_warmup_ramps_the_learning_rate(digits):
    seen = []
    train(small_mlp(), digits, lr=0.4, steps=5, warmup_steps=4, callbacks=[lambda step, m, opt: seen.append(opt.param_groups[0]["lr"])], progress=False)
    assert seen == pytest.approx([0.2, 0.3, 0.4, 0.4, 0.4])  # set after each step: (step + 1) / 4 * lr


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_optimizers_by_name(digits, optimizer):
    history = train(small_mlp(), digits, optimizer=optimizer, lr=0.01 if optimizer != "sgd" else 0.1, steps=40, progress=False)
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
    history = train(model, digits, lr=2.0, epochs=3, batch_size=32, tracker=DeadUnitTracker(model, every=20), progress=False)
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


def test_batch_norm_models_skip_the_short_last_batch(digits):
    sizes = []
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 10))
    model.register_forward_pre_hook(lambda m, inputs: sizes.append(len(inputs[0])) if m.training else None)
    history = train(model, digits, lr=0.1, epochs=2, batch_size=32, progress=False)
    assert set(sizes) == {32} and len(history.steps) == 2 * (len(digits.y_train) // 32)
    sizes.clear()
    train(small_mlp(), digits, lr=0.1, epochs=1, batch_size=32, progress=False)  # no batch norm: every example is used
