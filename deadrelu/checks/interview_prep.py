"""Public check of notebook 09_interview_prep: the triage answer `TRIAGE`.

The check validates the format and that every choice comes from the published lists; it
does not know which diagnosis is right (the autograder's hidden tests do). It returns the
answer as a plain dict of plain (cause, fix) string pairs, copied from CAUSES and FIXES, so
the hidden tests compare plain values: an object that poses as a string (a str subclass
that overrides ==) or a mapping that answers differently on each read cannot pass.
"""

import difflib

from ..lessons.interview_prep import SCENARIOS
from ._common import fail, graded_check

#: The causes a student picks from, one per scenario (a cause may fit several scenarios, or none).
CAUSES = (
    "learning rate too high",
    "unscaled inputs",
    "large negative bias initialisation",
    "network too deep and narrow",
    "too few training steps",
    "nothing wrong",
)

#: The first fixes a student picks from, one per scenario (a fix may fit several scenarios, or none).
FIXES = (
    "lower the learning rate or clip gradients",
    "standardise the inputs",
    "initialise the biases at zero",
    "make the network shallower or wider",
    "switch to Adam at the same learning rate",
    "train for more epochs",
    "no change: keep monitoring",
)


def _choice(value, options, name, where, kind, listing):
    """The listed option `value` names, as the list's own string (so that no object posing as one passes)."""
    if type(value) is not str:
        what = (
            f"{value!r}, not a string" if not isinstance(value, str) else f"a {type(value).__name__}, not a plain str"
        )
        fail(
            name,
            f"{where}: the {kind} is {what}.",
            f"copy one of the {kind} strings listed in {listing} (or write {listing}[i]).",
        )
    matches = [option for option in options if option == value]
    if not matches:
        close = difflib.get_close_matches(value.strip().lower(), options, n=1, cutoff=0.5)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        listed = "\n    ".join(repr(option) for option in options)
        fail(
            name,
            f"{where}: {value!r} is not one of the {kind} strings listed in {listing}.{suggestion}",
            f"copy the text exactly (or write {listing}[i]); the valid choices are:\n    {listed}",
        )
    return matches[0]


@graded_check(
    "TRIAGE", expects="a dict from each scenario letter to a (cause, fix) pair of strings from CAUSES and FIXES"
)
def check_triage(triage):
    """TRIAGE maps every scenario letter to (cause, first fix), both chosen from CAUSES / FIXES.

    Returns the answer as a plain dict {letter: (cause, fix)} of the listed strings; each
    value of TRIAGE is read once."""
    name = "TRIAGE"
    if triage is None:
        fail(
            name,
            "is not implemented yet: it is still None.",
            'in the answer cell, replace `raise NotImplementedError()` with TRIAGE = {"A": (cause, fix), ...}.',
        )
    if not isinstance(triage, dict):
        fail(
            name,
            f"is a {type(triage).__name__}, not a dict.",
            'write it as {"A": (cause, fix), "B": (cause, fix), ...}.',
        )
    entries = {key: dict.__getitem__(triage, key) for key in dict.keys(triage)}  # the stored values, read once
    odd = [key for key in entries if type(key) is not str or key not in SCENARIOS]
    if odd:
        fail(
            name,
            f"has keys {odd!r} that are not scenarios.",
            f"use exactly the scenario letters {list(SCENARIOS)} as keys (capital letters, as strings).",
        )
    missing = [s for s in SCENARIOS if s not in entries]
    if missing:
        fail(
            name,
            f"does not answer scenario(s) {missing}.",
            f"give one (cause, fix) pair for each of {list(SCENARIOS)}.",
        )
    plain = {}
    for scenario in SCENARIOS:
        answer = entries[scenario]
        where = f"scenario {scenario}"
        if type(answer) not in (tuple, list) or len(answer) != 2:
            fail(
                name,
                f"{where}: the answer is {answer!r}, not a (cause, fix) pair.",
                "each value is a tuple of two strings: first the most likely cause, then the first fix to try.",
            )
        cause, fix = tuple(answer)
        if type(cause) is str and cause not in CAUSES and type(fix) is str and fix in CAUSES:
            fail(
                name,
                f"{where}: the pair looks reversed ({fix!r} is a cause).",
                "put the cause first and the fix second.",
            )
        plain[scenario] = (
            _choice(cause, CAUSES, name, where, "cause", "CAUSES"),
            _choice(fix, FIXES, name, where, "fix", "FIXES"),
        )
    print(
        f"TRIAGE is well formed: {len(SCENARIOS)} scenarios, each with a listed cause and fix. "
        "The autograder's hidden tests check the diagnoses, one scenario per test cell."
    )
    return plain
