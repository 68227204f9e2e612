"""Sweep of notebook 07: do dead units cost accuracy? Revive them and compare, at five widths.

    python scripts/sweeps/07_width_and_recycling.py   (from the repository root; about 1 min
                                                       on one idle core, one thread)

One change at a time against `deadrelu.baseline` (digits MLP 64-W-W-10, default init, plain
SGD at lr 0.8, batch 32, 20 epochs of full batches), over ten seeds (the baseline's five and
five more): the width W of both hidden layers (8, 16, 32, 64, 128; 128 is the baseline), and
ReDo on or off. ReDo runs every 50 steps with τ = 0, so it recycles exactly the dead units and
nothing else: the only thing it changes is whether dead units stay dead. (Plain SGD keeps no
optimizer state, so there is no state to reset.)

Every run stores, per seed: dead % per hidden layer after training (on the whole training
set), test accuracy, whether the loss diverged, and, with ReDo, the units recycled per layer
and the step of the last round that found a dead unit.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a clone without installing

from deadrelu.baseline import WIDTHS, baseline_runs  # noqa: E402
from deadrelu.data import load_digits_split  # noqa: E402
from deadrelu.recycling import ReDo  # noqa: E402
from deadrelu.sweeps import save_sweep  # noqa: E402

NAME = "07_width_and_recycling"
HIDDEN_WIDTHS = (8, 16, 32, 64, 128)
SEEDS = tuple(range(10))
PERIOD, TAU = 50, 0.0


def widths(width):
    return (WIDTHS[0], width, width, WIDTHS[-1])


def run(width, recycling, seed, data):
    """One run of the sweep: the baseline at `width` units per hidden layer, ReDo on or off."""
    redo = (
        ReDo(data.X_train, period=PERIOD, tau=TAU, seed=seed) if recycling else None
    )  # fresh weights drawn from the run's seed
    (result,) = baseline_runs(
        data, seeds=(seed,), widths=widths(width), callbacks=[redo] if redo else [], progress=False
    )
    row = {
        "seed": seed,
        "dead_percent": [100 * f for f in result.dead_fraction],
        "test_accuracy_percent": 100 * result.test_accuracy,
        "diverged": result.diverged,
    }
    if redo is not None:
        row["recycled_per_layer"] = redo.recycled
        row["last_round_with_a_dead_unit"] = max((r.step for r in redo.rounds if any(r.dead.values())), default=None)
    return row


def main():
    data = load_digits_split(scaled=True, seed=0)
    results = []
    for width in HIDDEN_WIDTHS:
        for recycling in (False, True):
            print(f"width {width}, ReDo {'on' if recycling else 'off'}", flush=True)
            results.append(
                {"width": width, "redo": recycling, "runs": [run(width, recycling, seed, data) for seed in SEEDS]}
            )
    description = (
        f"Failing baseline (SGD lr 0.8, batch 32, 20 epochs, full batches) with both hidden layers W units wide, "
        f"W in {HIDDEN_WIDTHS}, ReDo (every {PERIOD} steps, tau {TAU}: exactly the dead units) off and on, seeds "
        f"{SEEDS[0]}-{SEEDS[-1]}. Per run: dead % per hidden layer, test accuracy %, diverged; with ReDo the units "
        "recycled per layer."
    )
    path = save_sweep(NAME, results, description)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
