"""Building blocks of the public checks: call a student's function, and say what went wrong.

A failing check raises AssertionError whose message names the likely misconception; a
passing one prints what it compared and how close the answer was.

Three rules keep a grade honest, and every check follows them through these helpers:

- **The student's function runs under a call watch** (`call`): while it runs, a call to
  PyTorch's own version of the exercise (by its name, however it was reached: an alias, a
  wrapper, a module), to a reference implementation in these check modules, or to the
  package's implementation of the same thing is recorded, and the check fails. The watch
  uses `sys.setprofile`, so it sees what runs, not what the source text says.
- **Answers are compared as plain values** (`plain_tensor`, `as_number`): a tensor subclass
  that overrides comparisons, or an object posing as a number, is rejected before any
  comparison.
- **Every crash ends in a hint** (`graded_check`): an exception raised by the student's
  function, or by the check while it handles a malformed answer, becomes a failure that
  says what was expected.
"""

import ast
import functools
import inspect
import numbers
import sys
import textwrap
import traceback
from pathlib import Path

import torch

# Taken when the checks are imported (the notebook's set-up cell, before any student code), so
# that a student's `sys.setprofile = ...` does not reach the watch.
_set_profile, _get_profile = sys.setprofile, sys.getprofile
_CHECKS_FOLDER = str(Path(__file__).resolve().parent)
_TORCH_FOLDER = str(Path(torch.__file__).resolve().parent)


def fail(name, problem, hint=None):
    """Raise the AssertionError a student sees: what is wrong, then the likely cause."""
    message = f"{name}: {problem}"
    if hint:
        message += f"\n  Hint: {hint}"
    raise AssertionError(message)


# --- the call watch ------------------------------------------------------------------------
_REFERENCES = set()  # code objects of the check modules' reference implementations


def reference(function):
    """Mark a reference implementation: handed in as the answer itself, it fails (a check module's
    functions called from a student's code fail anyway, marked or not)."""
    _REFERENCES.add(_code_of(function))
    return function


class _CallWatch:
    """A profile function that records forbidden calls made while a student's function runs.

    Forbidden: a C function of PyTorch whose name is in `banned` (torch.relu, Tensor.relu,
    torch._C._nn.elu ...), a Python function defined inside PyTorch with such a name
    (F.relu, F.leaky_relu ...), any function defined in the check modules (their references
    and fixtures) except the code objects in `allowed`, and the package functions in
    `forbidden`.
    """

    def __init__(self, banned=(), forbidden=(), allowed=()):
        self.banned = set(banned)
        self.forbidden = {_code_of(f) for f in forbidden} - {None}
        self.allowed = {_code_of(f) for f in allowed} - {None}
        self.seen = []

    def __call__(self, frame, event, arg):
        if event == "c_call":
            called = getattr(arg, "__name__", None)
            if called in self.banned:
                self._record(f"torch's `{called}`")
        elif event == "call":
            code = frame.f_code
            if code in self.allowed:
                return
            if code in self.forbidden:
                self._record(f"the course's `{code.co_qualname}`")
            elif code.co_filename.startswith(_CHECKS_FOLDER) and _outside_course_and_torch(frame.f_back):
                # called from the student's code (fixtures the check hands over, such as a hook
                # object, are called by torch or by the check itself, and stay allowed)
                self._record(f"`{code.co_qualname}` from the check module")
            elif code.co_name in self.banned and code.co_filename.startswith(_TORCH_FOLDER):
                self._record(f"torch's `{code.co_name}`")

    def _record(self, what):
        if what not in self.seen:
            self.seen.append(what)


def _outside_course_and_torch(frame):
    if frame is None:
        return True
    filename = frame.f_code.co_filename
    return not (filename.startswith(_CHECKS_FOLDER) or filename.startswith(_TORCH_FOLDER))


def _code_of(function):
    function = inspect.unwrap(getattr(function, "__func__", function))
    if isinstance(function, type):
        function = function.__call__
    return getattr(function, "__code__", None)


