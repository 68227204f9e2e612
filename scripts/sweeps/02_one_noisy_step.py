"""Sweep of notebook 02, "one noisy step": what a tiny last batch and smaller batches do at a
high learning rate. Ten seeds (the baseline's five and five more).

    python scripts/sweeps/02_one_noisy_step.py      (from the repository root; about 4 min
                                                     on one idle core, one thread)

Everything is the failing baseline of `deadrelu.baseline` (digits MLP 64-128-128-10, default
init, plain SGD, batch 32, 20 epochs, full batches only) with one change:

* "last_batch": learning rate 0.5 or 0.8, each with full batches only (drop_last=True) and
  with the 3-example last batch of every epoch kept (drop_last=False). Besides dead % per
  layer and accuracy, every run is followed step by step: a `DeadUnitTracker` scans the
  whole training set after every step (first-layer units dead on it), and the loss on the
  whole training set is measured before and after every step. Per run it stores where the
  first-layer deaths happened — in the last step of an epoch (the short step when it is
  kept), or in it and the 5 steps after it, a window of 6 of the epoch's 42 or 43 steps,
  against anywhere else — how the whole-set loss changed at the last step of an epoch and at the
  other steps, and the mean gradient norm at both (`History.grad_norm`).
  First-layer units on fixed data cannot revive under plain SGD (notebook 02, section 7), so
  every increase of the dead count is a death.
* "batch_size": learning rate 0.5, full batches of 8, 16, 32 or 64 for 20 epochs; and 8 for
  5 epochs and 16 for 10 epochs, which take as many steps as 32 for 20 epochs (840), so
  that "smaller batches" is not "more steps".
"""

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a clone without installing

import torch  # noqa: E402

from deadrelu.baseline import MODEL, TRAINING, WIDTHS  # noqa: E402
from deadrelu.data import load_digits_split  # noqa: E402
from deadrelu.models import make_mlp  # noqa: E402
from deadrelu.monitor import scan  # noqa: E402
from deadrelu.sweeps import save_sweep  # noqa: E402
from deadrelu.tracking import DeadUnitTracker  # noqa: E402
from deadrelu.training import steps_per_epoch, train  # noqa: E402

NAME = "02_one_noisy_step"
SEEDS = tuple(range(10))
WINDOW = 5  # steps after the last step of an epoch that count as "right after it"


def whole_set_loss(model, data):
    with torch.no_grad():
        return torch.nn.functional.cross_entropy(model(data.X_train), data.y_train).item()


def follow_run(data, seed, lr, drop_last):
    """One baseline run at `lr` with `drop_last`, followed step by step."""
    model = make_mlp(WIDTHS, seed=seed, **MODEL)
    tracker = DeadUnitTracker(model, every=1, probe=data.X_train)
    losses = [whole_set_loss(model, data)]
    dead_at_init = round(scan(model, data.X_train).layers[0].dead_fraction * WIDTHS[1])
    history = train(
        model,
        data,
        seed=seed,
        progress=False,
        tracker=tracker,
        callbacks=[lambda step, m, opt: losses.append(whole_set_loss(m, data))],
        **{**TRAINING, "lr": lr, "drop_last": drop_last},
    )
    report = scan(model, data.X_train)
    epoch_steps = steps_per_epoch(len(data.X_train), TRAINING["batch_size"], drop_last)
    dead = [dead_at_init] + [round(f * WIDTHS[1]) for f in history.tracking.layers[report.layers[0].name].dead_fraction]
    steps = range(1, len(dead))  # step s moves dead[s - 1] -> dead[s]

    def is_last(s):
        return s % epoch_steps == 0

    def in_window(s):  # the last step of an epoch, or one of the WINDOW steps after it
        return is_last(s) or (s > epoch_steps and (s - 1) % epoch_steps < WINDOW)

    deaths = {s: max(dead[s] - dead[s - 1], 0) for s in steps}
    loss_change = {s: losses[s] - losses[s - 1] for s in steps}
    last_steps = [s for s in steps if is_last(s)]
    other_steps = [s for s in steps if not is_last(s)]
    return {
        "seed": seed,
        "dead_percent": [100 * layer.dead_fraction for layer in report.layers],
        "accuracy_percent": 100 * history.final_test_accuracy,
        "diverged": history.diverged,
        "steps_per_epoch": epoch_steps,
        "first_layer_dead_at_init": dead_at_init,
        "first_layer_deaths": sum(deaths.values()),
        "first_layer_deaths_in_window": sum(v for s, v in deaths.items() if in_window(s)),
        "first_layer_deaths_at_last_step": sum(v for s, v in deaths.items() if is_last(s)),
        "window_share_of_steps": sum(in_window(s) for s in steps) / len(steps),
        "loss_change_last_step": statistics.fmean(loss_change[s] for s in last_steps),
        "loss_change_other_steps": statistics.fmean(loss_change[s] for s in other_steps),
        "last_steps_raising_loss": sum(loss_change[s] > 0 for s in last_steps) / len(last_steps),
        "other_steps_raising_loss": sum(loss_change[s] > 0 for s in other_steps) / len(other_steps),
        "grad_norm_last_step": statistics.fmean(history.grad_norm[s - 1] for s in last_steps),
        "grad_norm_other_steps": statistics.fmean(history.grad_norm[s - 1] for s in other_steps),
    }


def batch_run(data, seed, batch_size, epochs, lr=0.5):
    model = make_mlp(WIDTHS, seed=seed, **MODEL)
    history = train(
        model, data, seed=seed, progress=False, **{**TRAINING, "lr": lr, "batch_size": batch_size, "epochs": epochs}
    )
    report = scan(model, data.X_train)
    return {
        "seed": seed,
        "dead_percent": [100 * layer.dead_fraction for layer in report.layers],
        "accuracy_percent": 100 * history.final_test_accuracy,
        "diverged": history.diverged,
        "steps": len(history.steps),
    }


def main():
    torch.set_num_threads(1)
    data = load_digits_split(scaled=True, seed=0)
    last_batch = []
    for lr in (0.5, 0.8):
        for drop_last in (True, False):
            runs = [follow_run(data, seed, lr, drop_last) for seed in SEEDS]
            last_batch.append({"lr": lr, "drop_last": drop_last, "runs": runs})
            print(
                f"lr {lr}, drop_last={drop_last}: first layer dead",
                [round(r["dead_percent"][0]) for r in runs],
                flush=True,
            )
    batch_size = []
    for size, epochs in ((8, 20), (16, 20), (32, 20), (64, 20), (8, 5), (16, 10)):
        runs = [batch_run(data, seed, size, epochs) for seed in SEEDS]
        batch_size.append({"lr": 0.5, "batch_size": size, "epochs": epochs, "runs": runs})
        print(
            f"batch {size}, {epochs} epochs: first layer dead", [round(r["dead_percent"][0]) for r in runs], flush=True
        )
    results = {
        "seeds": list(SEEDS),
        "window": WINDOW,
        "baseline_training": TRAINING,
        "last_batch": last_batch,
        "batch_size": batch_size,
    }
    description = (
        "The failing baseline with one change, seeds 0-9: lr 0.5 and 0.8 with and without the "
        "3-example last batch (followed step by step: where first-layer units die, the loss on the "
        "whole training set at the last step of each epoch and elsewhere, gradient norms); and lr 0.5 "
        "with full batches of 8, 16, 32, 64 (20 epochs) and of 8 and 16 at the steps of batch 32."
    )
    print("wrote", save_sweep(NAME, results, description))


if __name__ == "__main__":
    main()
