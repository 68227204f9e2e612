"""Seeded experiments: train the same configuration over several seeds and summarise.

Introduced in notebook 02_how_units_die; notebooks 04-08 compare remedies with it. Every
run builds a fresh model from its seed, trains it with `training.train`, then measures
dead units on the training inputs with `monitor.scan` (eval mode, the whole set) and the
held-out accuracy.
"""

import statistics
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from .monitor import scan
from .training import train


@dataclass
class RunResult:
    seed: int
    layers: list  # activation layer names, forward order
    dead_fraction: list  # per layer, on the training inputs after training
    dormant_fraction: list  # per layer, τ-dormant
    test_accuracy: float
    diverged: bool
    history: object = field(repr=False, default=None)


def run_seeds(build_model, data, seeds=(0, 1, 2), tau=0.1, progress=True, description="runs", **train_kwargs):
    """Train `build_model(seed)` on `data` once per seed; return a RunResult per seed.

    `train_kwargs` go to `training.train` (lr=, epochs=, optimizer=, ...); each run uses
    its own seed for the minibatch order too. Models whose loss diverged are measured as
    they are (their units are usually all dead).
    """
    results = []
    for seed in tqdm(list(seeds), desc=description, disable=not progress, leave=False):
        model = build_model(seed)
        history = train(model, data, seed=seed, progress=False, **train_kwargs)
        report = scan(model, data.X_train, tau=tau)
        results.append(
            RunResult(
                seed=seed,
                layers=[layer.name for layer in report.layers],
                dead_fraction=[layer.dead_fraction for layer in report.layers],
                dormant_fraction=[layer.dormant_fraction for layer in report.layers],
                test_accuracy=history.final_test_accuracy,
                diverged=history.diverged,
                history=history,
            )
        )
    return results


def mean_and_spread(values):
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summary_row(results, **label):
    """One table row: the label columns, then dead % per layer and accuracy as mean ± std over seeds."""
    row = dict(label)
    for i, name in enumerate(results[0].layers):
        mean, spread = mean_and_spread(100 * r.dead_fraction[i] for r in results)
        row[f"dead % layer {name}"] = f"{mean:.1f} ± {spread:.1f}"
    mean, spread = mean_and_spread(100 * r.test_accuracy for r in results)
    row["test accuracy %"] = f"{mean:.1f} ± {spread:.1f}"
    row["seeds"] = len(results)
    return row
