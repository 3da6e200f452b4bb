"""The one place the PPO trainer builds its envs (so a multi-agent env can plug in here).

Three kinds of Gymnasium vector env, chosen by `--vectorization`:

* native: the env's own vectorised class, registered as its `vector_entry_point`:
  CartPole's numpy `CartPoleVectorEnv` (every env stepped by one array operation) and
  ale-py's `AtariVectorEnv` (C++ threads, preprocessing inside). For cheap envs this is
  the largest single speed-up: no Python loop over envs at all.
* sync: `SyncVectorEnv`, one process (right for cheap state envs: a worker process
  costs more than a CartPole step, notes/).
* async: `AsyncVectorEnv`, a process per env (right for expensive steps).

Every kind uses Gymnasium's default "next_step" autoreset; core.py explains what that
means for the rollout.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import os
from typing import Any

import gymnasium as gym
import numpy as np

from dreamlab.config.ppo import PPOConfig
from dreamlab.envs import make_vector_env, resolve_env_id
from dreamlab.envs.registry import check_available, env_family, native_pixels
from dreamlab.errors import ConfigError, EnvError
from dreamlab.models.ppo_policy import ActionLayout

ATARI_STACK = 4  # frames stacked for the CNN (Mnih et al. 2015)
ATARI_SIZE = 84
# Sticky actions, as ALE/*-v5 has them (Machado et al. 2018); the native vector env's
# own default is 0, so it is passed explicitly and the two paths play the same game.
ATARI_STICKY = 0.25


def has_native_vector(env_id: str) -> bool:
    spec = gym.spec(env_id)
    return spec.vector_entry_point is not None and "Jax" not in str(spec.vector_entry_point)


def vector_kind(cfg: PPOConfig, env_id: str) -> str:
    """native, sync or async for this config; an impossible choice is one line."""
    native_ok = has_native_vector(env_id) and cfg.frame_skip == 1 and (
        env_family(env_id) == "atari" or cfg.max_episode_steps == 0)
    if cfg.vectorization == "native":
        if not native_ok:
            raise ConfigError(f"{env_id} has no native vector env for these settings "
                              "(frame skip and episode caps need a wrapper)",
                              "use --vectorization sync or async")
        return "native"
    if cfg.vectorization == "auto":
        if native_ok:
            return "native"
        # A worker process pays off for Atari frames, never for a cheap state step.
        heavy = env_family(env_id) == "atari" and cfg.num_envs > 1 and (os.cpu_count() or 1) > 1
        return "async" if heavy else "sync"
    return cfg.vectorization


def make_atari_env(env_id: str, max_episode_steps: int = 0) -> gym.Env:
    """One Atari env as the PPO paper played it: 4-frame skip with max-pooling, 84x84
    grayscale, up to 30 no-ops at reset, 4 stacked frames (Gymnasium's own wrappers)."""
    import importlib.util

    import ale_py

    if importlib.util.find_spec("cv2") is None:  # AtariPreprocessing resizes with OpenCV
        raise EnvError(f"{env_id} through Python wrappers needs opencv-python",
                       "use --vectorization native (the default), or pip install "
                       "'gymnasium[other]'")
    gym.register_envs(ale_py)
    env = gym.make(env_id, frameskip=1, repeat_action_probability=ATARI_STICKY)
    env = gym.wrappers.AtariPreprocessing(env, noop_max=30, frame_skip=4,
                                          screen_size=ATARI_SIZE, grayscale_obs=True)
    if max_episode_steps > 0:
        env = gym.wrappers.TimeLimit(env, max_episode_steps)
    return gym.wrappers.FrameStackObservation(env, ATARI_STACK)


def make_ppo_envs(cfg: PPOConfig, num_envs: int, seed: int | None = None
                  ) -> gym.vector.VectorEnv:
    """num_envs copies of cfg.env as one vector env (native, sync or async).

    State observations for state envs, stacked 84x84 frames for Atari; other image envs
    (CarRacing) are refused with one line until a CNN for their frames exists here.
    """
    env_id = resolve_env_id(cfg.env)
    check_available(env_id)
    atari = env_family(env_id) == "atari"
    if not atari and (cfg.obs == "pixels" or native_pixels(env_id)):
        raise EnvError(f"PPO reads state vectors or Atari frames; {env_id} with obs="
                       f"{cfg.obs} is not supported yet", "use a state env or an ALE/ game")
    kind = vector_kind(cfg, env_id)
    if kind == "native":
        kwargs: dict[str, Any] = {}
        if atari:
            kwargs = dict(repeat_action_probability=ATARI_STICKY, reward_clipping=False,
                          episodic_life=False, stack_num=ATARI_STACK, img_height=ATARI_SIZE,
                          img_width=ATARI_SIZE, noop_max=30,
                          num_threads=min(num_envs, os.cpu_count() or 1))
            if cfg.max_episode_steps > 0:  # the native env caps in frames, 4 per step
                kwargs["max_num_frames_per_episode"] = cfg.max_episode_steps * 4
        envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
                            **kwargs)
    elif atari:
        fns = [lambda: make_atari_env(env_id, cfg.max_episode_steps)] * num_envs
        if kind == "sync":
            envs = gym.vector.SyncVectorEnv(fns)
        else:
            methods = multiprocessing.get_all_start_methods()
            envs = gym.vector.AsyncVectorEnv(
                fns, context="forkserver" if "forkserver" in methods else "spawn")
    else:
        envs = make_vector_env(env_id, num_envs, obs="state",
                               max_episode_steps=cfg.max_episode_steps,
                               frame_skip=cfg.frame_skip, seed=seed, mode=kind)
    if seed is not None:
        envs.action_space.seed(seed)
    return envs


