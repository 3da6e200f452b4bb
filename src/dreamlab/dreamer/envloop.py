"""What sits between Gymnasium and the agent: observation shapes, grey conversion, the
rolling frame stack used when acting, and action conversion.

Replay stores single frames (data/replay.py builds stacks at sample time); acting keeps
one rolling stack per env here, refilled with the first frame of each new episode so
that acting sees exactly what sampling builds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dreamlab.config.dreamer import DreamerConfig
from dreamlab.envs import EnvInfo, env_info


@dataclass(frozen=True)
class ObsSpec:
    pixels: bool
    frame_shape: tuple[int, ...]  # one stored frame: (H, W, C) uint8 or (D,) float32
    stack: int
    grayscale: bool

    @property
    def model_shape(self) -> tuple[int, ...]:
        """What the encoder reads: frames stacked on the last axis."""
        return (*self.frame_shape[:-1], self.frame_shape[-1] * self.stack)

    @property
    def dtype(self) -> type:
        return np.uint8 if self.pixels else np.float32

    def frame(self, obs: np.ndarray) -> np.ndarray:
        """A batch of env observations (N, ...) -> stored frames (N, *frame_shape)."""
        if not self.pixels:
            return np.asarray(obs, np.float32).reshape(len(obs), *self.frame_shape)
        obs = np.asarray(obs, np.uint8)
        if self.grayscale:
            # ITU-R 601 luma, as Atari preprocessing does.
            grey = obs[..., 0] * 0.299 + obs[..., 1] * 0.587 + obs[..., 2] * 0.114
            return grey.astype(np.uint8)[..., None]
        return obs


def describe(cfg: DreamerConfig) -> tuple[EnvInfo, ObsSpec]:
    info = env_info(cfg.env, cfg.obs, cfg.img_size, cfg.max_episode_steps, cfg.frame_skip)
    pixels = info.obs == "pixels"
    shape = info.obs_shape
    if pixels and cfg.grayscale:
        shape = (*shape[:2], 1)
    return info, ObsSpec(pixels, tuple(shape), cfg.frame_stack, cfg.grayscale and pixels)


class FrameStacker:
    """The newest `k` frames of each env on the last axis, oldest first."""

    def __init__(self, spec: ObsSpec, num_envs: int) -> None:
        self.spec = spec
        self.buf = np.zeros((num_envs, *spec.model_shape), spec.dtype)
        self.width = spec.frame_shape[-1]

    def push(self, frames: np.ndarray, is_first: np.ndarray) -> np.ndarray:
        k, w = self.spec.stack, self.width
        if k == 1:
            self.buf[:] = frames
            return self.buf
        self.buf[..., :-w] = self.buf[..., w:].copy()
        self.buf[..., -w:] = frames
        for i in np.flatnonzero(is_first):
            self.buf[i] = np.concatenate([frames[i]] * k, axis=-1)
        return self.buf


def to_env_actions(actions: np.ndarray, info: EnvInfo) -> np.ndarray:
    """Agent actions (one-hot, or in [-1, 1]) -> what the env takes."""
    spec = info.action
    if spec.kind == "discrete":
        return actions.argmax(-1).astype(np.int64)
    low, high = np.asarray(spec.low, np.float32), np.asarray(spec.high, np.float32)
    return (low + (np.clip(actions, -1, 1) + 1) * 0.5 * (high - low)).astype(np.float32)


def random_actions(rng: np.random.Generator, n: int, info: EnvInfo) -> np.ndarray:
    """Uniform random agent actions for the prefill and the world-model warm-up."""
    spec = info.action
    if spec.kind == "discrete":
        return np.eye(spec.n, dtype=np.float32)[rng.integers(0, spec.n, n)]
    return rng.uniform(-1, 1, (n, spec.n)).astype(np.float32)
