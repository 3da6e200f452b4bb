"""The Ray backend of the executor: the same `map`/`imap` over seeded jobs, on a cluster.

Only `make_executor("ray", ...)` imports this module, so a run that does not ask for Ray
never pays its import or its idle footprint (issue 14: 0.7-1.6 GB and a dozen processes).

One actor per worker mirrors `ProcessExecutor`'s initializer model: the actor runs the
initializer once (loading V and M, building envs) and then runs jobs for the executor's
life. The initializer's arguments go into the object store once (`ray.put`), so every
actor on a node reads one copy instead of each task shipping its own (issue 14: V and M
weights once per generation, not once per task).

Faults: actors are restartable and their calls retried by Ray (`max_restarts`,
`max_task_retries`). A restarted actor runs the initializer again, and jobs carry their
own seeds, so a generation that lost a worker completes with the same results.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import socket
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from dreamlab.errors import ConfigError, DreamlabError
from dreamlab.parallel.executor import Executor

try:
    import ray
    from ray import cloudpickle
    from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError
except ImportError as exc:  # the extra is not installed
    raise ConfigError("--executor ray needs Ray, which is not installed",
                      "pip install 'dreamlab[ray]'") from exc

J = TypeVar("J")
R = TypeVar("R")

# A worker that dies more often than this in one executor's life is a real problem (an
# OOM kill on every start, a broken node), not bad luck; Ray then raises instead.
MAX_RESTARTS = 3
# Jobs in flight per actor: one running, one queued behind it so the actor never waits
# for the driver's round trip between jobs.
IN_FLIGHT_PER_ACTOR = 2
# A local Ray only holds initializer arguments and results in flight; Ray's default
# (30% of RAM) would reserve far more shared memory than that needs on a small machine.
LOCAL_OBJECT_STORE_BYTES = 512 * 1024**2
# Starting a worker includes its initializer (imports torch, loads V and M): seconds on a
# loaded machine, minutes only when something is wrong.
START_TIMEOUT_S = 300

log = logging.getLogger("dreamlab")


class RayClusterError(DreamlabError):
    """The Ray cluster cannot be reached, or its workers run another dreamlab."""


@lru_cache(maxsize=1)
def package_fingerprint() -> str:
    """dreamlab's version plus a hash of its source files: two editable checkouts at the
    same version but different commits must not mix in one generation."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    try:
        version = metadata.version("dreamlab")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"{version}+{digest.hexdigest()[:12]}"


