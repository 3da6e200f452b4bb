"""Tiny PPO settings: a CartPole run of a thousand steps takes about a second."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def tiny() -> dict[str, Any]:
    return dict(env="CartPole-v1", num_envs=4, num_steps=32, batch_size=64, num_epochs=2,
                total_steps=1024, checkpoint_every=512, eval_episodes=1, device="cpu",
                num_threads=1, log_every_s=60.0)
