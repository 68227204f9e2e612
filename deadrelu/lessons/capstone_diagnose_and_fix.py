"""Notebook 08 (capstone_diagnose_and_fix): diagnose a run whose units die, and fix it.

One configuration dict names every knob of the run (inputs, network, initialisation,
optimisation); `BROKEN_CONFIG` is the run to repair. `check_config` validates one,
`evaluate_config` trains it over seeds and says per seed whether it meets the bar: every
hidden layer at most `DEAD_LIMIT` dead on the training set and held-out accuracy at least
`ACCURACY_BAR`, within `STEP_BUDGET` optimizer steps (full batches only, counted with
`training.steps_per_epoch`). `log_experiment` keeps your experiment log and `find_evidence`
reads it: each cause you name needs a one-change experiment that backs it. The grader retrains
your fix on `FRESH_SEED_COUNT` fresh seeds and passes it when at least `PASSES_NEEDED` meet
the bar. `capstone_explorer` retrains the run with the knobs you change.
"""

from dataclasses import dataclass
from math import comb

from ..activations import ACTIVATIONS
from ..claims import compare
from ..data import load_digits_split
from ..figures import Choice, Explorer, axes_or_new, learning_rate_slider
from ..initialization import INIT_SCHEMES
from ..models import NORMALIZATIONS, make_mlp
from ..monitor import scan
from ..training import OPTIMIZERS, steps_per_epoch, train


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


# The grader's rule: FIXED_CONFIG is retrained on FRESH_SEED_COUNT fresh seeds (none of them in
# the notebook) and passes when at least PASSES_NEEDED of them meet the bar. For a configuration
# that meets the bar with probability p on a random seed, the rule passes with probability
# P(Binomial(40, p) >= 35): 0.986 at p = 0.95, 0.0086 at p = 0.70 (scripts/sweeps/08_capstone_pass_rates.py
# computes them and checks the rule on real configurations' 40-seed pass rates).
FRESH_SEED_COUNT = 40


PASSES_NEEDED = 35


TRAINING_EXAMPLES = len(load_digits_split(seed=0).y_train)  # the digits' training split (1,347 images)


CAUSES = (  # alphabetical: the order says nothing about which are real
    "bad weight initialization",
    "batch size too small",
    "inputs not scaled",
    "learning rate too high",
    "negative bias initialization",
    "network too deep",
    "no normalization layers",
    "the ReLU activation itself",
)


# The knob of BROKEN_CONFIG each cause is about, and what repairs it: an experiment backs a
# cause when two rows of the log differ in that knob only, one holding BROKEN_CONFIG's value
# and the other a repairing value (`repairs`, `find_evidence`). Plain data only: the grader
# reloads this module, and its integrity probe compares what a reload re-creates.
CAUSE_KNOBS = {
    "bad weight initialization": ("init", "another init scheme"),
    "batch size too small": ("batch_size", "a larger batch"),
    "inputs not scaled": ("inputs", "scaled inputs"),
    "learning rate too high": ("lr", "a lower learning rate"),
    "negative bias initialization": ("bias_init", "a bias that is not negative"),
    "network too deep": ("hidden", "fewer hidden layers"),
    "no normalization layers": ("normalization", "a normalization layer"),
    "the ReLU activation itself": ("activation", "another activation"),
}


MIN_SEEDS = 5  # the course's minimum for a comparison (deadrelu.claims: a sign test on 5 seeds)


def repairs(cause, new):
    """Whether `new`, a value of the cause's knob (CAUSE_KNOBS), repairs BROKEN_CONFIG's fault."""
    knob = CAUSE_KNOBS[cause][0]
    old = BROKEN_CONFIG[knob]
    if knob in ("lr", "batch_size"):  # lower, larger
        return new < old if knob == "lr" else new > old
    if knob == "bias_init":
        return new is None or new >= 0
    if knob == "hidden":
        return len(new) < len(old)
    if knob == "inputs":
        return new == "scaled"
    return new != old  # init, normalization, activation: anything else


