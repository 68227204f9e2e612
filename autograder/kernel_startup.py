"""Code the grading kernel runs at start-up, before any student code (IPKernelApp.exec_lines).

It does three things, inside one function so that nothing is left in the student's namespace:

1. Python warnings go to stdout: nbgrader gives 0 points to a test cell that wrote on
   stderr, and PyTorch warns there (the harness also ignores stderr when it scores).
2. It takes a snapshot of everything a test relies on: the public check functions and
   every other attribute of the `deadrelu` modules, the assert helpers of torch, numpy and
   math, Python's builtins, and IPython's code-rewriting hooks.
3. It installs an integrity probe (module `_grader_probe`, function `probe(nonce)`), which
   the harness calls before and after every test cell. The probe lists whatever differs
   from the snapshot (a replaced check function, an added input or AST transformer, a
   shadowed `check_*` name in the notebook, ...) and signs its answer with a secret that
   only this start-up code read (from a file it then deleted), so a replaced probe is
   detected too.

This is tamper *detection* inside the student's own Python process: it catches the
patterns a student would try (monkeypatching checks, asserts, builtins or IPython), not a
determined attacker who digs the secret out of the interpreter's memory. The sandbox,
not this file, is what keeps the hidden tests, solutions and gradebook out of reach.
"""


