"""nbgrader settings of the course (loaded through ../nbgrader_config.py).

Folders, relative to the repository root:
    solutions/<id>/<id>.ipynb                      source: solutions and hidden tests
    course/<id>/<id>.ipynb                         release: what students get (generated)
    autograder/submitted/<student>/<id>/           what students hand in
    autograder/autograded/<student>/<id>/          graded copies
    autograder/feedback/<student>/<id>/            HTML handed back to students
    autograder/gradebook.db                        the gradebook (git-ignored, like the three above)
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from autograder.feedback import HideHiddenTests

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "dead_relu"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = os.path.join("autograder", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("autograder", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("autograder", "feedback")
c.CourseDirectory.source_with_tests_directory = os.path.join("autograder", "source_with_tests")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "autograder", "gradebook.db")

# Per-cell time limit when validating and autograding. Every notebook runs top to bottom
# in under 60 s on 2 cores, so no healthy cell comes near 120 s, while an endless loop costs
# a student's run at most two minutes. A cell that times out is interrupted and scores 0.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# nbgrader gives 0 points to a test cell that wrote anything on stderr, and Python warnings
# (PyTorch's UserWarnings, say) go to stderr. In graded runs only, the kernel shows warnings
# on stdout instead: they stay visible in the feedback and no longer cost points. Students'
# own kernels in JupyterLab are not affected.
WARNINGS_TO_STDOUT = (
    "import sys, warnings; "
    "warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: "
    "sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))"
)
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", f"--IPKernelApp.exec_lines={WARNINGS_TO_STDOUT}"]

# Feedback never shows hidden-test source (see autograder/feedback.py).
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# `nbgrader release_assignment / fetch_assignment / submit / collect` go through an
# exchange folder. Here it is a local, git-ignored folder, so the commands work on one
# machine without root. On the course's JupyterHub (classroom/) the hub gives every user's
# server DEADRELU_EXCHANGE, the class's shared exchange, and the instructor's commands use it.
c.Exchange.root = os.environ.get("DEADRELU_EXCHANGE") or os.path.join(ROOT, "autograder", "exchange")
