"""The class grader (`make grade`, autograder/grade.py) against hostile submissions.

One grading run over a class of 01_relu_math submissions: two well-behaved students (full
marks, untouched stub) and one student per kind of hostile submission. Every test checks
that the run completed, that this student's score and per-test statuses are what they
should be, and (through the shared fixture) that the well-behaved students got exactly the
result they get when graded alone, and that the gradebook agrees with grades.csv.

Run in the bubblewrap sandbox (required: the tests fail, not skip, without it, as CI must
never silently grade unsandboxed). Network probes only ever target a loopback port that the
test itself listens on.
"""

import csv
import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import grade as grading
from autograder.sandbox import REPO, sandbox_problem
from course_tools import MEASUREMENTS, solution_answers

# The tests that grade (start kernels) are marked slow one by one; the command-line tests
# that stop before any kernel starts run in the fast tier.
SLOW = pytest.mark.slow

ASSIGNMENT = "01_relu_math"
NOTEBOOK = "01_relu_math"
SOLUTION = REPO / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
STUDENT_VERSION = REPO / "course" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
# the graded test cells of 01 in notebook order, and their points (read from the source, so
# that a new exercise in 01 does not need this file edited)
_GRADED = [
    cell.metadata["nbgrader"]
    for cell in nbformat.read(SOLUTION, as_version=4).cells
    if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")
]
TESTS = [meta["grade_id"] for meta in _GRADED]
POINTS = sum(meta["points"] for meta in _GRADED)
assert TESTS[:4] == ["test_relu", "test_relu_grad", "test_leaky_relu", "test_elu"], TESTS
CELL_TIMEOUT = 8


def solved(**changes):
    """The student version with every answer filled in, then `changes` (grade_id -> code) applied."""
    notebook = nbformat.read(STUDENT_VERSION, as_version=4)
    answers = {**solution_answers(ASSIGNMENT), **changes}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def cell_index(notebook, grade_id):
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


WRONG_RELU = "def relu(x):\n    return x.clone()  # wrong: no clipping\n"
WRONG_LEAKY = "def leaky_relu(x, slope=0.01):\n    return x.clone()\n"
WRONG_ELU = "def elu(x, alpha=1.0):\n    return x.clone()\n"
ELU = solution_answers(ASSIGNMENT)["elu"]
LEAKY = solution_answers(ASSIGNMENT)["leaky_relu"]
RELU = solution_answers(ASSIGNMENT)["relu"]


