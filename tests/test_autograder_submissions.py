"""Finding submissions (autograder/submissions.py) and reading sizes (autograder/grade.py):
fast, on a made-up course in tmp_path, with real zip files."""

import argparse
import os
import re
import zipfile

import pytest

from autograder import submissions
from autograder.course import Course, UsageError
from autograder.grade import parse_size
from autograder.submissions import DEFAULT_PATTERN, collect_zip, find_submissions, zip_member_destination


@pytest.fixture
def course(tmp_path):
    """A course of two assignments: `01_relu` (one notebook) and `02_units` (two)."""
    for assignment, notebooks in {"01_relu": ["01_relu"], "02_units": ["02_units", "02_units_extra"]}.items():
        (tmp_path / "course-root" / "solutions" / assignment).mkdir(parents=True)
        for notebook in notebooks:
            (tmp_path / "course-root" / "solutions" / assignment / f"{notebook}.ipynb").write_text("{}")
    return Course(root=tmp_path / "course-root", gradebook=tmp_path / "gradebook.db")


# --- sizes ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, size",
    [("1000000", 1_000_000), ("4GiB", 4 * 2**30), ("500MB", 500_000_000), ("1.5k", 1500), (" 2 mib ", 2 * 2**20)],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "4 parsecs", "", "-1GB", "1e3"])
def test_parse_size_refuses_what_is_not_a_size(text):
    with pytest.raises(argparse.ArgumentTypeError, match="not a size"):
        parse_size(text)


# --- the course ------------------------------------------------------------------------------------------
def test_course_lists_assignments_and_their_notebooks(course):
    assert course.assignments == {"01_relu": ["01_relu"], "02_units": ["02_units", "02_units_extra"]}
    assert course.notebook_owner("02_units_extra") == "02_units" and course.notebook_owner("nope") is None
    assert course.source("01_relu", "01_relu").name == "01_relu.ipynb"


# --- an LMS zip --------------------------------------------------------------------------------------------
def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as handle:
        for name, text in members.items():
            handle.writestr(name, text)
    return path


def test_collect_zip_files_each_notebook_by_student_and_assignment(tmp_path, course):
    archive = make_zip(
        tmp_path / "download.zip",
        {
            "alice_12345_01_relu.ipynb": "alice's",
            "bob_late_02_units_extra-1.ipynb": "bob's extra",  # the longest notebook name wins
            "bob_late_02_units.ipynb": "bob's",
            "folder/": "",
        },
    )
    skipped = collect_zip(archive, course, tmp_path / "submitted", DEFAULT_PATTERN)
    assert skipped == []
    assert (tmp_path / "submitted" / "alice" / "01_relu" / "01_relu.ipynb").read_text() == "alice's"
    assert (tmp_path / "submitted" / "bob" / "02_units" / "02_units_extra.ipynb").read_text() == "bob's extra"
    assert (tmp_path / "submitted" / "bob" / "02_units" / "02_units.ipynb").read_text() == "bob's"


def test_collect_zip_ignores_folders_in_member_names(tmp_path, course):
    archive = make_zip(tmp_path / "download.zip", {"../../escape_01_relu.ipynb": "x", "/abs/eve_01_relu.ipynb": "y"})
    assert collect_zip(archive, course, tmp_path / "submitted", DEFAULT_PATTERN) == []
    assert (tmp_path / "submitted" / "escape" / "01_relu" / "01_relu.ipynb").read_text() == "x"
    assert (tmp_path / "submitted" / "eve" / "01_relu" / "01_relu.ipynb").read_text() == "y"
    assert sorted(os.listdir(tmp_path)) == ["course-root", "download.zip", "submitted"]


def test_collect_zip_skips_what_it_cannot_place_and_says_why(tmp_path, course):
    archive = make_zip(
        tmp_path / "download.zip",
        {"carol_notes.txt": "hi", "dave_99_unknown.ipynb": "{}", "_01_relu.ipynb": "{}", "no-underscore.ipynb": "{}"},
    )
    skipped = dict(collect_zip(archive, course, tmp_path / "submitted", DEFAULT_PATTERN))
    assert skipped == {
        "carol_notes.txt": "not a notebook",
        "dave_99_unknown.ipynb": "no notebook of the course in the name",
        "_01_relu.ipynb": "no student in the name (see --pattern)",
        "no-underscore.ipynb": "no student in the name (see --pattern)",
    }
    assert not (tmp_path / "submitted").exists()


def test_collect_zip_makes_student_names_safe(tmp_path, course):
    archive = make_zip(tmp_path / "download.zip", {"O'Brien Jr_01_relu.ipynb": "x"})
    assert collect_zip(archive, course, tmp_path / "submitted", r"^(?P<student>[^_]+)_") == []
    assert (tmp_path / "submitted" / "O_Brien_Jr" / "01_relu" / "01_relu.ipynb").exists()


