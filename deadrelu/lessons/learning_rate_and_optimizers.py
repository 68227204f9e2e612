"""Notebook 04 (learning_rate_and_optimizers): remedies compared with the baseline, one change at a time.

Per-seed measurements of a row of runs beside `experiments.dead_percent` and
`accuracy_percent`: steps to the target accuracy, update-to-weight ratios, gradient norms and
the share of steps that clipping caps; `DeadShareRecorder` records dead units over the steps
of every seed, `plot_dead_share_over_steps` and `plot_gradient_norms` draw them. The stored
sweeps of `scripts/sweeps/04_*.py` are measured, tabulated and plotted by `measure_setting`,
`sweep_table` and `plot_sweep_record`; the last section runs the arms of section 10's design
exercise (`design_arm`, `run_arm`, `show_design`).
"""

from matplotlib.ticker import NullFormatter
import statistics
import torch

from ..baseline import SEEDS, TARGET_ACCURACY, baseline_runs
from ..claims import compare
from ..experiments import accuracy_percent, dead_percent
from ..figures import axes_or_new, panels_or_new
from ..monitor import scan
from ..tables import Table


# --- per-seed measurements of one row (a list of experiments.RunResult) ------------------------
def steps_to_target(results, target=TARGET_ACCURACY):
    """Per-seed training steps until the held-out accuracy first reached `target` (measured
    every `eval_every` steps, so to that resolution). Raises ValueError naming the seeds that
    never reached it: a mean of "steps to reach" over runs that never arrive means nothing."""
    steps = [r.steps_to_accuracy(target) for r in results]
    missing = [r.seed for r, s in zip(results, steps) if s is None]
    if missing:
        raise ValueError(
            f"seeds {missing} never reached {100 * target:g} % test accuracy; compare their accuracy instead"
        )
    return steps


def _ratios(result, weight):
    ratios = result.history.update_ratio.get(weight)
    if not ratios:
        raise ValueError(f"seed {result.seed}: no update ratios for {weight!r}; run with record_update_ratio=True")
    return ratios


def median_update_ratio(results, weight="0.weight", first=None):
    """Per-seed median of ||ΔW|| / ||W|| for `weight` over the first `first` steps (all steps
    when None). Needs runs made with record_update_ratio=True."""
    return [statistics.median(_ratios(r, weight)[:first]) for r in results]


def largest_update_ratio(results, weight="0.weight"):
    """Per-seed largest single-step ||ΔW|| / ||W|| for `weight` (record_update_ratio=True)."""
    return [max(_ratios(r, weight)) for r in results]


def gradient_norms(results):
    """Every step's global gradient norm (before any clipping), all seeds pooled, as a tensor."""
    return torch.cat([torch.tensor(r.history.grad_norm) for r in results])


def clipped_percent(results, max_norm):
    """Per-seed % of steps whose gradient norm exceeded `max_norm`: the steps clipping shrinks."""
    return [100 * statistics.fmean(n > max_norm for n in r.history.grad_norm) for r in results]


def median_gradient_norm(results, start=0, stop=None):
    """Per-seed median gradient norm over steps [start, stop) (0-based)."""
    return [statistics.median(r.history.grad_norm[start:stop]) for r in results]


class DeadShareRecorder:
    """Training callback: dead % of every hidden layer on `probe` (e.g. the training inputs),
    every `every` steps, one record per run. Pass it to `baseline_runs(callbacks=[recorder])`:
    each run starts a new record at its first step, so after five seeds `runs` holds five.

    `scan` measures in eval mode on the whole probe, as the remedy tables do at the end.
    """

    def __init__(self, probe, every=42):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.probe, self.every, self.runs = probe, every, []

    def __call__(self, step, model, optimizer):
        if step == 1:
            self.runs.append({"steps": [], "dead": []})
        if step % self.every == 0:
            report = scan(model, self.probe)
            self.runs[-1]["steps"].append(step)
            self.runs[-1]["dead"].append([100 * layer.dead_fraction for layer in report.layers])

    def dead_at(self, step, layer=0):
        """Per-run dead % of hidden layer `layer` at the first snapshot at or after `step`."""
        values = []
        for run in self.runs:
            index = next((i for i, s in enumerate(run["steps"]) if s >= step), None)
            if index is None:
                raise ValueError(f"no snapshot at or after step {step}; the last one is at step {run['steps'][-1]}")
            values.append(run["dead"][index][layer])
        return values


