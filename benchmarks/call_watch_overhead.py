"""What the checks' call watch costs: a student's function run through `checks._common.call`
(under sys.setprofile) against the same function called directly, in one run.

    .venv/bin/python benchmarks/call_watch_overhead.py [--repeats 200]

Three kinds of student function, from the exercises: an elementwise op (01's relu on a
batch of images), a forward pass with hooks in batches (03's dead_units_with_hooks on the
digits MLP), and a short training-style loop (05's lsuv-like rescaling on an MLP). Printed:
microseconds per call both ways and the ratio. The watch sees every Python and C call, so
the ratio grows with the number of small calls a function makes; the checks call each
student function a few dozen times at most, so what matters is milliseconds per check.
"""

import argparse
import time

import torch
from torch import nn

from deadrelu.checks._common import call
from deadrelu.training import torch_threads


def relu(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


def dead_units_with_hooks(model, X, batch_size=256):
    seen = {}

    def remember(name):
        def hook(module, inputs, output):
            fired = (output > 0).any(dim=0)
            seen[name] = seen.get(name, torch.zeros_like(fired)) | fired

        return hook

    handles = [m.register_forward_hook(remember(n)) for n, m in model.named_modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            for start in range(0, len(X), batch_size):
                model(X[start : start + batch_size])
    finally:
        for handle in handles:
            handle.remove()
    return {name: int((~fired).sum()) for name, fired in seen.items()}


def rescale_layers(model, X):
    with torch.no_grad():
        h = X
        for module in model:
            h = module(h)
            if isinstance(module, nn.Linear):
                module.weight /= h.std()
                h = h / h.std()
    return model


def per_call(fn, args, banned, repeats, watched):
    started = time.perf_counter()
    for _ in range(repeats):
        if watched:
            call(fn, *args, name=fn.__name__, banned=banned)
        else:
            fn(*args)
    return (time.perf_counter() - started) / repeats * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    repeats = parser.parse_args().repeats
    g = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
    cases = {
        "relu on a (32, 3, 28, 28) batch": (relu, (torch.randn(32, 3, 28, 28, generator=g),), {"relu"}),
        "dead_units_with_hooks, digits MLP, 1347 examples in batches of 256": (
            dead_units_with_hooks,
            (model, torch.rand(1347, 64, generator=g)),
            set(),
        ),
        "layer-by-layer rescaling (lsuv-like), digits MLP": (
            rescale_layers,
            (model, torch.rand(512, 64, generator=g)),
            {"kaiming_normal_"},
        ),
    }
    print(f"{'student function':<70} {'direct µs':>10} {'watched µs':>11} {'ratio':>6}")
    with torch_threads(1):
        for label, (fn, args, banned) in cases.items():
            per_call(fn, args, banned, 5, True)  # warm up
            direct = per_call(fn, args, banned, repeats, False)
            watched = per_call(fn, args, banned, repeats, True)
            print(f"{label:<70} {direct:>10.0f} {watched:>11.0f} {watched / direct:>5.2f}×")


if __name__ == "__main__":
    main()