def test_collect_zip_keeps_the_last_of_duplicates(tmp_path, course):
    # An LMS that lists a resubmission after the first: both map to one file, the later one stays.
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("alice_1_01_relu.ipynb", "first")
        handle.writestr("alice_2_01_relu.ipynb", "second")
    assert collect_zip(archive, course, tmp_path / "submitted", DEFAULT_PATTERN) == []
    assert (tmp_path / "submitted" / "alice" / "01_relu" / "01_relu.ipynb").read_text() == "second"


def test_collect_zip_skips_members_over_the_size_limit(tmp_path, course, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_MEMBER_BYTES", 10)
    archive = make_zip(tmp_path / "download.zip", {"alice_01_relu.ipynb": "x" * 2_000_000})
    assert collect_zip(archive, course, tmp_path / "submitted", DEFAULT_PATTERN) == [
        ("alice_01_relu.ipynb", "2 MB, over the 50 MB limit")
    ]


def test_a_file_that_is_not_a_zip_is_a_usage_error(tmp_path, course):
    (tmp_path / "download.zip").write_text("not a zip")
    with pytest.raises(UsageError, match="not a readable zip file"):
        collect_zip(tmp_path / "download.zip", course, tmp_path / "submitted", DEFAULT_PATTERN)


def test_zip_member_destination():
    regex = re.compile(DEFAULT_PATTERN)
    member = zipfile.ZipInfo("x/alice_01_relu_math.ipynb")
    assert zip_member_destination(member, regex, ["01_relu_math"]) == ("alice", "01_relu_math", None)
    no_group = re.compile(r"^\w+_")
    assert zip_member_destination(member, no_group, ["01_relu_math"])[2] == "no notebook of the course in the name"


# --- a submitted folder ---------------------------------------------------------------------------------------
def submit(folder, student, assignment, *names):
    (folder / student / assignment).mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / student / assignment / name).write_text("{}")


def by_key(jobs):
    return {(job["student"], job["notebook"]): job for job in jobs}


def test_find_submissions_lists_every_expected_notebook(tmp_path, course):
    folder = tmp_path / "submitted"
    submit(folder, "alice", "01_relu", "01_relu.ipynb", "timestamp.txt")
    submit(folder, "alice", "02_units", "02_units.ipynb")
    jobs, ignored = find_submissions(folder, course, set())
    assert ignored == []
    jobs = by_key(jobs)
    assert sorted(jobs) == [("alice", "01_relu"), ("alice", "02_units"), ("alice", "02_units_extra")]
    assert jobs[("alice", "01_relu")]["submission"] == str(folder / "alice" / "01_relu" / "01_relu.ipynb")
    assert jobs[("alice", "01_relu")]["timestamp_file"] == str(folder / "alice" / "01_relu" / "timestamp.txt")
    assert jobs[("alice", "02_units_extra")]["submission"] is None
    assert (
        jobs[("alice", "02_units_extra")]["missing_reason"]
        == "no 02_units_extra.ipynb in the submission (found: 02_units.ipynb)"
    )


def test_find_submissions_grades_a_misnamed_notebook_with_a_note(tmp_path, course):
    submit(tmp_path / "submitted", "bob", "01_relu", "01_relu (1).ipynb")
    job = find_submissions(tmp_path / "submitted", course, set())[0][0]
    assert job["submission"].endswith("01_relu (1).ipynb")
    assert job["notes"] == ["graded 01_relu (1).ipynb in place of the missing 01_relu.ipynb (misnamed)"]


def test_find_submissions_does_not_guess_between_several_unclaimed_notebooks(tmp_path, course):
    submit(tmp_path / "submitted", "bob", "01_relu", "a.ipynb", "b.ipynb")
    job = find_submissions(tmp_path / "submitted", course, set())[0][0]
    assert job["submission"] is None and "(found: a.ipynb, b.ipynb)" in job["missing_reason"]


def test_find_submissions_never_follows_a_link(tmp_path, course):
    folder = tmp_path / "submitted"
    submit(folder, "mallory", "01_relu")
    os.symlink(course.source("01_relu", "01_relu"), folder / "mallory" / "01_relu" / "01_relu.ipynb")
    job = find_submissions(folder, course, set())[0][0]
    assert job["submission"] is None and "not a regular file" in job["missing_reason"]


def test_find_submissions_ignores_other_folders_and_filters_assignments(tmp_path, course):
    folder = tmp_path / "submitted"
    submit(folder, "alice", "01_relu", "01_relu.ipynb")
    submit(folder, "alice", "02_units", "02_units.ipynb")
    submit(folder, "alice", "homework", "x.ipynb")
    submit(folder, ".hidden", "01_relu", "01_relu.ipynb")
    submit(folder, "carol", ".ipynb_checkpoints")
    (folder / "stray.ipynb").write_text("{}")
    jobs, ignored = find_submissions(folder, course, {"01_relu"})
    assert [(job["student"], job["assignment"]) for job in jobs] == [("alice", "01_relu")]
    assert ignored == ["alice/homework: not an assignment of the course"]
