"""Public checks of notebook 05_initialization: he_normal_, lsuv, and the form of the
predictions of section 2 (PREDICTED_LOG10_STD, MOST_DEAD_AT_LAYER_30).

Each check first tests the contract (return value, in place, generator), then the numbers,
and when they are wrong it works out which plausible wrong rule the student applied, so
that the message can name the misconception.
"""

import copy
import math

import torch
from torch import nn

from ..training import torch_threads
from .. import initialization as _package
from ._common import as_number, call, fail, graded_check, plain_tensor

# --- the predictions of section 2 (form only) -------------------------------------------------

DEPTH_SCHEMES = ("default", "xavier_normal", "he_normal")
DEAD_CHOICES = ("xavier_normal", "he_normal", "same")


@graded_check("PREDICTED_LOG10_STD", 'a dict {"default": number, "xavier_normal": number, "he_normal": number}')
def check_log10_std_predictions(predicted):
    """The FORM of the prediction: one number (log10 of a std) per scheme. Graded when handed in."""
    name = "PREDICTED_LOG10_STD"
    if predicted is None:
        fail(name, "is None: not answered yet.", f"set it to a dict with one number per scheme: {list(DEPTH_SCHEMES)}.")
    if not isinstance(predicted, dict):
        fail(
            name,
            f"is a {type(predicted).__name__}, not a dict.",
            f"a dict with one number per scheme: {list(DEPTH_SCHEMES)}.",
        )
    if set(predicted) != set(DEPTH_SCHEMES):
        fail(
            name, f"has the keys {sorted(map(str, predicted))}.", f"it needs exactly these keys: {list(DEPTH_SCHEMES)}."
        )
    values = {scheme: as_number(predicted[scheme], name, f"the prediction for {scheme!r}") for scheme in DEPTH_SCHEMES}
    if not all(math.isfinite(v) for v in values.values()):
        fail(
            name, f"holds {values}: not finite numbers.", "log10 of a std is a finite number (-3 means a std of 0.001)."
        )
    print(
        "PREDICTED_LOG10_STD has the right form: "
        + ", ".join(
            f"{scheme} {value:g}" + (f" (a std of about {10**value:.2g})" if abs(value) < 300 else "")
            for scheme, value in values.items()
        )
        + ". It is graded when you hand in; section 3 measures it."
    )


@graded_check("MOST_DEAD_AT_LAYER_30", f"one of {list(DEAD_CHOICES)}")
def check_dead_units_prediction(choice):
    """The FORM of the prediction: one of DEAD_CHOICES. Graded when handed in."""
    name = "MOST_DEAD_AT_LAYER_30"
    if choice is None:
        fail(name, "is None: not answered yet.", f"set it to one of {list(DEAD_CHOICES)}.")
    if not isinstance(choice, str) or choice not in DEAD_CHOICES:
        fail(name, f"is {choice!r}.", f"it is one of the strings {list(DEAD_CHOICES)}.")
    print(
        f"MOST_DEAD_AT_LAYER_30 = {choice!r} has the right form. It is graded when you hand in; section 3 measures it."
    )


# --- he_normal_ ---------------------------------------------------------------------------

_FAN_OUT, _FAN_IN = 200, 800  # not square, so fan_in and fan_out give different variances


def _variance_rules(fan_out, fan_in):
    """Variance of each plausible rule for a (fan_out, fan_in) weight -> the misconception."""
    return {
        "2/fan_in (He)": (2 / fan_in, None),
        "2/fan_out": (
            2 / fan_out,
            "fan_in is the number of INPUTS of a unit: weight.shape[1] for nn.Linear's (fan_out, fan_in) layout. "
            "weight.shape[0] is fan_out. He init keeps the forward signal's variance, which depends on fan_in.",
        ),
        "1/fan_in (LeCun)": (
            1 / fan_in,
            "Var = 1/fan_in is LeCun's init, right for linear or tanh units. A ReLU zeroes half of its inputs, "
            "so He et al. (2015) double it: Var = 2/fan_in (gain √2).",
        ),
        "2/(fan_in + fan_out) (Xavier)": (
            2 / (fan_in + fan_out),
            "that is Xavier/Glorot's variance, 2/(fan_in + fan_out), derived without a ReLU. He init uses "
            "fan_in only and the ReLU gain: Var = 2/fan_in.",
        ),
        "4/(fan_in + fan_out) (Xavier with ReLU gain)": (
            4 / (fan_in + fan_out),
            "that is Xavier's variance with the ReLU gain √2. He init averages nothing with fan_out: Var = 2/fan_in.",
        ),
        "1/(3 fan_in) (PyTorch's default)": (
            1 / (3 * fan_in),
            "that is PyTorch's default nn.Linear init, U(±1/√fan_in): Var = 1/(3 fan_in), six times too small "
            "for ReLU. He init: N(0, 2/fan_in).",
        ),
        "std = 2/fan_in": (
            (2 / fan_in) ** 2,
            "N(0, 2/fan_in) names the VARIANCE; torch's normal_(mean, std) and torch.randn(...) * s take the "
            "standard deviation. Use std = sqrt(2 / fan_in).",
        ),
        "std = 2/fan_out": (
            (2 / fan_out) ** 2,
            "two things: N(0, 2/fan_in) names the variance (std = sqrt(2 / fan_in)), and fan_in is weight.shape[1].",
        ),
        "2/numel": (
            2 / (fan_in * fan_out),
            "fan_in is the number of inputs of ONE unit (weight.shape[1]), not the number of weights in the layer.",
        ),
    }


