"""Observation and action wrappers that turn any Gymnasium env into what dreamlab expects.

Pixel observations are always uint8 (size, size, 3): the episode store, the VAE and the
videos all assume it. Frames come either from the env's own observation (CarRacing, Atari)
or from `env.render()` (classic control, LunarLander), then pass through a crop chosen per
env (see `factory.frame_transform_for`) and an area-averaging resize.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from PIL import Image

FrameTransform = Callable[[np.ndarray], np.ndarray]


def resize_frame(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-average a uint8 RGB frame to (height, width, 3).

    Pillow's BOX filter is an exact area average: deterministic, no aliasing of thin
    objects (a 1 px ball or pole still shows as a faint blob instead of vanishing), and
    about 0.2 ms for 210x160 -> 64x64 on one CPU core. cv2 is not a dependency.
    """
    if frame.shape[0] == height and frame.shape[1] == width:
        return np.array(frame, dtype=np.uint8, order="C")
    image = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
    # np.array, not asarray: Pillow's buffer is read-only, and consumers may write in place.
    return np.array(image.resize((width, height), Image.Resampling.BOX))


class CropResize:
    """Fixed crop (rows top:bottom, cols left:right; None = edge), then resize to size."""

    def __init__(
        self,
        size: int,
        rows: tuple[int | None, int | None] = (None, None),
        cols: tuple[int | None, int | None] = (None, None),
    ) -> None:
        self.size = size
        self.rows = slice(*rows)
        self.cols = slice(*cols)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return resize_frame(frame[self.rows, self.cols, :3], self.size, self.size)

    def reset(self) -> None:
        """Fixed crops keep no state between frames."""


class PixelObservation(gym.ObservationWrapper):
    """Replace observations with transformed RGB frames.

    from_render=True takes the frame from env.render() (the env must be made with
    render_mode="rgb_array"), for envs whose observation is a state vector.
    """

    def __init__(self, env: gym.Env, transform: FrameTransform, size: int, from_render: bool):
        super().__init__(env)
        self.transform = transform
        self.from_render = from_render
        self.observation_space = gym.spaces.Box(0, 255, (size, size, 3), np.uint8)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        # A follow-crop may remember where the cart was; a new episode starts afresh.
        reset_transform = getattr(self.transform, "reset", None)
        if reset_transform is not None:
            reset_transform()
        return super().reset(**kwargs)

    def observation(self, observation: Any) -> np.ndarray:
        frame = self.env.render() if self.from_render else observation
        return self.transform(np.asarray(frame))


class ActionRepeat(gym.Wrapper):
    """Repeat each action `repeat` times and sum the rewards (World Models, Dreamer).

    Stops early when the episode ends, so no step is taken past termination. Pixel
    wrappers go on top, so a skipped step is never rendered.
    """

    def __init__(self, env: gym.Env, repeat: int):
        super().__init__(env)
        if repeat < 1:
            raise ValueError(f"action repeat must be >= 1, got {repeat}")
        self.repeat = repeat

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict]:
        total = 0.0
        for _ in range(self.repeat):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total += float(reward)
            if terminated or truncated:
                break
        return obs, total, terminated, truncated, info


class SeedOnFirstReset(gym.Wrapper):
    """Use make_env's seed for the first reset when the caller passes none.

    `make_env(seed=s).reset()` and `make_env(seed=s).reset(seed=s)` then give the same
    episode; later resets continue the env's own random stream as Gymnasium intends.
    """

    def __init__(self, env: gym.Env, seed: int):
        super().__init__(env)
        self._pending_seed: int | None = seed

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        if seed is None:
            seed = self._pending_seed
        self._pending_seed = None
        return self.env.reset(seed=seed, options=options)
