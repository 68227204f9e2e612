"""deadrelu.lessons.initialization: the signal and dead units through depth at initialisation, and the plot."""

import math

import matplotlib
import pytest
import torch
from torch import nn

from deadrelu.lessons.initialization import DepthProfile, depth_profile, plot_depth_profiles
from deadrelu.models import make_mlp

matplotlib.use("Agg")


def test_profile_matches_a_forward_pass_by_hand():
    profile = depth_profile("he_normal", depth=6, width=16, n_inputs=50, bias=0.0, seed=3)
    model = make_mlp((16,) * 7 + (1,), init="he_normal", bias_init=0.0, seed=3)
    x = torch.randn(50, 16, generator=torch.Generator().manual_seed(3 + 10_000))
    stds, dead = [], []
    with torch.no_grad():
        for module in list(model)[:-1]:
            x = module(x)
            if isinstance(module, nn.Linear):
                stds.append(x.std().item())
            else:
                dead.append((x == 0).all(dim=0).float().mean().item())
    assert profile.depth == 6
    assert profile.std == pytest.approx(stds, rel=1e-5)
    assert profile.dead_fraction == pytest.approx(dead)


@pytest.mark.parametrize(
    "scheme, ratio", [("default", math.sqrt(1 / 6)), ("xavier_normal", math.sqrt(1 / 2)), ("he_normal", 1.0)]
)
def test_std_ratio_per_layer_follows_the_variance_arithmetic(scheme, ratio):
    """He et al. 2015: each ReLU layer multiplies Var by fan_in * Var[w] / 2 (1/6, 1/2, 1 here).
    Over 29 layers of 256 units the geometric mean ratio is within a few percent of it."""
    measured = depth_profile(scheme, depth=30, width=256, bias=0.0, seed=0).ratio_per_layer()
    assert measured == pytest.approx(ratio, rel=0.05), f"{scheme}: {measured:.3f} per layer, expected {ratio:.3f}"


def test_xavier_and_he_have_the_same_dead_units_with_zero_bias():
    """ReLU is positively homogeneous and both schemes scale the same normal draws."""
    xavier = depth_profile("xavier_normal", depth=20, width=32, bias=0.0, seed=1)
    he = depth_profile("he_normal", depth=20, width=32, bias=0.0, seed=1)
    assert xavier.dead_fraction == he.dead_fraction
    assert he.std[-1] > 100 * xavier.std[-1]


def test_pytorch_default_biases_kill_about_half_of_the_deep_units():
    profile = depth_profile("default", depth=30, width=128, bias=None, seed=0)
    assert profile.label == "default, PyTorch's biases"
    assert 0.3 < profile.dead_fraction[-1] < 0.7
    assert profile.std[-1] > 1e-3, "the biases keep the scale from vanishing"


def test_truncated_profile_is_the_profile_of_the_shallower_net():
    deep = depth_profile("default", depth=12, width=8, bias=None, seed=4)
    shallow = depth_profile("default", depth=5, width=8, bias=None, seed=4)
    assert deep.truncated(5) == shallow
    with pytest.raises(ValueError, match="between 1 and 12"):
        deep.truncated(13)


def test_ratio_is_nan_when_undefined():
    profile = DepthProfile("he_normal", 4, 0.0, 10, 0, 1.0, std=[1.0], dead_fraction=[0.0])
    assert math.isnan(profile.ratio_per_layer())
    assert profile.label == "he_normal, bias 0"


@pytest.mark.parametrize("kwargs", [{"depth": 0}, {"width": 0}, {"n_inputs": 1}, {"depth": 2.5}])
def test_depth_profile_refuses_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="must be an int"):
        depth_profile(**kwargs)


def test_depth_profile_refuses_an_unknown_scheme():
    with pytest.raises(ValueError, match="unknown init scheme"):
        depth_profile("kaiming", depth=2, width=4)


def test_plot_draws_std_on_a_log_scale_and_dead_percent_with_predictions():
    profiles = [depth_profile(s, depth=8, width=16, bias=0.0) for s in ("default", "he_normal")]
    predicted = {profiles[1].label: [1.0] * 8}
    fig = plot_depth_profiles(profiles, predicted=predicted)
    ax_std, ax_dead = fig.axes
    assert ax_std.get_yscale() == "log"
    low, high = ax_std.get_ylim()
    assert low <= min(profiles[0].std) / 3 and high >= 3 * max(profiles[1].std), "every std is in view"
    assert math.log10(low).is_integer() and math.log10(high).is_integer(), "the view spans whole decades"
    labels = [line.get_label() for line in ax_std.lines]
    assert "default, bias 0" in labels and "he_normal, bias 0: predicted" in labels
    dead_line = ax_dead.lines[1]
    assert list(dead_line.get_ydata()) == pytest.approx([100 * d for d in profiles[1].dead_fraction])
    predicted_line = next(line for line in ax_std.lines if line.get_label().endswith("predicted"))
    assert predicted_line.get_color() == ax_std.lines[1].get_color(), "a prediction takes its profile's colour"
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_plot_draws_into_given_axes_and_checks_them():
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 2)
    assert plot_depth_profiles(depth_profile("he_normal", depth=3, width=8), axes=axes) is fig
    with pytest.raises(ValueError, match="a pair"):
        plot_depth_profiles(depth_profile("he_normal", depth=3, width=8), axes=[axes[0]])
    with pytest.raises(ValueError, match="at least one"):
        plot_depth_profiles([])
