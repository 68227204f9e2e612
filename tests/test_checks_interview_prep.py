"""Notebook 09's triage, without running the notebook.

The public check: well-formed answers pass whatever they diagnose (it must not reveal the
answers), malformed ones fail with a message that says what to write, and only plain values
pass (a str subclass that overrides ==, or a dict that answers differently on each read,
cannot fake a diagnosis).

The hidden tests, one test cell per scenario, run alone with `run_graded_cell`: the right
diagnosis passes, and every wrong cause and every wrong first fix fails with a hint that
names what the evidence shows, never a setting the student cannot see.
(tests/test_exercises_09_interview_prep.py runs the same cells through nbgrader.)
"""

import itertools
import re

import pytest

from course_tools import graded_cell_source, run_graded_cell
from deadrelu.checks.interview_prep import CAUSES, FIXES, check_triage
from deadrelu.lessons.interview_prep import SCENARIOS

ASSIGNMENT = "09_interview_prep"
PRELUDE = "from deadrelu.checks.interview_prep import CAUSES, FIXES, check_triage"

RIGHT = {
    "A": ("large negative bias initialisation", "initialise the biases at zero"),
    "B": ("nothing wrong", "no change: keep monitoring"),
    "C": ("unscaled inputs", "standardise the inputs"),
    "D": ("learning rate too high", "lower the learning rate or clip gradients"),
    "E": ("nothing wrong", "no change: keep monitoring"),
    "F": ("network too deep and narrow", "make the network shallower or wider"),
}

# (scenario, wrong cause) -> words its hint must contain: what the evidence shows
WRONG_CAUSES = {
    ("A", "network too deep and narrow"): "two hidden layers of 128 units",
    ("A", "learning rate too high"): "No step size can cause that",
    ("A", "too few training steps"): "more steps of nothing give nothing",
    ("A", "unscaled inputs"): "input features lie in [0, 1]",
    ("A", "nothing wrong"): "learns nothing",
    ("B", "network too deep and narrow"): "depth alone is not a diagnosis",
    ("B", "too few training steps"): "no dead-unit problem to diagnose",
    ("B", "learning rate too high"): "healthy range",
    ("B", "large negative bias initialisation"): "mean bias at init is 0",
    ("B", "unscaled inputs"): "input features lie in [0, 1]",
    ("C", "learning rate too high"): "Large inputs give large gradients",
    ("C", "nothing wrong"): "the trap",
    ("C", "too few training steps"): "lowest loss of all",
    ("C", "large negative bias initialisation"): "units were alive at step 0",
    ("C", "network too deep and narrow"): "two hidden layers of 128 units",
    ("D", "unscaled inputs"): "what turns small gradients into large steps",
    ("D", "large negative bias initialisation"): "alive at initialisation",
    ("D", "nothing wrong"): "this run is broken",
    ("D", "too few training steps"): "cannot revive them",
    ("D", "network too deep and narrow"): "two hidden layers of 128 units",
    ("E", "too few training steps"): "nothing to diagnose",
    ("E", "learning rate too high"): "healthy range",
    ("E", "large negative bias initialisation"): "mean bias at init is 0",
    ("E", "unscaled inputs"): "input features lie in [0, 1]",
    ("E", "network too deep and narrow"): "two hidden layers of 128 units",
    ("F", "large negative bias initialisation"): "born dead",
    ("F", "too few training steps"): "more steps of nothing give nothing",
    ("F", "learning rate too high"): "tiny, not large",
    ("F", "unscaled inputs"): "input features lie in [0, 1]",
    ("F", "nothing wrong"): "learns nothing",
}

