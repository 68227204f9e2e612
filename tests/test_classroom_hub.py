"""A class on a real JupyterHub, from release to feedback, through nbgrader's exchange.

The hub is the course's own (classroom/jupyterhub_config.py, built the way `make classroom`
builds it: classroom/trial.py), started by this test as root on 127.0.0.1 with its proxy, with
four Unix accounts the test creates and removes: an instructor and three students.

- the instructor releases 01 (`nbgrader release_assignment`, run as the instructor in their
  course folder, as the README's walk-through says);
- ann and ben log in in Chromium, open the Assignments tab and fetch 01; ann submits the blank
  notebook, then solves it and submits again (a resubmission: the latest is graded); ben submits
  the blank notebook;
- the instructor sets a due date; cal then fetches, renames the notebook and submits it (late,
  misnamed) with nbgrader's commands;
- the instructor collects, runs `make grade` and releases the feedback; ann fetches hers in the
  Assignments tab, ben and cal with `nbgrader fetch_feedback`: each page shows its student's own
  score and no hidden test;
- throughout, what a student can reach of the exchange and of the instructor's files, as that
  student: no one else's submission or feedback, no solution, no hidden test.

Skipped with the reason where it cannot run (not root; no Chromium; no Node.js for the proxy);
with REQUIRE_SERVICES=1 or REQUIRE_BROWSER=1 (CI) it fails instead.
"""

import csv
import datetime
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from browser_tools import ARTIFACTS, CHROMIUM_ARGS, browser_unavailable_reason, chromium_executable
from cluster_tools import free_port, skip_or_fail
from course_tools import MEASUREMENTS, ROOT, secret_lines, solution_answers, with_answers

sys.path.insert(0, str(ROOT))
from classroom import settings, trial  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ASSIGNMENT = "01_relu_math"
INSTRUCTOR = "hubtest-teach"
ANN, BEN, CAL = "hubtest-ann", "hubtest-ben", "hubtest-cal"
STUDENTS = (ANN, BEN, CAL)
PASSWORD = secrets.token_urlsafe(12)
API_TOKEN = secrets.token_hex(16)
# The classroom's environment (make classroom-env): every account must reach it, so where this
# checkout lies in a folder closed to others (root's home), it is built in /var/tmp instead.
CLASSROOM_ENV = (
    ROOT / "build" / "classroom" / "env"
    if trial.unreadable_by_others(ROOT) is None
    else Path("/var/tmp/deadrelu-classroom-env")
)
MISNAMED = "relu_math_mine"
SLOW_PAGE = 180_000  # ms: the first JupyterLab start of a user on a busy 2-core machine

# The instructor's commands of the README's walk-through ("A classroom on JupyterHub"), run here
# verbatim in the course folder; test_walk_through_commands_are_the_tested_ones keeps them in step.
RELEASE = f"nbgrader release_assignment {ASSIGNMENT}"
COLLECT = f"nbgrader collect {ASSIGNMENT}"
GRADE = "make grade"
RELEASE_FEEDBACK = f"nbgrader release_feedback {ASSIGNMENT}"
WALK_THROUGH = (RELEASE, COLLECT, GRADE, RELEASE_FEEDBACK)