def _check_variance(weight, fan_out, fan_in, name):
    """Mean 0, variance 2/fan_in, normal-shaped; otherwise name the rule the student used."""
    w = weight.detach().double().flatten()
    n = w.numel()
    expected = 2 / fan_in
    measured = w.pow(2).mean().item()
    if not math.isfinite(measured) or measured == 0:
        fail(
            name,
            f"filled a ({fan_out}, {fan_in}) weight with mean square {measured}.",
            "draw random numbers from N(0, 2/fan_in).",
        )
    if abs(w.mean().item()) > 6 * math.sqrt(measured / n):
        fail(
            name,
            f"gives weights with mean {w.mean().item():.3g}, not 0.",
            "He init is centred on 0: a symmetric distribution, N(0, 2/fan_in). torch.rand draws from U(0, 1), which "
            "is all positive.",
        )
    relative = measured / expected - 1
    band = 5 * math.sqrt(2 / n)  # 5 sigma of a mean square of n normal draws
    if abs(relative) > band:
        for rule, (variance, hint) in _variance_rules(fan_out, fan_in).items():
            if hint and abs(measured / variance - 1) < 0.05:
                fail(
                    name,
                    f"gives weight variance {measured:.3g} for shape ({fan_out}, {fan_in}) (fan_out, fan_in): "
                    f"that is {rule}; expected 2/fan_in = {expected:.3g}.",
                    hint,
                )
        fail(
            name,
            f"gives weight variance {measured:.3g} for shape ({fan_out}, {fan_in}); expected 2/fan_in = {expected:.3g} "
            f"(relative error {relative:+.2f}).",
            "draw from N(0, 2/fan_in): mean 0, std sqrt(2 / weight.shape[1]).",
        )
    std = math.sqrt(measured)
    tail = (w.abs() > 2 * std).double().mean().item()  # 4.55 % for a normal distribution
    if abs(tail - 0.0455) > 5 * math.sqrt(0.0455 * 0.9545 / n):
        hint = "He-normal draws from a normal distribution (normal_, torch.randn)."
        if tail < 0.005:
            hint += (
                " Beyond 2 std there is almost nothing: a uniform distribution (that is He-uniform, a different "
                "scheme) or a truncated normal?"
            )
        fail(name, f"gives {100 * tail:.2f}% of the weights beyond 2 std; a normal distribution has 4.55%.", hint)
    return relative, band


_HE_REFERENCES = {"kaiming_normal_", "kaiming_normal", "kaiming_uniform_", "kaiming_uniform"}
_NO_GRAD_HE = (
    "a parameter requires grad, and autograd refuses in-place changes to it. Do the in-place "
    "work inside `with torch.no_grad():`, as torch.nn.init does."
)


def _call_he(he_normal_, *args):
    """The student's he_normal_ under the call watch: PyTorch's He init and the course's init_model are
    the reference."""
    return call(
        he_normal_,
        *args,
        name="he_normal_",
        banned=_HE_REFERENCES,
        forbidden=[_package.init_model, _package._init_layer],
        error_hints={"leaf Variable": _NO_GRAD_HE},
    )


@graded_check("he_normal_", "a function he_normal_(weight, generator=None) that fills `weight` in place and returns it")
def check_he_normal_(he_normal_):
    """Check `he_normal_(weight, generator=None)`: fills weight in place with N(0, 2/fan_in), returns it."""
    with torch_threads(1):  # small tensors: one thread is several times faster than two
        _check_he_normal_(he_normal_)


