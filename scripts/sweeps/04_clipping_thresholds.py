"""Sweep of notebook 04: gradient-norm clipping at ten thresholds on the failing baseline,
ten seeds each (the baseline's five and five more).

    python scripts/sweeps/04_clipping_thresholds.py   (from the repository root; about
                                                       1.5 min on one idle core, one thread)

One change against `deadrelu.baseline` (digits MLP 64-128-128-10, default init, SGD lr 0.8,
batch 32, 20 epochs of full batches): `clip_grad_norm=max_norm`. The thresholds span the
baseline's measured gradient norms (median about 0.5, 99th percentile about 3.5, notebook 04
section 5), from one that caps almost every step to one that caps almost none. Every run
stores, per seed, dead % per hidden layer, test accuracy, steps to 90 % test accuracy (None:
never) and the % of steps whose gradient norm exceeded the threshold.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a clone without installing

from deadrelu.baseline import TARGET_ACCURACY, TRAINING  # noqa: E402
from deadrelu.lessons.learning_rate_and_optimizers import measure_setting  # noqa: E402
from deadrelu.sweeps import save_sweep  # noqa: E402

NAME = "04_clipping_thresholds"
SEEDS = tuple(range(10))
THRESHOLDS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


def main():
    settings = [measure_setting("baseline", {}, seeds=SEEDS)]
    for max_norm in THRESHOLDS:
        settings.append(
            measure_setting(f"clip {max_norm:g}", {"clip_grad_norm": max_norm}, seeds=SEEDS, max_norm=max_norm)
        )
        print(max_norm, "done", flush=True)
    results = {"target_accuracy": TARGET_ACCURACY, "baseline_training": TRAINING, "settings": settings}
    description = (
        "Gradient-norm clipping at ten thresholds on the failing baseline (SGD lr 0.8), seeds 0-9: "
        "dead % per layer, test accuracy, steps to 90 % test accuracy, % of steps clipped."
    )
    print("wrote", save_sweep(NAME, results, description))


if __name__ == "__main__":
    main()