def rule_pass_probability(p, n=FRESH_SEED_COUNT, k=PASSES_NEEDED):
    """The chance that the grader's rule passes a configuration that meets the bar with
    probability `p` on a random seed: P(at least k of n seeds meet it), exactly (binomial)."""
    return sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


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
        "inputs": ("raw", "scaled"),
        "activation": tuple(ACTIVATIONS),
        "normalization": NORMALIZATIONS,
        "init": INIT_SCHEMES,
        "optimizer": tuple(OPTIMIZERS),
        "residual": (True, False),
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
    if c["clip_grad_norm"] is not None and not (
        isinstance(c["clip_grad_norm"], (int, float)) and c["clip_grad_norm"] > 0
    ):
        raise ValueError(f"clip_grad_norm must be None or a positive number, got {c['clip_grad_norm']!r}")
    for key in ("epochs", "batch_size", "warmup_steps"):
        if not isinstance(c[key], int) or c[key] < (0 if key == "warmup_steps" else 1):
            raise ValueError(f"{key} must be a non-negative int, got {c[key]!r}")
    c["hidden"] = tuple(c["hidden"])  # a list and a tuple of the same widths are the same network
    steps = c["epochs"] * steps_per_epoch(TRAINING_EXAMPLES, c["batch_size"])
    if steps > STEP_BUDGET:
        raise ValueError(
            f"{c['epochs']} epochs at batch size {c['batch_size']} is {steps} optimizer steps; "
            f"the budget is {STEP_BUDGET}"
        )
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


def _build_model(c, data, seed):
    """The network of configuration `c` (checked) for `data`, initialised with `seed`."""
    return make_mlp(
        (data.n_features, *c["hidden"], data.n_classes),
        activation=c["activation"],
        normalization=c["normalization"],
        residual=c["residual"],
        init=c["init"],
        bias_init=c["bias_init"],
        seed=seed,
    )


def _train_model(c, model, data, seed, callbacks=()):
    """Train `model` as configuration `c` (checked) says, minibatch order from `seed`; the History."""
    return train(
        model,
        data,
        optimizer=c["optimizer"],
        lr=c["lr"],
        momentum=c["momentum"],
        warmup_steps=c["warmup_steps"],
        clip_grad_norm=c["clip_grad_norm"],
        epochs=c["epochs"],
        batch_size=c["batch_size"],
        seed=seed,
        progress=False,
        callbacks=list(callbacks),
    )


def _evaluate_one(config, seed, data=None, measure_init=True):
    """Train `config` (checked) on one seed and measure it."""
    if data is None:
        data = load_digits_split(scaled=config["inputs"] == "scaled", seed=0)
    model = _build_model(config, data, seed)
    at_init = [layer.dead_fraction for layer in scan(model, data.X_train).layers] if measure_init else None
    history = _train_model(config, model, data, seed)
    report = scan(model, data.X_train)
    return CapstoneRun(
        seed, [layer.dead_fraction for layer in report.layers], history.final_test_accuracy, at_init, history.diverged
    )


def _evaluate_in_worker(job):
    import torch

    torch.set_num_threads(1)  # one thread per process: the course's models are too small for more
    return _evaluate_one(*job)


def evaluate_config(config, seeds=(0,), workers=1, measure_init=True):
    """Train `config` once per seed (model init and minibatch order) and measure it.

    `workers` > 1 trains the seeds in that many processes at once (forked; each run is seeded
    on its own, so the runs are the same as in one process, only sooner: the grader's fresh
    seeds take about 0.5 s each on one core, benchmarks/08_capstone_grading_time.py).
    `measure_init=False` skips the dead shares at initialisation (`dead_at_init` is then None),
    which the grader does not need.
    """
    c = check_config(config)
    seeds = list(seeds)
    if workers > 1 and len(seeds) > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(min(workers, len(seeds))) as pool:
            return pool.map(_evaluate_in_worker, [(c, seed, None, measure_init) for seed in seeds])
    data = load_digits_split(scaled=c["inputs"] == "scaled", seed=0)
    return [_evaluate_one(c, seed, data, measure_init) for seed in seeds]


