"""The building blocks every public check stands on (deadrelu/checks/_common.py): the call
watch that catches a reference called under any name, plain-value comparisons that a tensor
subclass cannot fool, and crashes that end in hints."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deadrelu import monitor
from deadrelu.checks import relu_math
from deadrelu.checks._common import (
    as_number,
    call,
    expect_close,
    expect_finite_gradient,
    expect_no_python_loops,
    graded_check,
    plain_tensor,
)

X = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0])


# --- the call watch ------------------------------------------------------------------------
ALIAS = torch.relu


def relu_via_alias(x):
    return ALIAS(x)


def relu_via_method(x):
    return x.relu()


def relu_via_functional(x):
    return F.relu(x)


def relu_via_module(x):
    return nn.ReLU()(x)


def relu_via_helper(x):
    return _helper(x)


def _helper(x):
    return getattr(torch, "re" + "lu")(x)  # invisible to anything that reads the source


def relu_written(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


@pytest.mark.parametrize("fn", [relu_via_alias, relu_via_method, relu_via_functional, relu_via_module, relu_via_helper])
def test_the_watch_catches_the_reference_under_any_name(fn):
    with pytest.raises(AssertionError, match="calls torch's `relu`"):
        call(fn, X, name="relu", banned={"relu"})


def test_the_watch_lets_a_written_answer_through_and_returns_its_result():
    assert torch.equal(call(relu_written, X, name="relu", banned={"relu"}), torch.relu(X))


def test_a_function_imported_from_a_check_module_is_caught():
    def relu_grad(x):
        return relu_math._relu_gradient_reference(x)

    with pytest.raises(AssertionError, match="_relu_gradient_reference` from the check module"):
        call(relu_grad, X, name="relu_grad")


def _function_defined_in_the_check_modules(source, name):
    """A function whose code lives in deadrelu/checks/ (as a check's fixture does)."""
    namespace = {}
    exec(compile(source, str(Path(relu_math.__file__).with_name("_fixture_for_tests.py")), "exec"), namespace)
    return namespace[name]


def test_a_fixture_of_a_check_module_called_by_torch_is_allowed_but_not_one_called_by_the_student():
    """A hook object the check hands over runs inside the student's forward pass: torch calls it, not the student."""
    hook = _function_defined_in_the_check_modules(
        "def hook(module, inputs, output):\n    seen.append(output.shape)\n", "hook"
    )
    hook.__globals__["seen"] = seen = []
    model = nn.Sequential(nn.Linear(5, 3), nn.ReLU())
    model[1].register_forward_hook(hook)
    call(lambda m, x: m(x), model, X, name="forward")
    assert seen == [torch.Size([3])]
    with pytest.raises(AssertionError, match="`hook` from the check module"):
        call(lambda m, x: hook(m, (x,), x), model, X, name="forward")


def test_the_package_s_own_implementation_is_caught_when_forbidden():
    def count(batches):
        return monitor.scan  # referencing is fine ...

    call(count, [X], name="count", forbidden=[monitor.scan])

    def count_by_package(model, x):
        return monitor.scan(model, x)  # ... calling is not

    model = nn.Sequential(nn.Linear(5, 3), nn.ReLU())
    with pytest.raises(AssertionError, match="the course's `scan`"):
        call(count_by_package, model, X.unsqueeze(0), name="count", forbidden=[monitor.scan])


def test_switching_the_watch_off_fails_and_the_previous_profiler_comes_back():
    def evasive(x):
        sys.setprofile(None)
        return torch.relu(x)

    before = sys.getprofile()
    with pytest.raises(AssertionError, match="switched off the check's call watch"):
        call(evasive, X, name="relu", banned={"relu"})
    assert sys.getprofile() is before


def test_replacing_sys_setprofile_does_not_blind_the_watch(monkeypatch):
    monkeypatch.setattr(sys, "setprofile", lambda function: None)
    monkeypatch.setattr(sys, "getprofile", lambda: None)
    with pytest.raises(AssertionError, match="calls torch's `relu`"):
        call(relu_via_alias, X, name="relu", banned={"relu"})


def test_the_watch_is_removed_after_an_exception():
    before = sys.getprofile()
    with pytest.raises(AssertionError):
        call(lambda x: x[99], X, name="f")
    assert sys.getprofile() is before


# --- errors become hints ---------------------------------------------------------------------
def test_the_stub_says_not_implemented():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="is not implemented yet"):
        call(stub, X, name="relu")


def test_an_error_names_its_type_message_and_line():
    def broken(x):
        return x.reshape(3, 3)

    with pytest.raises(
        AssertionError, match=r"raised RuntimeError: shape '\[3, 3\]' is invalid.*at `return x.reshape\(3, 3\)`"
    ) as error:
        call(broken, X, name="f")
    assert "Hint:" in str(error.value)


def test_specific_hints_by_class_and_by_message():
    def needs_two(x, slope):
        return x * slope

    with pytest.raises(AssertionError, match="give slope a default"):
        call(needs_two, X, name="leaky", type_error_hint="give slope a default")
    with pytest.raises(AssertionError, match="index past the end"):
        call(lambda x: x[99], X, name="f", error_hints={"out of bounds": "index past the end"})
    with pytest.raises(AssertionError, match="a value error"):
        call(lambda x: int("x"), X, name="f", error_hints={ValueError: "a value error"})


