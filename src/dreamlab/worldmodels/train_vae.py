"""Stage 2, vae: train V, the ConvVAE, on the collected frames (paper section 2.1, A.1).

Reads raw_data/ (frames at model size), writes vae.pt. Frames stream from the episode
store through FrameDataset, so RAM stays within --data-ram-gb however much was collected.

Resume: a snapshot (model, optimizer, epoch, frames done in the epoch, RNG state) goes to
snapshots/vae.pt after every epoch and every `snapshot_every_s` seconds (60 s; a test can
set ctx.snapshot_every_s). A stage that is killed continues from its snapshot.
The frame order of an epoch depends only on (seed, epoch, --loader-workers), so:
- resuming from an epoch-boundary snapshot gives exactly the weights of a run that was
  never interrupted;
- resuming from a mid-epoch snapshot skips the frames already trained on and is exact as
  well, provided the batch size and --loader-workers are unchanged (a CUDA OOM that halved
  the batch breaks only this bit-for-bit promise, not the training).
The snapshot is kept after the stage finishes, so a later run with more --vae-epochs trains
on from it instead of starting over. One whose data, seed or hyperparameters differ from
this run's is ignored, not resumed.

The snapshot helpers live in runtime/snapshot.py, shared with train_mdnrnn.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamlab.data import EpisodeStore, FrameDataset, make_loader
from dreamlab.errors import StageInputError
from dreamlab.models.vae import ConvVAE, vae_loss
from dreamlab.runtime.atomic import atomic_save_figure, atomic_torch_save
from dreamlab.runtime.device import run_with_oom_fallback
from dreamlab.runtime.progress import ProgressBar
from dreamlab.runtime.snapshot import (
    batches_done,
    capture_rng,
    load_snapshot,
    restore_rng,
    save_snapshot,
)
from dreamlab.worldmodels.context import StageContext

log = logging.getLogger("dreamlab")

LOG_EVERY_STEPS = 10
NUM_PREVIEW = 8  # frames shown in the reconstruction grid


def run_train_vae(ctx: StageContext) -> dict[str, Any]:
    """Train V on raw_data/ and write vae.pt; returns the stage's metrics."""
    if not ctx.uses_vae:
        return {"skipped": "state env"}  # z is the normalised state (DESIGN.md)
    cfg = ctx.cfg
    store = ctx.open_store(ctx.paths.raw_data, "collect", "episode store")
    frame_shape = store.key_spec(0, "obs")["shape"][1:]
    if frame_shape != (cfg.vae_img_size, cfg.vae_img_size, 3):
        raise StageInputError(
            f"raw_data frames are {frame_shape}, but --vae-img-size is {cfg.vae_img_size}",
            "re-run `--stage collect` in a new --checkpoint-dir with this image size",
        )
    return run_with_oom_fallback(
        lambda batch, _device: _train(ctx, store, batch), cfg.vae_batch, ctx.device
    )


