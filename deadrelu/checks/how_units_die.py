"""Public checks of notebook 02_how_units_die: is_dead_on, dead_units, and the form of the
born-dead ranking.

"Dead on a data set" means exactly: the pre-activation z = w·x + b is never > 0 on any example.
Each check tries units built so that the correct rule and each plausible wrong one (>= 0, the
first example only, the mean, a "numerical safety" threshold such as z > 1e-6) give different
answers. Results are compared as plain values (`plain_tensor`, a real bool), and the student's
function runs under the call watch of `_common.call`.
"""

import numpy as np
import torch

from ._common import call, expect_input_unchanged, expect_no_python_loops, fail, graded_check, plain_tensor

# Integer-valued data, so that a pre-activation can be exactly 0 (where ReLU outputs 0).
_X = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [2.0, 0.0, 1.0], [1.0, 1.0, 1.0]])

_THRESHOLD_HINT = (
    "dead means z is never > 0 on any example: exactly `> 0`, no margin. A threshold such as "
    "z > 1e-6 or z > 1e-3 is a different, looser definition: a unit that fires with z = 1e-7 "
    "outputs 1e-7 and still gets gradient (relu'(z) = 1 there), so it is alive. Floating point "
    "needs no safety margin here: ReLU itself tests z > 0."
)


def _as_bool(result, name):
    """The student's yes/no answer as a Python bool: a bool, a NumPy bool or a one-element plain bool tensor."""
    if isinstance(result, torch.Tensor):
        result = plain_tensor(result, name)
        if result.numel() != 1:
            fail(
                name,
                f"returned a tensor of shape {tuple(result.shape)}, not one yes/no answer.",
                "a unit is dead on the data set when it is off for EVERY example: reduce over the "
                "examples with .all() (or `not ....any()`).",
            )
        if result.dtype != torch.bool:
            fail(
                name,
                f"returned a {result.dtype} tensor, not a bool.",
                "return a bool (or a bool tensor): the answer is yes or no.",
            )
        return bool(result.reshape(()).item())
    if type(result) is bool:
        return result
    if type(result) is np.bool_:
        return bool(result)
    fail(name, f"returned {result!r} ({type(result).__name__}), not a bool.", "return True (dead) or False (alive).")


# Units (w, b) on _X chosen so that the correct rule and each plausible wrong rule give
# different yes/no patterns over the units (see _RULES).
_UNITS = [
    (torch.tensor([-2.1, -1.8, -2.5]), -0.1),  # negative on every example
    (torch.tensor([1.0, 1.0, 1.0]), -3.0),  # best pre-activation exactly 0: still dead
    (torch.tensor([1.0, -1.0, 0.0]), -1.0),  # fires on the third example only; negative on average
    (torch.tensor([0.0, 1.0, -3.0]), 0.0),  # fires on the first example only; negative on average
    (torch.tensor([-1.0, 0.0, 3.0]), 0.0),  # off on the first example, fires on the others
    (torch.tensor([2e-7, -1.0, 0.0]), 0.0),  # best pre-activation 4e-7 (third example): alive
    (torch.tensor([3e-4, -1.0, 0.0]), 0.0),  # best pre-activation 6e-4 (third example): alive
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
# float64 units whose best pre-activation is far below any "safety" threshold, but > 0
_X64 = _X.double()
_TINY_UNITS = [
    (torch.tensor([1e-30, -1.0, 0.0], dtype=torch.float64), 0.0),  # best z = 2e-30: alive
    (torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64), -3.0 + 1e-12),  # best z about 1e-12: alive
]


def _tiny_positive(z):
    """Alive, but only by a margin that a threshold rule would miss."""
    return bool((z > 0).any()) and z.max().item() <= 1e-2


