"""Model builders: MLPs and a small CNN with a chosen activation, normalisation, residual
connections and initialisation (notebooks 02, 05 and 06).

Builders are deterministic in `seed` and leave PyTorch's global RNG as it was: the layers
are constructed inside `torch.random.fork_rng()`, then `initialization.init_model` draws
every weight from a `torch.Generator` seeded with `seed`. So `make_mlp(..., seed=s)` gives
the same weights whatever ran before, and changing only `bias_init` keeps the weights.
"""

import numbers

import torch
from torch import nn

from deadrelu.activations import ACTIVATIONS, get_activation
from deadrelu.initialization import INIT_SCHEMES, init_model

NORMALIZATIONS = (None, "batch", "layer")
RESIDUAL_BLOCKS = (False, True, "standard")  # see make_mlp


class Residual(nn.Module):
    """A skip connection around `block`: x + block(x) (He et al. 2016, ResNets).

    The identity path carries the signal and its gradient past the block, so a block
    whose units are all dead still passes its input on.
    """

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, x):
        return x + self.block(x)


def make_mlp(
    widths, activation="ReLU", normalization=None, residual=False, init="default", bias_init=None, seed=0
) -> nn.Sequential:
    """An MLP with layer widths `widths` = (inputs, hidden..., outputs), e.g. (64, 128, 128, 10).

    Each hidden layer is nn.Linear -> (nn.BatchNorm1d for "batch", nn.LayerNorm for
    "layer") -> the activation `activation` (a name of `activations.ACTIVATIONS`, with
    PyTorch's default parameter; every layer gets its own module, so a PReLU layer learns
    its own slope). The output layer is a plain nn.Linear, no activation.
    With normalization=None and residual=False the model is the flat
    nn.Sequential(Linear, act, Linear, act, ..., Linear) that pruning relies on.

    `residual` wraps every hidden layer whose input and output widths are equal in
    `Residual` (x + block(x), the layers in `.block`); the others stay plain:
    - True: block = Linear -> [norm] -> act, so out = x + ReLU(W x + b) (notebook 06's
      exercise). With ReLU the block only ever adds values >= 0: the stream can only grow.
    - "standard": block = Linear -> [norm] -> act -> Linear, so out = x + W2 ReLU(W1 x + b1) + b2,
      the block of ResNets and transformers, whose output can be negative. Twice the
      weights per block; the same number of activation layers.

    `init` is a scheme of `initialization.INIT_SCHEMES` ("lecun_normal" for SELU), passed to
    `initialization.init_model` with `bias_init`.
    """
    widths = _check_widths(widths)
    _check_common(activation, init, seed)
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {normalization!r}; choose one of {list(NORMALIZATIONS)}")
    if residual not in RESIDUAL_BLOCKS:
        raise ValueError(f"unknown residual {residual!r}; choose one of {list(RESIDUAL_BLOCKS)}")
    with torch.random.fork_rng(devices=[]):  # nn.Linear draws at construction; keep the caller's RNG
        layers = []
        for n_in, n_out in zip(widths[:-2], widths[1:-1]):
            block = [nn.Linear(n_in, n_out)]
            if normalization == "batch":
                block.append(nn.BatchNorm1d(n_out))
            elif normalization == "layer":
                block.append(nn.LayerNorm(n_out))
            block.append(get_activation(activation))
            if residual and n_in == n_out:
                if residual == "standard":
                    block.append(nn.Linear(n_out, n_out))
                layers.append(Residual(nn.Sequential(*block)))
            else:
                layers.extend(block)
        layers.append(nn.Linear(widths[-2], widths[-1]))
        model = nn.Sequential(*layers)
    return init_model(model, init, bias=bias_init, generator=torch.Generator().manual_seed(seed))


def make_cnn(channels=(8, 16), activation="ReLU", n_classes=10, init="default", seed=0) -> nn.Sequential:
    """A small CNN for (N, 1, 8, 8) digit images, returning (N, n_classes) scores.

    One Conv2d(3x3, padding 1) -> activation per entry of `channels` (the default gives
    Conv2d(1, 8) -> act -> Conv2d(8, 16) -> act), then AdaptiveAvgPool2d(1) -> Flatten ->
    Linear(channels[-1], n_classes). Seeded like `make_mlp`.
    """
    channels = _check_widths(channels, name="channels", at_least=1)
    _check_common(activation, init, seed)
    if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    with torch.random.fork_rng(devices=[]):
        layers = []
        for c_in, c_out in zip((1,) + channels[:-1], channels):
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), get_activation(activation)]
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[-1], n_classes)]
        model = nn.Sequential(*layers)
    return init_model(model, init, generator=torch.Generator().manual_seed(seed))


def hidden_activations(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The activation modules of `model` (those of `activations.ACTIVATIONS`) as (name, module).

    Names are those of `model.named_modules()` (e.g. "1", or "2.block.1" inside a
    Residual), in registration order, which is the forward order for the models built
    here. Each one marks a "layer" whose units a monitor can count.
    """
    kinds = tuple(spec.module for spec in ACTIVATIONS.values())
    return [(name, module) for name, module in model.named_modules() if isinstance(module, kinds)]


def _check_widths(widths, name="widths", at_least=2):
    try:
        widths = tuple(widths)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of ints, got {widths!r}") from None
    if len(widths) < at_least:
        raise ValueError(f"{name} needs at least {at_least} entries, got {widths!r}")
    for w in widths:
        if not isinstance(w, numbers.Integral) or isinstance(w, bool) or w < 1:
            raise ValueError(f"{name} must be positive ints, got {widths!r}")
    return tuple(int(w) for w in widths)


def _check_common(activation, init, seed):
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    if init not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {init!r}; choose one of {list(INIT_SCHEMES)}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {seed!r}")