class LoopbackListener:
    """A TCP server on 127.0.0.1 that records whether anyone connected."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(5)
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self.stopped.set()
        self.thread.join()
        self.server.close()


def hostile_class(folder, listener, outside):
    """Write the class's submissions; returns {student: notebook file or None}."""
    other_students_file = folder / "good" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    targets = {
        "solutions": REPO / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb",
        "gradebook": REPO / "autograder" / "gradebook.db",
        "other student": other_students_file,
        "instructor home": Path(os.path.expanduser("~")) / ".bashrc",
        "repository": REPO / "README.md",
    }
    read_code = (
        "import glob\n"
        f"for _name, _path in {json.dumps({k: str(v) for k, v in targets.items()})}.items():\n"
        "    try:\n"
        "        open(_path, 'rb').read(1)\n"
        "        print('READ', _name)\n"
        "    except OSError as _error:\n"
        "        print('BLOCKED', _name, type(_error).__name__)\n"
        "print('GRADER DIRS', sorted(glob.glob('/tmp/deadrelu-grade-*/*')))\n"
        "try:\n"
        f"    exec(open({str(targets['solutions'])!r}).read())  # would hand over the solutions\n"
        "except OSError:\n"
        "    pass\n" + WRONG_RELU
    )
    write_targets = [
        outside / "written-by-student.txt",
        REPO / "autograder" / "written-by-student.txt",
        Path(os.path.expanduser("~")) / "written-by-student.txt",
        folder / "good" / "written-by-student.txt",
    ]
    write_code = (
        f"for _path in {json.dumps([str(p) for p in write_targets])}:\n"
        "    try:\n"
        "        open(_path, 'w').write('pwned')\n"
        "        print('WROTE', _path)\n"
        "    except OSError as _error:\n"
        "        print('BLOCKED', _path, type(_error).__name__)\n" + RELU
    )
    network_code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {listener.port}), timeout=3).close()\n"
        "    print('CONNECTED')\n"
        "except OSError as _error:\n"
        "    print('BLOCKED', type(_error).__name__)\n" + RELU
    )
    class_ = {
        "good": solved(),
        "stub": nbformat.read(STUDENT_VERSION, as_version=4),
        # 1. a loop that never ends inside a function a test calls: interrupted, the rest runs on
        "endless_loop": solved(leaky_relu="def leaky_relu(x, slope=0.01):\n    while True:\n        pass\n"),
        # 2. a loop that swallows the interrupt: the kernel is stopped, later tests lose their points
        "ignores_interrupt": solved(
            elu=ELU
            + "\nimport time\nwhile True:\n    try:\n        time.sleep(1)\n"
            + "    except KeyboardInterrupt:\n        pass\n"
        ),
        # 3. memory hog: stopped by the address-space limit (MemoryError), not by the machine
        "memory_hog": solved(relu_grad="_hog = []\nwhile True:\n    _hog.append(bytearray(256 * 2**20))\n"),
        # 4. kernel crash
        "kernel_crash": solved(leaky_relu="import os\nos._exit(1)\n"),
        # 5. signals its parent (the grading run, without a sandbox)
        "kills_parent": solved(
            elu="import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('still running')\n"
        ),
        # 6. huge output
        "huge_output": solved(
            relu=RELU + "\nprint('x' * 30_000_000)\nfor _ in range(20000):\n    print('spam ' * 20)\n"
        ),
        # 14. monkeypatching the public check to pass a wrong answer
        "patches_check": solved(
            relu=WRONG_RELU
            + "import deadrelu.checks.relu_math as _m\n_m.check_relu = lambda *a, **k: None\n"
            + "check_relu = lambda *a, **k: None\n"
        ),
        # 15. monkeypatching the assert helpers
        "patches_asserts": solved(
            leaky_relu=WRONG_LEAKY
            + "import torch\ntorch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
            + "torch.testing.assert_close = lambda *a, **k: None\n"
        ),
        # 16. rewriting the test cells as they run
        "rewrites_tests": solved(
            elu=WRONG_ELU + "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n"
        ),
        # 17. replacing the grader's own probe
        "fakes_probe": solved(
            elu=WRONG_ELU
            + "import sys, types\n_fake = types.ModuleType('_grader_probe')\n_fake.probe = lambda nonce: ('', 'x')\n"
            + "sys.modules['_grader_probe'] = _fake\ncheck_elu = lambda *a, **k: None\n"
        ),
        # 18. reading hidden tests, solutions, the gradebook, other students' work
        "reads_secrets": solved(relu=read_code),
        # 19. writing outside its folder
        "writes_outside": solved(relu=write_code),
        # 20. network
        "opens_network": solved(relu=network_code),
        # 21. printing the hidden tests that already ran (IPython keeps every cell in `In`)
        "prints_history": solved(elu=ELU + "\nprint('\\n'.join(In))\n"),
        # 22. warnings and stderr must not cost points
        "warns_on_stderr": solved(
            relu=(
                "import sys, warnings\n\n"
                "def relu(x):\n"
                "    warnings.warn('relu: a UserWarning on stderr')\n"
                "    sys.stderr.write('noise on stderr\\n')\n"
                "    return torch.clamp(x, min=0)\n"
            )
        ),
    }
    # 7. a deleted test cell
    notebook = solved(relu_grad="def relu_grad(x):\n    return (x >= 0).to(x.dtype)  # wrong at 0\n")
    del notebook.cells[cell_index(notebook, "test_relu_grad")]
    class_["deletes_test"] = notebook
    # 8. an edited test cell
    notebook = solved(relu=WRONG_RELU)
    notebook.cells[cell_index(notebook, "test_relu")].source = "pass"
    class_["edits_test"] = notebook
    # 9. duplicated cells: the answer typed into a pasted copy of a test cell, the real answer cell deleted
    notebook = solved()
    answer_at = cell_index(notebook, "leaky_relu")
    copy_of_test = nbformat.from_dict(json.loads(json.dumps(notebook.cells[cell_index(notebook, "test_relu")])))
    copy_of_test.source = LEAKY
    notebook.cells[answer_at] = copy_of_test
    notebook.cells.insert(0, nbformat.from_dict(json.loads(json.dumps(notebook.cells[cell_index(notebook, "elu")]))))
    class_["duplicates_cells"] = notebook
    # 10. a changed cell type: the test turned into Markdown so that it would not run
    notebook = solved(elu=WRONG_ELU)
    notebook.cells[cell_index(notebook, "test_elu")].cell_type = "markdown"
    notebook.cells[cell_index(notebook, "test_elu")].pop("outputs", None)
    notebook.cells[cell_index(notebook, "test_elu")].pop("execution_count", None)
    class_["changes_cell_type"] = notebook

    files = {}
    for student, notebook in class_.items():
        path = folder / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, path)
        files[student] = path
    # 11. corrupt JSON
    path = folder / "corrupt_json" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(nbformat.writes(solved())[:5000])
    # 12. missing notebook
    (folder / "missing_notebook" / ASSIGNMENT).mkdir(parents=True)
    (folder / "missing_notebook" / ASSIGNMENT / "notes.txt").write_text("forgot the notebook")
    # 13. misnamed notebook
    path = folder / "misnamed" / ASSIGNMENT / f"{NOTEBOOK} (1).ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(solved(), path)
    return write_targets


