"""Append-only, crash-safe store of episodes (raw_data/ and latents/).

Why this exists: a previous tool saved every 210x160x3 Pong frame with np.savez and filled
the disk after 50 episodes (4.34 GB). Here each frame is stored once, as uint8 at model
size, and each episode is one zstd-compressed file (`codec.py`).

Layout of a store directory::

    store.json           format marker; written once when the store is created
    index.jsonl          one line per episode: JSON record, a tab, its CRC32 (hex)
    episodes/ep_0000000.dlep ...

Crash safety (a single writer process; any number of readers):
1. the episode file is written atomically (temp file, fsync, rename);
2. then one line is appended to the index and fsynced.
A kill between 1 and 2 leaves an orphan file that readers never see and the next append
removes. A kill inside 2 leaves a torn last line whose CRC fails: readers stop before it and
the writer truncates it. So a crash loses at most the episode in progress, and a reader can
`refresh()` while the writer appends.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dreamlab.data import codec
from dreamlab.errors import CheckpointError
from dreamlab.runtime.atomic import atomic_write_bytes, atomic_write_json, read_json, sha256_file

if TYPE_CHECKING:
    from dreamlab.data.budget import DiskBudget

STORE_FORMAT = "dreamlab-episode-store"
_EPISODE_NAME = re.compile(r"^ep_(\d{7})\.dlep$")


def _episode_filename(i: int) -> str:
    return f"ep_{i:07d}.dlep"


def _index_line(record: Mapping[str, Any]) -> bytes:
    body = json.dumps(record, separators=(",", ":"), sort_keys=True)
    return f"{body}\t{zlib.crc32(body.encode('utf-8')):08x}\n".encode()


def _parse_index_line(line: bytes) -> dict[str, Any] | None:
    """The record of one complete index line, or None if it is torn or corrupt."""
    try:
        text = line.decode("utf-8").rstrip("\n")
        body, crc = text.rsplit("\t", 1)
        if f"{zlib.crc32(body.encode('utf-8')):08x}" != crc:
            return None
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None


class EpisodeStore:
    """Append-only store of episodes.

    An episode is a dict of numpy arrays that each have a leading time axis; lengths may
    differ per key (obs has T+1 rows, actions/rewards/terminated T rows). Reading an episode
    back gives arrays identical to those appended, dtype included (latents are appended as
    float16 and come back float16).
    """

    def __init__(self, root: str | Path, create: bool = False) -> None:
        self.root = Path(root)
        self.episodes_dir = self.root / "episodes"
        self.index_path = self.root / "index.jsonl"
        marker = self.root / "store.json"
        if create and not marker.exists():
            self.episodes_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_json(marker, {"format": STORE_FORMAT, "version": codec.FORMAT_VERSION})
        try:
            info = read_json(marker)
        except (OSError, ValueError) as exc:
            raise CheckpointError(
                f"{self.root} is not a dreamlab episode store (store.json missing or unreadable)",
                "run the collect stage that writes it, or point at the right run directory",
            ) from exc
        if not isinstance(info, dict) or info.get("format") != STORE_FORMAT:
            raise CheckpointError(
                f"{marker} does not describe a dreamlab episode store",
                "point at a raw_data/ or latents/ directory written by dreamlab",
            )
        self.episodes_dir.mkdir(exist_ok=True)
        self._records: list[dict[str, Any]] = []
        self._index_offset = 0  # bytes of index.jsonl already parsed into _records
        self._writer_ready = False
        self.refresh()

    # ---- reading -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Pick up episodes appended since the last read (readers during writing)."""
        try:
            with open(self.index_path, "rb") as f:
                f.seek(self._index_offset)
                tail = f.read()
        except FileNotFoundError:
            return
        for line in tail.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break  # the writer is mid-line, or died there
            record = _parse_index_line(line)
            if record is None or record.get("i") != len(self._records):
                break
            self._records.append(record)
            self._index_offset += len(line)

    def __len__(self) -> int:
        return len(self._records)

    @property
    def num_steps(self) -> int:
        """Total steps over all episodes (T summed)."""
        return sum(r["num_steps"] for r in self._records)

    def episode_meta(self, i: int) -> dict[str, Any]:
        """`num_steps`, `return`, `nbytes` and whatever meta was passed to append."""
        record = self._record(i)
        return {
            "num_steps": record["num_steps"],
            "return": record["return"],
            "nbytes": record["nbytes"],
            **record["meta"],
        }

    def key_spec(self, i: int, key: str) -> dict[str, Any]:
        """dtype and shape of one array without reading the file (datasets size buffers so)."""
        keys = self._record(i)["keys"]
        if key not in keys:
            raise KeyError(f"episode {i} has no key {key!r}; it has {sorted(keys)}")
        spec = keys[key]
        return {"dtype": np.dtype(spec["dtype"]), "shape": tuple(spec["shape"])}

    def load(self, i: int, keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Read episode `i` (all keys, or only `keys`), decompressing only what is asked."""
        record = self._record(i)
        names = list(record["keys"]) if keys is None else list(keys)
        out = {}
        for name, blob in self._read_blobs(i, names):
            spec = record["keys"][name]
            try:
                out[name] = codec.decode_array(blob, spec)
            except codec.EpisodeFormatError as exc:
                raise self._corrupt(i, str(exc)) from exc
        return out

    def load_into(self, i: int, key: str, out: np.ndarray) -> None:
        """Decompress one array of episode `i` straight into `out` (no temporary copy)."""
        spec = self.key_spec(i, key)
        if out.shape != spec["shape"] or out.dtype != spec["dtype"]:
            raise ValueError(f"out is {out.dtype}{out.shape}, episode {i} {key} is {spec}")
        ((_, blob),) = self._read_blobs(i, [key])
        try:
            codec.decode_array_into(blob, out)
        except codec.EpisodeFormatError as exc:
            raise self._corrupt(i, str(exc)) from exc

    def nbytes_on_disk(self) -> int:
        """Bytes of the episodes in the index plus the index and marker files."""
        total = sum(r["nbytes"] for r in self._records)
        for path in (self.index_path, self.root / "store.json"):
            if path.exists():
                total += path.stat().st_size
        return total

    def verify(self) -> None:
        """Check each indexed file's size and sha256; raise CheckpointError at the first bad one."""
        for i, record in enumerate(self._records):
            path = self.episodes_dir / record["file"]
            if not path.exists():
                raise self._corrupt(i, "file is missing")
            size = path.stat().st_size
            if size != record["nbytes"]:
                raise self._corrupt(i, f"size {size} bytes, index says {record['nbytes']}")
            if sha256_file(path) != record["sha256"]:
                raise self._corrupt(i, "checksum does not match the index")

    # ---- writing -------------------------------------------------------------------------

    def append(
        self,
        episode: Mapping[str, np.ndarray],
        meta: Mapping[str, Any] | None = None,
        budget: DiskBudget | None = None,
    ) -> int:
        """Add one episode atomically and return its index.

        With a `budget`, an episode that would overrun it is not written and DiskBudgetError
        is raised, so a collector can stop cleanly with every earlier episode intact.
        """
        if not episode:
            raise ValueError("an episode needs at least one array")
        self._prepare_writer()
        blob = codec.encode_episode(episode)
        header, data_start = codec.read_header(blob)
        i = len(self._records)
        lengths = [len(np.asarray(a)) for a in episode.values()]
        rewards = episode.get("rewards")
        record = {
            "i": i,
            "file": _episode_filename(i),
            "nbytes": len(blob),
            "sha256": _sha256_bytes(blob),
            "data_start": data_start,
            "keys": header["keys"],
            "num_steps": int(min(lengths)),
            "return": None if rewards is None else float(np.sum(rewards, dtype=np.float64)),
            "meta": dict(meta or {}),
        }
        line = _index_line(record)  # fails before any write if meta is not JSON
        if budget is not None:
            budget.reserve(len(blob) + len(line))
        atomic_write_bytes(self.episodes_dir / record["file"], blob)
        with open(self.index_path, "ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self._records.append(record)
        self._index_offset += len(line)
        return i

    def _prepare_writer(self) -> None:
        """Before the first append: drop a torn index tail and files no index line names."""
        if self._writer_ready:
            return
        self.refresh()
        if self.index_path.exists() and self.index_path.stat().st_size != self._index_offset:
            with open(self.index_path, "r+b") as f:
                f.truncate(self._index_offset)
                os.fsync(f.fileno())
        for path in self.episodes_dir.iterdir():
            match = _EPISODE_NAME.match(path.name)
            orphan = match is not None and int(match.group(1)) >= len(self._records)
            if orphan or path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
        self._writer_ready = True

    # ---- helpers -------------------------------------------------------------------------

    def _record(self, i: int) -> dict[str, Any]:
        if not -len(self._records) <= i < len(self._records):
            raise IndexError(f"episode {i} out of range: the store holds {len(self._records)}")
        return self._records[i]

    def _read_blobs(self, i: int, names: Sequence[str]) -> list[tuple[str, bytes]]:
        """Seek to and read the compressed bytes of the requested keys."""
        record = self._record(i)
        path = self.episodes_dir / record["file"]
        blobs = []
        try:
            with open(path, "rb") as f:
                for name in names:
                    if name not in record["keys"]:
                        raise KeyError(f"episode {i} has no key {name!r}")
                    spec = record["keys"][name]
                    f.seek(record["data_start"] + spec["offset"])
                    blob = f.read(spec["nbytes"])
                    if len(blob) != spec["nbytes"]:
                        raise self._corrupt(i, "file is truncated")
                    blobs.append((name, blob))
        except FileNotFoundError as exc:
            raise self._corrupt(i, "file is missing") from exc
        return blobs

    def _corrupt(self, i: int, why: str) -> CheckpointError:
        name = self._records[i]["file"] if 0 <= i < len(self._records) else f"#{i}"
        return CheckpointError(
            f"episode {i} ({self.episodes_dir / name}) is corrupt: {why}",
            "delete the store directory and re-run the stage that wrote it",
        )


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
