"""Finding what students handed in: an LMS zip collected into folders, and the folders read as jobs.

The grader grades a folder laid out as nbgrader's `submitted` folder,
`<student>/<assignment>/<notebook>.ipynb`. `collect_zip` turns an LMS download (a zip of
files whose names hold the student and the notebook) into that layout; `find_submissions`
lists one job per student x notebook of the course, with the file to grade or the reason
there is none.
"""

import datetime
import os
import re
import shutil
import zipfile
from pathlib import Path

from autograder.course import UsageError

DEFAULT_PATTERN = r"^(?P<student>[A-Za-z0-9.-]+)_"
MAX_MEMBER_BYTES = 50_000_000


def _regular_file(path):
    return path.is_file() and not path.is_symlink()


def _visible_dirs(folder):
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


# --- an LMS zip -------------------------------------------------------------------------------
def zip_member_destination(member, regex, notebook_names):
    """(student, notebook, None) for a member to collect, or (None, None, why) for one to skip.

    Only the member's file name counts (never its folders), so nothing lands outside the
    target folder; the notebook is the longest of `notebook_names` inside that name.
    """
    base = os.path.basename(member.filename)
    if not base.endswith(".ipynb"):
        return None, None, "not a notebook"
    match = regex.search(base)
    notebook = next((name for name in notebook_names if name in base), None)
    if match is None:
        return None, None, "no student in the name (see --pattern)"
    if "student" not in match.groupdict() or notebook is None:
        return None, None, "no notebook of the course in the name"
    if member.file_size > MAX_MEMBER_BYTES:
        return None, None, f"{member.file_size / 1e6:.0f} MB, over the 50 MB limit"
    return re.sub(r"[^A-Za-z0-9._-]", "_", match.group("student")), notebook, None


def collect_zip(zip_path, course, submitted_dir, pattern):
    """Copy an LMS download into `submitted_dir/<student>/<assignment>/<notebook>.ipynb`.

    The notebook is recognised by the course's notebook names inside the file name (the
    longest that matches), the student by `pattern`'s `student` group. Returns the list of
    member names that were skipped, each with the reason.
    """
    regex = re.compile(pattern)
    names = sorted((name for notebooks in course.assignments.values() for name in notebooks), key=len, reverse=True)
    skipped = []
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise UsageError(f"{zip_path} is not a readable zip file: {error}") from None
    with archive:
        for member in archive.infolist():
            if member.is_dir() or not os.path.basename(member.filename):
                continue
            student, notebook, why = zip_member_destination(member, regex, names)
            if why is not None:
                skipped.append((member.filename, why))
                continue
            target = submitted_dir / student / course.notebook_owner(notebook) / f"{notebook}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)
    return skipped


# --- a submitted folder -------------------------------------------------------------------------
def read_timestamp(path):
    """The submission's timestamp.txt, if it holds an ISO date (else None: nbgrader uses now)."""
    if not path or not os.path.isfile(path) or os.path.islink(path):
        return None
    try:
        text = Path(path).read_text()[:100].strip()
        datetime.datetime.fromisoformat(text.replace(" UTC", "").replace("Z", "+00:00"))
        return text
    except (OSError, ValueError):
        return None


def read_submission_secret(assignment_dir):
    """nbgrader's submission_secret.txt of a submission collected from the exchange, or None.

    `nbgrader release_feedback` names each feedback page in the exchange by a hash of this secret
    and the notebook's name; only the student who submitted knows it, so only they can fetch it.
    """
    path = Path(assignment_dir) / "submission_secret.txt"
    if not path.is_file() or path.is_symlink():
        return None
    try:
        text = path.read_text()[:200].strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if re.fullmatch(r"[A-Za-z0-9_=+/-]{1,200}", text) else None


def locate_notebook(assignment_dir, notebook, expected):
    """(path or None, notes, reason) of the file to grade as `notebook` in `assignment_dir`.

    A link is never graded. A missing notebook is replaced by the one unclaimed notebook of
    the folder, if the assignment has a single notebook (a misnamed file, "x (1).ipynb").
    """
    present = sorted(assignment_dir.glob("*.ipynb"))
    path = assignment_dir / f"{notebook}.ipynb"
    if path.is_symlink() or (path.exists() and not _regular_file(path)):
        return None, [], f"{notebook}.ipynb is not a regular file (a link?); not graded"
    if path.exists():
        return path, [], None
    unclaimed = [p for p in present if p.stem not in expected]
    if len(expected) == 1 and len(unclaimed) == 1 and _regular_file(unclaimed[0]):
        return unclaimed[0], [f"graded {unclaimed[0].name} in place of the missing {notebook}.ipynb (misnamed)"], None
    found = f" (found: {', '.join(p.name for p in present)})" if present else ""
    return None, [], f"no {notebook}.ipynb in the submission{found}"


def find_submissions(folder, course, assignments):
    """Jobs for every student folder: (student, assignment, notebook, path or None, notes).

    Returns (jobs, ignored): `ignored` names the folders that are not assignments of the
    course. `assignments`, when not empty, limits the jobs to those assignments.
    """
    found, ignored = [], []
    for student_dir in _visible_dirs(folder):
        for assignment_dir in _visible_dirs(student_dir):
            assignment = assignment_dir.name
            if assignment not in course.assignments:
                ignored.append(f"{student_dir.name}/{assignment}: not an assignment of the course")
                continue
            if assignments and assignment not in assignments:
                continue
            expected = course.assignments[assignment]
            for notebook in expected:
                path, notes, reason = locate_notebook(assignment_dir, notebook, expected)
                found.append(
                    {
                        "student": student_dir.name,
                        "assignment": assignment,
                        "notebook": notebook,
                        "submission": None if path is None else str(path),
                        "notes": notes,
                        "missing_reason": reason,
                        "timestamp_file": str(assignment_dir / "timestamp.txt"),
                    }
                )
    return found, ignored
