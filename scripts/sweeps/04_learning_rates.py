"""Sweep of notebook 04: what a lower learning rate costs. Plain SGD on the failing baseline
at eight learning rates, ten seeds each (the baseline's five and five more).

    python scripts/sweeps/04_learning_rates.py      (from the repository root; about 1 min
                                                     on one idle core, one thread)

One change against `deadrelu.baseline` (digits MLP 64-128-128-10, default init, SGD lr 0.8,
batch 32, 20 epochs of full batches): the learning rate. Every run stores, per seed, dead %
per hidden layer, test accuracy and the steps until the test accuracy first reached 90 %
(measured every 20 steps; None when it never did).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a clone without installing

from deadrelu.baseline import TARGET_ACCURACY, TRAINING  # noqa: E402
from deadrelu.lessons.learning_rate_and_optimizers import measure_setting  # noqa: E402
from deadrelu.sweeps import save_sweep  # noqa: E402

NAME = "04_learning_rates"
SEEDS = tuple(range(10))
LEARNING_RATES = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.65, 0.8)


def main():
    settings = []
    for lr in LEARNING_RATES:
        label = "baseline" if lr == TRAINING["lr"] else f"lr {lr:g}"
        settings.append(measure_setting(label, {"lr": lr}, seeds=SEEDS, lr=lr))
        print(label, "done", flush=True)
    results = {"target_accuracy": TARGET_ACCURACY, "baseline_training": TRAINING, "settings": settings}
    description = (
        "Plain SGD at eight learning rates on the failing baseline, seeds 0-9: dead % per layer, "
        "test accuracy, steps to 90 % test accuracy."
    )
    print("wrote", save_sweep(NAME, results, description))


if __name__ == "__main__":
    main()
