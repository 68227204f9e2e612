"""The public check of 09_interview_prep: well-formed triage answers pass whatever they
diagnose (the check must not reveal the answers), malformed ones fail with a message that
says what to write. (tests/test_exercises_09_interview_prep.py grades the diagnoses.)"""

import itertools

import pytest

from deadrelu.checks.interview_prep import CAUSES, FIXES, SCENARIOS, check_triage


def answer(**changes):
    """A well-formed TRIAGE (its diagnoses are arbitrary), with some scenarios replaced."""
    triage = {letter: (cause, fix) for letter, cause, fix in zip(SCENARIOS, itertools.cycle(CAUSES), itertools.cycle(FIXES))}
    triage.update(changes)
    return triage


def test_the_lists_are_distinct_and_cover_every_scenario():
    assert len(set(CAUSES)) == len(CAUSES) >= len(SCENARIOS) and len(set(FIXES)) == len(FIXES) >= len(SCENARIOS)
    assert not set(CAUSES) & set(FIXES), "a string in both lists would make the reversed-pair hint ambiguous"


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
    check_triage(triage)
    assert "well formed" in capsys.readouterr().out


def test_every_listed_option_is_accepted_in_every_scenario():
    for cause, fix in itertools.product(CAUSES, FIXES):
        check_triage({letter: (cause, fix) for letter in SCENARIOS})


@pytest.mark.parametrize(
    "triage, message",
    [
        (None, "is not implemented yet"),  # the stub left as it is
        ([("A", (CAUSES[0], FIXES[0]))], "not a dict"),
        ({k: v for k, v in answer().items() if k != "C"}, "does not answer scenario(s) ['C']"),
        ({**{k.lower(): v for k, v in answer().items()}}, "not scenarios"),
        (answer(F=(CAUSES[0], FIXES[0])), "not scenarios"),
        (answer(B=CAUSES[0]), "not a (cause, fix) pair"),
        (answer(B=(CAUSES[0],)), "not a (cause, fix) pair"),
        (answer(B=(CAUSES[0], FIXES[0], "extra")), "not a (cause, fix) pair"),
        (answer(D=(None, FIXES[0])), "the cause is None, not a string"),
        (answer(D=(CAUSES[0], 3)), "the fix is 3, not a string"),
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
