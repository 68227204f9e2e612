"""Notebook 08 (the capstone): does the grader's rule follow a configuration's pass rate?

The grader retrains FIXED_CONFIG on `capstone.FRESH_SEED_COUNT` fresh seeds and passes it
when at least `capstone.PASSES_NEEDED` of them meet the bar. This script measures, for
configurations that span the range of pass rates a student can hand in, how often each
meets the bar on 40 seeds it is never graded on (0-39: its pass rate), and what the grader
says on its own seeds (GRADER_SEEDS, the same as the notebook's hidden test). It also
stores the rule's exact binomial probability of passing a configuration whose pass rate is
p (deadrelu.lessons.capstone_diagnose_and_fix.rule_pass_probability), for p from 0.70 to 0.95.

Run from the repository root (80 runs per configuration, about 0.5 s each on one idle core;
`--workers 2` uses two processes):

    python scripts/sweeps/08_capstone_pass_rates.py [--workers 2] [--only NAME ...]
"""

import argparse
import json
import sys
from multiprocessing import get_context
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a clone without installing

from deadrelu.lessons.capstone_diagnose_and_fix import (
    BROKEN_CONFIG,
    FRESH_SEED_COUNT,
    PASSES_NEEDED,
    evaluate_config,
    rule_pass_probability,
)  # noqa: E402
from deadrelu.sweeps import RESULTS, save_sweep  # noqa: E402

NAME = "08_capstone_pass_rates"
RATE_SEEDS = tuple(range(40))
GRADER_SEEDS = tuple(range(4000, 4000 + FRESH_SEED_COUNT))  # as in the notebook's hidden tests
THREE_FIXES = {"inputs": "scaled", "lr": 0.2, "bias_init": 0.0}
CONFIGURATIONS = {  # name -> changes to BROKEN_CONFIG
    "model answer (no batch norm): scaled, lr 0.1 with momentum 0.7, bias 0.5": {
        "inputs": "scaled",
        "lr": 0.1,
        "momentum": 0.7,
        "bias_init": 0.5,
    },
    "scaled, lr 0.1 with momentum 0.7, bias 0.3": {"inputs": "scaled", "lr": 0.1, "momentum": 0.7, "bias_init": 0.3},
    "reference fix (three fixes + batch norm)": {**THREE_FIXES, "normalization": "batch"},
    "batch norm alone": {"normalization": "batch"},
    "three fixes + He init": {**THREE_FIXES, "init": "he_normal"},
    "scaled, lr 0.2, bias 0.1": {**THREE_FIXES, "bias_init": 0.1},
    "three fixes": THREE_FIXES,
    "lr 0.1 alone": {"lr": 0.1},
}


def one_run(job):
    changes, seed = job
    torch.set_num_threads(1)
    (run,) = evaluate_config({**BROKEN_CONFIG, **changes}, seeds=(seed,))
    return {
        "seed": seed,
        "passed": run.passed,
        "alive": not run.diverged and run.worst_dead <= 0.05,
        "diverged": run.diverged,
        "worst dead %": 100 * run.worst_dead,
        "test accuracy %": 100 * run.test_accuracy,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="configuration names to (re)run (default: those not stored yet)")
    args = parser.parse_args()
    path = RESULTS / f"{NAME}.json"
    stored = json.loads(path.read_text())["results"]["rows"] if path.exists() else {}
    rows = {
        name: stored[name]
        for name in CONFIGURATIONS
        if name in stored and stored[name]["changes"] == CONFIGURATIONS[name]
    }
    names = args.only or [name for name in CONFIGURATIONS if name not in rows]
    with get_context("fork").Pool(args.workers) as pool:
        for name in names:
            changes = CONFIGURATIONS[name]
            rate = pool.map(one_run, [(changes, s) for s in RATE_SEEDS])
            graded = pool.map(one_run, [(changes, s) for s in GRADER_SEEDS])
            passes = sum(r["passed"] for r in graded)
            rows[name] = {
                "changes": changes,
                "rate seeds": rate,
                "grader seeds": graded,
                "pass rate": sum(r["passed"] for r in rate) / len(rate),
                "grader passes": passes,
                "grader verdict": "pass" if passes >= PASSES_NEEDED else "fail",
            }
            print(
                f"{name}: meets the bar on {sum(r['passed'] for r in rate)}/40 seeds; grader: "
                f"{passes}/{len(GRADER_SEEDS)} -> {rows[name]['grader verdict']}",
                flush=True,
            )
            save({name: rows[name] for name in CONFIGURATIONS if name in rows})


def save(rows):
    results = {
        "rule": {
            "fresh seeds": FRESH_SEED_COUNT,
            "passes needed": PASSES_NEEDED,
            "grader seeds": list(GRADER_SEEDS),
            "rate seeds": list(RATE_SEEDS),
        },
        "binomial": {str(p): rule_pass_probability(p) for p in (0.95, 0.9, 0.85, 0.8, 0.75, 0.7)},
        "rows": rows,
    }
    save_sweep(
        NAME,
        results,
        "Pass rates of capstone configurations on 40 seeds (0-39) and the grader's verdict on its own "
        f"{FRESH_SEED_COUNT} fresh seeds (at least {PASSES_NEEDED} must meet the bar).",
    )


if __name__ == "__main__":
    main()
