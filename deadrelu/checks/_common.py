"""Building blocks of the public checks: call a student's function, and say what went wrong.

A failing check raises AssertionError whose message names the likely misconception; a
passing one prints what it compared and how close the answer was.
"""

import ast
import inspect
import textwrap

import torch


def fail(name, problem, hint=None):
    """Raise the AssertionError a student sees: what is wrong, then the likely cause."""
    message = f"{name}: {problem}"
    if hint:
        message += f"\n  Hint: {hint}"
    raise AssertionError(message)


def call(fn, *args, name):
    """Call the student's `fn`, turning the stub's NotImplementedError into a clear failure."""
    try:
        return fn(*args)
    except NotImplementedError:
        fail(name, "is not implemented yet.", "replace `raise NotImplementedError()` with your code.")


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
    if not isinstance(result, torch.Tensor):
        fail(
            name,
            f"returned a {type(result).__name__}, not a torch.Tensor.",
            "stay in torch (no .numpy(), lists or Python floats) so that autograd and GPUs keep working.",
        )
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
            hint = "a comparison such as `x > 0` gives a bool mask; convert it with .to(x.dtype) or multiply it by something"
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
        if isinstance(node, (ast.For, ast.While, ast.comprehension)):
            fail(
                name,
                f"uses a Python loop (line {getattr(node, 'lineno', '?')} of the function).",
                "loops over elements are thousands of times slower than one tensor op and do not "
                "handle every shape; express it with torch.where, torch.clamp or arithmetic on masks.",
            )


def expect_no_reference_call(fn, name, banned):
    """The exercise is to write the function, not to call the reference it is checked against."""
    tree = _source_tree(fn)
    if tree is None:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in banned:
            fail(
                name,
                f"calls `{node.func.attr}` from PyTorch, which is the reference it is checked against.",
                "write it from elementary tensor ops (comparisons, torch.where, torch.clamp, torch.exp, arithmetic).",
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
