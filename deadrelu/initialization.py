"""Weight initialisation schemes, LSUV and RAI: the remedies of notebook 05_initialization.

fan_in is the number of inputs of one unit (in_features, or in_channels * kh * kw for a
conv layer), fan_out the number of outputs one input feeds (out_features, or
out_channels * kh * kw). Variances below are those of every weight of a layer.

Every function takes `generator=`: pass a seeded `torch.Generator` to get the same
weights whatever ran before; with None they draw from PyTorch's global RNG.
"""

import math

import torch
from torch import nn

INIT_SCHEMES = ("default", "xavier_normal", "xavier_uniform", "he_normal", "he_uniform", "orthogonal", "lecun_normal")

RAI_SIGMA = 0.6007  # sigma_out of Lu et al. 2019 for P = Beta(2, 1), see rai_init


def init_model(model: nn.Module, scheme="default", bias=None, generator=None) -> nn.Module:
    """Initialise every nn.Linear and nn.Conv2d of `model` in place with `scheme`; return it.

    - "default": PyTorch's own `reset_parameters()`, i.e. `kaiming_uniform_(a=sqrt(5))`:
      W ~ U(+-1/sqrt(fan_in)), Var = 1/(3 fan_in) (not He init); b ~ U(+-1/sqrt(fan_in)).
    - "xavier_normal" / "xavier_uniform": Glorot & Bengio 2010, Var = 2/(fan_in + fan_out),
      N(0, Var) or U(+-sqrt(6/(fan_in + fan_out))) (gain 1).
    - "he_normal" / "he_uniform": He et al. 2015, `kaiming_*_(mode="fan_in",
      nonlinearity="relu")`, Var = 2/fan_in: N(0, Var) or U(+-sqrt(6/fan_in)).
    - "orthogonal": Saxe et al. 2014, `orthogonal_` with gain sqrt(2) =
      `calculate_gain("relu")`: orthonormal rows (or columns) times sqrt(2), so every
      weight has mean square 2/max(fan_in, fan_out), He's scale for a square layer.
    - "lecun_normal": LeCun et al. 1998, N(0, 1/fan_in), the initialisation SELU's
      self-normalising property assumes (Klambauer et al. 2017, with standardised inputs;
      notebook 06). Same as `kaiming_normal_(nonlinearity="linear")`: half He-normal's variance.

    `bias=None` keeps the scheme's bias: PyTorch's for "default", zeros for the others. A
    float sets every bias to that constant: 0.01 makes every unit fire at the start
    (CS231n, which notes it is not clearly better), -3.0 kills units on purpose. The
    output layer is initialised like every other layer. The weights drawn from a given
    generator do not depend on `bias`, so a bias experiment changes one thing only.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; choose one of {list(INIT_SCHEMES)}")
    layers = _weight_layers(model)
    with torch.no_grad():
        for layer in layers:
            _init_layer(layer, scheme, generator)
            if bias is not None and layer.bias is not None:
                layer.bias.fill_(float(bias))
    return model


def _init_layer(layer, scheme, generator):
    weight = layer.weight
    if scheme == "default":  # the two lines of nn.Linear/_ConvNd.reset_parameters, with generator=
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        if layer.bias is not None:
            bound = 1 / math.sqrt(weight[0].numel())
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        return
    if scheme == "xavier_normal":
        nn.init.xavier_normal_(weight, generator=generator)
    elif scheme == "xavier_uniform":
        nn.init.xavier_uniform_(weight, generator=generator)
    elif scheme == "he_normal":
        nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu", generator=generator)
    elif scheme == "he_uniform":
        nn.init.kaiming_uniform_(weight, mode="fan_in", nonlinearity="relu", generator=generator)
    elif scheme == "orthogonal":
        nn.init.orthogonal_(weight, gain=nn.init.calculate_gain("relu"), generator=generator)
    elif scheme == "lecun_normal":
        nn.init.normal_(weight, 0.0, 1 / math.sqrt(weight[0].numel()), generator=generator)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def lsuv_init(model: nn.Module, X: torch.Tensor, tol=0.1, max_iter=10, generator=None) -> dict:
    """Layer-sequential unit-variance init (Mishkin & Matas 2015, "All you need is a good init").

    1. Every nn.Linear / nn.Conv2d gets orthonormal weights (`orthogonal_`, gain 1) and
       zero biases.
    2. Layer by layer, in forward order (that of `model.named_modules()`): run X through
       the model, measure the std of the layer's output (its pre-activation, read by a
       forward hook that is removed after), divide the layer's weights by it; repeat until
       |std - 1| < tol or after `max_iter` rescalings. The paper states the tolerance on
       the variance (0.1, at most 10 passes); the course states it on the std.

    All layers are rescaled, the output layer included, as in the paper. The model runs in
    its current mode (a BatchNorm in training mode updates its running statistics). Returns
    {layer name: {"std": final output std, "passes": number of rescalings}}.
    """
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    if not isinstance(max_iter, int) or max_iter < 0:
        raise ValueError(f"max_iter must be an int >= 0, got {max_iter!r}")
    layers = _weight_layers(model, named=True)
    _check_input(layers[0][1], X)
    info = {}
    with torch.no_grad():
        for _, layer in layers:
            nn.init.orthogonal_(layer.weight, generator=generator)
            if layer.bias is not None:
                layer.bias.zero_()
        for name, layer in layers:
            std, passes = _output_std(model, layer, X, name), 0
            while abs(std - 1) >= tol and passes < max_iter:
                layer.weight.div_(std)  # zero bias: the output scales by exactly 1/std
                std, passes = _output_std(model, layer, X, name), passes + 1
            info[name] = {"std": std, "passes": passes}
    return info


def _output_std(model, layer, X, name):
    stds = []

    def record(module, inputs, output):
        stds.append(output.std().item())  # returns None: the output is left unchanged

    handle = layer.register_forward_hook(record)
    try:
        model(X)
    finally:
        handle.remove()
    if not stds:
        raise ValueError(f"layer {name!r} was not called when X ran through the model")
    if not math.isfinite(stds[0]) or stds[0] == 0:
        raise ValueError(
            f"layer {name!r} gave output std {stds[0]} on X; LSUV cannot rescale it "
            "(std 0 means its input is all zeros: a dead layer below it?)"
        )
    return stds[0]


def rai_init(model: nn.Module, generator=None, sigma=RAI_SIGMA) -> nn.Module:
    """Randomized asymmetric initialization (RAI) of Lu, Shin, Su & Karniadakis 2019,
    "Dying ReLU and Initialization: Theory and Numerical Examples" (arXiv:1903.06733).

    For each hidden nn.Linear (every one but the last), let V = [W, b] hold one row per
    unit (without a bias, V = W), with n = fan_in + 1 entries per row (fan_in without
    a bias). For every row, independently:

    - draw all n entries from the symmetric Q = N(0, sigma**2 / n), sigma = 0.6007;
    - choose one entry k uniformly at random and replace it by a draw from the asymmetric
      P = Beta(2, 1) on (0, 1] (density 2x; sampled as sqrt(U), U uniform).

    Every unit thus has one positive weight (or a positive bias), so with non-negative
    inputs it is much less likely to be off for all of them: deep narrow nets are born
    dead far less often than with a symmetric init. P = Beta(2, 1) and sigma = 0.6007 are
    the paper's recommended setting, derived there (Section 4.2) from a second-moment
    analysis against exploding activations; the constants and the 1/sqrt(n) scale of Q
    are taken from secondary sources, the derivation was not checked here. With them the
    activations' second moment shrinks by roughly 0.8 per layer in wide layers (measured
    with this code at width 1000): RAI is meant for deep, narrow nets.

    The output layer is left as it is: it has no ReLU after it, so it cannot be dead.
    nn.Conv2d layers are not touched. Returns the model.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(linears) < 2:
        raise ValueError(
            f"rai_init needs hidden nn.Linear layers before the output layer; found {len(linears)} nn.Linear"
        )
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    with torch.no_grad():
        for layer in linears[:-1]:
            n_out, fan_in = layer.weight.shape
            n = fan_in + (layer.bias is not None)
            V = torch.randn(n_out, n, generator=generator) * (sigma / math.sqrt(n))
            k = torch.randint(n, (n_out,), generator=generator)
            V[torch.arange(n_out), k] = (1 - torch.rand(n_out, generator=generator)).sqrt()  # Beta(2, 1), > 0
            layer.weight.copy_(V[:, :fan_in])
            if layer.bias is not None:
                layer.bias.copy_(V[:, fan_in])
    return model


def _weight_layers(model, named=False):
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("the model has no nn.Linear or nn.Conv2d layer to initialise")
    return layers if named else [m for _, m in layers]


def _check_input(first_layer, X):
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
    if isinstance(first_layer, nn.Linear):
        expected, got, what = first_layer.in_features, X.shape[-1] if X.dim() else None, "features (last dim)"
    else:
        expected, got, what = first_layer.in_channels, X.shape[1] if X.dim() == 4 else None, "channels of (N, C, H, W)"
    if got != expected:
        raise ValueError(
            f"X has the wrong shape {tuple(X.shape)} for this model: expected {expected} {what}, got {got}"
        )