def plot_dead_share_over_steps(recorders, layer=0, marks=None, ax=None):
    """Mean dead % of hidden layer `layer` over training steps (band: ± std over seeds), one
    line per `recorders` entry (label -> DeadShareRecorder). `marks` (label -> step) draws a
    dotted vertical line, e.g. where a warmup ends. Returns the figure."""
    if not recorders:
        raise ValueError("recorders is empty")
    fig, ax = axes_or_new(ax, (7.5, 3.6))
    for i, (label, recorder) in enumerate(recorders.items()):
        steps = recorder.runs[0]["steps"]
        dead = torch.tensor([[snapshot[layer] for snapshot in run["dead"]] for run in recorder.runs])
        mean, spread = dead.mean(dim=0), dead.std(dim=0) if len(dead) > 1 else torch.zeros(dead.shape[1])
        ax.plot(steps, mean, color=f"C{i}", marker=".", label=f"{label} ({len(dead)} seeds)")
        ax.fill_between(steps, mean - spread, mean + spread, color=f"C{i}", alpha=0.15)
        if marks and label in marks:
            ax.axvline(marks[label], color=f"C{i}", ls=":", lw=1.5)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"dead units, hidden {layer + 1} (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Dead units over training (mean ± std over seeds)")
    return fig


def verdicts_against(results, baseline, target=TARGET_ACCURACY):
    """A Table with one row per entry of `results` (label -> runs on the same seeds as
    `baseline`): the course's verdict (`claims.compare`: "lower", "higher" or "no clear
    difference") on each hidden layer's dead %, the test accuracy and the steps to `target`,
    against the `baseline` runs. Steps are compared only when every seed reaches the target.
    Seeds where either run diverged are left out of the pairs (`experiments.finished`), and the
    row says so."""
    rows = []
    for label, runs in results.items():
        if runs is baseline:
            continue
        pairs = [
            (r, b) for r, b in zip(runs, baseline) if not (r.diverged or b.diverged)
        ]  # a diverged run's units mean nothing
        row = {"change": label}
        if len(pairs) < 2:  # nothing left to compare
            columns = [f"dead % hidden {i + 1}" for i in range(len(runs[0].layers))] + [
                "test accuracy",
                f"steps to {100 * target:g} %",
            ]
            rows.append(
                {**row, **{column: f"diverged ({len(runs) - len(pairs)}/{len(runs)} seeds)" for column in columns}}
            )
            continue
        kept, base = [r for r, _ in pairs], [b for _, b in pairs]
        for i in range(len(runs[0].layers)):
            row[f"dead % hidden {i + 1}"] = compare(dead_percent(kept, i), dead_percent(base, i)).verdict
        row["test accuracy"] = compare(accuracy_percent(kept), accuracy_percent(base)).verdict
        steps, base_steps = [r.steps_to_accuracy(target) for r in kept], [b.steps_to_accuracy(target) for b in base]
        reached = sum(s is not None for s in steps)
        row[f"steps to {100 * target:g} %"] = (
            compare(steps, base_steps).verdict
            if reached == len(steps) and None not in base_steps
            else f"({reached}/{len(steps)} seeds reach it)"
        )
        if len(pairs) < len(runs):
            row["change"] += f" ({len(runs) - len(pairs)} diverged, left out)"
        rows.append(row)
    return Table(
        rows, title=f"Each row against the baseline, same {len(baseline)} seeds (lower / higher / no clear difference)"
    )


def plot_gradient_norms(norms, thresholds=(), ax=None):
    """Histogram of gradient norms (log-spaced bins) with each clipping threshold marked and
    the share of steps above it in the legend. Returns the figure."""
    norms = torch.as_tensor(norms, dtype=torch.float64)
    fig, ax = axes_or_new(ax, (7.5, 3.4))
    low, high = max(norms.min().item(), 1e-4), norms.max().item()
    bins = torch.logspace(torch.log10(torch.tensor(low)).item(), torch.log10(torch.tensor(high)).item(), 60)
    ax.hist(norms.clamp(min=low).numpy(), bins=bins.numpy(), color="0.6")
    for i, threshold in enumerate(thresholds):
        above = 100 * (norms > threshold).double().mean().item()
        ax.axvline(threshold, color=f"C{i}", lw=1.5, label=f"max_norm {threshold:g}: {above:.1f} % of steps above")
    ax.set_xscale("log")
    ax.set_xlabel("global gradient norm of one step (before clipping)")
    ax.set_ylabel("steps")
    ax.set_title(f"Gradient norms of {len(norms)} steps")
    ax.grid(alpha=0.3)
    if thresholds:
        ax.legend(fontsize=8)
    return fig


