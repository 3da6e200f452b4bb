"""Ratings of the learner and of every pool snapshot, from game results (OpenSkill).

OpenSkill's Plackett-Luce model (Weng & Lin 2011) is TrueSkill's open relative: a rating is
a mean `mu` and an uncertainty `sigma`, it handles draws and teams, and it is a small
pure-Python library. A policy controls every car of its side, so a 1v2 or 2v2 game is one
policy against another: each side is rated as one player, whatever its team size.

rocket-learn's scheme: the learner carries its own rating; a new snapshot starts from the
learner's rating at the time it is taken, and each game updates the two policies that
played it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dreamlab.errors import EnvError

LEARNER = "learner"
HISTORY_MAX = 4000  # points of rating history kept; older halves are thinned, not dropped


@dataclass(frozen=True)
class Rating:
    mu: float
    sigma: float

    @property
    def conservative(self) -> float:
        """mu - 3 sigma: the skill the policy has with ~99% confidence (TrueSkill's rank)."""
        return self.mu - 3.0 * self.sigma


def _model() -> Any:
    try:
        from openskill.models import PlackettLuce
    except ImportError as exc:
        raise EnvError("self-play ratings need openskill",
                       "pip install 'dreamlab[rocket]' (or pip install openskill)") from exc
    return PlackettLuce()


class RatingTable:
    """OpenSkill ratings keyed by policy id ("learner" or a snapshot id), with history."""

    def __init__(self) -> None:
        self.model = _model()
        base = self.model.rating()
        self.ratings: dict[str, Rating] = {LEARNER: Rating(base.mu, base.sigma)}
        self.history: list[dict[str, Any]] = []  # learner's rating after each game
        self.games = 0

    def __contains__(self, policy_id: str) -> bool:
        return policy_id in self.ratings

    def get(self, policy_id: str) -> Rating:
        return self.ratings[policy_id]

    def add_snapshot(self, snapshot_id: str) -> Rating:
        """A new snapshot starts at the learner's current rating."""
        self.ratings[snapshot_id] = self.ratings[LEARNER]
        return self.ratings[snapshot_id]

    def _os(self, policy_id: str) -> Any:
        r = self.ratings[policy_id]
        return self.model.rating(mu=r.mu, sigma=r.sigma, name=policy_id)

    def win_probability(self, a: str, b: str) -> float:
        """P(a beats b) under the model (draws shared out), for pairing even matches."""
        return float(self.model.predict_win([[self._os(a)], [self._os(b)]])[0])

    def record(self, a: str, b: str, score: float, timesteps: int = 0) -> None:
        """One game of policy a against policy b: score 1 = a won, 0 = b won, 0.5 = draw.

        A game of a policy against itself carries no information and is skipped.
        """
        if a == b:
            return
        if score not in (0.0, 0.5, 1.0):
            raise ValueError(f"score must be 0, 0.5 or 1, got {score}")
        ranks = {1.0: [0, 1], 0.0: [1, 0], 0.5: [0, 0]}[score]
        [[ra], [rb]] = self.model.rate([[self._os(a)], [self._os(b)]], ranks=ranks)
        self.ratings[a] = Rating(ra.mu, ra.sigma)
        self.ratings[b] = Rating(rb.mu, rb.sigma)
        self.games += 1
        learner = self.ratings[LEARNER]
        self.history.append({"timesteps": int(timesteps), "games": self.games,
                             "mu": learner.mu, "sigma": learner.sigma})
        if len(self.history) > HISTORY_MAX:
            # Keep every second point of the older half: the plot keeps its whole span.
            half = len(self.history) // 2
            self.history = self.history[:half:2] + self.history[half:]

    # --- persistence (JSON in the run directory; resumed after kill -9) -------------------
    def to_dict(self) -> dict[str, Any]:
        return {"model": "openskill.PlackettLuce", "games": self.games,
                "ratings": {k: [r.mu, r.sigma] for k, r in self.ratings.items()},
                "history": self.history}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RatingTable:
        table = cls()
        table.games = int(data.get("games", 0))
        table.ratings = {k: Rating(float(mu), float(sigma))
                         for k, (mu, sigma) in data["ratings"].items()}
        table.history = list(data.get("history", []))
        return table
