"""nbgrader settings of the instructor's server on the course's JupyterHub (classroom/).

Found through JUPYTER_CONFIG_PATH, which the hub sets for instructors (classroom/settings.py).
The Formgrader runs in the server, whose working folder is the home folder, so this points it
at the instructor's course folder and loads that folder's settings (autograder/nbgrader_config.py:
the course's folders, gradebook and grading limits; the exchange from DEADRELU_EXCHANGE).
Commands typed in the course folder (`nbgrader collect`, `make grade`) read the same settings
from its nbgrader_config.py.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
course = os.environ.get("DEADRELU_COURSE_DIR", os.path.expanduser("~/dead-relu-course"))  # the hub sets it
load_subconfig(os.path.join(course, "autograder", "nbgrader_config.py"))  # noqa: F821
