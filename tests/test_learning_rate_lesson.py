"""Notebook 04's measurements: per-seed values with known answers on tiny runs, the dead-share
recorder, and the stored-sweep helpers on a hand-made record."""

import math
from types import SimpleNamespace

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from deadrelu.data import make_positive_inputs  # noqa: E402
from deadrelu.experiments import run_seeds  # noqa: E402
from deadrelu.lessons.learning_rate_and_optimizers import (  # noqa: E402
    ONE_CHANGE_KNOBS,
    DeadShareRecorder,
    arm_text,
    changed_knobs,
    clipped_percent,
    design_arm,
    gradient_norms,
    largest_update_ratio,
    measure_setting,
    median_gradient_norm,
    median_update_ratio,
    plot_dead_share_over_steps,
    plot_gradient_norms,
    plot_sweep_record,
    run_arm,
    setting,
    show_design,
    steps_to_target,
    sweep_table,
    verdicts_against,
)
from deadrelu.models import make_mlp  # noqa: E402


def test_an_arm_keeps_the_baselines_settings_it_leaves_out():
    assert design_arm({}) == ONE_CHANGE_KNOBS == {"lr": 0.8, "inputs": "raw", "clip_grad_norm": None, "momentum": 0.0}
    assert design_arm({"inputs": "standardized"})["lr"] == 0.8
    assert changed_knobs({"control": {}, "treatment": {"inputs": "standardized"}}) == ["inputs"]
    assert changed_knobs({"control": {"lr": 0.8}, "treatment": {}}) == []
    assert changed_knobs({"control": {"lr": 0.2}, "treatment": {"inputs": "standardized"}}) == ["inputs", "lr"]
    assert arm_text({}) == "lr 0.8, raw inputs, no clipping, no momentum"
    assert (
        arm_text({"lr": 0.08, "momentum": 0.9, "clip_grad_norm": 2}) == "lr 0.08, raw inputs, clip norm 2, momentum 0.9"
    )


def fake_run(seed, grad_norm=(), ratios=None, eval_steps=(), accuracy=(), dead=(0.1, 0.0), test_accuracy=0.9):
    history = SimpleNamespace(
        grad_norm=list(grad_norm),
        update_ratio=ratios or {},
        steps_to_accuracy=lambda target: next((s for s, a in zip(eval_steps, accuracy) if a >= target), None),
    )
    return SimpleNamespace(
        seed=seed,
        history=history,
        layers=["1", "3"],
        dead_fraction=list(dead),
        test_accuracy=test_accuracy,
        steps_to_accuracy=history.steps_to_accuracy,
        diverged=False,
    )


def test_steps_to_target_lists_each_seed_and_names_the_seeds_that_never_arrive():
    runs = [
        fake_run(0, eval_steps=(20, 40, 60), accuracy=(0.5, 0.91, 0.95)),
        fake_run(1, eval_steps=(20, 40), accuracy=(0.9, 0.95)),
    ]
    assert steps_to_target(runs, 0.9) == [40, 20]
    with pytest.raises(ValueError, match=r"seeds \[0, 1\] never reached 96 %"):
        steps_to_target(runs + [fake_run(2, eval_steps=(20,), accuracy=(0.99,))], 0.96)


def test_update_ratio_summaries_per_seed():
    runs = [
        fake_run(0, ratios={"0.weight": [5.0, 1.0, 3.0, 100.0]}),
        fake_run(1, ratios={"0.weight": [2.0, 2.0, 2.0, 2.0]}),
    ]
    assert median_update_ratio(runs, first=3) == [3.0, 2.0]
    assert median_update_ratio(runs) == [4.0, 2.0]
    assert largest_update_ratio(runs) == [100.0, 2.0]
    with pytest.raises(ValueError, match="record_update_ratio=True"):
        median_update_ratio(runs, weight="2.weight")


