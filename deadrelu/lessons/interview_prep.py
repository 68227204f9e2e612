"""Notebook 09 (interview_prep): a self-check quiz and the triage of unknown runs.

`Quiz` asks multiple-choice questions, each with a Check button that says whether the choice
is right and why; it is not graded, and its state (`results`, `score`) lives in the widget.
`triage_runs` trains every scenario over the seeds and keeps only what a practitioner's
monitoring would show of a run (`TriageRun`: the architecture, the input statistics, biases
and gradient norms at initialisation, dead and τ-dormant shares every 30 steps, losses,
gradient norms, update ratios and held-out accuracy), never how it was configured;
`overview_table`, `layer_table` and `plot_dashboard` lay them out. Every run: SGD, full
batches of 32, 300 steps, on the digits split of seed 0; the seed sets the initialisation
and the batch order.

The configurations live in `_CONFIGURATIONS`, under names that say nothing about the letters;
`_LETTERS` gives each its letter in an order that follows no list of the course. Several
scenarios may share a cause and not every cause occurs, so no answer follows from the others
by elimination; the evidence that decides each is written next to the answer key, in the
hidden tests of solutions/09_interview_prep.
"""

from dataclasses import dataclass
from dataclasses import field
from torch import nn
import html
import ipywidgets as widgets
import math
import statistics
import torch

from ..data import load_digits_split
from ..experiments import finished, mean_and_spread
from ..models import make_mlp
from ..monitor import scan
from ..tables import Table
from ..tracking import DeadUnitTracker
from ..training import train


@dataclass(frozen=True)
class Question:
    """One multiple-choice question: `answer` is the index of the right option in `options`."""

    prompt: str
    options: tuple
    answer: int
    explanation: str  # why the right option is right, shown after every check

    def __post_init__(self):
        if len(self.options) < 2:
            raise ValueError(f"a question needs at least two options, got {self.options!r}")
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"options must differ from each other, got {self.options!r}")
        if not isinstance(self.answer, int) or not 0 <= self.answer < len(self.options):
            raise ValueError(f"answer must index one of the {len(self.options)} options, got {self.answer!r}")


