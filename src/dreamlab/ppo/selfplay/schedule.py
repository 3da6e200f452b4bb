"""The team-size curriculum: which matchup is played at which timestep.

seeds/003 trains 1v1 for timesteps [0, 2M), 1v2 for [2M, 3.5M) and 2v2 after that. A
stage names the learner's team size first: "1v2" is the learner alone against two. The
env reads the stage at every reset through `CurriculumTeamSizes`, a callable that looks
at a shared timestep counter, so envs (and env worker processes) are never rebuilt.
Pure Python: no rlgym, no torch.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Protocol

from dreamlab.envs.rocket.config import TeamSize, parse_team_size
from dreamlab.errors import ConfigError

# seeds/003 ("CURRICULUM RESTRICTION"): stage 0 1v1 [0, 2M), stage 1 1v2 [2M, 3.5M),
# stage 2 2v2 [3.5M, inf).
DEFAULT_STAGES: tuple[dict[str, Any], ...] = (
    {"team_size": "1v1", "start": 0},
    {"team_size": "1v2", "start": 2_000_000},
    {"team_size": "2v2", "start": 3_500_000},
)
LEARNER_TEAMS = ("blue", "orange", "alternate")
LEARNER_SIDES = ("first", "second", "alternate")


@dataclass(frozen=True)
class CurriculumStage:
    """One stage: `learner` cars against `opponents` cars from timestep `start` on."""

    name: str
    learner: int
    opponents: int
    start: int


class Counter(Protocol):
    """Anything with an integer `.value`: a multiprocessing.Value, or a plain holder."""

    value: int


def parse_stages(stages: Any, starts: list[int] | None = None,
                 source: str = "selfplay.curriculum_stages") -> list[CurriculumStage]:
    """Stages from YAML: a list of {team_size, start} mappings, or the seed's plain list
    of names (["1v1", "1v2", "2v2"]) with `starts` (default: the seed's 0, 2M, 3.5M)."""
    if stages is None:
        stages = [dict(s) for s in DEFAULT_STAGES]
    if not isinstance(stages, list) or not stages:
        raise ConfigError(f"{source} must be a non-empty list of stages, got {stages!r}")
    if all(isinstance(s, str) for s in stages):
        if starts is None:
            if len(stages) != len(DEFAULT_STAGES):
                raise ConfigError(f"{source}: a list of names needs stage_starts",
                                  "add stage_starts: [0, 2000000, ...], one per stage")
            starts = [s["start"] for s in DEFAULT_STAGES]
        if len(starts) != len(stages):
            raise ConfigError(f"{source}: {len(stages)} stages but {len(starts)} "
                              "stage_starts")
        stages = [{"team_size": n, "start": t} for n, t in zip(stages, starts, strict=True)]
    out = []
    for i, stage in enumerate(stages):
        if not isinstance(stage, dict) or set(stage) - {"team_size", "start"} \
                or "team_size" not in stage:
            raise ConfigError(f"{source}[{i}] must be {{team_size: 1v1, start: 0}}, "
                              f"got {stage!r}")
        size = parse_team_size(stage["team_size"])
        start = stage.get("start", 0 if i == 0 else None)
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ConfigError(f"{source}[{i}].start must be a timestep >= 0, got {start!r}")
        out.append(CurriculumStage(str(size), size.blue, size.orange, start))
    if out[0].start != 0:
        raise ConfigError(f"{source}: the first stage must start at 0, not {out[0].start}")
    for a, b in zip(out, out[1:], strict=False):
        if b.start <= a.start:
            raise ConfigError(f"{source}: stage starts must increase ({a.name} at {a.start}, "
                              f"then {b.name} at {b.start})")
    return out


class TeamSizeSchedule:
    """Stages by timesteps: stage_at(t) is the last stage whose start <= t."""

    def __init__(self, stages: list[CurriculumStage] | None = None) -> None:
        self.stages = stages if stages is not None else parse_stages(None)
        self._starts = [s.start for s in self.stages]

    def index_at(self, timesteps: int) -> int:
        return max(0, bisect.bisect_right(self._starts, timesteps) - 1)

    def stage_at(self, timesteps: int) -> CurriculumStage:
        return self.stages[self.index_at(timesteps)]

    @property
    def max_team_size(self) -> int:
        """The observation padding every stage fits in."""
        return max(max(s.learner, s.opponents) for s in self.stages)

    def scaled(self, factor: float) -> TeamSizeSchedule:
        """The same stages with boundaries times `factor` (a short run of the curriculum)."""
        return TeamSizeSchedule([CurriculumStage(s.name, s.learner, s.opponents,
                                                 int(s.start * factor)) for s in self.stages])


class CurriculumTeamSizes:
    """The env's team-size source: the stage at the shared timestep counter, as blue/orange.

    learner_team: blue, orange, or alternate (switch every episode; observations are
    mirrored for orange, so one policy plays both ends). learner_side: in an uneven stage
    such as 1v2, does the learner take the first number (alone against two), the second,
    or alternate. Picklable, so it can travel to an env worker process with the counter.
    """

    def __init__(self, schedule: TeamSizeSchedule, counter: Counter,
                 learner_team: str = "blue", learner_side: str = "first") -> None:
        if learner_team not in LEARNER_TEAMS:
            raise ConfigError(f"learner_team must be one of {', '.join(LEARNER_TEAMS)}, "
                              f"got {learner_team!r}")
        if learner_side not in LEARNER_SIDES:
            raise ConfigError(f"learner_side must be one of {', '.join(LEARNER_SIDES)}, "
                              f"got {learner_side!r}")
        self.schedule = schedule
        self.counter = counter
        self.learner_team = learner_team
        self.learner_side = learner_side
        self.episodes = 0

    def __call__(self) -> TeamSize:
        stage = self.schedule.stage_at(int(self.counter.value))
        flip = self.episodes % 2 == 1
        # With both alternating, the side changes every second episode, so the learner
        # meets all four (colour, side) combinations.
        side_flip = (self.episodes // 2) % 2 == 1 if self.learner_team == "alternate" else flip
        self.episodes += 1
        mine, theirs = stage.learner, stage.opponents
        if self.learner_side == "second" or (self.learner_side == "alternate" and side_flip):
            mine, theirs = theirs, mine
        team = {"blue": 0, "orange": 1}.get(self.learner_team, int(flip))
        blue, orange = (mine, theirs) if team == 0 else (theirs, mine)
        return TeamSize(blue, orange, learner_team=team)