def _train(ctx: StageContext, store: EpisodeStore, batch: int) -> dict[str, Any]:
    """The training loop; called again with half the batch after a CUDA OOM."""
    cfg, dev = ctx.cfg, ctx.device
    device = dev.device
    # a smaller batch after an OOM keeps the optimiser's effective batch by accumulating more
    accum = cfg.grad_accum_steps * max(1, cfg.vae_batch // batch)
    fingerprint = {
        "stage": "vae", "seed": cfg.seed, "iteration": ctx.iteration,
        "episodes": len(store), "steps": store.num_steps, "img_size": cfg.vae_img_size,
        "z_dim": cfg.z_dim, "vae_lr": cfg.vae_lr, "vae_batch": cfg.vae_batch,
        "grad_accum_steps": cfg.grad_accum_steps, "kl_tolerance": cfg.kl_tolerance,
        "kl_weight": cfg.kl_weight,
    }
    torch.manual_seed(ctx.seed("vae", "init"))
    model = ConvVAE(img_size=cfg.vae_img_size, z_dim=cfg.z_dim).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.vae_lr)
    scaler = dev.grad_scaler()
    torch.manual_seed(ctx.seed("vae", "noise"))  # the reparameterisation noise

    snap_path = ctx.paths.snapshot("vae")
    progress: dict[str, Any] = {"epoch": 0, "batches_in_epoch": 0, "frames_in_epoch": 0,
                                "batch": batch, "step": 0, "history": [], "sums": _zero_sums()}
    snap = load_snapshot(snap_path, fingerprint, max_epoch=cfg.vae_epochs)
    if snap is not None:
        model.load_state_dict(snap["model"])
        optimizer.load_state_dict(snap["optimizer"])
        if snap.get("scaler"):
            scaler.load_state_dict(snap["scaler"])
        restore_rng(snap["rng"])
        progress = snap["progress"]
        log.info("vae: resuming from its snapshot at epoch %d (+%d frames)",
                 progress["epoch"] + 1, progress["frames_in_epoch"])

    def save(model_: torch.nn.Module) -> None:
        save_snapshot(snap_path, fingerprint, {
            "model": model_.state_dict(), "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(), "rng": capture_rng(), "progress": progress,
        })

    preview = _preview_frames(store)
    ram_bytes = int(cfg.data_ram_gb * 2**30)
    snapshot_every_s = ctx.snapshot_every_s
    trained_frames, train_seconds = 0, 0.0
    while progress["epoch"] < cfg.vae_epochs:
        epoch = progress["epoch"]
        dataset = FrameDataset(ctx.paths.raw_data, ram_bytes, seed=ctx.seed("vae", "data"),
                               epoch=epoch)
        loader = make_loader(dataset, batch, cfg.loader_workers, seed=ctx.seed("vae", epoch))
        skip = batches_done(progress, batch)
        progress["batch"] = batch
        sums = progress["sums"]
        window = _zero_sums()
        model.train()
        last_snap = t0 = time.monotonic()
        pending = 0  # micro-batches accumulated since the last optimizer step
        with ProgressBar(f"vae epoch {epoch + 1}/{cfg.vae_epochs}", total=len(dataset)) as bar:
            for i, frames in enumerate(loader):
                if i < skip:  # trained on before the snapshot this run resumed from
                    bar.advance(len(frames))
                    continue
                x = frames.to(device, non_blocking=True).float().div_(255.0)
                with dev.autocast():
                    recon, mu, logvar = model(x)
                loss, recon_loss, kl = vae_loss(recon, x, mu, logvar, cfg.kl_tolerance,
                                                cfg.kl_weight)
                scaler.scale(loss / accum).backward()
                pending += 1
                if pending == accum:
                    _optimizer_step(optimizer, scaler)
                    pending = 0
                    progress["step"] += 1
                n = len(frames)
                # one device sync per batch for the three numbers, not three
                values = dict(zip(("loss", "recon", "kl"),
                                  torch.stack([loss, recon_loss, kl]).tolist(), strict=True))
                for acc in (sums, window):
                    for key, value in values.items():
                        acc[key] += value * n
                    acc["n"] += n
                progress["frames_in_epoch"] += n
                progress["batches_in_epoch"] = i + 1
                trained_frames += n
                bar.advance(n, loss=values["loss"])
                if pending == 0 and progress["step"] % LOG_EVERY_STEPS == 0 and window["n"]:
                    _log_means(ctx, window, progress["step"])
                    window = _zero_sums()
                if pending == 0 and time.monotonic() - last_snap >= snapshot_every_s:
                    train_seconds += time.monotonic() - t0
                    save(model)
                    last_snap = t0 = time.monotonic()
        if pending:  # a last, partial accumulation at the end of the epoch
            _optimizer_step(optimizer, scaler)
            progress["step"] += 1
        train_seconds += time.monotonic() - t0
        if window["n"]:
            _log_means(ctx, window, progress["step"])
        means = _means(sums)
        progress["history"].append(means)
        progress.update(epoch=epoch + 1, batches_in_epoch=0, frames_in_epoch=0,
                        sums=_zero_sums())
        save(model)
        _log_reconstructions(ctx, model, preview, epoch + 1)
        log.info("vae: epoch %d/%d loss %.2f (recon %.2f, kl %.2f)", epoch + 1,
                 cfg.vae_epochs, means["loss"], means["recon"], means["kl"])

    _log_reconstructions(ctx, model, preview, progress["epoch"], plot=True)
    checkpoint = model.to_checkpoint()
    checkpoint["trained"] = {"epochs": progress["epoch"], "episodes": len(store)}
    atomic_torch_save(ctx.paths.vae, checkpoint)
    last = progress["history"][-1] if progress["history"] else _means(_zero_sums())
    images_per_s = trained_frames / train_seconds if train_seconds > 0 else 0.0
    if trained_frames:
        ctx.logger.scalar("vae/images_per_s", images_per_s, progress["step"])
    return {
        "final_loss": last["loss"],
        "recon": last["recon"],
        "kl": last["kl"],
        "epochs": progress["epoch"],
        "images_per_s": round(images_per_s, 1),
        "frames_trained": trained_frames,  # in this call: less than epochs x frames on resume
        "batch": batch,
    }


