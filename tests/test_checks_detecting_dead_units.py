"""The public checks of 03_detecting_dead_units: correct alternatives pass, plausible wrong
answers fail with a hint that names the misconception."""

import re

import pytest
import torch
from torch import nn

from deadrelu.checks.detecting_dead_units import (
    check_count_dead_units,
    check_dead_units_with_hooks,
    check_dormant_scores,
    hook_fixture,
    reference_dormant_scores,
)


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


@pytest.mark.parametrize("count", [count_cat, count_running_mask, count_running_max, count_relu_sum])
def test_count_dead_units_accepts_correct_alternatives(count, capsys):
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
                model(X[start:start + batch_size])
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
            module.register_forward_hook(lambda m, i, o, name=name: fired.__setitem__(name, fired.get(name, False) | (o > 0).any(0)))
    with torch.no_grad():
        for xb in X.split(batch_size):
            model(xb)
    return {name: int((~mask).sum()) for name, mask in fired.items()}


def hooks_no_finally(model, X, batch_size=256):
    fired, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            handles.append(module.register_forward_hook(lambda m, i, o, name=name: fired.__setitem__(name, fired.get(name, False) | (o > 0).any(0))))
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
            module.register_forward_hook(lambda m, i, o, name=name: fired.__setitem__(name, fired.get(name, False) | (o > 0).any(0)))
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
            handles.append(module.register_forward_hook(lambda m, i, o, name=name: dead.__setitem__(name, int((o <= 0).all(0).sum()))))
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
            handles.append(module.register_forward_hook(lambda m, i, o, name=name: dead.__setitem__(name, dead.get(name, 0) + int((o <= 0).all(0).sum()))))
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
            handles.append(module.register_forward_hook(lambda m, i, o, name=name: fired.__setitem__(name, fired.get(name, False) | (o.detach() > 0).any(0))))
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


@pytest.mark.parametrize("detector", [hooks_running_mask, hooks_context_manager, hooks_inference_mode])
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
        (hooks_with_scan, "calls `scan`, the course's helper"),
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


@pytest.mark.parametrize("scores", [scores_flatten, scores_dims, reference_dormant_scores])
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
        (scores_with_monitor_helper, "calls `monitor_dormant_scores`"),
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
    torch.testing.assert_close(reference_dormant_scores(h), scan(model, X).layers[0].dormant_score, atol=1e-5, rtol=1e-5)


def test_checks_leave_the_global_random_state_alone(capsys):
    """A check runs in the student's notebook: it must not shift the RNG the next cells use."""
    state = torch.get_rng_state().clone()
    check_count_dead_units(count_cat)
    check_dead_units_with_hooks(hooks_running_mask)
    check_dormant_scores(scores_flatten)
    assert torch.equal(torch.get_rng_state(), state)
