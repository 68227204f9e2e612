"""Benchmark: what does watching dead units cost during training?

Training-step time (forward, loss, backward, SGD step) on the digits MLP 64-128-128-10, the
small CNN and, for scale, a 784-1024-1024-10 MLP; batch 64, one PyTorch thread; with:

  plain          no monitoring
  bare hooks     a forward hook that does nothing on every activation module: the floor of any
                 hook-based monitor (PyTorch's own cost of calling a hook)
  copy only      a hook that only copies each activation into a fixed buffer (what the monitor
                 does per step before counting: the floor of an exact count made later)
  sum only       a hook that only adds each activation into a fixed accumulator (sums, no count
                 of positive outputs: not enough for firing rates)
  monitor        DeadUnitMonitor attached (running counts per unit, memory bounded by a constant)
  tracker        the same monitor with activation histograms (the colorful dimension)
  naive store    a hook that keeps every activation, dead units computed at the end of each epoch
  detection pass no hook; after each epoch a separate scan() over the training set

Each variant keeps its own model and trains one epoch (plus its end-of-epoch work: the
monitor's report, the naive reduction, the detection pass) in turn with the others, for
many rounds; the median time per step is compared with "plain" as a ratio measured in the
same run, so machine noise hits every variant alike. Run it with
`.venv/bin/python benchmarks/monitor_overhead.py` (about three minutes); it is a benchmark,
not a test: the figures go into the README, and the script prints them as its markdown table.
"""

import argparse
import statistics
import time

import torch
from torch import nn

from deadrelu.data import load_digits_split
from deadrelu.models import make_cnn, make_mlp
from deadrelu.monitor import ACTIVATION_MODULES, DeadUnitMonitor, scan


class BareHooks:
    """A forward hook that does nothing on every activation module: what any hook costs."""

    def __init__(self, model):
        self.handles = [
            m.register_forward_hook(lambda module, inputs, output: None)
            for m in model.modules()
            if isinstance(m, ACTIVATION_MODULES)
        ]

    def remove(self):
        for handle in self.handles:
            handle.remove()


class CopyOnly(BareHooks):
    """A hook that copies each full-size activation into a slot of a fixed buffer, and nothing else."""

    SLOTS = 32

    def __init__(self, model):
        self.handles = []
        for module in model.modules():
            if isinstance(module, ACTIVATION_MODULES):
                state = {"slots": None, "next": 0}
                self.handles.append(module.register_forward_hook(lambda m, i, o, state=state: self.copy(state, o)))

    def copy(self, state, output):
        if state["slots"] is None:
            state["slots"] = torch.empty((self.SLOTS, *output.shape), dtype=output.dtype).unbind(0)
        slots = state["slots"]
        if output.shape == slots[0].shape:
            slots[state["next"]].copy_(output.detach())
            state["next"] = (state["next"] + 1) % self.SLOTS


class SumOnly(BareHooks):
    """A hook that adds each full-size activation into a fixed accumulator of its shape, and nothing else."""

    def __init__(self, model):
        self.handles = []
        for module in model.modules():
            if isinstance(module, ACTIVATION_MODULES):
                state = {"total": None}
                self.handles.append(module.register_forward_hook(lambda m, i, o, state=state: self.add(state, o)))

    def add(self, state, output):
        if state["total"] is None:
            state["total"] = torch.zeros_like(output, requires_grad=False)
        if output.shape == state["total"].shape:
            state["total"].add_(output.detach())


class NaiveStore:
    """What the seed article's approach grows into: keep every activation, reduce later."""

    def __init__(self, model):
        self.outputs = {}
        self.handles = [
            m.register_forward_hook(
                lambda mod, i, o, name=name: self.outputs.setdefault(name, []).append(o.detach().clone())
            )
            for name, m in model.named_modules()
            if isinstance(m, nn.ReLU)
        ]

    def dead_counts(self):
        counts = {}
        for name, outputs in self.outputs.items():
            everything = torch.cat(outputs)
            counts[name] = int(((everything > 0).sum(dim=[d for d in range(everything.dim()) if d != 1]) == 0).sum())
        self.outputs = {}
        return counts

    def remove(self):
        for handle in self.handles:
            handle.remove()


