import os

import pytest

from course_tools import ASSIGNMENTS, MEASUREMENTS, ScratchCourse


@pytest.fixture(scope="session")
def released_course(tmp_path_factory):
    """A scratch nbgrader course with every assignment freshly generated from solutions/."""
    # RELEASE_ONLY=08_capstone_diagnose_and_fix (comma-separated) releases only those: for
    # working on one notebook while another is mid-edit. CI releases every assignment.
    only = [a for a in os.environ.get("RELEASE_ONLY", "").split(",") if a]
    course = ScratchCourse(tmp_path_factory.mktemp("released"), assignments=only or ASSIGNMENTS)
    course.release()
    return course


def pytest_report_header(config):
    return f"assignments: {', '.join(ASSIGNMENTS) or '(none)'}"


def pytest_terminal_summary(terminalreporter):
    if MEASUREMENTS:
        terminalreporter.section("measured")
        for name, value in MEASUREMENTS.items():
            terminalreporter.write_line(f"{name}: {value}")
