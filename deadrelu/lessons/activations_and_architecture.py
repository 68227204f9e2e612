"""Notebook 06 (activations_and_architecture): dead units and gradients layer by layer.

Measurements per layer of a model: `gradient_norms`, `dead_per_layer`,
`never_positive_per_layer` and `constant_per_layer`, with `KeepModels` and `measure_runs` to
measure every seed of a sweep. Plots (each takes `ax=None` and returns the figure; curves are
{label: per-seed lists}, drawn as the mean over seeds with a band): `plot_gradient_flow`,
`plot_dead_per_layer` and `plot_dead_vs_depth`. `architecture_explorer` retrains a deep,
narrow MLP for the activation, normalization, residual block, depth and learning rate you
pick, and shows dead units and gradient norms per layer at initialisation and after training.
"""

from torch import nn
import ipywidgets as widgets
import torch

from ..activations import ACTIVATIONS, get_activation
from ..figures import Choice, Explorer, axes_or_new, learning_rate_slider
from ..models import hidden_activations
from ..models import make_mlp
from ..monitor import DeadUnitMonitor, scan
from ..training import torch_threads, train


def _keep_buffers(model):
    """A copy of the model's buffers (BatchNorm's running statistics), to restore afterwards."""
    return {name: buffer.clone() for name, buffer in model.named_buffers()}


def _restore_buffers(model, saved):
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            buffer.copy_(saved[name])