def _check_he_normal_(he_normal_):
    name = "he_normal_"
    weight = torch.zeros(_FAN_OUT, _FAN_IN)
    result = _call_he(he_normal_, weight, torch.Generator().manual_seed(0))
    if result is None:
        if weight.abs().sum() > 0:
            fail(
                name,
                "filled the weight but returned None.",
                "end with `return weight`, as torch.nn.init's functions do.",
            )
        fail(
            name,
            "returned None and left the weight unchanged.",
            "fill `weight` in place (weight.normal_(...), weight.copy_(...)) and return it.",
        )
    if result is not weight:
        plain_tensor(result, name)  # a non-tensor or a tensor subclass fails here, with its own message
    if weight.abs().sum() == 0:
        fail(
            name,
            "returned a new tensor and left `weight` unchanged.",
            "the trailing underscore means in place, as in nn.init.normal_: write into `weight` "
            "(weight.normal_(...) or weight.copy_(...)), so that a layer's parameter changes.",
        )
    if result is not weight and result.data_ptr() != weight.data_ptr():
        fail(
            name,
            "filled `weight` but returned a different tensor.",
            "return `weight` itself (nn.init's functions return their argument).",
        )
    if result.shape != (_FAN_OUT, _FAN_IN):
        fail(name, f"changed the shape to {tuple(result.shape)}.", "keep the weight's (fan_out, fan_in) shape.")
    relative, band = _check_variance(weight, _FAN_OUT, _FAN_IN, name)

    # The generator: the same seed must give the same weights, and the global RNG must be left alone.
    state = torch.get_rng_state()
    a = plain_tensor(_call_he(he_normal_, torch.empty(50, 30), torch.Generator().manual_seed(7)), name)
    b = plain_tensor(_call_he(he_normal_, torch.empty(50, 30), torch.Generator().manual_seed(7)), name)
    global_rng_used = not torch.equal(torch.get_rng_state(), state)
    if a.shape != (50, 30) or b.shape != (50, 30):
        fail(
            name,
            f"returned shape {tuple(a.shape)} for a (50, 30) weight.",
            "fill `weight` in place and return it, shape unchanged.",
        )
    if not torch.equal(a, b) or global_rng_used:
        fail(
            name,
            "ignores the generator: "
            + (
                "two generators seeded the same gave different weights."
                if not torch.equal(a, b)
                else "it drew from PyTorch's global RNG although a generator was given."
            ),
            "pass the generator on: weight.normal_(0, std, generator=generator) or "
            "torch.randn(..., generator=generator). Experiments seed a generator so that results do not depend on what "
            "ran before.",
        )
    c = plain_tensor(_call_he(he_normal_, torch.empty(50, 30), torch.Generator().manual_seed(8)), name)
    if torch.equal(a, c):
        fail(
            name,
            "gives the same weights for generators with different seeds.",
            "draw random numbers from the generator; do not reseed it.",
        )
    _call_he(he_normal_, torch.empty(3, 4), None)  # generator=None: PyTorch's global RNG

    # A real layer: its weight is a Parameter that requires grad.
    layer = nn.Linear(300, 100)
    out = _call_he(he_normal_, layer.weight, torch.Generator().manual_seed(1))
    if out is not layer.weight:
        fail(name, "does not return the layer's weight Parameter itself.", "return `weight`.")
    if not layer.weight.requires_grad or not isinstance(layer.weight, nn.Parameter):
        fail(
            name,
            "changed the layer's weight into something that is no longer a trainable Parameter.",
            "fill it in place under torch.no_grad().",
        )
    layer_std = layer.weight.detach().std().item()
    if abs(layer_std / math.sqrt(2 / 300) - 1) > 0.05:
        fail(
            name,
            f"gives std {layer_std:.4f} on nn.Linear(300, 100); expected sqrt(2/300) = {math.sqrt(2 / 300):.4f}.",
            "fan_in = weight.shape[1] = in_features.",
        )
    print(
        f"he_normal_ passed: a ({_FAN_OUT}, {_FAN_IN}) weight got variance {2 / _FAN_IN * (1 + relative):.5f}, "
        f"expected 2/fan_in = {2 / _FAN_IN:.5f} (relative error {relative:+.4f}; a correct draw is within "
        f"±{band:.4f}); normal-shaped, in place, reproducible with a generator, works on an nn.Linear weight."
    )


