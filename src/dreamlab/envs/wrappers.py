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


class PixelObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Replace observations with transformed RGB frames.

    from_render=True takes the frame from env.render() (the env must be made with
    render_mode="rgb_array"), for envs whose observation is a state vector.
    Constructor arguments are recorded (RecordConstructorArgs), so `gym.make(env.spec)`
    rebuilds the same env and Gymnasium's `check_env` passes (issue 10).
    """

    def __init__(self, env: gym.Env, transform: FrameTransform, size: int, from_render: bool):
        gym.utils.RecordConstructorArgs.__init__(self, transform=transform, size=size,
                                                 from_render=from_render)
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


class ActionRepeat(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Repeat each action `repeat` times and sum the rewards (World Models, Dreamer).

    Stops early when the episode ends, so no step is taken past termination. Pixel
    wrappers go on top, so a skipped step is never rendered.
    """

    def __init__(self, env: gym.Env, repeat: int):
        gym.utils.RecordConstructorArgs.__init__(self, repeat=repeat)
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


class SeedOnFirstReset(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Use make_env's seed for the first reset when the caller passes none.

    `make_env(seed=s).reset()` and `make_env(seed=s).reset(seed=s)` then give the same
    episode; later resets continue the env's own random stream as Gymnasium intends.
    """

    def __init__(self, env: gym.Env, seed: int):
        gym.utils.RecordConstructorArgs.__init__(self, seed=seed)
        super().__init__(env)
        self._pending_seed: int | None = seed

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        if seed is None:
            seed = self._pending_seed
        self._pending_seed = None
        return self.env.reset(seed=seed, options=options)


class FrameStack(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """The last `k` observations stacked on a new first axis, (k, *obs_shape), without
    copying the stack at each step.

    Frames are written once into a strip of `k - 1 + strip_frames` slots and each
    observation is a read-only view of k consecutive slots. When the strip is full a new
    strip is allocated (the old one lives on as long as a caller still holds a view of it),
    so a returned observation never changes afterwards, and the cost per step is one frame
    write, not k. Gymnasium's FrameStackObservation stacks (copies) k frames per step;
    Dreamer's replay stores each frame once (`latest_frame`) and rebuilds stacks itself.
    """

    def __init__(self, env: gym.Env, k: int, strip_frames: int = 256):
        gym.utils.RecordConstructorArgs.__init__(self, k=k, strip_frames=strip_frames)
        super().__init__(env)
        if k < 1:
            raise ValueError(f"frame stack must be >= 1, got {k}")
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box):
            raise ValueError(f"FrameStack needs a Box observation space, got {space}")
        self.k = k
        self._strip_frames = max(strip_frames, 1)
        self._frame_shape = space.shape
        self._dtype = space.dtype
        self.observation_space = gym.spaces.Box(
            np.broadcast_to(space.low, (k, *space.shape)),
            np.broadcast_to(space.high, (k, *space.shape)), dtype=space.dtype)
        self._strip = self._new_strip()
        self._pos = 0  # slot the next frame goes to

    def _new_strip(self) -> np.ndarray:
        return np.zeros((self.k - 1 + self._strip_frames, *self._frame_shape), self._dtype)

    @property
    def latest_frame(self) -> np.ndarray:
        """The newest frame alone (a view), what a replay buffer stores."""
        return self._strip[self._pos - 1]

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(**kwargs)
        # An episode starts with k copies of its first frame (the field's convention).
        self._strip = self._new_strip()
        self._strip[: self.k] = obs
        self._pos = self.k
        return self._view(), info

    def observation(self, observation: Any) -> np.ndarray:
        if self._pos == len(self._strip):
            old = self._strip
            self._strip = self._new_strip()  # never overwrite a slot a caller may hold
            self._strip[: self.k - 1] = old[len(old) - (self.k - 1):]
            self._pos = self.k - 1
        self._strip[self._pos] = observation
        self._pos += 1
        return self._view()

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self.observation(obs), reward, terminated, truncated, info

    def _view(self) -> np.ndarray:
        view = self._strip[self._pos - self.k: self._pos]
        view.flags.writeable = False
        return view