def gradient_norms(model, X, y):
    """Norm of the cross-entropy loss gradient w.r.t. each nn.Linear weight, input side first.

    One forward and backward pass over all of (X, y) in training mode, so BatchNorm uses the
    statistics of X, as it does during training. The model is left as it was: its gradients
    are cleared, its running statistics and train/eval mode restored.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layers")
    was_training, saved = model.training, _keep_buffers(model)
    model.train()
    try:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(X), y).backward()
        return [layer.weight.grad.norm().item() for layer in linears]
    finally:
        model.zero_grad(set_to_none=True)
        _restore_buffers(model, saved)
        model.train(was_training)


def dead_per_layer(model, X, tau=0.1, batch_statistics=False):
    """Dead % of each activation layer on X (τ-dormant % for activations that can be negative,
    as `monitor.DeadUnitMonitor` counts them), in forward order.

    By default the model is measured in eval mode (`monitor.scan`), the way it is used after
    training. A freshly built BatchNorm has running statistics mean 0, variance 1, so in eval
    mode it barely normalises: at initialisation pass `batch_statistics=True` to measure in
    training mode, with the statistics of X itself (running statistics are restored after).
    """
    if not batch_statistics:
        return [100 * layer.dead_fraction for layer in scan(model, X, tau=tau).layers]
    was_training, saved = model.training, _keep_buffers(model)
    model.train()
    try:
        with torch.no_grad(), DeadUnitMonitor(model, tau=tau) as monitor:
            model(X)
        return [100 * layer.dead_fraction for layer in monitor.report().layers]
    finally:
        _restore_buffers(model, saved)
        model.train(was_training)


def never_positive_per_layer(model, X):
    """% of the units of each activation layer whose output is never > 0 on X (eval mode).

    For ReLU these are the dead units. For every other member of the family (Leaky ReLU,
    PReLU, ELU, SELU, GELU, SiLU) the output is > 0 exactly when the pre-activation is, so
    these are the units whose pre-activation is <= 0 on every input: the units that would
    be dead if the activation were ReLU, now working only through the negative side.
    """
    return [100 * int((layer.firing_rate == 0).sum()) / layer.units for layer in scan(model, X).layers]


def constant_per_layer(model, X):
    """% of the units of each activation layer whose output is the same number for every
    example of X (eval mode): a dead ReLU unit (always 0), or a unit stuck where its
    activation is flat (an ELU unit at -alpha, whose gradient alpha*exp(z) underflows to 0).

    τ-dormant misses the second kind when a whole layer is stuck alike: it compares each
    unit with its layer's average. The model's train/eval mode is restored.
    """
    outputs = []
    handles = [
        module.register_forward_hook(lambda module, inputs, output: outputs.append(output))
        for _, module in hidden_activations(model)
    ]  # the hook returns None: outputs unchanged
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(X)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return [100 * int((h.amax(dim=0) == h.amin(dim=0)).sum()) / h.shape[1] for h in outputs]


class KeepModels:
    """A `training.train` callback that keeps every model it trains (the same object trains
    on, so after the run it is the trained model), to look inside them afterwards:
    `run_seeds(..., callbacks=[keep])`, then `keep.models[i]` belongs to the i-th seed."""

    def __init__(self):
        self.models = []

    def __call__(self, step, model, optimizer):
        if step == 1:
            self.models.append(model)


def measure_runs(runs, models, X):
    """Per-seed measurements of trained runs (`experiments.RunResult`s and their models, from
    `KeepModels`), as {measurement: [one value per seed]}; what notebook 06's tables and
    stored sweep (`scripts/sweeps/06_activations.py`) hold:

    dead_k, dormant_k, never_positive_k, constant_k (% of hidden layer k = 1, 2, ...; dead is
    τ-dormant for activations that can be negative), accuracy (test %), steps_to_90,
    diverged, largest_weight (largest |parameter|), prelu_slopes (the learned slope of each
    PReLU layer, None without PReLU) and ms_per_step (training time per step).

    A diverged run's weights are inf/nan: its unit measurements and largest weight are None.
    """
    if len(runs) != len(models):
        raise ValueError(f"got {len(runs)} runs but {len(models)} models: keep the models with KeepModels")
    layers = len(runs[0].layers)
    keys = [f"{kind}_{k + 1}" for kind in ("dead", "dormant", "never_positive", "constant") for k in range(layers)]
    result = {
        key: []
        for key in keys + ["accuracy", "steps_to_90", "diverged", "largest_weight", "prelu_slopes", "ms_per_step"]
    }
    for run, model in zip(runs, models):
        finite = not run.diverged
        values = {
            "dead": [100 * f for f in run.dead_fraction],
            "dormant": [100 * f for f in run.dormant_fraction],
            "never_positive": never_positive_per_layer(model, X) if finite else None,
            "constant": constant_per_layer(model, X) if finite else None,
        }
        for kind, per_layer in values.items():
            for k in range(layers):
                result[f"{kind}_{k + 1}"].append(per_layer[k] if finite else None)
        result["accuracy"].append(100 * run.test_accuracy)
        result["steps_to_90"].append(run.steps_to_accuracy(0.9))
        result["diverged"].append(run.diverged)
        result["largest_weight"].append(
            max(p.detach().abs().max().item() for p in model.parameters()) if finite else None
        )
        slopes = [m.weight.item() for m in model.modules() if isinstance(m, nn.PReLU)]
        result["prelu_slopes"].append(slopes if slopes and finite else None)
        result["ms_per_step"].append(1000 * run.seconds / len(run.history.steps))
    return result


PLOT_SIZE = (6.2, 3.4)  # a plot of this section drawn on a figure of its own


def _check_curves(curves):
    if not curves:
        raise ValueError("curves is empty: give {label: [per-seed list of values], ...}")
    for label, runs in curves.items():
        lengths = {len(run) for run in runs}
        if not runs or len(lengths) != 1:
            raise ValueError(f"curve {label!r} needs one or more runs of equal length, got lengths {sorted(lengths)}")


def plot_gradient_flow(curves, ax=None, styles=None, title="Gradient norm per layer"):
    """Gradient norm of each Linear layer's weight, input side first, on a log axis.

    `curves`: {label: [norms of run 1, norms of run 2, ...]}, e.g. from `gradient_norms` for
    several seeds; the line is the geometric mean over runs, the band spans min to max.
    `styles`: optional {label: matplotlib line keywords}.
    """
    _check_curves(curves)
    fig, ax = axes_or_new(ax, PLOT_SIZE)
    for i, (label, runs) in enumerate(curves.items()):
        values = torch.tensor(runs, dtype=torch.float64).clamp_min(1e-30)  # a dead layer's gradient can be exactly 0
        layers = range(1, values.shape[1] + 1)
        style = {"color": f"C{i}", "marker": "o", "ms": 3, **(styles or {}).get(label, {})}
        ax.plot(layers, values.log().mean(0).exp(), label=label, **style)
        if len(runs) > 1:
            ax.fill_between(layers, values.min(0).values, values.max(0).values, color=style["color"], alpha=0.15, lw=0)
    ax.set_yscale("log")
    ax.set_xlabel("Linear layer (1 = next to the input)")
    ax.set_ylabel("‖∂loss/∂W‖")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize=8)
    return fig


def _mean_and_band(ax, x, runs, label, style):
    values = torch.tensor(runs, dtype=torch.float64)
    mean = values.mean(0)
    ax.plot(x, mean, label=label, **style)
    if len(runs) > 1:
        spread = values.std(0)
        ax.fill_between(x, mean - spread, mean + spread, color=style["color"], alpha=0.15, lw=0)


def _label_dead_axes(ax, xlabel, ylabel, title):
    """Labels, 0-100 % range, grid and legend of a dead-% plot."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(-3, 103)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def plot_dead_per_layer(curves, ax=None, styles=None, title="Dead units per hidden layer"):
    """Dead % (τ-dormant % for signed activations) of each hidden layer, input side first.

    `curves`: {label: [dead % per layer of run 1, of run 2, ...]}, e.g. from `dead_per_layer`;
    mean over runs, band ± one standard deviation.
    """
    _check_curves(curves)
    fig, ax = axes_or_new(ax, PLOT_SIZE)
    for i, (label, runs) in enumerate(curves.items()):
        style = {"color": f"C{i}", "marker": "o", "ms": 3, **(styles or {}).get(label, {})}
        _mean_and_band(ax, range(1, len(runs[0]) + 1), runs, label, style)
    _label_dead_axes(ax, "hidden layer (1 = next to the input)", "dead units (%)", title)
    return fig


