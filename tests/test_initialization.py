"""deadrelu.initialization: variances of the schemes, LSUV, RAI against born-dead nets.

Variance checks compare the mean square of the weights (their mean is 0) with the
scheme's variance. For n iid normal weights that estimate has relative std sqrt(2/n)
(chi-square); for uniform weights it is smaller, sqrt(0.8/n). The band is 5 sigma of the
normal case, so a correct scheme fails with probability below 1e-6 and a wrong one
(a factor 2 or 3 off) cannot pass.
"""

import math

import pytest
import torch
from torch import nn

from course_tools import MEASUREMENTS
from deadrelu.data import load_digits_split, make_positive_inputs
from deadrelu.initialization import INIT_SCHEMES, RAI_SIGMA, init_model, lsuv_init, rai_init
from deadrelu.models import make_mlp

FAN_IN, FAN_OUT = 1000, 500


def mean_square_weight(scheme):
    layer = nn.Linear(FAN_IN, FAN_OUT)
    init_model(nn.Sequential(layer), scheme, generator=torch.Generator().manual_seed(0))
    return layer.weight.pow(2).mean().item(), layer.weight.numel()


@pytest.mark.parametrize(
    "scheme, variance, source",
    [
        ("he_normal", 2 / FAN_IN, "He et al. 2015: 2/fan_in"),
        ("he_uniform", 2 / FAN_IN, "He et al. 2015: 2/fan_in"),
        ("xavier_normal", 2 / (FAN_IN + FAN_OUT), "Glorot & Bengio 2010: 2/(fan_in + fan_out)"),
        ("xavier_uniform", 2 / (FAN_IN + FAN_OUT), "Glorot & Bengio 2010: 2/(fan_in + fan_out)"),
        ("default", 1 / (3 * FAN_IN), "PyTorch's U(+-1/sqrt(fan_in)): 1/(3 fan_in)"),
        ("orthogonal", 2 / FAN_IN, "orthonormal rows times sqrt(2): 2/max(fan_in, fan_out)"),
    ],
)
def test_weight_variance_of_each_scheme(scheme, variance, source):
    measured, n = mean_square_weight(scheme)
    band = 5 * math.sqrt(2 / n)
    assert abs(measured / variance - 1) < band, (
        f"{scheme}: weight variance {measured:.3e}, expected {variance:.3e} ({source}); "
        f"relative error {measured / variance - 1:+.3f} should be within {band:.3f}"
    )


def test_orthogonal_rows_are_orthonormal_times_sqrt2():
    layer = nn.Linear(64, 32)
    init_model(nn.Sequential(layer), "orthogonal", generator=torch.Generator().manual_seed(0))
    assert torch.allclose(layer.weight @ layer.weight.T, 2 * torch.eye(32), atol=1e-5)


def test_he_init_of_conv_layers_uses_channels_times_kernel_as_fan_in():
    conv = nn.Conv2d(64, 128, kernel_size=3)
    init_model(nn.Sequential(conv), "he_normal", generator=torch.Generator().manual_seed(0))
    fan_in = 64 * 3 * 3
    assert abs(conv.weight.pow(2).mean().item() * fan_in / 2 - 1) < 5 * math.sqrt(2 / conv.weight.numel())
    assert (conv.bias == 0).all()


@pytest.mark.parametrize("scheme", [s for s in INIT_SCHEMES if s != "default"])
def test_non_default_schemes_zero_the_biases(scheme):
    model = init_model(make_mlp((8, 6, 4)), scheme, generator=torch.Generator().manual_seed(0))
    assert all((m.bias == 0).all() for m in model if isinstance(m, nn.Linear))


def test_default_scheme_is_pytorch_reset_parameters():
    reference, ours = nn.Linear(20, 30), nn.Linear(20, 30)
    torch.manual_seed(5)
    reference.reset_parameters()
    torch.manual_seed(5)
    init_model(nn.Sequential(ours), "default")  # generator=None: the global RNG, like PyTorch
    assert torch.equal(reference.weight, ours.weight) and torch.equal(reference.bias, ours.bias)


