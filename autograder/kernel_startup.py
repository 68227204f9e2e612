"""Code the grading kernel runs at start-up, before any student code (IPKernelApp.exec_lines).

The worker's exec line sets `__grader_secret_path__` and `__grader_integrity_path__`, runs
this file and deletes both names. Inside one function, so that nothing is left in the
student's namespace, it:

1. sends Python warnings to stdout: nbgrader gives 0 points to a test cell that wrote on
   stderr, and PyTorch warns there (the harness also ignores stderr when it scores);
2. reads the probe's secret from its file, then deletes the file;
3. loads integrity.py by its path (inside the sandbox the autograder package is not
   importable: sandbox.py binds that one file next to this one) and installs the probe,
   which takes its snapshot now. See integrity.py for what it watches and why.
"""


def _bootstrap(secret_path, integrity_path):
    import importlib.util
    import os
    import sys
    import warnings

    def show_on_stdout(message, category, filename, lineno, file=None, line=None):
        sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show_on_stdout
    with open(secret_path, "rb") as handle:
        secret = handle.read()
    os.remove(secret_path)
    spec = importlib.util.spec_from_file_location("_grader_integrity", integrity_path)
    integrity = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(integrity)
    integrity.install(secret, get_ipython())  # noqa: F821 (IPython's builtin while exec_lines run)


_bootstrap(__grader_secret_path__, __grader_integrity_path__)  # noqa: F821 (set by the worker's exec line)
del _bootstrap
