"""The public checks of 03_detecting_dead_units: correct alternatives pass, plausible wrong
answers fail with a hint that names the misconception; the escape routes (a check module's
reference or the package's monitor used as the answer, a tensor subclass, a threshold instead
of `> 0`, one forward pass instead of batches, gradients left on) are closed; and the
diagnosis exercise's hidden test grades a catalogue of right and wrong answers."""

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from deadrelu.checks import detecting_dead_units as checks_03
from deadrelu.checks.detecting_dead_units import (
    check_count_dead_units,
    check_dead_units_with_hooks,
    check_dormant_scores,
    check_unit_diagnosis,
    hook_fixture,
    never_positive,
    reference_dormant_scores,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_tools import run_graded_cell  # noqa: E402

ASSIGNMENT = "03_detecting_dead_units"


# --- count_dead_units -------------------------------------------------------------------
def count_cat(activation_batches):
    everything = torch.cat(list(activation_batches))
    return int((everything <= 0).all(dim=0).sum())


def count_running_mask(activation_batches):
    fired = None
    for h in activation_batches:
        now = (h > 0).any(dim=0)
        fired = now if fired is None else fired | now
    return int((~fired).sum())


def count_running_max(activation_batches):
    top = torch.stack([h.max(dim=0).values for h in activation_batches]).max(dim=0).values
    return (top <= 0).sum()  # a 0-dim int64 tensor is a fine count too


def count_relu_sum(activation_batches):
    total = sum(torch.relu(h).sum(dim=0) for h in activation_batches)
    return int((total == 0).sum())


def count_seed_article(activation_batches):  # both bugs
    dead = 0
    for h in activation_batches:
        dead += int((h.sum(dim=0) == 0).sum())
    return dead


def count_per_batch(activation_batches):
    return sum(int((h <= 0).all(dim=0).sum()) for h in activation_batches)


def count_per_batch_mean(activation_batches):
    counts = [int((h <= 0).all(dim=0).sum()) for h in activation_batches]
    return round(sum(counts) / len(counts))


def count_last_batch(activation_batches):
    for h in activation_batches:
        dead = int((h <= 0).all(dim=0).sum())
    return dead


def count_silent_somewhere(activation_batches):
    silent = torch.stack([(h <= 0).all(dim=0) for h in activation_batches])
    return int(silent.any(dim=0).sum())


def count_sum_zero(activation_batches):
    return int((torch.cat(activation_batches).sum(dim=0) == 0).sum())


def count_all_zero(activation_batches):
    return int((torch.cat(activation_batches) == 0).all(dim=0).sum())


def count_sum_nonpositive(activation_batches):
    return int((torch.cat(activation_batches).sum(dim=0) <= 0).sum())


def count_percentage(activation_batches):
    everything = torch.cat(activation_batches)
    return 100 * (everything <= 0).all(dim=0).float().mean().item()


def count_mask(activation_batches):
    return (torch.cat(activation_batches) <= 0).all(dim=0)


def count_alive(activation_batches):
    return int((torch.cat(activation_batches) > 0).any(dim=0).sum())


def count_in_place(activation_batches):
    for h in activation_batches:
        h.clamp_(min=0)
    return int((torch.cat(activation_batches).sum(dim=0) == 0).sum())


def count_stub(activation_batches):
    raise NotImplementedError()


def count_threshold(activation_batches):
    """A "numerical safety" threshold: > 1e-6 instead of > 0."""
    return int((torch.cat(list(activation_batches)) > 1e-6).any(dim=0).logical_not().sum())


def count_eps_threshold(activation_batches):
    eps = torch.finfo(torch.float32).eps  # about 1.2e-7
    return int((torch.cat(list(activation_batches)) <= eps).all(dim=0).sum())


def count_tiny_threshold(activation_batches):
    """A threshold so small it "cannot matter": 1e-12."""
    return int((torch.cat(list(activation_batches)) <= 1e-12).all(dim=0).sum())


def count_isclose_zero(activation_batches):
    everything = torch.cat(list(activation_batches))
    return int(torch.isclose(everything, torch.zeros_like(everything)).all(dim=0).sum())


def count_with_scan_helpers(activation_batches):
    """The check module's own reference, imported."""
    return never_positive(activation_batches)


def count_by_the_monitor(activation_batches):
    """The package's monitor doing the work: an identity model whose output is hooked."""
    from deadrelu.monitor import DeadUnitMonitor

    model = nn.Sequential(nn.Identity(), nn.ReLU())
    with DeadUnitMonitor(model, modules=["1"]) as monitor, torch.no_grad():
        for h in activation_batches:
            model(h)
    return monitor.report().layers[0].dead


class _PosingTensor(torch.Tensor):
    """A tensor subclass whose comparisons always say "equal"."""

    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False  # noqa: E731


def count_subclass(activation_batches):
    return torch.tensor(2).as_subclass(_PosingTensor)


def count_none(activation_batches):
    return None


def count_list(activation_batches):
    return [0, 4]


def count_dict(activation_batches):
    return {"dead": 2}


def count_float_tensor_mask(activation_batches):
    return (torch.cat(list(activation_batches)) <= 0).all(dim=0).float()


def count_raises_index_error(activation_batches):
    return activation_batches[7].shape[0]


@pytest.mark.parametrize("count", [count_cat, count_running_mask, count_running_max, count_relu_sum])
def test_count_dead_units_accepts_correct_alternatives(count, capsys):
    """(a 0-dim int tensor, an int and a NumPy int are all fine counts)"""
    check_count_dead_units(count)
    assert "count_dead_units passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "count, hint",
    [
        (count_seed_article, "Counting each batch on its own and adding"),
        (count_per_batch, "Counting each batch on its own and adding"),
        (count_per_batch_mean, "about the average of the per-batch counts"),
        (count_last_batch, "the count on the last batch alone"),
        (count_silent_somewhere, "AND over batches, not OR"),
        (count_sum_zero, "`sum == 0` means 'never > 0' only when outputs cannot be negative"),
        (count_all_zero, "not 'every output == 0'"),
        (count_sum_nonpositive, "a sum can be negative even though one output is > 0"),
        (count_percentage, "the percentage of dead units"),
        (count_mask, "return the count of dead units"),
        (count_alive, "not the ones that do"),
        (count_in_place, "modified the activation tensors"),
        (count_stub, "not implemented yet"),
        (count_threshold, "a threshold (`h > 1e-6`"),
        (count_eps_threshold, "a threshold (`h > 1e-6`"),
        (count_tiny_threshold, "a threshold (`h > 1e-6`"),
        (count_isclose_zero, "not 'every output == 0'"),  # isclose(h, 0) is `== 0` with a tolerance
        (count_with_scan_helpers, "calls `never_positive` from the check module"),
        (never_positive, "is `never_positive` from the check module"),
        (count_by_the_monitor, "the course's `DeadUnitMonitor.__init__`"),
        (count_subclass, "a subclass of torch.Tensor"),
        (count_none, "returned a NoneType, not a number"),
        (count_list, "returned a list, not one number"),
        (count_dict, "returned a dict, not one number"),
        (count_float_tensor_mask, "not one number"),
        (count_raises_index_error, "raised IndexError"),
    ],
)
def test_count_dead_units_rejects_wrong_answers_with_a_hint(count, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_count_dead_units(count)


# --- dead_units_with_hooks ----------------------------------------------------------------
def _relu_names(model):
    return [name for name, module in model.named_modules() if isinstance(module, nn.ReLU)]


def hooks_running_mask(model, X, batch_size=256):
    fired, handles = {}, []

    def watch(name):
        def hook(module, inputs, output):
            now = (output > 0).any(dim=0)
            fired[name] = now if name not in fired else fired[name] | now

        return hook

    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            handles.append(module.register_forward_hook(watch(name)))
    try:
        with torch.no_grad():
            for xb in X.split(batch_size):
                model(xb)
    finally:
        for handle in handles:
            handle.remove()
    return {name: int((~mask).sum()) for name, mask in fired.items()}


class _Recorder:
    """A context manager that stores every output of the watched modules (fine for small X)."""

    def __init__(self, model):
        self.outputs = {name: [] for name in _relu_names(model)}
        modules = dict(model.named_modules())
        self.handles = [modules[name].register_forward_hook(self._hook(name)) for name in self.outputs]

    def _hook(self, name):
        def hook(module, inputs, output):
            self.outputs[name].append(output.detach().clone())

        return hook

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()
        return False


def hooks_context_manager(model, X, batch_size=256):
    was_training = model.training
    model.eval()
    try:
        with _Recorder(model) as recorder, torch.no_grad():
            for start in range(0, len(X), batch_size):
                model(X[start : start + batch_size])
    finally:
        model.train(was_training)
    return {name: int((torch.cat(outs) <= 0).all(dim=0).sum()) for name, outs in recorder.outputs.items()}


def hooks_with_scan(model, X, batch_size=256):
    from deadrelu.monitor import scan

    report = scan(model, X, batch_size=batch_size, modules=_relu_names(model))
    return {layer.name: layer.dead for layer in report.layers}


def hooks_never_removed(model, X, batch_size=256):
    fired = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            module.register_forward_hook(
                lambda m, i, o, name=name: fired.__setitem__(name, fired.get(name, False) | (o > 0).any(0))
            )
    with torch.no_grad():
        for xb in X.split(batch_size):
            model(xb)
    return {name: int((~mask).sum()) for name, mask in fired.items()}


def hooks_no_finally(model, X, batch_size=256):
    fired, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            handles.append(
                module.register_forward_hook(
                    lambda m, i, o, name=name: fired.__setitem__(name, fired.get(name, False) | (o > 0).any(0))
                )
            )
    with torch.no_grad():
        for xb in X.split(batch_size):
            model(xb)
    for handle in handles:
        handle.remove()
    return {name: int((~mask).sum()) for name, mask in fired.items()}


def hooks_clear_all(model, X, batch_size=256):
    fired = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            module.register_forward_hook(
                lambda m, i, o, name=name: fired.__setitem__(name, fired.get(name, False) | (o > 0).any(0))
            )
    try:
        with torch.no_grad():
            for xb in X.split(batch_size):
                model(xb)
    finally:
        for module in model.modules():
            module._forward_hooks.clear()
    return {name: int((~mask).sum()) for name, mask in fired.items()}


def hooks_returning_a_mask(model, X, batch_size=256):
    fired, handles = {}, []

    def watch(name):
        def hook(module, inputs, output):
            fired[name] = fired.get(name, False) | (output > 0).any(dim=0)
            return (output > 0).float()  # "returns what it measured": replaces the output

        return hook

    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            handles.append(module.register_forward_hook(watch(name)))
    try:
        with torch.no_grad():
            for xb in X.split(batch_size):
                model(xb)
    finally:
        for handle in handles:
            handle.remove()
    return {name: int((~mask).sum()) for name, mask in fired.items()}


def hooks_returning_bool(model, X, batch_size=256):
    handles = []
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            handles.append(module.register_forward_hook(lambda m, i, o: o > 0))
    try:
        with torch.no_grad():
            for xb in X.split(batch_size):
                model(xb)
    finally:
        for handle in handles:
            handle.remove()
    return {}


def hooks_last_batch(model, X, batch_size=256):
    dead, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            handles.append(
                module.register_forward_hook(
                    lambda m, i, o, name=name: dead.__setitem__(name, int((o <= 0).all(0).sum()))
                )
            )
    try:
        with torch.no_grad():
            for xb in X.split(batch_size):
                model(xb)
    finally:
        for handle in handles:
            handle.remove()
    return dead


def hooks_per_batch_sum(model, X, batch_size=256):
    dead, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            handles.append(
                module.register_forward_hook(
                    lambda m, i, o, name=name: dead.__setitem__(name, dead.get(name, 0) + int((o <= 0).all(0).sum()))
                )
            )
    try:
        with torch.no_grad():
            for xb in X.split(batch_size):
                model(xb)
    finally:
        for handle in handles:
            handle.remove()
    return dead


def hooks_forgets_mode(model, X, batch_size=256):
    model.eval()
    return hooks_running_mask(model, X, batch_size)


def hooks_keys_by_type(model, X, batch_size=256):
    counts = hooks_running_mask(model, X, batch_size)
    return {f"ReLU{i}": value for i, value in enumerate(counts.values())}


def hooks_global(model, X, batch_size=256):
    from torch.nn.modules.module import register_module_forward_hook

    fired, names = {}, {module: name for name, module in model.named_modules() if isinstance(module, nn.ReLU)}

    def hook(module, inputs, output):
        if module in names:
            fired[names[module]] = fired.get(names[module], False) | (output > 0).any(0)

    register_module_forward_hook(hook)
    with torch.no_grad():
        for xb in X.split(batch_size):
            model(xb)
    return {name: int((~mask).sum()) for name, mask in fired.items()}


def hooks_with_gradients(model, X, batch_size=256):
    """Everything right except torch.no_grad(): "nothing calls backward, so no gradients"."""
    fired, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            handles.append(
                module.register_forward_hook(
                    lambda m, i, o, name=name: fired.__setitem__(name, fired.get(name, False) | (o.detach() > 0).any(0))
                )
            )
    try:
        for xb in X.split(batch_size):
            model(xb)
    finally:
        for handle in handles:
            handle.remove()
    return {name: int((~mask).sum()) for name, mask in fired.items()}


def hooks_inference_mode(model, X, batch_size=256):
    """A correct alternative: torch.inference_mode() instead of torch.no_grad()."""
    with torch.inference_mode():
        return hooks_running_mask(model, X, batch_size)


def hooks_switch_gradients_off(model, X, batch_size=256):
    torch.set_grad_enabled(False)  # never switched back on
    return hooks_running_mask(model, X, batch_size)


def hooks_no_batch_size(model, X):
    return hooks_running_mask(model, X)


def hooks_stub(model, X, batch_size=256):
    raise NotImplementedError()


def hooks_with_monitor(model, X, batch_size=256):
    from deadrelu.monitor import DeadUnitMonitor as Monitor  # an alias changes nothing

    with Monitor(model, modules=_relu_names(model)) as monitor, torch.no_grad():
        for xb in X.split(batch_size):
            model(xb)
    return {layer.name: layer.dead for layer in monitor.report().layers}


def _running_mask_over(model, batches, grad=False):
    fired, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            handles.append(
                module.register_forward_hook(
                    lambda m, i, o, name=name: fired.__setitem__(name, fired.get(name, False) | (o.detach() > 0).any(0))
                )
            )
    try:
        with torch.set_grad_enabled(grad):
            for xb in batches:
                model(xb)
    finally:
        for handle in handles:
            handle.remove()
    return {name: int((~mask).sum()) for name, mask in fired.items()}


def hooks_one_pass(model, X, batch_size=256):
    """Ignores batch_size: one forward pass over all of X."""
    return _running_mask_over(model, [X])


def hooks_fixed_batches(model, X, batch_size=256):
    """Ignores batch_size: batches of a fixed 32."""
    return _running_mask_over(model, X.split(32))


def hooks_twice(model, X, batch_size=256):
    return _running_mask_over(model, [*X.split(batch_size), X[:batch_size]])


def hooks_skip_last(model, X, batch_size=256):
    return _running_mask_over(model, [xb for xb in X.split(batch_size) if len(xb) == batch_size] or [X[:batch_size]])


def hooks_enable_grad(model, X, batch_size=256):
    """Batches, and an explicit torch.enable_grad() "to be safe"."""
    return _running_mask_over(model, X.split(batch_size), grad=True)


def hooks_none(model, X, batch_size=256):
    hooks_running_mask(model, X, batch_size)
    return None


def hooks_list(model, X, batch_size=256):
    return list(hooks_running_mask(model, X, batch_size).values())


def hooks_module_keys(model, X, batch_size=256):
    modules = dict(model.named_modules())
    return {modules[name]: count for name, count in hooks_running_mask(model, X, batch_size).items()}


def hooks_mask_values(model, X, batch_size=256):
    return {name: torch.zeros(6, dtype=torch.bool) for name in hooks_running_mask(model, X, batch_size)}


def hooks_subclass_values(model, X, batch_size=256):
    return {
        name: torch.tensor(count).as_subclass(_PosingTensor)
        for name, count in hooks_running_mask(model, X, batch_size).items()
    }


def hooks_numpy_counts(model, X, batch_size=256):
    """A correct alternative: NumPy ints and 0-dim int tensors are counts too."""
    counts = hooks_running_mask(model, X, batch_size)
    return {name: (np.int64(c) if i % 2 else torch.tensor(c)) for i, (name, c) in enumerate(counts.items())}


def hooks_batches_by_index(model, X, batch_size=256):
    """A correct alternative: index batches in a shuffled order (each example still once)."""
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    return _running_mask_over(model, [X[order[i : i + batch_size]] for i in range(0, len(X), batch_size)])


@pytest.mark.parametrize(
    "detector",
    [hooks_running_mask, hooks_context_manager, hooks_inference_mode, hooks_numpy_counts, hooks_batches_by_index],
)
def test_dead_units_with_hooks_accepts_correct_alternatives(detector, capsys):
    check_dead_units_with_hooks(detector)
    assert "dead_units_with_hooks passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "detector, hint",
    [
        (hooks_never_removed, "forgetting to remove hooks"),
        (hooks_no_finally, "when the forward pass raised an error"),
        (hooks_clear_all, "removed a forward hook it had not registered"),
        (hooks_returning_a_mask, "a forward hook that returns a value replaces the module's output"),
        (hooks_returning_bool, "A monitoring hook returns None"),
        (hooks_last_batch, "those are the counts of the last batch"),
        (hooks_per_batch_sum, "Counting batch by batch and adding"),
        (hooks_forgets_mode, "left the model in eval mode"),
        (hooks_keys_by_type, "use the names that model.named_modules() gives"),
        (hooks_global, "left hooks behind on <global>"),
        (hooks_no_batch_size, "keep the signature"),
        (hooks_stub, "not implemented yet"),
        (hooks_with_scan, "calls the course's `scan`"),
        (hooks_with_monitor, "calls the course's `DeadUnitMonitor.__init__`"),
        (hooks_one_pass, "when asked for batches of at most batch_size=16"),
        (hooks_fixed_batches, "when asked for batches of at most batch_size=16"),
        (hooks_twice, "each must be seen exactly once"),
        (hooks_skip_last, "each must be seen exactly once"),
        (hooks_enable_grad, "'nothing calls backward, so no gradients are involved' is the misconception"),
        (hooks_none, "returned a NoneType, not a dict"),
        (hooks_list, "returned a list, not a dict"),
        (hooks_module_keys, "not by module names"),
        (hooks_mask_values, "not one number"),
        (hooks_subclass_values, "a subclass of torch.Tensor"),
        (hooks_with_gradients, "'nothing calls backward, so no gradients are involved' is the misconception"),
        (hooks_switch_gradients_off, "left gradients switched off"),
    ],
)
def test_dead_units_with_hooks_rejects_wrong_answers_with_a_hint(detector, hint):
    from torch.nn.modules import module as internals

    global_hooks = dict(internals._global_forward_hooks)
    try:
        with pytest.raises(AssertionError, match=re.escape(hint)):
            check_dead_units_with_hooks(detector)
    finally:  # a wrong answer must not leave a global hook on every module of the test session
        internals._global_forward_hooks.clear()
        internals._global_forward_hooks.update(global_hooks)
    assert torch.is_grad_enabled(), "the check must give the caller its gradients back, whatever the answer did"


