"""The on-disk format of one episode: a small JSON header, then one zstd frame per array.

Why zstd level 3: of the codecs `benchmarks/storage.py` measured on real 64x64 uint8 frames
(zlib via npz, zstd 1-9, blosc2 lz4/zstd) it is the only one that is both much smaller and
much faster than `np.savez_compressed`: on CarRacing about 0.5x the bytes at 7x+ the write
speed, on random Pong 32 bytes/frame against 45. Levels 6-9 are smaller still but compress
CarRacing frames only ~2x faster than zlib; blosc2 is larger on 1-byte pixels (its byte
shuffle has nothing to shuffle) and would be a new dependency.

Each array is its own zstd frame so a reader can decompress only the keys it needs (the
VAE wants `obs`, the encoder wants everything but `obs`), and straight into a caller's
buffer (`decode_array_into`), which lets the streaming datasets hold no second copy.
Frames carry zstd's content checksum, so a flipped bit fails loudly at decode time.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
import zstandard

MAGIC = b"DLEP"
FORMAT_VERSION = 1
ZSTD_LEVEL = 3
# magic, format version, header length in bytes
_PREAMBLE = struct.Struct("<4sII")
# numeric and bool arrays only: no object arrays, nothing that needs pickle (DESIGN.md)
_ALLOWED_KINDS = "biuf"


class EpisodeFormatError(ValueError):
    """An episode file whose bytes do not parse; the store turns it into CheckpointError."""


def check_array(name: str, array: Any) -> np.ndarray:
    """Return `array` as a C-contiguous ndarray, or raise if it cannot be stored safely."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"episode[{name!r}] must be a numpy array, got {type(array).__name__}")
    if array.ndim < 1:
        raise ValueError(f"episode[{name!r}] needs a leading time axis, got a scalar")
    if array.dtype.kind not in _ALLOWED_KINDS:
        raise TypeError(f"episode[{name!r}] has dtype {array.dtype}; only bool/int/float store")
    return np.ascontiguousarray(array)


def encode_episode(episode: Mapping[str, np.ndarray], level: int = ZSTD_LEVEL) -> bytes:
    """Serialise an episode to bytes: preamble, JSON header, then the compressed arrays."""
    cctx = zstandard.ZstdCompressor(level=level, write_checksum=True, write_content_size=True)
    keys: dict[str, dict[str, Any]] = {}
    blobs: list[bytes] = []
    offset = 0
    for name, raw in episode.items():
        array = check_array(name, raw)
        blob = cctx.compress(array.data)
        keys[name] = {
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "offset": offset,
            "nbytes": len(blob),
        }
        blobs.append(blob)
        offset += len(blob)
    header = json.dumps({"codec": f"zstd-{level}", "keys": keys}).encode("utf-8")
    return b"".join([_PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(header)), header, *blobs])


def read_header(head: bytes) -> tuple[dict[str, Any], int]:
    """Parse the header from the first bytes of a file; returns it and where the data starts.

    `head` must hold at least the preamble and the header; `header_span` says how many.
    """
    if len(head) < _PREAMBLE.size:
        raise EpisodeFormatError("file is shorter than the episode preamble")
    magic, version, header_len = _PREAMBLE.unpack_from(head)
    if magic != MAGIC:
        raise EpisodeFormatError("not a dreamlab episode file (bad magic)")
    if version != FORMAT_VERSION:
        raise EpisodeFormatError(f"episode format version {version}, expected {FORMAT_VERSION}")
    end = _PREAMBLE.size + header_len
    if len(head) < end:
        raise EpisodeFormatError("file is truncated inside its header")
    try:
        header = json.loads(head[_PREAMBLE.size : end].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EpisodeFormatError(f"episode header is not valid JSON ({exc})") from exc
    return header, end


def header_span(head: bytes) -> int:
    """Bytes needed to hold preamble + header, from at least the preamble's bytes."""
    if len(head) < _PREAMBLE.size:
        raise EpisodeFormatError("file is shorter than the episode preamble")
    return _PREAMBLE.size + _PREAMBLE.unpack_from(head)[2]


def decode_array(blob: bytes, spec: Mapping[str, Any]) -> np.ndarray:
    """Decompress one array into a fresh, writable ndarray."""
    out = np.empty(spec["shape"], dtype=np.dtype(spec["dtype"]))
    decode_array_into(blob, out)
    return out


def decode_array_into(blob: bytes, out: np.ndarray) -> None:
    """Decompress one array straight into `out` (C-contiguous, exactly the right size).

    Streaming into the caller's memory means no temporary copy of the decoded array, which
    is what keeps the datasets' RAM at their budget.
    """
    view = memoryview(out.reshape(-1).view(np.uint8))
    filled = 0
    try:
        with zstandard.ZstdDecompressor().stream_reader(blob) as reader:
            while filled < len(view):
                n = reader.readinto(view[filled:])
                if n == 0:
                    break
                filled += n
    except zstandard.ZstdError as exc:
        raise EpisodeFormatError(f"compressed data is corrupt ({exc})") from exc
    if filled != len(view):
        raise EpisodeFormatError(f"decoded {filled} bytes, expected {len(view)}")
