"""State mutators: the team size read at every reset, a seeded kickoff, and scattered
starts that train play from anywhere on the field.

RLGym rebuilds the cars from an empty state at each reset, so a mutator that asks "how
many cars now?" each time switches 1v1 -> 1v2 -> 2v2 between episodes in the same env
object, with no env rebuild (issue 13).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from rlgym.api import StateMutator
from rlgym.rocket_league.api import GameState
from rlgym.rocket_league.common_values import (
    BACK_WALL_Y,
    BALL_RESTING_HEIGHT,
    BLUE_TEAM,
    CAR_MAX_SPEED,
    ORANGE_TEAM,
    SIDE_WALL_X,
)
from rlgym.rocket_league.state_mutators import KickoffMutator
from rlgym_tools.rocket_league.state_mutators.variable_team_size_mutator import (
    VariableTeamSizeMutator,
)

from dreamlab.envs.rocket.config import TeamSize, check_fits_padding

TeamSizeSource = Callable[[], TeamSize]


class TeamSizeMutator(StateMutator[GameState]):
    """Adds `blue-i` / `orange-i` cars for the team size `source()` gives at this reset.

    `source` is any callable: a fixed size, or the self-play curriculum reading the shared
    timestep counter. A size over the observation padding is a ConfigError, not silently
    longer observations.
    """

    def __init__(self, source: TeamSizeSource, max_team_size: int) -> None:
        self.source = source
        self.max_team_size = max_team_size
        self.current: TeamSize | None = None
        # rlgym-tools' public car factory: every field a new car needs, kept upstream.
        self._factory = VariableTeamSizeMutator({(1, 1): 1.0})

    def apply(self, state: GameState, shared_info: dict[str, Any]) -> None:
        size = self.source()
        check_fits_padding(size, self.max_team_size)
        self.current = size
        for team, count, prefix in ((BLUE_TEAM, size.blue, "blue"),
                                    (ORANGE_TEAM, size.orange, "orange")):
            for i in range(count):
                car = self._factory.make_new_car()
                car.team_num = team
                state.cars[f"{prefix}-{i}"] = car


class SeededKickoffMutator(StateMutator[GameState]):
    """RLGym's kickoff spawns, shuffled by a numpy Generator instead of the global `random`.

    KickoffMutator shuffles with Python's module-level `random`, which a library must not
    reseed (STYLE.md: no global side effects); this draws the same spawns from the env's
    own generator, so `reset(seed=...)` makes kickoffs reproducible.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def apply(self, state: GameState, shared_info: dict[str, Any]) -> None:
        state.ball.position = np.array([0.0, 0.0, BALL_RESTING_HEIGHT], dtype=np.float32)
        state.ball.linear_velocity = np.zeros(3, dtype=np.float32)
        state.ball.angular_velocity = np.zeros(3, dtype=np.float32)
        order = self.rng.permutation(len(KickoffMutator.SPAWN_BLUE_POS))
        used = {BLUE_TEAM: 0, ORANGE_TEAM: 0}
        spawns = {
            BLUE_TEAM: (KickoffMutator.SPAWN_BLUE_POS, KickoffMutator.SPAWN_BLUE_YAW),
            ORANGE_TEAM: (KickoffMutator.SPAWN_ORANGE_POS, KickoffMutator.SPAWN_ORANGE_YAW),
        }
        for car in state.cars.values():
            positions, yaws = spawns[car.team_num]
            slot = order[used[car.team_num]]
            used[car.team_num] += 1
            car.physics.position = positions[slot].copy()
            car.physics.linear_velocity = np.zeros(3, dtype=np.float32)
            car.physics.angular_velocity = np.zeros(3, dtype=np.float32)
            car.physics.euler_angles = np.array([0.0, yaws[slot], 0.0], dtype=np.float32)
            car.boost_amount = 33.3  # kickoff boost, as in RLGym's KickoffMutator


# Scattered starts stay this far inside the side and back walls and the corners' diagonal
# walls (|x| + |y| = CORNER_DIAGONAL, the bound rlgym-tools' RandomPhysicsMutator checks),
# clear of the curved ramps, so every car starts on flat floor and the ball rolls rather
# than climbs.
WALL_MARGIN = 600.0
CORNER_DIAGONAL = 8064.0
CAR_RESTING_HEIGHT = 17.0  # uu: KickoffMutator's spawn height
MIN_CAR_BALL_GAP = 400.0   # uu: no car starts on top of the ball
BALL_START_SPEED = 600.0   # uu/s: at most this, flat: a loose ball, not a shot
CAR_START_SPEED = 0.6 * CAR_MAX_SPEED


class ScatterStartMutator(StateMutator[GameState]):
    """With probability `chance`, ball and cars start anywhere on the floor, rolling and
    driving in random directions; otherwise RLGym's kickoff (SeededKickoffMutator).

    Every game from a kickoff shows the learner one opening and a slow walk to the rest
    of the field; scattered starts put it beside a ball near either goal from the first
    update (the kind of start rlgym-tools' RandomPhysicsMutator gives, but on the
    ground: that one throws cars into the air at random tilts). `rng` is the env's own
    generator, shared with the kickoff, so reset(seed=...) still replays the same games;
    at chance 0 no number is drawn, so kickoffs are what they were without this mutator.
    """

    def __init__(self, kickoff: SeededKickoffMutator, chance: float) -> None:
        self.kickoff = kickoff
        self.chance = chance

    def apply(self, state: GameState, shared_info: dict[str, Any]) -> None:
        if self.chance <= 0.0 or self.kickoff.rng.random() >= self.chance:
            self.kickoff.apply(state, shared_info)
            return
        rng = self.kickoff.rng
        ball = state.ball
        ball.position = floor_spot(rng, BALL_RESTING_HEIGHT)
        heading = rng.uniform(-np.pi, np.pi)
        speed = rng.uniform(0.0, BALL_START_SPEED)
        ball.linear_velocity = flat_velocity(speed, heading)
        ball.angular_velocity = np.zeros(3, dtype=np.float32)
        for car in state.cars.values():
            while True:
                pos = floor_spot(rng, CAR_RESTING_HEIGHT)
                if np.hypot(*(pos[:2] - ball.position[:2])) >= MIN_CAR_BALL_GAP:
                    break
            yaw = rng.uniform(-np.pi, np.pi)
            speed = rng.uniform(0.0, CAR_START_SPEED)
            car.physics.position = pos
            car.physics.linear_velocity = flat_velocity(speed, yaw)
            car.physics.angular_velocity = np.zeros(3, dtype=np.float32)
            car.physics.euler_angles = np.array([0.0, yaw, 0.0], dtype=np.float32)
            car.boost_amount = float(rng.uniform(0.0, 100.0))


def floor_spot(rng: np.random.Generator, height: float) -> np.ndarray:
    """A uniform point of the flat floor, WALL_MARGIN inside every wall (corners too)."""
    x_max, y_max = SIDE_WALL_X - WALL_MARGIN, BACK_WALL_Y - WALL_MARGIN
    while True:
        x, y = rng.uniform(-x_max, x_max), rng.uniform(-y_max, y_max)
        if abs(x) + abs(y) <= CORNER_DIAGONAL - WALL_MARGIN:
            return np.array([x, y, height], dtype=np.float32)


def flat_velocity(speed: float, heading: float) -> np.ndarray:
    """A velocity along the floor: `speed` uu/s towards `heading` (radians from +x)."""
    return np.array([speed * np.cos(heading), speed * np.sin(heading), 0.0], dtype=np.float32)