def test_hook_fixture_has_the_dead_units_it_claims():
    from deadrelu.monitor import scan

    model, X, expected = hook_fixture()
    report = scan(model, X)
    assert {layer.name: layer.dead for layer in report.layers} == expected
    last_batch = scan(model, X[48:])
    assert {layer.name: layer.dead for layer in last_batch.layers} == {"0.1": 2, "2": 2}


# --- dormant_scores -----------------------------------------------------------------------
def _units_last(h):
    """(N, F) and (N, T, F) keep their last axis; (N, C, H, W) moves channels last."""
    return h.movedim(1, -1) if h.dim() == 4 else h


def scores_flatten(h):
    per_unit = _units_last(h).abs().reshape(-1, _units_last(h).shape[-1]).mean(dim=0)
    return per_unit / (per_unit.mean() + 1e-12)


def scores_dims(h):
    dims = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[h.dim()]
    per_unit = h.abs().mean(dim=dims)
    if per_unit.sum() == 0:
        return torch.zeros_like(per_unit)
    return per_unit / h.abs().mean()  # the mean of the per-unit means is the mean over everything


def scores_with_monitor_helper(h):
    from deadrelu.monitor import dormant_scores as monitor_dormant_scores

    dims = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[h.dim()]
    return monitor_dormant_scores(h.abs().mean(dim=dims))