class _Worker:
    """One Ray actor: runs the initializer once, then jobs. It skips the initializer when
    its dreamlab differs from the driver's, so the driver can report the mismatch as one
    line instead of a traceback from deep inside a model load."""

    def __init__(self, expected: str, setup: bytes) -> None:
        self.found = package_fingerprint()
        if self.found != expected:
            return
        # Unpickled only now: on a node with another dreamlab the initializer may not
        # even exist, and that must read as a version mismatch, not an import error.
        initializer, initargs = pickle.loads(setup)
        if initializer is not None:
            initializer(*initargs)

    def identity(self) -> tuple[str, str]:
        return self.found, ray.util.get_node_ip_address()

    def run(self, fn: Callable[[Any], Any], job: Any) -> Any:
        return fn(job)


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A HOST:PORT that refuses connections is one line now, not a minute of Ray's own
    retries followed by a long traceback."""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray-address must be auto or HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise RayClusterError(f"cannot reach the Ray cluster at {address}: {exc}",
                              "start it with `ray start --head` on that node, or check "
                              "the address and firewall") from None


def connect(address: str | None, num_cpus: int) -> bool:
    """Connect to `address` ("auto", "HOST:PORT") or start a local Ray with `num_cpus`
    CPUs. Returns whether this call started Ray (and so must shut it down)."""
    if ray.is_initialized():
        return False
    if address:
        _check_reachable(address)
    # "local" always starts a new instance: without it Ray joins the last cluster `ray
    # start` made on this machine, and fails if that one has since been stopped.
    kwargs: dict[str, Any] = dict(address=address or "local", include_dashboard=False,
                                  log_to_driver=False, logging_level=logging.WARNING)
    if not address:
        kwargs.update(num_cpus=num_cpus, object_store_memory=LOCAL_OBJECT_STORE_BYTES)
    try:
        ray.init(**kwargs)
    except (ConnectionError, TimeoutError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RayClusterError(f"cannot connect to Ray at {address or 'a local instance'}: "
                              f"{first}", "with --ray-address auto, run `ray start --head` "
                              "on this node first; a cluster with token authentication "
                              "needs RAY_AUTH_MODE=token here (docs/ray.md)") from None
    return True


def check_versions(actors: Sequence[Any], expected: str) -> None:
    """Wait for `actors` to start (each has an `identity()` returning its dreamlab and
    node); a slow start or another dreamlab on a node is one line."""
    try:
        identities = ray.get([a.identity.remote() for a in actors], timeout=START_TIMEOUT_S)
    except GetTimeoutError:
        raise RayClusterError(f"Ray workers did not start within {START_TIMEOUT_S} s",
                              "other jobs may hold the cluster's CPUs (ray status)") from None
    for found, node in identities:
        if found != expected:
            raise RayClusterError(
                f"the Ray worker on {node} runs dreamlab {found}, the driver {expected}",
                "install the same dreamlab checkout on every node")


class RayExecutor(Executor):
    """`workers` Ray actors, each running the initializer once and then jobs."""

    def __init__(self, workers: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = (), address: str | None = None) -> None:
        self._owns_ray = connect(address, max(1, workers))
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        if workers <= 0:  # a cluster's size is its CPU count, not this machine's
            workers = cluster_cpus
        if workers > cluster_cpus:
            # An actor holds its CPU for life: more actors than CPUs would wait for ever.
            # Fewer actors change no result (jobs carry their seeds), only the speed.
            log.warning("--executor ray: %d workers asked, the cluster has %d CPUs; "
                        "using %d", workers, cluster_cpus, cluster_cpus)
            workers = cluster_cpus
        self.workers = max(1, workers)
        expected = package_fingerprint()
        # One copy in the object store for every actor; the ref is kept for the executor's
        # life because a restarted actor reads its constructor arguments again.
        self._shared = ray.put(cloudpickle.dumps((initializer, initargs)))
        actor_cls = ray.remote(num_cpus=1, max_restarts=MAX_RESTARTS,
                               max_task_retries=MAX_RESTARTS)(_Worker)
        self._actors: list[Any] = [actor_cls.remote(expected, self._shared)
                                   for _ in range(self.workers)]
        try:
            check_versions(self._actors, expected)
        except BaseException:
            self.close()
            raise
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        log.info("ray: %d workers on %s (%d CPUs, %d nodes)", self.workers,
                 address or "a local Ray", cluster_cpus, nodes)

    def _completed(self, fn: Callable[[J], R], jobs: Sequence[J],
                   window: int | None = None) -> Iterator[tuple[int, R]]:
        """(index, result) in completion order. Each actor keeps IN_FLIGHT_PER_ACTOR jobs;
        with `window`, no job starts more than `window` places after the oldest one not
        yet returned, which bounds what an ordered consumer has to buffer."""
        pending: dict[Any, tuple[int, int]] = {}  # ref -> (job index, actor index)
        load = [0] * len(self._actors)
        next_job, done = 0, set()
        oldest = 0  # the lowest job index not yet returned

        def submit() -> None:
            nonlocal next_job
            while next_job < len(jobs) and (window is None or next_job < oldest + window):
                actor = min(range(len(load)), key=load.__getitem__)
                if load[actor] >= IN_FLIGHT_PER_ACTOR:
                    return
                ref = self._actors[actor].run.remote(fn, jobs[next_job])
                pending[ref] = (next_job, actor)
                load[actor] += 1
                next_job += 1

        submit()
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            index, actor = pending.pop(ready[0])
            load[actor] -= 1
            result = self._get(ready[0])
            done.add(index)
            while oldest in done:
                done.discard(oldest)
                oldest += 1
            submit()
            yield index, result

    @staticmethod
    def _get(ref: Any) -> Any:
        try:
            return ray.get(ref)
        except RayTaskError as exc:  # the job itself raised: re-raise the job's error
            raise exc.as_instanceof_cause() from None
        except RayActorError as exc:
            raise RayClusterError(f"a Ray worker was lost more often than its "
                                  f"{MAX_RESTARTS} restarts allow: "
                                  f"{str(exc).strip().splitlines()[0]}",
                                  "check the nodes' memory and logs (ray status)") from None

    def map(self, fn: Callable[[J], R], jobs: Sequence[J]) -> list[R]:
        return list(self.imap(fn, jobs))

    def imap(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
        """Results in the jobs' order; at most 4 jobs per worker run ahead of the one the
        consumer waits for (a collector's reorder buffer stays small)."""
        buffered: dict[int, R] = {}
        want = 0
        for index, result in self._completed(fn, jobs, window=4 * self.workers):
            buffered[index] = result
            while want in buffered:
                yield buffered.pop(want)
                want += 1

    def imap_unordered(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
        return (result for _, result in self._completed(fn, jobs))

    def close(self) -> None:
        for actor in self._actors:
            ray.kill(actor, no_restart=True)
        self._actors = []
        self._shared = None
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False
