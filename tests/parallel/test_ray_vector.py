"""PPO's envs in Ray actors: the local vector env's streams, PPO's results, a lost actor
as one line. One local Ray of 2 CPUs serves the whole module (Ray's start costs seconds)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from dreamlab.config.ppo import PPOConfig
from dreamlab.ppo.envs import make_ppo_envs, make_training_envs
from dreamlab.runtime.checkpoint import StepCheckpointer

ray = pytest.importorskip("ray")

from dreamlab.parallel import ray_backend  # noqa: E402
from dreamlab.parallel.ray_vector import RayVectorEnv, merge_infos, slice_sizes  # noqa: E402

TINY = dict(env="CartPole-v1", num_envs=5, num_steps=16, batch_size=40, num_epochs=2,
            total_steps=160, checkpoint_every=80, eval_episodes=2, device="cpu",
            num_threads=1, log_every_s=60.0, seed=7)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=ray_backend.LOCAL_OBJECT_STORE_BYTES)
    yield
    ray.shutdown()


def test_slices_cover_every_env_once() -> None:
    assert slice_sizes(5, 2) == [3, 2]
    assert slice_sizes(4, 4) == [1, 1, 1, 1]
    assert sum(slice_sizes(17, 3)) == 17


def test_slice_infos_merge_into_gymnasium_layout() -> None:
    first = {"lives": np.array([3, 2]), "_lives": np.array([True, True]),
             "episode": {"r": np.array([0.0, 9.0]), "_r": np.array([False, True])},
             "_episode": np.array([False, True])}
    second = {"name": np.array(["a"], dtype=object), "_name": np.array([True])}
    info = merge_infos([first, second, {}], [2, 1, 2])
    assert info["lives"].tolist() == [3, 2, 0, 0, 0]
    assert info["_lives"].tolist() == [True, True, False, False, False]
    assert info["episode"]["r"].tolist() == [0.0, 9.0, 0.0, 0.0, 0.0]
    assert info["_episode"].tolist() == [False, True, False, False, False]
    assert info["name"].tolist() == [None, None, "a", None, None]
    assert info["_name"].tolist() == [False, False, True, False, False]


def test_ray_envs_replay_the_local_vector_envs_streams(local_ray: None) -> None:
    """Same seed, same actions: the same observations, rewards and flags, through several
    autoresets (random CartPole episodes last ~20 steps), with uneven slices (3 + 2)."""
    cfg = PPOConfig(**{**TINY, "executor": "ray", "env_workers": 2})
    remote = make_training_envs(cfg, seed=cfg.seed)
    local = make_ppo_envs(PPOConfig(**{**TINY, "vectorization": "sync"}), 5, seed=cfg.seed)
    try:
        assert isinstance(remote, RayVectorEnv) and remote.actors == 2
        assert remote.metadata["autoreset_mode"] == local.metadata["autoreset_mode"]
        assert remote.single_observation_space == local.single_observation_space
        got, _ = remote.reset(seed=11)
        want, _ = local.reset(seed=11)
        np.testing.assert_array_equal(got, want)
        actions = np.random.default_rng(0).integers(0, 2, size=(80, 5))
        resets = 0
        for a in actions:
            got_step, want_step = remote.step(a), local.step(a)
            for g, w in zip(got_step[:4], want_step[:4], strict=True):
                np.testing.assert_array_equal(g, w)
            resets += int(np.sum(got_step[2] | got_step[3]))
        assert resets >= 5  # the autoreset path was exercised, not just one episode
    finally:
        remote.close()
        local.close()


def test_ppo_on_ray_matches_ppo_with_a_local_sync_vector_env(local_ray: None,
                                                             tmp_path: Path) -> None:
    from dreamlab.ppo.train import train

    local = train(PPOConfig(**{**TINY, "vectorization": "sync",
                               "checkpoint_dir": str(tmp_path / "local")}))
    remote = train(PPOConfig(**{**TINY, "executor": "ray", "env_workers": 2,
                                "checkpoint_dir": str(tmp_path / "ray")}))
    assert ray.is_initialized()  # the module's Ray was used, and not shut down by the run
    returns = [json.loads((r.run_dir / "evaluation_results.json").read_text())["returns"]
               for r in (local, remote)]
    assert returns[0] == returns[1]
    weights = [StepCheckpointer(r.run_dir / "checkpoints").load_latest()["policy"]
               for r in (local, remote)]
    for name, value in weights[0].items():
        torch.testing.assert_close(weights[1][name], value, rtol=0, atol=0)


def test_a_lost_env_actor_is_one_line(local_ray: None) -> None:
    """The actor holding envs 3-4 dies in the middle of a step (its process exits), as an
    OOM kill would end it."""

    def make_slice(first: int, count: int) -> gym.vector.VectorEnv:
        def make() -> gym.Env:
            env = gym.make("CartPole-v1")
            if first >= 3:
                env = gym.wrappers.TransformReward(env, lambda r: os._exit(1))
            return env

        return gym.vector.SyncVectorEnv([make] * count)

    envs = RayVectorEnv(make_slice, num_envs=5, actors=2)
    try:
        envs.reset(seed=0)
        with pytest.raises(ray_backend.RayClusterError,
                           match="env worker was lost") as info:
            envs.step(np.zeros(5, np.int64))
        assert "resume from the last checkpoint" in info.value.hint
    finally:
        envs.close()
