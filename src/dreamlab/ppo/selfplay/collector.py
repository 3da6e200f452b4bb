"""Self-play rollouts: the learner's transitions from RocketVecEnv, opponents from the pool.

Each step: every car is owned by the learner or by its env's pool snapshot (owner
matrix); the learner runs once on all its cars (actions, log-probs, values), each loaded
snapshot once on its cars; the vector env steps; finished games update the ratings, draw
the env's next opponent from the pool, and advance nothing else. The shared timestep
counter grows by num_envs per step, and the envs' curriculum source reads it at reset.

The rollout is (T, N) with N = num_envs * max_team_size learner columns: column
(e, k) is the learner's k-th car in env e. With `two_sided` (the pool's p_self > 0) every
env has 2 * max_team_size columns: the learner's cars first, then the other team's, which
are the learner's too (valid) in a game against itself (pool.SELF) and empty otherwise.
A column with no car this step (a 1v1 episode in a 2v2-padded layout) has valid = 0 and
done = 1, so it is left out of the losses and no advantage crosses it. A truncated game
(timeout) is bootstrapped the usual way (SB3, CleanRL): gamma * V(final observation) is
added to its last reward (kept apart in `bootstrap`, so reward scaling does not touch a
value), and it is then treated as terminated.
Pure numpy: the trainer wraps its network as callables.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dreamlab.envs.rocket.vector import EpisodeEnd, RocketVecEnv
from dreamlab.ppo.selfplay.batching import owner_matrix
from dreamlab.ppo.selfplay.pool import SELF, OpponentPool, Snapshot
from dreamlab.ppo.selfplay.ratings import LEARNER, RatingTable

# obs (B, D) -> actions (B, ...), log-probs (B,), values (B,)
LearnerPolicy = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
ValueFn = Callable[[np.ndarray], np.ndarray]
OpponentPolicy = Callable[[np.ndarray], np.ndarray]


@dataclass
class SelfPlayRollout:
    """(T, N, ...) numpy arrays of the learner's transitions, ready for GAE."""

    obs: np.ndarray
    actions: np.ndarray
    logprobs: np.ndarray
    values: np.ndarray
    rewards: np.ndarray  # as the env gave them (the trainer may scale them)
    bootstrap: np.ndarray  # gamma * V(final obs) of timed-out games, added after scaling
    terminated: np.ndarray
    dones: np.ndarray
    valid: np.ndarray
    last_value: np.ndarray  # (N,) V of the observation after the last step (0 where no car)

    @classmethod
    def empty(cls, steps: int, columns: int, obs_dim: int,
              action_shape: tuple[int, ...], action_dtype: Any) -> SelfPlayRollout:
        z = np.zeros
        return cls(obs=z((steps, columns, obs_dim), np.float32),
                   actions=z((steps, columns, *action_shape), action_dtype),
                   logprobs=z((steps, columns), np.float32),
                   values=z((steps, columns), np.float32),
                   rewards=z((steps, columns), np.float32),
                   bootstrap=z((steps, columns), np.float32),
                   terminated=z((steps, columns), np.float32),
                   dones=z((steps, columns), np.float32),
                   valid=z((steps, columns), np.float32),
                   last_value=z(columns, np.float32))


@dataclass
class GameStats:
    """Results of finished games, for logs and plots (drained by the trainer)."""

    recent_returns: deque[float] = field(default_factory=lambda: deque(maxlen=100))
    wins: int = 0
    draws: int = 0
    losses: int = 0
    self_games: int = 0  # games of the learner against itself (not in wins/draws/losses)
    finished: list[dict[str, Any]] = field(default_factory=list)


