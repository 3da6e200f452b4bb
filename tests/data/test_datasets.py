"""Streaming datasets: every frame once per epoch, deterministic, windows aligned and padded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dreamlab.data import EpisodeStore, FrameDataset, SequenceDataset, make_loader
from dreamlab.data.synthetic import (
    frame_ids,
    write_synthetic_frame_store,
    write_synthetic_latent_store,
)
from dreamlab.errors import MemoryBudgetError

FRAME_BYTES = 16 * 16 * 3


@pytest.fixture(scope="module")
def frame_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("frames")
    write_synthetic_frame_store(root, num_episodes=9, steps=40, img_size=16, seed=0)
    return root


def _stream_ids(root: Path, workers: int, seed: int = 0, epoch: int = 0) -> np.ndarray:
    # room for 100 frames per worker: the buffer refills many times per epoch
    dataset = FrameDataset(root, ram_budget_bytes=100 * FRAME_BYTES * max(1, workers),
                           seed=seed, epoch=epoch)
    batches = list(make_loader(dataset, batch_size=16, num_workers=workers, seed=seed))
    assert all(b.dtype == torch.uint8 and b.shape[1:] == (3, 16, 16) for b in batches)
    return np.concatenate([frame_ids(b.numpy()) for b in batches])


@pytest.mark.parametrize("workers", [0, 2])
def test_every_frame_exactly_once_per_epoch(frame_store: Path, workers: int) -> None:
    ids = _stream_ids(frame_store, workers)
    assert len(ids) == len(FrameDataset(frame_store, 10**6, seed=0)) == 9 * 41
    np.testing.assert_array_equal(np.sort(ids), np.arange(9 * 41))


def test_frames_are_shuffled_across_episodes_and_deterministic(frame_store: Path) -> None:
    first = _stream_ids(frame_store, workers=2, seed=5)
    np.testing.assert_array_equal(first, _stream_ids(frame_store, workers=2, seed=5))
    assert not np.array_equal(first, _stream_ids(frame_store, workers=2, seed=5, epoch=1))
    assert len(np.unique(first[:32] // 41)) > 1  # one batch mixes several episodes


def test_budget_below_one_episode_is_a_clear_error(frame_store: Path) -> None:
    dataset = FrameDataset(frame_store, ram_budget_bytes=10 * FRAME_BYTES, seed=0)
    with pytest.raises(MemoryBudgetError, match="--data-ram-gb"):
        make_loader(dataset, batch_size=4, num_workers=0, seed=0)


def test_frame_dataset_refuses_state_observations(tmp_path: Path) -> None:
    store = EpisodeStore(tmp_path, create=True)
    store.append({"obs": np.zeros((5, 8), np.float32), "actions": np.zeros(4)})
    with pytest.raises(ValueError, match="uint8 image frames"):
        FrameDataset(tmp_path, 10**6, seed=0)


@pytest.fixture(scope="module")
def latent_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("latents")
    write_synthetic_latent_store(root, lengths=[5, 20, 33], z_dim=8, action_dim=2)
    return root


def _windows(root: Path, workers: int = 0, **kwargs) -> list[dict[str, torch.Tensor]]:
    dataset = SequenceDataset(root, seq_len=10, ram_budget_bytes=10**6, seed=0, **kwargs)
    out = []
    for batch in make_loader(dataset, batch_size=1, num_workers=workers, seed=0):
        out.append({k: v[0] for k, v in batch.items()})
    return out


def test_sequence_windows_shapes_alignment_and_padding(latent_store: Path) -> None:
    dataset = SequenceDataset(latent_store, seq_len=10, ram_budget_bytes=10**6, seed=0)
    assert len(dataset) == 1 + 2 + 3
    windows = _windows(latent_store, sample_latents=False)
    assert len(windows) == 6
    for w in windows:
        assert w["z"].shape == w["z_next"].shape == (10, 8)
        assert w["actions"].shape == (10, 2)
        for key in ("rewards", "terminated", "mask"):
            assert w[key].shape == (10,) and w[key].dtype == torch.float32
        real = w["mask"].bool()
        # mu[t, 0] = t and rewards[t] = t: z, reward and z_next line up step by step
        torch.testing.assert_close(w["z"][real, 0], w["rewards"][real])
        torch.testing.assert_close(w["z_next"][real, 0], w["rewards"][real] + 1)
    short = [w for w in windows if w["mask"].sum() < 10]
    assert len(short) == 1  # the 5-step episode, padded rather than dropped
    assert short[0]["mask"].tolist() == [1.0] * 5 + [0.0] * 5
    assert short[0]["terminated"][4] == 1 and short[0]["z"][5:].abs().sum() == 0


def test_sampled_latents_are_seeded_and_consistent(latent_store: Path) -> None:
    a, b = _windows(latent_store), _windows(latent_store)
    for wa, wb in zip(a, b, strict=True):
        torch.testing.assert_close(wa["z"], wb["z"])
        # z_next is the next step's sample, not a fresh one
        torch.testing.assert_close(wa["z"][1:][wa["mask"][1:].bool()],
                                   wa["z_next"][:-1][wa["mask"][1:].bool()])
    mean = _windows(latent_store, sample_latents=False)
    assert not torch.allclose(a[0]["z"], mean[0]["z"])


def test_sequence_windows_split_across_workers(latent_store: Path) -> None:
    windows = _windows(latent_store, workers=2, sample_latents=False)
    starts = sorted((int(w["mask"].sum()), float(w["rewards"][0])) for w in windows)
    assert len(starts) == 6 and starts[0] == (5, 0.0)