# (scenario, wrong fix with the right cause) -> words its hint must contain
WRONG_FIXES = {
    ("A", "lower the learning rate or clip gradients"): "not how it moves",
    ("A", "make the network shallower or wider"): "same negative pre-activations",
    ("A", "standardise the inputs"): "input features lie in [0, 1]",
    ("A", "train for more epochs"): "however long it trains",
    ("A", "switch to Adam at the same learning rate"): "none here to rescale",
    ("A", "no change: keep monitoring"): "needs a fix",
    ("B", "make the network shallower or wider"): "needs a reason in the evidence",
    ("B", "train for more epochs"): "needs no fix",
    ("C", "lower the learning rate or clip gradients"): "treats the symptom",
    ("C", "switch to Adam at the same learning rate"): "leaves the data as it is",
    ("C", "no change: keep monitoring"): "do not come back",
    ("D", "switch to Adam at the same learning rate"): "kills the network outright",
    ("D", "train for more epochs"): "cannot bring them back",
    ("D", "standardise the inputs"): "the gradients are small, the steps large",
    ("E", "train for more epochs"): "needs no fix",
    ("F", "initialise the biases at zero"): "already near zero",
    ("F", "train for more epochs"): "training longer changes nothing",
    ("F", "lower the learning rate or clip gradients"): "already tiny or zero",
}

# the hint of a wrong fix not listed above, per scenario
DEFAULT_FIX_HINTS = {
    "A": "where the pre-activations start",
    "B": "needs no change, only monitoring",
    "C": "the scale of the inputs",
    "D": "makes the steps smaller",
    "E": "needs no change, only monitoring",
    "F": "born-dead nets",
}

# settings of the scenarios that the notebook does not show; no hint may name them
HIDDEN_SETTINGS = re.compile(
    r"\blr\b|learning rate (of |is |= ?)?\d|\b0\.05\b|\b1\.0\b|-1\.0|bias_init|he_normal|\bHe init|kaiming|raw "
    r"pixel|scaled=|widths|\(3,\)",
    re.IGNORECASE,
)


def answer(**changes):
    """A well-formed TRIAGE (its diagnoses are arbitrary), with some scenarios replaced."""
    triage = {
        letter: (cause, fix) for letter, cause, fix in zip(SCENARIOS, itertools.cycle(CAUSES), itertools.cycle(FIXES))
    }
    triage.update(changes)
    return triage


def grade(letter, triage):
    """The message of scenario `letter`'s test cell on `triage` (None when it passes)."""
    return run_graded_cell(ASSIGNMENT, f"test_triage_{letter}", {"TRIAGE": triage}, prelude=PRELUDE)


# --- the public check: form only -------------------------------------------------------------
def test_the_lists_are_distinct_and_cover_every_scenario():
    assert len(set(CAUSES)) == len(CAUSES) and len(set(FIXES)) == len(FIXES)
    assert not set(CAUSES) & set(FIXES), "a string in both lists would make the reversed-pair hint ambiguous"
    assert {cause for cause, _ in RIGHT.values()} <= set(CAUSES) and {fix for _, fix in RIGHT.values()} <= set(FIXES)


def test_no_answer_follows_by_elimination():
    """More scenarios than the causes they use, and a cause left over: knowing all but one
    diagnosis does not give the last one."""
    used = [cause for cause, _ in RIGHT.values()]
    assert len(set(used)) < len(used), "some cause fits two scenarios"
    assert set(CAUSES) - set(used), "some cause fits none"


def test_the_letters_follow_no_list_of_the_course():
    order = [CAUSES.index(RIGHT[letter][0]) for letter in SCENARIOS]
    assert order != sorted(order) and order != sorted(order, reverse=True), "the letters follow CAUSES' order"
    old_order = [
        "unscaled inputs",
        "nothing wrong",
        "learning rate too high",
        "network too deep and narrow",
        "large negative bias initialisation",
    ]
    assert [RIGHT[letter][0] for letter in SCENARIOS[:5]] != old_order


@pytest.mark.parametrize(
    "triage",
    [
        answer(),
        answer(A=[CAUSES[1], FIXES[1]]),  # a list instead of a tuple
        {letter: (CAUSES[-1], FIXES[-1]) for letter in SCENARIOS},  # the same answer everywhere
        {letter: (CAUSES[0], FIXES[0]) for letter in reversed(SCENARIOS)},  # any key order
    ],
)
def test_well_formed_answers_pass_whatever_they_diagnose(triage, capsys):
    plain = check_triage(triage)
    assert "well formed" in capsys.readouterr().out
    assert plain == {letter: tuple(triage[letter]) for letter in SCENARIOS}