def _where_in_student_code(error):
    """' (at `return x.foo`)': the line of the innermost frame outside the course and torch, if known."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if not (
            frame.filename.startswith(_CHECKS_FOLDER)
            or frame.filename.startswith(_TORCH_FOLDER)
            or frame.filename.startswith(str(Path(__file__).resolve().parent.parent))
        ):
            return f" (at `{frame.line}`)" if frame.line else ""
    return ""


def call(
    fn, *args, name, banned=(), forbidden=(), allowed=(), type_error_hint=None, error_hints=None, reraise=(), **kwargs
):
    """Call the student's `fn(*args, **kwargs)` under the call watch and return its result.

    - the stub's NotImplementedError becomes "not implemented yet";
    - any other exception the function raises becomes a failure that names it, the line
      it came from and a hint: `type_error_hint` for a TypeError (e.g. a missing default), or
      the first of `error_hints` ({exception class or words of the message: hint}) that matches;
      exceptions of the classes in `reraise` propagate unchanged (for a check that provokes one
      on purpose, e.g. to see that hooks are removed when the forward pass fails);
    - a call to torch's `banned` functions, to a check module's code or to the package's
      `forbidden` implementations fails the check: the exercise is to write it.
    """
    watch = _CallWatch(banned, forbidden, allowed=allowed)
    handed_in = _code_of(fn)
    if handed_in in watch.forbidden or handed_in in _REFERENCES:
        # the reference itself handed in under the exercise's name
        watch._record(f"the course's `{handed_in.co_qualname}`")
    watch.allowed.add(handed_in)
    previous = _get_profile()
    _set_profile(watch)
    failure = None  # (problem, hint) of an exception the function raised
    try:
        result = fn(*args, **kwargs)
    except reraise:
        raise
    except NotImplementedError:
        failure = ("is not implemented yet.", "replace `raise NotImplementedError()` with your code.")
    except RecursionError:
        failure = (
            "recursed without end (RecursionError).",
            "does the function call itself? It should compute the answer directly.",
        )
    except Exception as error:  # noqa: BLE001 - every error of a student's function becomes a hint
        hints = {**({TypeError: type_error_hint} if type_error_hint else {}), **(error_hints or {})}
        hint = next(
            (
                text
                for key, text in hints.items()
                if (isinstance(key, type) and isinstance(error, key)) or (isinstance(key, str) and key in str(error))
            ),
            "run it by hand on the exercise's example and read the traceback; the error says which operation "
            "got an argument it cannot handle (a shape, a dtype, or a tensor where a number was meant).",
        )
        failure = (f"raised {type(error).__name__}: {error}{_where_in_student_code(error)}.", hint)
    finally:
        tampered = _get_profile() is not watch
        _set_profile(previous)
    if tampered:
        fail(
            name,
            "switched off the check's call watch (sys.setprofile).",
            "write the function; the checks must be able to see what it calls.",
        )
    if watch.seen:  # reported before a crash: a reference call is the more important finding
        fail(
            name,
            f"calls {', '.join(watch.seen)}, which computes the answer it is checked against.",
            "the exercise is to write it yourself from elementary tensor operations; "
            "a reference called under another name, or through a helper, is still the reference.",
        )
    if failure:
        fail(name, *failure)
    return result


def graded_check(name, expects):
    """Decorator for a `check_*` function: any crash while checking an answer ends in a hint.

    A malformed answer (a wrong type, a missing key, a shape the check cannot index) must
    fail with a message, never with a bare TypeError/IndexError from inside the check.
    `expects` says in a few words what the exercise asks for.
    """

    def decorate(check):
        @functools.wraps(check)
        def checked(*args, **kwargs):
            try:
                return check(*args, **kwargs)
            except AssertionError:
                raise
            except Exception as error:  # noqa: BLE001 - a crash in the check is the answer's fault: say so
                fail(
                    name,
                    f"could not be checked: {type(error).__name__}: {error}.",
                    f"the exercise expects {expects}. Run the exercise's example by hand and compare what you return.",
                )

        return checked

    return decorate


# --- answers as plain values ---------------------------------------------------------------
def plain_tensor(result, name, what="returned"):
    """`result` as a plain torch.Tensor; reject subclasses (which can override comparisons) and non-tensors."""
    if type(result) is torch.Tensor:
        return result
    if type(result) is torch.nn.Parameter:
        return result.detach()
    if isinstance(result, torch.Tensor):
        fail(
            name,
            f"{what} a {type(result).__name__}, a subclass of torch.Tensor, not a plain tensor.",
            "return the result of ordinary tensor operations; the checks compare plain tensors only, "
            "because a subclass can change what comparisons mean.",
        )
    if isinstance(result, tuple):
        fail(name, f"{what} a tuple of {len(result)} items, not one tensor.")
    fail(
        name,
        f"{what} a {type(result).__name__}, not a torch.Tensor.",
        "stay in torch (no .numpy(), lists or Python floats) so that autograd and GPUs keep working.",
    )


def as_number(value, name, what="the result"):
    """`value` as a Python float: int, float, a NumPy scalar or a one-element plain tensor; nothing that
    poses as one."""
    if isinstance(value, bool):
        fail(name, f"{what} is {value!r}, a bool, not a number.")
    if type(value) is torch.Tensor or type(value) is torch.nn.Parameter:
        if value.numel() != 1:
            fail(
                name,
                f"{what} is a tensor of shape {tuple(value.shape)}, not one number.",
                "return a single number (a float, or a one-element tensor).",
            )
        return float(value.detach().reshape(()).item())
    if type(value) in (int, float) or (isinstance(value, numbers.Real) and type(value).__module__ == "numpy"):
        return float(value)
    fail(name, f"{what} is {value!r} ({type(value).__name__}), not a number.", "return a Python float (or int).")


def expect_finite_gradient(fn, x, name, *args, where="for large inputs"):
    """Autograd through the student's `fn` must give finite gradients at `x` (e.g. ±100 for exp-based functions)."""
    leaf = x.detach().clone().requires_grad_(True)
    out = plain_tensor(call(fn, leaf, *args, name=name), name)
    if out.grad_fn is None:
        fail(
            name,
            "is not differentiable by autograd.",
            "build it from torch ops on x (no .numpy(), .item() or torch.tensor(...) around the result).",
        )
    (grad,) = torch.autograd.grad(out.sum(), leaf)
    if not torch.isfinite(grad).all():
        bad = (~torch.isfinite(grad)).nonzero()[0].tolist()
        fail(
            name,
            f"has a finite value but a {grad[tuple(bad)].item()} gradient {where} (at x = {x[tuple(bad)].item():g}).",
            "torch.where computes BOTH branches and autograd differentiates both: a branch that overflows (exp of a "
            "large number) gives inf * 0 = nan in the backward pass even where it is not selected. Keep the argument "
            "of the branch that can overflow within range.",
        )
    return grad


