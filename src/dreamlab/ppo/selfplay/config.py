"""Self-play settings: the `selfplay:` block of a YAML (seeds/003's `training.selfplay`).

The seed wrote `selfplay: {enabled: true, curriculum_stages: ["1v1", "1v2", "2v2"]}`;
that file loads as it is (stage boundaries default to the seed's 0, 2M, 3.5M), and a
stage may also be written `{team_size: 1v2, start: 2000000}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from dreamlab.config.base import check_field, check_values, opt
from dreamlab.errors import ConfigError
from dreamlab.ppo.selfplay.schedule import (
    LEARNER_SIDES,
    LEARNER_TEAMS,
    TeamSizeSchedule,
    parse_stages,
)

SELECT_OPPONENTS = ("random", "chaser")  # scripted: the same games for every candidate


@dataclass
class SelfPlayConfig:
    """Opponent pool, ratings and team-size curriculum of a self-play run."""

    ALGO = "ppo"

    enabled: bool = opt(False, "train by self-play against a pool of past snapshots")
    curriculum_stages: list | None = field(default=None, metadata={
        "help": "team sizes by timesteps: [{team_size: 1v1, start: 0}, ...] or names with "
                "stage_starts; default seeds/003's 1v1 [0, 2M), 1v2 [2M, 3.5M), 2v2 after"})
    stage_starts: list | None = field(default=None, metadata={
        "help": "timesteps where each named stage starts (with a list of names)"})
    p_latest: float = opt(0.8, "probability that the opponent is the newest snapshot; "
                          "otherwise a past one weighted towards even matches", low=0, high=1)
    p_self: float = opt(0.0, "probability that a game is the learner against itself, both "
                        "teams' cars trained (rlgym-ppo's latest vs latest: twice the "
                        "transitions per env step); otherwise a pool opponent as below",
                        low=0, high=1)
    p_chaser: float = opt(0.0, "probability that a game's opponent is the scripted chaser "
                          "(drives at the ball and boosts) instead of a pool snapshot",
                          low=0, high=1)
    pool_size: int = opt(20, "past snapshots kept in the pool (oldest dropped)", low=1)
    snapshot_every: int = opt(100_000, "timesteps between snapshots added to the pool", low=1)
    learner_team: str = opt("alternate", "the learner's colour: blue, orange, or alternate "
                            "every episode (orange sees a mirrored field)",
                            choices=LEARNER_TEAMS)
    learner_side: str = opt("first", "in an uneven stage such as 1v2: first = the learner "
                            "is the 1, second = the 2, alternate", choices=LEARNER_SIDES)
    select_candidates: int = opt(0, "at the end of training, the newest pool snapshots "
                                 "that play validation games beside the final learner; "
                                 "the best goal difference becomes the learner `dreamlab "
                                 "eval` plays (select.py); 0 = the final learner", low=0)
    select_games: int = opt(100, "validation games per candidate and opponent", low=1)
    select_opponents: str = opt("random", "the validation games' opponents: random, chaser, "
                                "or both comma-separated")
    select_minutes: float = opt(3.0, "the selection's share of a time budget (--max-minutes):"
                                " training stops this much earlier, and a candidate that "
                                "would not end inside it (at the mean time of those before"
                                " it) is skipped, with the older ones", low=0)
    select_workers: int = opt(2, "processes that play candidates' validation games side by "
                              "side (one env each); 1 = one after another in the trainer's "
                              "own process", low=1)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.metadata.get("low") is not None or f.metadata.get("choices"):
                check_field(f, getattr(self, f.name))
        self.schedule()  # bad stages fail here, with the config, not mid-run
        bad = [n for n in self.select_opponents.split(",") if n.strip() not in SELECT_OPPONENTS]
        if bad:
            raise ConfigError(f"--select-opponents must name random and/or chaser, got "
                              f"{self.select_opponents!r}")

    def schedule(self) -> TeamSizeSchedule:
        return TeamSizeSchedule(parse_stages(self.curriculum_stages, self.stage_starts))

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, source: str = "selfplay"
                  ) -> SelfPlayConfig:
        return cls(**check_values(dict(data or {}), cls, source))
