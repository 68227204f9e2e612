"""Continual backprop (Dohare et al. 2024, Nature, "Loss of plasticity in deep continual
learning"): keep replacing a small share of the least useful units. Notebook 07.

Every hidden unit i carries a contribution utility, a running average over training steps
of how much it feeds the next layer:

    u_i <- η·u_i + (1 - η)·mean|h_i|·Σ_k |w_out[k, i]|,   η = 0.99,

with mean|h_i| the unit's mean absolute output on the step's batch. After every step, each
hidden layer replaces `replacement_rate` × (its units) units — fractions accumulate across
steps — chosen among the *mature* units (at least `maturity` steps since they were last
replaced) with the lowest utility. A replaced unit is recycled the way ReDo does it (fresh
incoming row, bias 0, outgoing column 0, optimizer state of those weights reset) and starts
again with utility 0 and age 0. A dead unit has utility decaying to 0, so it is replaced
first; but so is a live unit whose outgoing weights are tiny.

Kept compact on purpose: the paper's version also bias-corrects the utility and moves the
removed unit's mean contribution into the next layer's bias; this one does neither.
"""

import torch

from .recycling import _fresh_rows, reset_optimizer_state
from .stacks import hidden_layers


class ContinualBackprop:
    """A `train(..., callbacks=[cbp])` callback that replaces low-utility mature units.

    >>> cbp = ContinualBackprop(model, replacement_rate=1e-3, maturity=100)
    >>> train(model, data, optimizer=optimizer, callbacks=[cbp], ...)
    >>> cbp.remove()

    Forward hooks on the activations record each training batch's mean |h| (batches seen in
    eval mode are ignored). `reset_optimizer=False` keeps the optimizer state of the
    replaced weights, as `recycling.recycle_dormant` can. `replaced` counts the replacements per layer. Also a context
    manager: the hooks are removed on exit.
    """

    def __init__(self, model, replacement_rate=1e-3, maturity=100, eta=0.99, generator=None, reset_optimizer=True):
        if not 0.0 <= replacement_rate <= 1.0:
            raise ValueError(f"replacement_rate must be in [0, 1], got {replacement_rate!r}")
        if not 0.0 <= eta < 1.0:
            raise ValueError(f"eta must be in [0, 1), got {eta!r}")
        self.layers = hidden_layers(model)
        self.replacement_rate, self.maturity, self.eta = replacement_rate, maturity, eta
        self.reset_optimizer = reset_optimizer
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.utility = {layer.name: torch.zeros(layer.incoming.out_features) for layer in self.layers}
        self.age = {layer.name: torch.zeros(layer.incoming.out_features, dtype=torch.long) for layer in self.layers}
        self.replaced = {layer.name: 0 for layer in self.layers}
        self._owed = {layer.name: 0.0 for layer in self.layers}
        self._mean_abs = {}
        self._handles = [layer.activation.register_forward_hook(self._hook(layer.name)) for layer in self.layers]

    def _hook(self, name):
        def record(module, inputs, output):
            if module.training:
                self._mean_abs[name] = output.detach().abs().mean(dim=0).cpu()

        return record

    def __call__(self, step, model, optimizer):
        for layer in self.layers:
            name = layer.name
            if name not in self._mean_abs:
                continue
            outgoing = layer.outgoing.weight.detach().abs().sum(dim=0).cpu()
            self.utility[name].mul_(self.eta).add_((1 - self.eta) * self._mean_abs[name] * outgoing)
            self.age[name] += 1
            self._owed[name] += self.replacement_rate * len(self.age[name])
            mature = (self.age[name] >= self.maturity).nonzero().flatten()
            n = min(int(self._owed[name]), len(mature))
            if n == 0:
                continue
            self._owed[name] -= n
            units = mature[self.utility[name][mature].argsort()[:n]]
            self._replace(layer, units, optimizer)
            self.utility[name][units], self.age[name][units] = 0.0, 0
            self.replaced[name] += n

    def _replace(self, layer, units, optimizer):
        device = layer.incoming.weight.device
        with torch.no_grad():
            layer.incoming.weight[units.to(device)] = _fresh_rows(layer.incoming.weight, units, self.generator)
            if layer.incoming.bias is not None:
                layer.incoming.bias[units.to(device)] = 0.0
            layer.outgoing.weight[:, units.to(device)] = 0.0
        if optimizer is not None and self.reset_optimizer:
            reset_optimizer_state(optimizer, layer.incoming.weight, units, 0)
            if layer.incoming.bias is not None:
                reset_optimizer_state(optimizer, layer.incoming.bias, units, 0)
            reset_optimizer_state(optimizer, layer.outgoing.weight, units, 1)

    def remove(self):
        """Remove the forward hooks (safe to call twice)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
