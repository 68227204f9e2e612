"""The course's seeded training loop: minibatch classification with the knobs the remedies
turn (optimizer, learning rate, warmup, gradient clipping), optional dead-unit tracking and
a progress bar. Introduced in notebook 02_how_units_die.
"""

import math
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "rmsprop": torch.optim.RMSprop,
}


@dataclass
class History:
    """What happened during `train`: losses per step, accuracy at evaluation steps."""

    steps: list = field(default_factory=list)  # 1, 2, ...: one entry per optimizer step
    train_loss: list = field(default_factory=list)
    eval_steps: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)  # global gradient norm before clipping
    update_ratio: dict = field(default_factory=dict)  # weight name -> per step ||W_after - W_before|| / ||W_before||
    tracking: object = None  # a tracking.TrackingHistory when a tracker was given
    diverged: bool = False  # the loss became inf or nan; training stopped there
    seconds: float = 0.0

    @property
    def final_test_accuracy(self):
        return self.test_accuracy[-1] if self.test_accuracy else float("nan")

    def steps_to_accuracy(self, target):
        """First evaluation step at which test accuracy reached `target` (None if never)."""
        return next((s for s, a in zip(self.eval_steps, self.test_accuracy) if a >= target), None)


def evaluate_accuracy(model, X, y, batch_size=2048):
    """Share of correct predictions, in eval mode and without gradients (mode restored)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            correct = sum(
                (model(xb).argmax(dim=1) == yb).sum().item() for xb, yb in zip(X.split(batch_size), y.split(batch_size))
            )
        return correct / len(y)
    finally:
        model.train(was_training)


def steps_per_epoch(n_examples, batch_size, drop_last=True):
    """Optimizer steps in one pass over `n_examples` at `batch_size`: the one rule of the course.

    With `drop_last=True` (the default of `train`) an epoch is only full batches,
    n_examples // batch_size of them; the leftover examples (3 of the digits' 1,347 at
    batch 32) wait for the next epoch's shuffle. With `drop_last=False` the leftover
    examples form one short last batch, ceil(n_examples / batch_size) steps in all.
    A set smaller than one batch is a single (short) batch either way.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if not isinstance(n_examples, int) or isinstance(n_examples, bool) or n_examples < 1:
        raise ValueError(f"n_examples must be an int >= 1, got {n_examples!r}")
    if drop_last and n_examples >= batch_size:
        return n_examples // batch_size
    return math.ceil(n_examples / batch_size)


def make_optimizer(name, parameters, lr, momentum=0.0, weight_decay=0.0):
    """`parameters` may be parameters or param groups (dicts with their own "lr")."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}")
    kwargs = {"lr": lr, "weight_decay": weight_decay}
    if name in ("sgd", "rmsprop"):
        kwargs["momentum"] = momentum
    return OPTIMIZERS[name](parameters, **kwargs)


def layer_parameter_groups(model, lr, lr_scale):
    """Param groups giving the parameters of each module named in `lr_scale` the learning
    rate lr * factor ({"0": 0.25}: the first Linear of a flat MLP at a quarter of the rate);
    every other parameter keeps `lr`. The seed article's "different layers might need
    different rates" (notebook 04)."""
    modules = dict(model.named_modules())
    unknown = sorted(set(lr_scale) - set(modules))
    if unknown:
        raise ValueError(
            f"lr_scale names {unknown}, which are not modules of the model; "
            f"its modules are {sorted(m for m in modules if m)}"
        )
    groups, taken = [], set()
    for name, factor in lr_scale.items():
        params = [p for p in modules[name].parameters() if id(p) not in taken]
        taken.update(id(p) for p in params)
        groups.append({"params": params, "lr": lr * factor})
    rest = [p for p in model.parameters() if id(p) not in taken]
    return ([{"params": rest, "lr": lr}] if rest else []) + groups