class SelfPlayCollector:
    """Plays the learner against pool snapshots in a RocketVecEnv and rates every game.

    load_opponent(snapshot) -> a policy callable; loaded snapshots are cached, and dropped
    when the pool evicts them. counter: the shared timestep counter (multiprocessing.Value)
    that the envs' curriculum source reads. two_sided: a column for every car of both
    teams (needed when the pool can draw SELF).
    """

    def __init__(self, venv: RocketVecEnv, pool: OpponentPool, ratings: RatingTable,
                 counter: Any, load_opponent: Callable[[Snapshot], OpponentPolicy],
                 gamma: float, two_sided: bool = False) -> None:
        if pool.p_self > 0.0 and not two_sided:
            raise ValueError("a pool that draws SELF needs two_sided columns")
        self.venv = venv
        self.pool = pool
        self.ratings = ratings
        self.counter = counter
        self.load_opponent = load_opponent
        self.gamma = gamma
        self.m = venv.config.max_team_size
        self.width = 2 * self.m if two_sided else self.m  # columns per env
        self.columns = venv.num_envs * self.width
        self._cache: dict[str, OpponentPolicy] = {}
        self.opponents: list[Snapshot] = []
        self.returns = np.zeros((venv.num_envs, venv.slots), dtype=np.float64)
        self.stats = GameStats()
        self.started = False
        self._value_fn: ValueFn = lambda obs: np.zeros(len(obs), np.float32)
        self._transform: Callable[[np.ndarray], np.ndarray] = lambda obs: obs

    def add_snapshot(self, snapshot: Snapshot) -> list[Snapshot]:
        """Put a new snapshot into the pool (rated as the learner now); returns evictions."""
        evicted = self.pool.add(snapshot)
        self.ratings.add_snapshot(snapshot.id)
        for old in evicted:
            self._cache.pop(old.id, None)
        return evicted

    def _policy(self, snapshot: Snapshot) -> OpponentPolicy:
        if snapshot.id not in self._cache:
            self._cache[snapshot.id] = self.load_opponent(snapshot)
        return self._cache[snapshot.id]

    def _start(self) -> None:
        self.venv.reset()
        self.opponents = [self.pool.sample(self.ratings) for _ in range(self.venv.num_envs)]
        self.started = True

    def _self_games(self) -> np.ndarray:
        """(envs,) True where the env's game is the learner against itself."""
        return np.array([o.id == SELF.id for o in self.opponents], dtype=bool)

    def _column(self, env: Any, slot: Any, learner_team: Any) -> Any:
        """The rollout column of car `slot` in `env`: the learner's team's cars first."""
        return env * self.width + (slot - learner_team * self.m) % (2 * self.m)

    def _learner_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(env, slot) of every car the learner drives now, and its rollout column."""
        v = self.venv
        mine = v.alive & ((v.team == v.learner_team[:, None]) | self._self_games()[:, None])
        envs, slots = np.nonzero(mine)
        return envs, slots, self._column(envs, slots, v.learner_team[envs].astype(np.int64))

    def collect(self, learner: LearnerPolicy, value_fn: ValueFn, num_steps: int,
                transform: Callable[[np.ndarray], np.ndarray] | None = None
                ) -> SelfPlayRollout:
        """num_steps steps of every env. transform: the learner's input from raw
        observations (an observation normaliser); the rollout stores what the learner saw,
        and value_fn receives transformed observations too."""
        v = self.venv
        self._transform = transform or (lambda obs: obs)
        if not self.started:
            self._start()
        self._value_fn = value_fn  # bootstraps timeouts in _finish_game
        action_shape = v.actions.shape[2:]
        out = SelfPlayRollout.empty(num_steps, self.columns, v.obs.shape[-1], action_shape,
                                    v.actions.dtype)
        for t in range(num_steps):
            envs, slots, cols = self._learner_columns()
            out.dones[t] = out.terminated[t] = 1.0  # columns without a car this step
            obs = self._transform(v.obs[envs, slots])
            actions, logprobs, values = learner(obs)
            v.actions[envs, slots] = actions
            out.obs[t, cols], out.actions[t, cols] = obs, actions
            out.logprobs[t, cols], out.values[t, cols] = logprobs, values
            out.valid[t, cols] = 1.0
            out.dones[t, cols] = out.terminated[t, cols] = 0.0
            self._act_opponents()
            ends = v.step()
            self.counter.value += v.num_envs
            out.rewards[t, cols] = v.rewards[envs, slots]
            self.returns += v.rewards
            for end in ends:
                self._finish_game(end, out, t)
        envs, slots, cols = self._learner_columns()
        out.last_value[cols] = value_fn(self._transform(v.obs[envs, slots]))
        return out

    def _act_opponents(self) -> None:
        v = self.venv
        ids = sorted({s.id for s in self.opponents})
        index = np.array([ids.index(s.id) for s in self.opponents], dtype=np.int64)
        owner = owner_matrix(v.alive, v.team, v.learner_team, index)
        owner[self._self_games()] = -1  # the learner drove both teams there
        by_id = {s.id: s for s in self.opponents}
        for k, sid in enumerate(ids):
            mask = owner == k + 1
            if mask.any():
                v.actions[mask] = self._policy(by_id[sid])(v.obs[mask])

    def _finish_game(self, end: EpisodeEnd, out: SelfPlayRollout, t: int) -> None:
        e = end.env
        learner_team = 0 if end.learner_team is None else end.learner_team
        base = learner_team * self.m
        own = [base + k for k in range(self.m) if end.alive[base + k]]  # the learner team's
        opponent = self.opponents[e]
        # The cars whose transitions are the learner's: its team's, and in a game against
        # itself the other team's too.
        driven = [s for s in range(2 * self.m) if end.alive[s] and (
            opponent.id == SELF.id or base <= s < base + self.m)]
        cols = [int(self._column(e, s, learner_team)) for s in driven]
        out.dones[t, cols] = out.terminated[t, cols] = 1.0
        if end.truncated and driven:
            final = end.final_obs[driven]
            out.bootstrap[t, cols] = self.gamma * np.asarray(
                self._value_fn(self._transform(final)), np.float32)
        learner_return = float(np.mean(self.returns[e, own])) if own else 0.0
        self.returns[e] = 0.0
        score = 0.5 if end.winner is None else float(end.winner == learner_team)
        stats = self.stats
        stats.recent_returns.append(learner_return)
        stats.finished.append({"timesteps": int(self.counter.value), "opponent": opponent.id,
                               "score": score, "steps": end.steps,
                               "cars": int(end.alive.sum()), "return": learner_return,
                               "learner_touches": int(end.touches[own].sum()) if own else 0})
        if opponent.id == SELF.id:  # a game against itself rates nothing, wins nothing
            stats.self_games += 1
        else:
            self.ratings.record(LEARNER, opponent.id, score, timesteps=int(self.counter.value))
            stats.wins += score == 1.0
            stats.draws += score == 0.5
            stats.losses += score == 0.0
        self.opponents[e] = self.pool.sample(self.ratings)
