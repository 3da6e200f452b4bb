"""PPO learns CartPole-v1 with the quick preset (rl-zoo's settings, 100k steps).

Slow: about 25 s on a quiet 2-core CPU, minutes when the cores are shared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamlab.config.base import resolve_config
from dreamlab.config.ppo import PPOConfig
from dreamlab.ppo.train import train


@pytest.mark.slow
def test_ppo_learns_cartpole(tmp_path: Path) -> None:
    cfg = resolve_config(PPOConfig, "quick", overrides=dict(
        env="CartPole-v1", checkpoint_dir=str(tmp_path / "run"), device="cpu",
        eval_episodes=10))
    assert cfg.total_steps == 100_000
    result = train(cfg)
    assert result.evaluation.mean_return >= 475.0  # the env's "solved" threshold
