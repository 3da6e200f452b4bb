"""Car-frame features appended to DefaultObs: the ball, the goal and the other cars as
seen from the agent's own seat (`rocket.car_frame_obs`).

DefaultObs gives positions and velocities in field coordinates, with the car's forward and
up vectors beside them. "Is the ball ahead of me and to my left?" is then a product of
inputs, forward . (ball - car), which a ReLU network can only build piecewise, from many
samples. RLGym 1's AdvancedObs handed the policy the ball's position and velocity
relative to the car; here they are also turned into the car's own axes (forward, right,
up), the view a driver steers by, and the goal the agent attacks and every other car are
given the same way.

The numbers need no mirrored copy for orange: DefaultObs mirrors the field for orange
with a half turn about the vertical axis, which turns the car's axes with it, so the
car-frame coordinates of anything are the same either way
(tests/envs/rocket/test_rocket_obs.py checks orange's view against the mirrored state).

The features follow DefaultObs' row, so its layout (which the scripted chaser reads) is
unchanged, and they keep its fixed size: the other cars take DefaultObs' padded slots,
allies first, then opponents, zeros where a team is short.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from rlgym.api import AgentID, ObsBuilder
from rlgym.rocket_league.api import GameState
from rlgym.rocket_league.common_values import BLUE_GOAL_CENTER, BLUE_TEAM, ORANGE_GOAL_CENTER

from dreamlab.envs.rocket.config import other_car_slots

POS_COEF = 1 / 2300      # DefaultObs' scales, so the new columns sit in the same range
LIN_VEL_COEF = 1 / 2300
OWN_FEATURES = 9         # ball position, ball velocity, attacked goal: 3 each
OTHER_FEATURES = 6       # another car's position and velocity
_ATTACKED_GOAL = {BLUE_TEAM: np.asarray(ORANGE_GOAL_CENTER, dtype=np.float64),
                  1 - BLUE_TEAM: np.asarray(BLUE_GOAL_CENTER, dtype=np.float64)}


def car_frame_size(max_team_size: int) -> int:
    """Columns added for a padding of max_team_size cars a side."""
    return OWN_FEATURES + OTHER_FEATURES * (2 * max_team_size - 1)


def car_frame_features(agents: list[AgentID], state: GameState, max_team_size: int,
                       tables: dict[tuple, np.ndarray] | None = None) -> np.ndarray:
    """(len(agents), car_frame_size) float64: each agent's car-frame columns.

    A vector v in field coordinates is v @ R in the car's (forward, right, up) axes, R being
    the car's rotation matrix (its columns are those axes). Every car's vectors (ball,
    goal, each car) are turned in one batched product, then each agent's row is gathered
    through an index table that depends only on who plays where; `tables` caches those
    across steps (one per team layout), as FastDefaultObs does.
    """
    ids = list(state.cars)
    cars = [state.cars[i] for i in ids]
    n = len(cars)
    pos = np.array([c.physics.position for c in cars], dtype=np.float64)
    vel = np.array([c.physics.linear_velocity for c in cars], dtype=np.float64)
    rot = np.array([c.physics.rotation_mtx for c in cars], dtype=np.float64)
    teams = tuple(int(c.team_num) for c in cars)
    vectors = np.empty((n, 3 + 2 * n, 3))
    vectors[:, 0] = np.asarray(state.ball.position, dtype=np.float64) - pos
    vectors[:, 1] = np.asarray(state.ball.linear_velocity, dtype=np.float64) - vel
    vectors[:, 2] = _goals(teams) - pos
    vectors[:, 3:3 + n] = pos[None, :, :] - pos[:, None, :]   # [me, k]: car k from me
    vectors[:, 3 + n:] = vel[None, :, :] - vel[:, None, :]
    local = np.matmul(vectors, rot) * _scales(n)
    source = np.concatenate([np.zeros(1), local.ravel()])
    key = (tuple(ids), teams, tuple(agents), max_team_size)
    index = None if tables is None else tables.get(key)
    if index is None:
        index = _index_table(*key)
        if tables is not None:
            tables[key] = index
    return source[index]


@cache
def _goals(teams: tuple[int, ...]) -> np.ndarray:
    """Each car's attacked goal, per team layout (read-only: callers subtract from it)."""
    goals = np.array([_ATTACKED_GOAL[t] for t in teams])
    goals.flags.writeable = False
    return goals


@cache
def _scales(n: int) -> np.ndarray:
    """Per turned vector: ball position, ball velocity, goal, n positions, n velocities."""
    scales = np.array([POS_COEF, LIN_VEL_COEF, POS_COEF] + [POS_COEF] * n
                      + [LIN_VEL_COEF] * n)[:, None]
    scales.flags.writeable = False
    return scales


def _index_table(ids: tuple, teams: tuple, agents: tuple, max_team_size: int) -> np.ndarray:
    """Where each column of each agent's row comes from in car_frame_features' `source`
    (0 = padding): the agent's own three vectors, then the other cars in DefaultObs'
    slots, allies first, then opponents."""
    n = len(ids)
    per_car = 3 * (3 + 2 * n)   # one car's turned vectors, flattened

    def vec(me: int, j: int) -> np.ndarray:
        return 1 + per_car * me + 3 * j + np.arange(3)
    table = np.zeros((len(agents), car_frame_size(max_team_size)), dtype=np.intp)
    for row, agent in enumerate(agents):
        me = ids.index(agent)
        table[row, 0:9] = np.concatenate([vec(me, 0), vec(me, 1), vec(me, 2)])
        for slot, k in other_car_slots(teams, me, max_team_size):
            col = OWN_FEATURES + OTHER_FEATURES * slot
            table[row, col:col + 3] = vec(me, 3 + k)
            table[row, col + 3:col + 6] = vec(me, 3 + n + k)
    return table


class CarFrameObs(ObsBuilder[AgentID, np.ndarray, GameState, tuple[str, int]]):
    """Another builder's rows (DefaultObs or FastDefaultObs) with the car-frame columns
    appended."""

    def __init__(self, base: ObsBuilder, max_team_size: int) -> None:
        self.base = base
        self.max_team_size = max_team_size
        self.extra = car_frame_size(max_team_size)
        self._tables: dict[tuple, np.ndarray] = {}

    def get_obs_space(self, agent: AgentID) -> tuple[str, int]:
        kind, size = self.base.get_obs_space(agent)
        return kind, size + self.extra

    def reset(self, agents: list[AgentID], initial_state: GameState,
              shared_info: dict[str, Any]) -> None:
        self.base.reset(agents, initial_state, shared_info)

    def build_obs(self, agents: list[AgentID], state: GameState,
                  shared_info: dict[str, Any]) -> dict[AgentID, np.ndarray]:
        base = self.base.build_obs(agents, state, shared_info)
        extra = car_frame_features(agents, state, self.max_team_size, self._tables)
        return {agent: np.concatenate([base[agent], extra[i]])
                for i, agent in enumerate(agents)}
