"""Many Rocket League envs stepped together, in worker processes, observations in shared memory.

The learner needs one array of observations per step for batched inference, and RocketSim
steps in Python cost ~0.2-0.3 ms each, so envs are spread over worker processes. Every
array a step produces (observations, rewards, which slots play, their teams) lives in
shared memory: a step sends one short command down each pipe and gets back only the rare
end-of-episode records, never the observations.

Slots: env e has 2 * max_team_size car slots in `possible_agents` order (blue-0, blue-1,
..., orange-0, ...); `alive[e, s]` says whether slot s plays this episode. Episodes reset
themselves: after a step that ends env e's episode, its row already holds the next
episode's first observation, and the record of the finished one (winner, length, final
observations for bootstrapping a truncation) comes back from `step`.
"""

from __future__ import annotations

import copy
import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from dreamlab.envs.rocket.config import RocketEnvConfig
from dreamlab.envs.rocket.fast_obs import obs_size
from dreamlab.parallel.executor import START_METHOD
from dreamlab.runtime.cpus import cpu_count


@dataclass
class EpisodeEnd:
    """One finished episode of env `env`: what the ratings and the rollout need."""

    env: int
    winner: int | None  # team that scored, None = timeout (a draw)
    truncated: bool  # ended by a timeout: the return should bootstrap from final_obs
    steps: int
    learner_team: int | None
    final_obs: np.ndarray  # (slots, obs_dim), rows of non-playing slots are zero
    alive: np.ndarray  # (slots,) which slots played
    touches: np.ndarray  # (slots,) steps with a ball touch, per slot
    last_touch_team: int | None = None  # a goal is an own goal when this team conceded it


def _layout(num_envs: int, cfg: RocketEnvConfig) -> dict[str, tuple[tuple[int, ...], Any]]:
    slots = 2 * cfg.max_team_size
    action = ((num_envs, slots), np.int64) if cfg.action == "discrete" else \
        ((num_envs, slots, 8), np.float32)
    return {
        "obs": ((num_envs, slots, obs_size(cfg.max_team_size, cfg.car_frame_obs)),
                np.float32),
        "actions": action,
        "rewards": ((num_envs, slots), np.float32),
        "alive": ((num_envs, slots), np.bool_),
        "team": ((num_envs, slots), np.int8),
        "learner_team": ((num_envs,), np.int8),
        "done": ((num_envs,), np.bool_),
    }


class _Arrays:
    """Numpy views of one shared-memory block per array (created, or attached by name)."""

    def __init__(self, layout: dict[str, tuple[tuple[int, ...], Any]],
                 names: dict[str, str] | None = None) -> None:
        self.blocks: dict[str, shared_memory.SharedMemory] = {}
        self.views: dict[str, np.ndarray] = {}
        for key, (shape, dtype) in layout.items():
            size = max(1, int(np.prod(shape)) * np.dtype(dtype).itemsize)
            block = (shared_memory.SharedMemory(create=True, size=size) if names is None
                     else shared_memory.SharedMemory(name=names[key]))
            self.blocks[key] = block
            self.views[key] = np.ndarray(shape, dtype=dtype, buffer=block.buf)
        if names is None:
            for view in self.views.values():
                view.fill(0)

    @property
    def names(self) -> dict[str, str]:
        return {k: b.name for k, b in self.blocks.items()}

    def close(self, unlink: bool) -> None:
        self.views.clear()
        for block in self.blocks.values():
            block.close()
            if unlink:
                block.unlink()