def test_gradient_norm_summaries():
    runs = [fake_run(0, grad_norm=[0.5, 1.0, 3.0, 5.0]), fake_run(1, grad_norm=[0.1, 0.2, 0.3, 0.4])]
    assert clipped_percent(runs, 2.0) == [50.0, 0.0]
    assert clipped_percent(runs, 1.0) == [50.0, 0.0]  # strictly above the threshold: a norm equal to it is not shrunk
    assert median_gradient_norm(runs, 2) == [4.0, 0.35]
    assert torch.equal(gradient_norms(runs), torch.tensor([0.5, 1.0, 3.0, 5.0, 0.1, 0.2, 0.3, 0.4]))


def test_the_recorder_keeps_one_record_per_run_and_reads_them_at_a_step():
    data = make_positive_inputs(n_samples=120, n_features=6, n_classes=3, seed=0)
    recorder = DeadShareRecorder(data.X_train, every=5)
    runs = run_seeds(
        lambda seed: make_mlp((6, 8, 8, 3), seed=seed),
        data,
        seeds=(0, 1),
        progress=False,
        lr=0.1,
        steps=12,
        batch_size=16,
        callbacks=[recorder],
    )
    assert len(recorder.runs) == 2
    assert all(run["steps"] == [5, 10] for run in recorder.runs)
    assert all(len(snapshot) == 2 for run in recorder.runs for snapshot in run["dead"])  # two hidden layers
    assert recorder.dead_at(6) == [run["dead"][1][0] for run in recorder.runs]
    assert recorder.dead_at(1, layer=1) == [run["dead"][0][1] for run in recorder.runs]
    with pytest.raises(ValueError, match="no snapshot at or after step 11"):
        recorder.dead_at(11)
    assert len(runs) == 2
    with pytest.raises(ValueError, match="every must be >= 1"):
        DeadShareRecorder(data.X_train, every=0)


def test_the_recorder_agrees_with_the_final_scan_of_run_seeds():
    data = make_positive_inputs(n_samples=120, n_features=6, n_classes=3, seed=0)
    recorder = DeadShareRecorder(data.X_train, every=10)
    runs = run_seeds(
        lambda seed: make_mlp((6, 8, 8, 3), seed=seed),
        data,
        seeds=(0, 1, 2),
        progress=False,
        lr=2.0,
        steps=10,
        batch_size=16,
        callbacks=[recorder],
    )
    for run, record in zip(runs, recorder.runs):
        assert [100 * f for f in run.dead_fraction] == pytest.approx(record["dead"][-1])


def record_of(settings):
    return {
        "name": "test",
        "description": "a test sweep\nsecond line",
        "command": "python x.py",
        "results": {"target_accuracy": 0.9, "settings": settings},
    }


def entry(label, dead1, acc, steps, **extra):
    return {
        "label": label,
        **extra,
        "seeds": list(range(len(dead1))),
        "dead_percent": [dead1, [0.0] * len(dead1)],
        "accuracy_percent": acc,
        "steps_to_target": steps,
        "diverged": [False] * len(dead1),
    }


def test_sweep_table_gives_verdicts_against_the_baseline_and_counts_seeds_that_never_arrive():
    record = record_of(
        [
            entry("baseline", [40, 20, 60, 45, 30], [97] * 5, [160, 180, 200, 140, 120]),
            entry(
                "clip 2",
                [5, 6, 4, 5, 6],
                [98] * 5,
                [100, 80, None, 120, 100],
                max_norm=2.0,
                clipped_percent=[3, 3, 2, 4, 3],
            ),
            entry(
                "clip 8",
                [41, 19, 58, 47, 33],
                [97] * 5,
                [150, 170, 210, 150, 130],
                max_norm=8.0,
                clipped_percent=[0] * 5,
            ),
        ]
    )
    table = sweep_table(record)
    rows = {row["setting"]: row for row in table.rows}
    assert rows["clip 2"]["hidden 1 vs baseline"] == "lower"
    assert rows["clip 8"]["hidden 1 vs baseline"] == "no clear difference"
    assert rows["clip 2"]["steps to target"] == "100.0 ± 16.3 (4/5 seeds)"
    assert rows["baseline"]["% of steps clipped"] == "—" and rows["clip 2"]["% of steps clipped"] == "3.0 ± 0.7"
    assert [row["setting"] for row in sweep_table(record, ["baseline", "clip 8"]).rows] == ["baseline", "clip 8"]
    assert table.title == "a test sweep"
    with pytest.raises(KeyError, match="no setting 'clip 3'"):
        setting(record, "clip 3")
    fig = plot_sweep_record(record, "max_norm", "max_norm")
    assert len(fig.axes) == 2