# --- lsuv -----------------------------------------------------------------------------------


def _linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _outputs(model, X):
    """{module: (input, output)} of every Linear and ReLU of a flat nn.Sequential on X."""
    seen = {}
    with torch.no_grad():
        h = X
        for module in model:
            out = module(h)
            seen[module] = (h, out)
            h = out
    return seen, h


def _scale_and_direction(weight):
    """weight = scale * Q with Q orthonormal (rows or columns)? Returns (scale, deviation of Q from it)."""
    W = weight.detach().double()
    gram = W @ W.T if W.shape[0] <= W.shape[1] else W.T @ W
    scale2 = gram.diagonal().mean().item()
    if scale2 <= 0 or not math.isfinite(scale2):
        return 0.0, float("inf")
    deviation = (gram / scale2 - torch.eye(len(gram), dtype=gram.dtype)).abs().max().item()
    return math.sqrt(scale2), deviation


def _variant(model, X, tol, max_iter, measure="output", divide="std", order="forward", iterate=True):
    """A reference LSUV rescaling (no orthonormal step) on a flat nn.Sequential, with one knob
    turned to a plausible wrong choice: what is measured, what the weights are divided by,
    the order of the layers, whether it repeats."""
    modules = list(model)
    positions = [i for i, m in enumerate(modules) if isinstance(m, nn.Linear)]
    if order == "reverse":
        positions = positions[::-1]
    with torch.no_grad():
        for i in positions:
            layer = modules[i]
            for _ in range(max_iter if iterate else min(max_iter, 1)):
                seen, final = _outputs(model, X)
                if measure == "output":
                    value = seen[layer][1]
                elif measure == "after ReLU":
                    value = seen[modules[i + 1]][1] if i + 1 < len(modules) else seen[layer][1]
                elif measure == "input":
                    value = seen[layer][0]
                else:  # the model's output
                    value = final
                std = value.std().item()
                if abs(std - 1) < tol or std == 0 or not math.isfinite(std):
                    break
                layer.weight.div_(std**2 if divide == "variance" else std)
    return model


_LSUV_RULES = {  # name -> (variant knobs, misconception)
    "variance": (
        {"divide": "variance"},
        "divide the weights by the output's STD. The paper states its test on the variance, but dividing W "
        "by Var overshoots: the output std goes from s to 1/s, and back again on the next pass.",
    ),
    "after ReLU": (
        {"measure": "after ReLU"},
        "measure the layer's own output, the pre-activation W h + b (what a forward hook on the nn.Linear "
        "sees), not the ReLU's output after it.",
    ),
    "input": (
        {"measure": "input"},
        "measure the layer's OUTPUT: dividing W cannot change the std of its input, so rescaling on the "
        "input never converges.",
    ),
    "model output": (
        {"measure": "model output"},
        "each layer is rescaled on its OWN output (a forward hook on that nn.Linear, or model[:i + 1](X) "
        "in an nn.Sequential), not on the network's final output.",
    ),
    "reverse order": (
        {"order": "reverse"},
        "go through the layers in forward order: rescaling a layer changes the input of every layer "
        "after it, so each layer must be fixed after the ones before it.",
    ),
    "one pass": (
        {"iterate": False},
        "with a nonzero bias, dividing W by the std does not divide the output by it: measure again and "
        "repeat until |std - 1| < tol, at most max_iter times.",
    ),
}


def _square_model(seed):
    """Zero biases and square hidden layers: one rescaling per layer is exact."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # nn.Linear draws at construction: leave the global RNG alone
        model = nn.Sequential(
            nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10)
        )
    with torch.no_grad():
        for layer in _linears(model):
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=g) * 0.3)
            layer.bias.zero_()
    X = 5 * torch.randn(512, 32, generator=g)
    return model, X


def _biased_model(seed):
    """Nonzero biases (spread ±0.8) and small inputs: one rescaling leaves the std far from 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        model = nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 30), nn.ReLU(), nn.Linear(30, 5))
    with torch.no_grad():
        for layer in _linears(model):
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=g) * 0.2)
            layer.bias.copy_((torch.rand(layer.bias.shape, generator=g) * 2 - 1) * 0.8)
    X = 0.1 * torch.randn(400, 20, generator=g)
    return model, X


def _layer_stds(model, X):
    seen, _ = _outputs(model, X)
    return [seen[layer][1].std().item() for layer in _linears(model)]


