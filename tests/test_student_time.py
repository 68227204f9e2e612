"""Student time: every notebook says at the top how long it takes and what it needs, the
estimate is honest, and no notebook asks for more than about 90 minutes."""

import re

import nbformat
import pytest

from course_tools import ASSIGNMENTS, course_notebook
from website.build import HEADER  # the one pattern of a notebook's header line (the website reads it too)

MOST_MINUTES = 90
MOST_PROSE_WORDS = 3_600  # notebooks of 4,100-4,500 words read as too long for one sitting: trim or split
WORDS_PER_MINUTE = 100  # careful reading of technical prose with equations, tables and plots to look at
MINUTES_PER_GRADED_EXERCISE = 5  # the least a student spends on one: read it, write, run the check, fix


def student_version(assignment):
    return nbformat.read(course_notebook(assignment), as_version=4)


def header(assignment):
    first_markdown = next(cell for cell in student_version(assignment).cells if cell.cell_type == "markdown")
    match = HEADER.search(first_markdown.source)
    assert match, (
        f"{assignment}: the first cell must say, under the title, '**Time:** about N minutes · **Prerequisites:** ...'"
    )
    return int(match.group(1)), match.group(2)


def prose_words(assignment):
    return sum(len(cell.source.split()) for cell in student_version(assignment).cells if cell.cell_type == "markdown")


def graded_exercises(assignment):
    return sum(
        1
        for cell in student_version(assignment).cells
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.metadata["nbgrader"].get("grade_id")
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_notebook_states_an_honest_time_of_at_most_90_minutes(assignment):
    minutes, _ = header(assignment)
    least = prose_words(assignment) / WORDS_PER_MINUTE + MINUTES_PER_GRADED_EXERCISE * graded_exercises(assignment)
    assert minutes <= MOST_MINUTES, (
        f"{assignment} asks for {minutes} minutes; split or trim it to at most {MOST_MINUTES}"
    )
    assert prose_words(assignment) <= MOST_PROSE_WORDS, (
        f"{assignment} has {prose_words(assignment)} words of prose; trim or split it to at most {MOST_PROSE_WORDS}"
    )
    assert minutes >= least, (
        f"{assignment} says about {minutes} minutes, but its {prose_words(assignment)} words of prose and "
        f"{graded_exercises(assignment)} graded exercises take at least {least:.0f}"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_prerequisites_name_only_earlier_notebooks(assignment):
    _, prerequisites = header(assignment)
    named = [int(n) for n in re.findall(r"\b0(\d)\b", prerequisites)]
    number = int(assignment[:2])
    assert all(n < number for n in named), f"{assignment} lists a later notebook as a prerequisite: {prerequisites}"
    assert named or number == 1, f"{assignment}: which earlier notebooks does it build on? ({prerequisites})"
