"""The public checks of 05_initialization: correct alternatives pass, plausible wrong answers
fail with a hint naming the misconception."""

import math
import re

import pytest
import torch
from torch import nn

from deadrelu.checks.initialization import check_he_normal_, check_lsuv, check_predicted_std


# --- predicted_std ---------------------------------------------------------------------------
def std_closed_form(c, depth, input_std=1.0):
    return input_std * math.sqrt(c) * math.sqrt(c / 2) ** (depth - 1)


def std_layer_by_layer(c, depth, input_std=1.0):
    variance = c * input_std**2  # layer 1 sees the raw input
    for _ in range(depth - 1):
        variance = c * variance / 2  # E[h^2] = Var[z] / 2 behind a ReLU
    return math.sqrt(variance)


def std_torch(c, depth, input_std=1.0):
    c = torch.tensor(c, dtype=torch.float64)
    return input_std * c.sqrt() * (c / 2).sqrt().pow(depth - 1)


@pytest.mark.parametrize("predicted_std", [std_closed_form, std_layer_by_layer, std_torch])
def test_predicted_std_accepts_correct_alternatives(predicted_std):
    check_predicted_std(predicted_std)


@pytest.mark.parametrize(
    "predicted_std, hint",
    [
        (lambda c, d, s=1.0: s * math.sqrt(c) ** d, "E[h²] = Var[z]/2"),
        (lambda c, d, s=1.0: s * math.sqrt(c / 2) ** d, "halving starts at layer 2"),
        (lambda c, d, s=1.0: s**2 * c * (c / 2) ** (d - 1), "square root"),
        (lambda c, d, s=1.0: s * math.sqrt(c) * math.sqrt(c / 2) ** d, "depth - 1 halvings"),
        (lambda c, d, s=1.0: s * math.sqrt(c) * (math.sqrt(c) / 2) ** (d - 1), "not by 1/2"),
        (lambda c, d, s=1.0: math.sqrt(c) * math.sqrt(c / 2) ** (d - 1), "expected"),  # ignores input_std
    ],
)
def test_predicted_std_rejects_wrong_rules_with_a_hint(predicted_std, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_predicted_std(predicted_std)


# --- he_normal_ ------------------------------------------------------------------------------
def he_normal_method(weight, generator=None):
    std = math.sqrt(2.0 / weight.shape[1])
    with torch.no_grad():
        return weight.normal_(0.0, std, generator=generator)


def he_normal_copy(weight, generator=None):
    fan_out, fan_in = weight.shape
    draws = torch.randn(fan_out, fan_in, generator=generator, dtype=weight.dtype)
    with torch.no_grad():
        weight.copy_(draws * (2 / fan_in) ** 0.5)
    return weight


def he_normal_nn_init(weight, generator=None):
    return nn.init.normal_(weight, mean=0.0, std=math.sqrt(2 / weight.size(-1)), generator=generator)


@pytest.mark.parametrize("he_normal_", [he_normal_method, he_normal_copy, he_normal_nn_init])
def test_he_normal_accepts_correct_alternatives(he_normal_):
    check_he_normal_(he_normal_)


def _filled(std_of):
    """A he_normal_ that draws N(0, std_of(fan_out, fan_in)**2) in place, correctly otherwise."""

    def he_normal_(weight, generator=None):
        fan_out, fan_in = weight.shape
        with torch.no_grad():
            return weight.normal_(0.0, std_of(fan_out, fan_in), generator=generator)

    return he_normal_


def he_not_in_place(weight, generator=None):
    return torch.randn(weight.shape, generator=generator) * math.sqrt(2 / weight.shape[1])


def he_no_return(weight, generator=None):
    with torch.no_grad():
        weight.normal_(0.0, math.sqrt(2 / weight.shape[1]), generator=generator)


def he_global_rng(weight, generator=None):
    with torch.no_grad():
        return weight.normal_(0.0, math.sqrt(2 / weight.shape[1]))


def he_no_grad_missing(weight, generator=None):
    return weight.normal_(0.0, math.sqrt(2 / weight.shape[1]), generator=generator)


def he_uniform(weight, generator=None):
    bound = math.sqrt(6 / weight.shape[1])
    with torch.no_grad():
        return weight.uniform_(-bound, bound, generator=generator)


def he_positive(weight, generator=None):
    with torch.no_grad():
        return weight.copy_(torch.rand(weight.shape, generator=generator) * math.sqrt(6 / weight.shape[1]))


def he_calls_pytorch(weight, generator=None):
    return nn.init.kaiming_normal_(weight, nonlinearity="relu", generator=generator)


@pytest.mark.parametrize(
    "he_normal_, hint",
    [
        (_filled(lambda fo, fi: math.sqrt(2 / fo)), "weight.shape[1]"),
        (_filled(lambda fo, fi: math.sqrt(1 / fi)), "LeCun"),
        (_filled(lambda fo, fi: math.sqrt(2 / (fi + fo))), "Xavier/Glorot"),
        (_filled(lambda fo, fi: math.sqrt(4 / (fi + fo))), "Xavier's variance with the ReLU gain"),
        (_filled(lambda fo, fi: math.sqrt(1 / (3 * fi))), "PyTorch's default"),
        (_filled(lambda fo, fi: 2 / fi), "names the VARIANCE"),
        (_filled(lambda fo, fi: math.sqrt(2 / (fi * fo))), "not the number of weights"),
        (he_not_in_place, "in place"),
        (he_no_return, "return weight"),
        (he_global_rng, "ignores the generator"),
        (he_no_grad_missing, "torch.no_grad()"),
        (he_uniform, "uniform"),
        (he_positive, "centred on 0"),
        (he_calls_pytorch, "kaiming_normal_"),
    ],
)
def test_he_normal_rejects_wrong_answers_with_a_hint(he_normal_, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_he_normal_(he_normal_)


# --- lsuv ------------------------------------------------------------------------------------
def linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def output_std(model, layer, X):
    seen = []
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append(output.std()))
    try:
        model(X)
    finally:
        handle.remove()
    return seen[0]


def lsuv_hooks(model, X, tol=0.1, max_iter=10, generator=None):
    layers = linears(model)
    with torch.no_grad():
        for layer in layers:
            nn.init.orthogonal_(layer.weight, generator=generator)
        for layer in layers:
            for _ in range(max_iter):
                std = output_std(model, layer, X)
                if abs(std - 1) < tol:
                    break
                layer.weight /= std
    return model


def lsuv_prefix_while(model, X, tol=0.1, max_iter=10, generator=None):
    """Orthonormalise each layer just before rescaling it, read outputs with model[:i + 1]."""
    with torch.no_grad():
        for i, module in enumerate(model):
            if not isinstance(module, nn.Linear):
                continue
            nn.init.orthogonal_(module.weight, generator=generator)
            passes = 0
            std = model[: i + 1](X).std()
            while abs(std - 1) >= tol and passes < max_iter:
                module.weight.div_(std)
                std = model[: i + 1](X).std()
                passes += 1
    return model


def lsuv_qr_and_variance_test(model, X, tol=0.1, max_iter=10, generator=None):
    """Orthonormal start by QR; stops on the variance, rescales by the std (population std)."""
    layers = linears(model)
    with torch.no_grad():
        for layer in layers:
            rows, cols = layer.weight.shape
            q, _ = torch.linalg.qr(torch.randn(max(rows, cols), min(rows, cols), generator=generator))
            layer.weight.copy_(q if rows >= cols else q.T)
        for i, layer in enumerate(model):
            if isinstance(layer, nn.Linear):
                for _ in range(max_iter):
                    variance = model[: i + 1](X).var(unbiased=False)
                    if abs(variance.sqrt() - 1) < tol:
                        break
                    layer.weight.div_(variance.sqrt())
    return model


@pytest.mark.parametrize("lsuv", [lsuv_hooks, lsuv_prefix_while, lsuv_qr_and_variance_test])
def test_lsuv_accepts_correct_alternatives(lsuv):
    check_lsuv(lsuv)


def lsuv_with(measure="output", divide="std", orthonormal="first", iterate=True, order="forward", biases=None):
    """A flat-Sequential LSUV with one plausible mistake."""

    def lsuv(model, X, tol=0.1, max_iter=10, generator=None):
        modules = list(model)
        positions = [i for i, m in enumerate(modules) if isinstance(m, nn.Linear)]
        with torch.no_grad():
            if orthonormal == "first":
                for i in positions:
                    nn.init.orthogonal_(modules[i].weight, generator=generator)
            for i in positions if order == "forward" else positions[::-1]:
                layer = modules[i]
                for _ in range(max_iter if iterate else min(max_iter, 1)):
                    if measure == "output":
                        value = model[: i + 1](X)
                    elif measure == "after ReLU":
                        value = model[: i + 2](X)
                    elif measure == "model output":
                        value = model(X)
                    else:
                        value = model[:i](X) if i else X
                    std = value.std()
                    if abs(std - 1) < tol:
                        break
                    layer.weight /= std**2 if divide == "variance" else std
                    if biases == "divide" and layer.bias is not None:
                        layer.bias /= std
                if biases == "zero" and layer.bias is not None:
                    layer.bias.zero_()
                if orthonormal == "after":
                    nn.init.orthogonal_(layer.weight, generator=generator)
        return model

    return lsuv


def lsuv_no_return(model, X, tol=0.1, max_iter=10, generator=None):
    lsuv_hooks(model, X, tol, max_iter, generator)


def lsuv_leaves_hooks(model, X, tol=0.1, max_iter=10, generator=None):
    lsuv_hooks(model, X, tol, max_iter, generator)
    linears(model)[0].register_forward_hook(lambda module, inputs, output: None)
    return model


def lsuv_without_no_grad(model, X, tol=0.1, max_iter=10, generator=None):
    for layer in linears(model):
        nn.init.orthogonal_(layer.weight, generator=generator)  # nn.init works under no_grad itself
    for i, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            layer.weight.div_(model[: i + 1](X).std())  # in place on a parameter that requires grad
    return model


def lsuv_global_rng(model, X, tol=0.1, max_iter=10, generator=None):
    return lsuv_hooks(model, X, tol, max_iter, None)


def lsuv_extra_pass(model, X, tol=0.1, max_iter=10, generator=None):
    """Rescales once before testing the tolerance: one pass too many, even with max_iter=0."""
    with torch.no_grad():
        for layer in linears(model):
            nn.init.orthogonal_(layer.weight, generator=generator)
        for i, layer in enumerate(model):
            if isinstance(layer, nn.Linear):
                for _ in range(max_iter + 1):
                    layer.weight /= model[: i + 1](X).std()
                    if abs(model[: i + 1](X).std() - 1) < tol:
                        break
    return model


@pytest.mark.parametrize(
    "lsuv, hint",
    [
        (lsuv_with(orthonormal="none"), "orthonormal weights"),
        (lsuv_with(orthonormal="after"), "overwrites the scale"),
        (lsuv_with(divide="variance"), "by the output's STD"),
        (lsuv_with(iterate=False), "repeat until |std - 1| < tol"),
        (lsuv_with(measure="after ReLU"), "not the ReLU's output"),
        (lsuv_with(measure="model output"), "not on the network's final output"),
        (lsuv_with(measure="input"), "the layer's OUTPUT"),
        (lsuv_with(order="reverse"), "forward order"),
        (lsuv_with(biases="divide"), "leaves the biases alone"),
        (lsuv_with(biases="zero"), "leave the biases as they are"),
        (lsuv_no_return, "`return model`"),
        (lsuv_leaves_hooks, "handle.remove()"),
        (lsuv_global_rng, "generator"),
        (lsuv_without_no_grad, "torch.no_grad()"),
        (lsuv_extra_pass, "max_iter=0"),
    ],
)
def test_lsuv_rejects_wrong_answers_with_a_hint(lsuv, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_lsuv(lsuv)


def test_lsuv_check_explains_a_stub():
    def lsuv(model, X, tol=0.1, max_iter=10, generator=None):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not implemented yet"):
        check_lsuv(lsuv)


def test_lsuv_check_accepts_the_course_helper():
    """deadrelu.initialization.lsuv_init zeroes the biases, so it is only comparable on zero biases:
    its weights must match an exercise solution's from the same generator."""
    from deadrelu.initialization import lsuv_init
    from deadrelu.models import make_mlp

    X = torch.randn(300, 16, generator=torch.Generator().manual_seed(0))
    ours, theirs = make_mlp((16, 24, 24, 4), bias_init=0.0), make_mlp((16, 24, 24, 4), bias_init=0.0)
    lsuv_hooks(ours, X, generator=torch.Generator().manual_seed(1))
    lsuv_init(theirs, X, generator=torch.Generator().manual_seed(1))
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ours.parameters(), theirs.parameters()))