def scores_no_abs(h):
    dims = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[h.dim()]
    per_unit = h.mean(dim=dims)
    return per_unit / (per_unit.mean() + 1e-12)


def scores_max(h):
    dims = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[h.dim()]
    per_unit = h.abs().mean(dim=dims)
    return per_unit / (per_unit.max() + 1e-12)


def scores_sum(h):
    dims = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[h.dim()]
    per_unit = h.abs().mean(dim=dims)
    return per_unit / (per_unit.sum() + 1e-12)


def scores_not_normalised(h):
    dims = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[h.dim()]
    return h.abs().mean(dim=dims)


def scores_per_example(h):
    dims = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[h.dim()]
    unit_dim = 2 if h.dim() == 3 else 1
    return (h.abs() / (h.abs().mean(dim=unit_dim, keepdim=True) + 1e-12)).mean(dim=dims)


def scores_positions(h):
    per_position = h.abs().mean(dim=0).flatten()
    return per_position / (per_position.mean() + 1e-12)


def scores_last_axis(h):
    per_unit = h.abs().reshape(-1, h.shape[-1]).mean(dim=0)
    return per_unit / (per_unit.mean() + 1e-12)


def scores_axis_one(h):
    per_unit = h.abs().movedim(1, -1).reshape(-1, h.shape[1]).mean(dim=0)
    return per_unit / (per_unit.mean() + 1e-12)


