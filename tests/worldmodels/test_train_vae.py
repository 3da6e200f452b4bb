"""The vae stage on tiny data: outputs, skip for state envs, determinism and resume."""

from pathlib import Path

import numpy as np
import pytest
import torch

from dreamlab.config import WorldModelConfig
from dreamlab.data import EpisodeStore
from dreamlab.envs import ActionSpec, EnvInfo
from dreamlab.errors import StageInputError
from dreamlab.models.vae import ConvVAE
from dreamlab.runtime.device import setup_device, torch_threads
from dreamlab.runtime.logger import RunLogger
from dreamlab.worldmodels import epochs
from dreamlab.worldmodels.context import RunPaths, StageContext
from dreamlab.worldmodels.train_vae import run_train_vae

IMG = 32


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def make_ctx(root: Path, obs: str = "pixels", logs: bool = False, **cfg) -> StageContext:
    values = dict(vae_img_size=IMG, z_dim=8, vae_epochs=1, vae_batch=16, data_ram_gb=0.01)
    values.update(cfg)
    info = EnvInfo("Toy-v0", obs, (IMG, IMG, 3) if obs == "pixels" else (4,),
                   ActionSpec("discrete", 2), None,
                   np.full(4, -1, np.float32), np.full(4, 1, np.float32))
    return StageContext(cfg=WorldModelConfig(**values), paths=RunPaths(root),
                        logger=RunLogger(root / "logs", enabled=logs),
                        device=setup_device("cpu", num_threads=1), env_info=info)


def write_raw(root: Path, episodes: int = 6, steps: int = 9, seed: int = 0) -> None:
    """Episodes of a square drifting across a dark frame."""
    rng = np.random.default_rng(seed)
    store = EpisodeStore(root / "raw_data", create=True)
    for _ in range(episodes):
        frames = np.full((steps + 1, IMG, IMG, 3), 20, np.uint8)
        r, c = rng.integers(0, IMG - 8, 2)
        for t in range(steps + 1):
            frames[t, r : r + 8, (c + t) % (IMG - 8) : (c + t) % (IMG - 8) + 8] = (230, 160, 40)
        store.append({"obs": frames, "actions": rng.integers(0, 2, steps),
                      "rewards": np.ones(steps, np.float32),
                      "terminated": np.arange(steps) == steps - 1})


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_writes_a_loadable_vae_plot_and_metrics(tmp_path: Path) -> None:
    write_raw(tmp_path)
    ctx = make_ctx(tmp_path, logs=True)
    metrics = run_train_vae(ctx)
    ctx.logger.close()
    model = ConvVAE.from_checkpoint(torch.load(ctx.paths.vae, weights_only=True))
    assert (model.img_size, model.z_dim) == (IMG, 8)
    assert {"final_loss", "recon", "kl", "epochs", "images_per_s"} <= metrics.keys()
    assert metrics["epochs"] == 1 and metrics["images_per_s"] > 0
    assert (ctx.paths.plots / "vae_reconstructions.png").stat().st_size > 1000
    assert ctx.paths.snapshot("vae").exists()
    csv = (ctx.paths.logs / "metrics.csv").read_text()
    assert "vae/loss" in csv and "vae/recon" in csv and "vae/kl" in csv


def test_state_env_skips_without_writing(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, obs="state")
    assert run_train_vae(ctx) == {"skipped": "state env"}
    assert not ctx.paths.vae.exists()


def test_missing_episode_store_names_the_collect_stage(tmp_path: Path) -> None:
    with pytest.raises(StageInputError) as info:
        run_train_vae(make_ctx(tmp_path))
    assert "collect" in info.value.hint


def test_frames_of_another_size_are_refused(tmp_path: Path) -> None:
    write_raw(tmp_path)
    with pytest.raises(StageInputError, match="vae-img-size"):
        run_train_vae(make_ctx(tmp_path, vae_img_size=64))


