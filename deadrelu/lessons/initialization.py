"""Notebook 05 (initialization): the signal through a deep ReLU net at initialisation.

`depth_profile` builds a plain ReLU MLP with one of `initialization.INIT_SCHEMES`, pushes
random zero-mean inputs through it and records, per hidden layer, the std of the
pre-activations (what He et al. 2015 keep constant) and the share of units dead at
initialisation; `plot_depth_profiles` draws them. `predicted_std` is the variance arithmetic
of section 2 and `prediction_table` sets your predictions (Exercise 1) beside the
measurement. `init_explorer` lets you pick the scheme, depth, width and biases.
"""

from dataclasses import dataclass
from matplotlib.ticker import LogLocator, NullLocator
from torch import nn
import ipywidgets as widgets
import math
import torch

from ..figures import Choice, Explorer, panels_or_new
from ..initialization import INIT_SCHEMES
from ..models import make_mlp
from ..training import torch_threads


INPUT_SEED_OFFSET = 10_000  # the inputs come from their own stream, never the weights' one


@dataclass
class DepthProfile:
    """Per hidden layer statistics of one freshly initialised net on random inputs."""

    scheme: str
    width: int
    bias: float | None  # None: the scheme's own biases (PyTorch's for "default", else zeros)
    n_inputs: int
    seed: int
    input_std: float
    std: list  # per hidden layer: std of the pre-activations over all inputs and units
    dead_fraction: list  # per hidden layer: share of units whose ReLU output is 0 for every input

    @property
    def depth(self):
        return len(self.std)

    @property
    def label(self):
        if self.bias is None:  # the scheme's own biases: PyTorch's random ones for "default", zeros otherwise
            return f"{self.scheme}, PyTorch's biases" if self.scheme == "default" else f"{self.scheme}, bias 0"
        return f"{self.scheme}, bias {self.bias:g}"

    def truncated(self, depth):
        """The profile of the first `depth` hidden layers, which is that of a `depth`-layer net
        with the same seed: the layers are drawn one after the other from the same generator."""
        if not 1 <= depth <= self.depth:
            raise ValueError(f"depth must be between 1 and {self.depth}, got {depth}")
        return DepthProfile(**{**self.__dict__, "std": self.std[:depth], "dead_fraction": self.dead_fraction[:depth]})

    def ratio_per_layer(self):
        """Geometric mean of std[l] / std[l-1] over layers 2..depth (nan for a single layer or
        a signal that underflowed to 0): how much each ReLU layer scales the signal."""
        if self.depth < 2 or self.std[0] <= 0 or self.std[-1] <= 0:
            return float("nan")
        return math.exp((math.log(self.std[-1]) - math.log(self.std[0])) / (self.depth - 1))