def grading_workers():
    """How many processes the grader trains its fresh seeds in: one per core, at most four."""
    import os

    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


class LogRow(dict):
    """One row of an experiment log: a dict of the columns `Table` shows, plus the run's
    completed configuration (`config`) and its `CapstoneRun`s (`runs`), which the grader reads."""

    def __init__(self, columns, config, runs):
        dict.__init__(
            self, columns
        )  # not super(): its __class__ cell would differ after a reload (see the grader's probe)
        self.config, self.runs = config, list(runs)


def log_experiment(log, label, config, seeds=(0, 1, 2, 3, 4)):
    """Run `config` over `seeds`, append one row to `log` (a list) and return the runs.

    The row says what changed relative to BROKEN_CONFIG, the worst hidden layer's dead % at
    initialisation and after training and the accuracy per seed, and whether every seed
    meets the bar; a seed whose loss diverged reads "diverged" instead of a dead share. The
    returned `CapstoneRun`s (one per seed, in the order of `seeds`) hold the per-seed
    numbers, for comparisons between rows (e.g. `deadrelu.claims.claim_difference`; five
    seeds, the course's minimum for a comparison, are the default). The row is a `LogRow`:
    it also keeps the configuration and the runs, which is what the grader reads.
    """
    c = check_config(config)
    runs = evaluate_config(c, seeds)
    changed = {k: v for k, v in c.items() if BROKEN_CONFIG[k] != v}
    row = {
        "step": len(log) + 1,
        "label": label,
        "changes from BROKEN_CONFIG": ", ".join(f"{k}={v}" for k, v in changed.items()) or "-",
        "worst layer dead % at init per seed": ", ".join(f"{100 * max(r.dead_at_init):.0f}" for r in runs),
        "worst layer dead % per seed": ", ".join(
            "diverged" if r.diverged else f"{100 * r.worst_dead:.0f}" for r in runs
        ),
        "test accuracy % per seed": ", ".join(f"{100 * r.test_accuracy:.1f}" for r in runs),
        "meets the bar": "yes" if all(r.passed for r in runs) else "no",
    }
    log.append(LogRow(row, c, runs))
    return runs


def is_log_row(row):
    """Whether `row` was made by `log_experiment` (by its shape: the grader reloads this module,
    which makes a new LogRow class, so rows are recognised by what they hold, not their class)."""
    return (
        isinstance(row, dict)
        and isinstance(getattr(row, "config", None), dict)
        and isinstance(getattr(row, "runs", None), list)
    )


@dataclass
class Evidence:
    """Two rows of a log that differ in one knob only, the fault and its repair, and the
    hidden layer whose dead share the repair lowers beyond the seed-to-seed spread."""

    cause: str
    with_fault: LogRow
    repaired: LogRow
    layer: int  # 0-based index of the hidden layer
    comparison: object  # deadrelu.claims.Comparison of the layer's dead % per seed, fault vs repair

    def describe(self):
        return (
            f"{self.cause!r}: row {self.with_fault['step']} ({self.with_fault['label']}) against row "
            f"{self.repaired['step']} ({self.repaired['label']}), hidden {self.layer + 1} dead % "
            f"{self.comparison.describe('%')}"
        )


def _dead_percent(run, layer):
    """A run's dead % in one hidden layer; a run whose loss diverged lost every unit (100)."""
    return 100.0 if run.diverged else 100 * run.dead_fraction[layer]


