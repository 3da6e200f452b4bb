"""The epoch loop V and M share: batches, gradient accumulation, snapshots, logging.

A stage gives the loop its model, optimiser, a `loss(batch) -> {metric: tensor}` with the
math (train_vae.py and train_mdnrnn.py keep theirs on one screen) and a loader per epoch;
the loop does the rest the same way for both (issue 10: they were two ~120-line copies).

Resume: a snapshot (model, optimiser, scaler, RNG state, progress within the epoch) goes to
snapshots/<stage>.pt after every epoch and every `ctx.snapshot_every_s` seconds. The
order of an epoch's batches depends only on (seed, epoch, --loader-workers), so resuming
from a snapshot, at an epoch boundary or mid-epoch, skips what was trained on and gives
the weights of an uninterrupted run (bit for bit on one machine, while the batch size is
unchanged: a CUDA OOM that halved it breaks only that promise). A snapshot made from other
data, seed or hyperparameters is ignored, not resumed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

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


@dataclass
class EpochLoop:
    """What differs between V and M; everything else is `train_epochs`."""

    name: str  # "vae" or "mdnrnn": the snapshot name and the TensorBoard prefix
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    metrics: tuple[str, ...]  # first one is the loss that is minimised
    loss: Callable[[Any], dict[str, torch.Tensor]]  # one batch -> metrics (on the device)
    loader: Callable[[int, int], tuple[Any, Any]]  # (epoch, batch) -> (dataset, loader)
    batch_len: Callable[[Any], int]  # items in one batch (frames, windows)
    epochs: int
    batch: int
    accum: int  # micro-batches per optimiser step
    fingerprint: dict[str, Any]
    clip_norm: float | None = None  # gradient clipping (M: the paper's code clips)
    record_curve: bool = False  # keep (step, loss) per batch for a plot
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None


@dataclass
class LoopResult:
    progress: dict[str, Any]
    trained_items: int  # in this call: fewer than epochs x items after a resume
    train_seconds: float  # excluding snapshot writes

    @property
    def last_means(self) -> dict[str, float]:
        history = self.progress["history"]
        return history[-1] if history else {}


def _zero_sums(metrics: tuple[str, ...]) -> dict[str, float]:
    return {**dict.fromkeys(metrics, 0.0), "n": 0}


def means(sums: Mapping[str, float], metrics: tuple[str, ...]) -> dict[str, float]:
    n = max(1, sums["n"])
    return {k: float(sums[k]) / n for k in metrics}


def _optimizer_step(loop: EpochLoop) -> None:
    if loop.clip_norm is not None:
        loop.scaler.unscale_(loop.optimizer)  # clip the true gradients, not fp16-scaled
        torch.nn.utils.clip_grad_norm_(loop.model.parameters(), loop.clip_norm)
    loop.scaler.step(loop.optimizer)
    loop.scaler.update()
    loop.optimizer.zero_grad(set_to_none=True)


def train_epochs(ctx: StageContext, loop: EpochLoop) -> LoopResult:
    """Train `loop.model` for `loop.epochs` epochs, resuming from the stage's snapshot."""
    metrics = loop.metrics
    snap_path = ctx.paths.snapshot(loop.name)
    progress: dict[str, Any] = {"epoch": 0, "batches_in_epoch": 0, "frames_in_epoch": 0,
                                "batch": loop.batch, "step": 0, "history": [],
                                "sums": _zero_sums(metrics)}
    if loop.record_curve:
        progress["curve"] = []
    snap = load_snapshot(snap_path, loop.fingerprint, max_epoch=loop.epochs)
    if snap is not None:
        loop.model.load_state_dict(snap["model"])
        loop.optimizer.load_state_dict(snap["optimizer"])
        if snap.get("scaler"):
            loop.scaler.load_state_dict(snap["scaler"])
        restore_rng(snap["rng"])
        progress = snap["progress"]
        log.info("%s: resuming from its snapshot at epoch %d (+%d items)", loop.name,
                 progress["epoch"] + 1, progress["frames_in_epoch"])

    def save() -> None:
        save_snapshot(snap_path, loop.fingerprint, {
            "model": loop.model.state_dict(), "optimizer": loop.optimizer.state_dict(),
            "scaler": loop.scaler.state_dict(), "rng": capture_rng(), "progress": progress,
        })

    def log_means(sums: Mapping[str, float]) -> None:
        for key, value in means(sums, metrics).items():
            ctx.logger.scalar(f"{loop.name}/{key}", value, progress["step"])

    trained, train_seconds = 0, 0.0
    while progress["epoch"] < loop.epochs:
        epoch = progress["epoch"]
        dataset, loader = loop.loader(epoch, loop.batch)
        skip = batches_done(progress, loop.batch)
        progress["batch"] = loop.batch
        sums, window = progress["sums"], _zero_sums(metrics)
        loop.model.train()
        last_snap = t0 = time.monotonic()
        pending = 0  # micro-batches accumulated since the last optimiser step
        with ProgressBar(f"{loop.name} epoch {epoch + 1}/{loop.epochs}",
                         total=len(dataset)) as bar:
            for i, item in enumerate(loader):
                n = loop.batch_len(item)
                if i < skip:  # trained on before the snapshot this run resumed from
                    bar.advance(n)
                    continue
                losses = loop.loss(item)
                loop.scaler.scale(losses[metrics[0]] / loop.accum).backward()
                pending += 1
                if pending == loop.accum:
                    _optimizer_step(loop)
                    pending = 0
                    progress["step"] += 1
                # one device sync per batch for all the numbers, not one each
                values = dict(zip(metrics, torch.stack([losses[k] for k in metrics]).tolist(),
                                  strict=True))
                for acc in (sums, window):
                    for k in metrics:
                        acc[k] += values[k] * n
                    acc["n"] += n
                progress["frames_in_epoch"] += n
                progress["batches_in_epoch"] = i + 1
                if loop.record_curve:
                    progress["curve"].append((progress["step"], values[metrics[0]]))
                trained += n
                bar.advance(n, loss=values[metrics[0]])
                if pending == 0 and progress["step"] % LOG_EVERY_STEPS == 0 and window["n"]:
                    log_means(window)
                    window = _zero_sums(metrics)
                if pending == 0 and time.monotonic() - last_snap >= ctx.snapshot_every_s:
                    train_seconds += time.monotonic() - t0
                    save()
                    last_snap = t0 = time.monotonic()
        if pending:  # a last, partial accumulation at the end of the epoch
            _optimizer_step(loop)
            progress["step"] += 1
        train_seconds += time.monotonic() - t0
        if window["n"]:
            log_means(window)
        epoch_means = means(sums, metrics)
        progress["history"].append(epoch_means)
        progress.update(epoch=epoch + 1, batches_in_epoch=0, frames_in_epoch=0,
                        sums=_zero_sums(metrics))
        save()
        if loop.on_epoch_end is not None:
            loop.on_epoch_end(epoch + 1, epoch_means)
    return LoopResult(progress, trained, train_seconds)
