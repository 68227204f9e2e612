"""deadrelu.models: structure, determinism, RNG hygiene and errors of the builders."""

import pytest
import torch
from torch import nn

from deadrelu.models import Residual, hidden_activations, make_cnn, make_mlp


def kinds(model):
    return [type(m) for m in model]


def same_parameters(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_plain_mlp_is_the_flat_linear_activation_stack():
    model = make_mlp((64, 32, 32, 10))
    assert isinstance(model, nn.Sequential)
    assert kinds(model) == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    shapes = [(m.in_features, m.out_features) for m in model if isinstance(m, nn.Linear)]
    assert shapes == [(64, 32), (32, 32), (32, 10)]


def test_two_widths_give_a_single_linear_layer():
    assert kinds(make_mlp((5, 3))) == [nn.Linear]


@pytest.mark.parametrize("normalization, norm", [("batch", nn.BatchNorm1d), ("layer", nn.LayerNorm)])
def test_normalization_sits_between_linear_and_activation(normalization, norm):
    model = make_mlp((8, 6, 6, 3), normalization=normalization)
    assert kinds(model) == [nn.Linear, norm, nn.ReLU, nn.Linear, norm, nn.ReLU, nn.Linear]


def test_residual_wraps_only_blocks_with_equal_widths():
    model = make_mlp((8, 6, 6, 4, 4, 3), residual=True, normalization="layer")
    plain = [nn.Linear, nn.LayerNorm, nn.ReLU]
    assert kinds(model) == plain + [Residual] + plain + [Residual, nn.Linear]
    for residual, width in ((model[3], 6), (model[7], 4)):
        assert kinds(residual.block) == [nn.Linear, nn.LayerNorm, nn.ReLU]
        assert residual.block[0].in_features == residual.block[0].out_features == width


def test_residual_adds_the_input_to_the_block_output():
    block = nn.Linear(4, 4)
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(Residual(block)(x), x + block(x))


@pytest.mark.parametrize("options", [{}, {"normalization": "batch"}, {"residual": True}, {"activation": "GELU"}])
def test_mlp_forward_shape(options):
    model = make_mlp((64, 16, 16, 10), **options)
    assert model(torch.zeros(5, 64)).shape == (5, 10)


def test_mlp_is_deterministic_in_seed_whatever_the_global_rng():
    torch.manual_seed(1)
    a = make_mlp((8, 6, 6, 3), seed=4)
    torch.manual_seed(2)
    b = make_mlp((8, 6, 6, 3), seed=4)
    assert same_parameters(a, b)
    assert not same_parameters(a, make_mlp((8, 6, 6, 3), seed=5))


@pytest.mark.parametrize("build", [lambda: make_mlp((8, 6, 6, 3), init="he_normal"), lambda: make_cnn()])
def test_builders_leave_the_global_rng_untouched(build):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    build()
    assert torch.equal(torch.rand(3), expected), "building a model must not consume the caller's random numbers"


def test_bias_init_sets_every_bias_and_keeps_the_weights():
    plain = make_mlp((8, 6, 6, 3), seed=2)
    biased = make_mlp((8, 6, 6, 3), bias_init=0.01, seed=2)
    linears = [(p, b) for p, b in zip(plain, biased) if isinstance(p, nn.Linear)]
    assert all((b.bias == 0.01).all() for _, b in linears)
    assert all(torch.equal(p.weight, b.weight) for p, b in linears), "changing the bias must not change the weights"
    assert not (plain[0].bias == 0.01).all()


def test_init_scheme_is_applied():
    model = make_mlp((8, 6, 3), init="he_normal")
    assert all((m.bias == 0).all() for m in model if isinstance(m, nn.Linear))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"widths": (64,)}, ValueError, "at least 2"),
        ({"widths": (64, 0, 10)}, ValueError, "positive ints"),
        ({"widths": (64, 2.5, 10)}, ValueError, "positive ints"),
        ({"widths": 64}, TypeError, "sequence of ints"),
        ({"activation": "Relu"}, ValueError, "unknown activation 'Relu'.*'ReLU'"),
        ({"normalization": "group"}, ValueError, "unknown normalization 'group'.*'batch', 'layer'"),
        ({"init": "he"}, ValueError, "unknown init scheme 'he'.*he_normal"),
        ({"seed": None}, TypeError, "seed must be an int"),
    ],
)
def test_mlp_refuses_bad_arguments_with_the_choices(kwargs, error, message):
    kwargs = {"widths": (4, 3, 2), **kwargs}
    with pytest.raises(error, match=message):
        make_mlp(**kwargs)


