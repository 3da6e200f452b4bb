"""Dreamer learns a cheap task: Pendulum-v1 (state, continuous actions), the medium
preset cut to 8k env steps. In benchmarks/results/dreamer_learning_pendulum_v1.json the
same preset passed -250 by 6k env steps in all three seeds; random play scores ~-1300."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamlab.config.base import resolve_config
from dreamlab.config.dreamer import DreamerConfig
from dreamlab.dreamer.train import train


@pytest.mark.slow
def test_pendulum_medium_learns_to_swing_up(tmp_path: Path) -> None:
    cfg = resolve_config(DreamerConfig, "medium", overrides={
        "env": "Pendulum-v1", "total_steps": 8000, "eval_every": 0, "eval_episodes": 10,
        "checkpoint_dir": str(tmp_path / "run"), "seed": 0})
    result = train(cfg)
    assert result.evaluation.mean_return >= -600, result.evaluation.returns
