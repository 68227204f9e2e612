"""Public checks of notebook 08_capstone_diagnose_and_fix.

They check the form of the hand-in and run the fixed configuration once on the notebook's
seed; the grader retrains it on fresh seeds that are not in the notebook.
"""

import difflib

from ..capstone import ACCURACY_BAR, BROKEN_CONFIG, CAUSES, DEAD_LIMIT, check_config, evaluate_config
from ._common import fail


def check_diagnosis(diagnosis):
    """DIAGNOSIS must be a set (or list) of causes taken from CAUSES, without repeats."""
    name = "DIAGNOSIS"
    if diagnosis is None:
        fail(name, "is not implemented yet.", "replace `raise NotImplementedError()` with DIAGNOSIS = {...}.")
    if isinstance(diagnosis, str) or not isinstance(diagnosis, (set, list, tuple, frozenset)):
        fail(name, f"is a {type(diagnosis).__name__}; it should be a set of causes, e.g. {{\"{CAUSES[0]}\", ...}}.")
    if not diagnosis:
        fail(name, "is empty.", "name every cause you found, each exactly as written in CAUSES.")
    for cause in diagnosis:
        if cause not in CAUSES:
            close = difflib.get_close_matches(str(cause), CAUSES, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            fail(name, f"contains {cause!r}, which is not one of the listed causes.", f"{hint}choose from: {', '.join(map(repr, CAUSES))}.")
    if len(set(diagnosis)) != len(list(diagnosis)):
        fail(name, "names a cause twice.")
    print(f"DIAGNOSIS is well formed: {len(set(diagnosis))} of the {len(CAUSES)} listed causes chosen. "
          "Whether they are the right ones is graded when you hand in.")


def check_fixed_config(fixed_config):
    """FIXED_CONFIG must be a valid configuration within budget, and meet the bar on seed 0."""
    name = "FIXED_CONFIG"
    if fixed_config is None:
        fail(name, "is not implemented yet.", "replace `raise NotImplementedError()` with FIXED_CONFIG = {**BROKEN_CONFIG, ...}.")
    try:
        config = check_config(fixed_config)
    except ValueError as error:
        fail(name, f"is not a valid configuration: {error}.")
    if config == BROKEN_CONFIG:
        fail(name, "is still BROKEN_CONFIG.", "apply your fixes: e.g. {**BROKEN_CONFIG, \"some_knob\": new_value}.")
    (run,) = evaluate_config(config, seeds=(0,))
    if run.diverged:
        fail(name, "makes the loss diverge (inf or nan) on seed 0, so its dead shares mean nothing.",
             "the steps are far too large: look at the learning rate and the scale of the inputs.")
    dead = ", ".join(f"{100 * d:.0f}%" for d in run.dead_fraction)
    summary = f"on seed 0: dead per hidden layer {dead}; test accuracy {100 * run.test_accuracy:.1f}%"
    if run.worst_dead > DEAD_LIMIT:
        fail(name, f"{summary}: a hidden layer is above the {100 * DEAD_LIMIT:.0f}% limit.",
             "some units still die. Look at which layer, measure again, and fix the cause rather than the seed.")
    if run.test_accuracy < ACCURACY_BAR:
        fail(name, f"{summary}: below the {100 * ACCURACY_BAR:.0f}% accuracy bar.",
             "the units live but the network does not learn well enough within the budget.")
    print(f"FIXED_CONFIG meets the bar {summary}. The grader retrains it on fresh seeds: make sure your log shows it on several.")