class Quiz(widgets.VBox):
    """The questions one under another: options as radio buttons, a Check button, feedback.

    `results[i]` is None until question i is checked, then True or False; choosing another
    option clears its feedback and result. `score` counts the right answers checked so far.
    """

    def __init__(self, questions):
        self.questions = list(questions)
        if not self.questions:
            raise ValueError("a Quiz needs at least one question")
        self.results = [None] * len(self.questions)
        self.choices, self.buttons, self.feedback = [], [], []
        blocks = []
        for i, question in enumerate(self.questions):
            choice = widgets.RadioButtons(
                options=list(question.options), value=None, layout=widgets.Layout(width="auto")
            )
            button = widgets.Button(description="Check", layout=widgets.Layout(width="90px"))
            feedback = widgets.HTML("")
            button.on_click(lambda _button, i=i: self.check(i))
            choice.observe(lambda _change, i=i: self._clear(i), names="value")
            self.choices.append(choice)
            self.buttons.append(button)
            self.feedback.append(feedback)
            prompt = widgets.HTML(f"<b>{i + 1}. {html.escape(question.prompt)}</b>")
            blocks.append(widgets.VBox([prompt, choice, button, feedback], layout=widgets.Layout(margin="0 0 12px 0")))
        self.score_label = widgets.HTML()
        self._update_score()
        super().__init__(blocks + [self.score_label])

    def check(self, i):
        """Mark question i: right or wrong, with the explanation; returns the result (None if no choice)."""
        question, choice = self.questions[i], self.choices[i].value
        if choice is None:
            self.results[i] = None
            self.feedback[i].value = "<i>Pick an answer first.</i>"
        else:
            self.results[i] = question.options.index(choice) == question.answer
            verdict = (
                "<span style='color:#1a7f37'>✔ Correct.</span>"
                if self.results[i]
                else f"<span style='color:#cf222e'>✘ Not quite</span> — the answer is "
                f"<i>{html.escape(question.options[question.answer])}</i>."
            )
            self.feedback[i].value = f"{verdict} {html.escape(question.explanation)}"
        self._update_score()
        return self.results[i]

    @property
    def score(self):
        return sum(result is True for result in self.results)

    def _repr_mimebundle_(self, **kwargs):
        """The widget, and the questions with their options as HTML (never the answers) for a
        viewer without a live kernel (the course website)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            items = "".join(
                f"<li><b>{html.escape(q.prompt)}</b><ul>"
                + "".join(f"<li>{html.escape(option)}</li>" for option in q.options)
                + "</ul></li>"
                for q in self.questions
            )
            bundle["text/html"] = f"<ol class='quiz-questions'>{items}</ol>"
        return bundle

    def _clear(self, i):
        self.results[i] = None
        self.feedback[i].value = ""
        self._update_score()

    def _update_score(self):
        checked = sum(result is not None for result in self.results)
        self.score_label.value = f"<b>Score: {self.score} / {len(self.questions)}</b> ({checked} checked)"


SEEDS = (0, 1, 2, 3, 4)


STEPS = 300


EVERY = 30  # steps between two snapshots of the dead shares


BATCH_SIZE = 32


RATIO_STEPS = 50  # the update ratio reported per layer: median over the first 50 steps


SCENARIOS = ("A", "B", "C", "D", "E", "F")


# name -> (data, make_mlp arguments, SGD learning rate). Not shown in the notebook.
_CONFIGURATIONS = {
    "control": ("scaled", {"widths": (64, 128, 128, 10)}, 0.1),
    "raw_pixels": ("raw", {"widths": (64, 128, 128, 10)}, 0.1),
    "high_rate": ("scaled", {"widths": (64, 128, 128, 10)}, 1.0),
    "deep_narrow": ("scaled", {"widths": (64,) + (3,) * 10 + (10,)}, 0.1),
    "negative_bias": ("scaled", {"widths": (64, 128, 128, 10), "bias_init": -1.0}, 0.1),
    "deep_control": ("scaled", {"widths": (64,) + (32,) * 6 + (10,), "init": "he_normal"}, 0.05),
}


_LETTERS = dict(zip(SCENARIOS, ("negative_bias", "deep_control", "raw_pixels", "high_rate", "control", "deep_narrow")))


@dataclass
class TriageRun:
    """What a monitoring dashboard shows of one training run (and nothing of its settings)."""

    units: list  # units per hidden layer, forward order
    input_stats: dict  # mean, std, min, max over every feature of every training example
    mean_bias_at_init: list  # per hidden layer: mean of the bias vector feeding it
    grad_norm_at_init: list  # per hidden layer: ||dL/dW|| of the weights feeding it, on the whole training set
    dead_at_init: list  # per hidden layer: share of units never > 0 on the training inputs, before any step
    dormant_at_init: list  # per hidden layer: τ-dormant share (τ = 0.1), before any step
    snapshot_steps: list  # training steps of the snapshots below
    dead: list = field(repr=False, default=None)  # per hidden layer: dead share at each snapshot step
    dormant: list = field(repr=False, default=None)  # per hidden layer: τ-dormant share at each snapshot step
    train_loss: list = field(repr=False, default=None)  # per step
    grad_norm: list = field(repr=False, default=None)  # per step: global gradient norm
    update_ratios: list = field(
        repr=False, default=None
    )  # per hidden layer, per step: ||ΔW|| / ||W|| of the weights feeding it
    test_accuracy: float = float("nan")
    diverged: bool = False

    @property
    def layers(self):
        return len(self.units)

    def dead_percent_at_step_0(self, layer):
        return 100 * self.dead_at_init[layer]

    def dead_percent_at_end(self, layer):
        return 100 * self.dead[layer][-1]

    def dormant_percent_at_end(self, layer):
        return 100 * self.dormant[layer][-1]

    def update_ratio(self, layer, first_steps=RATIO_STEPS):
        """Median ||ΔW|| / ||W|| over the first steps, for the weights into hidden layer `layer` (0 = first)."""
        return statistics.median(self.update_ratios[layer][:first_steps])

    def final_loss(self, last_steps=20):
        return statistics.fmean(self.train_loss[-last_steps:])

    def accuracy_percent(self):
        return 100 * self.test_accuracy


def _data(kind):
    return load_digits_split(scaled=(kind == "scaled"), seed=0)


def _input_stats(X):
    return {"mean": X.mean().item(), "std": X.std().item(), "min": X.min().item(), "max": X.max().item()}


def _hidden_linears(model):
    """The nn.Linear feeding each hidden layer (every Linear but the output layer), with its name."""
    linears = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    return linears[:-1]


def _gradient_norms(model, data, linears):
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(data.X_train), data.y_train).backward()
    norms = [module.weight.grad.norm().item() for _, module in linears]
    model.zero_grad(set_to_none=True)
    return norms


def measure(data, model_args, lr, seed):
    """Train one seeded MLP with SGD and return what a monitoring dashboard shows of it."""
    model = make_mlp(**model_args, seed=seed)
    linears = _hidden_linears(model)
    at_init = scan(model, data.X_train)
    biases = [module.bias.mean().item() for _, module in linears]
    grad_norms = _gradient_norms(model, data, linears)
    tracker = DeadUnitTracker(model, every=EVERY, probe=data.X_train)
    history = train(
        model,
        data,
        lr=lr,
        steps=STEPS,
        batch_size=BATCH_SIZE,
        tracker=tracker,
        record_update_ratio=True,
        seed=seed,
        progress=False,
    )
    tracks = list(history.tracking.layers.values())
    return TriageRun(
        units=[layer.units for layer in at_init.layers],
        input_stats=_input_stats(data.X_train),
        mean_bias_at_init=biases,
        grad_norm_at_init=grad_norms,
        dead_at_init=[layer.dead_fraction for layer in at_init.layers],
        dormant_at_init=[layer.dormant_fraction for layer in at_init.layers],
        snapshot_steps=list(history.tracking.steps),
        dead=[list(track.dead_fraction) for track in tracks],
        dormant=[list(track.dormant_fraction) for track in tracks],
        train_loss=list(history.train_loss),
        grad_norm=list(history.grad_norm),
        update_ratios=[list(history.update_ratio[f"{name}.weight"]) for name, _ in linears],
        test_accuracy=history.final_test_accuracy,
        diverged=history.diverged,
    )


def triage_runs(seeds=SEEDS, scenarios=SCENARIOS, progress=False):
    """scenario letter -> one `TriageRun` per seed, for the letters in `scenarios` (all by default)."""
    unknown = [s for s in scenarios if s not in _LETTERS]
    if unknown:
        raise ValueError(f"unknown scenarios {unknown}; the scenarios are {list(SCENARIOS)}")
    datasets = {}
    runs = {}
    for letter in scenarios:
        kind, model_args, lr = _CONFIGURATIONS[_LETTERS[letter]]
        if kind not in datasets:
            datasets[kind] = _data(kind)
        data = datasets[kind]
        runs[letter] = [measure(data, model_args, lr, seed) for seed in seeds]
        if progress:
            print(f"scenario {letter}: {len(seeds)} runs")
    return runs


# --- the dashboard -------------------------------------------------------------------------
def spread(values, digits=2):
    """'mean ± std' of `values` with `digits` decimals."""
    mean, std = mean_and_spread(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _architecture(units):
    groups = []
    for width in units:
        if groups and groups[-1][0] == width:
            groups[-1][1] += 1
        else:
            groups.append([width, 1])
    return "-".join(f"{w}×{n}" if n > 1 else str(w) for w, n in groups)


def overview_row(letter, runs):
    kept = finished(runs)
    stats = kept[0].input_stats
    return {
        "scenario": letter,
        "hidden layers": _architecture(kept[0].units),
        "input features: mean ± std (min .. max)": (
            f"{stats['mean']:.2f} ± {stats['std']:.2f} ({stats['min']:.0f} .. {stats['max']:.0f})"
        ),
        "loss, step 1": spread(run.train_loss[0] for run in kept),
        "loss, last 20 steps": spread(run.final_loss() for run in kept),
        "largest grad norm": spread((max(run.grad_norm) for run in kept), 1),
        "test accuracy %": spread((run.accuracy_percent() for run in kept), 1),
        "runs (diverged)": f"{len(runs)} ({len(runs) - len(kept)})",
    }


def overview_table(runs):
    return Table(
        [overview_row(letter, seeds) for letter, seeds in runs.items()],
        title=f"{len(runs)} training runs (mean ± std over {len(next(iter(runs.values())))} seeds)",
    )


def layer_table(letter, runs):
    kept = finished(runs[letter])
    rows = []
    for i in range(kept[0].layers):
        rows.append(
            {
                "hidden layer": i + 1,
                "units": kept[0].units[i],
                "mean bias at init": spread(run.mean_bias_at_init[i] for run in kept),
                "grad norm at init": f"{statistics.median(run.grad_norm_at_init[i] for run in kept):.1e}",
                "dead % at step 0": spread((run.dead_percent_at_step_0(i) for run in kept), 0),
                f"dead % at step {STEPS}": spread((run.dead_percent_at_end(i) for run in kept), 0),
                f"τ-dormant % at step {STEPS}": spread((run.dormant_percent_at_end(i) for run in kept), 0),
                "update ratio": f"{statistics.median(run.update_ratio(i) for run in kept):.1e}",
            }
        )
    return Table(
        rows,
        title=(
            f"Scenario {letter}: per hidden layer (mean ± std over {len(kept)} seeds; "
            "grad norm and update ratio: median)"
        ),
    )


def plot_dashboard(runs, seed_index=0):
    """Three rows per scenario (columns): the training loss, the dead share of every hidden layer
    at step 0 and every snapshot, and the update ratio of every layer per step (log scale)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, len(runs), figsize=(2.7 * len(runs), 7.5), sharex=True, layout="constrained")
    for column, (letter, seeds) in enumerate(runs.items()):
        run = seeds[seed_index]
        loss = torch.tensor(run.train_loss)
        smooth = loss.unfold(0, 10, 1).mean(1) if len(loss) >= 10 else loss
        axes[0, column].plot(range(len(loss) - len(smooth) + 1, len(loss) + 1), smooth)
        axes[0, column].axhline(math.log(10), color="grey", lw=0.8, ls="--")
        axes[0, column].set_ylim(0, 3)
        axes[0, column].set_title(f"scenario {letter}")
        steps = [0] + run.snapshot_steps
        for i in range(run.layers):
            axes[1, column].plot(
                steps, [100 * v for v in [run.dead_at_init[i]] + run.dead[i]], marker=".", lw=1, label=f"hidden {i + 1}"
            )
            ratios = torch.tensor(run.update_ratios[i]).clamp(min=1e-7)
            axes[2, column].plot(range(1, len(ratios) + 1), ratios, lw=0.8, label=f"into hidden {i + 1}")
        axes[1, column].set_ylim(-3, 103)
        axes[2, column].set_yscale("log")
        axes[2, column].set_ylim(3e-8, 1)
        axes[2, column].axhline(1e-3, color="grey", lw=0.8, ls="--")
        axes[2, column].set_xlabel("training step")
        if run.layers <= 2:
            axes[1, column].legend(fontsize=7)
    axes[0, 0].set_ylabel("training loss (-- ln 10)")
    axes[1, 0].set_ylabel("dead units (%)")
    axes[2, 0].set_ylabel("update ratio (-- 1e-3)")
    return fig
