"""Disk budget: estimate before collecting, refuse early, stop cleanly during.

Why: a previous tool wrote 4.34 GB for 50 Pong episodes and died with a full disk before VAE
training began. DESIGN.md principle 3: estimate before (refuse with a clear message and a way
out), enforce during, report after.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from dreamlab.errors import DiskBudgetError

# Random episodes vary in length and in how well their frames compress; a 25% margin on the
# probe keeps a run that was admitted from hitting the budget in the common case.
ESTIMATE_MARGIN = 1.25
# index line + file-system slack per episode file
PER_EPISODE_OVERHEAD_BYTES = 4096

SHRINK_HINT = (
    "shrink the run with --vae-img-size 32 (about 4x fewer bytes per frame) or fewer episodes "
    "via --num-random-rollouts, raise --max-disk-gb, or free disk space"
)


def human_bytes(n: float) -> str:
    """Decimal units, matching --max-disk-gb (1 GB = 1e9 bytes)."""
    n = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def free_disk_bytes(path: str | Path) -> int:
    """Free bytes on the file system that holds `path` (or its nearest existing parent).

    Tests monkeypatch this to simulate a small disk.
    """
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def estimate_collection_bytes(
    probe_episode_bytes: int,
    probe_steps: int,
    expected_steps_per_episode: float,
    num_episodes: int,
) -> int:
    """Bytes a collection of `num_episodes` will take, scaled from one probe episode."""
    if probe_steps <= 0:
        raise ValueError("the probe episode must have at least one step")
    per_step = probe_episode_bytes / probe_steps
    per_episode = per_step * expected_steps_per_episode * ESTIMATE_MARGIN
    return int(math.ceil(num_episodes * (per_episode + PER_EPISODE_OVERHEAD_BYTES)))


def _max_bytes(max_disk_gb: float | None) -> int | None:
    """--max-disk-gb of None or <= 0 means no cap beyond the free space."""
    if max_disk_gb is None or max_disk_gb <= 0:
        return None
    return int(max_disk_gb * 1e9)


def check_disk_budget(path: str | Path, needed_bytes: int, max_disk_gb: float | None) -> None:
    """Refuse, before anything is written, a run that would not fit the disk or the cap."""
    free = free_disk_bytes(path)
    cap = _max_bytes(max_disk_gb)
    if needed_bytes > free:
        raise DiskBudgetError(
            f"collection needs about {human_bytes(needed_bytes)} but only {human_bytes(free)} "
            f"is free at {path}",
            SHRINK_HINT,
        )
    if cap is not None and needed_bytes > cap:
        raise DiskBudgetError(
            f"collection needs about {human_bytes(needed_bytes)}, more than --max-disk-gb "
            f"{max_disk_gb:g} ({human_bytes(free)} free at {path})",
            SHRINK_HINT,
        )


class DiskBudget:
    """Bytes written so far against a cap and the disk's free space.

    A collector asks `would_exceed(next_bytes)` (or lets `EpisodeStore.append(budget=...)`
    ask) before each episode and stops cleanly when the answer is yes.
    """

    def __init__(
        self,
        max_bytes: int | None = None,
        path: str | Path | None = None,
        used_bytes: int = 0,
        keep_free_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.max_bytes = max_bytes
        self.path = path
        self.used_bytes = used_bytes
        # never take the disk to zero: logs, checkpoints and the OS still need room
        self.keep_free_bytes = keep_free_bytes

    @classmethod
    def from_flags(cls, max_disk_gb: float | None, path: str | Path, used_bytes: int = 0):
        return cls(_max_bytes(max_disk_gb), path=path, used_bytes=used_bytes)

    @property
    def remaining_bytes(self) -> int | None:
        return None if self.max_bytes is None else self.max_bytes - self.used_bytes

    def would_exceed(self, next_bytes: int) -> bool:
        if self.max_bytes is not None and self.used_bytes + next_bytes > self.max_bytes:
            return True
        if self.path is not None:
            return next_bytes > free_disk_bytes(self.path) - self.keep_free_bytes
        return False

    def add(self, nbytes: int) -> None:
        self.used_bytes += nbytes

    def reserve(self, nbytes: int) -> None:
        """Count `nbytes` as written, or raise DiskBudgetError if they would not fit."""
        if self.would_exceed(nbytes):
            cap = "no cap" if self.max_bytes is None else human_bytes(self.max_bytes)
            raise DiskBudgetError(
                f"disk budget reached: {human_bytes(self.used_bytes)} written (cap {cap}), "
                f"the next {human_bytes(nbytes)} would not fit",
                SHRINK_HINT,
            )
        self.add(nbytes)


def check_collection_fits(
    root: str | Path,
    probe_episode: dict,
    num_episodes: int,
    expected_steps_per_episode: float,
    max_disk_gb: float | None,
) -> int:
    """Estimate a collection from one probe episode, encoded in memory, and refuse it early.

    Nothing is written: the probe is compressed exactly as the store would compress it, so
    the estimate uses the real bytes per step. Returns the estimate in bytes.
    """
    from dreamlab.data.codec import encode_episode

    probe_bytes = len(encode_episode(probe_episode))
    probe_steps = min(len(a) for a in probe_episode.values())
    needed = estimate_collection_bytes(
        probe_bytes, max(1, probe_steps), expected_steps_per_episode, num_episodes
    )
    check_disk_budget(root, needed, max_disk_gb)
    return needed
