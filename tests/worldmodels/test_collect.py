"""Collect stage: random rollouts into the store, smooth continuous actions, disk refusal."""

from __future__ import annotations

import numpy as np
import pytest

from dreamlab.config import WorldModelConfig
from dreamlab.data import EpisodeStore
from dreamlab.envs import ActionSpec, env_info
from dreamlab.errors import DiskBudgetError
from dreamlab.runtime.device import setup_device
from dreamlab.runtime.logger import RunLogger
from dreamlab.worldmodels.collect import SmoothRandomPolicy, run_collect
from dreamlab.worldmodels.context import RunPaths, StageContext


def _ctx(tmp_path, **over) -> StageContext:
    values = dict(env="CartPole-v1", obs="pixels", vae_img_size=32, num_random_rollouts=4,
                  collect_workers=1, max_episode_steps=40)
    values.update(over)
    cfg = WorldModelConfig(**values)
    info = env_info(cfg.env, obs=cfg.obs, img_size=cfg.vae_img_size,
                    max_episode_steps=cfg.max_episode_steps)
    return StageContext(cfg=cfg, paths=RunPaths(tmp_path), logger=RunLogger(tmp_path / "logs"),
                        device=setup_device("cpu", num_threads=1), env_info=info)


def test_collect_writes_frames_at_model_size(tmp_path) -> None:
    metrics = run_collect(_ctx(tmp_path))
    store = EpisodeStore(tmp_path / "raw_data")
    assert metrics["episodes"] == len(store) == 4
    ep = store.load(0)
    assert ep["obs"].dtype == np.uint8 and ep["obs"].shape[1:] == (32, 32, 3)
    assert len(ep["obs"]) == len(ep["actions"]) + 1
    assert ep["actions"].dtype == np.int64


def test_collection_that_cannot_fit_refuses_before_writing(tmp_path, monkeypatch) -> None:
    import dreamlab.data.budget as budget

    monkeypatch.setattr(budget, "free_disk_bytes", lambda path: 10_000)
    with pytest.raises(DiskBudgetError) as info:
        run_collect(_ctx(tmp_path, num_random_rollouts=50))
    assert "--vae-img-size 32" in str(info.value) or "--num-random-rollouts" in str(info.value)
    assert not (tmp_path / "raw_data").exists()


def test_collection_stops_cleanly_at_max_disk(tmp_path, monkeypatch) -> None:
    # The estimate said it fits (episodes came out longer than the probe); the cap holds.
    import dreamlab.worldmodels.collect as collect

    monkeypatch.setattr(collect, "estimate_collection_bytes", lambda *args: 1)
    metrics = run_collect(_ctx(tmp_path, num_random_rollouts=400, max_disk_gb=0.00003,
                               vae_img_size=32))
    assert metrics["stopped_at_budget"] and 1 <= metrics["episodes"] < 400
    store = EpisodeStore(tmp_path / "raw_data")
    assert store.nbytes_on_disk() <= 30_000 + 4096
    store.verify()


def test_smooth_random_policy_drifts_within_bounds() -> None:
    spec = ActionSpec("continuous", 3, (-1.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    policy = SmoothRandomPolicy(spec, np.random.default_rng(0))
    actions = np.stack([policy() for _ in range(500)])
    assert (actions >= np.array(spec.low)).all() and (actions <= np.array(spec.high)).all()
    step = np.abs(np.diff(actions, axis=0)).mean()
    white = np.abs(np.diff(np.random.default_rng(1).uniform(-1, 1, (500, 3)), axis=0)).mean()
    assert step < white / 3  # smooth, unlike uniform noise
    assert actions[:, 0].std() > 0.2  # but it does explore the steering range


def test_full_disk_mid_collection_fails_then_resumes(tmp_path, monkeypatch) -> None:
    import dreamlab.data.budget as budget
    import dreamlab.worldmodels.collect as collect

    monkeypatch.setattr(collect, "estimate_collection_bytes", lambda *args: 1)
    calls = {"n": 0}
    keep_free = 64 * 1024 * 1024

    def filling_disk(path) -> int:
        calls["n"] += 1
        return keep_free + (10**9 if calls["n"] <= 3 else 10)

    monkeypatch.setattr(budget, "free_disk_bytes", filling_disk)
    with pytest.raises(DiskBudgetError):
        run_collect(_ctx(tmp_path, num_random_rollouts=6))
    stored = len(EpisodeStore(tmp_path / "raw_data"))
    assert 1 <= stored < 6
    monkeypatch.setattr(budget, "free_disk_bytes", lambda path: 10**12)  # space freed
    metrics = run_collect(_ctx(tmp_path, num_random_rollouts=6))
    assert metrics["resumed_from"] == stored and metrics["episodes"] == 6


def test_pixel_collection_stops_at_the_frame_cap_and_resumes_done(tmp_path) -> None:
    """Quick work sized in frames (issue 10, item 7): 40 rollouts asked, ~60 frames kept."""
    metrics = run_collect(_ctx(tmp_path, num_random_rollouts=40, collect_max_frames=60))
    store = EpisodeStore(tmp_path / "raw_data")
    assert 60 <= store.num_steps < 60 + 40 and len(store) < 40
    assert metrics["episodes"] == len(store)
    again = run_collect(_ctx(tmp_path, num_random_rollouts=40, collect_max_frames=60))
    assert again["episodes"] == len(store)  # the cap counts as a finished collection


def test_frame_cap_leaves_state_collection_alone(tmp_path) -> None:
    run_collect(_ctx(tmp_path, obs="state", num_random_rollouts=5, collect_max_frames=10))
    assert len(EpisodeStore(tmp_path / "raw_data")) == 5
