"""Sweep of notebook 04: the other remedies at several settings each, so that the notebook's
verdict at one setting is not an accident of that setting. Ten seeds each (the baseline's
five and five more).

    python scripts/sweeps/04_one_change_settings.py   (from the repository root; about
                                                       3 min on one idle core, one thread)

Every setting changes one thing against `deadrelu.baseline` (digits MLP 64-128-128-10,
default init, SGD lr 0.8, batch 32, 20 epochs of full batches):

    warmup_steps        42 (one epoch) ... 840 (the whole run), linear, to lr 0.8
    weight_decay        1e-5 ... 1e-3
    first-layer rate    lr_scale={"0": factor}: the first Linear at factor x 0.8, the rest at 0.8
    momentum            0.9 at lr 0.8 (one change: momentum), and 0.5 / 0.9 / 0.95 with the lr
                        scaled by (1 - momentum), so that the effective step lr / (1 - momentum)
                        stays 0.8 (one change: how the same step is spread over time)
    Adam, RMSprop       at several rates

Every run stores, per seed, dead % per hidden layer, test accuracy and steps to 90 % test
accuracy (None: never).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a clone without installing

from deadrelu.baseline import TARGET_ACCURACY, TRAINING  # noqa: E402
from deadrelu.lessons.learning_rate_and_optimizers import measure_setting  # noqa: E402
from deadrelu.sweeps import save_sweep  # noqa: E402

NAME = "04_one_change_settings"
SEEDS = tuple(range(10))
LR = TRAINING["lr"]
SETTINGS = [("baseline", {}, {})]
SETTINGS += [(f"warmup {n} steps", {"warmup_steps": n}, {"warmup_steps": n}) for n in (42, 84, 168, 420, 840)]
SETTINGS += [(f"weight decay {wd:g}", {"weight_decay": wd}, {"weight_decay": wd}) for wd in (1e-5, 1e-4, 3e-4, 1e-3)]
SETTINGS += [
    (f"first layer at {f:g} x lr", {"lr_scale": {"0": f}}, {"first_layer_factor": f}) for f in (0.1, 0.25, 0.5)
]
SETTINGS += [("momentum 0.9, lr 0.8", {"momentum": 0.9}, {})]
SETTINGS += [
    (f"momentum {m:g}, lr {LR * (1 - m):.2g}", {"momentum": m, "lr": round(LR * (1 - m), 4)}, {"momentum": m})
    for m in (0.5, 0.9, 0.95)
]
SETTINGS += [
    (f"{name}, lr {lr:g}", {"optimizer": opt, "lr": lr}, {})
    for name, opt, lrs in (
        ("Adam", "adam", (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)),
        ("RMSprop", "rmsprop", (1e-4, 3e-4, 1e-3, 3e-3)),
    )
    for lr in lrs
]


def main():
    settings = []
    for label, changes, extra in SETTINGS:
        settings.append(measure_setting(label, changes, seeds=SEEDS, **extra))
        print(label, "done", flush=True)
    results = {"target_accuracy": TARGET_ACCURACY, "baseline_training": TRAINING, "settings": settings}
    description = (
        "Warmup, weight decay, a lower first-layer rate, momentum, Adam and RMSprop at several settings "
        "on the failing baseline (SGD lr 0.8), seeds 0-9: dead % per layer, test accuracy, steps to 90 %."
    )
    print("wrote", save_sweep(NAME, results, description))


if __name__ == "__main__":
    main()