_NO_GRAD_LSUV = (
    "a layer's weight is a parameter that requires grad, and autograd refuses in-place changes to "
    "it. Do the orthonormal start and the rescaling inside `with torch.no_grad():`."
)


def _run_lsuv(lsuv, model, X, tol, max_iter, seed, name):
    result = call(
        lsuv,
        model,
        X,
        tol,
        max_iter,
        torch.Generator().manual_seed(seed),
        name=name,
        forbidden=[_package.lsuv_init, _package._output_std],
        error_hints={"leaf Variable": _NO_GRAD_LSUV},
    )
    if any(m._forward_hooks or m._forward_pre_hooks for m in model.modules()):
        fail(
            name,
            "left forward hooks on the model.",
            "keep each hook's handle and call handle.remove() when done (a try/finally is safest).",
        )
    if result is None:
        fail(name, "returned None.", "modify the model in place and `return model`.")
    if result is not model:
        fail(
            name,
            "returned a different model object.",
            "LSUV initialises the model it is given, in place: change its layers' weights and return `model`.",
        )
    return result


def _diagnose(model_after, model_before, X, tol, max_iter, name, rules):
    """Replay each plausible wrong rule from the student's own orthonormal start and name the one that matches."""
    scales = [_scale_and_direction(layer.weight)[0] for layer in _linears(model_after)]
    for rule in rules:
        knobs, hint = _LSUV_RULES[rule]
        replay = _copy_with_unit_scale(model_after, model_before)
        _variant(replay, X, tol, max_iter, **knobs)
        replayed = [_scale_and_direction(layer.weight)[0] for layer in _linears(replay)]
        if all(math.isclose(a, b, rel_tol=1e-3) for a, b in zip(scales, replayed)):
            return hint
    return None


def _copy_with_unit_scale(model_after, model_before):
    """model_before's biases with model_after's orthonormal directions at scale 1: the start of LSUV's second step."""
    replay = copy.deepcopy(model_before)
    with torch.no_grad():
        for target, source in zip(_linears(replay), _linears(model_after)):
            scale, _ = _scale_and_direction(source.weight)
            target.weight.copy_(source.weight / scale)
    return replay


def _expect_unit_stds(model, before, X, tol, max_iter, name, rules, what):
    stds = _layer_stds(model, X)
    bad = [i for i, s in enumerate(stds) if not abs(s - 1) < tol * 1.05]
    if not bad:
        return stds
    shown = ", ".join(f"{s:.3g}" for s in stds)
    problem = f"on {what}, the output std of the nn.Linear layers is [{shown}]; each should be 1 within tol = {tol}."
    hint = _diagnose(model, before, X, tol, max_iter, name, rules)
    if hint:
        fail(name, problem, hint)
    scales = [_scale_and_direction(layer.weight)[0] for layer in _linears(model)]
    if all(abs(s - 1) < 1e-4 for s in scales) and max_iter > 0:
        fail(
            name,
            problem + " The weights are exactly orthonormal: nothing rescaled them.",
            "after the orthonormal start, divide each layer's weight by the std of its output (in place, under "
            "torch.no_grad()). If you call orthogonal_ again after rescaling, it overwrites the scale.",
        )
    fail(
        name,
        problem,
        "for each nn.Linear in forward order: run X through the model, take out.std() of "
        "that layer's output, divide its weight by it; repeat until |std - 1| < tol or max_iter times.",
    )


@graded_check(
    "lsuv",
    "a function lsuv(model, X, tol=0.1, max_iter=10, generator=None) that initialises `model` in place and returns it",
)
def check_lsuv(lsuv):
    """Check `lsuv(model, X, tol=0.1, max_iter=10, generator=None)` (Mishkin & Matas 2015)."""
    with torch_threads(1):  # small models: one thread is several times faster than two
        _check_lsuv(lsuv)


