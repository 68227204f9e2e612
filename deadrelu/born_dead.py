"""Born dead: how often is a freshly initialised deep, narrow ReLU net dead? (notebook 02)

Lu, Shin, Su & Karniadakis 2019 ("Dying ReLU and Initialization") show that with a
symmetric weight distribution, deep narrow ReLU nets are dead at initialisation with a
probability that tends to 1 as depth grows. This module measures it by Monte Carlo.
"""

import torch


def born_dead_probability(width, depth):
    """P(a net of `depth` hidden layers of `width` units is born dead) for one live input.

    Symmetric weights, no biases: each unit is off with probability 1/2, independently, so a
    layer dies with probability 2**-width, and the net lives only if every layer does.
    """
    if width < 1 or depth < 1:
        raise ValueError(f"width and depth must be >= 1, got {width}, {depth}")
    return 1 - (1 - 2.0**-width) ** depth


def standard_normal_weights(n_nets, n_out, n_in, generator):
    """Symmetric init: every weight N(0, 1) (the scale does not matter for the sign)."""
    return torch.randn(n_nets, n_out, n_in, generator=generator)


def born_dead_share(
    width, depth, n_nets=2000, n_inputs=1, input_features=None, sample_weights=standard_normal_weights, generator=None
):
    """Share of `n_nets` random nets (no biases) that output 0 at some hidden layer for all of
    `n_inputs` positive inputs drawn U(0, 1).

    Each net has `depth` hidden ReLU layers of `width` units; a net counts as born dead when
    some hidden layer's output is all zeros for every input, so that nothing reaches the
    output. All nets are simulated at once (batched matrix products).
    """
    if width < 1 or depth < 1 or n_nets < 1 or n_inputs < 1:
        raise ValueError(f"width, depth, n_nets and n_inputs must be >= 1, got {width}, {depth}, {n_nets}, {n_inputs}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    features = input_features or width
    h = torch.rand(n_nets, features, n_inputs, generator=generator)  # positive inputs, one column each
    dead = torch.zeros(n_nets, dtype=torch.bool)
    for _ in range(depth):
        weights = sample_weights(n_nets, width, h.shape[1], generator)
        h = torch.relu(weights @ h)
        dead |= (h == 0).flatten(1).all(dim=1)
    return dead.float().mean().item()