@graded_check("is_dead_on", expects="True or False (a bool, or a one-element bool tensor)")
def check_is_dead_on(is_dead_on):
    """Check `is_dead_on(w, b, X)`: True when relu(X @ w + b) is 0 for every row of X."""
    name = "is_dead_on"
    expect_input_unchanged(lambda X, w, b: is_dead_on(w, b, X), _X.clone(), name, torch.tensor([1.0, 1.0, 1.0]), -3.0)
    answers = [_as_bool(call(is_dead_on, w.clone(), b, _X.clone(), name=name), name) for w, b in _UNITS]
    pre = [_X @ w + b for w, b in _UNITS]
    expected = [_RULES["correct"][0](z) for z in pre]
    if answers != expected:
        for rule, (decide, hint) in _RULES.items():
            if rule != "correct" and answers == [decide(z) for z in pre]:
                fail(name, f"answers {answers} for the {len(_UNITS)} test units; expected {expected}.", hint)
        wrong = [i for i, (a, e) in enumerate(zip(answers, expected)) if a != e]
        if all(answers[i] and _tiny_positive(pre[i]) for i in wrong):
            i = wrong[0]
            fail(
                name,
                f"says dead for a unit whose largest pre-activation is {pre[i].max().item():.1g} > 0.",
                _THRESHOLD_HINT,
            )
        i = wrong[0]
        w, b = _UNITS[i]
        fail(
            name,
            f"gives {answers[i]} for w={w.tolist()}, b={b}; expected {expected[i]} "
            f"(pre-activations {pre[i].tolist()}).",
        )
    for w, b in _TINY_UNITS:
        z = _X64 @ w + b
        if _as_bool(call(is_dead_on, w.clone(), b, _X64.clone(), name=name), name):
            fail(
                name,
                f"says dead for a float64 unit whose largest pre-activation is {z.max().item():.1g} > 0.",
                _THRESHOLD_HINT,
            )
    expect_no_python_loops(is_dead_on, name)
    print(
        f"is_dead_on passed: {len(_UNITS) + len(_TINY_UNITS)} units, including an exact zero, units that fire on one "
        "example only and units whose best pre-activation is a tiny positive number."
    )


_W = torch.tensor(
    [
        [-2.1, -1.8, -2.5],  # 0: negative everywhere -> dead
        [1.0, 1.0, 1.0],  # 1: best z exactly 0 -> dead
        [-1.0, -1.0, 1.0],  # 2: alive
        [0.5, 0.5, 0.5],  # 3: alive
        [1.0, 0.0, 0.0],  # 4: best z exactly 0 -> dead
        [2e-7, -1.0, 0.0],  # 5: best z 4e-7 -> alive
        [3e-4, -1.0, 0.0],  # 6: best z 6e-4 -> alive
    ]
)
_B = torch.tensor([-0.1, -3.0, 0.5, -0.5, -2.0, 0.0, 0.0])


def _as_unit_mask(result, units, name, what="returned"):
    """The student's per-unit answer as a plain bool tensor of shape (units,)."""
    result = plain_tensor(result, name, what)
    if result.shape == (len(_X),) and units != len(_X):
        fail(
            name,
            f"returned one value per example (shape {tuple(result.shape)}), not one per unit.",
            "reduce over the examples (dim 0 of X @ W.T + b), keeping the units.",
        )
    if result.shape != (units,):
        fail(
            name,
            f"returned shape {tuple(result.shape)}; expected ({units},): one bool per unit (rows of W, nn.Linear's "
            "layout).",
        )
    if result.dtype != torch.bool:
        fail(name, f"returned dtype {result.dtype}.", "return a bool tensor: True where the unit is dead.")
    return result


