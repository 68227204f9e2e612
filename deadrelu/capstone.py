"""The capstone's training setup (notebook 08): one configuration dict, checked, trained
and measured the same way by the notebook and by the grader.

A configuration names every knob of the run: the inputs, the network, the initialisation
and the optimisation. `BROKEN_CONFIG` is the run the student must repair; `evaluate_config`
trains any configuration over the given seeds and says, per seed, whether it meets the bar:
every hidden layer at most `DEAD_LIMIT` dead on the training set and held-out accuracy at
least `ACCURACY_BAR`, within `STEP_BUDGET` optimizer steps.

Training follows the course's one rule for incomplete batches (`training.train`, drop_last):
every optimizer step sees exactly `batch_size` examples, so an epoch of the digits' 1,347
training images at batch 32 is 42 steps, and the step budget is counted with the same
`training.steps_per_epoch`.
"""

from dataclasses import dataclass

from .activations import ACTIVATIONS
from .data import load_digits_split
from .initialization import INIT_SCHEMES
from .models import NORMALIZATIONS, make_mlp
from .monitor import scan
from .training import OPTIMIZERS, steps_per_epoch, train

BROKEN_CONFIG = {
    "inputs": "raw",  # "raw" pixels 0..16, or "scaled" to 0..1
    "hidden": (64, 64, 64, 64),  # widths of the hidden layers
    "activation": "ReLU",
    "normalization": None,  # None, "batch" or "layer"
    "residual": False,
    "init": "default",
    "bias_init": -0.3,  # None keeps the init scheme's biases
    "optimizer": "sgd",
    "lr": 0.5,
    "momentum": 0.0,
    "warmup_steps": 0,
    "clip_grad_norm": None,
    "epochs": 20,
    "batch_size": 32,
}
DEAD_LIMIT = 0.05  # per hidden layer, on the training set after training
ACCURACY_BAR = 0.95  # held-out accuracy
STEP_BUDGET = 1000  # optimizer steps
TRAINING_EXAMPLES = 1347  # the digits' training split (load_digits_split, test_size 0.25); tests check it
CAUSES = (
    "inputs not scaled",
    "learning rate too high",
    "negative bias initialization",
    "batch size too small",
    "too few training epochs",
    "wrong loss function",
)


def check_config(config):
    """Validate a configuration; return it completed with BROKEN_CONFIG's values for missing keys.

    Raises ValueError naming the problem: unknown keys or values, or a run over the budget.
    """
    if not isinstance(config, dict):
        raise ValueError(f"a configuration is a dict like BROKEN_CONFIG, got {type(config).__name__}")
    unknown = sorted(set(config) - set(BROKEN_CONFIG))
    if unknown:
        raise ValueError(f"unknown keys {unknown}; the knobs are {sorted(BROKEN_CONFIG)}")
    c = {**BROKEN_CONFIG, **config}
    choices = {
        "inputs": ("raw", "scaled"), "activation": tuple(ACTIVATIONS), "normalization": NORMALIZATIONS,
        "init": INIT_SCHEMES, "optimizer": tuple(OPTIMIZERS), "residual": (True, False),
    }
    for key, allowed in choices.items():
        if c[key] not in allowed:
            raise ValueError(f"{key}={c[key]!r} is not one of {list(allowed)}")
    if not c["hidden"] or not all(isinstance(w, int) and 1 <= w <= 512 for w in c["hidden"]) or len(c["hidden"]) > 8:
        raise ValueError(f"hidden must be 1 to 8 layer widths between 1 and 512, got {c['hidden']!r}")
    for key, low, high in (("lr", 1e-6, 10.0), ("momentum", 0.0, 0.99)):
        if not isinstance(c[key], (int, float)) or not low <= c[key] <= high:
            raise ValueError(f"{key} must be a number in [{low:g}, {high:g}], got {c[key]!r}")
    if c["bias_init"] is not None and not isinstance(c["bias_init"], (int, float)):
        raise ValueError(f"bias_init must be None or a number, got {c['bias_init']!r}")
    if c["clip_grad_norm"] is not None and not (isinstance(c["clip_grad_norm"], (int, float)) and c["clip_grad_norm"] > 0):
        raise ValueError(f"clip_grad_norm must be None or a positive number, got {c['clip_grad_norm']!r}")
    for key in ("epochs", "batch_size", "warmup_steps"):
        if not isinstance(c[key], int) or c[key] < (0 if key == "warmup_steps" else 1):
            raise ValueError(f"{key} must be a non-negative int, got {c[key]!r}")
    steps = c["epochs"] * steps_per_epoch(TRAINING_EXAMPLES, c["batch_size"])
    if steps > STEP_BUDGET:
        raise ValueError(f"{c['epochs']} epochs at batch size {c['batch_size']} is {steps} optimizer steps; the budget is {STEP_BUDGET}")
    return c


