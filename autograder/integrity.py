"""The integrity probe: what a test relies on, fingerprinted before any student code runs.

The grading kernel's start-up file (kernel_startup.py) loads this file by its path (inside
the sandbox the autograder package is not importable; sandbox.py binds this one file) and
calls `install`. That takes a snapshot of everything a test relies on:

- every watched attribute (callables and plain constants) of the `deadrelu` modules, the
  assert helpers of torch, numpy and math, and Python's builtins (`ModuleWatch`);
- the methods of torch's tensor classes (`TensorWatch`);
- the notebook's names for the public check functions and the usual module aliases
  (`NamespaceWatch`);
- IPython's code-running methods, code-rewriting hooks and event callbacks (`ShellWatch`);

and registers module `_grader_probe` with `probe(nonce)`, which the harness calls before
and after every test cell. The probe lists whatever differs from the snapshot (a replaced
check function, an added input or AST transformer, a shadowed `check_*` name, ...) and
signs its answer with a secret that only the start-up code read, so a replaced probe is
detected too (worker.Grader.probe checks the signature).

This is tamper *detection* inside the student's own Python process: it catches the
patterns a student would try (monkeypatching checks, asserts, builtins or IPython), not a
determined attacker who digs the secret out of the interpreter's memory. The sandbox,
not this file, is what keeps the hidden tests, solutions and gradebook out of reach.

Only the standard library at import time: the watched modules are imported by `install`.
"""

import hashlib
import hmac
import importlib
import pkgutil
import sys
import types

WATCHED_MODULES = ["builtins", "math", "numpy", "numpy.testing", "torch", "torch.testing", "torch.nn.functional"]
COURSE_PACKAGE = "deadrelu"
CHECKS_PREFIX = "deadrelu.checks"
# IPython's own names in builtins, which it sets and unsets as cells run
SKIP_BUILTINS = {"_", "__", "___", "get_ipython", "display", "exit", "quit"}
SHELL_METHODS = [
    "run_cell",
    "run_cell_async",
    "run_ast_nodes",
    "run_code",
    "transform_cell",
    "transform_ast",
    "should_run_async",
    "showtraceback",
    "_showtraceback",
    "user_expressions",
]
SHELL_HOOKS = ["input_transformers_cleanup", "input_transformers_post", "ast_transformers"]
MANAGER_LISTS = ["cleanup_transforms", "line_transforms", "token_transformers"]
# Event callbacks that libraries register as a notebook runs (matplotlib's inline backend, ...)
TRUSTED_CALLBACK_MODULES = (
    "IPython",
    "ipykernel",
    "matplotlib",
    "matplotlib_inline",
    "ipywidgets",
    "tqdm",
    "comm",
    "deadrelu",
)
MAX_BODY = 4000


# --- when is a value still the original -------------------------------------------------------
def watched(value):
    """Values a test may rely on: functions, classes and plain constants (not data, not modules)."""
    return callable(value) or isinstance(value, (bool, int, float, str, tuple, frozenset))


def _equivalent_function(current, value, depth):
    if current.__code__ != value.__code__ or current.__module__ != value.__module__:
        return False
    if current.__globals__ is not value.__globals__ or current.__defaults__ != value.__defaults__:
        return False
    cells = [c.cell_contents for c in (current.__closure__ or ()) if c.cell_contents is not None]
    originals = [c.cell_contents for c in (value.__closure__ or ()) if c.cell_contents is not None]
    return len(cells) == len(originals) and all(equivalent(a, b, depth + 1) for a, b in zip(cells, originals))


def _equivalent_class(current, value, depth):
    if (current.__module__, current.__qualname__) != (value.__module__, value.__qualname__):
        return False
    if set(vars(current)) != set(vars(value)):
        return False
    code_kinds = (types.FunctionType, staticmethod, classmethod, property)
    return all(
        equivalent(vars(current)[name], vars(value)[name], depth + 1)
        for name in vars(value)
        if isinstance(vars(value)[name], code_kinds)
    )


def equivalent(current, value, depth=0):
    """Whether `current` is `value` re-created by importlib.reload (the capstone's hidden
    tests reload deadrelu.capstone): same code, same defaults, same module globals."""
    if current is value:
        return True
    if depth > 3 or type(current) is not type(value):
        return False
    if isinstance(value, types.FunctionType):
        return _equivalent_function(current, value, depth)
    if isinstance(value, type):
        return _equivalent_class(current, value, depth)
    if isinstance(value, (staticmethod, classmethod)):
        return equivalent(current.__func__, value.__func__, depth + 1)
    if isinstance(value, property):
        return all(
            equivalent(getattr(current, f), getattr(value, f), depth + 1)
            for f in ("fget", "fset", "fdel")
            if getattr(value, f) is not None
        )
    return not callable(value) and current == value


