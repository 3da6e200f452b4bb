"""A Gymnasium vector env whose envs live in Ray actors (issue 14: PPO env workers on Ray,
batched inference on the learner).

Each actor holds a slice of the envs as a small vector env of its own (built by the
caller's `make_slice(first, count)`), so one `step` is one remote call per actor, not one
per env. The learner still runs one forward pass over all envs, splits the actions by
slice, and gets the slices' observations, rewards and flags back in env order. To the
PPO collector this is a plain `VectorEnv` with the slices' autoreset mode ("next_step"
for every env PPO builds), so rollout.py does not change.

Seeding matches the local vector env: `reset(seed=s)` resets env i with s + i, as
Gymnasium's `SyncVectorEnv` does, by giving the slice that starts at env `first` the seed
s + first. Given the same actions, the envs therefore produce the same streams as a local
`SyncVectorEnv` of all of them (tested).

Faults: an actor that dies is not restarted. Its envs were mid-episode, and an env's
state cannot be rebuilt elsewhere, so a restart would silently change the rollout; the
step raises `RayClusterError` instead, and re-running the same command resumes the run
from its last checkpoint (PPO resumes with fresh episodes anyway).

Only `--executor ray` imports this module (it imports ray).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import ray
from ray import cloudpickle
from ray.exceptions import RayActorError, RayTaskError

from dreamlab.parallel.ray_backend import (
    RayClusterError,
    check_versions,
    connect,
    package_fingerprint,
)
from dreamlab.runtime.cpus import cpu_count

log = logging.getLogger("dreamlab")

# A slice of envs that will not close in this long is killed with its actor anyway.
CLOSE_TIMEOUT_S = 10.0

SliceFactory = Callable[[int, int], gym.vector.VectorEnv]


class _EnvSlice:
    """One Ray actor: a vector env of `count` envs, env indices first..first+count-1.
    It builds nothing when its dreamlab differs from the driver's (see _Worker)."""

    def __init__(self, expected: str, make_slice: bytes, first: int, count: int) -> None:
        self.found = package_fingerprint()
        self.envs: gym.vector.VectorEnv | None = None
        if self.found == expected:
            self.envs = cloudpickle.loads(make_slice)(first, count)

    def identity(self) -> tuple[str, str]:
        return self.found, ray.util.get_node_ip_address()

    def spaces(self) -> tuple[gym.Space, gym.Space, dict[str, Any]]:
        assert self.envs is not None
        return (self.envs.single_observation_space, self.envs.single_action_space,
                dict(self.envs.metadata))

    def reset(self, seed: list[int | None] | None, options: dict[str, Any] | None) -> Any:
        assert self.envs is not None
        return self.envs.reset(seed=seed, options=options)

    def step(self, actions: np.ndarray) -> Any:
        assert self.envs is not None
        return self.envs.step(actions)

    def close(self) -> None:
        if self.envs is not None:
            self.envs.close()
            self.envs = None


def slice_sizes(num_envs: int, actors: int) -> list[int]:
    """num_envs split as evenly as possible, the larger slices first."""
    base, extra = divmod(num_envs, actors)
    return [base + (i < extra) for i in range(actors)]


def merge_infos(parts: Sequence[dict[str, Any]], sizes: Sequence[int]) -> dict[str, Any]:
    """The slices' info dicts as one, in Gymnasium's vector layout: info[key] holds a value
    per env and info["_" + key] says which envs set it (nested dicts alike)."""
    total = sum(sizes)
    out: dict[str, Any] = {}
    first = 0
    for part, size in zip(parts, sizes, strict=True):
        _place(out, part, first, size, total)
        first += size
    return out


def _place(out: dict[str, Any], part: dict[str, Any], first: int, size: int,
           total: int) -> None:
    for key, value in part.items():
        if key.startswith("_"):
            continue
        if isinstance(value, dict):
            _place(out.setdefault(key, {}), value, first, size, total)
        else:
            value = np.asarray(value)
            if key not in out:  # zeros for numbers, None for anything else, as Gymnasium
                out[key] = np.zeros((total, *value.shape[1:]), value.dtype) \
                    if value.dtype.kind in "biuf" else np.full(total, None, object)
            out[key][first:first + size] = value
        mask = np.asarray(part.get("_" + key, np.ones(size, bool)), bool)
        out.setdefault("_" + key, np.zeros(total, bool))[first:first + size] = mask