def scores_nan_when_silent(h):
    dims = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[h.dim()]
    per_unit = h.abs().mean(dim=dims)
    return per_unit / per_unit.mean()


def scores_in_place(h):
    dims = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[h.dim()]
    per_unit = h.abs_().mean(dim=dims)
    return per_unit / (per_unit.mean() + 1e-12)


def scores_list(h):
    return scores_flatten(h).tolist()


def scores_calling_the_reference(h):
    from deadrelu.checks.detecting_dead_units import reference_dormant_scores as mine

    return mine(h) * 1.0


def scores_by_scan(h):
    from deadrelu.monitor import scan

    return scan(nn.Sequential(nn.Identity()), h, modules=["0"]).layers[0].dormant_score


def scores_subclass(h):
    return scores_flatten(h).as_subclass(_PosingTensor)


def scores_mask(h):
    return scores_flatten(h) <= 0.1


def scores_none(h):
    return None


def scores_raises_type_error(h):
    return h.abs().mean(dim="units")


@pytest.mark.parametrize("scores", [scores_flatten, scores_dims])
def test_dormant_scores_accepts_correct_alternatives(scores, capsys):
    check_dormant_scores(scores)
    assert "dormant_scores passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "scores, hint",
    [
        (scores_no_abs, "mean|h_i|, not mean h_i"),
        (scores_max, "not by its maximum"),
        (scores_sum, "not by the sum"),
        (scores_not_normalised, "normalise: divide each unit's mean|h_i|"),
        (scores_per_example, "not example by example"),
        (scores_positions, "counts (channel, position) pairs as units"),
        (scores_last_axis, "the units are the channels, axis 1"),
        (scores_axis_one, "the units are the features, the last axis"),
        (scores_nan_when_silent, "0/0"),
        (scores_in_place, "modified its input in place"),
        (scores_list, "not a torch.Tensor"),
        (scores_with_monitor_helper, "calls the course's `dormant_scores`"),
        (reference_dormant_scores, "is `reference_dormant_scores` from the check module"),
        (scores_calling_the_reference, "`reference_dormant_scores` from the check module"),
        (scores_by_scan, "calls the course's `scan`"),
        (scores_subclass, "a subclass of torch.Tensor"),
        (scores_mask, "returned a tensor of dtype torch.bool"),
        (scores_none, "returned a NoneType, not a torch.Tensor"),
        (scores_raises_type_error, "raised TypeError"),
    ],
)
def test_dormant_scores_rejects_wrong_answers_with_a_hint(scores, hint):
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check_dormant_scores(scores)


