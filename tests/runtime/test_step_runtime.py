"""The runtime pieces step trainers share: stop rule, step checkpoints, eval schema, perf."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from dreamlab.errors import DreamlabError
from dreamlab.runtime.checkpoint import (
    StepCheckpointer,
    generator_state,
    restore_rng_state,
    set_generator_state,
)
from dreamlab.runtime.perf import PerfMonitor
from dreamlab.runtime.results import EvalResult
from dreamlab.runtime.rundir import RunLayout, read_run_algo
from dreamlab.runtime.stop import StopRule, StopTracker


def test_stop_rule_reasons_in_order() -> None:
    tracker = StopTracker(StopRule(target_score=10.0, patience=2, max_iterations=50,
                                   max_env_steps=1000))
    tracker.record_eval(3.0)
    assert tracker.should_stop(iteration=1, env_steps=10) is None
    tracker.record_eval(2.0)
    tracker.record_eval(1.0)
    assert tracker.should_stop(iteration=2, env_steps=10) == "patience"
    tracker.record_eval(12.0)
    assert tracker.should_stop(iteration=3) == "target"
    assert StopTracker(StopRule(max_env_steps=5)).should_stop(env_steps=5) == "max_env_steps"
    assert StopTracker(StopRule(max_iterations=4)).should_stop(iteration=4) == "max_iterations"
    assert not StopRule().active
    with pytest.raises(ValueError):
        StopRule(patience=-1)


def test_time_budget_survives_a_resume() -> None:
    first = StopTracker(StopRule(max_minutes=1.0))
    state = first.state_dict()
    state["elapsed_s"] = 61.0  # a crashed run had already spent its minute
    second = StopTracker(StopRule(max_minutes=1.0))
    second.load_state_dict(json.loads(json.dumps(state)))
    assert second.should_stop() == "time"


def test_step_checkpoints_keep_the_newest_and_restore_every_rng(tmp_path) -> None:
    ckpt = StepCheckpointer(tmp_path / "checkpoints", keep=2)
    rng = np.random.default_rng(3)
    for step in (100, 200, 300):
        torch.manual_seed(step)
        np.random.seed(step)
        random.seed(step)
        rng.random()
        ckpt.save(step, {"counters": {"step": step}, "gen": generator_state(rng)})
    assert [s for s, _ in ckpt.existing()] == [200, 300]
    expected = (torch.rand(1), np.random.rand(), random.random(), rng.random())
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    state = ckpt.load_latest()
    assert state is not None and state["counters"]["step"] == 300
    restore_rng_state(state["rng"])
    other = np.random.default_rng(99)
    set_generator_state(other, state["gen"])
    assert (torch.rand(1), np.random.rand(), random.random(), other.random()) == expected


def test_a_corrupt_newest_checkpoint_falls_back_to_the_previous(tmp_path) -> None:
    ckpt = StepCheckpointer(tmp_path, keep=3)
    ckpt.save(1, {"x": 1})
    ckpt.save(2, {"x": 2})
    ckpt.path_for(2).write_bytes(b"torn")
    assert ckpt.load_latest()["x"] == 1
    assert StepCheckpointer(tmp_path / "none").load_latest() is None


def test_eval_results_have_one_schema_and_read_old_files(tmp_path) -> None:
    res = EvalResult("CartPole-v1", "ppo", [1.0, 3.0], env_steps=4, wall_s=0.5,
                     extra={"stop_reason": "target", "mean_return": 999})
    res.write(tmp_path / "evaluation_results.json")
    data = json.loads((tmp_path / "evaluation_results.json").read_text())
    assert list(data)[:8] == ["env_id", "algo", "episodes", "mean_return", "std_return",
                              "returns", "env_steps", "wall_s"]
    assert data["mean_return"] == 2.0 and data["std_return"] == 1.0  # extra cannot clobber
    old = EvalResult.from_dict({"env_id": "X", "returns": [5.0], "dream_mean_return": 7.0})
    assert old.algo == "worldmodels" and old.extra["dream_mean_return"] == 7.0


def test_run_algo_comes_from_the_manifest(tmp_path) -> None:
    layout = RunLayout(tmp_path / "run")
    layout.make()
    with pytest.raises(DreamlabError, match="no manifest.json"):
        read_run_algo(layout.root)
    layout.manifest.write_text(json.dumps({"algo": "dreamer"}))
    assert read_run_algo(layout.root) == "dreamer"
    layout.manifest.write_text(json.dumps({"format_version": 1}))  # made before `algo`
    assert read_run_algo(layout.root) == "worldmodels"


def test_perf_monitor_reports_rates_and_memory() -> None:
    monitor = PerfMonitor()
    sample = monitor.sample(env_steps=1000, updates=10)
    assert sample["sps"] > 0 and sample["updates_per_s"] > 0 and sample["rss_mb"] > 10
    assert sample["peak_rss_mb"] >= sample["rss_mb"]
    assert PerfMonitor.format(sample).isascii()