def test_every_listed_option_is_accepted_in_every_scenario():
    for cause, fix in itertools.product(CAUSES, FIXES):
        check_triage({letter: (cause, fix) for letter in SCENARIOS})


def test_the_check_returns_plain_strings_from_the_lists():
    plain = check_triage(answer())
    assert all(type(cause) is str and type(fix) is str for cause, fix in plain.values())
    assert all(cause in CAUSES and fix in FIXES for cause, fix in plain.values())


@pytest.mark.parametrize(
    "triage, message",
    [
        (None, "is not implemented yet"),  # the stub left as it is
        ([("A", (CAUSES[0], FIXES[0]))], "not a dict"),
        ({k: v for k, v in answer().items() if k != "C"}, "does not answer scenario(s) ['C']"),
        ({k.lower(): v for k, v in answer().items()}, "not scenarios"),
        (answer(G=(CAUSES[0], FIXES[0])), "not scenarios"),
        ({**answer(), 1: (CAUSES[0], FIXES[0])}, "not scenarios"),
        (answer(B=CAUSES[0]), "not a (cause, fix) pair"),
        (answer(B=(CAUSES[0],)), "not a (cause, fix) pair"),
        (answer(B=(CAUSES[0], FIXES[0], "extra")), "not a (cause, fix) pair"),
        (answer(B={CAUSES[0], FIXES[0]}), "not a (cause, fix) pair"),
        (answer(B=None), "not a (cause, fix) pair"),
        (answer(D=(None, FIXES[0])), "the cause is None, not a string"),
        (answer(D=(CAUSES[0], 3)), "the fix is 3, not a string"),
        (answer(D=(0, FIXES[0])), "the cause is 0, not a string"),
        (answer(E=(FIXES[0], CAUSES[0])), "looks reversed"),
        (answer(A=("too high learning rate", FIXES[0])), "is not one of the cause strings listed in CAUSES"),
        (answer(A=(CAUSES[0], "use leaky relu")), "is not one of the fix strings listed in FIXES"),
    ],
)
def test_malformed_answers_fail_with_a_clear_message(triage, message):
    with pytest.raises(AssertionError) as error:
        check_triage(triage)
    assert message in str(error.value)
    assert str(error.value).startswith("TRIAGE: ")
    assert "Hint:" in str(error.value)


