"""The classroom's configuration without a hub (fast): who sees which nbgrader extension, what each
user's server gets, the hub's settings, the Makefile's use of the hub's environment, and the
trial's checks. tests/test_classroom_hub.py runs all of it on a real hub."""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import PyFileConfigLoader

from course_tools import ROOT

sys.path.insert(0, str(ROOT))
from classroom import settings, trial  # noqa: E402

STUDENT = settings.ROLE_SOURCES["student"]
NBGRADER_LAB = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader"
ME = pwd.getpwuid(os.getuid()).pw_name


def nbgrader_lab_code():
    return "".join(path.read_text(errors="replace") for path in NBGRADER_LAB.rglob("*.js"))


def test_students_get_the_assignments_tab_and_validate_but_no_instructor_tools():
    disabled = json.loads((STUDENT / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    assert {name for name, off in disabled.items() if off} == {
        "@jupyter/nbgrader:formgrader",
        "@jupyter/nbgrader:create-assignment",
        "@jupyter/nbgrader:course-list",
    }
    code = nbgrader_lab_code()
    for plugin in [*disabled, "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"]:
        assert plugin in code, f"{plugin} is not a plugin of the installed nbgrader lab extension"
    server = json.loads((STUDENT / "jupyter_server_config.d" / "nbgrader-student.json").read_text())
    extensions = server["ServerApp"]["jpserver_extensions"]
    assert extensions["nbgrader.server_extensions.formgrader"] is False
    assert extensions["nbgrader.server_extensions.course_list"] is False
    assert extensions["nbgrader.server_extensions.assignment_list"] is True


def test_student_lab_plugins_are_really_off_in_jupyterlab(monkeypatch, tmp_path):
    """JupyterLab's page config, read the way the lab server reads it, with the student's config path."""
    from jupyterlab_server.config import get_page_config

    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(STUDENT))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))
    page = get_page_config([str(NBGRADER_LAB.parent.parent)], str(tmp_path), logger=None)
    disabled = page.get("disabledExtensions", {})
    disabled = disabled if isinstance(disabled, dict) else {name: True for name in disabled}
    assert disabled.get("@jupyter/nbgrader:formgrader") is True
    assert not disabled.get("@jupyter/nbgrader:assignment-list")


def test_each_role_gets_its_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_ENV", "/opt/course-env")
    monkeypatch.setenv("CLASSROOM_EXCHANGE", "/srv/exchange")
    monkeypatch.setenv("CLASSROOM_INSTRUCTORS", ME)
    monkeypatch.setenv("CLASSROOM_COURSE_DIR", "~/my-course")
    home = pwd.getpwnam(ME).pw_dir
    teacher = settings.user_environment(ME)
    assert teacher["PATH"].split(os.pathsep)[0] == "/opt/course-env/bin"
    assert teacher["COURSE_ENV"] == "/opt/course-env" and teacher["DEADRELU_EXCHANGE"] == "/srv/exchange"
    assert teacher["JUPYTER_CONFIG_PATH"] == "/opt/course-env/etc/classroom/instructor"
    assert teacher["DEADRELU_COURSE_DIR"] == f"{home}/my-course" == settings.server_folder(ME)
    monkeypatch.setenv("CLASSROOM_INSTRUCTORS", "someone-else")
    student = settings.user_environment(ME)
    assert student["JUPYTER_CONFIG_PATH"] == "/opt/course-env/etc/classroom/student"
    assert "DEADRELU_COURSE_DIR" not in student
    assert settings.server_folder(ME) == home


def load_hub_config(monkeypatch, **variables):
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    loader = PyFileConfigLoader("jupyterhub_config.py", path=str(settings.HERE))
    return loader.load_config()


def test_hub_configuration_for_a_trial(monkeypatch):
    config = load_hub_config(
        monkeypatch,
        CLASSROOM_INSTRUCTORS=ME,
        CLASSROOM_STUDENTS="ann,ben",
        CLASSROOM_PASSWORD="trial-password",
        CLASSROOM_PORT="18123",
        COURSE_ENV="/opt/course-env",
    )
    assert config.JupyterHub.bind_url == "http://127.0.0.1:18123"
    assert config.JupyterHub.authenticator_class == "shared-password"
    assert config.SharedPasswordAuthenticator.user_password == "trial-password"
    assert config.Authenticator.allowed_users == {ME, "ann", "ben"} and "admin_users" not in config.Authenticator
    assert config.JupyterHub.spawner_class == "localprocess"
    assert config.Spawner.cmd == ["/opt/course-env/bin/jupyterhub-singleuser"]
    assert config.ConfigurableHTTPProxy.command == ["/opt/course-env/bin/configurable-http-proxy"]
    assert config.Spawner.ip == "127.0.0.1" and "services" not in config.JupyterHub

    spawner = SimpleNamespace(user=SimpleNamespace(name=ME), environment={}, notebook_dir="")
    config.Spawner.pre_spawn_hook(spawner)
    assert spawner.environment["JUPYTER_CONFIG_PATH"] == "/opt/course-env/etc/classroom/instructor"
    assert spawner.notebook_dir == settings.course_dir(ME)


