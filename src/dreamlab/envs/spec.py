"""What an algorithm needs to know about an env before it builds its networks.

`ActionSpec` and `EnvInfo` are plain frozen data so that they can be written to the
manifest and compared on resume; they never hold a live env.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from dreamlab.errors import EnvError

# Finite scales for state envs, used by `normalize_state` so that z = normalised state is
# roughly in [-1, 1]. An env listed here uses these ranges instead of its observation space:
# CartPole's space bounds are twice its termination thresholds and its velocities are
# unbounded; LunarLander's ±10 velocity bounds are about 5x what a flight ever reaches.
# Ranges: termination thresholds from the env sources, and for the rest the 0.5-99.5
# percentiles of 200 random episodes per env, widened by a margin.
STATE_RANGES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "CartPole-v1": ((-2.4, -3.0, -0.21, -3.5), (2.4, 3.0, 0.21, 3.5)),
    "CartPole-v0": ((-2.4, -3.0, -0.21, -3.5), (2.4, 3.0, 0.21, 3.5)),
    "LunarLander-v3": (
        (-1.5, -0.5, -2.5, -2.5, -3.2, -4.0, 0.0, 0.0),
        (1.5, 1.8, 2.5, 1.0, 3.2, 4.0, 1.0, 1.0),
    ),
    "LunarLanderContinuous-v3": (
        (-1.5, -0.5, -2.5, -2.5, -3.2, -4.0, 0.0, 0.0),
        (1.5, 1.8, 2.5, 1.0, 3.2, 4.0, 1.0, 1.0),
    ),
}


@dataclass(frozen=True)
class ActionSpec:
    """The action interface as the world model sees it.

    The MDN-RNN takes a fixed-size float vector per step, so discrete actions are one-hot
    encoded and continuous ones pass through; `input_dim` is that vector's size.
    """

    kind: str  # "discrete" | "continuous"
    n: int  # discrete: number of actions; continuous: action dimension
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    @property
    def input_dim(self) -> int:
        return self.n

    def encode(self, actions: np.ndarray) -> np.ndarray:
        """(T,) int or (T, n) float -> (T, input_dim) float32."""
        a = np.asarray(actions)
        if self.kind == "discrete":
            idx = a.reshape(-1).astype(np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= self.n):
                raise ValueError(
                    f"discrete actions must be in [0, {self.n}), got {idx.min()}..{idx.max()}"
                )
            out = np.zeros((idx.shape[0], self.n), dtype=np.float32)
            out[np.arange(idx.shape[0]), idx] = 1.0
            return out
        out = a.astype(np.float32, copy=False).reshape(-1, self.n)
        return np.ascontiguousarray(out)

    @classmethod
    def from_space(cls, space: gym.Space) -> ActionSpec:
        if isinstance(space, gym.spaces.Discrete):
            if int(space.start) != 0:
                raise EnvError(
                    f"Discrete action spaces starting at {space.start} are not supported",
                    "use an env whose actions start at 0",
                )
            return cls("discrete", int(space.n))
        if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            return cls(
                "continuous",
                int(space.shape[0]),
                tuple(float(v) for v in space.low),
                tuple(float(v) for v in space.high),
            )
        raise EnvError(
            f"action space {space} is not supported",
            "dreamlab handles Discrete and 1-D Box action spaces",
        )


@dataclass(frozen=True)
class EnvInfo:
    """An env described once, so that stages can size models without building it again."""

    env_id: str  # resolved Gymnasium id (after alias mapping)
    obs: str  # "pixels" | "state"
    obs_shape: tuple[int, ...]  # pixels: (H, W, 3) uint8; state: (D,)
    action: ActionSpec
    max_episode_steps: int | None
    # Left out of ==: arrays have no single truth value, and the ranges follow from env_id.
    state_low: np.ndarray | None = field(default=None, compare=False)
    state_high: np.ndarray | None = field(default=None, compare=False)


def state_range(env_id: str, space: gym.spaces.Box) -> tuple[np.ndarray, np.ndarray]:
    """Finite per-dimension ranges: the table above, else the space bounds, else ±1."""
    if env_id in STATE_RANGES and len(STATE_RANGES[env_id][0]) == space.shape[0]:
        low, high = STATE_RANGES[env_id]
        return np.asarray(low, np.float32), np.asarray(high, np.float32)
    low = np.asarray(space.low, np.float32).reshape(-1)
    high = np.asarray(space.high, np.float32).reshape(-1)
    bad = ~(np.isfinite(low) & np.isfinite(high)) | (high - low > 1e6)
    low = np.where(bad, -1.0, low).astype(np.float32)
    high = np.where(bad, 1.0, high).astype(np.float32)
    return low, high


def normalize_state(info: EnvInfo, x: np.ndarray) -> np.ndarray:
    """Map raw state vectors (..., D) linearly so the documented range becomes [-1, 1].

    Not clipped: a value outside the range is rare and still carries information.
    """
    if info.state_low is None or info.state_high is None:
        raise ValueError(f"{info.env_id} with obs={info.obs!r} has no state range")
    low, high = info.state_low, info.state_high
    scale = np.where(high > low, high - low, 1.0)
    return ((2.0 * (np.asarray(x, np.float32) - low) / scale) - 1.0).astype(np.float32)
