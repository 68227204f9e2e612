"""The self-check quiz (deadrelu/quiz.py, notebook 09), driven in a real kernel: choosing and
checking an answer changes the feedback, right and wrong answers are told apart, and the
explanation is shown either way."""

import nbformat
import pytest

from course_tools import last_json_line, run_in_kernel, solution_notebook
from deadrelu.lessons.interview_prep import Question, Quiz

DRIVE_QUIZ = """
import json
from deadrelu.lessons.interview_prep import Question, Quiz

quiz = Quiz([
    Question("Dead on one batch means dead?", ("yes", "no", "only with a negative bias"), 1,
             "Count over the whole data set."),
    Question("First fix for a high update ratio?", ("lower the learning rate", "add layers"), 0,
             "Smaller steps act on the cause."),
])
log = {"initial": [f.value for f in quiz.feedback], "initial_score": quiz.score_label.value}

quiz.buttons[0].click()  # no choice yet
log["no_choice"] = (quiz.feedback[0].value, quiz.results[0])

quiz.choices[0].value = "yes"
quiz.buttons[0].click()
log["wrong"] = (quiz.feedback[0].value, quiz.results[0], quiz.score)

quiz.choices[0].value = "no"
log["after_change"] = (quiz.feedback[0].value, quiz.results[0])
quiz.buttons[0].click()
log["right"] = (quiz.feedback[0].value, quiz.results[0], quiz.score)

quiz.choices[1].value = "add layers"
quiz.buttons[1].click()
log["second_wrong"] = (quiz.feedback[1].value, quiz.results, quiz.score, quiz.score_label.value)
print(json.dumps(log))
"""


@pytest.fixture(scope="module")
def quiz_run():
    return last_json_line(run_in_kernel(DRIVE_QUIZ))


def test_feedback_starts_empty(quiz_run):
    assert quiz_run["initial"] == ["", ""]
    assert "0 / 2" in quiz_run["initial_score"]


def test_checking_without_a_choice_asks_for_one(quiz_run):
    feedback, result = quiz_run["no_choice"]
    assert "Pick an answer" in feedback and result is None


def test_a_wrong_choice_is_marked_wrong_with_the_answer_and_explanation(quiz_run):
    feedback, result, score = quiz_run["wrong"]
    assert result is False and score == 0
    assert "Not quite" in feedback and "<i>no</i>" in feedback and "Count over the whole data set." in feedback


def test_changing_the_choice_clears_the_feedback(quiz_run):
    assert quiz_run["after_change"] == ["", None]


def test_a_right_choice_is_marked_right_with_the_explanation(quiz_run):
    feedback, result, score = quiz_run["right"]
    assert result is True and score == 1
    assert "Correct" in feedback and "Count over the whole data set." in feedback


def test_questions_are_checked_independently(quiz_run):
    feedback, results, score, label = quiz_run["second_wrong"]
    assert results == [True, False] and score == 1
    assert "Smaller steps act on the cause." in feedback
    assert "1 / 2" in label and "2 checked" in label


@pytest.mark.parametrize(
    "args, message",
    [
        (("q", ("only",), 0, "e"), "at least two options"),
        (("q", ("a", "a"), 0, "e"), "differ"),
        (("q", ("a", "b"), 2, "e"), "answer must index"),
    ],
)
def test_malformed_questions_are_rejected(args, message):
    with pytest.raises(ValueError, match=message):
        Question(*args)


def test_an_empty_quiz_is_rejected():
    with pytest.raises(ValueError, match="at least one question"):
        Quiz([])


def quiz_cell_of_notebook_09():
    notebook = nbformat.read(solution_notebook("09_interview_prep"), as_version=4)
    return next(cell.source for cell in notebook.cells if cell.cell_type == "code" and "QUESTIONS = [" in cell.source)


def test_the_notebooks_quiz_marks_each_right_answer_right_and_every_other_wrong():
    code = (
        "import html\nfrom deadrelu.lessons.interview_prep import Question, Quiz\n"
        + quiz_cell_of_notebook_09()
        + """
import json
verdicts = []
for i, question in enumerate(QUESTIONS):
    row = []
    for option in question.options:
        quiz.choices[i].value = option
        row.append((quiz.check(i), html.escape(question.explanation) in quiz.feedback[i].value))
    verdicts.append({"answer": question.answer, "row": row})
print(json.dumps({"n": len(QUESTIONS), "verdicts": verdicts}))
"""
    )
    result = last_json_line(run_in_kernel(code))
    assert 6 <= result["n"] <= 9
    answers = [v["answer"] for v in result["verdicts"]]
    assert len(set(answers)) > 1, "the right answer should not always sit in the same position"
    for verdict in result["verdicts"]:
        assert [right for right, _ in verdict["row"]] == [i == verdict["answer"] for i in range(len(verdict["row"]))]
        assert all(shown for _, shown in verdict["row"]), "the explanation is shown after every check"
