"""Dreamer's replay: wrap-around, episode boundaries, frames stored once, fixed memory,
the RAM refusal, and a save/load round trip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dreamlab.data.replay import ReplayBuffer
from dreamlab.errors import MemoryBudgetError

MB = 1024 * 1024


def _fill(replay: ReplayBuffer, steps: int, episode_len: int = 0, start: int = 0) -> None:
    """Write steps whose obs, reward and action all hold the global step index."""
    n = replay.num_envs
    for t in range(start, start + steps):
        value = np.full(n, t, np.float32)
        obs = np.broadcast_to(value.reshape(n, *([1] * len(replay.obs_shape))),
                              (n, *replay.obs_shape)).astype(replay.obs_dtype)
        first = np.full(n, episode_len > 0 and t % episode_len == 0)
        replay.add(obs, np.tile(value[:, None], (1, replay.action_dim)), value, first,
                   np.zeros(n, bool))


def test_wrap_around_keeps_the_newest_steps_in_order() -> None:
    replay = ReplayBuffer(10, 1, (2,), np.float32, 1)
    _fill(replay, 25)
    assert len(replay) == 10 and replay.total_written == 25
    rng = np.random.default_rng(0)
    for _ in range(50):
        seq = replay.sample(3, 4, rng)["reward"]
        # Consecutive steps only: never across the write head (24 -> 15).
        assert (np.diff(seq, axis=1) == 1).all()
        assert seq.min() >= 15 and seq.max() <= 24


def test_sequences_across_an_episode_start_are_marked() -> None:
    replay = ReplayBuffer(100, 1, (1,), np.float32, 1)
    _fill(replay, 100, episode_len=7)
    rng = np.random.default_rng(1)
    batch = replay.sample(64, 10, rng)
    for rewards, first in zip(batch["reward"], batch["is_first"], strict=True):
        # Wherever a new episode begins inside a sequence, is_first says so (the RSSM
        # resets there), and nowhere else.
        assert (first == (rewards % 7 == 0)).all()


def test_frame_stack_is_built_at_sample_time_and_stops_at_episode_starts() -> None:
    replay = ReplayBuffer(200, 1, (2, 2, 1), np.uint8, 1, frame_stack=4)
    assert replay.arrays["obs"].shape == (1, 200, 2, 2, 1)  # one frame per step stored
    _fill(replay, 60, episode_len=10)
    rng = np.random.default_rng(2)
    batch = replay.sample(32, 8, rng)
    obs = batch["obs"]
    assert obs.shape == (32, 8, 2, 2, 4)
    for b in range(32):
        for t in range(8):
            step = int(batch["reward"][b, t])
            ep_start = step - step % 10
            expect = [max(step - j, ep_start) for j in (3, 2, 1, 0)]  # oldest first
            assert obs[b, t, 0, 0].tolist() == expect


def test_memory_is_fixed_at_allocation_and_flat_past_capacity() -> None:
    """capacity 2k, 10k steps of 64x64x3 frames in 2 envs: RSS is the buffer from the
    first step and does not grow while writing five times past it."""
    child = Path(__file__).with_name("replay_rss_child.py")
    out = subprocess.run([sys.executable, str(child), "2000", "10000"], check=True,
                         capture_output=True, text=True, timeout=120)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["after_alloc"] - result["before"] >= 0.9 * result["nbytes"]
    growth = max(result["rss"]) - result["rss"][0]
    assert growth < 4 * MB, result  # a per-step Python object would be ~120 MB here


def test_refuses_over_the_ram_budget_naming_the_size_and_the_flags() -> None:
    with pytest.raises(MemoryBudgetError) as err:
        ReplayBuffer(1_000_000, 1, (84, 84, 1), np.uint8, 6, ram_gb=1.0)
    text = str(err.value)
    assert "7.09 GB" in text and "--replay-ram-gb is 1" in text
    for flag in ("--replay-capacity", "--replay-memmap", "--replay-ram-gb"):
        assert flag in text


@pytest.mark.parametrize("steps", [30, 80])  # part-filled, and wrapped around
def test_save_and_load_round_trip(tmp_path: Path, steps: int) -> None:
    replay = ReplayBuffer(50, 2, (3,), np.float32, 2)
    _fill(replay, steps, episode_len=9)
    replay.save(tmp_path / "r")
    other = ReplayBuffer(50, 2, (3,), np.float32, 2)
    other.load(tmp_path / "r")
    assert other.state() == replay.state()
    for name, arr in replay.arrays.items():
        assert np.array_equal(arr, other.arrays[name])
    assert other.nbytes_needed() == replay.nbytes_needed()
    a = replay.sample(5, 6, np.random.default_rng(3))
    b = other.sample(5, 6, np.random.default_rng(3))
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_memmap_mode_keeps_the_ring_on_disk(tmp_path: Path) -> None:
    replay = ReplayBuffer(40, 1, (4,), np.float32, 1, ram_gb=1e-9,
                          memmap_dir=tmp_path / "ring")
    _fill(replay, 50)
    assert (tmp_path / "ring" / "obs.npy").exists()
    assert replay.sample(2, 5, np.random.default_rng(0))["reward"].shape == (2, 5)
