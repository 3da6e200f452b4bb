"""The mdnrnn stage on a tiny latent store: outputs, learning, resume, input checks."""

from pathlib import Path

import numpy as np
import pytest
import torch

from dreamlab.config import WorldModelConfig
from dreamlab.data import EpisodeStore, make_latent_episode
from dreamlab.envs import ActionSpec, EnvInfo
from dreamlab.errors import StageInputError
from dreamlab.models.mdnrnn import MDNRNN
from dreamlab.runtime.device import setup_device, torch_threads
from dreamlab.runtime.logger import RunLogger
from dreamlab.worldmodels.context import RunPaths, StageContext
from dreamlab.worldmodels.train_mdnrnn import run_train_mdnrnn

Z = 4


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def make_ctx(root: Path, actions: int = 2, logs: bool = False, **cfg) -> StageContext:
    values = dict(mdnrnn_epochs=1, mdnrnn_hidden=32, mdnrnn_gaussians=3, mdnrnn_seq_len=8,
                  mdnrnn_batch=4, mdnrnn_lr=3e-3, data_ram_gb=0.01)
    values.update(cfg)
    info = EnvInfo("Toy-v0", "state", (Z,), ActionSpec("discrete", actions), None,
                   np.full(Z, -1, np.float32), np.full(Z, 1, np.float32))
    return StageContext(cfg=WorldModelConfig(**values), paths=RunPaths(root),
                        logger=RunLogger(root / "logs", enabled=logs),
                        device=setup_device("cpu", num_threads=1), env_info=info)


def write_latents(root: Path, episodes: int = 12) -> None:
    """Linear dynamics pushed by the action; reward = z[0]; done at the episode's end."""
    rng = np.random.default_rng(0)
    store = EpisodeStore(root / "latents", create=True)
    for _ in range(episodes):
        steps = int(rng.integers(5, 20))
        a = rng.integers(0, 2, steps)
        z = np.zeros((steps + 1, Z), np.float32)
        z[0] = rng.uniform(-0.5, 0.5, Z)
        for t in range(steps):
            z[t + 1] = 0.9 * z[t] + 0.2 * (a[t] - 0.5) + 0.01 * rng.standard_normal(Z)
        store.append(make_latent_episode(z, np.full_like(z, -8.0), np.eye(2)[a], z[:-1, 0],
                                         np.arange(steps) == steps - 1))


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def test_writes_a_loadable_model_that_learns(tmp_path: Path) -> None:
    write_latents(tmp_path)
    ctx = make_ctx(tmp_path, logs=True, mdnrnn_epochs=6)
    metrics = run_train_mdnrnn(ctx)
    ctx.logger.close()
    model = MDNRNN.from_checkpoint(torch.load(ctx.paths.mdnrnn, weights_only=True))
    assert (model.z_dim, model.action_dim, model.hidden, model.n_gaussians) == (Z, 2, 32, 3)
    assert {"final_loss", "nll", "reward_mse", "done_bce", "epochs"} <= metrics.keys()
    assert metrics["epochs"] == 6
    history = torch.load(ctx.paths.snapshot("mdnrnn"), weights_only=True)["progress"]["history"]
    assert history[-1]["loss"] < history[0]["loss"] - 0.5
    assert (ctx.paths.plots / "mdnrnn_loss.png").exists()
    csv = (ctx.paths.logs / "metrics.csv").read_text()
    for tag in ("mdnrnn/loss", "mdnrnn/nll", "mdnrnn/reward_mse", "mdnrnn/done_bce"):
        assert tag in csv


def test_resume_after_an_epoch_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    write_latents(tmp_path / "whole")
    run_train_mdnrnn(make_ctx(tmp_path / "whole", mdnrnn_epochs=2))
    write_latents(tmp_path / "cut")
    run_train_mdnrnn(make_ctx(tmp_path / "cut", mdnrnn_epochs=1))
    assert run_train_mdnrnn(make_ctx(tmp_path / "cut", mdnrnn_epochs=2))["epochs"] == 2
    a, b = weights(tmp_path / "whole" / "mdnrnn.pt"), weights(tmp_path / "cut" / "mdnrnn.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_missing_latents_name_the_encode_stage(tmp_path: Path) -> None:
    with pytest.raises(StageInputError) as info:
        run_train_mdnrnn(make_ctx(tmp_path))
    assert "encode" in info.value.hint


def test_latents_of_another_action_space_are_refused(tmp_path: Path) -> None:
    write_latents(tmp_path)
    with pytest.raises(StageInputError, match="actions"):
        run_train_mdnrnn(make_ctx(tmp_path, actions=3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_trains_on_cuda_with_amp(tmp_path: Path) -> None:
    write_latents(tmp_path)
    ctx = make_ctx(tmp_path, mdnrnn_epochs=2)
    ctx.device = setup_device("cuda", amp=True, tf32=True, num_threads=1)
    metrics = run_train_mdnrnn(ctx)
    assert np.isfinite(metrics["final_loss"]) and metrics["epochs"] == 2
    assert MDNRNN.from_checkpoint(torch.load(ctx.paths.mdnrnn, weights_only=True))