def one_epoch(model, optimizer, X, y, batch_size, generator):
    loss_fn = nn.CrossEntropyLoss()
    steps = 0
    for batch in torch.randperm(len(X), generator=generator).split(batch_size):
        loss = loss_fn(model(X[batch]), y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps += 1
    return steps


class Variant:
    """One way of training: its own model, optimizer, watcher and data order."""

    def __init__(self, name, build, X, y, batch_size):
        self.name, self.X, self.y, self.batch_size = name, X, y, batch_size
        self.model = build()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.05)
        self.generator = torch.Generator().manual_seed(0)
        self.watcher = {
            "bare hooks": lambda: BareHooks(self.model),
            "copy only": lambda: CopyOnly(self.model),
            "sum only": lambda: SumOnly(self.model),
            "monitor": lambda: DeadUnitMonitor(self.model),
            "tracker": lambda: DeadUnitMonitor(self.model, histogram=(40, -1.0, 6.0)),
            "naive store": lambda: NaiveStore(self.model),
        }.get(name, lambda: None)()

    def epoch_seconds_per_step(self, clock=time.thread_time):
        """Train one epoch plus this variant's end-of-epoch work; seconds per step."""
        started = clock()
        steps = one_epoch(self.model, self.optimizer, self.X, self.y, self.batch_size, self.generator)
        if self.name in ("monitor", "tracker"):
            self.watcher.report()
            self.watcher.reset()
        elif self.name == "naive store":
            self.watcher.dead_counts()
        elif self.name == "detection pass":
            scan(self.model, self.X)
        return (clock() - started) / steps


ROW_LABELS = {
    "plain": "no monitoring",
    "bare hooks": "a forward hook that does nothing (the floor)",
    "copy only": "a hook that only copies each activation into a buffer",
    "sum only": "a hook that only sums each activation (no firing count)",
    "monitor": "`DeadUnitMonitor` attached",
    "tracker": "tracker (monitor + activation histograms)",
    "naive store": "naive: store every activation, reduce per epoch",
    "detection pass": "separate detection pass over the data each epoch",
}


def markdown_table(medians, variants):
    """The README's table: one column per model, µs per step and the ratio to "plain"."""
    setups = list(medians)
    lines = [
        "| training step | " + " | ".join(setups) + " |",
        "|---" * (len(setups) + 1) + "|",
    ]
    for name in variants:
        cells = []
        for setup in setups:
            median, base = medians[setup][name], medians[setup]["plain"]
            cells.append(f"{1e6 * median:.0f} µs ({median / base:.2f}×)")
        lines.append(f"| {ROW_LABELS[name]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40, help="epochs per variant, taken in turns")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: this thread's CPU time (time.thread_time), steady on a busy machine; wall: time.perf_counter",
    )
    args = parser.parse_args()
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)
    variants = ["plain", "bare hooks", "copy only", "sum only", "monitor", "tracker", "naive store", "detection pass"]
    flat, images = load_digits_split(seed=0), load_digits_split(seed=0, images=True)
    wide = torch.randn(2048, 784, generator=torch.Generator().manual_seed(0))
    setups = {
        "digits MLP 64-128-128-10": (lambda: make_mlp((64, 128, 128, 10), seed=0), flat.X_train, flat.y_train),
        "small CNN 1-8-16 on 8x8": (lambda: make_cnn((8, 16), seed=0), images.X_train, images.y_train),
        # for scale: an MNIST-sized MLP, where a step does real work
        "MLP 784-1024-1024-10 (random data)": (
            lambda: make_mlp((784, 1024, 1024, 10), seed=0),
            wide,
            torch.randint(0, 10, (2048,), generator=torch.Generator().manual_seed(1)),
        ),
    }
    print(
        f"median time per training step ({args.clock} clock): {args.rounds} epochs per variant in turns, "
        f"batch {args.batch_size}, 1 thread\n"
    )
    medians = {}
    for setup, (build, X, y) in setups.items():
        runs = [Variant(name, build, X, y, args.batch_size) for name in variants]
        for run in runs:
            run.epoch_seconds_per_step(clock)  # warm-up
        times = {run.name: [] for run in runs}
        for _ in range(args.rounds):
            for run in runs:
                times[run.name].append(run.epoch_seconds_per_step(clock))
        medians[setup] = {name: statistics.median(times[name]) for name in variants}
        base = medians[setup]["plain"]
        print(setup)
        for name in variants:
            median = medians[setup][name]
            print(f"  {name:15s} {1e6 * median:8.1f} µs/step   x{median / base:.3f}")
        print()
    print(markdown_table(medians, variants))
    print()

    # Threads: why train() uses one thread for these models.
    build, X, y = setups["digits MLP 64-128-128-10"]
    run = Variant("plain", build, X, y, args.batch_size)
    per_threads = {1: [], 2: []}
    for _ in range(10):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            per_threads[threads].append(run.epoch_seconds_per_step(time.perf_counter))  # two threads: wall time
    one, two = statistics.median(per_threads[1]), statistics.median(per_threads[2])
    print(f"digits MLP, plain step: 1 thread {1e6 * one:.1f} µs, 2 threads {1e6 * two:.1f} µs (x{two / one:.2f})")


if __name__ == "__main__":
    main()