class _EnvGroup:
    """The envs one worker owns (a contiguous range), reading and writing the shared rows."""

    def __init__(self, arrays: dict[str, np.ndarray], first: int, count: int,
                 cfg: RocketEnvConfig, team_sizes: Any, seed: int | None) -> None:
        from dreamlab.envs.rocket.env import RocketLeagueParallelEnv

        self.a = arrays
        self.first = first
        self.envs = [RocketLeagueParallelEnv(
            cfg, team_sizes=copy.copy(team_sizes) if team_sizes is not None else None,
            seed=None if seed is None else seed + first + i) for i in range(count)]
        self.slot = {agent: s for s, agent in enumerate(self.envs[0].possible_agents)}
        self.discrete = cfg.action == "discrete"

    def _write_reset(self, e: int, obs: dict[str, np.ndarray], infos: dict[str, Any]) -> None:
        row = self.first + e
        self.a["obs"][row] = 0.0
        self.a["alive"][row] = False
        for agent, o in obs.items():
            s = self.slot[agent]
            self.a["obs"][row, s] = o
            self.a["alive"][row, s] = True
            self.a["team"][row, s] = infos[agent]["team"]
        learner = next(iter(infos.values())).get("learner_team")
        self.a["learner_team"][row] = -1 if learner is None else learner

    def reset(self) -> None:
        for e, env in enumerate(self.envs):
            self._write_reset(e, *env.reset())
        self.a["done"][self.first:self.first + len(self.envs)] = False

    def step(self) -> list[EpisodeEnd]:
        ends = []
        for e, env in enumerate(self.envs):
            row = self.first + e
            acts = self.a["actions"][row]
            actions = {a: (int(acts[self.slot[a]]) if self.discrete else acts[self.slot[a]])
                       for a in env.agents}
            learner = int(self.a["learner_team"][row])
            obs, rewards, terminated, truncated, infos = env.step(actions)
            self.a["rewards"][row] = 0.0
            for agent, r in rewards.items():
                self.a["rewards"][row, self.slot[agent]] = r
            if env.agents:
                for agent, o in obs.items():
                    self.a["obs"][row, self.slot[agent]] = o
                self.a["done"][row] = False
                continue
            final = np.zeros_like(self.a["obs"][row])
            touches = np.zeros(len(self.slot), dtype=np.int64)
            for agent, o in obs.items():
                final[self.slot[agent]] = o
                touches[self.slot[agent]] = infos[agent]["touches"]
            info = next(iter(infos.values()))
            ends.append(EpisodeEnd(
                env=row, winner=info["winner"], truncated=not any(terminated.values()),
                steps=info["episode_steps"], learner_team=None if learner < 0 else learner,
                final_obs=final, alive=self.a["alive"][row].copy(), touches=touches,
                last_touch_team=info["last_touch_team"]))
            self._write_reset(e, *env.reset())
            self.a["done"][row] = True
        return ends

    def close(self) -> None:
        for env in self.envs:
            env.close()


SPIN_SECONDS = 0.005


def _spin_until_ready(conn: Any, seconds: float = SPIN_SECONDS) -> None:
    """Poll the pipe without sleeping for a few milliseconds before a blocking recv.

    Waking a process that sleeps on a pipe costs a few hundred microseconds on a small VM
    (the idle virtual CPU has to be woken by the host), paid twice per step. The gap
    between two steps (the learner's inference) is well under a millisecond, so polling
    through it keeps both sides awake; a long pause (the PPO update) still ends in a
    blocking recv, so an idle worker does not burn a CPU.
    """
    deadline = time.perf_counter() + seconds
    while not conn.poll() and time.perf_counter() < deadline:
        pass


def _worker(conn: Any, names: dict[str, str], layout: dict, first: int, count: int,
            cfg: RocketEnvConfig, team_sizes: Any, seed: int | None, spin_s: float) -> None:
    arrays = _Arrays(layout, names)
    group = _EnvGroup(arrays.views, first, count, cfg, team_sizes, seed)
    try:
        while True:
            _spin_until_ready(conn, spin_s)
            cmd = conn.recv()
            if cmd == "step":
                conn.send(group.step())
            elif cmd == "reset":
                group.reset()
                conn.send(None)
            else:
                break
    except (KeyboardInterrupt, EOFError):
        pass
    finally:
        group.close()
        arrays.close(unlink=False)


