"""Resumable training snapshots shared by the V and M stages.

A snapshot holds the model, optimizer, scaler, RNG states and progress within the epoch,
plus a fingerprint of what it was trained from (data, seed, hyperparameters). It loads
with weights_only=True, and one made for another run is ignored rather than resumed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from dreamlab.runtime.atomic import atomic_torch_save, safe_torch_load

log = logging.getLogger("dreamlab")

SNAPSHOT_FORMAT = "dreamlab.snapshot/1"
SNAPSHOT_EVERY_S = 60.0


def batches_done(progress: Mapping[str, Any], batch: int) -> int:
    """Batches of the current epoch already trained on: exact when the batch size is the
    one the snapshot was made with, else (after a CUDA OOM halved it) the frame count
    rounded down to whole batches of the new size."""
    if progress.get("batch") == batch:
        return int(progress["batches_in_epoch"])
    return int(progress["frames_in_epoch"]) // batch



def capture_rng() -> dict[str, Any]:
    """The torch RNG states that training consumes (CPU, and CUDA when present)."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_snapshot(path: Path, fingerprint: Mapping[str, Any], body: Mapping[str, Any]) -> None:
    """Write a resumable training snapshot atomically (weights_only-loadable)."""
    atomic_torch_save(path, {"format": SNAPSHOT_FORMAT, "fingerprint": dict(fingerprint),
                             **body})


def load_snapshot(path: Path, fingerprint: Mapping[str, Any],
                  max_epoch: int) -> dict[str, Any] | None:
    """The snapshot at `path` if it belongs to this training run, else None.

    A snapshot made from other data, seed or hyperparameters, or one already past the
    epochs now asked for, is ignored (and later overwritten): resuming it would silently
    train a different model than the one the config describes.
    """
    if not path.exists():
        return None
    try:
        snap = safe_torch_load(path)
    except Exception as exc:  # noqa: BLE001 - a bad snapshot only costs the progress in it
        log.warning("%s is unreadable (%s); starting the stage from scratch", path.name, exc)
        return None
    if not isinstance(snap, dict) or snap.get("format") != SNAPSHOT_FORMAT:
        log.warning("%s is not a dreamlab snapshot; starting from scratch", path.name)
        return None
    old = snap.get("fingerprint", {})
    diffs = [k for k in set(old) | set(fingerprint) if old.get(k) != fingerprint.get(k)]
    if diffs:
        log.info("%s was made with other %s; starting from scratch", path.name,
                 ", ".join(sorted(diffs)))
        return None
    if snap["progress"]["epoch"] > max_epoch:
        log.info("%s is past epoch %d; starting from scratch", path.name, max_epoch)
        return None
    return snap
