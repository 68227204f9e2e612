"""What notebook 08's grader costs: one capstone run, and the 40 fresh seeds of the rule.

    .venv/bin/python benchmarks/08_capstone_grading_time.py [--config model|reference] [--seeds 40]

Times, for a configuration (the model answer without batch norm, or the reference fix with
it): one training run of 840 steps on one thread, with and without the dead shares at
initialisation; the grader's FRESH_SEED_COUNT seeds trained one after another; and the same
seeds in `grading_workers()` processes, as the hidden tests train them. Prints seconds, and
the verdict of the rule (at least PASSES_NEEDED of them meet the bar). Measure on an idle
machine: other processes on the same cores slow every line down.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deadrelu.lessons.capstone_diagnose_and_fix import (
    BROKEN_CONFIG,
    FRESH_SEED_COUNT,
    PASSES_NEEDED,
    evaluate_config,
    grading_workers,
)  # noqa: E402

CONFIGS = {
    "model": {**BROKEN_CONFIG, "inputs": "scaled", "lr": 0.1, "momentum": 0.7, "bias_init": 0.5},
    "reference": {**BROKEN_CONFIG, "inputs": "scaled", "lr": 0.2, "bias_init": 0.0, "normalization": "batch"},
}


def timed(label, fn):
    started = time.perf_counter()
    result = fn()
    print(f"{label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", choices=sorted(CONFIGS), default="model")
    parser.add_argument("--seeds", type=int, default=FRESH_SEED_COUNT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config, seeds = CONFIGS[args.config], range(4000, 4000 + args.seeds)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; grading workers: {grading_workers()}")
    evaluate_config(config, seeds=(0,))  # warm up: imports, data, first allocations
    timed("one run, with the dead shares at initialisation", lambda: evaluate_config(config, seeds=(1,)))
    timed(
        "one run, the grader's way (measure_init=False)",
        lambda: evaluate_config(config, seeds=(1,), measure_init=False),
    )
    timed(f"{args.seeds} seeds in one process", lambda: evaluate_config(config, seeds=seeds, measure_init=False))
    runs = timed(
        f"{args.seeds} seeds in {grading_workers()} processes",
        lambda: evaluate_config(config, seeds=seeds, workers=grading_workers(), measure_init=False),
    )
    passes = sum(r.passed for r in runs)
    print(
        f"meets the bar on {passes} of {len(runs)}: the rule (at least {PASSES_NEEDED} of {FRESH_SEED_COUNT}) "
        f"{'passes' if passes >= PASSES_NEEDED else 'fails'} it"
    )


if __name__ == "__main__":
    main()
