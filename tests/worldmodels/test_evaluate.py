"""Stage `eval`: evaluation_results.json with real and dream scores, and videos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dreamlab.config import WorldModelConfig
from dreamlab.data import EpisodeStore, make_latent_episode
from dreamlab.envs import env_info
from dreamlab.errors import StageInputError
from dreamlab.models.controller import ControllerSpec
from dreamlab.models.mdnrnn import MDNRNN
from dreamlab.models.vae import ConvVAE
from dreamlab.runtime.atomic import atomic_torch_save
from dreamlab.runtime.device import setup_device
from dreamlab.runtime.logger import RunLogger
from dreamlab.worldmodels.agent import save_controller
from dreamlab.worldmodels.context import RunPaths, StageContext
from dreamlab.worldmodels.evaluate import run_evaluate

KEYS = ("env_id", "episodes", "mean_return", "std_return", "returns", "dream_mean_return",
        "dream_std_return", "dream_to_real_gap", "controller_generation", "seconds")


def _run(root: Path, obs: str, z: int, **cfg) -> StageContext:
    """A run dir with untrained tiny V (pixels) and M, latents, and a saved controller."""
    img = 32
    info = env_info("CartPole-v1", obs=obs, img_size=img)
    paths = RunPaths(root)
    torch.manual_seed(0)
    atomic_torch_save(paths.mdnrnn, MDNRNN(z, 2, hidden=4, n_gaussians=2).to_checkpoint())
    if obs == "pixels":
        atomic_torch_save(paths.vae, ConvVAE(img, z, channels=(8, 8, 8)).to_checkpoint())
    store = EpisodeStore(paths.latents, create=True)
    for t in (6, 9):
        store.append(make_latent_episode(np.zeros((t + 1, z)), np.full((t + 1, z), -3.0),
                                         np.eye(2)[[0] * t], np.ones(t), np.arange(t) == t - 1))
    spec = ControllerSpec(z + 4, "discrete", 2)
    save_controller(paths.controller, torch.randn(spec.num_params), spec, fitness=3.0,
                    generation=4)
    base = dict(env="CartPole-v1", obs=obs, vae_img_size=img, eval_episodes=3,
                collect_workers=1, dream_max_steps=30, seed=1)
    base.update(cfg)
    return StageContext(cfg=WorldModelConfig(**base), paths=paths,
                        logger=RunLogger(paths.logs, enabled=False),
                        device=setup_device("cpu", num_threads=1), env_info=info)


def test_state_env_results(tmp_path: Path) -> None:
    ctx = _run(tmp_path, "state", 4)
    m = run_evaluate(ctx)
    res = json.loads(ctx.paths.evaluation.read_text())
    for key in KEYS:
        assert key in res
    assert res["episodes"] == 3 and len(res["returns"]) == 3
    assert res["mean_return"] == pytest.approx(np.mean(res["returns"]))
    assert res["controller_generation"] == 4
    assert 0 < res["dream_mean_return"] <= 30  # CartPole reward is +1 a step: step count
    assert res["dream_to_real_gap"] == pytest.approx(res["dream_mean_return"] - m["mean_return"])
    again = json.loads((run_evaluate(ctx), ctx.paths.evaluation.read_text())[1])
    assert again["returns"] == res["returns"]  # same seed, same episodes


def test_pixel_env_writes_real_and_dream_videos(tmp_path: Path) -> None:
    ctx = _run(tmp_path, "pixels", 4, save_videos=True, eval_episodes=2)
    run_evaluate(ctx)
    res = json.loads(ctx.paths.evaluation.read_text())
    assert res["videos"] == ["real_episode.mp4", "dream_episode.mp4"]
    for name in res["videos"]:
        assert (ctx.paths.videos / name).stat().st_size > 500
    assert not list(ctx.paths.videos.glob(".*tmp*"))


def test_missing_controller_names_the_stage(tmp_path: Path) -> None:
    ctx = _run(tmp_path, "state", 4)
    ctx.paths.controller.unlink()
    with pytest.raises(StageInputError, match="controller"):
        run_evaluate(ctx)
