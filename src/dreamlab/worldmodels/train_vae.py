"""Stage 2, vae: train V, the ConvVAE, on the collected frames (paper section 2.1, A.1).

Reads raw_data/ (frames at model size), writes vae.pt. Frames stream from the episode
store through FrameDataset, so RAM stays within --data-ram-gb however much was collected.

The math is `loss` in `_train` (vae_loss in models/vae.py); the epoch loop, snapshots and
resume are shared with M (epochs.py). A stage that is killed continues from its snapshot,
and resuming gives the weights of an uninterrupted run. The snapshot is kept after the
stage finishes, so a later run with more --vae-epochs trains on from it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamlab.data import EpisodeStore, FrameDataset, make_loader
from dreamlab.errors import StageInputError
from dreamlab.models.vae import ConvVAE, vae_loss
from dreamlab.runtime.atomic import atomic_save_figure, atomic_torch_save
from dreamlab.runtime.device import run_with_oom_fallback
from dreamlab.worldmodels.context import StageContext
from dreamlab.worldmodels.epochs import EpochLoop, train_epochs

log = logging.getLogger("dreamlab")

METRICS = ("loss", "recon", "kl")
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
    """V's model and update; the loop around them is shared with M (epochs.py). Called
    again with half the batch after a CUDA OOM."""
    cfg, dev = ctx.cfg, ctx.device
    device = dev.device
    # a smaller batch after an OOM keeps the optimiser's effective batch by accumulating more
    accum = cfg.grad_accum_steps * max(1, cfg.vae_batch // batch)
    fingerprint = {  # the stage table's config row, plus what the data and model are
        "stage": "vae", "iteration": ctx.iteration, **ctx.stage_fingerprint("vae"),
        "episodes": len(store), "steps": store.num_steps, "img_size": cfg.vae_img_size,
        "z_dim": cfg.z_dim,
    }
    torch.manual_seed(ctx.seed("vae", "init"))
    model = ConvVAE(img_size=cfg.vae_img_size, z_dim=cfg.z_dim).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.vae_lr)
    torch.manual_seed(ctx.seed("vae", "noise"))  # the reparameterisation noise

    def loss(frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """Paper A.1: reconstruction L2 plus KL to N(0, I) with free bits."""
        x = frames.to(device, non_blocking=True).float().div_(255.0)
        with dev.autocast():
            recon, mu, logvar = model(x)
        total, recon_loss, kl = vae_loss(recon, x, mu, logvar, cfg.kl_tolerance,
                                         cfg.kl_weight)
        return {"loss": total, "recon": recon_loss, "kl": kl}

    ram_bytes = int(cfg.data_ram_gb * 2**30)

    def loader(epoch: int, batch_: int) -> tuple[Any, Any]:
        dataset = FrameDataset(ctx.paths.raw_data, ram_bytes, seed=ctx.seed("vae", "data"),
                               epoch=epoch)
        return dataset, make_loader(dataset, batch_, cfg.loader_workers,
                                    seed=ctx.seed("vae", epoch))

    preview = _preview_frames(store)

    def on_epoch_end(epoch: int, m: dict[str, float]) -> None:
        _log_reconstructions(ctx, model, preview, epoch)
        log.info("vae: epoch %d/%d loss %.2f (recon %.2f, kl %.2f)", epoch, cfg.vae_epochs,
                 m["loss"], m["recon"], m["kl"])

    result = train_epochs(ctx, EpochLoop(
        name="vae", model=model, optimizer=optimizer, scaler=dev.grad_scaler(),
        metrics=METRICS, loss=loss, loader=loader, batch_len=len, epochs=cfg.vae_epochs,
        batch=batch, accum=accum, fingerprint=fingerprint, on_epoch_end=on_epoch_end))

    progress = result.progress
    _log_reconstructions(ctx, model, preview, progress["epoch"], plot=True)
    checkpoint = model.to_checkpoint()
    checkpoint["trained"] = {"epochs": progress["epoch"], "episodes": len(store)}
    atomic_torch_save(ctx.paths.vae, checkpoint)
    last = result.last_means or dict.fromkeys(METRICS, 0.0)
    seconds = result.train_seconds
    images_per_s = result.trained_items / seconds if seconds > 0 else 0.0
    if result.trained_items:
        ctx.logger.scalar("vae/images_per_s", images_per_s, progress["step"])
    return {
        "final_loss": last["loss"],
        "recon": last["recon"],
        "kl": last["kl"],
        "epochs": progress["epoch"],
        "images_per_s": round(images_per_s, 1),
        "frames_trained": result.trained_items,  # in this call: fewer on a resume
        "batch": batch,
    }


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
