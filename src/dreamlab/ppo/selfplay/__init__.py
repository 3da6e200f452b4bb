"""Self-play for the Rocket League env: opponent pool, ratings, team-size curriculum and
batched inference (issue 13). Importing this package needs neither rlgym nor torch; the
ratings need openskill (in the `rocket` extra), imported when a RatingTable is made.
"""

from dreamlab.ppo.selfplay.batching import (
    assign_sides,
    batched_actions,
    group_by_policy,
    learner_score,
)
from dreamlab.ppo.selfplay.config import SelfPlayConfig
from dreamlab.ppo.selfplay.pool import OpponentPool, Snapshot
from dreamlab.ppo.selfplay.ratings import LEARNER, Rating, RatingTable
from dreamlab.ppo.selfplay.schedule import (
    CurriculumStage,
    CurriculumTeamSizes,
    TeamSizeSchedule,
    parse_stages,
)

__all__ = [
    "LEARNER",
    "CurriculumStage",
    "CurriculumTeamSizes",
    "OpponentPool",
    "Rating",
    "RatingTable",
    "SelfPlayConfig",
    "Snapshot",
    "TeamSizeSchedule",
    "assign_sides",
    "batched_actions",
    "group_by_policy",
    "learner_score",
    "parse_stages",
]
