"""Find the hidden layers of a flat MLP: Linear -> [norm] -> activation -> ... -> Linear.

Recycling and pruning edit a unit's incoming row and outgoing column, so they need to know,
for each activation, which Linear feeds it and which Linear reads it.
"""

from dataclasses import dataclass

from torch import nn

from .monitor import ACTIVATION_MODULES

NORMS = (nn.BatchNorm1d, nn.LayerNorm)


@dataclass
class HiddenLayer:
    name: str  # the activation module's name, as in monitor reports
    incoming: nn.Linear  # its rows are the units' incoming weights
    norm: nn.Module | None
    activation: nn.Module
    outgoing: nn.Linear  # its columns are the units' outgoing weights


def hidden_layers(model):
    """The hidden layers of a flat `nn.Sequential` MLP, in order (the output layer is not one).

    Raises a ValueError that says what it found when the model is not such a stack.
    """
    if not isinstance(model, nn.Sequential):
        raise ValueError(
            f"expected a flat nn.Sequential of Linear, [norm,] activation, ..., Linear; got {type(model).__name__}"
        )
    children = list(model.named_children())
    kinds = [type(m).__name__ for _, m in children]
    layers, i = [], 0
    while i < len(children):
        name, module = children[i]
        if not isinstance(module, nn.Linear):
            raise ValueError(
                f"expected nn.Linear at position {i} of the stack, found {type(module).__name__} (stack: {kinds})"
            )
        if i == len(children) - 1:
            break  # the output layer
        norm = None
        j = i + 1
        if isinstance(children[j][1], NORMS):
            norm, j = children[j][1], j + 1
        if j >= len(children) or not isinstance(children[j][1], ACTIVATION_MODULES):
            raise ValueError(f"expected an activation after the Linear at position {i} (stack: {kinds})")
        if j + 1 >= len(children) or not isinstance(children[j + 1][1], nn.Linear):
            raise ValueError(f"expected an nn.Linear after the activation at position {j} (stack: {kinds})")
        layers.append(HiddenLayer(children[j][0], module, norm, children[j][1], children[j + 1][1]))
        i = j + 1
    if not layers:
        raise ValueError(f"no hidden layer found (stack: {kinds})")
    return layers