def find_evidence(log, cause):
    """The experiment in `log` that backs `cause`, or why there is none.

    Returns (Evidence, None) or (None, reason). A cause is backed when two rows made by
    `log_experiment` differ in exactly one knob, the cause's (CAUSE_KNOBS): one row holds
    BROKEN_CONFIG's value of it and the other a value that repairs it; and on the seeds both
    rows ran (at least MIN_SEEDS of them), the repair lowers the dead share of some hidden
    layer under the course's rule for comparisons (`deadrelu.claims.Comparison.verdict`:
    beyond the larger seed-to-seed spread, or lower on every seed). A seed whose loss
    diverged counts as every unit lost. The reason, when there is none, names the closest
    miss: no run changes that knob; the runs that do also change other knobs; the change
    does not repair the fault; too few seeds in common; or no layer's dead share falls
    beyond the spread.
    """
    if cause not in CAUSE_KNOBS:
        return None, f"{cause!r} is not one of the listed causes"
    knob, repair = CAUSE_KNOBS[cause]
    rows = [row for row in log if is_log_row(row)] if isinstance(log, (list, tuple)) else []
    if not rows:
        return None, "LOG holds no experiments made by log_experiment"
    broken_value = BROKEN_CONFIG[knob]
    faulty = [row for row in rows if row.config[knob] == broken_value]
    fixed = [row for row in rows if row.config[knob] != broken_value]
    if not fixed:
        return None, f"the log has no run that changes {knob}, so no experiment for this cause"
    stage, reason = 0, ""
    for a in faulty:
        for b in fixed:
            differing = sorted(k for k in BROKEN_CONFIG if a.config[k] != b.config[k])
            if differing != [knob]:
                if stage < 1:
                    stage, reason = (
                        1,
                        (
                            f"the runs that change {knob} also change another knob against every run that "
                            f"keeps it (e.g. rows {a['step']} and {b['step']} differ in {', '.join(differing)}): "
                            f"with two knobs changed at once, the log cannot say which one helped"
                        ),
                    )
                continue
            if not repairs(cause, b.config[knob]):
                if stage < 2:
                    stage, reason = (
                        2,
                        (
                            f"the one-change run on {knob} (rows {a['step']} and {b['step']}) does not repair "
                            f"the fault: it needs {repair}"
                        ),
                    )
                continue
            seeds = [s for s in (r.seed for r in a.runs) if s in {r.seed for r in b.runs}]
            if len(seeds) < MIN_SEEDS:
                if stage < 3:
                    stage, reason = (
                        3,
                        (
                            f"the one-change run on {knob} (rows {a['step']} and {b['step']}) shares only "
                            f"{len(seeds)} seed(s) with the run it is compared with; a comparison needs "
                            f"{MIN_SEEDS} seeds"
                        ),
                    )
                continue
            runs_a, runs_b = {r.seed: r for r in a.runs}, {r.seed: r for r in b.runs}
            for layer in range(len(a.config["hidden"])):
                if layer >= len(b.config["hidden"]):
                    break
                comparison = compare(
                    [_dead_percent(runs_a[s], layer) for s in seeds], [_dead_percent(runs_b[s], layer) for s in seeds]
                )
                if comparison.verdict == "higher":
                    return Evidence(cause, a, b, layer, comparison), None
            if stage < 4:
                stage, reason = (
                    4,
                    (
                        f"the one-change run on {knob} (rows {a['step']} and {b['step']}) did not lower the "
                        f"dead share of any hidden layer beyond the seed-to-seed spread"
                    ),
                )
    if stage == 0:
        reason = f"the log has no run that keeps BROKEN_CONFIG's {knob} to compare the change with"
    return None, reason