class RocketVecEnv:
    """num_envs envs over num_workers processes (0 = all in this process).

    main_share: with workers, this process steps a share of the envs itself while the
    workers step theirs, instead of idling on the pipes (on 2 CPUs: one worker plus this
    process; benchmarks/results/rocket_throughput.json compares the layouts). Finished
    episodes come back in env order whatever the split, so a seed plays the same games
    with any layout. spin_s: how long either side polls a pipe before sleeping on it
    (`_spin_until_ready`); 0 sleeps at once; None polls only where every process has a
    CPU of its own (two polling workers and this process on 2 CPUs stepped several times
    slower than one process: docs/rocket.md).

    Write actions into `actions` (shape (num_envs, slots) for discrete, (..., 8) for
    continuous; slots that do not play are ignored), call `step()`, then read `obs`,
    `rewards`, `alive`, `team`, `done`. team_sizes: a picklable team-size source (e.g. the
    self-play curriculum reading a shared counter), copied for every env.
    """

    def __init__(self, num_envs: int, config: RocketEnvConfig | None = None,
                 num_workers: int = 0, team_sizes: Any = None, seed: int | None = 0,
                 main_share: bool = False, spin_s: float | None = None) -> None:
        self.config = config or RocketEnvConfig()
        self.num_envs = num_envs
        self.num_workers = min(num_workers, num_envs - 1 if main_share else num_envs)
        layout = _layout(num_envs, self.config)
        self._arrays = _Arrays(layout)
        v = self._arrays.views
        self.obs, self.actions, self.rewards = v["obs"], v["actions"], v["rewards"]
        self.alive, self.team, self.done = v["alive"], v["team"], v["done"]
        self.learner_team = v["learner_team"]
        self.slots = 2 * self.config.max_team_size
        self._pipes: list[Any] = []
        self._procs: list[Any] = []
        self._inline: _EnvGroup | None = None
        # Polling needs a CPU per polling process: with more processes than CPUs, a
        # poller would take the CPU from the process it waits for.
        if spin_s is None:
            spin_s = SPIN_SECONDS if self.num_workers + 1 <= cpu_count() else 0.0
        self._spin_s = spin_s
        if self.num_workers == 0:
            self._inline = _EnvGroup(self._arrays.views, 0, num_envs, self.config,
                                     team_sizes, seed)
            self.possible_agents = self._inline.envs[0].possible_agents
            return
        ctx = multiprocessing.get_context(START_METHOD)
        groups = self.num_workers + (1 if main_share else 0)
        bounds = np.linspace(0, num_envs, groups + 1).astype(int)
        if main_share:  # the last share is stepped here
            self._inline = _EnvGroup(self._arrays.views, int(bounds[-2]),
                                     int(bounds[-1] - bounds[-2]), self.config, team_sizes, seed)
            bounds = bounds[:-1]
        for first, stop in zip(bounds[:-1], bounds[1:], strict=True):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, daemon=True, args=(
                child, self._arrays.names, layout, int(first), int(stop - first),
                self.config, team_sizes, seed, spin_s))
            proc.start()
            child.close()
            self._pipes.append(parent)
            self._procs.append(proc)
        m = self.config.max_team_size
        self.possible_agents = [f"blue-{i}" for i in range(m)] + [f"orange-{i}" for i in range(m)]

    def reset(self) -> np.ndarray:
        for pipe in self._pipes:
            pipe.send("reset")
        if self._inline is not None:
            self._inline.reset()
        for pipe in self._pipes:
            pipe.recv()
        return self.obs

    def step(self) -> list[EpisodeEnd]:
        """Step every env with the actions written into `actions`; return finished episodes
        in env order."""
        for pipe in self._pipes:
            pipe.send("step")
        ends: list[EpisodeEnd] = [] if self._inline is None else self._inline.step()
        if not self._pipes:
            return ends
        for pipe in self._pipes:
            _spin_until_ready(pipe, self._spin_s)
            ends.extend(pipe.recv())
        return sorted(ends, key=lambda end: end.env)

    def close(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        for pipe in self._pipes:
            try:
                pipe.send("close")
            except (BrokenPipeError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
        self._pipes, self._procs = [], []
        if self._arrays.blocks:
            # Views must go before their shared blocks can close.
            self.obs = self.actions = self.rewards = self.alive = self.team = None  # type: ignore[assignment]
            self.done = self.learner_team = None  # type: ignore[assignment]
            self._arrays.close(unlink=True)
            self._arrays.blocks = {}

    def __enter__(self) -> RocketVecEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