def test_reference_dormant_scores_agree_with_the_monitor():
    from deadrelu.monitor import scan

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 2))
    X = torch.randn(10, 1, 6, 6)
    with torch.no_grad():
        h = model[1](model[0](X))
    torch.testing.assert_close(
        reference_dormant_scores(h), scan(model, X).layers[0].dormant_score, atol=1e-5, rtol=1e-5
    )


def test_checks_leave_the_global_random_state_alone(capsys):
    """A check runs in the student's notebook: it must not shift the RNG the next cells use."""
    state = torch.get_rng_state().clone()
    check_count_dead_units(count_cat)
    check_dead_units_with_hooks(hooks_running_mask)
    check_dormant_scores(scores_flatten)
    assert torch.equal(torch.get_rng_state(), state)


# --- Exercise 1: which units are dead? (the hidden test's catalogue) ---------------------------
def grade_diagnosis(dead, dormant):
    """Run the graded cell (public form check + hidden test) on an answer: None if it passes, else the message."""
    return run_graded_cell(
        ASSIGNMENT,
        "test_which_units_are_dead",
        answers={"DEAD_ON_TRAINING_SET": dead, "DORMANT_NOT_DEAD": dormant},
        prelude="from deadrelu.checks.detecting_dead_units import check_unit_diagnosis",
    )


