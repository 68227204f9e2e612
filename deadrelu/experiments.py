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
    seconds: float = 0.0  # training time
    history: object = field(repr=False, default=None)

    def steps_to_accuracy(self, target):
        """First evaluation step with test accuracy >= target (None if never; needs eval_every)."""
        return self.history.steps_to_accuracy(target)


def run_seeds(build_model, data, seeds=(0, 1, 2), tau=0.1, progress=True, description="runs", **train_kwargs):
    """Train `build_model(seed)` on `data` once per seed; return a RunResult per seed.

    `train_kwargs` go to `training.train` (lr=, epochs=, optimizer=, ...); each run uses
    its own seed for the minibatch order too. Models whose loss diverged are measured as
    they are, and flagged `diverged`: `summary_row` and the claims leave them out of means.
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
                seconds=history.seconds,
                history=history,
            )
        )
    return results


def dead_percent(results, layer=0):
    """Per-seed dead % of hidden layer `layer` (0 = first), in the order of the seeds."""
    return [100 * r.dead_fraction[layer] for r in results]


def dormant_percent(results, layer=0):
    """Per-seed τ-dormant % of hidden layer `layer` (0 = first)."""
    return [100 * r.dormant_fraction[layer] for r in results]


def accuracy_percent(results):
    """Per-seed held-out accuracy in %."""
    return [100 * r.test_accuracy for r in results]


def finished(results):
    """The runs whose loss stayed finite. A diverged run's units are measured on weights full
    of inf/nan, so its dead or dormant share means nothing (it often reads 0 %): summaries
    leave those runs out and say how many there were."""
    return [r for r in results if not r.diverged]


def mean_and_spread(values):
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summary_row(results, **label):
    """One table row: the label columns, then dead % per hidden layer (numbered 1, 2, ... in
    forward order) and accuracy, as mean ± std over seeds.

    Diverged runs (see `finished`) are left out of the means; the "seeds" column then says
    how many diverged ("5 (2 diverged)"), and every mean reads "diverged" when all did."""
    row = dict(label)
    kept = finished(results)
    for i in range(len(results[0].layers)):  # by position, so models with extra modules line up
        row[f"dead % hidden {i + 1}"] = _mean_text(100 * r.dead_fraction[i] for r in kept)
    row["test accuracy %"] = _mean_text(100 * r.test_accuracy for r in kept)
    lost = len(results) - len(kept)
    row["seeds"] = f"{len(results)} ({lost} diverged)" if lost else len(results)
    return row


def _mean_text(values):
    values = list(values)
    if not values:
        return "diverged"
    mean, spread = mean_and_spread(values)
    return f"{mean:.1f} ± {spread:.1f}"


def remedy_row(results, target_accuracy=None, **label):
    """`summary_row` plus, when `target_accuracy` is given, the steps to reach it (mean over
    the seeds that reach it; "never" when none does) and the training time per run."""
    row = summary_row(results, **label)
    if target_accuracy is not None:
        steps = [r.steps_to_accuracy(target_accuracy) for r in finished(results)]
        reached = [s for s in steps if s is not None]
        key = f"steps to {100 * target_accuracy:.0f}% test acc."
        row[key] = (
            "never"
            if not reached
            else f"{statistics.fmean(reached):.0f}"
            + ("" if len(reached) == len(steps) else f" ({len(reached)}/{len(steps)} seeds)")
        )
    row["seconds per run"] = f"{statistics.fmean(r.seconds for r in results):.2f}"
    return row
