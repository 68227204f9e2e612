"""A trial classroom on this machine: `make classroom` (as root).

Creates the Unix accounts of an instructor and a few students (where missing), gives the
instructor a copy of this repository as their course folder, makes nbgrader's exchange, and runs
JupyterHub (classroom/jupyterhub_config.py) on 127.0.0.1 with one shared trial password, until
Ctrl-C. The hub test (tests/test_classroom_hub.py) builds its classroom with the same functions.

    python -m classroom.trial [--students student1,student2,student3] [--instructor instructor]
                              [--port 8000] [--password ...] [--state build/classroom]
    python -m classroom.trial --remove-accounts      # delete the trial's accounts and their homes
"""

import argparse
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from classroom import settings

CONFIG = settings.HERE / "jupyterhub_config.py"
DEFAULT_STUDENTS = "student1,student2,student3"
# What a course folder never needs from the repository it is copied from.
NOT_COPIED = (".git", ".venv", "build", "test-artifacts", "__pycache__", ".pytest_cache", ".ruff_cache")


class ClassroomError(Exception):
    """Something the person starting the classroom must fix; the message says what."""


def require_root():
    if os.geteuid() != 0:
        raise ClassroomError(
            "the classroom runs every user's JupyterLab as their own Unix account, so JupyterHub must run "
            "as root: sudo make classroom"
        )


def account_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def ensure_account(name, home_parent=None):
    """Create the Unix account `name` (home folder only it can read) unless it exists."""
    if account_exists(name):
        return False
    command = ["useradd", "--create-home", "--user-group", "--shell", "/bin/bash"]
    if home_parent:
        command += ["--home-dir", str(Path(home_parent) / name)]
    subprocess.run([*command, name], check=True, capture_output=True, text=True)
    os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
    return True


def remove_account(name):
    if account_exists(name):
        subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
        subprocess.run(["groupdel", name], capture_output=True, text=True)  # where userdel left the group


def _repository_files(source):
    """The working tree's files: tracked and new ones, not what .gitignore keeps out (no .venv, no grades)."""
    if (source / ".git").exists():
        listed = subprocess.run(
            ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True,
            capture_output=True,
        ).stdout
        names = [name for name in listed.decode().split("\0") if name]
        return [name for name in names if (source / name).is_file()]
    names = []
    for folder, subfolders, files in os.walk(source):
        subfolders[:] = [name for name in subfolders if name not in NOT_COPIED]
        names += [os.path.relpath(os.path.join(folder, name), source) for name in files]
    return names


def copy_course(destination, owner, source=settings.REPOSITORY):
    """Give `owner` a course folder: a copy of this repository's working tree, owned by them.

    An existing folder is left alone: it holds the instructor's work (gradebook, submissions).
    """
    destination = Path(destination)
    if destination.exists():
        return False
    account = pwd.getpwnam(owner)
    for name in _repository_files(Path(source)):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(source) / name, target)
    for folder, subfolders, files in os.walk(destination):
        for name in [folder, *(os.path.join(folder, entry) for entry in subfolders + files)]:
            os.chown(name, account.pw_uid, account.pw_gid)
    return True


def unreadable_by_others(path):
    """The first folder on the way to `path` that other accounts cannot pass through, or `path`
    itself if they cannot read it; None when they can reach and read it."""
    path = Path(path).resolve()
    for folder in [*reversed(path.parents), *([path] if path.is_dir() else [])]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    if not path.stat().st_mode & stat.S_IROTH:
        return path
    return None


def check_environment_shared(environment=None):
    """Every user's server runs Python from the course's environment: others must be able to reach it."""
    environment = Path(environment or settings.course_env())
    python = environment / "bin" / "python"
    for needed in (environment / "bin" / "jupyterhub-singleuser", python):
        if not needed.exists():
            raise ClassroomError(f"{needed} is missing: run `make classroom-env` first")
    for needed in (environment / "bin" / "jupyterhub-singleuser", python.resolve()):
        blocked = unreadable_by_others(needed)
        if blocked is not None:
            raise ClassroomError(
                f"other accounts cannot open {blocked} (mode {stat.filemode(blocked.stat().st_mode)}), so students' "
                f"servers cannot run {needed}. Build the classroom's environment where everyone can reach it "
                f"(make classroom-env CLASSROOM_ENV=/opt/deadrelu-classroom) from a Python everyone can run "
                f"(CLASSROOM_PYTHON=/usr/bin/python3.11)."
            )
    if not (environment / "bin" / "configurable-http-proxy").exists():
        raise ClassroomError(
            "JupyterHub's proxy is missing (configurable-http-proxy, an npm package): install Node.js and npm "
            "(apt-get install nodejs npm) and run `make env` again"
        )