class RayVectorEnv(gym.vector.VectorEnv):
    """`num_envs` envs stepped in `actors` Ray actors (0: the cluster's CPUs, at most one
    actor per env); `make_slice(first, count)` builds each actor's vector env there."""

    def __init__(self, make_slice: SliceFactory, num_envs: int, actors: int = 0,
                 address: str | None = None) -> None:
        self._actors: list[Any] = []
        self._owns_ray = connect(address, min(num_envs, actors if actors > 0 else cpu_count()))
        try:
            self._start(make_slice, num_envs, actors, address)
        except BaseException:
            self.close_extras()
            raise

    def _start(self, make_slice: SliceFactory, num_envs: int, actors: int,
               address: str | None) -> None:
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        wanted = actors if actors > 0 else cluster_cpus
        count = max(1, min(wanted, num_envs, cluster_cpus))
        if count < wanted:
            # An actor holds its CPU for life, and one actor per env is the most that helps.
            log.warning("--executor ray: %d env actors asked, %d envs and %d CPUs; using %d",
                        wanted, num_envs, cluster_cpus, count)
        self.num_envs = num_envs
        self.sizes = slice_sizes(num_envs, count)
        self.firsts = [sum(self.sizes[:i]) for i in range(count)]
        # max_restarts=0: a lost actor's env state is gone, so the step must fail loudly
        # rather than continue on fresh envs (module docstring).
        actor_cls = ray.remote(num_cpus=1, max_restarts=0)(_EnvSlice)
        expected = package_fingerprint()
        factory = cloudpickle.dumps(make_slice)
        self._actors = [actor_cls.remote(expected, factory, first, size)
                        for first, size in zip(self.firsts, self.sizes, strict=True)]
        check_versions(self._actors, expected)
        obs_space, action_space, metadata = self._get(self._actors[0].spaces.remote())
        self.single_observation_space = obs_space
        self.single_action_space = action_space
        self.observation_space = gym.vector.utils.batch_space(obs_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(action_space, num_envs)
        self.metadata = metadata
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        log.info("ray: %d envs in %d actors (%s envs each) on %s (%d CPUs, %d nodes)",
                 num_envs, count, "/".join(map(str, self.sizes)), address or "a local Ray",
                 cluster_cpus, nodes)

    @property
    def actors(self) -> int:
        return len(self._actors)

    def _split(self, values: Any) -> list[Any]:
        return [values[first:first + size] for first, size in zip(self.firsts, self.sizes,
                                                                   strict=True)]

    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        seeds: list[Any]
        if seed is None:
            seeds = [None] * len(self._actors)
        elif isinstance(seed, int):  # env i gets seed + i, as in SyncVectorEnv
            seeds = [[seed + first + i for i in range(size)]
                     for first, size in zip(self.firsts, self.sizes, strict=True)]
        else:
            seeds = self._split(list(seed))
        slice_options: list[dict[str, Any] | None] = [options] * len(self._actors)
        if options is not None and "reset_mask" in options:
            masks = self._split(options["reset_mask"])
            slice_options = [{**options, "reset_mask": m} for m in masks]
        refs = [a.reset.remote(s, o) for a, s, o in zip(self._actors, seeds, slice_options,
                                                         strict=True)]
        parts = self._get(refs)
        obs = np.concatenate([p[0] for p in parts])
        return obs, merge_infos([p[1] for p in parts], self.sizes)

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        actions = np.asarray(actions)
        refs = [a.step.remote(part) for a, part in zip(self._actors, self._split(actions),
                                                        strict=True)]
        parts = self._get(refs)
        obs, reward, terminated, truncated = (np.concatenate([p[k] for p in parts])
                                              for k in range(4))
        return obs, reward, terminated, truncated, merge_infos([p[4] for p in parts],
                                                               self.sizes)

    @staticmethod
    def _get(refs: Any) -> Any:
        try:
            return ray.get(refs)
        except RayTaskError as exc:  # an env raised: its own error, as locally
            raise exc.as_instanceof_cause() from None
        except RayActorError as exc:
            raise RayClusterError(
                "a Ray env worker was lost, and its envs' state with it: "
                f"{str(exc).strip().splitlines()[0]}",
                "re-run the same command to resume from the last checkpoint; check the "
                "nodes' memory and logs (ray status)") from None

    def close_extras(self, **kwargs: Any) -> None:
        # Closed before they are killed, so an actor's own env processes (an explicit
        # --vectorization async) end with it instead of outliving it.
        closing = [actor.close.remote() for actor in self._actors]
        if closing:
            ray.wait(closing, num_returns=len(closing), timeout=CLOSE_TIMEOUT_S)
        for actor in self._actors:
            ray.kill(actor, no_restart=True)
        self._actors = []
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False
