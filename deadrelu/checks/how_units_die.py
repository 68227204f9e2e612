"""Public checks of notebook 02_how_units_die: is_dead_on, dead_units, born_dead_probability."""

import math

import torch

from ._common import call, expect_input_unchanged, expect_no_python_loops, fail

# Integer-valued data, so that a pre-activation can be exactly 0 (where ReLU outputs 0).
_X = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [2.0, 0.0, 1.0], [1.0, 1.0, 1.0]])


def _as_bool(result, name):
    if isinstance(result, torch.Tensor):
        if result.numel() != 1:
            fail(
                name,
                f"returned a tensor of shape {tuple(result.shape)}, not one yes/no answer.",
                "a unit is dead on the data set when it is off for EVERY example: reduce over the "
                "examples with .all() (or `not ....any()`).",
            )
        if result.dtype != torch.bool:
            fail(name, f"returned a {result.dtype} tensor, not a bool.", "return a bool (or a bool tensor): the answer is yes or no.")
        return bool(result)
    if isinstance(result, bool):
        return result
    fail(name, f"returned {result!r} ({type(result).__name__}), not a bool.", "return True (dead) or False (alive).")


# Units (w, b) on _X chosen so that the correct rule and each plausible wrong rule give
# different yes/no patterns over the five units (see RULES).
_UNITS = [
    (torch.tensor([-2.1, -1.8, -2.5]), -0.1),  # negative on every example
    (torch.tensor([1.0, 1.0, 1.0]), -3.0),  # best pre-activation exactly 0: still dead
    (torch.tensor([1.0, -1.0, 0.0]), -1.0),  # fires on the third example only; negative on average
    (torch.tensor([0.0, 1.0, -3.0]), 0.0),  # fires on the first example only; negative on average
    (torch.tensor([-1.0, 0.0, 3.0]), 0.0),  # off on the first example, fires on the others
]
_RULES = {  # name -> (decides "dead" from the pre-activations z, hint)
    "correct": (lambda z: not bool((z > 0).any()), None),
    ">= 0": (
        lambda z: not bool((z >= 0).any()),
        "ReLU outputs 0 at z = 0 too: a unit fires only where z > 0. A unit whose best pre-activation "
        "is exactly 0 is dead; use `> 0`, not `>= 0`.",
    ),
    "first example": (
        lambda z: bool(z[0] <= 0),
        "dead means off on EVERY example, not on the first one: look at all rows of X.",
    ),
    "mean": (
        lambda z: bool(z.mean() <= 0),
        "a unit negative on average can still fire on some examples, and then it gets gradient from "
        "them: one z > 0 is enough to be alive. Use .any() over the examples, not the mean.",
    ),
}


def check_is_dead_on(is_dead_on):
    """Check `is_dead_on(w, b, X)`: True when relu(X @ w + b) is 0 for every row of X."""
    name = "is_dead_on"
    expect_input_unchanged(lambda X, w, b: is_dead_on(w, b, X), _X.clone(), name, torch.tensor([1.0, 1.0, 1.0]), -3.0)
    answers = [_as_bool(call(is_dead_on, w.clone(), b, _X.clone(), name=name), name) for w, b in _UNITS]
    patterns = {rule: [decide(_X @ w + b) for w, b in _UNITS] for rule, (decide, _) in _RULES.items()}
    if answers != patterns["correct"]:
        for rule, (_, hint) in _RULES.items():
            if rule != "correct" and answers == patterns[rule]:
                fail(name, f"answers {answers} for the five test units; expected {patterns['correct']}.", hint)
        i = next(i for i, (a, e) in enumerate(zip(answers, patterns["correct"])) if a != e)
        w, b = _UNITS[i]
        fail(name, f"gives {answers[i]} for w={w.tolist()}, b={b}; expected {patterns['correct'][i]} "
                   f"(pre-activations {(_X @ w + b).tolist()}).")
    expect_no_python_loops(is_dead_on, name)
    print(f"is_dead_on passed: {len(_UNITS)} units on 4 examples, including an exact zero and units that fire on one example only.")