def plot_dead_vs_depth(depths, curves, ax=None, title="Dead units against depth"):
    """Dead % of all hidden units against the number of hidden layers.

    `curves`: {label: [[run values at depths[0]], [run values at depths[1]], ...]} — one list
    of per-seed values per depth; mean ± one standard deviation.
    """
    if not curves:
        raise ValueError("curves is empty")
    fig, ax = axes_or_new(ax, PLOT_SIZE)
    for i, (label, per_depth) in enumerate(curves.items()):
        if len(per_depth) != len(depths):
            raise ValueError(f"curve {label!r} has {len(per_depth)} depths, expected {len(depths)}")
        runs = [list(seeds) for seeds in zip(*per_depth)]  # -> per-seed lists over depths
        _mean_and_band(ax, list(depths), runs, label, {"color": f"C{i}", "marker": "o"})
    _label_dead_axes(ax, "hidden layers", "dead units, all hidden layers (%)", title)
    return fig


def _positive_exactly_for_positive_inputs(name):
    """Whether activation `name` outputs > 0 exactly where its input is > 0 (ReLU and the members
    that keep its sign; not Softplus, which is > 0 everywhere): for these, "never > 0" picks the
    units that would be dead under ReLU (`never_positive_per_layer`)."""
    x = torch.linspace(-4.0, 4.0, 81)
    with torch.no_grad():
        return torch.equal(get_activation(name)(x) > 0, x > 0)


# the activations the explorer offers: those of `activations.ACTIVATIONS` that keep ReLU's sign
EXPLORER_ACTIVATIONS = tuple(name for name in ACTIVATIONS if _positive_exactly_for_positive_inputs(name))


NORMALIZATION_CHOICES = (("no normalization", None), ("batch norm", "batch"), ("layer norm", "layer"))


RESIDUAL_CHOICES = (("no skips", False), ("skips: x + ReLU(Wx)", True), ("skips: x + W2·ReLU(W1x)", "standard"))


STYLES = {
    "at initialisation": {"color": "0.55", "ls": "--"},
    "after training": {"color": "C3"},
}


def build_deep_mlp(n_features, n_classes, depth, width, activation, normalization, residual, seed):
    """`make_mlp` with `depth` hidden layers of `width` (`residual`: False, True or "standard",
    see `models.make_mlp`); PReLU slopes are learned, as everywhere."""
    return make_mlp((n_features,) + (width,) * depth + (n_classes,), activation, normalization, residual, seed=seed)