@dataclass
class CapstoneRun:
    seed: int
    dead_fraction: list  # per hidden layer, on the training set after training
    test_accuracy: float
    dead_at_init: list = None  # per hidden layer, on the training set before training
    diverged: bool = False  # the loss became inf or nan: the dead shares of such a run mean nothing

    @property
    def worst_dead(self):
        return max(self.dead_fraction)

    @property
    def passed(self):
        return not self.diverged and self.worst_dead <= DEAD_LIMIT and self.test_accuracy >= ACCURACY_BAR


def evaluate_config(config, seeds=(0,)):
    """Train `config` once per seed (model init and minibatch order) and measure it."""
    c = check_config(config)
    data = load_digits_split(scaled=c["inputs"] == "scaled", seed=0)
    runs = []
    for seed in seeds:
        model = make_mlp(
            (data.n_features, *c["hidden"], data.n_classes), activation=c["activation"], normalization=c["normalization"],
            residual=c["residual"], init=c["init"], bias_init=c["bias_init"], seed=seed,
        )
        at_init = scan(model, data.X_train)
        history = train(
            model, data, optimizer=c["optimizer"], lr=c["lr"], momentum=c["momentum"], warmup_steps=c["warmup_steps"],
            clip_grad_norm=c["clip_grad_norm"], epochs=c["epochs"], batch_size=c["batch_size"], seed=seed, progress=False,
        )
        report = scan(model, data.X_train)
        runs.append(CapstoneRun(seed, [layer.dead_fraction for layer in report.layers], history.final_test_accuracy,
                                [layer.dead_fraction for layer in at_init.layers], history.diverged))
    return runs


def log_experiment(log, label, config, seeds=(0, 1, 2, 3, 4)):
    """Run `config` over `seeds`, append one row to `log` (a list) and return the runs.

    The row says what changed relative to BROKEN_CONFIG, the worst hidden layer's dead % at
    initialisation and after training and the accuracy per seed, and whether every seed
    meets the bar; a seed whose loss diverged reads "diverged" instead of a dead share. The
    returned `CapstoneRun`s (one per seed, in the order of `seeds`) hold the per-seed
    numbers, for comparisons between rows (e.g. `deadrelu.claims.claim_difference`; five
    seeds, the course's minimum for a comparison, are the default).
    """
    c = check_config(config)
    runs = evaluate_config(c, seeds)
    changed = {k: v for k, v in c.items() if BROKEN_CONFIG[k] != v}
    row = {
        "step": len(log) + 1,
        "label": label,
        "changes from BROKEN_CONFIG": ", ".join(f"{k}={v}" for k, v in changed.items()) or "-",
        "worst layer dead % at init per seed": ", ".join(f"{100 * max(r.dead_at_init):.0f}" for r in runs),
        "worst layer dead % per seed": ", ".join("diverged" if r.diverged else f"{100 * r.worst_dead:.0f}" for r in runs),
        "test accuracy % per seed": ", ".join(f"{100 * r.test_accuracy:.1f}" for r in runs),
        "meets the bar": "yes" if all(r.passed for r in runs) else "no",
    }
    log.append(row)
    return runs
