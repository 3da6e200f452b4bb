"""Synthetic episodes for tests and benchmarks: fast to make, compressible like real frames.

Why: tests of the streaming datasets need hundreds of MB of frames in seconds, and stages'
tests need a tiny raw_data/ or latents/ without running an env. Frames are a flat
background with a moving square and a noisy score strip, so they compress roughly like
Atari frames and a reader can check each frame's identity (the frame number is written
into its first pixels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dreamlab.data.episode_store import EpisodeStore
from dreamlab.data.latents import make_latent_episode


def synthetic_frames(
    rng: np.random.Generator, num_frames: int, img_size: int = 64, first_id: int = 0
) -> np.ndarray:
    """(num_frames, img_size, img_size, 3) uint8; pixel [0, 0:4, 0] spells a unique frame id."""
    frames = np.empty((num_frames, img_size, img_size, 3), dtype=np.uint8)
    frames[:] = rng.integers(0, 256, size=3, dtype=np.uint8)
    side = max(2, img_size // 8)
    xs = (np.arange(num_frames) * 2 + int(rng.integers(img_size))) % (img_size - side)
    for t, x in enumerate(xs):
        frames[t, x : x + side, x : x + side] = 255
    strip = rng.integers(0, 256, size=(num_frames, 2, img_size, 3), dtype=np.uint8)
    frames[:, img_size - 2 :] = strip // 64 * 64  # a few levels: noisy, yet compressible
    ids = first_id + np.arange(num_frames, dtype=np.uint32)
    frames[:, 0, 0:4, 0] = ids.view(np.uint8).reshape(num_frames, 4)
    return frames


def frame_ids(frames: np.ndarray) -> np.ndarray:
    """Recover the ids written by synthetic_frames, from HWC or CHW uint8 frames."""
    frames = np.asarray(frames)
    if frames.shape[-1] != 3:  # CHW
        frames = np.moveaxis(frames, -3, -1)
    return np.ascontiguousarray(frames[..., 0, 0:4, 0]).view(np.uint32)[..., 0]


def write_synthetic_frame_store(
    root: str | Path, num_episodes: int, steps: int, img_size: int = 64, seed: int = 0
) -> EpisodeStore:
    """A raw_data-like store whose frames carry unique ids (episodes of steps+1 frames)."""
    store = EpisodeStore(root, create=True)
    rng = np.random.default_rng(seed)
    first_id = 0
    for _ in range(num_episodes):
        obs = synthetic_frames(rng, steps + 1, img_size, first_id)
        first_id += steps + 1
        store.append(
            {
                "obs": obs,
                "actions": rng.integers(0, 6, size=steps),
                "rewards": rng.standard_normal(steps).astype(np.float32),
                "terminated": np.arange(steps) == steps - 1,
            }
        )
    return store


def write_synthetic_latent_store(
    root: str | Path, lengths: list[int], z_dim: int = 8, action_dim: int = 2, seed: int = 0
) -> EpisodeStore:
    """A latents-like store; mu[t, 0] = t, so a reader can check window alignment."""
    store = EpisodeStore(root, create=True)
    rng = np.random.default_rng(seed)
    for steps in lengths:
        mu = rng.standard_normal((steps + 1, z_dim)).astype(np.float32)
        mu[:, 0] = np.arange(steps + 1)
        store.append(
            make_latent_episode(
                mu=mu,
                logvar=np.full((steps + 1, z_dim), -2.0),
                actions=rng.uniform(-1, 1, size=(steps, action_dim)),
                rewards=np.arange(steps, dtype=np.float32),
                terminated=np.arange(steps) == steps - 1,
            )
        )
    return store
