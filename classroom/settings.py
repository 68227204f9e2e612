"""The classroom's settings, shared by the hub's configuration, `make classroom` and the hub test.

Everything comes from environment variables, so that one jupyterhub_config.py serves a trial on
a laptop, a test in a temporary folder and a class server:

    CLASSROOM_INSTRUCTORS   comma-separated user names with the Formgrader (default: instructor)
    CLASSROOM_STUDENTS      comma-separated user names allowed to log in as students (with the
                            instructors, the only ones allowed: empty lets in the instructors alone)
    CLASSROOM_EXCHANGE      nbgrader's exchange, shared by everybody (default: /srv/nbgrader/exchange)
    CLASSROOM_COURSE_DIR    the instructor's course folder, a copy of this repository; "~" is the
                            instructor's home (default: ~/dead-relu-course)
    CLASSROOM_STATE         the hub's own files: its database, cookie secret, proxy pid
                            (default: /srv/jupyterhub)
    CLASSROOM_IP, CLASSROOM_PORT            where students connect (default: 127.0.0.1:8000)
    CLASSROOM_HUB_PORT, CLASSROOM_PROXY_API_PORT   the hub's and the proxy's internal ports
                            on 127.0.0.1 (default: 8081, 8001)
    CLASSROOM_PASSWORD      a shared trial password, 8 characters or more (JupyterHub's
                            SharedPasswordAuthenticator); unset: the server's accounts and passwords (PAM)
    CLASSROOM_MEM_LIMIT, CLASSROOM_CPU_LIMIT   per-user limits (default: 4G, 1), enforced by
                            spawners that can (SystemdSpawner, KubeSpawner), not by the local one
    COURSE_ENV              the environment every user's server and kernel runs in: Python with
                            requirements.txt, the helper package and the `deadrelu` kernel
                            (default: the environment the hub runs from)
"""

import os
import pwd
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
COURSE_ID = "dead_relu"  # the course id of autograder/nbgrader_config.py
ROLES = ("instructor", "student")
ROLE_SOURCES = {role: HERE / "jupyter" / role for role in ROLES}  # copied into the environment by `make classroom-env`


def _names(value):
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def instructors():
    return _names(os.environ.get("CLASSROOM_INSTRUCTORS", "instructor"))


def students():
    return _names(os.environ.get("CLASSROOM_STUDENTS", ""))


def exchange():
    return os.environ.get("CLASSROOM_EXCHANGE", "/srv/nbgrader/exchange")


def state_dir():
    return os.environ.get("CLASSROOM_STATE", "/srv/jupyterhub")


def course_env():
    return os.environ.get("COURSE_ENV") or sys.prefix


def role_config(role_name):
    """The role's configuration folder inside the course's environment (a copy of classroom/jupyter/<role>),
    so that users need nothing from the repository, which may lie where they cannot read."""
    return os.path.join(course_env(), "etc", "classroom", role_name)


def role(user_name):
    return "instructor" if user_name in instructors() else "student"


def home_of(user_name):
    return pwd.getpwnam(user_name).pw_dir


def course_dir(user_name):
    """The instructor's course folder (a copy of this repository, owned by them)."""
    template = os.environ.get("CLASSROOM_COURSE_DIR", "~/dead-relu-course")
    if template.startswith("~"):
        template = home_of(user_name) + template[1:]
    return template


def user_environment(user_name):
    """What a user's server (and every terminal and kernel in it) gets, on top of HOME, USER and SHELL.

    - PATH starts with the course's environment, so `nbgrader`, `python`, `make grade` use it;
    - COURSE_ENV tells the Makefile to use that environment instead of building a .venv;
    - DEADRELU_EXCHANGE is the exchange (autograder/nbgrader_config.py reads it for the instructor);
    - JUPYTER_CONFIG_PATH adds the role's configuration (classroom/jupyter/<role>, copied into the
      environment): the students' nbgrader settings and the lab extensions each role sees;
    - DEADRELU_COURSE_DIR (instructors) is their course folder, where the Formgrader works.
    """
    environment_bin = os.path.join(course_env(), "bin")
    environment = {
        "PATH": os.pathsep.join([environment_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
        "COURSE_ENV": course_env(),
        "DEADRELU_EXCHANGE": exchange(),
        "JUPYTER_CONFIG_PATH": role_config(role(user_name)),
    }
    if role(user_name) == "instructor":
        environment["DEADRELU_COURSE_DIR"] = course_dir(user_name)  # classroom/jupyter/instructor reads it
    return environment


def server_folder(user_name):
    """The folder a user's JupyterLab opens in: the course folder for instructors, home for students."""
    return course_dir(user_name) if role(user_name) == "instructor" else home_of(user_name)
