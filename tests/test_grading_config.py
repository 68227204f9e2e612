"""The nbgrader settings that protect students: warnings on stderr do not cost points, the
Validate button agrees with the grader, and the settings are the deliberate ones."""

import subprocess

import nbformat
import pytest

from course_tools import BIN, ROOT, ScratchCourse, course_notebook, solution_notebook

pytestmark = pytest.mark.slow


def _one_test_assignment(folder, test_source):
    """A minimal source assignment `warn/warn.ipynb` whose only test cell runs `test_source`."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "deadrelu", "display_name": "Python 3 (deadrelu)", "language": "python"}
    cell = nbformat.v4.new_code_cell(test_source)
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_warns",
        "locked": True,
        "points": 1,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    notebook.cells = [cell]
    (folder / "warn").mkdir(parents=True)
    nbformat.write(notebook, folder / "warn" / "warn.ipynb")
    return folder


def test_pytorch_warning_on_stderr_does_not_zero_a_test_cell(tmp_path):
    # torch.tensor(tensor) emits a UserWarning on stderr; the test itself passes.
    source = _one_test_assignment(
        tmp_path / "source", "import torch\ncopy = torch.tensor(torch.ones(2))\nassert copy.sum() == 2"
    )
    course = ScratchCourse(tmp_path / "course", assignments=["warn"], source=source)
    course.release()
    course.submit("erin", "warn", course.root / "course" / "warn" / "warn.ipynb")

    course.autograde("warn")
    assert course.scores("erin", "warn")["test_warns"] == (1, 1)
    outputs = course.autograded_notebook("erin", "warn").cells[0].outputs
    assert any("UserWarning" in o.get("text", "") for o in outputs), "the warning should stay visible to the student"

    # The control: with stock nbgrader kernel arguments, the same passing cell scores 0.
    course.autograde("warn", students=["erin"], extra=["--Execute.extra_arguments=[]"])
    assert course.scores("erin", "warn")["test_warns"] == (0, 1)


def _validate(path):
    return subprocess.run(
        [str(BIN / "nbgrader"), "validate", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_validate_passes_the_solution_and_fails_the_untouched_student_version():
    solved = _validate(solution_notebook("01_relu_math"))
    assert "Success! Your notebook passes all the tests." in solved.stdout, solved.stdout + solved.stderr
    untouched = _validate(course_notebook("01_relu_math"))
    assert "VALIDATION FAILED" in untouched.stdout, untouched.stdout + untouched.stderr
    assert "not implemented yet" in untouched.stdout


def test_course_settings_are_loaded_from_the_repository_root():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.CourseDirectory.source_directory == "solutions"
    assert config.CourseDirectory.release_directory == "course"
    assert config.CourseDirectory.submitted_directory.startswith("autograder")
    assert config.CourseDirectory.db_url.endswith("autograder/gradebook.db")
    assert 60 <= config.Execute.timeout <= 600, "per-cell timeout: above the notebook budget, bounded for endless loops"
    names = [p.__name__ for p in config.GenerateFeedback.preprocessors]
    assert "HideHiddenTests" in names
