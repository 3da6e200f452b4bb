"""Reward weights for the Rocket League env, read from YAML (configs/rocket_rewards.yaml).

Pure Python, so a bad weights file is one line even without the `rocket` extra. The
components themselves are built in rewards.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from dreamlab.config.base import check_field, check_values, opt, read_yaml_mapping


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the reward components; 0 leaves a component out.

    Goals alone are far too sparse for PPO from scratch (random play scores about once per
    10-30k env steps, notes/rocket-league-rlgym-v2.md), so the defaults add dense shaping:
    driving at the ball, touching it, and moving it towards the opponents' goal. The
    velocity terms are normalised to at most 1 per game second, so a weight reads as
    "reward per second at full speed".
    """

    ALGO = "ppo"

    goal: float = opt(10.0, "per goal: + when the agent's team scores, - when it concedes")
    touch: float = opt(0.5, "per agent step in which the agent touched the ball")
    touch_min_kick: float = opt(
        0.0, "uu/s: `touch` pays only for a step whose touch changed the ball's velocity by "
        "at least this much (0: every touch, RLGym's TouchReward); a ball pinched between "
        "two cars barely moves, so farming touches in a stall pays nothing", low=0.0)
    player_to_ball_velocity: float = opt(
        0.5, "car speed towards the ball / 2300 uu/s, per game second (rlgym-tools)")
    ball_to_goal_velocity: float = opt(
        2.0, "ball speed towards the opponents' goal / 6000 uu/s, per game second")
    touch_ball_to_goal: float = opt(
        0.0, "on a touch, the ball's gain in speed towards the opponents' goal / 6000 uu/s "
        "(paid to the toucher only; a touch towards its own goal costs)")
    align_ball_goal: float = opt(
        0.0, "cos(car->ball, car->opponents' goal), per game second: + behind the ball, "
        "- between the ball and the goal it attacks, where a touch is an own goal's start")
    kickoff_first_touch: float = opt(
        0.0, "once a game, to the car that touches the kickoff ball first (nothing on a "
        "same-step touch by both teams, nor in scattered starts)")
    team_spirit: float = opt(0.3, "share of each reward spread over the agent's team "
                             "(OpenAI Five's team spirit; DistributeRewardsWrapper)",
                             low=0.0, high=1.0)
    opponent_weight: float = opt(0.5, "how much of the opponents' mean reward is subtracted; "
                                 "0.5 = zero-sum between teams", low=0.0, high=1.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            check_field(f, getattr(self, f.name))

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, source: str = "rewards") -> RewardWeights:
        """Unknown keys and non-numbers are one ConfigError line naming the key."""
        return cls(**check_values(dict(data or {}), cls, source))

    @classmethod
    def from_yaml(cls, path: str | Path) -> RewardWeights:
        data = read_yaml_mapping(path)
        return cls.from_dict(data.get("rewards", data), str(path))

    def to_dict(self) -> dict[str, float]:
        return asdict(self)
