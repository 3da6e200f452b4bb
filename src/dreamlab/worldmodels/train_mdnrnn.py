"""Stage 4, mdnrnn: train M, the MDN-RNN, on the latent store (paper section 2.2, A.2).

Reads latents/, writes mdnrnn.pt. Each training item is a window of seq_len steps
(SequenceDataset): z_t sampled from V's posterior, the encoded action a_t, and as targets
z_{t+1}, r_t and terminated_t, with a mask over the padding of short episodes. Every
window starts from a zero LSTM state, as in the paper's code.

Snapshots and resume work exactly as for the VAE stage (see train_vae.py): after every
epoch and every `snapshot_every_s` seconds, into snapshots/mdnrnn.pt, and an epoch-boundary
resume reproduces the uninterrupted run's weights.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import torch

from dreamlab.data import EpisodeStore, SequenceDataset, make_loader
from dreamlab.errors import StageInputError
from dreamlab.models.mdnrnn import MDNRNN, mdn_loss
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

GRAD_CLIP_NORM = 1.0  # the paper's code clips M's gradients; LSTMs need it early on
METRICS = ("loss", "nll", "reward_mse", "done_bce")
LOG_EVERY_STEPS = 10


def run_train_mdnrnn(ctx: StageContext) -> dict[str, Any]:
    """Train M on latents/ and write mdnrnn.pt; returns the stage's metrics."""
    store = ctx.open_store(ctx.paths.latents, "encode", "latent store")
    action_dim = ctx.env_info.action.input_dim
    stored_dim = store.key_spec(0, "actions")["shape"][1]
    if stored_dim != action_dim:
        raise StageInputError(
            f"latents hold {stored_dim}-d actions, but {ctx.env_info.env_id} has "
            f"{action_dim}-d encoded actions",
            "re-run `--stage encode` for this env",
        )
    return run_with_oom_fallback(
        lambda batch, _device: _train(ctx, store, batch), ctx.cfg.mdnrnn_batch, ctx.device
    )