def test_same_seed_gives_identical_weights(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_raw(tmp_path / name)
        run_train_vae(make_ctx(tmp_path / name))
    assert same_weights(tmp_path / "a" / "vae.pt", tmp_path / "b" / "vae.pt")


def test_resume_after_an_epoch_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    write_raw(tmp_path / "whole")
    run_train_vae(make_ctx(tmp_path / "whole", vae_epochs=2))
    write_raw(tmp_path / "cut")
    run_train_vae(make_ctx(tmp_path / "cut", vae_epochs=1))  # "killed" after epoch 1
    metrics = run_train_vae(make_ctx(tmp_path / "cut", vae_epochs=2))
    assert metrics["epochs"] == 2 and metrics["frames_trained"] == 60  # only epoch 2
    assert same_weights(tmp_path / "whole" / "vae.pt", tmp_path / "cut" / "vae.pt")


def test_resume_mid_epoch_matches_an_uninterrupted_run(tmp_path: Path, monkeypatch) -> None:
    write_raw(tmp_path / "whole")
    run_train_vae(make_ctx(tmp_path / "whole", vae_epochs=2))

    write_raw(tmp_path / "cut")
    ctx = make_ctx(tmp_path / "cut", vae_epochs=2)
    ctx.snapshot_every_s = 0.0  # a snapshot after every optimizer step
    real_save = epochs.save_snapshot
    calls = []

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        calls.append(1)
        if len(calls) == 7:  # 4 step + 1 epoch snapshots in epoch 1; then 2 batches in
            raise KeyboardInterrupt

    monkeypatch.setattr(epochs, "save_snapshot", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_train_vae(ctx)
    assert not ctx.paths.vae.exists()
    monkeypatch.setattr(epochs, "save_snapshot", real_save)
    metrics = run_train_vae(ctx)
    assert metrics["frames_trained"] == 60 - 2 * 16  # the rest of epoch 2 only
    assert same_weights(tmp_path / "whole" / "vae.pt", ctx.paths.vae)


def test_snapshot_of_other_data_is_not_resumed(tmp_path: Path) -> None:
    write_raw(tmp_path, episodes=4)
    run_train_vae(make_ctx(tmp_path, vae_epochs=1))
    write_raw(tmp_path, episodes=2, seed=1)  # more episodes appended: a different dataset
    fresh = tmp_path / "fresh"
    write_raw(fresh, episodes=4)
    write_raw(fresh, episodes=2, seed=1)
    run_train_vae(make_ctx(tmp_path, vae_epochs=1))
    run_train_vae(make_ctx(fresh, vae_epochs=1))
    assert same_weights(tmp_path / "vae.pt", fresh / "vae.pt")


def test_an_out_of_memory_error_halves_the_batch(tmp_path: Path, monkeypatch) -> None:
    write_raw(tmp_path)
    real_forward = ConvVAE.forward

    def forward_that_fits_8(self, x):
        if x.shape[0] > 8:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_forward(self, x)

    monkeypatch.setattr(ConvVAE, "forward", forward_that_fits_8)
    metrics = run_train_vae(make_ctx(tmp_path, vae_batch=32))
    assert metrics["batch"] == 8 and metrics["frames_trained"] == 60
    assert ConvVAE.from_checkpoint(torch.load(tmp_path / "vae.pt", weights_only=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_trains_on_cuda_with_amp(tmp_path: Path) -> None:
    write_raw(tmp_path)
    ctx = make_ctx(tmp_path, vae_epochs=2)
    ctx.device = setup_device("cuda", amp=True, tf32=True, num_threads=1)
    metrics = run_train_vae(ctx)
    assert np.isfinite(metrics["final_loss"]) and metrics["epochs"] == 2
    model = ConvVAE.from_checkpoint(torch.load(ctx.paths.vae, weights_only=True))
    assert next(model.parameters()).device.type == "cpu"
    snap = torch.load(ctx.paths.snapshot("vae"), weights_only=True)
    assert "cuda" in snap["rng"]
