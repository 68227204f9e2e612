"""Public checks of notebook 03_detecting_dead_units: count_dead_units, dead_units_with_hooks,
dormant_scores, and the form of the answer to the diagnosis exercise (which units are dead).

Each check runs the student's function on small fixtures whose answers are known by
construction, recognises the usual wrong answers (counting batch by batch, `sum == 0` on
activations that can be negative, a "numerical safety" threshold instead of `> 0`, hooks left
behind, a hook that returns a value, one forward pass over all of X instead of batches, a
measurement run with gradients enabled, positions counted instead of channels, the wrong
normaliser in the ReDo score) and names them in the hint. The definitions are those of
`deadrelu/monitor.py`. The student's function runs under the call watch of `_common.call`:
calling the package's monitor (`scan`, `DeadUnitMonitor`, `dormant_scores` ...) or a function
of this module fails. The autograder adds hidden tests.
"""

import copy
import functools
import inspect
import math
import numbers
from pathlib import Path

import torch
from torch import nn
from torch.nn.modules import module as _module_internals

from .. import monitor as _monitor
from .. import tracking as _tracking
from ._common import call, fail, graded_check, plain_tensor

# The package's own implementations of what these exercises ask for: a call to any of them
# while a graded function runs fails the check (runtime detection, whatever name reached them).
_PACKAGE_IMPLEMENTATIONS = [
    _monitor.scan,
    _monitor.dormant_scores,
    _monitor.DeadUnitMonitor.__init__,
    _monitor.DeadUnitMonitor.report,
    _monitor._Accumulator.add,
    _tracking.DeadUnitTracker.__init__,
]
_CHECKS_FOLDER = str(Path(__file__).resolve().parent)


def _expect_written_by_student(fn, name):
    """The function handed in must not BE a check module's reference or the package's implementation.

    (The call watch catches them when the student's function calls them; a function imported
    under the exercise's name is the function itself, so it is looked at here.)
    """
    while isinstance(fn, functools.partial):
        fn = fn.func
    code = getattr(inspect.unwrap(getattr(fn, "__func__", fn)), "__code__", None)
    if code is None:
        return
    package_codes = {getattr(f, "__code__", None) for f in _PACKAGE_IMPLEMENTATIONS}
    if code.co_filename.startswith(_CHECKS_FOLDER) or code in package_codes:
        where = "the check module" if code.co_filename.startswith(_CHECKS_FOLDER) else "the course's package"
        fail(
            name,
            f"is `{code.co_name}` from {where}, which computes the answer it is checked against.",
            "the exercise is to write it yourself from elementary tensor operations; "
            "a reference imported under another name is still the reference.",
        )


# --- count_dead_units ------------------------------------------------------------------
# Fixture A: ReLU outputs of a 10-unit layer in 3 batches of 4, 3 and 2 examples. Each unit
# fires (once) in the batches listed; units 2 and 6 never fire. The wrong answers this data
# tells apart: per-batch counts 4, 6, 7 (summed 17, averaged 5.7), "silent in some batch" 9,
# alive units 8, the first batch alone 4, the last batch alone 7 -- and the right answer, 2.
_FIRES_IN_BATCHES = [{0, 2}, {1}, set(), {0, 2}, {0, 1}, {0, 1, 2}, set(), {0}, {1}, {0}]
_BATCH_SIZES = (4, 3, 2)


def _relu_batches():
    g = torch.Generator().manual_seed(30)
    batches = []
    for b, size in enumerate(_BATCH_SIZES):
        h = torch.zeros(size, len(_FIRES_IN_BATCHES))
        for unit, fires_in in enumerate(_FIRES_IN_BATCHES):
            if b in fires_in:
                row = int(torch.randint(size, (1,), generator=g))
                h[row, unit] = 0.5 + torch.rand(1, generator=g).item()
        batches.append(h)
    return batches


# Fixture B: outputs of a layer whose activation can be negative (Leaky ReLU, ELU, GELU ...),
# 7 units in 2 batches of 3. Units 0 and 6 are always negative, unit 1 is exactly 0: those
# three never output > 0. Unit 2's outputs +1 and -1 sum to exactly 0 although it fires;
# units 3 and 5 fire once but have a negative sum; unit 4 is always positive.
_SIGNED = [
    torch.tensor(
        [
            [-0.02, 0.0, 1.0, 0.5, 0.3, -0.4, -0.01],
            [-0.05, 0.0, -1.0, -3.0, 1.2, -0.2, -0.03],
            [-0.01, 0.0, 0.0, -2.0, 0.7, -0.6, -0.02],
        ]
    ),
    torch.tensor(
        [
            [-0.03, 0.0, 0.0, -1.0, 0.9, 0.2, -0.04],
            [-0.02, 0.0, 0.0, -1.0, 0.4, -0.1, -0.01],
            [-0.04, 0.0, 0.0, -1.0, 2.0, -0.3, -0.05],
        ]
    ),
]
_SIGNED_DEAD = 3  # units 0, 1 and 6

