"""The course as the grader sees it: its assignments, their source notebooks, its gradebook."""

import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.sandbox import REPO


class UsageError(Exception):
    """A mistake in how the grader was called (exit status 2); its message says which."""


class Course:
    def __init__(self, root=REPO, gradebook=None, db_url=None):
        self.root = Path(root)
        self.source_dir = self.root / "solutions"
        self.assignments = {}
        for folder in sorted(self.source_dir.iterdir()):
            notebooks = sorted(p.stem for p in folder.glob("*.ipynb"))
            if folder.is_dir() and notebooks:
                self.assignments[folder.name] = notebooks
        # A SQLite file (the default, or --gradebook FILE), or any SQLAlchemy URL (--db postgresql://...).
        self.db_url = db_url or "sqlite:///" + str(
            Path(gradebook or self.root / "autograder" / "gradebook.db").resolve()
        )

    def source(self, assignment, notebook):
        return self.source_dir / assignment / f"{notebook}.ipynb"

    def notebook_owner(self, notebook):
        for assignment, notebooks in self.assignments.items():
            if notebook in notebooks:
                return assignment
        return None

    def ensure_gradebook(self, assignments):
        """Record assignments the gradebook lacks, as `make release` would (course/ untouched)."""
        for assignment in self._missing_from_gradebook(assignments):
            with tempfile.TemporaryDirectory() as scratch:
                command = [
                    str(Path(sys.executable).parent / "nbgrader"),
                    "generate_assignment",
                    assignment,
                    "--force",
                    "--log-level=ERROR",
                    f"--CourseDirectory.release_directory={scratch}",
                    f"--CourseDirectory.db_url={self.db_url}",
                ]
                done = subprocess.run(command, cwd=self.root, capture_output=True, text=True)
                if done.returncode != 0:
                    raise UsageError(f"could not record {assignment} in the gradebook:\n{done.stderr[-2000:]}")

    def _missing_from_gradebook(self, assignments):
        from nbgrader.api import Gradebook, MissingEntry

        missing = []
        with Gradebook(self.db_url) as gradebook:
            for assignment in assignments:
                try:
                    known = gradebook.find_assignment(assignment)
                    if sorted(n.name for n in known.notebooks) != self.assignments[assignment]:
                        missing.append(assignment)
                except MissingEntry:
                    missing.append(assignment)
        return missing
