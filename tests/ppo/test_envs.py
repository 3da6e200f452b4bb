"""Every kind of vector env and action space the trainer supports runs an update."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from dreamlab.config.ppo import PPOConfig
from dreamlab.errors import ConfigError
from dreamlab.ppo.envs import make_ppo_envs, vector_kind
from dreamlab.ppo.train import train

SMALL = dict(num_envs=2, num_steps=16, batch_size=16, num_epochs=1, total_steps=32,
             checkpoint_every=32, eval_episodes=1, device="cpu", num_threads=1,
             log_every_s=60.0)


def test_vector_kinds_are_chosen_on_purpose() -> None:
    assert vector_kind(PPOConfig(env="CartPole-v1"), "CartPole-v1") == "native"
    # The native CartPole env has no frame skip, so that falls back to Python envs.
    assert vector_kind(PPOConfig(env="CartPole-v1", frame_skip=2), "CartPole-v1") == "sync"
    assert vector_kind(PPOConfig(env="Pendulum-v1"), "Pendulum-v1") == "sync"
    with pytest.raises(ConfigError):
        vector_kind(PPOConfig(env="Pendulum-v1", vectorization="native"), "Pendulum-v1")


@pytest.mark.parametrize("vectorization", ["native", "sync"])
def test_cartpole_native_and_sync_agree_on_shapes(vectorization: str) -> None:
    envs = make_ppo_envs(PPOConfig(env="CartPole-v1", vectorization=vectorization), 3, seed=0)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, 4)
    envs.close()


def test_continuous_actions_train(tmp_path: Path) -> None:
    result = train(PPOConfig(env="Pendulum-v1", **SMALL, max_episode_steps=20,
                             norm_obs=True, norm_reward=True, checkpoint_dir=str(tmp_path)))
    assert result.evaluation.episodes == 1 and result.evaluation.env_steps == 20


@pytest.mark.skipif(importlib.util.find_spec("ale_py") is None, reason="needs the atari extra")
@pytest.mark.parametrize("vectorization", [
    "native", pytest.param("sync", marks=pytest.mark.skipif(
        importlib.util.find_spec("cv2") is None, reason="AtariPreprocessing needs OpenCV"))])
def test_atari_frames_train_the_cnn(tmp_path: Path, vectorization: str) -> None:
    cfg = PPOConfig(env="ALE/Pong-v5", **SMALL, max_episode_steps=30,
                    vectorization=vectorization, reward_sign=True,
                    checkpoint_dir=str(tmp_path))
    envs = make_ppo_envs(cfg, 2, seed=0)
    assert envs.single_observation_space.shape == (4, 84, 84)
    envs.close()
    result = train(cfg)
    assert result.evaluation.env_steps == 30