# Fixture C: ReLU outputs of 8 units in 2 batches of 4, where units 1, 3, 5 and 7 fire only with
# tiny positive outputs (largest 1e-30, 3e-8, 5e-7 and 2e-5). They are alive: > 0 is > 0, and a
# tiny output still passes the full gradient back. Units 0 and 4 are dead; 2 and 6 fire strongly.
# A "numerical safety" threshold (`> 1e-6`, `> eps`, even `> 1e-12`) counts some of the
# tiny ones as dead, however small it is chosen.
_TINY = {1: 1e-30, 3: 3e-8, 5: 5e-7, 7: 2e-5}


def _tiny_batches():
    batches = [torch.zeros(4, 8), torch.zeros(4, 8)]
    for unit, value in _TINY.items():
        batches[unit % 2][unit % 4, unit] = value
        batches[1 - unit % 2][(unit + 1) % 4, unit] = value / 2
    for unit in (2, 6):
        batches[0][:, unit] = torch.tensor([0.5, 0.0, 1.5, 2.0])
        batches[1][:, unit] = torch.tensor([0.0, 0.7, 0.0, 3.0])
    return batches


_TINY_DEAD = 2  # units 0 and 4


def _random_relu_batches(seed, sizes, units, dtype=torch.float32):
    """ReLU outputs where a fifth of the units are dead and another fifth fire rarely."""
    g = torch.Generator().manual_seed(seed)
    bias = torch.zeros(units, dtype=dtype)
    bias[: units // 5] = -50.0  # dead
    bias[units // 5 : 2 * units // 5] = -2.3  # fire on about 1 % of examples
    return [torch.relu(torch.randn(n, units, generator=g, dtype=dtype) + bias) for n in sizes]


def never_positive(batches):
    """Reference: the number of units whose output is never > 0 in any batch."""
    return int((~torch.cat(list(batches)).gt(0).any(dim=0)).sum())


def _as_count(result, name, units, expected):
    """The student's result as an int, or a failure that says what kind of thing it was."""
    if isinstance(result, torch.Tensor):
        result = plain_tensor(result, name)  # a subclass can pose as a number: rejected
    if isinstance(result, torch.Tensor) and result.numel() != 1:
        fail(
            name,
            f"returned a tensor of shape {tuple(result.shape)}, not one number.",
            "a mask or a per-unit tensor is a good intermediate step; return the count of dead units, e.g. "
            "int(dead_mask.sum()).",
        )
    if isinstance(result, bool) or (isinstance(result, torch.Tensor) and result.dtype == torch.bool):
        fail(
            name,
            f"returned a bool ({result}), not a count.",
            "return the number of dead units, an int such as int(dead_mask.sum()).",
        )
    if isinstance(result, torch.Tensor):
        if not result.dtype.is_floating_point:
            return int(result)
        result = result.item()
    if isinstance(result, numbers.Integral):
        return int(result)
    if isinstance(result, float):
        for share, label in ((expected / units, "share"), (100 * expected / units, "percentage")):
            if math.isclose(result, share, rel_tol=1e-6):
                fail(
                    name,
                    f"returned {result:g}, the {label} of dead units.",
                    "return the number of dead units (an int); the caller divides by the layer's width if it wants a "
                    "share.",
                )
        fail(
            name,
            f"returned the float {result:g}, not an int.",
            "the number of dead units is a whole number: return it as an int, e.g. int(dead_mask.sum()).",
        )
    if isinstance(result, (list, tuple, dict, set)):
        fail(
            name,
            f"returned a {type(result).__name__}, not one number.",
            "return the number of dead units of the layer as an int, not the units themselves.",
        )
    fail(name, f"returned a {type(result).__name__}, not a number.", "return the number of dead units as an int.")


def _expect_unchanged(batches, originals, name):
    for batch, original in zip(batches, originals):
        if not torch.equal(batch, original):
            fail(
                name,
                "modified the activation tensors it was given.",
                "in-place ops (h.clamp_(...), h[h < 0] = 0, torch.relu_(h)) write into the caller's tensors; work out "
                "of place.",
            )


@graded_check(
    "count_dead_units", expects="an int: the number of units never > 0 in any of the (batch size, units) tensors"
)
def check_count_dead_units(count_dead_units):
    """Check `count_dead_units(activation_batches)`: units never > 0 over all batches."""
    name = "count_dead_units"
    _expect_written_by_student(count_dead_units, name)
    batches = _relu_batches()
    originals = [b.clone() for b in batches]
    units = batches[0].shape[1]
    expected = never_positive(batches)
    silent_per_batch = [int((~b.gt(0).any(dim=0)).sum()) for b in batches]
    got = _as_count(
        call(count_dead_units, batches, name=name, forbidden=_PACKAGE_IMPLEMENTATIONS), name, units, expected
    )
    _expect_unchanged(batches, originals, name)
    if got != expected:
        per_batch_hint = (
            "a unit is dead only if it is silent in every batch. Counting each batch on its own and adding "
            "(or averaging) the counts measures (unit, batch) pairs without activity, which grows with the "
            "number of batches and can exceed the number of units. Combine the batches first (torch.cat) or "
            "keep one running 'has fired' mask per unit, OR-ed over the batches."
        )
        mean = sum(silent_per_batch) / len(silent_per_batch)
        wrong = {
            sum(silent_per_batch): (
                f"counted {got} dead units in a layer of {units}: the per-batch counts {silent_per_batch} added up.",
                per_batch_hint,
            ),
            round(mean): (
                f"returned {got}, about the average of the per-batch counts {silent_per_batch}.",
                per_batch_hint,
            ),
            math.floor(mean): (
                f"returned {got}, about the average of the per-batch counts {silent_per_batch}.",
                per_batch_hint,
            ),
            units - expected: (
                f"returned {got}, the number of units that fire.",
                "count the units that never output > 0, not the ones that do.",
            ),
            silent_per_batch[-1]: (
                f"returned {got}, the count on the last batch alone.",
                "dead on one batch is not dead on the data set: every batch must be taken into account (did a loop "
                "overwrite the result?).",
            ),
            silent_per_batch[0]: (
                f"returned {got}, the count on the first batch alone.",
                "dead on one batch is not dead on the data set: every batch must be taken into account.",
            ),
            sum(1 for fires in _FIRES_IN_BATCHES if len(fires) < len(batches)): (
                f"returned {got}, the number of units that are silent in at least one batch.",
                "a unit that fires in any batch is alive: it is dead only if it is silent in all of them (AND over "
                "batches, not OR).",
            ),
        }
        problem, hint = wrong.get(
            got,
            (
                f"returned {got} for ReLU outputs in 3 batches of 4, 3 and 2 examples; {expected} of the {units} units "
                "never fire.",
                "a unit is dead when none of its outputs, in any batch, is > 0.",
            ),
        )
        fail(name, problem, hint)

    signed = [b.clone() for b in _SIGNED]
    got = _as_count(
        call(count_dead_units, signed, name=name, forbidden=_PACKAGE_IMPLEMENTATIONS),
        name,
        signed[0].shape[1],
        _SIGNED_DEAD,
    )
    _expect_unchanged(signed, _SIGNED, name)
    if got != _SIGNED_DEAD:
        everything = torch.cat(_SIGNED)
        sums = everything.sum(dim=0)
        wrong = {
            int((sums == 0).sum()): (
                f"returned {got} for a layer whose outputs can be negative; {_SIGNED_DEAD} of its 7 units never "
                "output > 0.",
                "`sum == 0` means 'never > 0' only when outputs cannot be negative. With Leaky ReLU, ELU or GELU a "
                "unit stuck below zero has a negative sum (so it is missed), and +1 and -1 cancel to a sum of 0 (so a "
                "firing unit is counted). Test each output: is any of them > 0?",
            ),
            int((everything == 0).all(dim=0).sum()): (
                f"returned {got}: only the units whose outputs are exactly 0.",
                "a unit stuck on the negative side of Leaky ReLU or ELU outputs small negative numbers, not 0, and it "
                "never activates either. The test is 'no output is > 0', not 'every output == 0'.",
            ),
            int((sums <= 0).sum()): (
                f"returned {got}: it counts units whose outputs sum to <= 0.",
                "a sum can be negative even though one output is > 0 (negative outputs outweigh it). Test each output: "
                "is any of them > 0?",
            ),
        }
        problem, hint = wrong.get(
            got,
            (
                f"returned {got} for a layer with negative outputs; {_SIGNED_DEAD} of its 7 units never output > 0.",
                "dead = no output > 0 in any batch.",
            ),
        )
        fail(name, problem, hint)

    tiny = _tiny_batches()
    got = _as_count(
        call(count_dead_units, [b.clone() for b in tiny], name=name, forbidden=_PACKAGE_IMPLEMENTATIONS),
        name,
        8,
        _TINY_DEAD,
    )
    if got != _TINY_DEAD:
        below = {t: _TINY_DEAD + sum(v <= t for v in _TINY.values()) for t in _TINY.values()}
        if got in below.values() and got > _TINY_DEAD:
            fail(
                name,
                f"returned {got} for a ReLU layer with {_TINY_DEAD} dead units, where {len(_TINY)} more units fire "
                "only with tiny outputs (1e-30 to 2e-5).",
                "it looks like a threshold (`h > 1e-6`, `h > eps`, `isclose(h, 0)`) is used for 'fires'. There is "
                "nothing numerical to guard against here: ReLU outputs exactly 0 when it is off, and any "
                "output > 0, however tiny, passes the full gradient back, so that unit still learns. Dead means "
                "exactly: never > 0. A unit that is only nearly silent is what the τ-dormant score is for.",
            )
        fail(
            name,
            f"returned {got} for a ReLU layer where {_TINY_DEAD} of 8 units are never > 0 (others fire with tiny "
            "outputs).",
            "dead = no output > 0 in any batch.",
        )

    cases = [
        ("5 random ReLU batches (the last one smaller)", _random_relu_batches(31, (64, 64, 64, 64, 17), 40)),
        ("one float64 batch", _random_relu_batches(32, (200,), 25, torch.float64)),
    ]
    for label, case in cases:
        originals = [b.clone() for b in case]
        expected = never_positive(case)
        got = _as_count(
            call(count_dead_units, case, name=name, forbidden=_PACKAGE_IMPLEMENTATIONS),
            name,
            case[0].shape[1],
            expected,
        )
        _expect_unchanged(case, originals, name)
        if got != expected:
            fail(
                name,
                f"returned {got} on {label}; the right count is {expected}.",
                "a unit is dead when none of its outputs, in any batch, is > 0.",
            )
    print(
        "count_dead_units passed: exact counts on ReLU outputs in 3 uneven batches (2 of 10 dead, while the per-batch "
        f"counts add up to {sum(silent_per_batch)}), on outputs with negative values (3 of 7 dead, where "
        "`sum == 0` finds 2), with tiny positive outputs (alive, however small), and on 2 random layers; inputs left "
        "unchanged."
    )


# --- dead_units_with_hooks -------------------------------------------------------------
def hook_fixture():
    """A 4-6-5-2 ReLU MLP (first block nested) whose dead and rarely firing units are known.

    Returns (model, X, expected) where expected maps each nn.ReLU's name to its dead count
    on X. Units that fire rarely fire only on the first 5 examples of X, so an answer that
    keeps only the last batch sees them as dead.
    """
    with torch.random.fork_rng(devices=[]):  # nn.Linear draws at construction: keep the caller's RNG as it was
        model = nn.Sequential(nn.Sequential(nn.Linear(4, 6), nn.ReLU()), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    g = torch.Generator().manual_seed(33)
    first, second = model[0][0], model[1]
    with torch.no_grad():
        for layer in (first, second, model[3]):
            layer.weight.copy_(0.1 * torch.randn(layer.weight.shape, generator=g))
            layer.bias.fill_(2.0)  # alive on every example below
        first.bias[0] = -100.0  # dead
        first.weight[1] = torch.tensor([1.0, 0.0, 0.0, 0.0])
        first.bias[1] = -3.0  # fires only where x[0] > 3
        second.bias[0] = -100.0  # dead
        second.weight[3].zero_()
        second.weight[3, 1] = 1.0
        second.bias[3] = -0.5  # fires only where unit 1 of the first layer exceeds 0.5
    X = torch.rand(50, 4, generator=g) * 2 - 1
    X[:5, 0] = 5.0  # the only examples that wake the rare units
    expected = {"0.1": 1, "2": 1}
    return model, X, expected


def _hook_counts(model):
    """Number of forward (pre-)hooks on every submodule, plus the global ones."""
    counts = {name: (len(m._forward_hooks), len(m._forward_pre_hooks)) for name, m in model.named_modules()}
    counts["<global>"] = (
        len(_module_internals._global_forward_hooks),
        len(_module_internals._global_forward_pre_hooks),
    )
    return counts


class _Witness:
    """A hook of the caller's own on the whole model. For every forward call it records the
    batch it was given and whether autograd was recording (a measurement needs no graph), and
    compares the model's output with a clean copy's (a watching hook changes nothing)."""

    def __init__(self, model):
        self.clean = copy.deepcopy(model)
        self.batches = []  # the input of every forward call, in order
        self.gradients = []  # per forward call: torch.is_grad_enabled() while the model ran
        self.changed = False
        self.handle = model.register_forward_hook(self)

    def __call__(self, module, inputs, output):
        self.batches.append(inputs[0].detach().clone())
        self.gradients.append(
            torch.is_grad_enabled()
        )  # the state the student's forward pass ran in (read before our own no_grad)
        with torch.no_grad():
            if not torch.allclose(output, self.clean(inputs[0]), atol=1e-6):
                self.changed = True
        return None

    @property
    def calls(self):
        return len(self.batches)

    @property
    def examples(self):
        return sum(len(b) for b in self.batches)

    @property
    def calls_with_gradients(self):
        return sum(self.gradients)

    def covers_once(self, X):
        """Did the forward calls see every row of X exactly once (in any order)?"""
        if self.examples != len(X):
            return False
        seen = torch.cat(self.batches)
        if torch.equal(seen, X):
            return True
        order = lambda t: t[torch.argsort(t @ torch.linspace(1.0, 2.0, t.shape[1], dtype=t.dtype))]  # noqa: E731
        return torch.equal(order(seen), order(X))


def _leftover_hooks(before, after):
    return [name or "<model>" for name in after if after[name] != before.get(name)]


_HOOK_RETURNS_HINT = (
    "if the error comes from a layer after a ReLU, look at what your hook returns: a forward hook's return "
    "value replaces the module's output and is fed to the next layer. A monitoring hook returns None."
)


@graded_check("dead_units_with_hooks", expects="a dict {name of an nn.ReLU module: int number of dead units}")
def check_dead_units_with_hooks(dead_units_with_hooks):
    """Check `dead_units_with_hooks(model, X, batch_size=256)`: dead units per nn.ReLU via hooks."""
    name = "dead_units_with_hooks"
    _expect_written_by_student(dead_units_with_hooks, name)
    model, X, expected = hook_fixture()
    batch_size = 16  # X has 50 examples: batches of 16, 16, 16 and 2
    witness = _Witness(model)  # the caller's own hook: must still be there, and see unchanged outputs
    before = _hook_counts(model)
    X_original = X.clone()
    try:
        inspect.signature(dead_units_with_hooks).bind(model, X, batch_size)
    except TypeError as error:
        fail(
            name,
            f"cannot be called as dead_units_with_hooks(model, X, batch_size): {error}.",
            "keep the signature dead_units_with_hooks(model, X, batch_size=256).",
        )
    except ValueError:
        pass  # no signature available (a builtin): just call it
    gradients_were_enabled = torch.is_grad_enabled()
    try:
        result = call(
            dead_units_with_hooks,
            model,
            X,
            batch_size,
            name=name,
            forbidden=_PACKAGE_IMPLEMENTATIONS,
            error_hints={RuntimeError: _HOOK_RETURNS_HINT},
        )
    finally:
        gradients_left_on = torch.is_grad_enabled()
        torch.set_grad_enabled(gradients_were_enabled)  # repair the caller's state before reporting anything
    after = _hook_counts(model)
    if witness.handle.id not in model._forward_hooks:
        fail(
            name,
            "removed a forward hook it had not registered (the caller's own hook on the model is gone).",
            "keep the RemovableHandle that register_forward_hook returns and call handle.remove() on your own hooks; "
            "clearing module._forward_hooks removes everybody's.",
        )
    leftovers = _leftover_hooks(before, after)
    if leftovers:
        fail(
            name,
            f"left hooks behind on {', '.join(leftovers)}.",
            "forgetting to remove hooks: they keep running (and holding memory) on every later forward pass, and each "
            "call adds more. Keep the handles and call handle.remove() in a `finally:` block (or use a context "
            "manager).",
        )
    if witness.changed:
        fail(
            name,
            "changed the model's outputs while measuring.",
            "a forward hook that returns a value replaces the module's output. A monitoring hook only looks: it "
            "returns None.",
        )
    if witness.calls == 0:
        fail(
            name,
            "never ran the model.",
            "run the model on X (in batches of batch_size) so that the hooks see the activations.",
        )
    sizes = [len(b) for b in witness.batches]
    if max(sizes) > batch_size:
        fail(
            name,
            f"ran the model on batches of {sizes} examples when asked for batches of at most batch_size={batch_size} "
            f"(X has {len(X)} examples).",
            "one forward pass over all of X is fine for 50 examples, but a probe set is usually large (a training set "
            "of 50,000 images): every layer's activations for every example would be in memory at once. batch_size is "
            "what keeps the memory of a measurement bounded: run the model on X[start:start + batch_size] (or "
            "X.split(batch_size)) in a loop.",
        )
    if not witness.covers_once(X):
        fail(
            name,
            f"ran the model on {witness.examples} examples in batches of {sizes}; X has {len(X)}, and each must be "
            "seen exactly once.",
            "run the model on every example of X exactly once, in consecutive batches of batch_size (the last one may "
            "be smaller); an example run twice or skipped changes nothing here, but it does on other data.",
        )
    if witness.calls_with_gradients:
        fail(
            name,
            f"ran the model with gradients enabled ({witness.calls_with_gradients} of its {witness.calls} forward "
            "passes).",
            "'nothing calls backward, so no gradients are involved' is the misconception: whenever gradients are "
            "enabled, every forward pass records the autograd graph and keeps the activations it needs, whether or not "
            "backward is ever called (a hook that stores output.detach() does not change that). A measurement needs no "
            "graph: run the forward passes under `with torch.no_grad():` (or torch.inference_mode()).",
        )
    if gradients_left_on != gradients_were_enabled:
        fail(
            name,
            "left gradients switched off for the rest of the program (torch.set_grad_enabled(False) without switching "
            "them back).",
            "a measuring function must not change global state: later training would silently compute no gradients. "
            "Use the context manager `with torch.no_grad():`, which restores the previous state when the block ends.",
        )
    if not torch.equal(X, X_original):
        fail(name, "modified X.", "leave the caller's data unchanged.")
    if not model.training:
        fail(
            name,
            "left the model in eval mode.",
            "leave the model as you found it: if you switch modes, restore the previous one afterwards "
            "(model.train(was_training)).",
        )
    if not isinstance(result, dict):
        fail(
            name,
            f"returned a {type(result).__name__}, not a dict.",
            "return {module name: number of dead units} for every nn.ReLU module.",
        )
    if not all(isinstance(key, str) for key in result):
        fail(
            name,
            f"returned a dict keyed by {sorted({type(k).__name__ for k in result})}, not by module names.",
            "use the names that model.named_modules() gives (strings such as '0.1'), not the modules or their "
            "positions.",
        )
    if set(result) != set(expected):
        fail(
            name,
            f"returned the keys {sorted(result)}; the model's nn.ReLU modules are named {sorted(expected)}.",
            "use the names that model.named_modules() gives (nested modules have dotted names such as '0.1'), and only "
            "nn.ReLU modules.",
        )
    counts = {key: _as_count(value, f"{name}[{key!r}]", 6, expected[key]) for key, value in result.items()}
    if counts != expected:
        last_batch = {"0.1": 2, "2": 2}
        if counts == last_batch:
            fail(
                name,
                f"returned {counts}; on the whole of X the counts are {expected}.",
                "those are the counts of the last batch: the rarely firing units fire only on the first examples. "
                "Accumulate over every call of the hook (a running 'has fired' mask) instead of overwriting.",
            )
        if all(counts[k] > expected[k] for k in expected):
            fail(
                name,
                f"returned {counts}; on the whole of X the counts are {expected}.",
                "a unit is dead only if it never fires on any example of X. Counting batch by batch and adding the "
                "counts measures (unit, batch) pairs, not units.",
            )
        fail(
            name,
            f"returned {counts}; on X the counts are {expected}.",
            "dead = the ReLU's output is never > 0 on any example of X.",
        )

    # The model in eval mode stays in eval mode; hooks go away even when the forward pass fails.
    model.eval()
    call(dead_units_with_hooks, model, X, 64, name=name, forbidden=_PACKAGE_IMPLEMENTATIONS)
    if model.training:
        fail(name, "switched a model in eval mode to train mode.", "leave the model in the mode you found it in.")
    model.train()
    before = _hook_counts(model)
    try:  # 7 features for a 4-input model: the model raises a RuntimeError on purpose, which propagates here
        call(
            dead_units_with_hooks,
            model,
            torch.ones(8, 7),
            4,
            name=name,
            forbidden=_PACKAGE_IMPLEMENTATIONS,
            reraise=(RuntimeError,),
        )
    except RuntimeError:
        pass
    leftovers = _leftover_hooks(before, _hook_counts(model))
    if leftovers:
        fail(
            name,
            f"left hooks on {', '.join(leftovers)} when the forward pass raised an error.",
            "remove the hooks in a `finally:` block (or a `with` block), so that they go away even when the model "
            "fails.",
        )
    witness.handle.remove()
    print(
        f"dead_units_with_hooks passed: counts {expected} on a 4-6-5-2 MLP run on 50 examples in batches of {sizes} "
        "(rarely firing units included), each example once, outputs unchanged, every forward pass without gradients, "
        "no hook left behind (also after an error), the caller's own hook kept, mode kept."
    )


# --- dormant_scores ----------------------------------------------------------------------
def reference_dormant_scores(h):
    """ReDo's score per unit: mean|h_i| / (layer average of mean|h_k|); units on axis 1 of
    (N, F) and (N, C, H, W), on the last axis of (N, T, F). A silent layer gets zeros."""
    unit_dim = {2: 1, 3: 2, 4: 1}[h.dim()]
    dims = [d for d in range(h.dim()) if d != unit_dim]
    mean_abs = h.abs().mean(dim=dims)
    average = mean_abs.mean()
    return mean_abs / average if average > 0 else torch.zeros_like(mean_abs)


def _dormant_fixtures():
    g = torch.Generator().manual_seed(34)
    # per-unit mean|h| = 0, 1, 2, 3 exactly: scores 0, 2/3, 4/3, 2
    exact = torch.tensor([[0.0, 0.5, 1.0, 6.0], [0.0, 1.5, 3.0, 0.0]])
    signed = torch.randn(40, 6, generator=g) + torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    conv = torch.relu(torch.randn(5, 3, 4, 7, generator=g) + torch.tensor([-2.0, 0.0, 1.0]).view(1, 3, 1, 1))
    sequence = torch.relu(torch.randn(5, 6, 4, generator=g) + torch.tensor([-1.5, 0.0, 0.5, 1.0]))
    wide = torch.relu(torch.randn(30, 50, generator=g, dtype=torch.float64) - 0.5)
    return [
        ("a (2, 4) ReLU layer with per-unit mean|h| of 0, 1, 2, 3", exact),
        ("a (40, 6) layer with negative outputs", signed),
        ("conv activations of shape (5, 3, 4, 7) (N, C, H, W)", conv),
        ("sequence activations of shape (5, 6, 4) (N, T, F)", sequence),
        ("a (30, 50) float64 layer", wide),
    ]


def _wrong_normalisations(h):
    """Per-unit scores with the usual wrong choices, for the hint."""
    unit_dim = {2: 1, 3: 2, 4: 1}[h.dim()]
    dims = [d for d in range(h.dim()) if d != unit_dim]
    mean_abs = h.abs().mean(dim=dims)
    mean_signed = h.mean(dim=dims)
    per_example = h.abs() / h.abs().mean(dim=unit_dim, keepdim=True).clamp_min(1e-12)
    return [
        (
            mean_signed / mean_signed.mean(),
            "mean|h_i|, not mean h_i: with negative outputs (Leaky ReLU, GELU ...) positive and negative values "
            "cancel.",
        ),
        (
            mean_abs / mean_abs.max(),
            "divide by the layer's average of mean|h_k| (as ReDo does), not by its maximum: the scores of a layer "
            "average to 1.",
        ),
        (
            mean_abs / mean_abs.sum(),
            "divide by the average of mean|h_k| over the layer, not by the sum: with the sum, scores shrink as the "
            "layer gets wider and a threshold τ would mean something different for every width.",
        ),
        (
            mean_abs,
            "normalise: divide each unit's mean|h_i| by the layer's average of mean|h_k|, so that τ is relative to the "
            "layer.",
        ),
        (mean_abs / mean_abs.median(), "divide by the average of mean|h_k| over the layer, not by the median."),
        (
            per_example.mean(dim=dims),
            "normalise once, by the layer average of the per-unit means, not example by example.",
        ),
    ]


@graded_check("dormant_scores", expects="a 1-D float tensor with one score per unit")
def check_dormant_scores(dormant_scores):
    """Check `dormant_scores(h)` against ReDo's s_i = mean|h_i| / mean_k mean|h_k|."""
    name = "dormant_scores"
    _expect_written_by_student(dormant_scores, name)
    worst = 0.0
    for label, h in _dormant_fixtures():
        original = h.clone()
        result = call(dormant_scores, h, name=name, forbidden=_PACKAGE_IMPLEMENTATIONS)
        if not torch.equal(h, original):
            fail(
                name,
                "modified its input in place.",
                "h.abs_() and similar in-place ops change the caller's activations; use h.abs().",
            )
        if not isinstance(result, torch.Tensor):
            fail(
                name,
                f"returned a {type(result).__name__}, not a torch.Tensor.",
                "return a 1-D tensor with one score per unit.",
            )
        result = plain_tensor(result, name)
        if not result.dtype.is_floating_point:
            fail(
                name,
                f"returned a tensor of dtype {result.dtype} for {label}.",
                "a score is a ratio of means, a float: a comparison (a mask) or an integer division loses it. Return "
                "the scores themselves.",
            )
        expected = reference_dormant_scores(h)
        units = expected.numel()
        if result.shape != expected.shape:
            if h.dim() == 4 and result.numel() == h[0].numel():
                fail(
                    name,
                    f"returned {result.numel()} scores for {label}.",
                    "that counts (channel, position) pairs as units. In a conv layer a unit is a channel: average |h| "
                    "over N, H and W and keep C, so a (N, C, H, W) tensor gives C scores.",
                )
            if h.dim() == 4 and result.numel() == h.shape[-1]:
                fail(
                    name,
                    f"returned {result.numel()} scores for {label}; it has {units} channels.",
                    "for (N, C, H, W) the units are the channels, axis 1, not the last axis.",
                )
            if h.dim() == 3 and result.numel() == h.shape[1]:
                fail(
                    name,
                    f"returned {result.numel()} scores for {label}; it has {units} features.",
                    "in a sequence layer (N, T, F) the units are the features, the last axis; average over N and T.",
                )
            if h.dim() == 3 and result.numel() == h[0].numel():
                fail(
                    name,
                    f"returned {result.numel()} scores for {label}.",
                    "that counts (time step, feature) pairs as units; a feature is one unit at every time step: "
                    "average over N and T, keep F.",
                )
            fail(
                name,
                f"returned shape {tuple(result.shape)} for {label}; expected ({units},), one score per unit.",
                "average |h| over every axis except the units' axis.",
            )
        if not torch.isfinite(result).all():
            fail(
                name,
                f"returned non-finite scores ({result.tolist()[:4]}...) for {label}.",
                "only a layer that never fires has a zero average; give such a layer zeros, not 0/0 = nan.",
            )
        if not torch.allclose(result.double(), expected.double(), atol=1e-5, rtol=1e-4):
            for wrong, hint in _wrong_normalisations(h):
                if torch.allclose(result.double(), wrong.double(), atol=1e-5, rtol=1e-4):
                    fail(name, f"gives {result[:4].tolist()}... for {label}; expected {expected[:4].tolist()}...", hint)
            fail(
                name,
                f"gives {result[:4].tolist()}... for {label}; expected {expected[:4].tolist()}...",
                "s_i = mean|h_i| / ((1/H) Σ_k mean|h_k|), the mean over every example (and position) of the unit.",
            )
        worst = max(worst, (result.double() - expected.double()).abs().max().item())
    silent = torch.zeros(8, 5)
    result = call(dormant_scores, silent, name=name, forbidden=_PACKAGE_IMPLEMENTATIONS)
    if isinstance(result, torch.Tensor):
        result = plain_tensor(result, name)
    if (
        not isinstance(result, torch.Tensor)
        or result.shape != (5,)
        or not torch.isfinite(result).all()
        or (result != 0).any()
    ):
        fail(
            name,
            f"returned {result} for a layer that never fires (all outputs 0); expected five zeros.",
            "the layer's average is 0 there, and 0/0 is nan: give such a layer zeros (e.g. divide by "
            "average + 1e-12, or handle the case).",
        )
    print(
        "dormant_scores passed: matches ReDo's score on (N, F), signed, (N, C, H, W) channels and (N, T, F) features, "
        f"and gives zeros for a silent layer (max abs error {worst:.1e}; expected < 1e-5)."
    )


# --- which units are dead? (diagnosis from a monitor's evidence) ------------------------------
def _as_unit_set(answer, name, units):
    """A set of unit indices from a set, frozenset, list, tuple or range of ints; anything else fails with a hint."""
    if answer is None:
        fail(
            name,
            "is None: not answered yet.",
            "replace None with a set of unit numbers, e.g. {1, 3} (or set() for none).",
        )
    if isinstance(answer, (str, bytes, dict)) or not isinstance(answer, (set, frozenset, list, tuple, range)):
        fail(
            name,
            f"is a {type(answer).__name__}, not a set of unit numbers.",
            "write a set of ints such as {1, 3}; set() if no unit qualifies.",
        )
    found = set()
    for unit in answer:
        if isinstance(unit, bool) or not isinstance(unit, numbers.Integral):
            fail(
                name,
                f"contains {unit!r} ({type(unit).__name__}), not a unit number.",
                f"units are numbered 0 to {units - 1}: write ints such as {{1, 3}}.",
            )
        if not 0 <= int(unit) < units:
            fail(name, f"contains {int(unit)}; the layer's units are numbered 0 to {units - 1}.")
        found.add(int(unit))
    return found


@graded_check("the diagnosis", expects="two sets of unit numbers (0-7), e.g. DEAD_ON_TRAINING_SET = {1, 3}")
def check_unit_diagnosis(dead_on_training_set, dormant_not_dead, units=8):
    """Check the FORM of the answer to "which units are dead, which dormant" (the hidden test grades it).

    Deliberately silent about whether the answer is right: a check that told you would let
    you find the answer by trying sets until it passes.
    """
    dead = _as_unit_set(dead_on_training_set, "DEAD_ON_TRAINING_SET", units)
    dormant = _as_unit_set(dormant_not_dead, "DORMANT_NOT_DEAD", units)
    print(
        f"Your answer is well formed: dead on the training set {sorted(dead)}, τ-dormant but not dead "
        f"{sorted(dormant)}. This check does not say whether it is right; the hidden test does, when the notebook is "
        "graded."
    )