def depth_profile(scheme="he_normal", depth=30, width=128, n_inputs=256, bias=None, seed=0) -> DepthProfile:
    """Measure the std of the pre-activations and the dead share at init, per hidden layer.

    The net is `make_mlp((width,) * (depth + 1) + (1,), init=scheme, bias_init=bias,
    seed=seed)`: `depth` hidden Linear-ReLU layers of `width` units (its output layer is not
    measured). The inputs are `n_inputs` draws of N(0, 1) in every feature, from a generator
    seeded with `seed + INPUT_SEED_OFFSET` (so they are independent of the weights).
    """
    for name, value, least in (("depth", depth, 1), ("width", width, 1), ("n_inputs", n_inputs, 2)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
    stds, dead = [], []
    with torch.no_grad(), torch_threads(1):  # tiny matrices: one thread is fastest
        model = make_mlp((width,) * (depth + 1) + (1,), init=scheme, bias_init=bias, seed=seed)
        x = torch.randn(n_inputs, width, generator=torch.Generator().manual_seed(seed + INPUT_SEED_OFFSET))
        h = x
        for module in list(model)[:-1]:
            h = module(h)
            if isinstance(module, nn.Linear):
                stds.append(h.std().item())
            elif isinstance(module, nn.ReLU):
                dead.append((h > 0).any(dim=0).logical_not().float().mean().item())
    return DepthProfile(scheme, width, bias, n_inputs, seed, x.std().item(), stds, dead)


def plot_depth_profiles(profiles, predicted=None, axes=None):
    """Left: pre-activation std per hidden layer (log scale); right: dead % at init per layer.

    `profiles`: one `DepthProfile` or a list of them, drawn in colours C0, C1, ...
    `predicted`: optional {label: list of predicted stds per layer}, drawn dashed in the
    colour of the profile with the same label (e.g. a derivation's prediction).
    """
    profiles = [profiles] if isinstance(profiles, DepthProfile) else list(profiles)
    if not profiles:
        raise ValueError("profiles is empty: give at least one DepthProfile")
    fig, (ax_std, ax_dead) = panels_or_new(axes, 2, (10, 3.6), "(std, dead %)")
    colours = {}
    for i, profile in enumerate(profiles):
        layers = range(1, profile.depth + 1)
        colour = colours.setdefault(profile.label, f"C{i}")
        ax_std.plot(layers, profile.std, marker=".", color=colour, label=profile.label)
        ax_dead.plot(layers, [100 * d for d in profile.dead_fraction], marker=".", color=colour, label=profile.label)
    for label, values in (predicted or {}).items():
        ax_std.plot(
            range(1, len(values) + 1),
            values,
            ls="--",
            lw=1.2,
            color=colours.get(label, "0.4"),
            label=f"{label}: predicted",
        )
    ax_std.axhline(profiles[0].input_std, color="0.5", lw=0.8, ls=":")
    ax_std.set_yscale("log")
    shown = [v for p in profiles for v in p.std if v > 0] + [profiles[0].input_std]
    low, high = math.floor(math.log10(min(shown) / 3)), math.ceil(math.log10(max(shown) * 3))
    ax_std.set_ylim(10.0**low, 10.0**high)  # whole decades, at least two: a wobble should look like one
    ax_std.yaxis.set_major_locator(LogLocator(numticks=6))  # few ticks: readable, and fast to redraw
    ax_std.yaxis.set_minor_locator(NullLocator())
    ax_std.set_xlabel("hidden layer")
    ax_std.set_ylabel("std of the pre-activations")
    ax_std.set_title("Signal scale through depth at init")
    ax_std.grid(alpha=0.3)
    ax_std.legend(fontsize=8)
    ax_dead.set_xlabel("hidden layer")
    ax_dead.set_ylabel("units dead on every input (%)")
    ax_dead.set_ylim(-3, 103)
    ax_dead.set_title(f"Dead at init ({profiles[0].n_inputs} random inputs)")
    ax_dead.grid(alpha=0.3)
    for ax in (ax_std, ax_dead):
        ax.locator_params(axis="x", nbins=6, integer=True)
    return fig


# --- section 2's arithmetic, and the predictions of its exercise ------------------------------
def predicted_std(c, depth, input_std=1.0):
    """Std of the pre-activations of hidden layer `depth` (1 = first) of a plain ReLU MLP with
    zero biases whose layers all have c = fan_in * Var[w], for zero-mean inputs of std
    `input_std`: layer 1 multiplies the variance by c (its input has not been through a ReLU),
    every later layer by c/2 (a ReLU halves the second moment of a symmetric pre-activation)."""
    return input_std * math.sqrt(c) * math.sqrt(c / 2) ** (depth - 1)


def prediction_table(predicted_log10, most_dead, profiles, c_of):
    """The section-2 predictions next to the measurement of section 3: log10 of the last layer's
    pre-activation std per scheme (yours, the variance arithmetic's, measured), then which of
    Xavier and He has more dead units there. Unanswered (None) or malformed predictions show as such."""
    from ..tables import Table

    def yours(scheme):
        if predicted_log10 is None:
            return "not answered yet"
        try:
            return f"{float(predicted_log10[scheme]):+.1f}"
        except (KeyError, TypeError, ValueError, IndexError):
            return "not a number"

    rows = []
    for scheme, profile in profiles.items():
        predicted = predicted_std(c_of[scheme], profile.depth, profile.input_std)
        rows.append(
            {
                "scheme (zero biases)": scheme,
                f"your log10 std, layer {profile.depth}": yours(scheme),
                "variance arithmetic": f"{math.log10(predicted):+.1f}",
                "measured": f"{math.log10(profile.std[-1]):+.1f}",
            }
        )
    xavier, he = profiles["xavier_normal"], profiles["he_normal"]
    dead = {"xavier_normal": xavier.dead_fraction[-1], "he_normal": he.dead_fraction[-1]}
    measured = "same" if dead["xavier_normal"] == dead["he_normal"] else max(dead, key=dead.get)
    print(
        f"more dead units at layer {he.depth}: yours {most_dead!r}, measured {measured!r} "
        f"(Xavier {100 * dead['xavier_normal']:.1f} %, He {100 * dead['he_normal']:.1f} %)"
    )
    return Table(rows, title=f"Predicted and measured log10 std of layer {he.depth}'s pre-activations")


BIASES = {"the scheme's own": None, "0": 0.0, "0.01": 0.01, "-0.1": -0.1}


WIDTHS = (4, 8, 16, 32, 64, 128)  # wider nets take longer to measure than an update may


MAX_DEPTH = 50


class InitExplorer(Explorer):
    """Pick an init scheme, a depth, a width and the biases; see, per hidden layer, the std of
    the pre-activations (log scale) and the share of units dead at init, on `n_inputs` random
    zero-mean inputs.

    The net of the deepest setting is measured once per (scheme, width, bias) and cached:
    a shallower net with the same seed is the first layers of the deeper one
    (`DepthProfile.truncated`), so moving the depth slider only redraws.
    `last_update_ms` holds how long the last update took.
    """

    keep_ticks = True  # redraws are a third faster; plot_depth_profiles sets its own limits

    def __init__(self, scheme="default", depth=30, width=128, bias=None, seed=0, n_inputs=256):
        if scheme not in INIT_SCHEMES:
            raise ValueError(f"unknown init scheme {scheme!r}; choose one of {list(INIT_SCHEMES)}")
        if width not in WIDTHS:
            raise ValueError(f"width must be one of {list(WIDTHS)}, got {width!r}")
        if bias not in BIASES.values():
            raise ValueError(f"bias must be one of {list(BIASES.values())}, got {bias!r}")
        self.seed, self.n_inputs = seed, n_inputs
        self.scheme = Choice(list(INIT_SCHEMES), value=scheme, description="init")
        self.depth = widgets.IntSlider(value=depth, min=1, max=MAX_DEPTH, description="depth")
        self.width = widgets.SelectionSlider(options=list(WIDTHS), value=width, description="width")
        self.bias = Choice(list(BIASES.items()), value=bias, description="biases")
        self._profiles = {}
        Explorer.__init__(
            self,
            [[self.scheme, self.depth], [self.width, self.bias]],
            figsize=(10, 3.5),
            panels=2,
            margins={"left": 0.075, "right": 0.99, "bottom": 0.15, "top": 0.9, "wspace": 0.25},
            summary=True,
        )

    def profile(self):
        """The `DepthProfile` of the current setting (measured at MAX_DEPTH once, then cut)."""
        key = (self.scheme.value, self.width.value, self.bias.value)
        if key not in self._profiles:
            self._profiles[key] = depth_profile(
                key[0], depth=MAX_DEPTH, width=key[1], n_inputs=self.n_inputs, bias=key[2], seed=self.seed
            )
        return self._profiles[key].truncated(self.depth.value)

    def draw(self):
        profile = self.profile()
        plot_depth_profiles(profile, axes=self.axes)
        self.axes[0].set_title(f"{profile.label}, width {profile.width}: pre-activation std")
        ratio = profile.ratio_per_layer()
        ratio_text = f"{ratio:.3f}" if ratio == ratio else "n/a"
        all_dead = sum(d == 1.0 for d in profile.dead_fraction)
        self.summary.value = (
            f"Last hidden layer ({profile.depth}): std {profile.std[-1]:.3g} (input {profile.input_std:.3g}), "
            f"{100 * profile.dead_fraction[-1]:.0f}% of its units dead at init. "
            f"Mean std ratio per layer: <b>{ratio_text}</b>. Layers with every unit dead: {all_dead}."
        )


def init_explorer(*args, **kwargs):
    """Build the initialisation explorer of notebook 05: `InitExplorer`, whose arguments (and
    their defaults) it takes."""
    return InitExplorer(*args, **kwargs)