def test_verdicts_against_the_baseline_follow_the_course_rule():
    base = [
        fake_run(s, eval_steps=(100,), accuracy=(0.95,), dead=(d, 0.05), test_accuracy=0.97)
        for s, d in enumerate([0.4, 0.2, 0.6, 0.45, 0.3])
    ]
    fixed = [fake_run(s, eval_steps=(60,), accuracy=(0.95,), dead=(0.05, 0.05), test_accuracy=0.97) for s in range(5)]
    never = [fake_run(s, eval_steps=(100,), accuracy=(0.5,), dead=(0.99, 1.0), test_accuracy=0.1) for s in range(5)]
    table = verdicts_against({"baseline": base, "fixed": fixed, "broken": never}, base)
    rows = {row["change"]: row for row in table.rows}
    assert set(rows) == {"fixed", "broken"}
    assert rows["fixed"]["dead % hidden 1"] == "lower" and rows["fixed"]["dead % hidden 2"] == "no clear difference"
    assert rows["fixed"]["steps to 90 %"] == "lower"
    assert rows["broken"]["dead % hidden 1"] == "higher" and rows["broken"]["test accuracy"] == "lower"
    assert rows["broken"]["steps to 90 %"] == "(0/5 seeds reach it)"


def test_plots_return_their_figures():
    fig = plot_gradient_norms(torch.tensor([0.01, 0.1, 0.5, 1.0, 3.0]), thresholds=(0.5, 2.0))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["max_norm 0.5: 40.0 % of steps above", "max_norm 2: 20.0 % of steps above"]
    recorder = DeadShareRecorder(torch.zeros(3, 2), every=1)
    recorder.runs = [
        {"steps": [1, 2], "dead": [[0.0, 0.0], [50.0, 0.0]]},
        {"steps": [1, 2], "dead": [[0.0, 0.0], [10.0, 0.0]]},
    ]
    fig = plot_dead_share_over_steps({"a": recorder}, marks={"a": 1})
    line = fig.axes[0].lines[0]
    assert list(line.get_ydata()) == [0.0, 30.0]


def test_measure_setting_records_per_seed_values_of_the_baseline_with_one_change(monkeypatch):
    import deadrelu.lessons.learning_rate_and_optimizers as lesson

    data = make_positive_inputs(n_samples=160, n_features=6, n_classes=3, seed=0)
    small = lambda data_, seeds, progress, description, **changes: run_seeds(  # noqa: E731
        lambda seed: make_mlp((6, 8, 8, 3), seed=seed),
        data,
        seeds=seeds,
        progress=False,
        lr=0.1,
        steps=20,
        batch_size=16,
        eval_every=5,
        **changes,
    )
    monkeypatch.setattr(lesson, "baseline_runs", small)
    record = measure_setting("clip 0.5", {"clip_grad_norm": 0.5}, seeds=(0, 1), target=0.0, max_norm=0.5)
    assert record["label"] == "clip 0.5" and record["max_norm"] == 0.5 and record["seeds"] == [0, 1]
    assert len(record["dead_percent"]) == 2 and all(len(layer) == 2 for layer in record["dead_percent"])
    assert record["steps_to_target"] == [5, 5]  # target 0: reached at the first evaluation
    assert all(0 <= p <= 100 for p in record["clipped_percent"])
    assert not math.isnan(sum(record["accuracy_percent"]))