def _train(ctx: StageContext, store: EpisodeStore, batch: int) -> dict[str, Any]:
    """The training loop; called again with half the batch after a CUDA OOM."""
    cfg, dev = ctx.cfg, ctx.device
    device = dev.device
    z_dim = int(store.key_spec(0, "mu")["shape"][1])
    action_dim = ctx.env_info.action.input_dim
    accum = cfg.grad_accum_steps * max(1, cfg.mdnrnn_batch // batch)
    fingerprint = {
        "stage": "mdnrnn", "seed": cfg.seed, "iteration": ctx.iteration,
        "episodes": len(store), "steps": store.num_steps, "z_dim": z_dim,
        "action_dim": action_dim, "hidden": cfg.mdnrnn_hidden,
        "gaussians": cfg.mdnrnn_gaussians, "seq_len": cfg.mdnrnn_seq_len,
        "mdnrnn_batch": cfg.mdnrnn_batch, "mdnrnn_lr": cfg.mdnrnn_lr,
        "grad_accum_steps": cfg.grad_accum_steps, "done_pos_weight": cfg.done_pos_weight,
        "sample_z": cfg.mdnrnn_sample_z,
    }
    torch.manual_seed(ctx.seed("mdnrnn", "init"))
    model = MDNRNN(z_dim, action_dim, cfg.mdnrnn_hidden, cfg.mdnrnn_gaussians).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.mdnrnn_lr)
    scaler = dev.grad_scaler()

    snap_path = ctx.paths.snapshot("mdnrnn")
    progress: dict[str, Any] = {"epoch": 0, "batches_in_epoch": 0, "frames_in_epoch": 0,
                                "batch": batch, "step": 0, "history": [], "curve": [],
                                "sums": _zero_sums()}
    snap = load_snapshot(snap_path, fingerprint, max_epoch=cfg.mdnrnn_epochs)
    if snap is not None:
        model.load_state_dict(snap["model"])
        optimizer.load_state_dict(snap["optimizer"])
        if snap.get("scaler"):
            scaler.load_state_dict(snap["scaler"])
        restore_rng(snap["rng"])
        progress = snap["progress"]
        log.info("mdnrnn: resuming from its snapshot at epoch %d", progress["epoch"] + 1)

    def save() -> None:
        save_snapshot(snap_path, fingerprint, {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(), "rng": capture_rng(), "progress": progress,
        })

    ram_bytes = int(cfg.data_ram_gb * 2**30)
    snapshot_every_s = ctx.snapshot_every_s
    while progress["epoch"] < cfg.mdnrnn_epochs:
        epoch = progress["epoch"]
        dataset = SequenceDataset(ctx.paths.latents, cfg.mdnrnn_seq_len, ram_bytes,
                                  seed=ctx.seed("mdnrnn", "data"), epoch=epoch,
                                  sample_latents=cfg.mdnrnn_sample_z)
        loader = make_loader(dataset, batch, cfg.loader_workers,
                             seed=ctx.seed("mdnrnn", epoch))
        skip = batches_done(progress, batch)
        progress["batch"] = batch
        sums, window = progress["sums"], _zero_sums()
        model.train()
        last_snap = time.monotonic()
        pending = 0
        with ProgressBar(f"mdnrnn epoch {epoch + 1}/{cfg.mdnrnn_epochs}",
                         total=len(dataset)) as bar:
            for i, item in enumerate(loader):
                n = len(item["z"])
                if i < skip:
                    bar.advance(n)
                    continue
                item = {k: v.to(device, non_blocking=True) for k, v in item.items()}
                with dev.autocast():
                    out, _ = model(item["z"], item["actions"])
                losses = mdn_loss(out, item["z_next"], item["rewards"], item["terminated"],
                                  item["mask"], cfg.done_pos_weight)
                scaler.scale(losses["loss"] / accum).backward()
                pending += 1
                if pending == accum:
                    _optimizer_step(model, optimizer, scaler)
                    pending = 0
                    progress["step"] += 1
                # one device sync per batch for the four numbers, not four
                values = dict(zip(METRICS, torch.stack([losses[k] for k in METRICS]).tolist(),
                                  strict=True))
                for acc in (sums, window):
                    for k in METRICS:
                        acc[k] += values[k] * n
                    acc["n"] += n
                progress["frames_in_epoch"] += n  # windows, here
                progress["batches_in_epoch"] = i + 1
                progress["curve"].append((progress["step"], values["loss"]))
                bar.advance(n, loss=values["loss"])
                if pending == 0 and progress["step"] % LOG_EVERY_STEPS == 0 and window["n"]:
                    _log_means(ctx, window, progress["step"])
                    window = _zero_sums()
                if pending == 0 and time.monotonic() - last_snap >= snapshot_every_s:
                    save()
                    last_snap = time.monotonic()
        if pending:
            _optimizer_step(model, optimizer, scaler)
            progress["step"] += 1
        if window["n"]:
            _log_means(ctx, window, progress["step"])
        means = _means(sums)
        progress["history"].append(means)
        progress.update(epoch=epoch + 1, batches_in_epoch=0, frames_in_epoch=0,
                        sums=_zero_sums())
        save()
        log.info("mdnrnn: epoch %d/%d loss %.4f (nll %.4f, reward %.4f, done %.4f)",
                 epoch + 1, cfg.mdnrnn_epochs, means["loss"], means["nll"],
                 means["reward_mse"], means["done_bce"])

    checkpoint = model.to_checkpoint()
    checkpoint["trained"] = {"epochs": progress["epoch"], "episodes": len(store)}
    atomic_torch_save(ctx.paths.mdnrnn, checkpoint)
    if progress["curve"]:
        _plot_loss(ctx, progress["curve"])
    last = progress["history"][-1] if progress["history"] else _means(_zero_sums())
    return {**{("final_loss" if k == "loss" else k): last[k] for k in METRICS},
            "epochs": progress["epoch"], "batch": batch}


def _optimizer_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    scaler: torch.amp.GradScaler) -> None:
    scaler.unscale_(optimizer)  # clip the true gradients, not the fp16-scaled ones
    torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP_NORM)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)


def _zero_sums() -> dict[str, float]:
    return {**dict.fromkeys(METRICS, 0.0), "n": 0}


def _means(sums: Mapping[str, float]) -> dict[str, float]:
    n = max(1, sums["n"])
    return {k: float(sums[k]) / n for k in METRICS}


def _log_means(ctx: StageContext, sums: Mapping[str, float], step: int) -> None:
    for key, value in _means(sums).items():
        ctx.logger.scalar(f"mdnrnn/{key}", value, step)


def _plot_loss(ctx: StageContext, curve: list[tuple[int, float]]) -> None:
    """plots/mdnrnn_loss.png: M's loss per batch, for a look without TensorBoard."""
    from dreamlab.report.plots import agg_figure

    fig = agg_figure((6, 3.5))
    ax = fig.add_subplot()
    ax.plot([c[1] for c in curve], linewidth=0.8)
    ax.set_xlabel("batch")
    ax.set_ylabel("loss (nll + reward mse + done bce)")
    ax.set_title("MDN-RNN training loss")
    ax.grid(alpha=0.3)
    atomic_save_figure(ctx.paths.plots / "mdnrnn_loss.png", fig)