def _install(secret_path):
    import hashlib
    import hmac
    import importlib
    import os
    import pkgutil
    import sys
    import types
    import warnings

    with open(secret_path, "rb") as handle:
        secret = handle.read()
    os.remove(secret_path)

    def show_on_stdout(message, category, filename, lineno, file=None, line=None):
        sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show_on_stdout

    import math

    import numpy
    import numpy.testing
    import torch
    import torch.nn
    import torch.nn.functional
    import torch.testing

    import deadrelu

    for info in pkgutil.walk_packages(deadrelu.__path__, "deadrelu."):
        importlib.import_module(info.name)

    ip = get_ipython()  # noqa: F821 (IPython's builtin while exec_lines run)

    def watched(value):
        return callable(value) or isinstance(value, (bool, int, float, str, tuple, frozenset))

    modules = {}
    for name in ["builtins", "math", "numpy", "numpy.testing", "torch", "torch.testing", "torch.nn.functional"]:
        modules[name] = sys.modules[name]
    for name, module in list(sys.modules.items()):
        if name == "deadrelu" or name.startswith("deadrelu."):
            modules[name] = module

    skip_builtins = {"_", "__", "___", "get_ipython", "display", "exit", "quit"}
    snapshot = {}
    for module_name, module in modules.items():
        for attr, value in list(vars(module).items()):
            if isinstance(value, types.ModuleType) or not watched(value):
                continue
            if module_name == "builtins" and attr in skip_builtins:
                continue
            snapshot[(module_name, attr)] = value
    tensor_methods = {
        klass.__name__ + "." + attr: value
        for klass in (torch.Tensor, torch._C.TensorBase)
        for attr, value in list(vars(klass).items())
        if callable(value)
    }

    # Public check functions, by the name a notebook imports them under.
    check_functions = {}
    for module_name, module in modules.items():
        if module_name.startswith("deadrelu.checks"):
            for attr, value in vars(module).items():
                if attr.startswith("check_") and callable(value):
                    check_functions[attr] = value
    module_aliases = {
        "torch": torch,
        "np": numpy,
        "numpy": numpy,
        "F": torch.nn.functional,
        "nn": torch.nn,
        "math": math,
    }

    shell_methods = [
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
    shell_class_methods = {attr: getattr(type(ip), attr, None) for attr in shell_methods}
    shell_instance_methods = {attr: vars(ip).get(attr) for attr in shell_methods}
    kernel = getattr(ip, "kernel", None)
    kernel_do_execute = getattr(type(kernel), "do_execute", None) if kernel is not None else None
    kernel_instance_do_execute = vars(kernel).get("do_execute") if kernel is not None else None
    hooks = {
        "input_transformers_cleanup": list(ip.input_transformers_cleanup),
        "input_transformers_post": list(ip.input_transformers_post),
        "ast_transformers": list(ip.ast_transformers),
    }
    manager = ip.input_transformer_manager
    manager_lists = {
        attr: list(getattr(manager, attr, []))
        for attr in ("cleanup_transforms", "line_transforms", "token_transformers")
    }
    known_callbacks = {event: list(callbacks) for event, callbacks in ip.events.callbacks.items()}
    trusted_prefixes = (
        "IPython",
        "ipykernel",
        "matplotlib",
        "matplotlib_inline",
        "ipywidgets",
        "tqdm",
        "comm",
        "deadrelu",
    )

    def callback_module(callback):
        owner = getattr(callback, "__self__", None)
        module = getattr(callback, "__module__", None)
        if owner is not None and not isinstance(owner, types.ModuleType):
            module = type(owner).__module__
        return module or "?"

    # Importing torch._dynamo (which training can do) wraps some torch functions, e.g.
    # torch.manual_seed, in torch._disable_dynamo. Such a wrapper of the original is fine:
    # it is recognised by its code object, which a student's function cannot share.
    dynamo_wrapper_code = getattr(getattr(torch, "_disable_dynamo", lambda fn: fn)(lambda: None), "__code__", None)

    def equivalent(current, value, depth=0):
        """Whether `current` is `value` re-created by importlib.reload (the capstone's hidden
        tests reload deadrelu.capstone): same code, same defaults, same module globals."""
        if current is value:
            return True
        if depth > 3 or type(current) is not type(value):
            return False
        if isinstance(value, types.FunctionType):
            if current.__code__ != value.__code__ or current.__module__ != value.__module__:
                return False
            if current.__globals__ is not value.__globals__ or current.__defaults__ != value.__defaults__:
                return False
            cells = [c.cell_contents for c in (current.__closure__ or ()) if c.cell_contents is not None]
            originals = [c.cell_contents for c in (value.__closure__ or ()) if c.cell_contents is not None]
            return len(cells) == len(originals) and all(equivalent(a, b, depth + 1) for a, b in zip(cells, originals))
        if isinstance(value, type):
            if (current.__module__, current.__qualname__) != (value.__module__, value.__qualname__):
                return False
            if set(vars(current)) != set(vars(value)):
                return False
            return all(
                equivalent(vars(current)[name], vars(value)[name], depth + 1)
                for name in vars(value)
                if isinstance(vars(value)[name], (types.FunctionType, staticmethod, classmethod, property))
            )
        if isinstance(value, (staticmethod, classmethod)):
            return equivalent(current.__func__, value.__func__, depth + 1)
        if isinstance(value, property):
            return all(
                equivalent(getattr(current, f), getattr(value, f), depth + 1)
                for f in ("fget", "fset", "fdel")
                if getattr(value, f) is not None
            )
        return not callable(value) and current == value

    def same(current, value):
        if current is value or (not callable(value) and current == value):
            return True
        if getattr(current, "__wrapped__", None) is value and getattr(current, "__code__", None) is dynamo_wrapper_code:
            return True
        return equivalent(current, value)

    def findings():
        found = []
        for (module_name, attr), value in snapshot.items():
            module = modules[module_name]
            if sys.modules.get(module_name) is not module:
                found.append(f"module {module_name} replaced in sys.modules")
                continue
            current = vars(module).get(attr, None)
            if same(current, value):
                continue
            found.append(f"{module_name}.{attr} replaced" if attr in vars(module) else f"{module_name}.{attr} deleted")
        for key, value in tensor_methods.items():
            klass_name, attr = key.split(".", 1)
            klass = torch.Tensor if klass_name == torch.Tensor.__name__ else torch._C.TensorBase
            if vars(klass).get(attr) is not value:
                found.append(f"{key} replaced")
        user_ns = ip.user_ns
        for name, function in check_functions.items():
            if name in user_ns and user_ns[name] is not function:
                found.append(f"the notebook's name {name} no longer refers to the public check")
        for name, module in module_aliases.items():
            if name in user_ns and user_ns[name] is not module and isinstance(user_ns[name], types.ModuleType):
                found.append(f"the notebook's name {name} refers to a different module")
            elif name in user_ns and not isinstance(user_ns[name], types.ModuleType):
                found.append(f"the notebook's name {name} no longer refers to a module")
        for attr, original in shell_class_methods.items():
            if vars(ip).get(attr) is not shell_instance_methods[attr] or getattr(type(ip), attr, None) is not original:
                found.append(f"IPython's shell.{attr} replaced")
        if kernel is not None and (
            vars(kernel).get("do_execute") is not kernel_instance_do_execute
            or getattr(type(kernel), "do_execute", None) is not kernel_do_execute
        ):
            found.append("the kernel's do_execute replaced")
        for attr, original in hooks.items():
            if list(getattr(ip, attr)) != original:
                found.append(f"IPython {attr} changed")
        if ip.input_transformer_manager is not manager:
            found.append("IPython's input transformer manager replaced")
        for attr, original in manager_lists.items():
            if list(getattr(manager, attr, [])) != original:
                found.append(f"IPython input_transformer_manager.{attr} changed")
        for event, callbacks in ip.events.callbacks.items():
            for callback in callbacks:
                if callback in known_callbacks.get(event, []):
                    continue
                if not callback_module(callback).startswith(trusted_prefixes):
                    found.append(f"a callback on IPython's {event} event")
        if sys.gettrace() is not None or sys.getprofile() is not None:
            found.append("a trace or profile function installed")
        return sorted(set(found))

    def probe(nonce):
        body = "\n".join(findings())[:4000]
        signature = hmac.new(secret, (nonce + "\n" + body).encode(), hashlib.sha256).hexdigest()
        return (body, signature)

    module = types.ModuleType("_grader_probe", "The grading harness's integrity probe.")
    module.probe = probe
    sys.modules["_grader_probe"] = module


_install(__grader_secret_path__)  # noqa: F821 (set by the exec line that runs this file)
del _install
