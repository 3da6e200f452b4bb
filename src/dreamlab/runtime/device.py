"""Device choice, AMP/TF32, thread count and CUDA OOM fallback (DESIGN.md principle 5)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import torch

from dreamlab.errors import ConfigError
from dreamlab.runtime.cpus import cpu_count

log = logging.getLogger("dreamlab")
T = TypeVar("T")


def choose_num_threads(requested: int = 0) -> int:
    """Torch intra-op threads. Small MLP/LSTM work next to env workers is hurt badly by
    oversubscription (notes: a 90 s PPO run took 590 s), so the default is the CPU count
    given to this process, capped at 4, and the user can pin it with --num-threads."""
    if requested > 0:
        return requested
    return max(1, min(4, cpu_count()))


@dataclass
class DeviceSetup:
    """What the run computes on, resolved once at start and printed."""

    device: torch.device
    amp_dtype: torch.dtype | None  # None: full fp32
    tf32: bool
    num_threads: int
    threads_pinned: bool = False  # the user chose --num-threads; stages must not change it

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        # fp16 needs loss scaling; bf16 has fp32's range and does not.
        return torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)

    def describe(self) -> str:
        amp = "off" if self.amp_dtype is None else str(self.amp_dtype).replace("torch.", "")
        name = torch.cuda.get_device_name(self.device) if self.is_cuda else "cpu"
        return f"{self.device} ({name}), amp={amp}, tf32={self.tf32}, threads={self.num_threads}"


def setup_device(device: str = "auto", amp: bool = True, tf32: bool = True,
                 num_threads: int = 0) -> DeviceSetup:
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but no CUDA device is visible",
                          "use --device cpu or auto")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    threads = choose_num_threads(num_threads)
    torch.set_num_threads(threads)
    amp_dtype = None
    use_tf32 = False
    if dev.type == "cuda":
        if amp:
            amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        use_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
    return DeviceSetup(dev, amp_dtype, use_tf32, threads, threads_pinned=num_threads > 0)


def is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def run_with_oom_fallback(
    fn: Callable[[int, torch.device], T],
    batch_size: int,
    setup: DeviceSetup,
    min_batch: int = 1,
    max_halvings: int = 4,
) -> T:
    """Call fn(batch_size, device); on CUDA OOM halve the batch and retry, and after
    `max_halvings` failures continue on the CPU with a loud warning (issue 6)."""
    batch = batch_size
    for _ in range(max_halvings):
        try:
            return fn(batch, setup.device)
        except (torch.OutOfMemoryError, RuntimeError) as exc:
            if not is_oom(exc):
                raise
            if setup.is_cuda:
                torch.cuda.empty_cache()
            if batch // 2 < min_batch:
                break
            log.warning("out of memory at batch %d; halving to %d and retrying", batch, batch // 2)
            batch //= 2
    if setup.device.type == "cpu":
        raise RuntimeError("out of memory on the CPU even at the smallest batch")
    log.warning("WARNING: repeated CUDA OOM; continuing on the CPU (much slower) at batch %d",
                batch)
    setup.device = torch.device("cpu")
    setup.amp_dtype = None
    return fn(batch, setup.device)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def blas_threads(n: int) -> contextlib.AbstractContextManager:
    """numpy's BLAS (OpenBLAS in the numpy wheels) held to n threads inside the block.

    OpenBLAS splits a matmul over every CPU once it passes a size threshold, and a
    16-row batch through a 256-unit layer passes it. On the 2-core machines, with the
    env or another job on the other core, the split makes such small forward passes
    several times slower, and the helper thread's spinning slows the env steps beside it
    (self-play 2v2: benchmarks/rocket_selfplay_profile.py). torch's own threads are
    torch_threads' business, not this one's.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="blas")