@pytest.mark.parametrize(
    "dead, dormant",
    [
        ({0, 4, 7}, {2, 5}),
        ([7, 4, 0], (5, 2)),
        ((0, 4, 7), [2, 5]),
        (frozenset({0, 4, 7}), {5, 2}),
        ([np.int64(0), np.int64(4), np.int64(7)], {np.int32(2), 5}),
        ([0, 0, 4, 7], [2, 5, 5]),  # repeats are harmless: the answer is a set
    ],
)
def test_diagnosis_accepts_the_right_answer_in_every_form(dead, dormant):
    assert grade_diagnosis(dead, dormant) is None


@pytest.mark.parametrize(
    "dead, dormant, hint",
    [
        ({0, 1, 2, 4, 7}, {5}, "silent on the first batch (or on the test set)"),  # batch 1's zero column read as dead
        ({0, 2, 4, 7}, {5}, "silent on the first batch (or on the test set)"),  # silent on the batch and the test set
        ({0, 2, 4, 5, 7}, set(), "A small score is not death"),  # dormant read as dead
        ({0, 4, 5, 7}, {2}, "A small score is not death"),
        ({0, 7}, {2, 5}, "Firing on another data set (the test set)"),  # unit 4 fired on the test set
        ({0, 7}, {2, 4, 5}, "Firing on another data set (the test set)"),
        ({0, 4, 6, 7}, {2, 5}, "selective, not dead"),  # rare firing read as dead
        ({4, 7}, {2, 5}, "never > 0 in any of the three measurements"),
        (
            {0, 4, 7},
            {0, 2, 4, 5, 7},
            "the question asks for the dormant units that are NOT dead",
        ),  # every unit with s <= τ
        ({0, 4, 7}, {2, 5, 6}, "Dormancy is not about how often a unit fires"),  # rare = dormant
        ({0, 4, 7}, {1, 2, 5}, "Dormancy is not about how often a unit fires"),
        ({0, 4, 7}, {2, 3, 5}, "far above τ"),
        ({0, 4, 7}, {2}, "Firing often does not protect a unit from dormancy"),  # frequent = not dormant
        ({0, 4, 7}, {2, 6}, "Dormancy is not about how often a unit fires"),
        ({0, 4, 7}, {5}, "with a score at most τ"),  # unit 2: silent on batch and test set, so overlooked
        ({0, 4, 7}, set(), "Firing often does not protect a unit from dormancy"),
        (None, None, "not answered yet"),
        ("0, 4, 7", {2, 5}, "not a set of unit numbers"),
        ({0: True, 4: True}, {2, 5}, "not a set of unit numbers"),
        ({0, 4, 7}, {2, 5, 8}, "numbered 0 to 7"),
        ({0, 4, 7.0}, {2, 5}, "not a unit number"),
        ([True, False], {2, 5}, "not a unit number"),
    ],
)
def test_diagnosis_rejects_wrong_answers_with_a_hint(dead, dormant, hint):
    message = grade_diagnosis(dead, dormant)
    assert message is not None, f"{dead}, {dormant} passed"
    assert hint in message, message


