"""Streaming datasets over an EpisodeStore: frames for the VAE, windows for the MDN-RNN.

Why streaming: the dataset may be far larger than RAM. Each DataLoader worker holds one
shuffle buffer of at most `ram_budget_bytes / num_workers` and decompresses episodes into it
itself, so RAM stays at the budget (--data-ram-gb) whatever the dataset size and
decompression runs in the workers, not in the trainer's process.

Shuffling: episodes are visited in a random order (seeded by seed and epoch) and split
across workers; items are drawn uniformly from the buffer, which is refilled whenever the
next episode fits. That mixes across many episodes, which is enough for SGD, and still
yields every item exactly once per epoch. For a fixed seed, epoch and num_workers the
stream is identical run to run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from dreamlab.data.episode_store import EpisodeStore
from dreamlab.errors import MemoryBudgetError, StageInputError

_RAM_HINT = "raise --data-ram-gb or use fewer DataLoader workers"


def _worker_share() -> tuple[int, int]:
    info = get_worker_info()
    return (0, 1) if info is None else (info.id, info.num_workers)


def _open_nonempty(store_root: str | Path, stage: str) -> EpisodeStore:
    store = EpisodeStore(store_root)
    if len(store) == 0:
        raise StageInputError(f"{store_root} holds no episodes", f"run the {stage} stage first")
    return store


class FrameDataset(IterableDataset):
    """Yields each frame of the store once per epoch as a torch.uint8 tensor (C, H, W)."""

    def __init__(
        self,
        store_root: str | Path,
        ram_budget_bytes: int,
        seed: int,
        epoch: int = 0,
        key: str = "obs",
    ) -> None:
        super().__init__()
        store = _open_nonempty(store_root, "collect")
        self.store_root = str(store_root)
        self.ram_budget_bytes = int(ram_budget_bytes)
        self.seed = seed
        self.epoch = epoch
        self.key = key
        # a snapshot: episodes a writer appends later are not part of this dataset
        specs = [store.key_spec(i, key) for i in range(len(store))]
        if specs[0]["dtype"] != np.uint8 or len(specs[0]["shape"]) not in (3, 4):
            raise ValueError(
                f"FrameDataset streams uint8 image frames; {key} is "
                f"{specs[0]['dtype']}{specs[0]['shape']} (state observations skip the VAE)"
            )
        self.frame_shape = specs[0]["shape"][1:]
        self.frames_per_episode = [s["shape"][0] for s in specs]
        self.frame_bytes = int(np.prod(self.frame_shape))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def check_ram_budget(self, num_workers: int) -> int:
        """Frames one worker's buffer holds; MemoryBudgetError if not even one episode."""
        capacity = self.ram_budget_bytes // max(1, num_workers) // self.frame_bytes
        longest = max(self.frames_per_episode)
        if capacity < longest:
            raise MemoryBudgetError(
                f"a data RAM budget of {self.ram_budget_bytes / 1e6:.0f} MB over "
                f"{max(1, num_workers)} loader worker(s) holds {capacity} frames per worker, "
                f"fewer than the longest episode ({longest} frames)",
                _RAM_HINT,
            )
        return capacity

    def __len__(self) -> int:
        return sum(self.frames_per_episode)

    def __iter__(self) -> Iterator[torch.Tensor]:
        worker, num_workers = _worker_share()
        order = np.random.default_rng([self.seed, self.epoch]).permutation(
            len(self.frames_per_episode)
        )
        mine = [int(i) for i in order[worker::num_workers]]
        if not mine:
            return
        capacity = self.check_ram_budget(num_workers)
        store = EpisodeStore(self.store_root)
        rng = np.random.default_rng([self.seed, self.epoch, worker, 1])
        buffer = np.empty((capacity, *self.frame_shape), dtype=np.uint8)
        filled, next_episode = 0, 0
        while True:
            while next_episode < len(mine):
                episode = mine[next_episode]
                length = self.frames_per_episode[episode]
                if capacity - filled < length:
                    break
                store.load_into(episode, self.key, buffer[filled : filled + length])
                filled += length
                next_episode += 1
            if filled == 0:
                return
            # draw a batch of positions at once: one rng call per frame would dominate
            for draw in rng.random(min(filled, 256)):
                j = int(draw * filled)
                frame = buffer[j].copy()
                filled -= 1
                buffer[j] = buffer[filled]
                yield self._to_tensor(frame)

    @staticmethod
    def _to_tensor(frame: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(frame)
        return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)


