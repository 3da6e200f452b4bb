"""make_env and friends: the one place where algorithms get their environments.

Every algorithm (World Models, Dreamer, PPO) builds envs here, so a pixel observation means
the same crop, size and dtype everywhere, and an old id or a missing extra fails the same
way everywhere.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
from typing import Any

import gymnasium as gym

from dreamlab.envs.cartpole import CartPoleFollowCrop, CartPoleRaster
from dreamlab.envs.registry import check_available, looks_dmc, native_pixels, resolve_env_id
from dreamlab.envs.spec import ActionSpec, EnvInfo, state_range
from dreamlab.envs.wrappers import (
    ActionRepeat,
    CropResize,
    FrameStack,
    FrameTransform,
    PixelObservation,
    SeedOnFirstReset,
)
from dreamlab.errors import ConfigError, EnvError
from dreamlab.runtime.cpus import cpu_count

OBS_MODES = ("auto", "pixels", "state")
CARTPOLE_IDS = ("CartPole-v0", "CartPole-v1")
VECTOR_MODES = ("auto", "sync", "async")


def frame_transform_for(env_id: str, img_size: int) -> FrameTransform:
    """The crop each env needs before the resize, and why.

    * CartPole: follow-crop around the cart plus a track minimap (see cartpole.py).
    * Pong: rows 34:194 keep the playfield only; the score (rows 0-33) changes rarely and
      would cost VAE capacity, the bottom wall carries nothing. 160x160 stays square.
    * Breakout: rows 32:196, cols 8:152 drop the score and the grey walls, keeping the
      bricks, ball and paddle; the walls never change.
    * CarRacing: the full 96x96 frame, dashboard bar included, as in the World Models
      paper: the bar shows speed, ABS and steering, which the car's state needs.
    * Anything else: the full frame.
    """
    if env_id in CARTPOLE_IDS:
        return CartPoleFollowCrop(img_size)
    if env_id == "ALE/Pong-v5":
        return CropResize(img_size, rows=(34, 194))
    if env_id == "ALE/Breakout-v5":
        return CropResize(img_size, rows=(32, 196), cols=(8, 152))
    return CropResize(img_size)


def dmc_render_kwargs(img_size: int) -> dict[str, Any]:
    """DeepMind Control pixels: the task's camera 0 drawn at img_size x img_size, as
    PlaNet and Dreamer do. shimmy's default is MuJoCo's free camera at 320x240: the cart
    and pole fill a few percent of that frame, so after the squashing resize to 64x64 the
    pole is about a pixel wide; camera 0 frames the cart, and drawing 64x64 directly
    costs half the step time of drawing 320x240 on CPU Mesa."""
    return {"render_kwargs": {"height": img_size, "width": img_size, "camera_id": 0}}


def _obs_mode(env_id: str, obs: str) -> str:
    if obs not in OBS_MODES:
        raise ConfigError(
            f"obs must be one of {', '.join(OBS_MODES)}, got {obs!r}", "use --obs pixels"
        )
    if obs == "auto":
        return "pixels" if native_pixels(env_id) else "state"
    if obs == "state" and native_pixels(env_id):
        raise EnvError(f"{env_id} has only image observations", "use --obs pixels (or auto)")
    return obs


def _check_sizes(img_size: int, max_episode_steps: int, frame_skip: int) -> None:
    if img_size < 8:
        raise ConfigError(f"img_size must be >= 8, got {img_size}", "use --img-size 64 (or 32)")
    if max_episode_steps < 0:
        raise ConfigError(f"max_episode_steps must be >= 0, got {max_episode_steps}", "0 = no cap")
    if frame_skip < 1:
        raise ConfigError(f"frame_skip must be >= 1, got {frame_skip}", "1 = no action repeat")


def make_env(
    env_id: str,
    obs: str = "auto",
    img_size: int = 64,
    max_episode_steps: int = 0,
    frame_skip: int = 1,
    render_mode: str | None = None,
    seed: int | None = None,
    grayscale: bool = False,
    frame_stack: int = 1,
) -> gym.Env:
    """Build a Gymnasium env with dreamlab's observation conventions.

    obs: "pixels" gives uint8 (img_size, img_size, 3) frames (from env.render() for state
    envs), "state" the raw vector, "auto" pixels only where the env's own observation is
    an image. frame_skip repeats each action and sums rewards; ALE/*-v5 already skips 4
    frames per step, so frame_skip=2 there means 8 frames. max_episode_steps > 0 caps an
    episode at that many agent steps (after frame skip) with a truncation. grayscale turns
    pixel frames into (size, size) luma; frame_stack > 1 stacks the last k observations on
    a new first axis without copying them (wrappers.FrameStack). DeepMind Control state
    observations (a dict of arrays) are flattened into one float vector.
    """
    _check_sizes(img_size, max_episode_steps, frame_skip)
    resolved = resolve_env_id(env_id)
    check_available(resolved)
    mode = _obs_mode(resolved, obs)
    from_render = mode == "pixels" and not native_pixels(resolved)
    if from_render and render_mode not in (None, "rgb_array"):
        raise EnvError(
            f"{resolved} pixels come from render_mode='rgb_array', not {render_mode!r}",
            "leave render_mode unset and save videos from the observations",
        )
    dmc_pixels = from_render and looks_dmc(resolved)
    try:
        env = gym.make(resolved, render_mode="rgb_array" if from_render else render_mode,
                       **(dmc_render_kwargs(img_size) if dmc_pixels else {}))
    except gym.error.DependencyNotInstalled as exc:
        raise EnvError(f"{resolved} cannot be built: {exc}", "run `dreamlab doctor`") from exc
    if mode == "state" and isinstance(env.observation_space, gym.spaces.Dict):
        env = gym.wrappers.FlattenObservation(env)  # DMC: {position, velocity, ...}
    if frame_skip > 1:
        env = ActionRepeat(env, frame_skip)
    if max_episode_steps > 0:
        env = gym.wrappers.TimeLimit(env, max_episode_steps)
    if mode == "pixels":
        if resolved in CARTPOLE_IDS:
            # The same picture drawn from the state (cartpole.py), several times faster
            # than pygame's render plus the crop; render() still gives videos their frame.
            env = PixelObservation(env, CartPoleRaster(img_size), img_size, from_render=False)
        else:
            env = PixelObservation(env, frame_transform_for(resolved, img_size), img_size,
                                   from_render)
        if grayscale:
            env = gym.wrappers.GrayscaleObservation(env, keep_dim=False)
    elif grayscale:
        raise ConfigError("grayscale applies to pixel observations", "use --obs pixels")
    if frame_stack > 1:
        env = FrameStack(env, frame_stack)
    if seed is not None:
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
        env = SeedOnFirstReset(env, seed)
    return env


def _episode_limit(env_id: str, max_episode_steps: int, frame_skip: int) -> int | None:
    """Agent steps per episode at most: the registered limit (in env steps) and the cap."""
    native = gym.spec(env_id).max_episode_steps
    limits = [math.ceil(native / frame_skip)] if native else []
    if max_episode_steps > 0:
        limits.append(max_episode_steps)
    return min(limits) if limits else None


def env_info(
    env_id: str,
    obs: str = "auto",
    img_size: int = 64,
    max_episode_steps: int = 0,
    frame_skip: int = 1,
) -> EnvInfo:
    """Build the env once (no reset) and describe its observations and actions."""
    resolved = resolve_env_id(env_id)
    env = make_env(resolved, obs, img_size, max_episode_steps, frame_skip)
    try:
        mode = _obs_mode(resolved, obs)
        space = env.observation_space
        low = high = None
        if mode == "state":
            if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
                raise EnvError(f"{resolved} state observations are {space}", "use --obs pixels")
            low, high = state_range(resolved, space)
        return EnvInfo(
            env_id=resolved,
            obs=mode,
            obs_shape=tuple(int(d) for d in space.shape),
            action=ActionSpec.from_space(env.action_space),
            max_episode_steps=_episode_limit(resolved, max_episode_steps, frame_skip),
            state_low=low,
            state_high=high,
        )
    finally:
        env.close()


def make_vector_env(
    env_id: str,
    num_envs: int,
    obs: str = "auto",
    img_size: int = 64,
    max_episode_steps: int = 0,
    frame_skip: int = 1,
    seed: int | None = None,
    mode: str = "auto",
    autoreset_mode: str = "next_step",
) -> gym.vector.VectorEnv:
    """num_envs copies of make_env(...) in one process ("sync") or one process each ("async").

    "auto" picks async only for pixel observations with 2+ envs and 2+ cores: a render or
    a CarRacing step (~2-8 ms) dwarfs the inter-process cost, while a cheap state step
    (CartPole 84k steps/s in-process against 8.9k with 2 workers, notes/) does not.
    Env i is seeded seed + i. Workers start with forkserver (spawn on Windows), not fork,
    so a parent that has already started torch threads cannot deadlock them.
    autoreset_mode is Gymnasium's: "next_step" (default), "same_step" or "disabled".
    """
    if mode not in VECTOR_MODES:
        raise ConfigError(f"vector mode must be one of {', '.join(VECTOR_MODES)}", "use auto")
    if num_envs < 1:
        raise ConfigError(f"num_envs must be >= 1, got {num_envs}", "use --num-envs 1 or more")
    resolved = resolve_env_id(env_id)
    pixel_obs = _obs_mode(resolved, obs) == "pixels"
    if mode == "auto":
        parallel = num_envs > 1 and cpu_count() > 1 and pixel_obs
        mode = "async" if parallel else "sync"
    fns = [
        functools.partial(
            make_env,
            resolved,
            obs,
            img_size,
            max_episode_steps,
            frame_skip,
            None,
            None if seed is None else seed + i,
        )
        for i in range(num_envs)
    ]
    modes = {m.name.lower(): m for m in gym.vector.AutoresetMode}
    if autoreset_mode not in modes:
        raise ConfigError(f"autoreset_mode must be one of {', '.join(modes)}", "use next_step")
    reset_mode = modes[autoreset_mode]
    if mode == "sync":
        return gym.vector.SyncVectorEnv(fns, autoreset_mode=reset_mode)
    context = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return gym.vector.AsyncVectorEnv(fns, context=context, autoreset_mode=reset_mode)
