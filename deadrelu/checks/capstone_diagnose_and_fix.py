"""Public checks of notebook 08_capstone_diagnose_and_fix.

They check the form of the hand-in and run the fixed configuration once on the notebook's
seed; the grader retrains it on FRESH_SEED_COUNT fresh seeds that are not in the notebook, and
reads the experiment log for the experiment behind each cause of the diagnosis. Whether the
diagnosis is right is not said here: that is what is graded.
"""

import difflib

from ..lessons.capstone_diagnose_and_fix import (
    ACCURACY_BAR,
    BROKEN_CONFIG,
    CAUSES,
    DEAD_LIMIT,
    FRESH_SEED_COUNT,
    PASSES_NEEDED,
    check_config,
    evaluate_config,
    is_log_row,
)
from ._common import fail, graded_check


@graded_check("DIAGNOSIS", expects="a set of causes spelled as in CAUSES, and LOG the list log_experiment filled")
def check_diagnosis(diagnosis, log=None):
    """DIAGNOSIS must be a set (or list) of causes taken from CAUSES, without repeats; LOG (when
    given) the list `log_experiment` appends its rows to."""
    name = "DIAGNOSIS"
    if diagnosis is None:
        fail(name, "is not implemented yet.", "replace `raise NotImplementedError()` with DIAGNOSIS = {...}.")
    if isinstance(diagnosis, str) or not isinstance(diagnosis, (set, list, tuple, frozenset)):
        fail(name, f'is a {type(diagnosis).__name__}; it should be a set of causes, e.g. {{"{CAUSES[0]}", ...}}.')
    if not diagnosis:
        fail(name, "is empty.", "name every cause you found, each exactly as written in CAUSES.")
    for cause in diagnosis:
        if cause not in CAUSES:
            close = difflib.get_close_matches(str(cause), CAUSES, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            fail(
                name,
                f"contains {cause!r}, which is not one of the listed causes.",
                f"{hint}choose from: {', '.join(map(repr, CAUSES))}.",
            )
    if len(set(diagnosis)) != len(list(diagnosis)):
        fail(name, "names a cause twice.")
    if log is not None:
        if not isinstance(log, list) or not any(is_log_row(row) for row in log):
            fail(
                "LOG",
                "holds no experiments made by log_experiment.",
                "the grader reads LOG for the experiment behind each cause you name: keep the list that "
                "log_experiment(LOG, ...) filled, and do not rebuild its rows by hand.",
            )
    print(
        f"DIAGNOSIS is well formed: {len(set(diagnosis))} of the {len(CAUSES)} listed causes chosen. Whether they are "
        "the right ones, and whether LOG holds the experiment behind each, is graded when you hand in."
    )


@graded_check("FIXED_CONFIG", expects='a configuration dict like BROKEN_CONFIG, e.g. {**BROKEN_CONFIG, "knob": value}')
def check_fixed_config(fixed_config):
    """FIXED_CONFIG must be a valid configuration within budget, and meet the bar on seed 0."""
    name = "FIXED_CONFIG"
    if fixed_config is None:
        fail(
            name,
            "is not implemented yet.",
            "replace `raise NotImplementedError()` with FIXED_CONFIG = {**BROKEN_CONFIG, ...}.",
        )
    try:
        config = check_config(fixed_config)
    except ValueError as error:
        fail(name, f"is not a valid configuration: {error}.")
    if config == BROKEN_CONFIG:
        fail(name, "is still BROKEN_CONFIG.", 'apply your fixes: e.g. {**BROKEN_CONFIG, "some_knob": new_value}.')
    (run,) = evaluate_config(config, seeds=(0,), measure_init=False)
    if run.diverged:
        fail(
            name,
            "makes the loss diverge (inf or nan) on seed 0, so its dead shares mean nothing.",
            "the steps are far too large: look at the learning rate and the scale of the inputs.",
        )
    dead = ", ".join(f"{100 * d:.0f}%" for d in run.dead_fraction)
    summary = f"on seed 0: dead per hidden layer {dead}; test accuracy {100 * run.test_accuracy:.1f}%"
    if run.worst_dead > DEAD_LIMIT:
        fail(
            name,
            f"{summary}: a hidden layer is above the {100 * DEAD_LIMIT:.0f}% limit.",
            "some units still die. Look at which layer, measure again, and fix the cause rather than the seed.",
        )
    if run.test_accuracy < ACCURACY_BAR:
        fail(
            name,
            f"{summary}: below the {100 * ACCURACY_BAR:.0f}% accuracy bar.",
            "the units live but the network does not learn well enough within the budget.",
        )
    print(
        f"FIXED_CONFIG meets the bar {summary}. The grader retrains it on {FRESH_SEED_COUNT} fresh seeds and needs "
        f"{PASSES_NEEDED} of them to meet the bar: make sure your log shows it on several."
    )