def test_hub_configuration_without_a_trial_password_uses_the_servers_accounts(monkeypatch):
    monkeypatch.delenv("CLASSROOM_PASSWORD", raising=False)
    config = load_hub_config(monkeypatch, CLASSROOM_STUDENTS="ann")
    assert config.JupyterHub.authenticator_class == "pam"
    assert config.JupyterHub.bind_url == "http://127.0.0.1:8000"


def test_course_settings_take_the_exchange_from_the_hub(monkeypatch, tmp_path):
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "autograder"))
    monkeypatch.delenv("DEADRELU_EXCHANGE", raising=False)
    assert loader.load_config().Exchange.root == str(ROOT / "autograder" / "exchange")
    monkeypatch.setenv("DEADRELU_EXCHANGE", str(tmp_path))
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "autograder"))
    assert loader.load_config().Exchange.root == str(tmp_path)


def make_dry_run(*arguments):
    """What `make -n` would run, also when the tests themselves run under `make test` (no "Entering directory")."""
    environment = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(
        ["make", "--no-print-directory", "-n", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_makefile_uses_the_hubs_environment_and_builds_nothing():
    on_hub = make_dry_run("grade", "COURSE_ENV=/opt/course-env")
    assert on_hub.strip().splitlines() == ["/opt/course-env/bin/python -m autograder.grade"]
    classroom = make_dry_run("classroom", "CLASSROOM_ENV=/opt/classroom-env", "CLASSROOM_ARGS=--students ann")
    assert "COURSE_ENV=/opt/classroom-env /opt/classroom-env/bin/python -m classroom.trial --students ann" in classroom
    assert "cp -R classroom/jupyter/. /opt/classroom-env/etc/classroom/" in classroom  # the roles' settings


def test_trial_names_the_folder_that_keeps_students_out():
    base = Path(tempfile.mkdtemp())  # (pytest's tmp_path lies in a folder only its owner can enter)
    base.chmod(0o755)
    closed = base / "closed"
    (closed / "env" / "bin").mkdir(parents=True)
    for name in ("python", "jupyterhub-singleuser", "configurable-http-proxy"):
        (closed / "env" / "bin" / name).write_text("")
    closed.chmod(0o700)
    assert trial.unreadable_by_others(closed / "env" / "bin" / "python") == closed
    with pytest.raises(trial.ClassroomError, match=f"other accounts cannot open {closed} .*CLASSROOM_PYTHON"):
        trial.check_environment_shared(closed / "env")
    closed.chmod(0o755)
    try:
        assert trial.unreadable_by_others(closed / "env" / "bin" / "python") is None
    finally:
        shutil.rmtree(base)


def test_trial_says_what_is_missing(tmp_path):
    with pytest.raises(trial.ClassroomError, match="make classroom-env"):
        trial.check_environment_shared(tmp_path / "no-env")


def test_trial_refuses_without_root_or_with_a_short_password_and_says_why(monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert trial.main(["--students", "ann"]) == 2
    assert "sudo make classroom" in capsys.readouterr().err
    assert trial.main(["--students", "ann", "--password", "short"]) == 2
    assert "8 characters or more" in capsys.readouterr().err


def test_course_copy_holds_the_working_tree_but_no_environment_or_grades(tmp_path):
    files = trial._repository_files(ROOT)
    assert "solutions/01_relu_math/01_relu_math.ipynb" in files and "Makefile" in files
    assert not [name for name in files if name.startswith((".venv/", "build/", "autograder/submitted/"))]


def test_role_nbgrader_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("DEADRELU_EXCHANGE", str(tmp_path / "exchange"))
    student = PyFileConfigLoader("nbgrader_config.py", path=str(STUDENT)).load_config()
    assert student.Exchange.root == str(tmp_path / "exchange")
    assert student.CourseDirectory.course_id == settings.COURSE_ID
    monkeypatch.setenv("DEADRELU_COURSE_DIR", str(ROOT))  # the instructor's course folder: here, this repository
    instructor_dir = settings.ROLE_SOURCES["instructor"]
    instructor = PyFileConfigLoader("nbgrader_config.py", path=str(instructor_dir)).load_config()
    assert instructor.CourseDirectory.root == str(ROOT) and instructor.Exchange.root == str(tmp_path / "exchange")
    assert instructor.CourseDirectory.course_id == settings.COURSE_ID
