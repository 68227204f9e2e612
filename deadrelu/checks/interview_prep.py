"""Public check of notebook 09_interview_prep: the triage answer `TRIAGE`.

The check validates the format and that every choice comes from the published lists; it
does not know which diagnosis is right (the autograder's hidden tests do).
"""

import difflib

from ._common import fail

SCENARIOS = ("A", "B", "C", "D", "E")

#: The causes a student picks from, one per scenario.
CAUSES = (
    "learning rate too high",
    "unscaled inputs",
    "large negative bias initialisation",
    "network too deep and narrow",
    "too few training steps",
    "nothing wrong",
)

#: The first fixes a student picks from, one per scenario.
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
    if not isinstance(value, str):
        fail(name, f"{where}: the {kind} is {value!r}, not a string.", f"copy one of the {kind} strings listed in {listing}.")
    if value not in options:
        close = difflib.get_close_matches(value.strip().lower(), options, n=1, cutoff=0.5)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        listed = "\n    ".join(repr(option) for option in options)
        fail(name, f"{where}: {value!r} is not one of the {kind} strings listed in {listing}.{suggestion}",
             f"copy the text exactly (or write {listing}[i]); the valid choices are:\n    {listed}")
    return value


def check_triage(triage):
    """TRIAGE maps every scenario letter to (cause, first fix), both chosen from CAUSES / FIXES."""
    name = "TRIAGE"
    if triage is None:
        fail(name, "is not implemented yet: it is still None.",
             'replace `raise NotImplementedError()` with TRIAGE = {"A": (cause, fix), ...}.')
    if not isinstance(triage, dict):
        fail(name, f"is a {type(triage).__name__}, not a dict.",
             'write it as {"A": (cause, fix), "B": (cause, fix), ...}.')
    missing = [s for s in SCENARIOS if s not in triage]
    extra = [k for k in triage if k not in SCENARIOS]
    if extra:
        fail(name, f"has keys {extra!r} that are not scenarios.", f"use exactly the scenario letters {list(SCENARIOS)} as keys (capital letters, as strings).")
    if missing:
        fail(name, f"does not answer scenario(s) {missing}.", f"give one (cause, fix) pair for each of {list(SCENARIOS)}.")
    for scenario in SCENARIOS:
        answer = triage[scenario]
        where = f"scenario {scenario}"
        if isinstance(answer, str) or not isinstance(answer, (tuple, list)) or len(answer) != 2:
            fail(name, f"{where}: the answer is {answer!r}, not a (cause, fix) pair.",
                 "each value is a tuple of two strings: first the most likely cause, then the first fix to try.")
        cause, fix = answer
        if isinstance(cause, str) and cause not in CAUSES and fix in CAUSES:
            fail(name, f"{where}: the pair looks reversed ({fix!r} is a cause).", "put the cause first and the fix second.")
        _choice(cause, CAUSES, name, where, "cause", "CAUSES")
        _choice(fix, FIXES, name, where, "fix", "FIXES")
    print(f"TRIAGE is well formed: {len(SCENARIOS)} scenarios, each with a listed cause and fix. "
          "The autograder's hidden tests check the diagnoses, one scenario per test cell.")