@pytest.mark.parametrize("value", [0.01, -3.0, 0.0])
def test_a_constant_bias_sets_every_bias_output_layer_included(value):
    model = make_mlp((8, 6, 6, 3))
    init_model(model, "he_normal", bias=value, generator=torch.Generator().manual_seed(0))
    biases = [m.bias for m in model if isinstance(m, nn.Linear)]
    assert len(biases) == 3 and all((b == value).all() for b in biases)


def test_same_generator_seed_gives_same_weights_and_leaves_global_rng_alone():
    a, b, c = (nn.Sequential(nn.Linear(10, 10)) for _ in range(3))  # construction draws from the global RNG
    state = torch.get_rng_state()
    init_model(a, "xavier_normal", generator=torch.Generator().manual_seed(1))
    init_model(b, "xavier_normal", generator=torch.Generator().manual_seed(1))
    init_model(c, "xavier_normal", generator=torch.Generator().manual_seed(2))
    assert torch.equal(a[0].weight, b[0].weight) and not torch.equal(a[0].weight, c[0].weight)
    assert torch.equal(torch.get_rng_state(), state), "init with a generator must not draw from the global RNG"


def test_unknown_scheme_lists_the_choices():
    with pytest.raises(ValueError, match="unknown init scheme 'kaiming'.*he_normal"):
        init_model(nn.Sequential(nn.Linear(2, 2)), "kaiming")


def test_a_model_without_weight_layers_is_refused():
    with pytest.raises(ValueError, match="no nn.Linear or nn.Conv2d"):
        init_model(nn.Sequential(nn.ReLU()), "he_normal")


# --- LSUV -----------------------------------------------------------------------------


def output_stds(model, X):
    """Std of every Linear's output on X, measured with our own hooks."""
    stds, handles = {}, []

    def recorder(name):
        def record(module, inputs, output):
            stds[name] = output.std().item()

        return record

    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(recorder(name)))
    with torch.no_grad():
        model(X)
    for handle in handles:
        handle.remove()
    return stds


@pytest.fixture(scope="module")
def X_digits():
    return load_digits_split().X_train


def test_lsuv_gives_unit_std_output_in_every_layer(X_digits):
    model = make_mlp((64,) + (64,) * 8 + (10,))
    info = lsuv_init(model, X_digits, tol=0.1, generator=torch.Generator().manual_seed(0))
    measured = output_stds(model, X_digits)
    assert list(info) == list(measured), "LSUV must cover every Linear, the output layer included"
    for name, std in measured.items():
        assert abs(std - 1) < 0.1, f"layer {name}: output std {std:.3f}, LSUV should make it 1 within 0.1"
        assert info[name]["std"] == pytest.approx(std, rel=1e-5)
    assert all(not model._forward_hooks and not m._forward_hooks for m in model.modules()), "hooks left behind"


def test_lsuv_starts_from_orthonormal_weights_and_respects_max_iter(X_digits):
    model = make_mlp((64, 32, 32, 10))
    info = lsuv_init(model, X_digits, max_iter=0, generator=torch.Generator().manual_seed(0))
    assert all(entry["passes"] == 0 for entry in info.values())
    W = model[0].weight
    assert torch.allclose(W @ W.T, torch.eye(32), atol=1e-5) and (model[0].bias == 0).all()
    assert abs(info["0"]["std"] - 1) > 0.1, "this test needs a first layer that LSUV would rescale"

    info = lsuv_init(model, X_digits, max_iter=1, generator=torch.Generator().manual_seed(0))
    assert all(entry["passes"] <= 1 and abs(entry["std"] - 1) < 0.1 for entry in info.values())


def test_lsuv_is_reproducible_with_a_generator(X_digits):
    a, b = make_mlp((64, 16, 10), seed=0), make_mlp((64, 16, 10), seed=1)
    lsuv_init(a, X_digits, generator=torch.Generator().manual_seed(3))
    lsuv_init(b, X_digits, generator=torch.Generator().manual_seed(3))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_lsuv_refuses_inputs_of_the_wrong_width(X_digits):
    with pytest.raises(ValueError, match="expected 64 features.*got 63"):
        lsuv_init(make_mlp((64, 16, 10)), X_digits[:, :63])