def run_grader(submissions, out, gradebook, jobs=2):
    args = grading.build_parser().parse_args(
        [
            str(submissions),
            "--out",
            str(out),
            "--gradebook",
            str(gradebook),
            "--jobs",
            str(jobs),
            "--require-sandbox",
            "--cell-timeout",
            str(CELL_TIMEOUT),
            "--interrupt-grace",
            "5",
            "--memory",
            "3GiB",
            "--output-limit",
            "200kB",
            "--quiet",
        ]
    )
    status, _ = grading.grade(args)
    with open(out / "test_results.csv") as handle:
        rows = list(csv.DictReader(handle))
    with open(out / "grades.csv") as handle:
        grades = {row["student"]: row for row in csv.DictReader(handle)}
    return status, rows, grades


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    if sandbox_problem():
        pytest.fail(f"the grading sandbox is required for these tests: {sandbox_problem()}")
    root = tmp_path_factory.mktemp("class")
    outside = tmp_path_factory.mktemp("outside")
    listener = LoopbackListener()
    try:
        submissions = root / "submitted"
        write_targets = hostile_class(submissions, listener, outside)
        # The well-behaved students graded on their own, for comparison.
        alone = root / "alone"
        for student in ("good", "stub"):
            (alone / student).mkdir(parents=True)
            os.symlink(submissions / student / ASSIGNMENT, alone / student / ASSIGNMENT)
        import time

        started = time.monotonic()
        _, alone_rows, alone_grades = run_grader(alone, root / "out-alone", root / "alone.db")
        started = time.monotonic()
        status, rows, grades = run_grader(submissions, root / "out", root / "gradebook.db")
        MEASUREMENTS["hostile class graded (24 notebooks, 2 jobs)"] = f"{time.monotonic() - started:.0f} s"
    finally:
        listener.close()
    return {
        "status": status,
        "rows": rows,
        "grades": grades,
        "alone_rows": alone_rows,
        "alone_grades": alone_grades,
        "out": root / "out",
        "gradebook": root / "gradebook.db",
        "listener": listener,
        "write_targets": write_targets,
        "submissions": submissions,
    }


def statuses(graded, student):
    return [row["status"] for row in graded["rows"] if row["student"] == student]


def score(graded, student):
    return float(graded["grades"][student]["score"])


def messages(graded, student):
    return {row["test_id"]: row["message"] for row in graded["rows"] if row["student"] == student}