def plot_layer_dead(dead_fractions, limit=DEAD_LIMIT, ax=None, title=None):
    """Bar chart of dead % per hidden layer with the limit drawn; returns the figure."""
    fig, ax = axes_or_new(ax, (6, 3.2))
    values = [100 * d for d in dead_fractions]
    colors = ["C3" if v > 100 * limit else "C2" for v in values]
    ax.bar([f"hidden {i + 1}" for i in range(len(values))], values, color=colors)
    ax.axhline(100 * limit, color="black", ls="--", lw=1)
    ax.annotate(f"limit {100 * limit:.0f}%", (0, 100 * limit), xytext=(0, 4), textcoords="offset points", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("dead units on the training set (%)")
    ax.set_title(title or "Dead units per hidden layer")
    return fig


class CapstoneExplorer(Explorer):
    """Retrain the capstone run (seed 0) with the knobs below; red bars break the limit.

    To answer within 2 s it trains `epochs` epochs (default 10, half the graded run), so
    its figures are a preview: judge your fix with `log_experiment` on several seeds. It
    trains like the grader: full batches only, `steps_per_epoch` steps per epoch (the
    progress bar's length); `history` holds the last run's `training.History`.
    """

    def __init__(self, config=None, seed=0, epochs=10):
        config = check_config({**(config or BROKEN_CONFIG), "epochs": epochs})
        self.seed, self.base = seed, config
        self.inputs = Choice(["raw", "scaled"], value=config["inputs"], description="inputs")
        self.lr = learning_rate_slider(config["lr"], (-3, 0))
        self.bias = Choice(
            [
                ("init's own", None),
                ("-0.3", -0.3),
                ("0", 0.0),
                ("0.01", 0.01),
                ("0.1", 0.1),
                ("0.3", 0.3),
                ("0.5", 0.5),
            ],
            value=config["bias_init"],
            description="bias init",
        )
        self.momentum = Choice([0.0, 0.5, 0.7, 0.9], value=config["momentum"], description="momentum")
        self.init = Choice(["default", "he_normal", "xavier_normal"], value=config["init"], description="init")
        self.normalization = Choice(
            [("none", None), ("batch", "batch"), ("layer", "layer")],
            value=config["normalization"],
            description="normalization",
        )
        self.history = None
        self._data = {kind: load_digits_split(scaled=kind == "scaled", seed=0) for kind in ("raw", "scaled")}
        Explorer.__init__(  # not super(): this module is reloaded (see LogRow)
            self,
            [[self.inputs, self.lr, self.momentum], [self.bias, self.init, self.normalization]],
            figsize=(7, 3.2),
            margins={"left": 0.1, "right": 0.98, "bottom": 0.12, "top": 0.87},
            trains=True,
        )

    @property
    def config(self):
        return check_config(
            {
                **self.base,
                "inputs": self.inputs.value,
                "lr": self.lr.value,
                "momentum": self.momentum.value,
                "bias_init": self.bias.value,
                "init": self.init.value,
                "normalization": self.normalization.value,
            }
        )

    def retrain(self):
        c, data = self.config, self._data[self.inputs.value]
        model = _build_model(c, data, self.seed)
        self.start_progress(c["epochs"] * steps_per_epoch(len(data.y_train), c["batch_size"]))
        self.history = _train_model(c, model, data, self.seed, callbacks=[self.tick])
        self.dead = [layer.dead_fraction for layer in scan(model, data.X_train).layers]

    def draw(self):
        history, dead, epochs = self.history, self.dead, self.base["epochs"]
        passed = max(dead) <= DEAD_LIMIT and history.final_test_accuracy >= ACCURACY_BAR
        verdict = "meets the bar" if passed else "not yet"
        if history.diverged:  # the weights are inf/nan: the bars below mean nothing
            verdict = f"the loss diverged at step {len(history.steps)}"
        accuracy = f"test accuracy {100 * history.final_test_accuracy:.1f}%"
        plot_layer_dead(dead, ax=self.ax, title=f"seed {self.seed}, {epochs} epochs: {accuracy} — {verdict}")


def capstone_explorer(*args, **kwargs):
    """Build the explorer of notebook 08: `CapstoneExplorer`, whose arguments (and their
    defaults) it takes."""
    return CapstoneExplorer(*args, **kwargs)
