"""Sweep of notebook 06: every activation of the ReLU family on the failing baseline, at six
learning rates, over the baseline's five seeds; and SELU in the set-up its paper asks for.

    python scripts/sweeps/06_activations.py      (from the repository root; 300 runs, a few
                                                  minutes on one idle core, one thread)

One change at a time against `deadrelu.baseline` (digits MLP 64-128-128-10, plain SGD,
batch 32, 20 epochs of full batches): the activation, and the learning rate. SELU's
self-normalising property assumes LeCun-normal weights (N(0, 1/fan_in)) and standardised
inputs (Klambauer et al. 2017), which the baseline does not have, so the sweep also runs

    SELU, LeCun-normal init, pixels in [0, 1]      (one change: the init)
    SELU, LeCun-normal init, standardised pixels   (and the inputs)
    ReLU, default init, standardised pixels        (ReLU given the same inputs, for a fair comparison)

Every run stores, per seed: dead % (τ-dormant for activations that can be negative) and
τ-dormant % per hidden layer, the % of units never > 0 and with a constant output, test
accuracy, steps to 90 % test accuracy, whether the loss diverged, the largest |parameter|,
the learned PReLU slopes and the training time per step (noisy on a shared machine: notebook 06
measures time per step itself).
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a clone without installing

from deadrelu.lessons.activations_and_architecture import KeepModels, measure_runs  # noqa: E402
from deadrelu.baseline import SEEDS, TRAINING, WIDTHS, baseline_runs  # noqa: E402
from deadrelu.data import load_digits_split  # noqa: E402
from deadrelu.sweeps import save_sweep  # noqa: E402

NAME = "06_activations"
ACTIVATIONS = ("ReLU", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU")
LEARNING_RATES = (0.1, 0.2, 0.5, 0.8, 1.0, 1.2)
SET_UPS = (  # (activation, init, inputs) besides the baseline's (default init, pixels in [0, 1])
    ("SELU", "lecun_normal", "pixels"),
    ("SELU", "lecun_normal", "standardized"),
    ("ReLU", "default", "standardized"),
)


def measure(activation, lr, init, inputs, data):
    keep = KeepModels()
    runs = baseline_runs(data[inputs], activation=activation, lr=lr, init=init, callbacks=[keep], progress=False)
    per_seed = measure_runs(runs, keep.models, data[inputs].X_train)
    return {"activation": activation, "lr": lr, "init": init, "inputs": inputs, "per_seed": per_seed}


def main():
    torch.set_num_threads(1)
    data = {
        "pixels": load_digits_split(scaled=True, seed=0),
        "standardized": load_digits_split(scaled=True, seed=0, standardized=True),
    }
    configurations = [(a, lr, "default", "pixels") for a in ACTIVATIONS for lr in LEARNING_RATES]
    configurations += [(a, lr, init, inputs) for a, init, inputs in SET_UPS for lr in LEARNING_RATES]
    rows = []
    for i, (activation, lr, init, inputs) in enumerate(configurations, 1):
        rows.append(measure(activation, lr, init, inputs, data))
        accuracy = rows[-1]["per_seed"]["accuracy"]
        print(
            f"[{i}/{len(configurations)}] {activation:9} lr {lr:<4} {init:12} {inputs:12} "
            f"accuracy {', '.join(f'{a:.0f}' for a in accuracy)} %",
            flush=True,
        )
    description = (
        f"The failing baseline {WIDTHS} ({TRAINING}) with one change: the activation (PyTorch's default "
        f"parameter; PReLU's slope learned from 0.25) at learning rates {list(LEARNING_RATES)}, seeds {list(SEEDS)}; "
        "plus SELU with LeCun-normal init on [0, 1] pixels and on standardised pixels, and ReLU on standardised "
        "pixels. Per seed (deadrelu.lessons.activations_and_architecture.measure_runs): dead % (τ-dormant, "
        "τ = 0.1, for activations that can be negative), τ-dormant %, % never > 0 and % with a constant output per "
        "hidden layer, test accuracy %, steps to 90 %, diverged, largest |parameter|, learned PReLU slopes (first, "
        "second layer; unit measurements, largest parameter and slopes are None for a diverged run), ms per training "
        "step (one thread, noisy)."
    )
    path = save_sweep(NAME, {"seeds": list(SEEDS), "learning_rates": list(LEARNING_RATES), "rows": rows}, description)
    print("wrote", path)


if __name__ == "__main__":
    main()
