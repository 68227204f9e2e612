"""The course's grading side: nbgrader configuration and the pieces nbgrader loads from it.

nbgrader stays the grading engine; see autograder/nbgrader_config.py for the settings and
README.md ("For instructors") for the commands.
"""