def prepare_exchange(path):
    """nbgrader's exchange: a folder every account can write to; nbgrader sets what it makes inside."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o777)  # what nbgrader expects of the exchange root (its release_assignment checks it)
    blocked = unreadable_by_others(path)
    if blocked is not None:
        raise ClassroomError(f"other accounts cannot reach the exchange {path}: {blocked} is closed to them")
    return path


def hub_environment(*, instructors, students, exchange, state, port, password=None, extra=None):
    """The environment variables classroom/jupyterhub_config.py reads (classroom/settings.py)."""
    environment = {
        **os.environ,
        "CLASSROOM_INSTRUCTORS": ",".join(instructors),
        "CLASSROOM_STUDENTS": ",".join(students),
        "CLASSROOM_EXCHANGE": str(exchange),
        "CLASSROOM_STATE": str(state),
        "CLASSROOM_PORT": str(port),
        "COURSE_ENV": settings.course_env(),
    }
    if password:
        environment["CLASSROOM_PASSWORD"] = password
    environment.update(extra or {})
    return environment


def hub_command():
    return [os.path.join(settings.course_env(), "bin", "jupyterhub"), "-f", str(CONFIG)]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="make classroom", description=__doc__.split("\n\n")[0])
    parser.add_argument("--instructor", default="instructor")
    parser.add_argument("--students", default=DEFAULT_STUDENTS, help="comma-separated (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--password", help="the shared trial password (default: a new random one)")
    parser.add_argument("--state", default=str(settings.REPOSITORY / "build" / "classroom"))
    parser.add_argument("--remove-accounts", action="store_true", help="delete the trial's accounts and homes")
    args = parser.parse_args(argv)
    students = [name.strip() for name in args.students.split(",") if name.strip()]
    password = args.password or secrets.token_urlsafe(9)
    try:
        if len(password) < 8:
            raise ClassroomError("the trial password needs 8 characters or more")
        require_root()
        if args.remove_accounts:
            for name in [args.instructor, *students]:
                remove_account(name)
            print(f"Removed the accounts {', '.join([args.instructor, *students])} and their home folders.")
            return 0
        check_environment_shared()
        state = Path(args.state).resolve()
        state.mkdir(parents=True, exist_ok=True)
        exchange = prepare_exchange(state / "exchange")
        created = [name for name in [args.instructor, *students] if ensure_account(name)]
        os.environ["CLASSROOM_INSTRUCTORS"] = args.instructor  # settings.course_dir reads it
        course = settings.course_dir(args.instructor)
        copied = copy_course(course, args.instructor)
    except (ClassroomError, subprocess.CalledProcessError, OSError) as error:
        detail = getattr(error, "stderr", None) or ""
        print(f"make classroom: {error} {detail}".strip(), file=sys.stderr)
        return 2
    print(f"Accounts created: {', '.join(created) or 'none (they exist)'}")
    print(f"The instructor's course folder: {course}{' (a new copy of this repository)' if copied else ''}")
    print(f"nbgrader's exchange: {exchange}")
    print(f"\nOpen http://127.0.0.1:{args.port} and log in as {args.instructor} or {', '.join(students)}")
    print(f"with the trial password {password}. Ctrl-C stops the hub and everybody's JupyterLab.\n", flush=True)
    environment = hub_environment(
        instructors=[args.instructor],
        students=students,
        exchange=exchange,
        state=state,
        port=args.port,
        password=password,
    )
    os.chdir(state)
    os.execve(hub_command()[0], hub_command(), environment)


if __name__ == "__main__":
    sys.exit(main())