def _check_lsuv(lsuv):
    name = "lsuv"
    tol, max_iter = 0.1, 10

    # 1. Zero biases, square layers: orthonormal start, then every layer's output std is 1.
    #    (max_iter 9, odd: dividing by the variance then cannot land back on the start.)
    model, X = _square_model(0)
    before = copy.deepcopy(model)
    _run_lsuv(lsuv, model, X, tol, 9, 0, name)
    for k, (layer, old) in enumerate(zip(_linears(model), _linears(before)), start=1):
        scale, _ = _scale_and_direction(layer.weight)
        if not torch.isfinite(layer.weight).all() or scale == 0 or not math.isfinite(scale):
            fail(
                name,
                f"made the weights of nn.Linear number {k} 0, inf or nan: the rescaling ran away.",
                "that happens when the std you divide by does not depend on the weights you divide, such as "
                "the std of the layer's input. Measure the layer's OUTPUT (its pre-activation) and divide by its std.",
            )
        if torch.equal(layer.weight, old.weight):
            fail(
                name,
                f"left the weights of nn.Linear number {k} unchanged.",
                "change the model's own parameters in place (layer.weight.copy_(...), "
                "nn.init.orthogonal_(layer.weight), layer.weight.div_(std)) under torch.no_grad(), not a copy of them.",
            )
        scale, deviation = _scale_and_direction(layer.weight)
        if deviation > 1e-3:
            fail(
                name,
                f"nn.Linear number {k} does not have orthonormal weights times a number "
                f"(its rows deviate from orthonormal by up to {deviation:.2g}).",
                "LSUV starts by giving EVERY layer orthonormal weights (nn.init.orthogonal_(layer.weight, "
                "generator=generator)), then only rescales them. Keeping the old random weights is not LSUV.",
            )
    all_rules = ["variance", "after ReLU", "input", "model output", "reverse order"]
    stds = _expect_unit_stds(model, before, X, tol, 9, name, all_rules, "4 layers with zero biases")

    # 2. max_iter=0 keeps the orthonormal start as it is.
    model0, X0 = _square_model(1)
    _run_lsuv(lsuv, model0, X0, tol, 0, 1, name)
    scales = [_scale_and_direction(layer.weight)[0] for layer in _linears(model0)]
    if not all(abs(s - 1) < 1e-4 for s in scales):
        fail(
            name,
            f"rescaled the weights with max_iter=0 (weight scales {[round(s, 3) for s in scales]}).",
            "max_iter is the largest number of rescalings per layer: with 0 the orthonormal weights stay as they are.",
        )

    # 3. Nonzero biases: they must not change, and one rescaling per layer is not enough.
    model_b, X_b = _biased_model(2)
    before_b = copy.deepcopy(model_b)
    _run_lsuv(lsuv, model_b, X_b, tol, max_iter, 2, name)
    for k, (layer, old) in enumerate(zip(_linears(model_b), _linears(before_b)), start=1):
        if not torch.equal(layer.bias, old.bias):
            if (layer.bias == 0).all():
                fail(
                    name,
                    f"set the biases of nn.Linear number {k} to zero.",
                    "this exercise's LSUV rescales the weights only: leave the biases as they are "
                    "(call it on a model with zero biases if you want them zero).",
                )
            ratio = layer.bias / old.bias
            if torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-4):
                fail(
                    name,
                    f"rescaled the biases of nn.Linear number {k} together with its weights.",
                    "LSUV divides the WEIGHTS by the output std and leaves the biases alone; iterate until the std is "
                    "within tol instead.",
                )
            fail(
                name,
                f"changed the biases of nn.Linear number {k}.",
                "leave the biases as they are: LSUV only rescales weights.",
            )
    _expect_unit_stds(
        model_b, before_b, X_b, tol, max_iter, name, ["one pass", *all_rules], "3 layers with nonzero biases"
    )

    # 4. The generator: same seed, same weights; the global RNG is not used.
    state = torch.get_rng_state()
    runs = []
    for seed in (5, 5, 6):
        m, Xm = _square_model(3)
        _run_lsuv(lsuv, m, Xm, tol, max_iter, seed, name)
        runs.append(torch.cat([p.detach().flatten() for p in m.parameters()]))
    if not torch.equal(runs[0], runs[1]) or not torch.equal(torch.get_rng_state(), state):
        fail(
            name,
            "is not reproducible with a seeded generator (or draws from the global RNG).",
            "pass the generator to the orthonormal start: nn.init.orthogonal_(layer.weight, generator=generator).",
        )
    if torch.equal(runs[0], runs[2]):
        fail(
            name,
            "gives the same weights for generators with different seeds.",
            "draw the orthonormal start from the generator.",
        )
    print(
        f"lsuv passed: orthonormal start, output std per layer {', '.join(f'{s:.3f}' for s in stds)} (tol {tol}) with "
        "zero biases; converges with nonzero biases left untouched; max_iter=0 respected; reproducible with a "
        "generator; no hooks left."
    )
