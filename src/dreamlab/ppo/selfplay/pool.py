"""The opponent pool: past snapshots of the learner, and which one to play next.

With probability `p_latest` the opponent is the newest snapshot (rlgym-ppo's latest vs
latest keeps the pressure on); otherwise a past snapshot drawn with weight
4 p (1 - p) ** sharpness, where p is the learner's win probability against it from the
ratings: 1 for an even match, near 0 for one the learner always wins or always loses
(rocket-learn's "weighted towards even matches"). Past snapshots keep the learner from
forgetting how to beat old strategies (ML-Agents keeps a window of them for this).
With probability `p_chaser` (default 0) the opponent is instead the scripted chaser
(envs/rocket/chaser.py), which is never evicted: a learner that only meets copies of
itself can stay weak against a bot that always reaches the ball first.
With probability `p_self` (default 0, drawn first) the game is the learner against
itself, live (SELF): rlgym-ppo's latest vs latest, where both teams' cars are the
learner's and both teams' transitions train it. A frozen newest snapshot plays nearly the
same game, but the opponent's half of the transitions is thrown away.

The pool holds metadata only (id, timesteps, weights file name); the trainer saves and
loads the weights. Pure Python + numpy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from dreamlab.errors import ConfigError


@dataclass(frozen=True)
class Snapshot:
    """A frozen copy of the learner: its id, when it was taken, where its weights are."""

    id: str
    timesteps: int
    path: str  # relative to the run directory


# The scripted chaser's seat in the pool; the trainer maps this id to the bot itself.
CHASER = Snapshot("chaser", 0, "")
# The learner itself, live: the collector drives both teams with it and trains on both.
SELF = Snapshot("self", 0, "")


class WinProbability(Protocol):
    def win_probability(self, a: str, b: str) -> float: ...


class OpponentPool:
    """At most `max_size` snapshots, oldest evicted first (the newest is never evicted)."""

    def __init__(self, p_latest: float = 0.8, max_size: int = 20, sharpness: float = 1.0,
                 seed: int | None = None, p_chaser: float = 0.0, p_self: float = 0.0) -> None:
        for name, p in (("p_latest", p_latest), ("p_chaser", p_chaser), ("p_self", p_self)):
            if not 0.0 <= p <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {p}")
        if max_size < 1:
            raise ConfigError(f"pool_size must be >= 1, got {max_size}")
        self.p_latest = p_latest
        self.p_chaser = p_chaser
        self.p_self = p_self
        self.max_size = max_size
        self.sharpness = sharpness
        self.snapshots: list[Snapshot] = []
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.snapshots)

    @property
    def latest(self) -> Snapshot:
        if not self.snapshots:
            raise RuntimeError("the opponent pool is empty: add the first snapshot before play")
        return self.snapshots[-1]

    def add(self, snapshot: Snapshot) -> list[Snapshot]:
        """Append a snapshot; return the ones evicted (their weights files can go)."""
        if any(s.id == snapshot.id for s in self.snapshots):
            raise ValueError(f"snapshot {snapshot.id} is already in the pool")
        self.snapshots.append(snapshot)
        evicted = self.snapshots[:-self.max_size] if len(self) > self.max_size else []
        self.snapshots = self.snapshots[-self.max_size:]
        return evicted

    def past_weights(self, ratings: WinProbability, learner: str) -> np.ndarray:
        """Sampling weights of the past snapshots (all but the newest), summing to 1."""
        past = self.snapshots[:-1]
        p = np.array([ratings.win_probability(learner, s.id) for s in past], dtype=np.float64)
        w = (4.0 * p * (1.0 - p)) ** self.sharpness + 1e-3  # never exactly 0: still explored
        return w / w.sum()

    def sample(self, ratings: WinProbability, learner: str = "learner") -> Snapshot:
        """The next opponent: the learner itself (SELF) with probability p_self; else the
        chaser with probability p_chaser; else the newest snapshot with probability
        p_latest, else a past one."""
        latest = self.latest  # an empty pool is an error, whatever the draw
        # No draw at p_self 0 either: older runs keep their opponent sequence.
        if self.p_self > 0.0 and self.rng.random() < self.p_self:
            return SELF
        # No draw at p_chaser 0, so runs without the chaser keep their opponent sequence.
        if self.p_chaser > 0.0 and self.rng.random() < self.p_chaser:
            return CHASER
        if len(self) == 1 or self.rng.random() < self.p_latest:
            return latest
        past = self.snapshots[:-1]
        return past[int(self.rng.choice(len(past), p=self.past_weights(ratings, learner)))]

    # --- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"p_latest": self.p_latest, "p_chaser": self.p_chaser, "p_self": self.p_self,
                "max_size": self.max_size,
                "sharpness": self.sharpness,
                "snapshots": [asdict(s) for s in self.snapshots],
                "rng": self.rng.bit_generator.state}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpponentPool:
        pool = cls(float(data["p_latest"]), int(data["max_size"]),
                   float(data.get("sharpness", 1.0)), p_chaser=float(data.get("p_chaser", 0.0)),
                   p_self=float(data.get("p_self", 0.0)))
        pool.snapshots = [Snapshot(**s) for s in data["snapshots"]]
        if "rng" in data:
            pool.rng.bit_generator.state = data["rng"]
        return pool
