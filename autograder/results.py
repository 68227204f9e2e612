"""What grading one notebook produces: a `Result` with one `TestResult` per graded cell.

A worker (worker.py) builds a Result and writes it as JSON; the grading run (grade.py)
reads it back and records it (recording.py). Every result, including the ones made up when
something went wrong on the grader's side, is built here, so a field cannot go missing.

Two enums say what happened:

- `Status`, per test, is what grades.csv / test_results.csv and the feedback show;
- `Outcome`, per notebook, says whether the notebook was graded at all. A grader fault (a
  worker that crashed, hung or never started its kernel) is `Outcome.GRADER_FAULT`: its
  tests read `error` for the student, and the run's exit status is 1.
"""

import dataclasses
import enum
import json

from autograder.cells import grade_id, is_graded


class Status(enum.Enum):
    """The status of one test, as written in test_results.csv and the feedback."""

    PASSED = "passed"
    FAILED = "failed"  # an assertion failed, or partial credit
    ERROR = "error"  # the test raised something else (or the grader failed: see Outcome)
    TIMEOUT = "timeout"  # the cell, or the notebook, ran past its time limit
    KERNEL_DIED = "kernel_died"  # a crash, os._exit or the memory limit, here or earlier
    MISSING = "missing"  # no notebook, or one that cannot be read
    TAMPERED = "tampered"  # the integrity probe found something a test relies on replaced
    NEEDS_MANUAL_GRADE = "needs_manual_grade"  # a written answer: graded by hand


class Outcome(enum.Enum):
    """What happened to the notebook as a whole."""

    GRADED = "graded"  # it ran (whatever its tests scored, even if the kernel died)
    NOT_SUBMITTED = "not_submitted"  # no notebook of that name in the submission
    UNREADABLE = "unreadable"  # a file that is not a notebook
    GRADER_FAULT = "grader_fault"  # our side went wrong; not the student's doing


@dataclasses.dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    test_id: str
    points: float | None  # None: to be graded by hand
    max_points: float
    status: Status
    message: str = ""

    @classmethod
    def for_cell(cls, cell, status, points, message):
        """The result of the graded cell `cell` (its grade id and points come from its metadata)."""
        meta = cell.metadata["nbgrader"]
        return cls(grade_id(cell), points, float(meta.get("points", 0)), Status(status), message)

    def to_dict(self):
        return {**dataclasses.asdict(self), "status": self.status.value}

    @classmethod
    def from_dict(cls, data):
        return cls(**{**data, "status": Status(data["status"])})


@dataclasses.dataclass
class Result:
    student: str
    assignment: str
    notebook: str
    outcome: Outcome = Outcome.GRADED
    tests: list[TestResult] = dataclasses.field(default_factory=list)
    repairs: list[str] = dataclasses.field(default_factory=list)
    stopped: str | None = None  # why the run stopped before the end, in words
    notebook_json: str | None = None  # the executed notebook, when one ran
    seconds: float = 0
    worker: str = ""  # who graded it: host:pid here, the worker's address on a cluster

    @classmethod
    def for_job(cls, job, **fields):
        return cls(job["student"], job["assignment"], job["notebook"], **fields)

    @classmethod
    def unrun(cls, job, source, outcome, status, message, **fields):
        """A result whose every graded cell of `source` got `status` and `message`, and no points."""
        tests = [TestResult.for_cell(cell, status, 0.0, message) for cell in source.cells if is_graded(cell)]
        return cls.for_job(job, outcome=outcome, tests=tests, **fields)

    @classmethod
    def grader_fault(cls, job, source, message):
        """What the student gets when grading failed on our side: every test an error, saying so."""
        return cls.unrun(job, source, Outcome.GRADER_FAULT, Status.ERROR, message, stopped=message)

    @property
    def score(self):
        return sum(test.points or 0 for test in self.tests)

    @property
    def max_score(self):
        return sum(test.max_points for test in self.tests)

    @property
    def manual(self):
        """How many answers are still to be graded by hand."""
        return sum(1 for test in self.tests if test.status is Status.NEEDS_MANUAL_GRADE)

    def to_json(self):
        data = dataclasses.asdict(self)
        data["outcome"] = self.outcome.value
        data["tests"] = [test.to_dict() for test in self.tests]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        data["outcome"] = Outcome(data["outcome"])
        data["tests"] = [TestResult.from_dict(test) for test in data["tests"]]
        return cls(**data)