class ArchitectureExplorer(Explorer):
    """Pick an activation, a normalization, the residual block (none, x + ReLU(Wx) or the
    standard x + W2·ReLU(W1x)), the depth and the learning rate; the MLP (`width` units per
    hidden layer) retrains for `steps` plain-SGD steps (batch 32, seed `seed`) and the figure
    shows, per layer, dead units (τ-dormant for signed activations) and the gradient norm, at
    initialisation and after training.

    Dead units at initialisation are measured with the batch's own statistics
    (`dead_per_layer(..., batch_statistics=True)`), after training in eval mode.
    `last_update_ms` holds how long the last retrain and redraw took.
    """

    def __init__(
        self,
        data,
        activation="ReLU",
        normalization=None,
        residual=False,
        depth=12,
        width=32,
        lr=0.05,
        steps=120,
        seed=0,
    ):
        if activation not in EXPLORER_ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {list(EXPLORER_ACTIVATIONS)}")
        if normalization not in dict(NORMALIZATION_CHOICES).values():
            raise ValueError(f"unknown normalization {normalization!r}; choose None, 'batch' or 'layer'")
        if residual not in dict(RESIDUAL_CHOICES).values():
            raise ValueError(f"unknown residual {residual!r}; choose False, True (x + ReLU(Wx)) or 'standard'")
        self.data, self.width, self.steps, self.seed = data, width, steps, seed
        self.activation = Choice(list(EXPLORER_ACTIVATIONS), value=activation, description="activation")
        self.normalization = Choice(list(NORMALIZATION_CHOICES), value=normalization, description="normalization")
        self.residual = Choice(list(RESIDUAL_CHOICES), value=residual, description="residual")
        self.depth = widgets.IntSlider(value=depth, min=2, max=16, description="hidden layers", continuous_update=False)
        self.lr = learning_rate_slider(lr, (-2.5, 0))
        self.history = None
        self.measurements = {}
        Explorer.__init__(
            self,
            [[self.activation, self.normalization, self.residual], [self.depth, self.lr]],
            figsize=(10, 3.6),
            panels=2,
            margins={"left": 0.06, "right": 0.99, "bottom": 0.14, "top": 0.8, "wspace": 0.22},
            summary=True,
            trains=True,
        )

    def retrain(self):
        data = self.data
        self.start_progress(self.steps)
        with torch_threads(1):  # tiny model: one thread is faster, and steadier on a busy machine
            model = build_deep_mlp(
                data.n_features,
                data.n_classes,
                self.depth.value,
                self.width,
                self.activation.value,
                self.normalization.value,
                self.residual.value,
                self.seed,
            )
            before = {
                "gradient": gradient_norms(model, data.X_train, data.y_train),
                "dead": dead_per_layer(model, data.X_train, batch_statistics=True),
            }
            self.history = train(
                model,
                data,
                lr=self.lr.value,
                steps=self.steps,
                batch_size=32,
                seed=self.seed,
                progress=False,
                callbacks=[self.tick],
            )
            after = {
                "gradient": gradient_norms(model, data.X_train, data.y_train),
                "dead": dead_per_layer(model, data.X_train),
            }
        self.measurements = {"at initialisation": before, "after training": after}

    def draw(self):
        dead = {label: [m["dead"]] for label, m in self.measurements.items()}
        gradient = {label: [m["gradient"]] for label, m in self.measurements.items()}
        plot_dead_per_layer(dead, ax=self.axes[0], styles=STYLES, title="Dead (τ-dormant if signed) units per layer")
        plot_gradient_flow(gradient, ax=self.axes[1], styles=STYLES, title="Gradient norm per layer")
        history, after = self.history, self.measurements["after training"]["dead"]
        if history.diverged:
            verdict = f"diverged at step {history.steps[-1]}"
        else:
            verdict = f"test accuracy {100 * history.final_test_accuracy:.1f}% after {history.steps[-1]} steps"
        setting = (
            f"{self.activation.value}, {self.normalization.label}, {self.residual.label}, "
            f"{self.depth.value} hidden layers of {self.width}, lr {self.lr.value:.3g}"
        )
        self.figure.suptitle(f"{setting}: {verdict}", fontsize=10)
        self.summary.value = (
            f"{setting}: <b>{verdict}</b>; after training {sum(after) / len(after):.0f}% of the hidden units are dead "
            "(τ-dormant for activations that can be negative)."
        )


def architecture_explorer(data, **kwargs):
    """Build the explorer of notebook 06 (see `ArchitectureExplorer`)."""
    return ArchitectureExplorer(data, **kwargs)