def make_training_envs(cfg: PPOConfig, seed: int | None = None) -> gym.vector.VectorEnv:
    """The trainer's cfg.num_envs envs: local (make_ppo_envs), or with --executor ray in
    Ray actors behind the same VectorEnv surface (issue 14; ray imported only then)."""
    if cfg.executor != "ray":
        return make_ppo_envs(cfg, cfg.num_envs, seed=seed)
    from dreamlab.parallel.ray_vector import RayVectorEnv

    make_slice = functools.partial(make_env_slice, cfg, actor_vector_kind(cfg), seed)
    envs = RayVectorEnv(make_slice, cfg.num_envs, cfg.env_workers, cfg.ray_address)
    if seed is not None:
        envs.action_space.seed(seed)
    return envs


def actor_vector_kind(cfg: PPOConfig) -> str:
    """The vector env inside each Ray actor. auto means sync there: the actor is already
    the process, and a native env draws all its envs from one RNG, so its slices could
    not replay a local run's streams; an explicit native or async is honoured."""
    return "sync" if cfg.vectorization == "auto" else cfg.vectorization


def make_env_slice(cfg: PPOConfig, kind: str, seed: int | None, first: int,
                   count: int) -> gym.vector.VectorEnv:
    """Envs first..first+count-1 of a run, on a Ray actor: seeded seed + first + i, so
    together the slices are the envs a local vector env of all of them would be."""
    local = dataclasses.replace(cfg, vectorization=kind, executor="local", ray_address=None)
    return make_ppo_envs(local, count, seed=None if seed is None else seed + first)


def describe_envs(cfg: PPOConfig, envs: gym.vector.VectorEnv) -> str:
    """The vector env for the start-of-run log line."""
    actors = getattr(envs, "actors", None)
    if actors is not None:
        return f"{actors} Ray actors x {actor_vector_kind(cfg)} vector env"
    return f"{vector_kind(cfg, cfg.env)} vector env"


def action_layout(space: gym.Space) -> ActionLayout:
    """The network's view of a (single env's) action space."""
    if isinstance(space, gym.spaces.Discrete) and int(space.start) == 0:
        return ActionLayout("discrete", (int(space.n),))
    if isinstance(space, gym.spaces.MultiDiscrete) and space.nvec.ndim == 1 and \
            not np.any(space.start):
        return ActionLayout("multidiscrete", tuple(int(n) for n in space.nvec))
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
        return ActionLayout("continuous", (int(space.shape[0]),))
    raise EnvError(f"PPO cannot act in {space}",
                   "it handles Discrete, MultiDiscrete and 1-D Box action spaces")


def policy_kind(cfg: PPOConfig, obs_shape: tuple[int, ...]) -> str:
    if cfg.policy != "auto":
        return cfg.policy
    return "cnn" if len(obs_shape) == 3 else "mlp"
