"""Dreamer's replay: fixed memory, allocated once (issue 11; seeds/004 died of its replay).

One preallocated ring per env (so each env's steps stay contiguous and a sequence is a
slice), counted in agent steps, never episodes. Observations are uint8 frames or float32
state vectors; under frame stacking each frame is stored once and the stack is built
when a batch is sampled. No Python object is created per step: a write is a few array
assignments, so memory cannot grow once allocated. The RAM is touched at allocation,
so the resident size is the budget from the first step, not a slow climb to it.

Step t holds what the agent saw on arriving at t: obs_t, the action that led there
(zeros on an episode's first step), the reward for it, is_first and is_terminal
(DreamerV3's layout). Sequences may run across an episode start; is_first marks it, the
RSSM resets there, and the frame stack never reaches back across it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from dreamlab.errors import DiskBudgetError, MemoryBudgetError

FIELDS = ("obs", "action", "reward", "is_first", "is_terminal")
GB = 1e9


class ReplayBuffer:
    def __init__(self, capacity: int, num_envs: int, obs_shape: tuple[int, ...],
                 obs_dtype: Any, action_dim: int, frame_stack: int = 1,
                 ram_gb: float = 4.0, memmap_dir: str | Path | None = None) -> None:
        self.num_envs = num_envs
        self.per_env = capacity // num_envs
        self.obs_shape = tuple(obs_shape)
        self.obs_dtype = np.dtype(obs_dtype)
        self.action_dim = action_dim
        self.frame_stack = frame_stack
        self.memmap_dir = Path(memmap_dir) if memmap_dir is not None else None
        need = self.nbytes_needed()
        if self.memmap_dir is None:
            check_ram_budget(need, capacity, self.bytes_per_step(), ram_gb)
        if self.memmap_dir is not None:
            self.memmap_dir.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self.memmap_dir).free + _existing_bytes(self.memmap_dir)
            if need > free:
                raise DiskBudgetError(
                    f"a memory-mapped replay of {capacity:,} steps needs {need / GB:.2f} GB "
                    f"on disk, {free / GB:.2f} GB free", "lower --replay-capacity")
        self.arrays: dict[str, np.ndarray] = {
            name: self._allocate(name, shape, dtype) for name, (shape, dtype) in
            self._layout().items()}
        self.pos = np.zeros(num_envs, np.int64)  # next slot to write, per env
        self.count = np.zeros(num_envs, np.int64)  # valid steps, per env (<= per_env)
        self.total_written = 0

    # --- sizing ---------------------------------------------------------------------------
    def _layout(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        n, c = self.num_envs, self.per_env
        return {"obs": ((n, c, *self.obs_shape), self.obs_dtype),
                "action": ((n, c, self.action_dim), np.dtype(np.float32)),
                "reward": ((n, c), np.dtype(np.float32)),
                "is_first": ((n, c), np.dtype(np.bool_)),
                "is_terminal": ((n, c), np.dtype(np.bool_))}

    def bytes_per_step(self) -> int:
        return int(sum(np.prod(shape[2:], dtype=np.int64) * dtype.itemsize
                       for shape, dtype in self._layout().values()))

    def nbytes_needed(self) -> int:
        return self.bytes_per_step() * self.per_env * self.num_envs

    def _allocate(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        if self.memmap_dir is not None:
            path = self.memmap_dir / f"{name}.npy"
            if path.exists():
                arr = np.load(path, mmap_mode="r+")
                if arr.shape == shape and arr.dtype == dtype:
                    return arr
            return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        arr = np.empty(shape, dtype)
        arr.fill(0)  # touch every page now: RSS is the budget from the first step
        return arr

    # --- writing --------------------------------------------------------------------------
    def add(self, obs: np.ndarray, action: np.ndarray, reward: np.ndarray,
            is_first: np.ndarray, is_terminal: np.ndarray) -> None:
        """One step of every env (arrays with a leading num_envs axis)."""
        envs = np.arange(self.num_envs)
        slot = self.pos
        a = self.arrays
        a["obs"][envs, slot] = obs
        a["action"][envs, slot] = action
        a["reward"][envs, slot] = reward
        a["is_first"][envs, slot] = is_first
        a["is_terminal"][envs, slot] = is_terminal
        self.pos = (self.pos + 1) % self.per_env
        self.count = np.minimum(self.count + 1, self.per_env)
        self.total_written += self.num_envs

    def __len__(self) -> int:
        return int(self.count.sum())

    def can_sample(self, seq_len: int) -> bool:
        return bool((self.count >= seq_len).any())

    # --- sampling -------------------------------------------------------------------------
    def sample(self, batch: int, seq_len: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """`batch` sequences of `seq_len` consecutive steps of one env each, never across
        the ring's write head (where the newest step meets the oldest). Returns arrays
        shaped (batch, seq_len, ...); obs has the stack on its last axis."""
        ok = np.flatnonzero(self.count >= seq_len)
        if not len(ok):
            raise ValueError(f"no env holds {seq_len} steps yet")
        env = rng.choice(ok, size=batch)
        count = self.count[env]
        # Logical index 0 is the oldest valid step. Keep frame_stack-1 steps of history
        # before the start when there are enough, so the first stack is complete.
        lo = np.minimum(self.frame_stack - 1, count - seq_len)
        start = lo + (rng.random(batch) * (count - seq_len - lo + 1)).astype(np.int64)
        oldest = np.where(count < self.per_env, 0, self.pos[env])
        logical = start[:, None] + np.arange(seq_len)[None]
        idx = (oldest[:, None] + logical) % self.per_env
        a = self.arrays
        e = env[:, None]
        out = {name: np.asarray(a[name][e, idx]) for name in FIELDS if name != "obs"}
        out["obs"] = self._stacked_obs(env, oldest, logical)
        return out

    def _stacked_obs(self, env: np.ndarray, oldest: np.ndarray,
                     logical: np.ndarray) -> np.ndarray:
        """Obs of the given steps; with frame_stack k, the k newest frames of the same
        episode on the last axis, the episode's first frame repeated where it is younger
        than k (Atari convention)."""
        a = self.arrays
        e = env[:, None]
        k = self.frame_stack
        idx = (oldest[:, None] + logical) % self.per_env
        if k == 1:
            return np.asarray(a["obs"][e, idx])
        frames = []
        src = logical.copy()
        for j in range(k):  # j = 0 is the newest frame
            if j:
                # Step back one unless the current frame begins its episode or the
                # oldest valid step is reached: then it repeats.
                cur = (oldest[:, None] + src) % self.per_env
                stop = np.asarray(a["is_first"][e, cur]) | (src == 0)
                src = np.where(stop, src, src - 1)
            frames.append(np.asarray(a["obs"][e, (oldest[:, None] + src) % self.per_env]))
        frames.reverse()  # oldest first, as a frame-stack wrapper would give them
        return np.concatenate(frames, axis=-1)

    # --- save / load ----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"pos": self.pos.tolist(), "count": self.count.tolist(),
                "total_written": self.total_written, "per_env": self.per_env,
                "num_envs": self.num_envs, "obs_shape": list(self.obs_shape),
                "obs_dtype": self.obs_dtype.str, "action_dim": self.action_dim}

    def save(self, directory: str | Path) -> Path:
        """Write the arrays (np.save) and counters into `directory`, atomically: written
        under a temporary name, then renamed. In memmap mode the ring file is flushed and
        only the counters are written (copying it would double the disk)."""
        directory = Path(directory)
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.memmap_dir is None:
            for name, arr in self.arrays.items():
                valid = int(self.count.max())  # unfilled slots are zeros; skip them
                np.save(tmp / f"{name}.npy", arr[:, :valid])
        else:
            for arr in self.arrays.values():
                arr.flush()  # type: ignore[attr-defined]
        (tmp / "state.json").write_text(json.dumps(self.state()), encoding="utf-8")
        for f in tmp.iterdir():
            _fsync(f)
        shutil.rmtree(directory, ignore_errors=True)
        os.replace(tmp, directory)
        return directory

    def load(self, directory: str | Path) -> None:
        """Fill the preallocated arrays from a saved copy. The files are opened as memory
        maps and copied in chunks, so loading never holds a second copy in RAM (the
        danijar/dreamerv3#103 failure)."""
        directory = Path(directory)
        state = json.loads((directory / "state.json").read_text(encoding="utf-8"))
        if (state["per_env"], state["num_envs"]) != (self.per_env, self.num_envs) or \
                tuple(state["obs_shape"]) != self.obs_shape:
            raise ValueError(f"saved replay in {directory} has another shape: {state}")
        if self.memmap_dir is None:
            for name, arr in self.arrays.items():
                src = np.load(directory / f"{name}.npy", mmap_mode="r")
                chunk, n = 4096, src.shape[1]
                for i in range(0, n, chunk):
                    arr[:, i:min(i + chunk, n)] = src[:, i:i + chunk]
                del src
        self.pos = np.asarray(state["pos"], np.int64)
        self.count = np.asarray(state["count"], np.int64)
        self.total_written = int(state["total_written"])


def check_ram_budget(need: int, capacity: int, bytes_per_step: int, ram_gb: float) -> None:
    """Refuse, before anything is allocated, a replay larger than --replay-ram-gb."""
    if need > ram_gb * GB:
        raise MemoryBudgetError(
            f"a replay of {capacity:,} steps needs {need / GB:.2f} GB "
            f"({bytes_per_step:,} B/step) but --replay-ram-gb is {ram_gb:g}",
            "lower --replay-capacity, use --grayscale or a smaller --img-size, raise "
            "--replay-ram-gb, or pass --replay-memmap to keep it on disk")


def replay_bytes(capacity: int, num_envs: int, obs_shape: tuple[int, ...], obs_dtype: Any,
                 action_dim: int) -> tuple[int, int]:
    """(bytes per step, bytes in all) of a replay, without allocating it."""
    per_step = int(np.prod(obs_shape, dtype=np.int64)) * np.dtype(obs_dtype).itemsize \
        + 4 * action_dim + 4 + 1 + 1
    return per_step, per_step * (capacity // num_envs) * num_envs


def _existing_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob("*.npy"))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
