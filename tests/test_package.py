"""The helper package: importing it changes no global state, and every module says what it is."""

import importlib
import pkgutil
import subprocess
import sys

import deadrelu

MODULES = sorted(m.name for m in pkgutil.walk_packages(deadrelu.__path__, "deadrelu."))


def test_importing_every_module_changes_no_global_state():
    code = f"""
import random, numpy, torch, matplotlib
state = lambda: (torch.get_rng_state().clone(), random.getstate(), numpy.random.get_state()[1].copy(),
                 dict(matplotlib.rcParams), torch.get_num_threads(), torch.get_default_dtype())
before = state()
for name in {MODULES!r}:
    __import__(name)
after = state()
assert torch.equal(before[0], after[0]), "torch RNG"
assert before[1] == after[1], "random"
assert (before[2] == after[2]).all(), "numpy RNG"
assert before[3] == after[3], "matplotlib rcParams"
assert before[4:] == after[4:], "threads or default dtype"
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_every_module_has_a_docstring():
    missing = [name for name in MODULES if not (importlib.import_module(name).__doc__ or "").strip()]
    assert not missing


def test_public_contract_is_importable_from_the_package():
    from deadrelu import DeadUnitMonitor, scan  # noqa: F401