def check_dead_units(dead_units):
    """Check `dead_units(W, b, X)` -> bool tensor (units,): True for units dead on all rows of X."""
    name = "dead_units"
    W = torch.tensor([[-2.1, -1.8, -2.5], [1.0, 1.0, 1.0], [-1.0, -1.0, 1.0], [0.5, 0.5, 0.5], [1.0, 0.0, 0.0]])
    b = torch.tensor([-0.1, -3.0, 0.5, -0.5, -1.0])
    pre = _X @ W.T + b  # examples x units
    expected = ~(pre > 0).any(dim=0)  # units 0, 1 and 4 are dead
    expect_input_unchanged(lambda X, W_, b_: dead_units(W_, b_, X), _X.clone(), name, W.clone(), b.clone())
    result = call(dead_units, W.clone(), b.clone(), _X.clone(), name=name)
    if not isinstance(result, torch.Tensor):
        fail(name, f"returned {type(result).__name__}, not a tensor.", "return one bool per unit, as a tensor of shape (units,).")
    if result.shape == (len(_X),):
        fail(
            name,
            f"returned one value per example (shape {tuple(result.shape)}), not one per unit.",
            "reduce over the examples (dim 0 of X @ W.T + b), keeping the units.",
        )
    if result.shape != (len(W),):
        fail(name, f"returned shape {tuple(result.shape)}; expected ({len(W)},): one bool per unit (rows of W, nn.Linear's layout).")
    if result.dtype != torch.bool:
        fail(name, f"returned dtype {result.dtype}.", "return a bool tensor: True where the unit is dead.")
    if torch.equal(result, ~expected):
        fail(name, "marks the live units as dead and the dead ones as live.", "True should mean dead: never > 0 on any example.")
    if torch.equal(result, (pre < 0).all(dim=0)):
        fail(name, "misses unit 1, whose best pre-activation is exactly 0.", "ReLU outputs 0 at z = 0: a unit fires only where z > 0, so test `> 0` (or `<= 0` for off).")
    if torch.equal(result, (pre.mean(dim=0) <= 0)):
        fail(name, "decides by the mean pre-activation.", "one example with z > 0 is enough to be alive; use .any() / .all() over the examples.")
    if torch.equal(result, pre[0] <= 0):
        fail(name, "looks at the first example only.", "dead means off on every example: reduce over all rows.")
    if not torch.equal(result, expected):
        fail(name, f"gives {result.tolist()}; expected {expected.tolist()} (units 0, 1 and 4 are dead).")
    # a second data set with more examples than features: catches transposed products
    g = torch.Generator().manual_seed(0)
    W2, b2, X2 = torch.randn(7, 5, generator=g), torch.randn(7, generator=g) - 2.0, torch.rand(40, 5, generator=g)
    expected2 = ~((X2 @ W2.T + b2) > 0).any(dim=0)
    result2 = call(dead_units, W2, b2, X2, name=name)
    if not isinstance(result2, torch.Tensor) or not torch.equal(result2, expected2):
        fail(name, "is wrong on a layer of 7 units with 5 inputs and 40 examples.", "W has shape (units, features) as in nn.Linear: pre-activations are X @ W.T + b.")
    expect_no_python_loops(dead_units, name)
    print(f"dead_units passed: a 5-unit layer (an exact zero included) and a 7-unit layer on 40 examples ({int(expected2.sum())} dead).")


_WRONG_BORN_DEAD = {  # formula -> (its values, the misconception)
    "(2**-width) ** depth": (lambda w, d: (2.0**-w) ** d, "that is the chance that EVERY layer dies; one dead layer is enough to kill the net."),
    "depth * 2**-width": (lambda w, d: d * 2.0**-w, "adding the layers' probabilities (a union bound) overcounts and can exceed 1; use the complement: the net lives only if every layer lives."),
    "1 - (1 - 2**-depth) ** width": (lambda w, d: 1 - (1 - 2.0**-d) ** w, "width and depth are swapped: a layer of N units dies when all N are off (2**-N)."),
    "2**-width": (lambda w, d: 2.0**-w, "that is one layer; with more layers the net has more chances to die."),
    "(1 - 2**-width) ** depth": (lambda w, d: (1 - 2.0**-w) ** d, "that is the probability that the net is ALIVE (every layer lives); the question asks for dead."),
}


def check_born_dead_probability(born_dead_probability):
    """Check `born_dead_probability(width, depth)` = 1 - (1 - 2**-width) ** depth."""
    name = "born_dead_probability"
    grid = [(1, 1), (2, 1), (1, 3), (2, 5), (3, 10), (5, 20), (10, 2)]
    values = []
    for width, depth in grid:
        result = call(born_dead_probability, width, depth, name=name)
        try:
            values.append(float(result))
        except (TypeError, ValueError):
            fail(name, f"returned {result!r} for width {width}, depth {depth}, not a number.", "return the probability as a float.")
    expected = [1 - (1 - 2.0**-w) ** d for w, d in grid]
    close = lambda a, b: all(math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-12) for x, y in zip(a, b))  # noqa: E731
    if not close(values, expected):
        for formula, (wrong, hint) in _WRONG_BORN_DEAD.items():
            if close(values, [wrong(w, d) for w, d in grid]):
                fail(name, f"computes {formula}.", hint)
        i = next(i for i, (v, e) in enumerate(zip(values, expected)) if not math.isclose(v, e, rel_tol=1e-6))
        fail(name, f"gives {values[i]:.6g} for width {grid[i][0]}, depth {grid[i][1]}; expected {expected[i]:.6g}.",
             "a layer of width N is off for a given input with probability 2**-N; the net survives only if all its layers do.")
    print(f"born_dead_probability passed: matches 1 - (1 - 2**-N)**H on {len(grid)} (width, depth) pairs (relative error < 1e-6).")
