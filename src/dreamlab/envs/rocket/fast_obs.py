"""A vectorised DefaultObs: the same numbers, built once per step instead of once per agent.

RLGym's DefaultObs takes ~40% of a 1v1 step (notes/rocket-league-rlgym-v2.md): for each
agent it rebuilds every car's features and mirrors the field for orange, n^2 small array
concatenations per step. Here each car's features are built once, the mirrored copy is a
sign flip of them, and each agent's row is filled in place. The layout and every value
equal DefaultObs (tests/envs/rocket/test_rocket_obs.py compares them element for element
on numpy 1.26 and 2.x), so either builder can serve the same checkpoint.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rlgym.api import AgentID, ObsBuilder
from rlgym.rocket_league.api import Car, GameState, PhysicsObject
from rlgym.rocket_league.common_values import ORANGE_TEAM

GLOBAL_FEATURES = 52  # ball 9 + boost pads 34 + the agent's own partial state 9
CAR_FEATURES = 20
# Mirroring the field for orange negates x and y of every vector (PhysicsObject.INV_VEC).
_FLIP3 = PhysicsObject.INV_VEC
_FLIP_CAR = np.concatenate([np.tile(_FLIP3, 5), np.ones(5, dtype=np.float32)])


def obs_size(max_team_size: int) -> int:
    """Observation length for a padding of max_team_size cars a side (DefaultObs' formula)."""
    return GLOBAL_FEATURES + CAR_FEATURES * 2 * max_team_size


class FastDefaultObs(ObsBuilder[AgentID, np.ndarray, GameState, tuple[str, int]]):
    """DefaultObs(zero_padding=max_team_size) with the default coefficients, vectorised."""

    POS_COEF = 1 / 2300
    ANG_COEF = 1 / math.pi
    LIN_VEL_COEF = 1 / 2300
    ANG_VEL_COEF = 1 / math.pi
    PAD_TIMER_COEF = 1 / 10
    BOOST_COEF = 1 / 100

    def __init__(self, max_team_size: int) -> None:
        self.zero_padding = max_team_size
        self.size = obs_size(max_team_size)

    def get_obs_space(self, agent: AgentID) -> tuple[str, int]:
        return "real", self.size

    def reset(self, agents: list[AgentID], initial_state: GameState,
              shared_info: dict[str, Any]) -> None:
        pass

    def build_obs(self, agents: list[AgentID], state: GameState,
                  shared_info: dict[str, Any]) -> dict[AgentID, np.ndarray]:
        rows = self.build_matrix(agents, state)
        return {agent: rows[i] for i, agent in enumerate(agents)}

    def build_matrix(self, agents: list[AgentID], state: GameState) -> np.ndarray:
        """One (len(agents), size) float64 array, row i for agents[i]."""
        ids = list(state.cars)
        cars = [state.cars[i] for i in ids]
        teams = [car.team_num for car in cars]
        feats = self._car_features(cars)
        flipped = feats * _FLIP_CAR
        ball = self._ball_features(state.ball)
        pads = state.boost_pad_timers * self.PAD_TIMER_COEF
        out = np.zeros((len(agents), self.size), dtype=np.float64)
        pad_end = 9 + len(pads)
        for row, agent in enumerate(agents):
            me = ids.index(agent)
            car = cars[me]
            orange = car.team_num == ORANGE_TEAM
            table = flipped if orange else feats
            out[row, :9] = ball * _FLIP_CAR[:9] if orange else ball
            out[row, 9:pad_end] = pads[::-1] if orange else pads
            out[row, pad_end:GLOBAL_FEATURES] = (
                car.is_holding_jump, car.handbrake, car.has_jumped, car.is_jumping,
                car.has_flipped, car.is_flipping, car.has_double_jumped, car.can_flip,
                car.air_time_since_jump)
            start = GLOBAL_FEATURES
            out[row, start:start + CAR_FEATURES] = table[me]
            allies = [k for k in range(len(ids)) if k != me and teams[k] == car.team_num]
            enemies = [k for k in range(len(ids)) if teams[k] != car.team_num]
            start += CAR_FEATURES
            if allies:
                out[row, start:start + CAR_FEATURES * len(allies)] = table[allies].ravel()
            start += CAR_FEATURES * max(self.zero_padding - 1, len(allies))
            if enemies:
                out[row, start:start + CAR_FEATURES * len(enemies)] = table[enemies].ravel()
        return out

    def _ball_features(self, ball: PhysicsObject) -> np.ndarray:
        return np.concatenate([ball.position * self.POS_COEF,
                               ball.linear_velocity * self.LIN_VEL_COEF,
                               ball.angular_velocity * self.ANG_VEL_COEF])

    def _car_features(self, cars: list[Car]) -> np.ndarray:
        """(n, 20) rows as DefaultObs._generate_car_obs builds them, unmirrored.

        Each product is taken in the car arrays' own dtype (float32) before widening to
        float64, exactly as DefaultObs' per-car concatenate does, so values match bit for
        bit; the scalar boost product is Python arithmetic in both.
        """
        physics = [car.physics for car in cars]
        rot = np.stack([p.rotation_mtx for p in physics])
        out = np.empty((len(cars), CAR_FEATURES), dtype=np.float64)
        out[:, 0:3] = np.stack([p.position for p in physics]) * self.POS_COEF
        out[:, 3:6] = rot[:, :, 0]
        out[:, 6:9] = rot[:, :, 2]
        out[:, 9:12] = np.stack([p.linear_velocity for p in physics]) * self.LIN_VEL_COEF
        out[:, 12:15] = np.stack([p.angular_velocity for p in physics]) * self.ANG_VEL_COEF
        out[:, 15:20] = [[car.boost_amount * self.BOOST_COEF, car.demo_respawn_timer,
                          int(car.on_ground), int(car.is_boosting), int(car.is_supersonic)]
                         for car in cars]
        return out