# --- RAI ------------------------------------------------------------------------------


def test_rai_puts_one_beta21_entry_per_row_at_a_uniform_position():
    # With a tiny sigma the symmetric entries vanish and the asymmetric one stands out.
    layer = nn.Linear(3, 4000)
    model = nn.Sequential(layer, nn.ReLU(), nn.Linear(4000, 1))
    rai_init(model, sigma=1e-6, generator=torch.Generator().manual_seed(0))
    V = torch.cat([layer.weight, layer.bias[:, None]], dim=1)  # rows [w, b], 4 entries each
    big = V.abs() > 1e-3
    assert (big.sum(1) == 1).all(), "every unit gets exactly one asymmetric entry"
    positive = V[big]
    assert (positive > 0).all() and (positive <= 1).all()
    # Beta(2, 1): mean 2/3, std sqrt(1/18); 5-sigma band for the mean of 4000 draws
    assert abs(positive.mean().item() - 2 / 3) < 5 * math.sqrt(1 / 18 / 4000)
    # the position is uniform over the 4 entries (bias included): 1000 each, std ~27
    counts = big.sum(0).float()
    assert ((counts - 1000).abs() < 5 * math.sqrt(4000 * 0.25 * 0.75)).all(), counts


def test_rai_symmetric_entries_have_variance_sigma2_over_n_and_output_layer_is_kept():
    hidden, output = nn.Linear(999, 1000), nn.Linear(1000, 10)
    kept = output.weight.clone()
    rai_init(nn.Sequential(hidden, nn.ReLU(), output), generator=torch.Generator().manual_seed(0))
    V = torch.cat([hidden.weight, hidden.bias[:, None]], dim=1)
    symmetric = V[V.abs() < 0.1]  # drops the Beta entries; the ~1% of them below 0.1 add ~1e-4 relative
    n = symmetric.numel()
    assert abs(symmetric.pow(2).mean().item() / (RAI_SIGMA**2 / 1000) - 1) < 5 * math.sqrt(2 / n)
    assert torch.equal(output.weight, kept), "RAI leaves the output layer as it is"


def test_rai_is_reproducible_and_needs_a_hidden_layer():
    a, b = make_mlp((4, 3, 3, 2)), make_mlp((4, 3, 3, 2))
    rai_init(a, generator=torch.Generator().manual_seed(9))
    rai_init(b, generator=torch.Generator().manual_seed(9))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match="needs hidden nn.Linear"):
        rai_init(nn.Sequential(nn.Linear(4, 2)))


def born_dead(model, X):
    """True when some hidden layer outputs all zeros for every input: the net is constant."""
    h = X
    with torch.no_grad():
        for module in model[:-1]:
            h = module(h)
            if isinstance(module, nn.ReLU) and (h == 0).all():
                return True
    return False


def test_rai_makes_deep_narrow_nets_born_dead_far_less_often_than_he_init():
    """Lu et al. 2019's setting: width 2, depth 10, no bias, positive inputs, 200 draws."""
    X = make_positive_inputs(n_samples=100, n_features=16, seed=0).X_train
    widths = [16] + [2] * 10 + [1]
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(n_in, n_out, bias=False), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])  # every draw below re-initialises all of its weights
    dead = {"he_normal": 0, "rai": 0}
    for seed in range(200):
        for scheme in dead:
            generator = torch.Generator().manual_seed(seed)
            init_model(model, "he_normal", generator=generator)
            if scheme == "rai":
                rai_init(model, generator=generator)  # every layer but the output layer
            dead[scheme] += born_dead(model, X)
    share = {scheme: count / 200 for scheme, count in dead.items()}
    measured = f"He normal {share['he_normal']:.0%}, RAI {share['rai']:.0%}"
    MEASUREMENTS["born dead at init (width 2, depth 10, 200 nets)"] = measured
    # symmetric init: about 1 - (1 - 2**-2)**10 = 0.94 for one input; RAI about 0.2
    assert share["he_normal"] > 0.7, share
    assert share["rai"] < share["he_normal"] - 0.4, share