def test_diverged_runs_are_left_out_of_sweep_means_and_verdicts():
    record = record_of(
        [
            entry("baseline", [40, 20, 60, 45, 30], [97] * 5, [160, 180, 200, 140, 120]),
            entry("lr 2", [0, 6, 4, 5, 6], [10, 98, 98, 98, 98], [None, 80, 90, 120, 100], lr=2.0),
        ]
    )
    record["results"]["settings"][1]["diverged"] = [
        True,
        False,
        False,
        False,
        False,
    ]  # seed 0 diverged: it reads 0 % dead
    row = sweep_table(record).rows[1]
    assert row["dead % hidden 1"] == "5.2 ± 1.0" and row["test accuracy %"] == "98.0 ± 0.0"
    assert row["steps to target"] == "97.5 ± 17.1" and row["seeds"] == "5 (1 diverged)"
    assert row["hidden 1 vs baseline"] == "lower"  # paired over seeds 1-4 only


def test_verdicts_leave_out_seeds_where_a_run_diverged():
    base = [
        fake_run(s, eval_steps=(100,), accuracy=(0.95,), dead=(d, 0.05), test_accuracy=0.97)
        for s, d in enumerate([0.4, 0.2, 0.6, 0.45, 0.3])
    ]
    runs = [fake_run(s, eval_steps=(60,), accuracy=(0.95,), dead=(0.05, 0.05), test_accuracy=0.97) for s in range(5)]
    runs[2].diverged = True
    rows = verdicts_against({"lr 2": runs}, base).rows
    assert rows[0]["change"] == "lr 2 (1 diverged, left out)" and rows[0]["dead % hidden 1"] == "lower"
    for run in runs:
        run.diverged = True
    assert verdicts_against({"lr 9": runs}, base).rows[0] == {
        "change": "lr 9",
        **{
            column: "diverged (5/5 seeds)"
            for column in ("dead % hidden 1", "dead % hidden 2", "test accuracy", "steps to 90 %")
        },
    }


# --- the design exercise of section 10: arms, their text, and running them -------------------------


def test_run_arm_reuses_rows_already_run_and_trains_the_others(monkeypatch):
    import deadrelu.lessons.learning_rate_and_optimizers as lesson

    calls = []
    monkeypatch.setattr(lesson, "baseline_runs", lambda data, **changes: calls.append((data, changes)) or ["trained"])
    stored = {arm_text({}): ["stored"]}
    datasets = {"raw": "RAW", "standardized": "STD"}
    assert run_arm({"lr": 0.8}, datasets, stored) == ["stored"] and not calls
    assert run_arm({"inputs": "standardized", "clip_grad_norm": 2.0, "momentum": 0.5}, datasets, stored) == ["trained"]
    data, changes = calls[0]
    assert data == "STD" and changes["lr"] == 0.8 and changes["clip_grad_norm"] == 2.0 and changes["momentum"] == 0.5


def test_show_design_reports_an_unanswered_or_malformed_design_without_failing(capsys):
    assert show_design(None, {"raw": None, "standardized": None}) is None
    assert "EXPERIMENT is None" in capsys.readouterr().out
    assert show_design({"control": {}}, {"raw": None, "standardized": None}) is None
    assert "could not be run" in capsys.readouterr().out
    assert show_design({"control": {"inputs": "centred"}, "treatment": {}}, {"raw": None, "standardized": None}) is None
    assert "could not be run" in capsys.readouterr().out


def test_show_design_prints_each_arms_dead_share(capsys):
    runs = {
        arm_text({}): [fake_run(0, dead=(0.4, 0.0)), fake_run(1, dead=(0.2, 0.0))],
        arm_text({"inputs": "standardized"}): [fake_run(0, dead=(0.0, 0.0)), fake_run(1, dead=(0.0, 0.0))],
    }
    shown = show_design(
        {"control": {}, "treatment": {"inputs": "standardized"}}, {"raw": None, "standardized": None}, runs
    )
    out = capsys.readouterr().out
    assert set(shown) == {"control", "treatment"}
    assert "first layer 30.0 % dead" in out and "first layer 0.0 % dead" in out
