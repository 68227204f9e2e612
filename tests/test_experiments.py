"""Seeded experiments and their summaries: diverged runs are flagged, never averaged in."""

import pytest

from deadrelu.data import load_digits_split
from deadrelu.experiments import (
    RunResult,
    accuracy_percent,
    dead_percent,
    dormant_percent,
    finished,
    remedy_row,
    run_seeds,
    summary_row,
)
from deadrelu.models import make_mlp


def result(seed, dead, accuracy, diverged=False, dormant=None):
    return RunResult(
        seed=seed,
        layers=["1", "3"],
        dead_fraction=dead,
        dormant_fraction=dormant or dead,
        test_accuracy=accuracy,
        diverged=diverged,
    )


def test_per_seed_values_in_percent_and_in_seed_order():
    runs = [result(0, [0.5, 0.1], 0.9), result(1, [0.25, 0.0], 0.8, dormant=[0.3, 0.2])]
    assert dead_percent(runs) == [50.0, 25.0] and dead_percent(runs, layer=1) == [10.0, 0.0]
    assert dormant_percent(runs, layer=1) == [10.0, 20.0]
    assert accuracy_percent(runs) == pytest.approx([90.0, 80.0])


def test_diverged_runs_are_left_out_of_the_means_and_counted():
    runs = [result(0, [0.4, 0.1], 0.9), result(1, [0.0, 0.0], 0.1, diverged=True), result(2, [0.2, 0.1], 0.7)]
    assert [r.seed for r in finished(runs)] == [0, 2]
    row = summary_row(runs, change="x")
    assert row["dead % hidden 1"] == "30.0 ± 14.1"  # seeds 0 and 2 only: the diverged 0 % is not averaged in
    assert row["test accuracy %"] == "80.0 ± 14.1"
    assert row["seeds"] == "3 (1 diverged)"


def test_all_diverged_reads_diverged_not_a_number():
    runs = [result(s, [0.0, 0.0], 0.1, diverged=True) for s in range(2)]
    row = summary_row(runs)
    assert row["dead % hidden 1"] == row["test accuracy %"] == "diverged" and row["seeds"] == "2 (2 diverged)"


def test_run_seeds_marks_a_diverged_run_and_remedy_row_counts_steps_of_finished_runs_only():
    digits = load_digits_split(seed=0)
    runs = run_seeds(
        lambda s: make_mlp((64, 32, 32, 10), seed=s), digits, seeds=(0, 1), progress=False, lr=1e6, steps=200
    )
    assert all(r.diverged for r in runs)
    row = remedy_row(runs, target_accuracy=0.5)
    assert row["steps to 50% test acc."] == "never" and row["seeds"] == "2 (2 diverged)"
    healthy = run_seeds(
        lambda s: make_mlp((64, 16, 10), seed=s),
        digits,
        seeds=(0,),
        progress=False,
        lr=0.2,
        epochs=3,
        batch_size=32,
        eval_every=20,
    )
    assert not healthy[0].diverged and remedy_row(healthy, 0.5)["seeds"] == 1