class SequenceDataset(IterableDataset):
    """Windows of (z, action, reward, terminated, z_next) for the MDN-RNN, from the latent store.

    Each episode of T steps is cut into floor(T / seq_len) non-overlapping windows whose
    start is shifted by a random offset each epoch, so the leftover steps fall at a different
    place every time. Episodes shorter than seq_len give one zero-padded window with a mask:
    random CartPole episodes last about 22 steps and dropping them would drop the data.
    """

    def __init__(
        self,
        store_root: str | Path,
        seq_len: int,
        ram_budget_bytes: int,
        seed: int,
        epoch: int = 0,
        sample_latents: bool = True,
    ) -> None:
        super().__init__()
        if seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {seq_len}")
        store = _open_nonempty(store_root, "encode")
        self.store_root = str(store_root)
        self.seq_len = seq_len
        self.ram_budget_bytes = int(ram_budget_bytes)
        self.seed = seed
        self.epoch = epoch
        self.sample_latents = sample_latents
        self.steps_per_episode = [self._usable_steps(store, i) for i in range(len(store))]
        self.z_dim = store.key_spec(0, "mu")["shape"][1]
        action_shape = store.key_spec(0, "actions")["shape"]
        self.action_dim = 1 if len(action_shape) == 1 else int(np.prod(action_shape[1:]))

    @staticmethod
    def _usable_steps(store: EpisodeStore, i: int) -> int:
        """Steps with both z_t and z_{t+1}: mu has T+1 rows, the step keys T."""
        rows = [store.key_spec(i, k)["shape"][0] for k in ("actions", "rewards", "terminated")]
        return min(store.key_spec(i, "mu")["shape"][0] - 1, *rows)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _windows_in(self, steps: int) -> int:
        return 0 if steps <= 0 else max(1, steps // self.seq_len)

    def __len__(self) -> int:
        return sum(self._windows_in(t) for t in self.steps_per_episode)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        worker, num_workers = _worker_share()
        order = np.random.default_rng([self.seed, self.epoch]).permutation(
            len(self.steps_per_episode)
        )
        mine = [int(i) for i in order[worker::num_workers] if self.steps_per_episode[i] > 0]
        budget = self.ram_budget_bytes // num_workers
        window_bytes = self.seq_len * (2 * self.z_dim + self.action_dim + 3) * 4
        store = EpisodeStore(self.store_root)
        rng = np.random.default_rng([self.seed, self.epoch, worker, 2])
        buffer: list[dict[str, torch.Tensor]] = []
        next_episode = 0
        while True:
            # always admit one episode into an empty buffer: latents are small, and a budget
            # below one episode's windows should slow shuffling, not stop training
            while next_episode < len(mine) and (
                not buffer
                or (len(buffer) + self._windows_in(self.steps_per_episode[mine[next_episode]]))
                * window_bytes
                <= budget
            ):
                buffer.extend(self._episode_windows(store, mine[next_episode], rng))
                next_episode += 1
            if not buffer:
                return
            j = int(rng.integers(len(buffer)))
            buffer[j], buffer[-1] = buffer[-1], buffer[j]
            yield buffer.pop()

    def _episode_windows(
        self, store: EpisodeStore, i: int, rng: np.random.Generator
    ) -> list[dict[str, torch.Tensor]]:
        steps, seq_len = self.steps_per_episode[i], self.seq_len
        keys = ["mu", "actions", "rewards", "terminated"]
        ep = store.load(i, [*keys, "logvar"] if self.sample_latents else keys)
        mu = ep["mu"][: steps + 1].astype(np.float32)
        if self.sample_latents:
            # paper §A.2: M is trained on z sampled from V's posterior, z = mu + sigma * eps
            sigma = np.exp(ep["logvar"][: steps + 1].astype(np.float32) / 2)
            z = mu + sigma * rng.standard_normal(mu.shape, dtype=np.float32)
        else:
            z = mu
        step_arrays = {
            "z": z[:steps],
            "z_next": z[1 : steps + 1],
            "actions": ep["actions"][:steps].astype(np.float32).reshape(steps, self.action_dim),
            "rewards": ep["rewards"][:steps].astype(np.float32),
            "terminated": ep["terminated"][:steps].astype(np.float32),
            "mask": np.ones(steps, dtype=np.float32),
        }
        if steps < seq_len:
            return [self._padded(step_arrays, steps)]
        offset = int(rng.integers(steps % seq_len + 1))
        windows = []
        for k in range(steps // seq_len):
            start = offset + k * seq_len
            windows.append(
                {
                    name: torch.from_numpy(np.ascontiguousarray(a[start : start + seq_len]))
                    for name, a in step_arrays.items()
                }
            )
        return windows

    def _padded(self, arrays: dict[str, np.ndarray], steps: int) -> dict[str, torch.Tensor]:
        out = {}
        for name, a in arrays.items():
            padded = np.zeros((self.seq_len, *a.shape[1:]), dtype=np.float32)
            padded[:steps] = a
            out[name] = torch.from_numpy(padded)
        return out


def _init_worker(worker_id: int) -> None:
    """One torch thread per worker: on a 2-core CPU, oversubscription costs several-fold."""
    del worker_id
    torch.set_num_threads(1)


def make_loader(
    dataset: IterableDataset, batch_size: int, num_workers: int, seed: int
) -> DataLoader:
    """A DataLoader for these datasets: seeded, workers not persistent, pinned on CUDA.

    Workers are not persistent so each epoch re-pickles the dataset and picks up
    `set_epoch`. Shuffling is the dataset's own (seeded), so `shuffle` is not passed.
    """
    check = getattr(dataset, "check_ram_budget", None)
    if check is not None:  # fail here, in one line, rather than inside a worker process
        check(num_workers)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=num_workers,
        worker_init_fn=_init_worker if num_workers > 0 else None,
        generator=generator,
        persistent_workers=False,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=2 if num_workers > 0 else None,
    )