@graded_check("dead_units", expects="a bool tensor of shape (units,), True where the unit is dead")
def check_dead_units(dead_units):
    """Check `dead_units(W, b, X)` -> bool tensor (units,): True for units dead on all rows of X."""
    name = "dead_units"
    W, b = _W, _B
    pre = _X @ W.T + b  # examples x units
    expected = ~(pre > 0).any(dim=0)  # units 0, 1 and 4 are dead
    expect_input_unchanged(lambda X, W_, b_: dead_units(W_, b_, X), _X.clone(), name, W.clone(), b.clone())
    result = _as_unit_mask(call(dead_units, W.clone(), b.clone(), _X.clone(), name=name), len(W), name)
    if torch.equal(result, ~expected):
        fail(
            name,
            "marks the live units as dead and the dead ones as live.",
            "True should mean dead: never > 0 on any example.",
        )
    if torch.equal(result, (pre < 0).all(dim=0)):
        fail(
            name,
            "misses units whose best pre-activation is exactly 0.",
            "ReLU outputs 0 at z = 0: a unit fires only where z > 0, so test `> 0` (or `<= 0` for off).",
        )
    if torch.equal(result, (pre.mean(dim=0) <= 0)):
        fail(
            name,
            "decides by the mean pre-activation.",
            "one example with z > 0 is enough to be alive; use .any() / .all() over the examples.",
        )
    if torch.equal(result, pre[0] <= 0):
        fail(name, "looks at the first example only.", "dead means off on every example: reduce over all rows.")
    wrong = (result != expected).nonzero().flatten().tolist()
    if wrong and all(bool(result[i]) and _tiny_positive(pre[:, i]) for i in wrong):
        i = wrong[0]
        fail(
            name,
            f"marks unit {i} dead, but its largest pre-activation is {pre[:, i].max().item():.1g} > 0.",
            _THRESHOLD_HINT,
        )
    if wrong:
        fail(name, f"gives {result.tolist()}; expected {expected.tolist()} (units 0, 1 and 4 are dead).")
    # float64 units alive by a margin far below any threshold
    W64 = torch.stack([w for w, _ in _TINY_UNITS])
    b64 = torch.tensor([b for _, b in _TINY_UNITS], dtype=torch.float64)
    tiny = _as_unit_mask(call(dead_units, W64.clone(), b64.clone(), _X64.clone(), name=name), len(W64), name)
    if tiny.any():
        best = (_X64 @ W64.T + b64).max(dim=0).values
        i = int(tiny.nonzero()[0])
        fail(
            name,
            f"marks a float64 unit dead whose largest pre-activation is {best[i].item():.1g} > 0.",
            _THRESHOLD_HINT,
        )
    # a second data set with more examples than features: catches transposed products
    g = torch.Generator().manual_seed(0)
    W2, b2, X2 = torch.randn(7, 5, generator=g), torch.randn(7, generator=g) - 2.0, torch.rand(40, 5, generator=g)
    expected2 = ~((X2 @ W2.T + b2) > 0).any(dim=0)
    result2 = plain_tensor(call(dead_units, W2, b2, X2, name=name), name)
    if result2.shape != expected2.shape or not torch.equal(result2, expected2):
        fail(
            name,
            "is wrong on a layer of 7 units with 5 inputs and 40 examples.",
            "W has shape (units, features) as in nn.Linear: pre-activations are X @ W.T + b.",
        )
    expect_no_python_loops(dead_units, name)
    print(
        f"dead_units passed: a 7-unit layer (exact zeros and tiny positive pre-activations included), 2 float64 units "
        f"alive by less than 1e-11, and a 7-unit layer on 40 examples ({int(expected2.sum())} dead)."
    )


# --- the born-dead ranking: its form only -------------------------------------------------------
NETS = ("A", "B", "C", "D")


@graded_check(
    "BORN_DEAD_RANKING",
    expects='the four letters from most to least likely born dead, e.g. ["D", "C", "B", "A"] or "DCBA"',
)
def check_ranking(ranking, name="BORN_DEAD_RANKING", nets=NETS):
    """The FORM of a ranking of `nets` (each letter once), not whether it is right; returns it as a list.

    Accepts a list or tuple of letters, or a string such as "DCBA" (spaces, commas and case
    ignored). The hidden tests grade the order itself.
    """
    if ranking is None or ranking is Ellipsis:
        fail(
            name,
            "is not answered yet.",
            f"replace None with your ranking, most likely born dead first, e.g. {list(reversed(nets))}.",
        )
    if isinstance(ranking, str):
        letters = [c.upper() for c in ranking if c.isalnum()]
    elif isinstance(ranking, (list, tuple)) and all(isinstance(c, str) for c in ranking):
        letters = [c.strip().upper() for c in ranking]
    else:
        fail(
            name,
            f"is {ranking!r} ({type(ranking).__name__}), not a list of letters.",
            f"write the letters in order, e.g. {list(reversed(nets))}.",
        )
    if sorted(letters) != sorted(nets):
        fail(
            name,
            f"is {letters}: it must name each of {', '.join(nets)} exactly once.",
            "a ranking orders all four nets, most likely born dead first.",
        )
    print(
        f"{name}: {' > '.join(letters)} is a well-formed ranking. It is graded when you hand in; the experiment below "
        "measures it."
    )
    return letters