# --- stored sweeps (scripts/sweeps/04_*.py) ------------------------------------------------------
def measure_setting(label, changes, seeds=SEEDS, target=TARGET_ACCURACY, data=None, **extra):
    """Run the baseline with `changes` over `seeds` and return a JSON-able record of per-seed
    values: dead % per hidden layer, test accuracy %, steps to `target` (None: never), whether
    the loss diverged, and the % of steps whose gradient norm exceeded the clipping limit (when
    `changes` has clip_grad_norm). `extra` is stored as is (e.g. the swept value)."""
    runs = baseline_runs(data, seeds=seeds, progress=False, description=label, **changes)
    record = {
        "label": label,
        **extra,
        "changes": dict(changes),
        "seeds": [r.seed for r in runs],
        "dead_percent": [dead_percent(runs, i) for i in range(len(runs[0].layers))],
        "accuracy_percent": accuracy_percent(runs),
        "steps_to_target": [r.steps_to_accuracy(target) for r in runs],
        "diverged": [r.diverged for r in runs],
    }
    if changes.get("clip_grad_norm"):
        record["clipped_percent"] = clipped_percent(runs, changes["clip_grad_norm"])
    return record


def setting(record, label):
    """The stored setting called `label` in a sweep record (see `measure_setting`)."""
    for entry in record["results"]["settings"]:
        if entry["label"] == label:
            return entry
    raise KeyError(
        f"no setting {label!r} in sweep {record['name']!r}; "
        f"it has {[e['label'] for e in record['results']['settings']]}"
    )


def _paired_verdict(entry, base, layer=0):
    """`claims.compare`'s verdict on dead % of hidden `layer`, over the seeds where neither run diverged."""
    pairs = [
        (a, b)
        for a, b, da, db in zip(
            entry["dead_percent"][layer], base["dead_percent"][layer], entry["diverged"], base["diverged"]
        )
        if not (da or db)
    ]
    return compare([a for a, _ in pairs], [b for _, b in pairs]).verdict if len(pairs) > 1 else "diverged"


def _mean_text(values, empty="never"):
    values = [v for v in values if v is not None]
    if not values:
        return empty
    return f"{statistics.fmean(values):.1f} ± {statistics.stdev(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


def sweep_table(record, labels=None, baseline="baseline", title=None):
    """One row per stored setting (those called `labels`, in that order; None: all): dead %
    per hidden layer, accuracy, steps to the target (mean ± std over the seeds that reach it,
    and how many do), and the course's verdict on the first layer's dead % against the
    `baseline` setting (same seeds)."""
    base = setting(record, baseline)
    entries = record["results"]["settings"] if labels is None else [setting(record, label) for label in labels]
    rows = []
    for entry in entries:
        row = {"setting": entry["label"]}
        finished = [not d for d in entry["diverged"]]  # a diverged run's units mean nothing: left out of the means
        for i, dead in enumerate(entry["dead_percent"]):
            row[f"dead % hidden {i + 1}"] = _mean_text((v for v, keep in zip(dead, finished) if keep), empty="diverged")
        row["test accuracy %"] = _mean_text(
            (v for v, keep in zip(entry["accuracy_percent"], finished) if keep), empty="diverged"
        )
        steps = [v for v, keep in zip(entry["steps_to_target"], finished) if keep]
        reached = sum(s is not None for s in steps)
        row["steps to target"] = _mean_text(steps) + (
            "" if reached == len(steps) else f" ({reached}/{len(steps)} seeds)"
        )
        if any("clipped_percent" in e for e in entries):
            row["% of steps clipped"] = _mean_text(entry["clipped_percent"]) if "clipped_percent" in entry else "—"
        row["hidden 1 vs baseline"] = "—" if entry is base else _paired_verdict(entry, base)
        row["seeds"] = (
            len(entry["seeds"])
            if not any(entry["diverged"])
            else f"{len(entry['seeds'])} ({sum(entry['diverged'])} diverged)"
        )
        rows.append(row)
    return Table(rows, title=title or record["description"].split("\n")[0])