# --- the classroom ------------------------------------------------------------------------------
class Classroom:
    def __init__(self, folder):
        self.folder = folder
        self.home = folder / "home"
        self.exchange = folder / "exchange"
        self.state = folder / "hub"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.log_path = folder / "jupyterhub.log"

    @property
    def course(self):
        return Path(settings.course_dir(INSTRUCTOR))

    def api(self, path, method="GET"):
        request = urllib.request.Request(
            f"{self.base}/hub/api{path}", method=method, headers={"Authorization": f"token {API_TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def log_tail(self, characters=6000):
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return "(no log)"


def as_user(name, command, cwd=None, check=True, timeout=600):
    """Run a shell command as `name`, with the environment the hub gives that user's server."""
    account = pwd.getpwnam(name)
    environment = {
        "HOME": account.pw_dir,
        "USER": name,
        "LOGNAME": name,
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        **settings.user_environment(name),
    }
    completed = subprocess.run(
        ["runuser", "-u", name, "--", "env", "-i", *(f"{key}={value}" for key, value in environment.items())]
        + ["bash", "-c", command],
        cwd=cwd or account.pw_dir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"`{command}` as {name} exited {completed.returncode}:\n"
            f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
    return completed


def unavailable_reason():
    if os.geteuid() != 0:
        return "the classroom runs each user's JupyterLab as their own Unix account: the hub test must run as root"
    for command in ("useradd", "userdel", "runuser", "make"):
        if shutil.which(command) is None:
            return f"{command} is not installed"
    if shutil.which("npm") is None and not (CLASSROOM_ENV / "bin" / "configurable-http-proxy").exists():
        return "npm is missing, so JupyterHub's proxy cannot be installed (Debian: apt-get install nodejs npm)"
    if not Path(os.environ.get("CLASSROOM_PYTHON", "/usr/bin/python3.11")).exists():
        return "no Python 3.11 every account can run (set CLASSROOM_PYTHON)"
    return None


@pytest.fixture(scope="module")
def classroom():
    reason = unavailable_reason()
    if reason:
        skip_or_fail(f"classroom hub: {reason}")
    browser_reason = browser_unavailable_reason()
    if browser_reason:
        skip_or_fail(f"classroom hub: {browser_reason}")
    built = subprocess.run(
        ["make", "classroom-env", f"CLASSROOM_ENV={CLASSROOM_ENV}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if built.returncode != 0:
        pytest.fail(f"make classroom-env failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}", pytrace=False)

    folder = Path(tempfile.mkdtemp(prefix="deadrelu-classroom-"))
    folder.chmod(0o755)  # the accounts' homes and the exchange are inside
    room = Classroom(folder)
    settings_of_this_class = {
        "CLASSROOM_INSTRUCTORS": INSTRUCTOR,
        "CLASSROOM_STUDENTS": ",".join(STUDENTS),
        "CLASSROOM_EXCHANGE": str(room.exchange),
        "CLASSROOM_COURSE_DIR": "~/dead-relu-course",
        "COURSE_ENV": str(CLASSROOM_ENV),
    }
    saved = {key: os.environ.get(key) for key in settings_of_this_class}
    os.environ.update(settings_of_this_class)
    log = None
    try:
        room.home.mkdir(mode=0o755)
        room.state.mkdir(mode=0o700)
        for name in (INSTRUCTOR, *STUDENTS):
            trial.remove_account(name)  # left over from an interrupted run
            trial.ensure_account(name, room.home)
        trial.check_environment_shared()
        trial.copy_course(room.course, INSTRUCTOR)
        trial.prepare_exchange(room.exchange)
        environment = trial.hub_environment(
            instructors=[INSTRUCTOR],
            students=STUDENTS,
            exchange=room.exchange,
            state=room.state,
            port=room.port,
            password=PASSWORD,
            extra={
                "CLASSROOM_HUB_PORT": str(free_port()),
                "CLASSROOM_PROXY_API_PORT": str(free_port()),
                "CLASSROOM_API_TOKEN": API_TOKEN,
            },
        )
        log = open(room.log_path, "wb")
        started = time.monotonic()
        room.process = subprocess.Popen(
            trial.hub_command(),
            cwd=room.state,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while True:
            try:
                room.api("/")
                break
            except OSError:
                if room.process.poll() is not None or time.monotonic() - started > 120:
                    pytest.fail(f"JupyterHub did not start:\n{room.log_tail()}", pytrace=False)
                time.sleep(0.2)
        room.started_in = time.monotonic() - started
        yield room
    finally:
        if room.process and room.process.poll() is None:
            os.killpg(room.process.pid, signal.SIGTERM)  # the hub stops every user's server, then itself
            try:
                room.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(room.process.pid, signal.SIGKILL)
                room.process.wait(timeout=30)
        if log:
            log.close()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(room.log_path, ARTIFACTS / "classroom-jupyterhub.log")
        for name in (INSTRUCTOR, *STUDENTS):
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
            trial.remove_account(name)
        shutil.rmtree(folder, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --- the students' browser ------------------------------------------------------------------------
def log_in(browser, room, name):
    """(page, the Nbgrader menu's items): logged in at the hub, JupyterLab started, the menu open."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{room.base}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{re.escape(name)}/lab"), timeout=SLOW_PAGE)
    page.locator("#jp-main-dock-panel").wait_for(timeout=SLOW_PAGE)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click(timeout=SLOW_PAGE)
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").wait_for()
    return page, set(page.locator(".lm-Menu-itemLabel").all_inner_texts())


def open_assignments_tab(browser, room, name):
    """A student's page with the Assignments tab open; students' menu has no instructor tools."""
    page, menu = log_in(browser, room, name)
    assert "Formgrader" not in menu and "Create assignment" not in menu, f"{name}'s Nbgrader menu: {sorted(menu)}"
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
    page.locator("#released_assignments_list").wait_for()
    return page


def assignment_row(page, listing):
    return page.locator(f"#{listing} .list_item", has_text=ASSIGNMENT).first


def fetch_in_tab(page):
    assignment_row(page, "released_assignments_list").get_by_role("button", name="Fetch").click()
    assignment_row(page, "fetched_assignments_list").get_by_role("button", name="Submit").wait_for()


def submit_in_tab(page):
    """Click Submit and wait until the submitted list has one more entry."""
    submitted = page.locator("#submitted_assignments_list .list_item")
    before = submitted.count()
    assignment_row(page, "fetched_assignments_list").get_by_role("button", name="Submit").click()
    page.wait_for_function(
        "n => document.querySelectorAll('#submitted_assignments_list .list_item').length > n", arg=before
    )


def screenshot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"classroom-{name}.png"))
    except Exception:  # noqa: BLE001 - a screenshot is only a help for a failure already reported
        pass


# --- what a student can reach -----------------------------------------------------------------------
PROBE = r"""
import json, os, sys
exchange, course = sys.argv[1], sys.argv[2]
report = {"listable": {}, "readable_files": {}, "instructor": {}}
for folder in ("", "dead_relu", "dead_relu/inbound", "dead_relu/outbound", "dead_relu/feedback"):
    try:
        report["listable"][folder] = sorted(os.listdir(os.path.join(exchange, folder)))
    except OSError as error:
        report["listable"][folder] = type(error).__name__
for folder, _, files in os.walk(exchange):
    for name in files:
        path = os.path.join(folder, name)
        try:
            with open(path, errors="replace") as handle:
                report["readable_files"][os.path.relpath(path, exchange)] = handle.read()
        except OSError:
            pass
for relative in ("solutions/01_relu_math/01_relu_math.ipynb", "autograder/gradebook.db", "autograder/submitted"):
    try:
        path = os.path.join(course, relative)
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").close()
        report["instructor"][relative] = "readable"
    except OSError as error:
        report["instructor"][relative] = type(error).__name__
print(json.dumps(report))
"""


def what_student_reaches(room, name):
    completed = as_user(name, f"python - {room.exchange} {room.course} <<'EOF'\n{PROBE}\nEOF")
    return json.loads(completed.stdout)


def assert_nothing_leaks(room, name, others, hidden, solutions):
    reached = what_student_reaches(room, name)
    assert reached["listable"]["dead_relu/inbound"] == "PermissionError", (
        f"{name} can list the submissions in the exchange: {reached['listable']['dead_relu/inbound']}"
    )
    # (the feedback folder exists once the instructor releases feedback)
    assert reached["listable"]["dead_relu/feedback"] in ("PermissionError", "FileNotFoundError"), (
        f"{name} can list the feedback in the exchange: {reached['listable']['dead_relu/feedback']}"
    )
    for relative, outcome in reached["instructor"].items():
        assert outcome == "PermissionError", f"{name} can open the instructor's {relative}"
    for path, text in reached["readable_files"].items():
        for other in others:
            assert other not in path, f"{name} can read {other}'s file {path} in the exchange"
        shown = sorted(line for line in hidden | solutions if line in text)
        assert not shown, f"{name} can read {path} in the exchange, which holds hidden tests or solutions: {shown[:3]}"
    return reached


# --- the test -------------------------------------------------------------------------------------
def test_a_class_on_the_hub_from_release_to_graded_feedback(classroom):
    from playwright.sync_api import sync_playwright

    room = classroom
    started = time.monotonic()
    source = room.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    hidden = set(secret_lines(nbformat.read(source, as_version=4), kinds=("hidden tests",)))
    solutions = set(secret_lines(nbformat.read(source, as_version=4), kinds=("solution",)))
    assert hidden and solutions
    release = room.course / "course" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    solved = with_answers(release, solution_answers(ASSIGNMENT))

    # The instructor releases 01 into the exchange.
    as_user(INSTRUCTOR, RELEASE, cwd=room.course)

    page = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable(), headless=True, args=CHROMIUM_ARGS)
        try:
            # The instructor's JupyterLab has the Formgrader, working on their course folder.
            page[INSTRUCTOR], menu = log_in(browser, room, INSTRUCTOR)
            assert {"Formgrader", "Assignment List"} <= menu, f"the instructor's Nbgrader menu: {sorted(menu)}"
            response = page[INSTRUCTOR].request.get(f"{room.base}/user/{INSTRUCTOR}/formgrader/api/assignments")
            assert response.ok, f"the Formgrader's API answered {response.status}: {response.text()[:500]}"
            assignments = response.json()
            assert ASSIGNMENT in [entry["name"] for entry in assignments], f"the Formgrader lists {assignments}"
            page[INSTRUCTOR].context.close()
            del page[INSTRUCTOR]

            for name in (ANN, BEN):
                page[name] = open_assignments_tab(browser, room, name)
                fetch_in_tab(page[name])
                fetched = Path(pwd.getpwnam(name).pw_dir) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
                assert fetched.exists(), f"the Assignments tab's Fetch left nothing in {fetched}"
                assert fetched.read_bytes() == release.read_bytes(), "the fetched notebook is not the released one"
            # ann hands in the blank notebook, then solves it and hands it in again; ben hands in the blank one.
            submit_in_tab(page[ANN])
            notebook = Path(pwd.getpwnam(ANN).pw_dir) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            nbformat.write(solved, notebook)
            os.chown(notebook, pwd.getpwnam(ANN).pw_uid, pwd.getpwnam(ANN).pw_gid)
            submit_in_tab(page[ANN])
            submit_in_tab(page[BEN])
            users = {user["name"]: user for user in room.api("/users")}
            assert users[ANN]["servers"][""]["ready"] and users[BEN]["servers"][""]["ready"]

            # After them, a due date; cal submits late, and under another name, with nbgrader's commands.
            # (whole seconds, rounded up: a due date rounded down could fall after ben's submission)
            now = datetime.datetime.now(datetime.timezone.utc)
            due = (now + datetime.timedelta(seconds=1)).replace(microsecond=0)
            as_user(
                INSTRUCTOR,
                f"nbgrader db assignment add {ASSIGNMENT} --duedate='{due:%Y-%m-%d %H:%M:%S} UTC'",
                cwd=room.course,
            )
            time.sleep(max(0.0, (due - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 0.5)
            as_user(CAL, f"nbgrader fetch_assignment {ASSIGNMENT}")
            cal_folder = Path(pwd.getpwnam(CAL).pw_dir) / ASSIGNMENT
            (cal_folder / f"{ASSIGNMENT}.ipynb").unlink()
            nbformat.write(solved, cal_folder / f"{MISNAMED}.ipynb")
            os.chown(cal_folder / f"{MISNAMED}.ipynb", pwd.getpwnam(CAL).pw_uid, pwd.getpwnam(CAL).pw_gid)
            submitted = as_user(CAL, f"nbgrader submit {ASSIGNMENT}")
            assert "missing" in (submitted.stdout + submitted.stderr).lower(), (
                "nbgrader's submit did not warn cal of the missing notebook"
            )
            for name in STUDENTS:
                assert_nothing_leaks(room, name, [other for other in STUDENTS if other != name], hidden, solutions)

            # The instructor collects, grades and hands back.
            collected = as_user(INSTRUCTOR, COLLECT, cwd=room.course)
            graded = as_user(INSTRUCTOR, GRADE, cwd=room.course, check=False)
            assert graded.returncode == 0, f"make grade failed:\n{graded.stdout[-4000:]}\n{graded.stderr[-3000:]}"
            as_user(INSTRUCTOR, RELEASE_FEEDBACK, cwd=room.course)

            # ann fetches her feedback in the Assignments tab; ben and cal with the command.
            page[ANN].locator("#refresh_assignments_list").click()
            page[ANN].get_by_text("feedback available to fetch").wait_for()
            assignment_row(page[ANN], "submitted_assignments_list").get_by_role("button", name="Fetch Feedback").click()
            page[ANN].locator("#submitted_assignments_list").get_by_text("view feedback").wait_for()
        except Exception:
            for name, student_page in page.items():
                screenshot(student_page, name)
            raise
        finally:
            browser.close()
    for name in (BEN, CAL):
        as_user(name, f"nbgrader fetch_feedback {ASSIGNMENT}")

    # --- what the class got -----------------------------------------------------------------
    with open(room.course / "autograder" / "grades.csv", newline="") as handle:
        grades = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(grades) == set(STUDENTS), f"graded {sorted(grades)}, collected:\n{collected.stdout}{collected.stderr}"
    full = float(grades[ANN]["max_score"])
    assert float(grades[ANN]["score"]) == full, "ann's resubmission (solved) was not the one graded"
    assert float(grades[BEN]["score"]) == 0, "ben's blank notebook scored points"
    assert float(grades[CAL]["score"]) == full, "cal's misnamed notebook was not graded"
    assert f"{MISNAMED}.ipynb" in graded.stdout, "the grading summary does not report cal's misnamed notebook"

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{room.course / 'autograder' / 'gradebook.db'}") as gradebook:
        late = {name: gradebook.find_submission(ASSIGNMENT, name).total_seconds_late for name in STUDENTS}
    assert late[CAL] > 0 and late[ANN] == 0 and late[BEN] == 0, f"seconds late by nbgrader's timestamps: {late}"

    for name in STUDENTS:
        pages = sorted((Path(pwd.getpwnam(name).pw_dir) / ASSIGNMENT / "feedback").glob("*/*.html"))
        assert pages, f"{name} has no feedback after fetching it"
        text = pages[-1].read_text()
        score = float(grades[name]["score"])
        assert f"Score: {score:g} / {full:g}" in text, f"{name}'s feedback does not show their score {score:g}"
        shown = sorted(line for line in hidden if line in text)
        assert not shown, f"{name}'s feedback shows hidden-test lines: {shown[:3]}"
    for name in STUDENTS:
        assert_nothing_leaks(room, name, [other for other in STUDENTS if other != name], hidden, solutions)

    MEASUREMENTS["classroom hub: JupyterHub started"] = f"{room.started_in:.1f} s"
    MEASUREMENTS["classroom hub: release to feedback, 3 students"] = f"{time.monotonic() - started:.1f} s"


def test_walk_through_commands_are_the_tested_ones():
    """Every instructor command the hub test runs appears in the README's walk-through, as typed there."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("### A classroom on JupyterHub")
    section = readme[start : readme.index("\n### ", start + 1)]
    missing = [command for command in WALK_THROUGH if command not in section]
    assert not missing, f"the README's classroom walk-through lacks {missing}"
