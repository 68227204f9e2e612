"""course/ is generated from solutions/ by nbgrader, and gives nothing away."""

import shutil

import nbformat
import pytest

from course_tools import (
    ASSIGNMENTS,
    COURSE,
    ROOT,
    course_notebook,
    files_under,
    leaks,
    secret_lines,
    solution_notebook,
    tree_differences,
)


def committed_course_files():
    """course/ as in the last commit (None outside a git checkout)."""
    import subprocess

    listed = subprocess.run(["git", "ls-files", "-z", "course"], cwd=ROOT, capture_output=True)
    if listed.returncode != 0:
        return None
    files = {}
    for path in filter(None, listed.stdout.decode().split("\0")):
        shown = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=ROOT, capture_output=True)
        if shown.returncode == 0:
            files[path.removeprefix("course/")] = shown.stdout
    return files


def test_every_assignment_has_a_student_version():
    assert ASSIGNMENTS, "no assignments in solutions/"
    for assignment in ASSIGNMENTS:
        assert course_notebook(assignment).exists(), f"course/{assignment} is missing: run `make release`"


def test_course_equals_a_fresh_generation_byte_for_byte(released_course):
    fresh = files_under(released_course.root / "course")
    working_tree = tree_differences(fresh, files_under(COURSE))
    if not working_tree:
        return
    committed = committed_course_files()
    # A student working through course/ in JupyterLab edits these files; what must match the
    # sources is what is committed. On a clean clone (CI) the two are the same files.
    if committed is not None and not tree_differences(fresh, committed):
        return
    pytest.fail(
        "course/ is not what `make release` generates from solutions/ "
        "(regenerate with `make release` and commit it):\n  " + "\n  ".join(working_tree)
    )


def test_tree_comparison_notices_a_changed_byte(released_course, tmp_path):
    """The comparison above can fail: one changed byte and one extra file are reported."""
    copy = tmp_path / "course"
    shutil.copytree(released_course.root / "course", copy)
    notebook = copy / ASSIGNMENTS[0] / f"{ASSIGNMENTS[0]}.ipynb"
    notebook.write_bytes(notebook.read_bytes() + b" ")
    (copy / "stray.txt").write_text("x")
    problems = tree_differences(files_under(released_course.root / "course"), files_under(copy))
    assert problems == ["unexpected: stray.txt", f"differs: {ASSIGNMENTS[0]}/{ASSIGNMENTS[0]}.ipynb"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_solution_or_hidden_test_reaches_course(assignment):
    secrets = secret_lines(nbformat.read(solution_notebook(assignment), as_version=4))
    assert secrets, f"{assignment} has no solution or hidden-test lines to protect: is it marked up for nbgrader?"
    for path in sorted((COURSE / assignment).rglob("*")):
        if path.suffix == ".ipynb":
            assert leaks(path, secrets) == [], f"{path.relative_to(ROOT)} gives away solution or hidden-test text"
        elif path.is_file():
            text = path.read_text(errors="replace")
            assert not [s for s in secrets if s in text], f"{path.relative_to(ROOT)} contains solution text"


def test_leak_detector_finds_a_pasted_hidden_test(tmp_path):
    """The check above can fail: a student notebook with a hidden-test line pasted in is caught."""
    assignment = ASSIGNMENTS[0]
    secrets = secret_lines(nbformat.read(solution_notebook(assignment), as_version=4))
    leaked_line = sorted(secrets)[0]
    notebook = nbformat.read(course_notebook(assignment), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\n" + leaked_line))
    tampered = tmp_path / "tampered.ipynb"
    nbformat.write(notebook, tampered)
    found = leaks(tampered, secrets)
    assert leaked_line in found and "marker 'BEGIN HIDDEN TESTS'" in found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebooks_are_committed_clean(assignment):
    notebook = nbformat.read(solution_notebook(assignment), as_version=4)
    dirty = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"solutions/{assignment}: cells {dirty} keep outputs; clear them before committing"
    assert notebook.metadata["kernelspec"]["name"] == "deadrelu", "notebooks run on the course's named kernel"