def autograded(graded, student):
    return nbformat.read(graded["out"] / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)


def cell_text(notebook, grade_id):
    cell = notebook.cells[cell_index(notebook, grade_id)]
    return "".join(o.get("text", "") + o.get("ename", "") + o.get("evalue", "") for o in cell.outputs)


# --- the run as a whole ------------------------------------------------------------------------------
@SLOW
def test_the_run_completes_and_grades_every_student(graded_class):
    assert graded_class["status"] == 0
    students = {row["student"] for row in graded_class["rows"]}
    assert len(students) == 24
    for student in students:
        assert [row["test_id"] for row in graded_class["rows"] if row["student"] == student] == TESTS


@SLOW
def test_well_behaved_students_get_what_they_get_alone(graded_class):
    for student in ("good", "stub"):
        alone = [
            {k: r[k] for k in ("test_id", "points", "status", "message")}
            for r in graded_class["alone_rows"]
            if r["student"] == student
        ]
        together = [
            {k: r[k] for k in ("test_id", "points", "status", "message")}
            for r in graded_class["rows"]
            if r["student"] == student
        ]
        assert alone == together
    assert statuses(graded_class, "good") == ["passed"] * len(TESTS) and score(graded_class, "good") == POINTS
    assert statuses(graded_class, "stub") == ["failed"] * len(TESTS) and score(graded_class, "stub") == 0
    assert "not implemented" in messages(graded_class, "stub")["test_relu"]