def test_a_string_that_overrides_equality_is_rejected():
    class EqualsAnything(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    fake = {letter: (EqualsAnything("x"), EqualsAnything("y")) for letter in SCENARIOS}
    with pytest.raises(AssertionError, match="not a plain str"):
        check_triage(fake)
    for letter in SCENARIOS:  # and the graded cell fails too, with the check's message
        assert "not a plain str" in grade(letter, fake)


def test_a_mapping_that_answers_differently_on_each_read_gets_no_points():
    """The hidden tests grade what the check read (its returned copy), not a second read of TRIAGE."""

    class Shifty(dict):
        def __getitem__(self, key):
            return RIGHT[key]  # the right diagnosis on every read through []

    shifty = Shifty(
        {letter: (CAUSES[4], FIXES[5]) for letter in SCENARIOS}
    )  # what it stores: one wrong answer everywhere
    for letter in SCENARIOS:
        assert grade(letter, shifty) is not None, f"scenario {letter} graded a second read of TRIAGE"


def test_a_crash_inside_the_check_ends_in_a_hint():
    class Unprintable:
        def __repr__(self):
            raise RuntimeError("no repr")

    with pytest.raises(AssertionError) as error:
        check_triage(answer(B=(Unprintable(),)))
    assert "could not be checked" in str(error.value) and "Hint:" in str(error.value)


def test_a_typo_gets_a_suggestion_and_the_valid_choices():
    with pytest.raises(AssertionError) as error:
        check_triage(answer(C=("Learning rate too high ", FIXES[0])))
    text = str(error.value)
    assert "scenario C" in text and "Did you mean 'learning rate too high'?" in text
    assert all(repr(cause) in text for cause in CAUSES), "the message lists every valid cause"


def test_a_fix_typo_lists_the_valid_fixes():
    with pytest.raises(AssertionError) as error:
        check_triage(answer(A=(CAUSES[0], "standardize the inputs")))
    text = str(error.value)
    assert "Did you mean 'standardise the inputs'?" in text
    assert all(repr(fix) in text for fix in FIXES)


# --- the hidden tests: the answer catalogue --------------------------------------------------
def spelled_by_index(triage):
    """The same answer written as CAUSES[i] / FIXES[j], as the exercise allows."""
    return {letter: (CAUSES[CAUSES.index(cause)], FIXES[FIXES.index(fix)]) for letter, (cause, fix) in triage.items()}


@pytest.mark.parametrize("letter", SCENARIOS)
def test_the_right_diagnosis_passes_in_every_spelling(letter):
    assert grade(letter, RIGHT) is None
    assert grade(letter, spelled_by_index(RIGHT)) is None
    assert grade(letter, {k: list(v) for k, v in RIGHT.items()}) is None  # lists for tuples


def test_the_catalogue_covers_every_wrong_cause():
    assert set(WRONG_CAUSES) == {
        (letter, cause) for letter in SCENARIOS for cause in CAUSES if cause != RIGHT[letter][0]
    }


@pytest.mark.parametrize("letter, cause", sorted(WRONG_CAUSES))
def test_a_wrong_cause_fails_with_its_hint(letter, cause):
    message = grade(letter, {**RIGHT, letter: (cause, RIGHT[letter][1])})
    assert message is not None, f"scenario {letter}: the wrong cause {cause!r} passed"
    assert f"scenario {letter}: {cause!r} is not the most likely cause" in message
    assert WRONG_CAUSES[letter, cause] in message, message


@pytest.mark.parametrize(
    "letter, fix", [(letter, fix) for letter in SCENARIOS for fix in FIXES if fix != RIGHT[letter][1]]
)
def test_a_wrong_fix_fails_with_its_hint(letter, fix):
    message = grade(letter, {**RIGHT, letter: (RIGHT[letter][0], fix)})
    assert message is not None, f"scenario {letter}: the wrong fix {fix!r} passed"
    assert f"scenario {letter}: the cause is right, but {fix!r} is not the best first fix" in message
    assert WRONG_FIXES.get((letter, fix), DEFAULT_FIX_HINTS[letter]) in message, message


def test_a_wrong_scenario_costs_only_its_own_cell():
    one_wrong = {**RIGHT, "D": ("unscaled inputs", RIGHT["D"][1])}
    assert [letter for letter in SCENARIOS if grade(letter, one_wrong) is not None] == ["D"]


def all_hint_messages():
    for letter in SCENARIOS:
        for cause in CAUSES:
            if cause != RIGHT[letter][0]:
                yield letter, grade(letter, {**RIGHT, letter: (cause, RIGHT[letter][1])})
        for fix in FIXES:
            if fix != RIGHT[letter][1]:
                yield letter, grade(letter, {**RIGHT, letter: (RIGHT[letter][0], fix)})


def test_hints_name_evidence_not_hidden_settings_nor_other_scenarios():
    for letter, message in all_hint_messages():
        assert not HIDDEN_SETTINGS.search(message), (
            f"scenario {letter}'s hint names a setting the dashboards do not show: {message}"
        )
        for other in SCENARIOS:
            if other != letter:
                assert f"scenario {other}" not in message, f"scenario {letter}'s hint mentions scenario {other}"


def test_a_wrong_cause_hint_never_states_the_right_cause():
    for letter in SCENARIOS:
        cause = RIGHT[letter][0]
        for wrong in CAUSES:
            if wrong != cause:
                message = grade(letter, {**RIGHT, letter: (wrong, RIGHT[letter][1])})
                hint = message.split("is not the most likely cause.", 1)[1]
                assert cause not in hint, f"scenario {letter}: the hint for {wrong!r} states the answer: {hint}"


def test_the_key_in_each_hidden_test_is_this_catalogue():
    for letter, (cause, fix) in RIGHT.items():
        source = graded_cell_source(ASSIGNMENT, f"test_triage_{letter}")
        assert f'assert _cause == "{cause}"' in source and f'assert _fix == "{fix}"' in source
        assert source.index("### BEGIN HIDDEN TESTS") < source.index("assert _cause")
        assert "# Key" in source, "each key says which evidence decides it"