def plot_sweep_record(record, value_key, xlabel, baseline="baseline", axes=None, log_x=True):
    """Two panels against the swept value (`value_key` of each setting): left, dead % per
    hidden layer (mean ± std over seeds); right, steps to the target accuracy (mean ± std over
    the seeds that reach it). The `baseline` setting is drawn as horizontal dashed lines."""
    fig, axes = panels_or_new(axes, 2, (11, 3.6), "(dead %, steps to target)")
    ax_dead, ax_steps = axes
    base = setting(record, baseline)
    swept = sorted((e for e in record["results"]["settings"] if value_key in e), key=lambda e: e[value_key])
    base_apart = value_key not in base  # e.g. "no clipping": a dashed line, not a point
    x = [e[value_key] for e in swept]
    for i in range(len(base["dead_percent"])):
        dead = torch.tensor([e["dead_percent"][i] for e in swept], dtype=torch.float64)
        ax_dead.errorbar(
            x, dead.mean(dim=1), yerr=dead.std(dim=1), marker="o", capsize=3, color=f"C{i}", label=f"hidden {i + 1}"
        )
        if base_apart:
            ax_dead.axhline(
                statistics.fmean(base["dead_percent"][i]),
                color=f"C{i}",
                ls="--",
                lw=1,
                label=f"hidden {i + 1}, {baseline}",
            )
    ax_dead.set_ylabel("dead units on the training set (%)")
    ax_dead.set_ylim(-3, 103)
    means, spreads, xs = [], [], []
    for value, entry in zip(x, swept):
        reached = [s for s in entry["steps_to_target"] if s is not None]
        if len(reached) > 1:
            xs.append(value)
            means.append(statistics.fmean(reached))
            spreads.append(statistics.stdev(reached))
    ax_steps.errorbar(xs, means, yerr=spreads, marker="o", capsize=3, color="black")
    base_steps = [s for s in base["steps_to_target"] if s is not None]
    if base_apart and base_steps:
        ax_steps.axhline(statistics.fmean(base_steps), color="black", ls="--", lw=1, label=baseline)
        ax_steps.legend(fontsize=8)
    ax_steps.set_ylabel(f"steps to {100 * record['results']['target_accuracy']:g} % test accuracy")
    ax_steps.set_ylim(bottom=0)
    seeds = len(base["seeds"])
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        if log_x:
            ax.set_xscale("log")
        ax.set_xticks(x, [f"{value:g}" for value in x])  # the swept values themselves, not powers of ten
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(axis="x", labelrotation=45)
    ax_dead.legend(fontsize=8)
    ax_dead.set_title(f"Dead units (mean ± std over {seeds} seeds)")
    ax_steps.set_title("Steps to the target accuracy (seeds that reach it)")
    return fig


# --- the one-change experiment of section 10 (notebook 04's design exercise) ------------------
ONE_CHANGE_KNOBS = {"lr": 0.8, "inputs": "raw", "clip_grad_norm": None, "momentum": 0.0}


"""The settings a design may give an arm, with the baseline's value of each: plain SGD at
learning rate 0.8 on raw pixels (scaled to [0, 1], not centred), no clipping, no momentum.
An arm that leaves a knob out keeps the baseline's value."""


def design_arm(arm):
    """An arm of a design (a dict of some `ONE_CHANGE_KNOBS`) with every knob filled in."""
    return {**ONE_CHANGE_KNOBS, **dict(arm)}


def changed_knobs(experiment):
    """The knobs whose values differ between the design's control and treatment arms."""
    control, treatment = design_arm(experiment["control"]), design_arm(experiment["treatment"])
    return sorted(k for k in ONE_CHANGE_KNOBS if control[k] != treatment[k])


def arm_text(arm):
    """'lr 0.8, raw inputs, no clipping, no momentum' for an arm."""
    arm = design_arm(arm)
    clip = "no clipping" if arm["clip_grad_norm"] is None else f"clip norm {arm['clip_grad_norm']:g}"
    momentum = "no momentum" if not arm["momentum"] else f"momentum {arm['momentum']:g}"
    return f"lr {arm['lr']:g}, {arm['inputs']} inputs, {clip}, {momentum}"


def run_arm(arm, datasets, already_run=None):
    """The runs of one arm over the baseline's seeds: taken from `already_run` ({arm_text: runs},
    the rows the notebook trained anyway) when it is there, else trained now (a few seconds).
    `datasets` maps "raw" and "standardized" to the digits split to train on."""
    arm = design_arm(arm)
    text = arm_text(arm)
    if already_run and text in already_run:
        return already_run[text]
    changes = {"lr": arm["lr"]}
    if arm["clip_grad_norm"] is not None:
        changes["clip_grad_norm"] = arm["clip_grad_norm"]
    if arm["momentum"]:
        changes["momentum"] = arm["momentum"]
    return baseline_runs(datasets[arm["inputs"]], progress=False, description=text, **changes)


def show_design(experiment, datasets, already_run=None):
    """Run a design's two arms (see `run_arm`) and print each arm's first-layer dead share next
    to its settings; a design that is not answered yet, or malformed, is reported, not raised.
    Returns {"control": runs, "treatment": runs}, or None when there was nothing to run."""
    if experiment is None:
        print(
            "EXPERIMENT is None: answer the exercise above, then run this cell again to see what your design measures."
        )
        return None
    try:
        arms = {which: design_arm(experiment[which]) for which in ("control", "treatment")}
        if any(arm["inputs"] not in datasets for arm in arms.values()):
            raise ValueError(f"inputs must be one of {sorted(datasets)}")
        runs = {which: run_arm(arm, datasets, already_run) for which, arm in arms.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as problem:
        print(
            f"your design could not be run ({type(problem).__name__}: {problem}); "
            "its public check says what form it needs."
        )
        return None
    for which, arm in arms.items():
        dead = dead_percent(runs[which], 0)
        print(
            f"your {which:9s} ({arm_text(arm)}): first layer {statistics.fmean(dead):.1f} % dead "
            f"(mean of {len(dead)} seeds; per seed {', '.join(f'{d:.0f}' for d in dead)})"
        )
    return runs
