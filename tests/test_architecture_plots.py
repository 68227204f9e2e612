"""deadrelu.lessons.activations_and_architecture and the explorer's model builder: measurements leave the model
as they found it, agree with a hand computation, and the plots draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from deadrelu.lessons.activations_and_architecture import build_deep_mlp
from deadrelu.lessons.activations_and_architecture import (
    KeepModels,
    constant_per_layer,
    dead_per_layer,
    gradient_norms,
    measure_runs,
    never_positive_per_layer,
    plot_dead_per_layer,
    plot_dead_vs_depth,
    plot_gradient_flow,
)
from deadrelu.data import make_gaussian_blobs
from deadrelu.experiments import run_seeds
from deadrelu.models import make_mlp
from deadrelu.monitor import scan


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(64, 8, generator=g)
    y = torch.randint(0, 3, (64,), generator=g)
    return X, y


def test_gradient_norms_match_a_hand_computation_and_leave_the_model_untouched(data):
    X, y = data
    model = make_mlp((8, 6, 6, 3), normalization="batch", seed=0).eval()
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    norms = gradient_norms(model, X, y)
    reference = make_mlp((8, 6, 6, 3), normalization="batch", seed=0).train()
    nn.functional.cross_entropy(reference(X), y).backward()
    expected = [m.weight.grad.norm().item() for m in reference.modules() if isinstance(m, nn.Linear)]
    assert norms == pytest.approx(expected, rel=1e-5)
    assert not model.training, "the model's mode must be restored"
    assert all(p.grad is None for p in model.parameters()), "gradients must be cleared"
    assert all(torch.equal(v, buffers[k]) for k, v in model.named_buffers()), "running statistics must be restored"


def test_gradient_norms_need_linear_layers(data):
    with pytest.raises(ValueError, match="no nn.Linear"):
        gradient_norms(nn.Sequential(nn.ReLU()), *data)


def test_dead_per_layer_is_scan_in_eval_mode(data):
    X, _ = data
    model = make_mlp((8, 6, 6, 3), bias_init=-0.5, seed=1)
    assert dead_per_layer(model, X) == [100 * layer.dead_fraction for layer in scan(model, X).layers]


def test_dead_per_layer_with_batch_statistics_sees_what_training_mode_sees(data):
    """A fresh batch-norm net with biases -3: eval mode (running statistics 0, 1) shows every
    unit dead; with the batch's statistics the shift is removed and none are."""
    X, _ = data
    model = make_mlp((8, 6, 6, 3), normalization="batch", bias_init=-3.0, seed=0)
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    assert dead_per_layer(model, X) == [100.0, 100.0]
    assert dead_per_layer(model, X, batch_statistics=True) == [0.0, 0.0]
    assert model.training, "a new model is in training mode, and stays so"
    assert all(torch.equal(v, buffers[k]) for k, v in model.named_buffers()), "running statistics must be restored"


def test_never_positive_and_constant_units_on_hand_made_layers():
    """Three units of a Leaky ReLU / ELU layer: one positive on some inputs, one negative on
    every input, one so negative that ELU saturates at -1 (a constant output)."""
    X = torch.tensor([[1.0], [2.0], [3.0]])
    for activation, constant in (("LeakyReLU", [0.0]), ("ELU", [100 / 3])):
        model = make_mlp((1, 3, 2), activation=activation)
        with torch.no_grad():
            model[0].weight.copy_(torch.tensor([[1.0], [-1.0], [-100.0]]))
            model[0].bias.zero_()
        model.train()
        assert never_positive_per_layer(model, X) == pytest.approx([200 / 3])
        assert constant_per_layer(model, X) == pytest.approx(constant)
        assert model.training, "the model's mode must be restored"
    relu = make_mlp((8, 6, 6, 3), bias_init=-0.5, seed=1)
    X = torch.rand(64, 8, generator=torch.Generator().manual_seed(0))
    assert never_positive_per_layer(relu, X) == pytest.approx(dead_per_layer(relu, X)), "for ReLU never > 0 is dead"
    assert constant_per_layer(relu, X) == pytest.approx(dead_per_layer(relu, X)), (
        "a ReLU unit is constant only when it is dead (here)"
    )


