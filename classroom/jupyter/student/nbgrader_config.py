"""nbgrader settings of every student's server on the course's JupyterHub (classroom/).

Found through JUPYTER_CONFIG_PATH, which the hub sets for students (classroom/settings.py).
The Assignments tab fetches into, and submits from, the student's home folder.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.CourseDirectory.course_id = "dead_relu"
c.Exchange.root = os.environ.get("DEADRELU_EXCHANGE", "/srv/nbgrader/exchange")  # the hub sets it