def test_diagnosis_public_check_does_not_reveal_the_answer(capsys):
    """The public check accepts a wrong answer (only its form is checked): students cannot iterate on it."""
    check_unit_diagnosis({0, 1, 2}, {6})
    assert "does not say whether it is right" in capsys.readouterr().out


def test_diagnosis_key_follows_from_the_notebook_s_evidence():
    """The hidden key is what section 1's definitions give on the EVIDENCE table shown to the student."""
    import nbformat

    from course_tools import solution_notebook

    notebook = nbformat.read(solution_notebook(ASSIGNMENT), as_version=4)
    source = next(
        c.source
        for c in notebook.cells
        if c.cell_type == "code" and c.source.lstrip("# ").startswith("A colleague's monitor")
    )
    namespace = {"Table": lambda rows, title=None: rows}
    exec(source, namespace)
    evidence = namespace["EVIDENCE"]
    dead = {unit for unit, _, _, on_training_set, _ in evidence if on_training_set == 0}
    dormant = {unit for unit, _, _, on_training_set, score in evidence if on_training_set > 0 and score <= 0.1}
    assert grade_diagnosis(dead, dormant) is None
    assert sum(score for *_, score in evidence) == pytest.approx(len(evidence))  # scores of a layer average to 1


@pytest.mark.parametrize(
    "check, package_function",
    [
        (check_dormant_scores, "dormant_scores"),
        (check_dead_units_with_hooks, "scan"),
        (check_count_dead_units, "scan"),
    ],
)
def test_the_package_s_implementation_handed_in_as_the_answer_fails(check, package_function):
    """`from deadrelu.monitor import dormant_scores` as the answer: the function itself is the package's."""
    from deadrelu import monitor

    with pytest.raises(AssertionError, match=re.escape(f"is `{package_function}` from the course's package")):
        check(getattr(monitor, package_function))


def test_every_check_is_a_graded_check():
    """A crash inside a check on a malformed answer ends in a hint (graded_check), never a bare exception."""
    for check in (check_count_dead_units, check_dead_units_with_hooks, check_dormant_scores, check_unit_diagnosis):
        assert hasattr(check, "__wrapped__"), check.__name__
    assert not hasattr(checks_03, "_expect_no_call"), "source reading is replaced by the call watch"