def test_measure_runs_keeps_one_value_per_seed_and_blanks_diverged_runs():
    data = make_gaussian_blobs(n_samples=120, n_features=6, n_classes=3, seed=0)
    keep = KeepModels()
    runs = run_seeds(
        lambda seed: make_mlp((6, 5, 5, 3), activation="PReLU", seed=seed),
        data,
        seeds=(0, 1),
        progress=False,
        callbacks=[keep],
        lr=0.1,
        steps=12,
        batch_size=16,
        eval_every=4,
    )
    assert len(keep.models) == 2 and keep.models[0] is not keep.models[1], "one trained model per seed"
    measured = measure_runs(runs, keep.models, data.X_train)
    assert all(len(values) == 2 for values in measured.values())
    assert measured["dead_1"] == [100 * r.dead_fraction[0] for r in runs]
    assert measured["never_positive_2"][1] == never_positive_per_layer(keep.models[1], data.X_train)[1]
    assert measured["accuracy"] == [100 * r.test_accuracy for r in runs] and measured["diverged"] == [False, False]
    assert all(len(s) == 2 and s != [0.25, 0.25] for s in measured["prelu_slopes"]), "the learned slopes, one per layer"
    keep = KeepModels()
    blown = run_seeds(
        lambda seed: make_mlp((6, 5, 5, 3), seed=seed),
        data,
        seeds=(0,),
        progress=False,
        callbacks=[keep],
        lr=1e30,
        steps=12,
        batch_size=16,
    )
    assert blown[0].diverged
    measured = measure_runs(blown, keep.models, data.X_train)
    assert measured["dead_1"] == [None] and measured["largest_weight"] == [None] and measured["prelu_slopes"] == [None]
    with pytest.raises(ValueError, match="keep the models"):
        measure_runs(runs, [], data.X_train)


def test_plots_draw_one_line_per_curve_and_return_the_figure():
    ax = Figure().subplots()
    fig = plot_gradient_flow({"plain": [[1e-6, 1e-3, 1.0], [1e-7, 1e-3, 2.0]], "residual": [[1.0, 1.0, 0.0]]}, ax=ax)
    assert fig is ax.figure and len(ax.lines) == 2 and ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.lines] == ["plain", "residual"]
    ax = Figure().subplots()
    plot_dead_per_layer({"a": [[10.0, 50.0]], "b": [[0.0, 0.0], [20.0, 0.0]]}, ax=ax, styles={"a": {"ls": "--"}})
    assert len(ax.lines) == 2 and ax.lines[0].get_linestyle() == "--"
    assert list(ax.lines[1].get_ydata()) == [10.0, 0.0]  # the mean over runs
    ax = Figure().subplots()
    plot_dead_vs_depth((2, 4), {"plain": [[10.0, 20.0], [30.0, 50.0]]}, ax=ax)
    assert list(ax.lines[0].get_xdata()) == [2, 4] and list(ax.lines[0].get_ydata()) == [15.0, 40.0]


def test_plots_reject_malformed_curves():
    with pytest.raises(ValueError, match="empty"):
        plot_dead_per_layer({}, ax=Figure().subplots())
    with pytest.raises(ValueError, match="equal length"):
        plot_gradient_flow({"x": [[1.0, 2.0], [1.0]]}, ax=Figure().subplots())
    with pytest.raises(ValueError, match="expected 2"):
        plot_dead_vs_depth((2, 4), {"x": [[1.0]]}, ax=Figure().subplots())


def test_build_deep_mlp_learns_prelu_slopes_and_is_seeded():
    model = build_deep_mlp(8, 3, depth=3, width=5, activation="PReLU", normalization=None, residual=True, seed=4)
    slopes = [m for m in model.modules() if isinstance(m, nn.PReLU)]
    assert len(slopes) == 3 and all(m.weight.requires_grad for m in slopes)
    again = build_deep_mlp(8, 3, depth=3, width=5, activation="PReLU", normalization=None, residual=True, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    widths = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    assert widths == [(8, 5), (5, 5), (5, 5), (5, 3)]
    standard = build_deep_mlp(
        8, 3, depth=3, width=5, activation="ReLU", normalization=None, residual="standard", seed=4
    )
    widths = [(m.in_features, m.out_features) for m in standard.modules() if isinstance(m, nn.Linear)]
    assert widths == [(8, 5), (5, 5), (5, 5), (5, 5), (5, 5), (5, 3)], "a standard block has two Linear layers"