def train(
    model,
    data,
    *,
    optimizer="sgd",
    lr=0.1,
    epochs=None,
    steps=None,
    batch_size=64,
    drop_last=True,
    momentum=0.0,
    weight_decay=0.0,
    lr_scale=None,
    warmup_steps=0,
    clip_grad_norm=None,
    eval_every=None,
    tracker=None,
    callbacks=(),
    seed=0,
    progress=True,
    num_threads=1,
    record_update_ratio=False,
):
    """Train `model` on `data` (anything with X_train, y_train, X_test, y_test) with cross-entropy.

    Give `epochs` or `steps` (not both). Minibatches are drawn from a generator seeded with
    `seed`, so the same call gives the same run. `optimizer` is "sgd", "adam", "rmsprop" or a
    ready `torch.optim.Optimizer` over the model's parameters. `warmup_steps` ramps the
    learning rate linearly from lr/warmup_steps to lr; `clip_grad_norm` clips the global
    gradient norm (torch.nn.utils.clip_grad_norm_). `tracker` is a `DeadUnitTracker` on this
    model; `callbacks` are called as `callback(step, model, optimizer)` after every step
    (e.g. ReDo's recycling). Test accuracy is measured every `eval_every` steps and at the end.

    `lr_scale`: per-layer learning rates, {module name: factor} (see `layer_parameter_groups`);
    `momentum` and `weight_decay` go to the optimizer (momentum for SGD and RMSprop).

    `record_update_ratio`: record, for every weight matrix, the size of each step relative to
    the weights, ||ΔW|| / ||W|| (CS231n's early warning: about 1e-3 is healthy), in
    `History.update_ratio`.

    `drop_last` (default True): every optimizer step sees exactly `batch_size` examples; the
    last batch of an epoch, when it is smaller, is skipped (those examples are reshuffled into
    the next epoch), for every model. The digits' 1,347 training images leave 3 over at batch
    32, and one gradient step on 3 examples is so noisy that at a high learning rate it kills
    units by itself (notebook 02, "one noisy step"); with batch norm it would also fold the
    statistics of 3 examples into the running averages. `drop_last=False` keeps the short
    batch, as `torch.utils.data.DataLoader(drop_last=False)` does. Steps per epoch:
    `steps_per_epoch(len(X_train), batch_size, drop_last)`.

    `num_threads`: PyTorch threads while training (restored afterwards; None leaves them).
    The course's models are tiny, and for them one thread is faster than several: the
    threads spend longer synchronising than computing (benchmarks/monitor_overhead.py).
    """
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs= or steps=")
    X, y = data.X_train, data.y_train
    if len(X) != len(y):
        raise ValueError(f"X_train has {len(X)} examples but y_train has {len(y)}")
    epoch_steps = steps_per_epoch(len(X), batch_size, drop_last)
    full_batches_only = drop_last and len(X) >= batch_size
    total_steps = steps if steps is not None else epochs * epoch_steps
    if isinstance(optimizer, torch.optim.Optimizer):
        if lr_scale:
            raise ValueError(
                "lr_scale builds the optimizer's param groups; with a ready optimizer, give it the groups yourself"
            )
        opt = optimizer
    else:
        parameters = layer_parameter_groups(model, lr, lr_scale) if lr_scale else model.parameters()
        opt = make_optimizer(optimizer, parameters, lr, momentum, weight_decay)
    scheduler = None
    if warmup_steps:
        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / warmup_steps))
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    history = History()
    started = time.perf_counter()
    bar = tqdm(total=total_steps, desc="training", disable=not progress, leave=False)

    def evaluate(step):
        with tracker.paused() if tracker is not None else nullcontext():
            history.eval_steps.append(step)
            history.test_accuracy.append(evaluate_accuracy(model, data.X_test, data.y_test))

    weights = [(n, p) for n, p in model.named_parameters() if p.dim() >= 2]  # for record_update_ratio
    model.train()
    with torch_threads(num_threads), tracker if tracker is not None else nullcontext():
        step = 0
        while step < total_steps and not history.diverged:
            order = torch.randperm(len(X), generator=generator)
            for batch in order.split(batch_size):
                if len(batch) < batch_size and full_batches_only:
                    break  # the short last batch: skipped unless drop_last=False (see docstring)
                loss = loss_fn(model(X[batch]), y[batch])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                parameters = [p for p in model.parameters() if p.grad is not None]
                norm = nn.utils.get_total_norm([p.grad for p in parameters])
                if clip_grad_norm:
                    nn.utils.clip_grads_with_norm_(parameters, clip_grad_norm, norm)
                before = {n: p.detach().clone() for n, p in weights} if record_update_ratio else None
                opt.step()
                if before is not None:
                    for n, p in weights:
                        history.update_ratio.setdefault(n, []).append(
                            ((p.detach() - before[n]).norm() / before[n].norm()).item()
                        )
                if scheduler is not None:
                    scheduler.step()
                step += 1
                history.steps.append(step)
                history.train_loss.append(loss.item())
                history.grad_norm.append(norm.item())
                if tracker is not None:
                    tracker.step()
                for callback in callbacks:
                    callback(step, model, opt)
                if not math.isfinite(history.train_loss[-1]):
                    history.diverged = True
                if eval_every and step % eval_every == 0 and step < total_steps:
                    evaluate(step)
                bar.update(1)
                if step % 20 == 0:
                    bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}")
                if step >= total_steps or history.diverged:
                    break
        evaluate(step)
    bar.close()
    history.tracking = tracker.history if tracker is not None else None
    history.seconds = time.perf_counter() - started
    return history


@contextmanager
def torch_threads(n):
    """Use `n` PyTorch threads inside the block (None: leave as is), then restore."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
