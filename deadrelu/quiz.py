"""A self-check quiz widget: multiple-choice questions, each with a Check button that says
whether the choice is right and explains why (notebook 09_interview_prep).

Not graded: the state (`results`, `score`) lives in the widget so that tests can drive it
in a kernel, and nothing is recorded anywhere else.
"""

import html
from dataclasses import dataclass

import ipywidgets as widgets


@dataclass(frozen=True)
class Question:
    """One multiple-choice question: `answer` is the index of the right option in `options`."""

    prompt: str
    options: tuple
    answer: int
    explanation: str  # why the right option is right, shown after every check

    def __post_init__(self):
        if len(self.options) < 2:
            raise ValueError(f"a question needs at least two options, got {self.options!r}")
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"options must differ from each other, got {self.options!r}")
        if not isinstance(self.answer, int) or not 0 <= self.answer < len(self.options):
            raise ValueError(f"answer must index one of the {len(self.options)} options, got {self.answer!r}")


class Quiz(widgets.VBox):
    """The questions one under another: options as radio buttons, a Check button, feedback.

    `results[i]` is None until question i is checked, then True or False; choosing another
    option clears its feedback and result. `score` counts the right answers checked so far.
    """

    def __init__(self, questions):
        self.questions = list(questions)
        if not self.questions:
            raise ValueError("a Quiz needs at least one question")
        self.results = [None] * len(self.questions)
        self.choices, self.buttons, self.feedback = [], [], []
        blocks = []
        for i, question in enumerate(self.questions):
            choice = widgets.RadioButtons(
                options=list(question.options), value=None, layout=widgets.Layout(width="auto")
            )
            button = widgets.Button(description="Check", layout=widgets.Layout(width="90px"))
            feedback = widgets.HTML("")
            button.on_click(lambda _button, i=i: self.check(i))
            choice.observe(lambda _change, i=i: self._clear(i), names="value")
            self.choices.append(choice)
            self.buttons.append(button)
            self.feedback.append(feedback)
            prompt = widgets.HTML(f"<b>{i + 1}. {html.escape(question.prompt)}</b>")
            blocks.append(widgets.VBox([prompt, choice, button, feedback], layout=widgets.Layout(margin="0 0 12px 0")))
        self.score_label = widgets.HTML()
        self._update_score()
        super().__init__(blocks + [self.score_label])

    def check(self, i):
        """Mark question i: right or wrong, with the explanation; returns the result (None if no choice)."""
        question, choice = self.questions[i], self.choices[i].value
        if choice is None:
            self.results[i] = None
            self.feedback[i].value = "<i>Pick an answer first.</i>"
        else:
            self.results[i] = question.options.index(choice) == question.answer
            verdict = (
                "<span style='color:#1a7f37'>✔ Correct.</span>"
                if self.results[i]
                else f"<span style='color:#cf222e'>✘ Not quite</span> — the answer is "
                f"<i>{html.escape(question.options[question.answer])}</i>."
            )
            self.feedback[i].value = f"{verdict} {html.escape(question.explanation)}"
        self._update_score()
        return self.results[i]

    @property
    def score(self):
        return sum(result is True for result in self.results)

    def _clear(self, i):
        self.results[i] = None
        self.feedback[i].value = ""
        self._update_score()

    def _update_score(self):
        checked = sum(result is not None for result in self.results)
        self.score_label.value = f"<b>Score: {self.score} / {len(self.questions)}</b> ({checked} checked)"
