"""What one Rocket League env is: team sizes, observation padding, actions, episode limits.

Pure Python (no rlgym import), so configs and team-size strings can be checked, and errors
shown as one line, on a machine without the `rocket` extra.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dreamlab.config.base import check_field, check_values, opt
from dreamlab.errors import ConfigError

ACTION_KINDS = ("discrete", "continuous")
TICKS_PER_SECOND = 120  # RocketSim's physics rate; tick_skip counts these
_TEAM_SIZE = re.compile(r"^\s*(\d+)\s*v\s*(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TeamSize:
    """Cars per side for one episode: blue (team 0) and orange (team 1).

    learner_team: which side the learning policy plays this episode, when a self-play
    curriculum decides it; the env only passes it on in every agent's info.
    """

    blue: int
    orange: int
    learner_team: int | None = None

    @property
    def num_agents(self) -> int:
        return self.blue + self.orange

    def __str__(self) -> str:
        return f"{self.blue}v{self.orange}"


def parse_team_size(text: str | TeamSize | tuple[int, int]) -> TeamSize:
    """'1v2' -> TeamSize(1, 2); a tuple or a TeamSize passes through (checked)."""
    if isinstance(text, TeamSize):
        blue, orange = text.blue, text.orange
    elif isinstance(text, tuple | list) and len(text) == 2:
        blue, orange = int(text[0]), int(text[1])
    else:
        match = _TEAM_SIZE.match(str(text))
        if not match:
            raise ConfigError(f"team size must look like 1v1, 1v2 or 2v2, got {text!r}")
        blue, orange = int(match.group(1)), int(match.group(2))
    if blue < 1 or orange < 1:
        raise ConfigError(f"each team needs at least one car, got {blue}v{orange}")
    return TeamSize(blue, orange)


def check_fits_padding(size: TeamSize, max_team_size: int) -> None:
    """DefaultObs pads to max_team_size cars a side; a bigger team would silently make
    longer observations than the declared space (notes/rocket-league-rlgym-v2.md), so it
    is refused here instead."""
    if max(size.blue, size.orange) > max_team_size:
        raise ConfigError(
            f"team size {size} does not fit the observation padding of {max_team_size} cars "
            "a side",
            f"set max_team_size: {max(size.blue, size.orange)} (observations get longer, so "
            "older checkpoints will not load)",
        )


def other_car_slots(teams: tuple[int, ...] | list[int], me: int, max_team_size: int
                    ) -> list[tuple[int, int]]:
    """(slot, car index) of every car but `me`, in DefaultObs' order: allies in slots 0,
    1, ... and opponents after the allies' padding (max_team_size - 1 slots), as
    DefaultObs lays out its rows; FastDefaultObs and the car-frame columns both read it."""
    allies = [k for k in range(len(teams)) if k != me and teams[k] == teams[me]]
    enemies = [k for k in range(len(teams)) if teams[k] != teams[me]]
    first_enemy = max(max_team_size - 1, len(allies))
    return list(enumerate(allies)) + [(first_enemy + j, k) for j, k in enumerate(enemies)]


@dataclass
class RocketEnvConfig:
    """Every knob of the Rocket League env; the `rocket:` block of a self-play YAML."""

    ALGO = "ppo"  # for check_values' hint (`dreamlab ppo --help`)

    team_size: str = opt("1v1", "cars per side at the first reset, e.g. 1v1, 1v2, 2v2; a "
                         "curriculum changes it between episodes")
    max_team_size: int = opt(2, "observation padding in cars a side: one observation size "
                             "for every team size up to this", low=1, high=4)
    action: str = opt("discrete", "discrete: RLGym's 90-entry lookup table; continuous: the "
                      "8 controls in [-1, 1] (jump, boost, handbrake pressed when > 0)",
                      choices=ACTION_KINDS)
    tick_skip: int = opt(8, "physics ticks (120 Hz) per agent step; 8 = 15 decisions a second",
                         low=1)
    no_touch_timeout_s: float = opt(30.0, "truncate when no car touched the ball for this "
                                    "long (game seconds)", above=0)
    game_timeout_s: float = opt(300.0, "truncate an episode after this long (game seconds; "
                                "5 min is one Rocket League game)", above=0)
    scatter_start: float = opt(0.0, "chance that a training game starts with ball and cars "
                               "scattered over the floor instead of a kickoff (evaluation "
                               "always kicks off)", low=0, high=1)
    fast_obs: bool = opt(True, "vectorised observation builder (same numbers as DefaultObs, "
                         "tested equal); false = RLGym's DefaultObs")
    car_frame_obs: bool = opt(False, "append the ball, the goal it attacks and the other cars "
                              "in the car's own axes (car_frame_obs.py) to DefaultObs' row; "
                              "changes the observation size, so checkpoints do not mix")
    rewards: dict = field(default_factory=dict, metadata={
        "help": "reward weights (see configs/rocket_rewards.yaml); empty = those defaults"})

    def __post_init__(self) -> None:
        for f in self.__dataclass_fields__.values():
            if f.metadata.get("help") and f.name != "rewards":
                check_field(f, getattr(self, f.name))
        check_fits_padding(parse_team_size(self.team_size), self.max_team_size)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, source: str = "rocket"
                  ) -> RocketEnvConfig:
        """Build from a YAML mapping: unknown keys and wrong types are one ConfigError."""
        return cls(**check_values(dict(data or {}), cls, source))
