"""Notebook 08 (the capstone): does each fault of BROKEN_CONFIG matter, and does the reference
fix meet the bar on seeds it was never tuned on?

On seeds 0-9, every configuration below changes BROKEN_CONFIG in the way its name says:

    broken                       BROKEN_CONFIG as given
    fix only <cause>             one fault repaired, the other two left in
    three fixes                  all three faults repaired
    three fixes but <cause>      all repaired but one (leave-one-out): if the run gets worse
                                 on every seed, that fault is a cause in its own right
    reference fix                the three fixes and batch norm (notebook 08's model answer)

and the reference fix again on twenty fresh seeds, 1000-1019, the way the grader retrains a
hand-in. Every run stores, per seed, the dead share of each hidden layer on the training set,
and at initialisation, the held-out accuracy and whether it meets the bar
(deadrelu.lessons.capstone_diagnose_and_fix.evaluate_config).

Run from the repository root (about a minute on one idle core, one thread):

    python scripts/sweeps/08_capstone_causes.py
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a clone without installing

from deadrelu.lessons.capstone_diagnose_and_fix import ACCURACY_BAR, BROKEN_CONFIG, DEAD_LIMIT, evaluate_config  # noqa: E402
from deadrelu.sweeps import save_sweep  # noqa: E402

NAME = "08_capstone_causes"
SEEDS = tuple(range(10))
FRESH_SEEDS = tuple(range(1000, 1020))
FIXES = {  # cause (as spelled in CAUSES) -> the change that repairs it
    "inputs not scaled": {"inputs": "scaled"},
    "learning rate too high": {"lr": 0.2},  # the rate at which the course's baseline keeps its units
    "negative bias initialization": {"bias_init": 0.0},
}
THREE_FIXES = {key: value for fix in FIXES.values() for key, value in fix.items()}
REFERENCE_FIX = {**THREE_FIXES, "normalization": "batch"}


def configurations():
    """name -> changes to BROKEN_CONFIG."""
    configs = {"broken": {}}
    configs.update({f"fix only: {cause}": fix for cause, fix in FIXES.items()})
    configs["three fixes"] = THREE_FIXES
    configs.update(
        {
            f"three fixes but: {cause}": {**THREE_FIXES, **{k: BROKEN_CONFIG[k] for k in fix}}
            for cause, fix in FIXES.items()
        }
    )
    configs["reference fix"] = REFERENCE_FIX
    return configs


def measured(changes, seeds):
    runs = evaluate_config({**BROKEN_CONFIG, **changes}, seeds=seeds)
    return {
        "changes": changes,
        "seeds": list(seeds),
        "dead % per layer": [[100 * d for d in r.dead_fraction] for r in runs],
        "dead % per layer at init": [[100 * d for d in r.dead_at_init] for r in runs],
        "test accuracy %": [100 * r.test_accuracy for r in runs],
        "diverged": [r.diverged for r in runs],
        "passed": [r.passed for r in runs],
    }


def main():
    torch.set_num_threads(1)
    rows = {}
    for name, changes in configurations().items():
        rows[name] = measured(changes, SEEDS)
        print(f"{name}: meets the bar on {sum(rows[name]['passed'])} of {len(SEEDS)} seeds", flush=True)
    rows["reference fix, fresh seeds"] = measured(REFERENCE_FIX, FRESH_SEEDS)
    print(
        f"reference fix, fresh seeds: meets the bar on {sum(rows['reference fix, fresh seeds']['passed'])} of "
        f"{len(FRESH_SEEDS)}"
    )
    results = {
        "broken_config": {k: list(v) if isinstance(v, tuple) else v for k, v in BROKEN_CONFIG.items()},
        "dead_limit": DEAD_LIMIT,
        "accuracy_bar": ACCURACY_BAR,
        "fixes": FIXES,
        "rows": rows,
    }
    path = save_sweep(
        NAME,
        results,
        "The capstone's broken run with one fault repaired at a time, all three repaired, "
        "all but one repaired (leave-one-out) and the reference fix, seeds 0-9; the "
        "reference fix also on fresh seeds 1000-1019.",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
