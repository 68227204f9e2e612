"""The sandbox a submission's kernel runs in: bubblewrap (Debian package `bubblewrap`).

Inside, the kernel sees a read-only system (/usr, /etc, the Python installation, the
course's virtual environment and the `deadrelu` package), an empty /tmp, and one writable
folder: the submission's own working copy, which is also its home. It does not see the
rest of the repository (`solutions/`, the gradebook, other students' work, the instructor's
home), has no network (a fresh network namespace with only its own loopback), cannot see or
signal processes outside (its own PID namespace; its parent is bubblewrap's stub), drops
all capabilities, and runs under resource limits (address space, file size, no core dumps).

`kernel_command` builds the command line the kernel manager starts; without bubblewrap it
returns the bare command (the grader warns loudly, and `--require-sandbox` refuses).
"""

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STARTUP_FILE = Path(__file__).resolve().parent / "kernel_startup.py"
STARTUP_IN_SANDBOX = "/grader/kernel_startup.py"
# The integrity probe, loaded by the start-up file by path: the autograder package itself
# (with the gradebook and submissions beside it) stays out of the sandbox.
INTEGRITY_FILE = Path(__file__).resolve().parent / "integrity.py"
INTEGRITY_IN_SANDBOX = "/grader/integrity.py"

# Runs first inside the sandbox: apply the resource limits, then become the IPython kernel.
LAUNCHER = (
    "import resource, runpy, sys\n"
    "memory, file_size = int(sys.argv[1]), int(sys.argv[2])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (memory, memory))\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))\n"
    "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
    "sys.argv = ['ipykernel_launcher'] + sys.argv[3:]\n"
    "runpy.run_module('ipykernel_launcher', run_name='__main__', alter_sys=True)\n"
)


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


@functools.lru_cache(maxsize=None)
def sandbox_problem():
    """None when bubblewrap works here, else a sentence saying why not."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed; on Debian/Ubuntu: sudo apt-get install bubblewrap"
    probe = [bwrap, *_isolation_flags(), *_system_binds(), "--", "/bin/true"]
    try:
        result = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start: {error}"
    if result.returncode != 0:
        return "bubblewrap cannot create a sandbox here: " + (result.stderr.strip() or f"exit code {result.returncode}")
    return None


def _isolation_flags():
    return ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]


def _system_binds():
    flags = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            flags += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            flags += ["--ro-bind", top, top]
    flags += ["--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm", "--tmpfs", "/tmp"]
    if os.path.isdir("/sys"):
        flags += ["--ro-bind", "/sys", "/sys"]
    return flags


def _python_paths():
    """Folders the kernel's Python needs to read: its installation and the virtual environment."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), REPO / "deadrelu"}
    python = Path(sys.executable)
    paths.add(python.resolve().parent.parent)
    return sorted(str(p) for p in paths if p.exists())


def kernel_environment(work_dir):
    return {
        "HOME": str(work_dir),
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": str(work_dir / ".config" / "matplotlib"),
        "IPYTHONDIR": str(work_dir / ".ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TQDM_DISABLE": "1",
    }


def kernel_command(work_dir, kernel_args, memory_bytes, file_size_bytes, sandboxed=True):
    """argv that starts an IPython kernel for one submission (connection file in kernel_args)."""
    work_dir = Path(work_dir)
    python = [sys.executable, "-c", LAUNCHER, str(memory_bytes), str(file_size_bytes), *kernel_args]
    if not sandboxed:
        return python
    bwrap = shutil.which("bwrap")
    if bwrap is None or sandbox_problem():
        raise SandboxUnavailable(sandbox_problem() or "bubblewrap not found")
    flags = [bwrap, *_isolation_flags(), *_system_binds()]
    for path in _python_paths():
        flags += ["--ro-bind", path, path]
    flags += ["--ro-bind", str(STARTUP_FILE), STARTUP_IN_SANDBOX]
    flags += ["--ro-bind", str(INTEGRITY_FILE), INTEGRITY_IN_SANDBOX]
    flags += ["--bind", str(work_dir), str(work_dir), "--chdir", str(work_dir), "--clearenv"]
    # The sandbox's root is a tmpfs that bubblewrap fills with mount points (/root/... when the
    # Python installation lives there): make it read-only, so the working copy and /tmp are
    # the only places a kernel can write.
    flags += ["--remount-ro", "/"]
    for key, value in kernel_environment(work_dir).items():
        flags += ["--setenv", key, value]
    return [*flags, "--", *python]


def startup_file(sandboxed):
    return STARTUP_IN_SANDBOX if sandboxed else str(STARTUP_FILE)


def integrity_file(sandboxed):
    return INTEGRITY_IN_SANDBOX if sandboxed else str(INTEGRITY_FILE)