def test_reraise_lets_a_provoked_error_through():
    with pytest.raises(KeyError):
        call(lambda x: {}["missing"], X, name="f", reraise=(KeyError,))


def test_graded_check_turns_a_crash_inside_a_check_into_a_hint():
    @graded_check("ANSWER", expects="a dict from letter to number")
    def check(answer):
        return answer["A"] + 1

    with pytest.raises(
        AssertionError, match="(?s)ANSWER: could not be checked: TypeError.*expects a dict from letter to number"
    ):
        check(["not", "a", "dict"])
    with pytest.raises(AssertionError, match="kept"):

        @graded_check("ANSWER", expects="x")
        def failing(answer):
            raise AssertionError("kept")

        failing(1)
    assert check({"A": 1}) == 2


# --- plain values --------------------------------------------------------------------------
class AlwaysEqual(torch.Tensor):
    """The escape route the issue found: a subclass whose every torch function says 'yes'."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True


def test_a_tensor_subclass_is_rejected_before_any_comparison():
    sneaky = torch.zeros(5).as_subclass(AlwaysEqual)
    with pytest.raises(AssertionError, match="a subclass of torch.Tensor, not a plain tensor"):
        plain_tensor(sneaky, "relu")
    with pytest.raises(AssertionError, match="subclass"):
        expect_close(sneaky, torch.relu(X), "relu", "on the grid")


def test_plain_tensors_and_parameters_are_accepted():
    assert plain_tensor(X, "f") is X
    parameter = nn.Parameter(torch.ones(2))
    assert type(plain_tensor(parameter, "f")) is torch.Tensor


@pytest.mark.parametrize(
    "value, expected",
    [(3, 3.0), (0.25, 0.25), (np.float64(0.5), 0.5), (torch.tensor(2.0), 2.0), (torch.tensor([1.5]), 1.5)],
)
def test_numbers_are_read_as_floats(value, expected):
    assert as_number(value, "f") == expected


class PosesAsNumber:
    def __float__(self):
        return 0.5

    def __eq__(self, other):
        return True


@pytest.mark.parametrize(
    "value, words",
    [
        (True, "a bool"),
        ("0.5", "not a number"),
        (PosesAsNumber(), "not a number"),
        (torch.ones(2), "not one number"),
        (None, "not a number"),
    ],
)
def test_things_that_are_not_plain_numbers_fail(value, words):
    with pytest.raises(AssertionError, match=words):
        as_number(value, "f")


# --- gradients and loops ---------------------------------------------------------------------
def elu_unclamped(x, alpha=1.0):
    return torch.where(x > 0, x, alpha * (torch.exp(x) - 1))


def elu_clamped(x, alpha=1.0):
    return torch.where(x > 0, x, alpha * (torch.exp(torch.clamp(x, max=0)) - 1))


def test_a_nan_gradient_behind_a_finite_value_is_caught():
    far = torch.tensor([-100.0, 100.0])
    assert torch.isfinite(elu_unclamped(far)).all()  # the value looks fine ...
    with pytest.raises(AssertionError, match="(?s)nan gradient.*torch.where computes BOTH branches"):
        expect_finite_gradient(elu_unclamped, far, "elu")
    assert torch.isfinite(expect_finite_gradient(elu_clamped, far, "elu")).all()


def test_a_comprehension_is_reported_with_its_line():
    def with_comprehension(x):
        y = x.clone()
        return torch.stack([v.clamp(min=0) for v in y])

    with pytest.raises(AssertionError, match=r"uses a Python comprehension \(line 3 of the function\)"):
        expect_no_python_loops(with_comprehension, "relu")


def test_the_package_s_implementation_handed_in_under_the_exercise_s_name_is_caught():
    model = nn.Sequential(nn.Linear(5, 3), nn.ReLU())
    with pytest.raises(AssertionError, match="the course's `scan`"):
        call(monitor.scan, model, X.unsqueeze(0), name="count", forbidden=[monitor.scan])


def test_a_registered_reference_handed_in_is_caught():
    from deadrelu.checks._common import reference

    @reference
    def reference_relu(x):
        return x.clamp(min=0)

    with pytest.raises(AssertionError, match="reference_relu"):
        call(reference_relu, X, name="relu")


def test_a_reference_call_is_reported_before_the_crash_that_follows_it():
    def calls_then_crashes(model, x):
        monitor.scan(model, x)
        raise IndexError("later")

    model = nn.Sequential(nn.Linear(5, 3), nn.ReLU())
    with pytest.raises(AssertionError, match="the course's `scan`"):
        call(calls_then_crashes, model, X.unsqueeze(0), name="count", forbidden=[monitor.scan])


def test_a_method_is_named_with_its_class():
    def uses_the_monitor(model, x):
        return monitor.DeadUnitMonitor(model)

    model = nn.Sequential(nn.Linear(5, 3), nn.ReLU())
    with pytest.raises(AssertionError, match="DeadUnitMonitor.__init__"):
        call(uses_the_monitor, model, X, name="count", forbidden=[monitor.DeadUnitMonitor.__init__])