@SLOW
def test_feedback_names_each_test_with_points_and_message(graded_class):
    page = (graded_class["out"] / "feedback" / "stub" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert f"Score: 0 / {POINTS}" in page
    for test in TESTS:
        assert f"<code>{test}</code>" in page
    assert page.count("0 / 2") >= 4
    assert "is not implemented yet" in page and "Hint:" in page
    assert "What the grader changed" not in page  # an untouched notebook needs no repairs
    page = (graded_class["out"] / "feedback" / "good" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert f"Score: {POINTS} / {POINTS}" in page and page.count("2 / 2") >= len(TESTS)
    assert "What the grader changed" not in page
    assert "(hidden tests ran here; their source is not shown)" in page


@SLOW
def test_gradebook_agrees_with_grades_csv(graded_class):
    with Gradebook("sqlite:///" + str(graded_class["gradebook"])) as gradebook:
        for student, row in graded_class["grades"].items():
            submission = gradebook.find_submission(ASSIGNMENT, student)
            assert submission.score == pytest.approx(float(row["score"])), student
            assert submission.max_score == pytest.approx(float(row["max_score"])), student
            for test in [r for r in graded_class["rows"] if r["student"] == student]:
                grade = gradebook.find_grade(test["test_id"], NOTEBOOK, ASSIGNMENT, student)
                assert grade.auto_score == pytest.approx(float(test["points"]))
        assert len(gradebook.students) == 24


@SLOW
def test_feedback_never_shows_hidden_tests(graded_class):
    from autograder.report import hidden_lines

    secrets = hidden_lines(nbformat.read(SOLUTION, as_version=4))
    assert len(secrets) > 10
    pages = list((graded_class["out"] / "feedback").rglob("*.html"))
    # one page per student, and a copy under the misnamed notebook's own name (for nbgrader's exchange)
    assert len([page for page in pages if page.name == f"{NOTEBOOK}.html"]) == 24 and len(pages) == 25
    for page in pages:
        text = page.read_text()
        assert not [line for line in secrets if line in text], page
    text = (graded_class["out"] / "test_results.csv").read_text()
    assert not [line for line in secrets if line in text]


@SLOW
def test_hidden_tests_printed_by_student_code_are_redacted(graded_class):
    from autograder.report import hidden_lines

    secrets = hidden_lines(nbformat.read(SOLUTION, as_version=4))
    printed = cell_text(autograded(graded_class, "prints_history"), "elu")
    assert [line for line in secrets if line in printed], (
        "the student's code did print hidden tests (instructor's copy)"
    )
    page = (graded_class["out"] / "feedback" / "prints_history" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "[hidden test line removed]" in page
    assert statuses(graded_class, "prints_history") == ["passed"] * len(TESTS)


# --- one test per kind of hostile submission -----------------------------------------------------------
@SLOW
def test_endless_loop_costs_only_the_test_that_ran_it(graded_class):
    assert statuses(graded_class, "endless_loop") == ["passed", "passed", "timeout", "passed"] + ["passed"] * (
        len(TESTS) - 4
    )
    assert score(graded_class, "endless_loop") == POINTS - 2  # only test_leaky_relu lost
    assert f"{CELL_TIMEOUT:g} s" in messages(graded_class, "endless_loop")["test_leaky_relu"]


@SLOW
def test_loop_that_ignores_interrupts_keeps_earlier_points(graded_class):
    assert statuses(graded_class, "ignores_interrupt") == ["passed", "passed", "passed", "timeout"] + ["timeout"] * (
        len(TESTS) - 4
    )
    assert score(graded_class, "ignores_interrupt") == 6
    assert "ignored the interrupt" in messages(graded_class, "ignores_interrupt")["test_elu"]


@SLOW
def test_memory_hog_hits_the_limit_not_the_machine(graded_class):
    assert statuses(graded_class, "memory_hog") == ["passed", "error", "passed", "passed"] + ["passed"] * (
        len(TESTS) - 4
    )
    assert "NameError" in messages(graded_class, "memory_hog")["test_relu_grad"]
    assert "MemoryError" in cell_text(autograded(graded_class, "memory_hog"), "relu_grad")


@SLOW
def test_kernel_crash_costs_the_tests_from_there_on(graded_class):
    assert statuses(graded_class, "kernel_crash") == ["passed", "passed", "kernel_died", "kernel_died"] + [
        "kernel_died"
    ] * (len(TESTS) - 4)
    assert score(graded_class, "kernel_crash") == 4
    assert "died" in messages(graded_class, "kernel_crash")["test_elu"]


@SLOW
def test_killing_its_parent_harms_nothing(graded_class):
    # In the sandbox the kernel's parent is bubblewrap's init, which its namespace cannot kill:
    # the kernel lives on, the run goes on, and the answer (which only sent the signal) fails.
    assert "still running" in cell_text(autograded(graded_class, "kills_parent"), "elu")
    assert statuses(graded_class, "kills_parent") == ["passed", "passed", "passed", "error"] + ["passed"] * (
        len(TESTS) - 4
    )
    assert "NameError" in messages(graded_class, "kills_parent")["test_elu"]


@SLOW
def test_huge_output_is_cut_and_costs_nothing(graded_class):
    assert statuses(graded_class, "huge_output") == ["passed"] * len(TESTS)
    notebook = autograded(graded_class, "huge_output")
    kept = len(json.dumps(notebook.cells[cell_index(notebook, "relu")].outputs))
    assert kept < 400_000
    assert "output cut" in cell_text(notebook, "relu")
    page = graded_class["out"] / "feedback" / "huge_output" / ASSIGNMENT / f"{NOTEBOOK}.html"
    assert page.stat().st_size < 1_000_000


@SLOW
def test_deleted_test_cell_is_put_back(graded_class):
    assert statuses(graded_class, "deletes_test") == ["passed", "failed", "passed", "passed"] + ["passed"] * (
        len(TESTS) - 4
    )
    assert "`x >= 0` includes 0" in messages(graded_class, "deletes_test")["test_relu_grad"]  # the restored test's hint
    page = (graded_class["out"] / "feedback" / "deletes_test" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "was deleted; put back" in page


@SLOW
def test_edited_test_cell_is_restored(graded_class):
    assert statuses(graded_class, "edits_test") == ["failed", "passed", "passed", "passed"] + ["passed"] * (
        len(TESTS) - 4
    )
    assert score(graded_class, "edits_test") == POINTS - 2  # only test_relu lost
    page = (graded_class["out"] / "feedback" / "edits_test" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "test cell &#x27;test_relu&#x27;: edited; the instructor&#x27;s test ran instead" in page
    assert "test_relu_grad&#x27;: edited" not in page


@SLOW
def test_answer_typed_into_a_copied_test_cell_still_counts(graded_class):
    assert statuses(graded_class, "duplicates_cells") == ["passed"] * len(TESTS)
    assert score(graded_class, "duplicates_cells") == POINTS


@SLOW
def test_test_cell_turned_into_markdown_still_runs(graded_class):
    assert statuses(graded_class, "changes_cell_type") == ["passed", "passed", "passed", "failed"] + ["passed"] * (
        len(TESTS) - 4
    )
    page = (graded_class["out"] / "feedback" / "changes_cell_type" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "type was changed to markdown" in page


@SLOW
def test_corrupt_notebook_is_reported_missing(graded_class):
    assert statuses(graded_class, "corrupt_json") == ["missing"] * len(TESTS)
    assert "not a valid notebook" in messages(graded_class, "corrupt_json")["test_relu"]
    assert score(graded_class, "corrupt_json") == 0


@SLOW
def test_missing_notebook_is_reported_missing(graded_class):
    assert statuses(graded_class, "missing_notebook") == ["missing"] * len(TESTS)
    assert "no 01_relu_math.ipynb" in messages(graded_class, "missing_notebook")["test_relu"]


@SLOW
def test_misnamed_notebook_is_graded_with_a_note(graded_class):
    assert statuses(graded_class, "misnamed") == ["passed"] * len(TESTS)
    folder = graded_class["out"] / "feedback" / "misnamed" / ASSIGNMENT
    page = (folder / f"{NOTEBOOK}.html").read_text()
    assert "misnamed" in page
    # `nbgrader release_feedback` hands back a page by the name the notebook was submitted under
    assert (folder / f"{NOTEBOOK} (1).html").read_text() == page


@SLOW
def test_patched_check_function_is_caught(graded_class):
    # The patch stays in place, so every test from there on ran in a tampered kernel.
    assert statuses(graded_class, "patches_check") == ["tampered"] * len(TESTS)
    assert "deadrelu.checks.relu_math.check_relu replaced" in messages(graded_class, "patches_check")["test_relu"]
    assert "no longer refers to the public check" in messages(graded_class, "patches_check")["test_relu"]
    assert score(graded_class, "patches_check") == 0


@SLOW
def test_patched_assert_helpers_are_caught(graded_class):
    assert statuses(graded_class, "patches_asserts") == ["passed", "passed", "tampered", "tampered"] + ["tampered"] * (
        len(TESTS) - 4
    )
    assert "torch.allclose replaced" in messages(graded_class, "patches_asserts")["test_leaky_relu"]


@SLOW
def test_rewriting_test_cells_is_caught(graded_class):
    assert statuses(graded_class, "rewrites_tests") == ["passed", "passed", "passed", "tampered"] + ["tampered"] * (
        len(TESTS) - 4
    )
    assert "input_transformers_post" in messages(graded_class, "rewrites_tests")["test_elu"]


@SLOW
def test_replacing_the_grader_probe_is_caught(graded_class):
    assert statuses(graded_class, "fakes_probe") == ["passed", "passed", "passed", "tampered"] + ["tampered"] * (
        len(TESTS) - 4
    )
    assert "probe" in messages(graded_class, "fakes_probe")["test_elu"]


@SLOW
def test_solutions_gradebook_and_other_students_cannot_be_read(graded_class):
    text = cell_text(autograded(graded_class, "reads_secrets"), "relu")
    assert "READ" not in text.replace("GRADER DIRS", "")
    assert text.count("BLOCKED") == 5
    listed = text.split("GRADER DIRS", 1)[1].split("\n", 1)[0]
    assert listed.count("/tmp/deadrelu-grade-") <= 1  # its own working copy at most
    # The wrong fallback answer ran, so the solutions were not there to copy.
    assert statuses(graded_class, "reads_secrets")[0] == "failed"


@SLOW
def test_writes_outside_its_folder_land_nowhere(graded_class):
    text = cell_text(autograded(graded_class, "writes_outside"), "relu")
    assert "WROTE" not in text and text.count("BLOCKED") == 4
    for path in graded_class["write_targets"]:
        assert not path.exists(), path
    assert statuses(graded_class, "writes_outside") == ["passed"] * len(TESTS)


@SLOW
def test_no_network_even_to_loopback(graded_class):
    assert graded_class["listener"].connections == 0
    text = cell_text(autograded(graded_class, "opens_network"), "relu")
    assert "BLOCKED" in text and "CONNECTED" not in text
    assert statuses(graded_class, "opens_network") == ["passed"] * len(TESTS)


@SLOW
def test_warnings_on_stderr_cost_no_points(graded_class):
    assert statuses(graded_class, "warns_on_stderr") == ["passed"] * len(TESTS)
    assert "a UserWarning on stderr" in cell_text(autograded(graded_class, "warns_on_stderr"), "test_relu")


# --- the command line and the zip collector ---------------------------------------------------------
def test_lms_zip_is_collected_by_student_and_notebook(tmp_path):
    import zipfile

    from autograder.grade import Course, collect_zip

    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("alice_12345_678901_01_relu_math.ipynb", nbformat.writes(solved()))
        handle.writestr("bob_late_2345_02_how_units_die-1.ipynb", "{}")
        handle.writestr("../../escape_01_relu_math.ipynb", "{}")
        handle.writestr("carol_notes.txt", "hello")
        handle.writestr("dave_99_unknown.ipynb", "{}")
    skipped = collect_zip(archive, Course(), tmp_path / "submitted", grading.DEFAULT_PATTERN)
    assert (tmp_path / "submitted" / "alice" / "01_relu_math" / "01_relu_math.ipynb").exists()
    assert (tmp_path / "submitted" / "bob" / "02_how_units_die" / "02_how_units_die.ipynb").exists()
    # A path in a member's name is ignored: only the file name counts, so nothing lands outside.
    assert (tmp_path / "submitted" / "escape" / "01_relu_math" / "01_relu_math.ipynb").exists()
    assert not list(tmp_path.parent.glob("escape*"))
    assert {name for name, _ in skipped} == {"carol_notes.txt", "dave_99_unknown.ipynb"}


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit:
        grading.main(["--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    assert "--require-sandbox" in out and "--jobs" in out and "--pattern" in out


@SLOW  # make and a fresh interpreter: about two seconds
def test_make_grade_is_wired_to_the_grader():
    done = subprocess.run(
        ["make", "-s", "grade", "GRADE_ARGS=--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "--require-sandbox" in done.stdout and "--jobs" in done.stdout


@SLOW
def test_grading_without_the_sandbox_works_and_warns(tmp_path, capsys):
    path = tmp_path / "submitted" / "alice" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(solved(), path)
    status = grading.main(
        [
            str(tmp_path / "submitted"),
            "--no-sandbox",
            "--out",
            str(tmp_path / "out"),
            "--gradebook",
            str(tmp_path / "gradebook.db"),
            "--quiet",
        ]
    )
    assert status == 0
    assert "WARNING: grading WITHOUT a sandbox" in capsys.readouterr().err
    assert (tmp_path / "out" / "grades.csv").read_text().splitlines()[1] == f"alice,01_relu_math,{POINTS},{POINTS},0"


def test_require_sandbox_refuses_without_bubblewrap(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(grading, "sandbox_problem", lambda: "bubblewrap (bwrap) is not installed")
    (tmp_path / "alice" / ASSIGNMENT).mkdir(parents=True)
    status = grading.main([str(tmp_path), "--require-sandbox", "--out", str(tmp_path / "out")])
    assert status == 2
    assert "bubblewrap" in capsys.readouterr().err


def test_usage_errors_are_clear(tmp_path, capsys):
    assert grading.main([str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert grading.main([str(tmp_path), "--assignment", "99_nope", "--out", str(tmp_path)]) == 2
    assert "unknown assignment" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        grading.main([str(tmp_path), "--memory", "lots"])