def same(current, value, wrapper_code=None):
    """Whether `current` may stand for the snapshot's `value`.

    Importing torch._dynamo (which training can do) wraps some torch functions, e.g.
    torch.manual_seed, in torch._disable_dynamo. Such a wrapper of the original is fine:
    it is recognised by its code object (`wrapper_code`), which a student's function
    cannot share.
    """
    if current is value or (not callable(value) and current == value):
        return True
    if wrapper_code is not None and getattr(current, "__wrapped__", None) is value:
        if getattr(current, "__code__", None) is wrapper_code:
            return True
    return equivalent(current, value)


# --- the watches: each takes its snapshot when made and lists what changed since -------------------
class ModuleWatch:
    """Watched attributes of some modules, and the modules' places in sys.modules."""

    def __init__(self, modules, wrapper_code=None):
        self.modules = dict(modules)
        self.wrapper_code = wrapper_code
        self.snapshot = {}
        for module_name, module in self.modules.items():
            for attr, value in list(vars(module).items()):
                if isinstance(value, types.ModuleType) or not watched(value):
                    continue
                if module_name == "builtins" and attr in SKIP_BUILTINS:
                    continue
                self.snapshot[(module_name, attr)] = value

    def findings(self):
        found = []
        for (module_name, attr), value in self.snapshot.items():
            module = self.modules[module_name]
            if sys.modules.get(module_name) is not module:
                found.append(f"module {module_name} replaced in sys.modules")
                continue
            if same(vars(module).get(attr, None), value, self.wrapper_code):
                continue
            found.append(f"{module_name}.{attr} replaced" if attr in vars(module) else f"{module_name}.{attr} deleted")
        return found


class TensorWatch:
    """The callables defined on some classes (torch.Tensor and its C base): `Class.attr replaced`."""

    def __init__(self, classes):
        self.snapshot = [
            (klass, attr, value) for klass in classes for attr, value in list(vars(klass).items()) if callable(value)
        ]

    def findings(self):
        return [
            f"{klass.__name__}.{attr} replaced"
            for klass, attr, value in self.snapshot
            if vars(klass).get(attr) is not value
        ]


class NamespaceWatch:
    """The notebook's own names: the public checks it imported, and the usual module aliases."""

    def __init__(self, namespace, check_functions, module_aliases):
        self.namespace = namespace
        self.check_functions = dict(check_functions)
        self.module_aliases = dict(module_aliases)

    def findings(self):
        found = []
        names = self.namespace
        for name, function in self.check_functions.items():
            if name in names and names[name] is not function:
                found.append(f"the notebook's name {name} no longer refers to the public check")
        for name, module in self.module_aliases.items():
            if name in names and names[name] is not module and isinstance(names[name], types.ModuleType):
                found.append(f"the notebook's name {name} refers to a different module")
            elif name in names and not isinstance(names[name], types.ModuleType):
                found.append(f"the notebook's name {name} no longer refers to a module")
        return found


def _callback_module(callback):
    owner = getattr(callback, "__self__", None)
    module = getattr(callback, "__module__", None)
    if owner is not None and not isinstance(owner, types.ModuleType):
        module = type(owner).__module__
    return module or "?"


