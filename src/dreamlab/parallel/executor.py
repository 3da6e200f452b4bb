"""One executor interface: `map` and `imap` over jobs, inline or in local processes.

Collection, real-env fitness and evaluation all hand their jobs here instead of opening
pools of their own (three pools with three start methods before issue 10). Jobs carry
their own seeds (`runtime.seeding.derive_seed`), so a result never depends on which
worker ran it or in which order: inline, processes and Ray give the same answer.

The start method is "spawn", chosen on purpose: it is the one that exists on Linux,
macOS and Windows (seeds' users ran Windows 11 and WSL2), and a fresh interpreter never
inherits torch's or pygame's threads from a fork.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

from dreamlab.runtime.cpus import cpu_count

J = TypeVar("J")
R = TypeVar("R")

START_METHOD = "spawn"


class Executor:
    """Runs fn(job) for each job. Subclasses decide where; results keep the jobs' order
    in `map`, arrive as they finish in `imap_unordered`."""

    workers: int = 1

    def map(self, fn: Callable[[J], R], jobs: Sequence[J]) -> list[R]:
        raise NotImplementedError

    def imap(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
        """Results in the jobs' order as they become available (a collector writes them
        in seed order while later jobs still run)."""
        raise NotImplementedError

    def imap_unordered(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers; idempotent."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InlineExecutor(Executor):
    """Everything in this process: tests, debugging, and one-CPU machines."""

    def __init__(self, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> None:
        self.workers = 1
        if initializer is not None:
            initializer(*initargs)

    def map(self, fn: Callable[[J], R], jobs: Sequence[J]) -> list[R]:
        return [fn(job) for job in jobs]

    def imap(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
        for job in jobs:
            yield fn(job)

    def imap_unordered(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
        return self.imap(fn, jobs)


class ProcessExecutor(Executor):
    """A pool of `workers` spawned processes, kept for the executor's life so that the
    initializer's work (loading V and M, building envs) is paid once per worker.

    concurrent.futures rather than multiprocessing.Pool: a worker that dies or cannot
    start (an import error, an OOM kill) raises BrokenProcessPool in the parent, where a
    Pool would quietly start a replacement and wait for ever."""

    def __init__(self, workers: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> None:
        self.workers = max(1, workers)
        ctx = multiprocessing.get_context(START_METHOD)
        self._pool: Any = ProcessPoolExecutor(self.workers, mp_context=ctx,
                                              initializer=initializer, initargs=initargs)

    def map(self, fn: Callable[[J], R], jobs: Sequence[J]) -> list[R]:
        return list(self._pool.map(fn, jobs))

    def imap(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
        return self._pool.map(fn, jobs)

    def imap_unordered(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
        futures = [self._pool.submit(fn, job) for job in jobs]
        return (f.result() for f in as_completed(futures))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def make_executor(kind: str = "local", workers: int = 0,
                  initializer: Callable[..., None] | None = None,
                  initargs: tuple[Any, ...] = (), ray_address: str | None = None
                  ) -> Executor:
    """`local` with workers <= 1 runs inline: a pool of one only adds a process start.
    `ray` always uses Ray (workers <= 0: the cluster's CPUs), importing it only here."""
    if kind == "ray":
        from dreamlab.parallel.ray_backend import RayExecutor

        return RayExecutor(workers, initializer, initargs, ray_address)
    if workers <= 0:
        workers = cpu_count()
    if kind == "inline" or workers <= 1:
        return InlineExecutor(initializer, initargs)
    if kind == "local":
        return ProcessExecutor(workers, initializer, initargs)
    from dreamlab.errors import ConfigError

    raise ConfigError(f"--executor must be local, inline or ray, got {kind!r}")
