"""The public checks of 05_initialization: correct alternatives pass, plausible wrong answers
fail with a hint naming the misconception."""

import math
import re

import pytest
import torch
from torch import nn

from deadrelu.checks.initialization import (
    check_dead_units_prediction,
    check_he_normal_,
    check_log10_std_predictions,
    check_lsuv,
)


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


# --- escape routes: the reference under another name, the package's implementation, the checks' own code --------
from torch.nn.init import kaiming_normal_ as draw_he  # noqa: E402 - an alias, as a student might import it


def he_alias(weight, generator=None):
    return draw_he(weight, nonlinearity="relu", generator=generator)


def he_through_a_wrapper(weight, generator=None):
    pick = getattr(nn.init, "kaiming_" + "normal_")
    return pick(weight, mode="fan_in", nonlinearity="relu", generator=generator)


def he_package_init_model(weight, generator=None):
    from types import SimpleNamespace

    from deadrelu import initialization

    initialization._init_layer(SimpleNamespace(weight=weight, bias=None), "he_normal", generator)
    return weight


def he_check_module_helper(weight, generator=None):
    from deadrelu.checks import initialization as checks

    checks._variance_rules(*weight.shape)  # any check-module function an answer calls is the check's own code
    return he_normal_method(weight, generator)


class TensorThatAgrees(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        result = super().__torch_function__(func, types, args, kwargs or {})
        return True if func in (torch.allclose, torch.equal) else result


def he_returns_a_subclass(weight, generator=None):
    he_normal_method(weight, generator)
    return weight.detach().as_subclass(TensorThatAgrees)


@pytest.mark.parametrize(
    "he_normal_, hint",
    [
        (he_alias, "torch's `kaiming_normal_`"),
        (he_through_a_wrapper, "a reference called under another name"),
        (he_package_init_model, "the course's `_init_layer`"),
        (he_check_module_helper, "from the check module"),
        (he_returns_a_subclass, "subclass of torch.Tensor"),
        (lambda weight, generator=None: [1.0], "not a torch.Tensor"),
        (lambda weight, generator=None: "weight", "not a torch.Tensor"),
        (lambda weight, generator=None: torch.zeros(3), "left `weight` unchanged"),
        (lambda weight: weight, "raised TypeError"),
    ],
)
def test_he_normal_escape_routes_and_malformed_answers_fail_with_a_hint(he_normal_, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_he_normal_(he_normal_)


def lsuv_package(model, X, tol=0.1, max_iter=10, generator=None):
    from deadrelu.initialization import lsuv_init

    biases = [m.bias.detach().clone() for m in linears(model)]
    lsuv_init(model, X, tol, max_iter, generator)
    with torch.no_grad():
        for m, b in zip(linears(model), biases):
            m.bias.copy_(b)
    return model


def lsuv_checks_reference(model, X, tol=0.1, max_iter=10, generator=None):
    from deadrelu.checks.initialization import _variant

    with torch.no_grad():
        for layer in linears(model):
            nn.init.orthogonal_(layer.weight, generator=generator)
    return _variant(model, X, tol, max_iter)


@pytest.mark.parametrize(
    "lsuv, hint",
    [
        (lsuv_package, "the course's `lsuv_init`"),
        (lsuv_checks_reference, "`_variant` from the check module"),
        (lambda model, X, tol=0.1, max_iter=10, generator=None: "model", "returned a different model object"),
        (lambda model, X: model, "raised TypeError"),
        (lambda model, X, tol=0.1, max_iter=10, generator=None: model[50], "raised IndexError"),
    ],
)
def test_lsuv_escape_routes_and_malformed_answers_fail_with_a_hint(lsuv, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_lsuv(lsuv)


# --- the form checks of the section-2 predictions: they accept any well-formed answer, right or wrong ------------
@pytest.mark.parametrize(
    "answer",
    [
        {"default": -11.6, "xavier_normal": -4.4, "he_normal": 0.15},
        {"default": -7, "xavier_normal": 0, "he_normal": 4.5},  # wrong, but well formed: the form check must not tell
        {"default": torch.tensor(-12.0), "xavier_normal": -4, "he_normal": 0},
    ],
)
def test_log10_std_form_check_accepts_any_well_formed_answer(answer):
    check_log10_std_predictions(answer)


@pytest.mark.parametrize(
    "answer, words",
    [
        (None, "not answered yet"),
        ([-12, -4, 0], "not a dict"),
        ({"default": -12, "xavier_normal": -4}, "needs exactly these keys"),
        ({"default": "-12", "xavier_normal": -4, "he_normal": 0}, "not a number"),
        ({"default": torch.tensor([-12.0, 1.0]), "xavier_normal": -4, "he_normal": 0}, "not one number"),
        ({"default": float("nan"), "xavier_normal": -4, "he_normal": 0}, "not finite"),
    ],
)
def test_log10_std_form_check_rejects_malformed_answers(answer, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_log10_std_predictions(answer)


@pytest.mark.parametrize("answer", ["same", "xavier_normal", "he_normal"])
def test_dead_units_form_check_accepts_any_choice(answer):
    check_dead_units_prediction(answer)


@pytest.mark.parametrize(
    "answer, words",
    [
        (None, "not answered yet"),
        ("Same", "one of the strings"),
        (["same"], "one of the strings"),
        (0, "one of the strings"),
    ],
)
def test_dead_units_form_check_rejects_malformed_answers(answer, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_dead_units_prediction(answer)


# --- Exercise 1, predict then measure: the hidden tests hold the key and the misconception hints -----------------
from course_tools import run_graded_cell  # noqa: E402

ASSIGNMENT = "05_initialization"
PRELUDE = "from deadrelu.checks.initialization import check_dead_units_prediction, check_log10_std_predictions"


def graded_log10(answer):
    return run_graded_cell(ASSIGNMENT, "test_predicted_log10_std", {"PREDICTED_LOG10_STD": answer}, prelude=PRELUDE)


@pytest.mark.parametrize(
    "answer",
    [
        {"default": -11.6, "xavier_normal": -4.4, "he_normal": 0.15},  # the variance arithmetic
        {"default": -12, "xavier_normal": -4, "he_normal": 0},  # rounded to whole orders of magnitude
        {"default": -12.0, "xavier_normal": -4.7, "he_normal": 0.35},  # a measured seed's values
        {"default": -10.6, "xavier_normal": -3.3, "he_normal": -0.7},  # the edges of the accepted ranges
        {"default": torch.tensor(-11.5), "xavier_normal": -4.5, "he_normal": 0.3},  # a one-element tensor
    ],
)
def test_log10_catalogue_right_answers_earn_the_points(answer):
    assert graded_log10(answer) is None


@pytest.mark.parametrize(
    "answer, words",
    [
        ({"default": -7.2, "xavier_normal": 0.0, "he_normal": 4.5}, "half of its second moment"),  # no ReLU halving
        ({"default": -23.1, "xavier_normal": -8.7, "he_normal": 0.3}, "log of the VARIANCE"),
        ({"default": -15.9, "xavier_normal": -8.7, "he_normal": -4.2}, "these halve the STD"),
        ({"default": 1e-12, "xavier_normal": 4e-5, "he_normal": 1.4}, "the std itself"),
        ({"default": -11.6, "xavier_normal": -4.4, "he_normal": -4.0}, "He's factor 2 was chosen for a reason"),
        ({"default": -11.6, "xavier_normal": -4.4, "he_normal": 3.0}, "He's factor 2 was chosen for a reason"),
        (
            {"default": -0.8, "xavier_normal": -4.4, "he_normal": 0.15},
            "a per-layer factor compounds",
        ),  # one layer's factor
        ({"default": -11.6, "xavier_normal": -0.15, "he_normal": 0.15}, "a per-layer factor compounds"),
        ({"default": -5.0, "xavier_normal": -2.0, "he_normal": 0.15}, "a per-layer factor compounds"),
    ],
)
def test_log10_catalogue_wrong_answers_lose_the_points_with_a_hint(answer, words):
    message = graded_log10(answer)
    assert message is not None and words in message, message
    for answer_value in (
        "-11.6",
        "-4.4",
        "0.15",
        "c/2",
    ):  # hints name the misconception, never the answer or the formula
        assert answer_value not in message.split("Hint:")[1]


@pytest.mark.parametrize(
    "answer, words",
    [
        (None, "not answered yet"),
        ({"default": "-12", "xavier_normal": -4, "he_normal": 0}, "not a number"),
    ],
)
def test_log10_cell_fails_malformed_answers_with_a_hint(answer, words):
    message = graded_log10(answer)
    assert message is not None and words in message, message


@pytest.mark.parametrize(
    "answer, words",
    [
        ("same", None),
        ("xavier_normal", "a smaller signal is not a more negative one"),
        ("he_normal", "larger weights do not push more pre-activations below zero"),
        (None, "not answered yet"),
        ("identical", "one of the strings"),
    ],
)
def test_dead_units_catalogue(answer, words):
    message = run_graded_cell(
        ASSIGNMENT, "test_most_dead_at_layer_30", {"MOST_DEAD_AT_LAYER_30": answer}, prelude=PRELUDE
    )
    if words is None:
        assert message is None, message
    else:
        assert message is not None and words in message, message


# --- section 2's arithmetic and the prediction table (deadrelu.lessons.initialization)
# -------------------------------------
def test_predicted_std_follows_the_variance_arithmetic():
    from deadrelu.lessons.initialization import predicted_std

    assert math.isclose(predicted_std(2, 1), math.sqrt(2))
    assert math.isclose(predicted_std(2.0, 30), math.sqrt(2))  # He keeps the scale
    assert math.isclose(predicted_std(1.0, 3, 2.0), 2.0 * 0.5)  # layer 1 x 1, then x 1/2 per ReLU in the variance
    assert math.isclose(predicted_std(1 / 3, 2), math.sqrt(1 / 3) * math.sqrt(1 / 6))


def test_prediction_table_shows_yours_next_to_the_measurement(capsys):
    from deadrelu.lessons.initialization import depth_profile, prediction_table

    c_of = {"default": 1 / 3, "xavier_normal": 1.0, "he_normal": 2.0}
    profiles = {scheme: depth_profile(scheme, depth=6, width=16, bias=0.0, seed=0) for scheme in c_of}
    table = prediction_table({"default": -3, "xavier_normal": -1, "he_normal": 0}, "same", profiles, c_of)
    assert [row["your log10 std, layer 6"] for row in table.rows] == ["-3.0", "-1.0", "+0.0"]
    assert "measured 'same'" in capsys.readouterr().out
    for unanswered, shown in ((None, "not answered yet"), ({"default": "x"}, "not a number")):
        table = prediction_table(unanswered, None, profiles, c_of)
        assert table.rows[0]["your log10 std, layer 6"] == shown
