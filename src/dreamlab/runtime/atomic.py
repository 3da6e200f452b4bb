"""Atomic file writes and checksums.

Every file dreamlab writes goes through here: write to a temp file in the same
directory, fsync, then rename over the target. A crash (even SIGKILL) therefore leaves
either the old file or the new one, never half of one (DESIGN.md principle 2).
A full disk surfaces as DiskBudgetError with one clear line.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from dreamlab.errors import CheckpointError, DiskBudgetError


def _disk_full(path: Path, exc: OSError) -> DiskBudgetError:
    return DiskBudgetError(
        f"disk full while writing {path.name}: {exc.strerror}",
        "free some space (or use --max-disk-gb / --vae-img-size 32), then re-run the same "
        "command to resume; files written before this one are intact",
    )


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _disk_full(path, exc) from exc
        raise
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def atomic_torch_save(path: str | Path, obj: Any) -> None:
    """torch.save through a buffer, so a kill mid-save never leaves a truncated .pt."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def atomic_save_figure(path: str | Path, fig: Any, **savefig_kwargs: Any) -> None:
    """Render a matplotlib figure to PNG in memory and write it atomically, so a plot is
    never left half-written by a kill (bbox_inches="tight" unless told otherwise)."""
    buf = io.BytesIO()
    savefig_kwargs.setdefault("bbox_inches", "tight")
    fig.savefig(buf, format="png", **savefig_kwargs)
    atomic_write_bytes(path, buf.getvalue())


def safe_torch_load(path: str | Path, map_location: Any = "cpu") -> Any:
    """Load a checkpoint with weights_only=True; any failure is one CheckpointError line."""
    import torch

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist", "run the stage that writes it")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise CheckpointError(
            f"checkpoint {path.name} is truncated, corrupt or not a dreamlab file "
            f"({type(exc).__name__})",
            "delete it and re-run the stage that writes it",
        ) from exc


def sha256_file(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_bytes):
            h.update(block)
    return h.hexdigest()


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _fsync_dir(directory: Path) -> None:
    """fsync the directory so the rename itself survives a power cut (POSIX only)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