class ShellWatch:
    """IPython's shell: the methods that run a cell, its code-rewriting hooks, its event callbacks."""

    def __init__(self, shell):
        self.shell = shell
        self.class_methods = {attr: getattr(type(shell), attr, None) for attr in SHELL_METHODS}
        self.instance_methods = {attr: vars(shell).get(attr) for attr in SHELL_METHODS}
        self.kernel = getattr(shell, "kernel", None)
        self.kernel_class_method = self.kernel_instance_method = None
        if self.kernel is not None:
            self.kernel_class_method = getattr(type(self.kernel), "do_execute", None)
            self.kernel_instance_method = vars(self.kernel).get("do_execute")
        self.hooks = {attr: list(getattr(shell, attr)) for attr in SHELL_HOOKS}
        self.manager = shell.input_transformer_manager
        self.manager_lists = {attr: list(getattr(self.manager, attr, [])) for attr in MANAGER_LISTS}
        self.callbacks = {event: list(callbacks) for event, callbacks in shell.events.callbacks.items()}

    def findings(self):
        return self._method_findings() + self._hook_findings() + self._callback_findings()

    def _method_findings(self):
        shell, kernel, found = self.shell, self.kernel, []
        for attr, original in self.class_methods.items():
            on_instance = vars(shell).get(attr)
            if on_instance is not self.instance_methods[attr] or getattr(type(shell), attr, None) is not original:
                found.append(f"IPython's shell.{attr} replaced")
        if kernel is not None and (
            vars(kernel).get("do_execute") is not self.kernel_instance_method
            or getattr(type(kernel), "do_execute", None) is not self.kernel_class_method
        ):
            found.append("the kernel's do_execute replaced")
        return found

    def _hook_findings(self):
        found = [
            f"IPython {attr} changed"
            for attr, original in self.hooks.items()
            if list(getattr(self.shell, attr)) != original
        ]
        if self.shell.input_transformer_manager is not self.manager:
            found.append("IPython's input transformer manager replaced")
        for attr, original in self.manager_lists.items():
            if list(getattr(self.manager, attr, [])) != original:
                found.append(f"IPython input_transformer_manager.{attr} changed")
        return found

    def _callback_findings(self):
        found = []
        for event, callbacks in self.shell.events.callbacks.items():
            for callback in callbacks:
                if callback in self.callbacks.get(event, []):
                    continue
                if not _callback_module(callback).startswith(TRUSTED_CALLBACK_MODULES):
                    found.append(f"a callback on IPython's {event} event")
        return found


class TraceWatch:
    """A trace or profile function (a debugger, sys.settrace) can change what code does."""

    def findings(self):
        if sys.gettrace() is not None or sys.getprofile() is not None:
            return ["a trace or profile function installed"]
        return []


# --- the probe ----------------------------------------------------------------------------------
def sign(secret, nonce, body):
    """The signature of the probe's answer `body` to `nonce` (worker.Grader.probe checks it)."""
    return hmac.new(secret, (nonce + "\n" + body).encode(), hashlib.sha256).hexdigest()


def make_probe(secret, watches):
    """probe(nonce) -> (findings, one a line, signature)."""

    def probe(nonce):
        found = sorted({finding for watch in watches for finding in watch.findings()})
        body = "\n".join(found)[:MAX_BODY]
        return body, sign(secret, nonce, body)

    return probe


def register(probe):
    """Make `probe` reachable as `__import__('_grader_probe').probe`, the harness's one way in."""
    module = types.ModuleType("_grader_probe", "The grading harness's integrity probe.")
    module.probe = probe
    sys.modules["_grader_probe"] = module


# --- what the grading kernel watches -------------------------------------------------------------
def import_course(package=COURSE_PACKAGE):
    """Import every module of the course's package (found by walking it, never by a fixed name)."""
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        importlib.import_module(info.name)


def course_modules(package=COURSE_PACKAGE):
    modules = {name: sys.modules[name] for name in WATCHED_MODULES}
    for name, module in list(sys.modules.items()):
        if name == package or name.startswith(package + "."):
            modules[name] = module
    return modules


def check_functions(modules):
    """Public check functions, by the name a notebook imports them under."""
    return {
        attr: value
        for module_name, module in modules.items()
        if module_name.startswith(CHECKS_PREFIX)
        for attr, value in vars(module).items()
        if attr.startswith("check_") and callable(value)
    }


def grading_watches(shell):
    """The watches of a grading kernel, snapshots taken now (before any student code)."""
    import math

    import numpy
    import numpy.testing
    import torch
    import torch.nn
    import torch.nn.functional
    import torch.testing

    import_course()
    modules = course_modules()
    wrapper_code = getattr(getattr(torch, "_disable_dynamo", lambda fn: fn)(lambda: None), "__code__", None)
    aliases = {"torch": torch, "np": numpy, "numpy": numpy, "F": torch.nn.functional, "nn": torch.nn, "math": math}
    return [
        ModuleWatch(modules, wrapper_code),
        TensorWatch([torch.Tensor, torch._C.TensorBase]),
        NamespaceWatch(shell.user_ns, check_functions(modules), aliases),
        ShellWatch(shell),
        TraceWatch(),
    ]


def install(secret, shell):
    """Snapshot what the tests rely on in this kernel and register the signed probe."""
    register(make_probe(secret, grading_watches(shell)))
