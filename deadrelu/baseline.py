"""The failing baseline that notebooks 04-07 repair, one change at a time.

Notebook 02 found it: the digits MLP 64-128-128-10 with PyTorch's default initialisation,
trained with plain SGD at learning rate 0.8 for 20 epochs of full batches of 32 (no short
last batch: see `training.train`'s drop_last), loses a large share of its first-layer units
over five seeds while its accuracy still looks fine; at lr 0.2, the one change, it keeps
them. Every remedy is compared with exactly this, changing one thing:
`baseline_runs(lr=0.2)` changes the learning rate, `baseline_runs(activation="LeakyReLU")`
the activation, and so on.

(The course's first baseline, lr 0.5, trained on a 3-example batch at the end of every
epoch; that one noisy step, not the learning rate, caused most of its deaths. Notebook 02's
"one noisy step" section shows it.)
"""

from .data import load_digits_split
from .experiments import run_seeds
from .models import make_mlp

WIDTHS = (64, 128, 128, 10)
SEEDS = (0, 1, 2, 3, 4)
TRAINING = {"optimizer": "sgd", "lr": 0.8, "epochs": 20, "batch_size": 32, "drop_last": True, "eval_every": 20}
MODEL = {"activation": "ReLU", "normalization": None, "residual": False, "init": "default", "bias_init": None}
TARGET_ACCURACY = 0.9  # for "steps to reach": the baseline gets there, slower remedies show it


def baseline_runs(data=None, seeds=SEEDS, widths=WIDTHS, progress=True, description=None, **changes):
    """Run the baseline over `seeds` with `changes` applied; returns `experiments.RunResult`s.

    `changes` may name any `make_mlp` argument (activation=, normalization=, residual=,
    init=, bias_init=) or `train` argument (lr=, optimizer=, warmup_steps=, clip_grad_norm=,
    epochs=, ...). Unknown names raise a TypeError from `train`.
    """
    data = data if data is not None else load_digits_split(scaled=True, seed=0)
    model_args = {**MODEL, **{k: v for k, v in changes.items() if k in MODEL}}
    train_args = {**TRAINING, **{k: v for k, v in changes.items() if k not in MODEL}}
    label = description or (", ".join(f"{k}={v}" for k, v in changes.items()) or "baseline")
    return run_seeds(
        lambda seed: make_mlp(widths, seed=seed, **model_args),
        data,
        seeds,
        progress=progress,
        description=label,
        **train_args,
    )
