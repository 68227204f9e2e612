# nbgrader reads nbgrader_config.py from the folder it runs in (this one, the course root).
# The course's settings live with the rest of the grading side, in autograder/.
c = get_config()  # noqa: F821
load_subconfig("autograder/nbgrader_config.py")  # noqa: F821