def test_cnn_structure_and_forward_shape():
    model = make_cnn()
    assert kinds(model) == [nn.Conv2d, nn.ReLU, nn.Conv2d, nn.ReLU, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear]
    assert (model[0].in_channels, model[0].out_channels, model[2].out_channels) == (1, 8, 16)
    assert model[0].kernel_size == (3, 3) and model[0].padding == (1, 1)
    assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 10)
    assert make_cnn(channels=(4,), n_classes=3)(torch.zeros(2, 1, 8, 8)).shape == (2, 3)


def test_cnn_is_deterministic_in_seed():
    assert same_parameters(make_cnn(seed=3), make_cnn(seed=3))
    assert not same_parameters(make_cnn(seed=3), make_cnn(seed=4))
    with pytest.raises(ValueError, match="n_classes must be an int >= 2"):
        make_cnn(n_classes=1)


def test_hidden_activations_in_forward_order():
    assert [name for name, _ in hidden_activations(make_mlp((8, 6, 6, 3)))] == ["1", "3"]
    residual = make_mlp((8, 6, 6, 3), residual=True, normalization="batch", activation="LeakyReLU")
    found = hidden_activations(residual)
    assert [name for name, _ in found] == ["2", "3.block.2"]
    assert all(isinstance(module, nn.LeakyReLU) for _, module in found)
    assert [name for name, _ in hidden_activations(make_cnn())] == ["1", "3"]
    assert hidden_activations(make_mlp((4, 2))) == []


def test_prelu_is_a_learnable_slope_per_layer_that_training_moves():
    model = make_mlp((8, 6, 6, 3), activation="PReLU", seed=0)
    slopes = [m for m in model if isinstance(m, nn.PReLU)]
    assert len(slopes) == 2 and slopes[0] is not slopes[1], "every hidden layer needs its own PReLU"
    assert all(m.weight.requires_grad and m.weight.item() == 0.25 for m in slopes)
    in_parameters = {id(p) for p in model.parameters()}
    assert all(id(m.weight) in in_parameters for m in slopes), "the slopes must reach the optimizer"
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 8, generator=g) - 1.0, torch.randint(0, 3, (64,), generator=g)  # many negative inputs
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()
    assert all(abs(m.weight.item() - 0.25) > 1e-4 for m in slopes), "training must move the PReLU slopes"


def test_lecun_normal_draws_weights_with_variance_one_over_fan_in_and_zero_biases():
    model = make_mlp((400, 300, 300, 10), activation="SELU", init="lecun_normal", seed=1)
    for layer in (m for m in model if isinstance(m, nn.Linear)):
        assert layer.weight.std().item() == pytest.approx(layer.in_features**-0.5, rel=0.03)
        assert abs(layer.weight.mean().item()) < 0.1 * layer.in_features**-0.5
        assert (layer.bias == 0).all()
    assert same_parameters(model, make_mlp((400, 300, 300, 10), activation="SELU", init="lecun_normal", seed=1))
    biased = make_mlp((400, 300, 300, 10), init="lecun_normal", bias_init=0.1, seed=1)
    assert all((m.bias == 0.1).all() for m in biased if isinstance(m, nn.Linear))
    assert make_cnn(init="lecun_normal", seed=0)[0].bias.abs().sum() == 0


def test_lecun_normal_keeps_selu_self_normalising_on_standardised_inputs():
    """Klambauer et al.'s fixed point: with N(0, 1/fan_in) weights and inputs of mean 0 and
    variance 1, every SELU layer's output keeps mean about 0 and variance about 1."""
    X = torch.randn(2000, 256, generator=torch.Generator().manual_seed(0))
    model = make_mlp((256,) + (256,) * 8 + (10,), activation="SELU", init="lecun_normal", seed=0)
    h = X
    with torch.no_grad():
        for module in model[:-1]:
            h = module(h)
    assert abs(h.mean().item()) < 0.1 and h.std().item() == pytest.approx(1.0, abs=0.1)


def test_standard_residual_block_has_a_second_linear_and_can_subtract():
    model = make_mlp((8, 6, 6, 3), residual="standard", normalization="batch", seed=0)
    assert kinds(model) == [nn.Linear, nn.BatchNorm1d, nn.ReLU, Residual, nn.Linear]
    assert kinds(model[3].block) == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    plain = make_mlp((8, 6, 6, 3), residual=True, seed=0)[2]
    standard = make_mlp((8, 6, 6, 3), residual="standard", seed=0)[2]
    x = torch.rand(50, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert ((plain(x) - x) >= 0).all(), "x + ReLU(Wx) only ever adds"
        assert ((standard(x) - x) < 0).any(), "x + W2 ReLU(W1 x) can subtract"
    assert [name for name, _ in hidden_activations(make_mlp((8, 6, 6, 3), residual="standard"))] == ["1", "2.block.1"]


def test_unknown_residual_block_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown residual 'pre'.*'standard'"):
        make_mlp((4, 3, 3, 2), residual="pre")