def _optimizer_step(optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler) -> None:
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)


def _zero_sums() -> dict[str, float]:
    return {"loss": 0.0, "recon": 0.0, "kl": 0.0, "n": 0}


def _means(sums: Mapping[str, float]) -> dict[str, float]:
    n = max(1, sums["n"])
    return {k: float(v) / n for k, v in sums.items() if k != "n"}


def _log_means(ctx: StageContext, sums: Mapping[str, float], step: int) -> None:
    for key, value in _means(sums).items():
        ctx.logger.scalar(f"vae/{key}", value, step)


def _preview_frames(store: EpisodeStore) -> np.ndarray:
    """NUM_PREVIEW frames spread over the store: the same ones every epoch, so the grids
    in TensorBoard show V learning rather than a change of subject."""
    picks = np.linspace(0, len(store) - 1, NUM_PREVIEW).round().astype(int)
    frames = []
    for j, i in enumerate(picks):
        obs = store.load(int(i), ["obs"])["obs"]
        frames.append(obs[(j * 7 + len(obs) // 2) % len(obs)])
    return np.stack(frames)


@torch.no_grad()
def _log_reconstructions(ctx: StageContext, model: ConvVAE, frames: np.ndarray, epoch: int,
                         plot: bool = False) -> None:
    """Originals over reconstructions (decode(mu): no noise, so no RNG is consumed and
    logging cannot change the training run)."""
    model.eval()
    x = torch.from_numpy(frames).to(ctx.device.device).permute(0, 3, 1, 2).float() / 255.0
    mu, _ = model.encode(x)
    recon = model.decode(mu).float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
    model.train()
    recon_u8 = (recon * 255.0).round().astype(np.uint8)
    grid = np.concatenate([np.concatenate(list(frames), axis=1),
                           np.concatenate(list(recon_u8), axis=1)], axis=0)
    if not plot:
        ctx.logger.images("vae/reconstructions", grid[None], epoch)
        return
    save_image_png(ctx.paths.plots / "vae_reconstructions.png", grid,
                   f"V after {epoch} epoch(s): originals (top), reconstructions (bottom)")


def save_image_png(path: Path, image_hwc: np.ndarray, title: str) -> None:
    """A titled PNG, through matplotlib's object API (no pyplot state, no backend switch)."""
    from dreamlab.report.plots import agg_figure

    h, w = image_hwc.shape[:2]
    fig = agg_figure((max(4.0, w / 40), max(2.0, h / 40) + 0.4))
    ax = fig.add_subplot()
    ax.imshow(image_hwc, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.axis("off")
    atomic_save_figure(path, fig)