def expect_tensor_like(result, x, name):
    """The result must be a tensor of the same shape and dtype as the input `x`."""
    if isinstance(result, tuple):
        fail(
            name,
            f"returned a tuple of {len(result)} items, not one tensor.",
            "torch.max(x, 0) is a reduction over dimension 0 that returns (values, indices). "
            "For an elementwise maximum with zero use torch.clamp(x, min=0) or "
            "torch.maximum(x, torch.zeros_like(x)).",
        )
    result = plain_tensor(result, name)
    if result.shape != x.shape:
        fail(
            name,
            f"changed the shape from {tuple(x.shape)} to {tuple(result.shape)}.",
            "an activation is elementwise: output[i] depends on x[i] only. Did you reduce over a "
            "dimension or flatten the input?",
        )
    if result.dtype != x.dtype:
        hint = "build the result with tensor ops that keep x's dtype"
        if result.dtype == torch.bool:
            hint = (
                "a comparison such as `x > 0` gives a bool mask; convert it with .to(x.dtype) or multiply it by "
                "something"
            )
        fail(name, f"returned dtype {result.dtype} for an input of dtype {x.dtype}.", hint)


def expect_input_unchanged(fn, x, name, *args):
    """The function must not modify its argument in place."""
    original = x.clone()
    call(fn, x, *args, name=name)
    if not torch.equal(x, original):
        fail(
            name,
            "modified its input tensor in place: the caller's data changed.",
            "x[x < 0] = 0, x.clamp_(...) and other in-place ops write into the caller's tensor. "
            "Use out-of-place ops (torch.where, torch.clamp, x * mask) or work on x.clone().",
        )


def expect_close(result, expected, name, where, hint=None, atol=1e-6, rtol=1e-5):
    """Compare element by element; on failure report the first input where it differs."""
    result = plain_tensor(result, name)
    if result.shape != expected.shape:
        fail(name, f"returned shape {tuple(result.shape)} {where}; expected {tuple(expected.shape)}.", hint)
    if not torch.allclose(result, expected, atol=atol, rtol=rtol, equal_nan=False):
        bad = (~torch.isclose(result, expected, atol=atol, rtol=rtol)).nonzero()[0].tolist()
        fail(
            name,
            f"wrong value {where}: at index {tuple(bad)} got {result[tuple(bad)].item():.6g}, "
            f"expected {expected[tuple(bad)].item():.6g}.",
            hint,
        )
    return (result - expected).abs().max().item() if result.numel() else 0.0


def _source_tree(fn):
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None  # source not available (built-in, lambda in odd places): nothing to inspect


def expect_no_python_loops(fn, name):
    """No for/while loops or comprehensions: the work must be done by tensor ops."""
    tree = _source_tree(fn)
    if tree is None:
        return
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            kind = "loop" if isinstance(node, (ast.For, ast.While)) else "comprehension"
            fail(
                name,
                f"uses a Python {kind} (line {node.lineno} of the function).",
                "loops over elements are thousands of times slower than one tensor op and do not "
                "handle every shape; express it with torch.where, torch.clamp or arithmetic on masks.",
            )


def shapes_to_try():
    """Inputs of several shapes and dtypes, each containing negatives, zeros and positives."""
    g = torch.Generator().manual_seed(0)
    return [
        torch.randn(7, generator=g),
        torch.randn(3, 4, generator=g),
        torch.randn(2, 3, 4, 5, generator=g),
        torch.tensor(-1.5),
        torch.randn(5, 2, generator=g, dtype=torch.float64).round(),  # float64, with exact zeros
    ]
