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

from dreamlab.envs.rocket.car_frame_obs import car_frame_size
from dreamlab.envs.rocket.config import other_car_slots

GLOBAL_FEATURES = 52  # ball 9 + boost pads 34 + the agent's own partial state 9
CAR_FEATURES = 20
# Mirroring the field for orange negates x and y of every vector (PhysicsObject.INV_VEC).
_FLIP3 = PhysicsObject.INV_VEC
_FLIP_CAR = np.concatenate([np.tile(_FLIP3, 5), np.ones(5, dtype=np.float32)])


def obs_size(max_team_size: int, car_frame: bool = False) -> int:
    """Observation length for a padding of max_team_size cars a side (DefaultObs' formula),
    with the car-frame columns (car_frame_obs.py) when car_frame is set."""
    return GLOBAL_FEATURES + CAR_FEATURES * 2 * max_team_size \
        + (car_frame_size(max_team_size) if car_frame else 0)


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
        self._tables: dict[tuple, np.ndarray] = {}  # team layout -> gather index
        self._block_coefs = np.repeat(np.array([self.POS_COEF, 1.0, 1.0, self.LIN_VEL_COEF,
                                                self.ANG_VEL_COEF]), 3).astype(np.float32)

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
        """One (len(agents), size) float64 array, row i for agents[i].

        Every number an observation can hold is written once into a flat `source` vector
        (ball, pads and car rows, each also mirrored); each agent's row is then a gather
        from it through an index table that depends only on who plays on which team, so
        it is built once per team layout and reused for every step of every episode.
        """
        ids = list(state.cars)
        cars = [state.cars[i] for i in ids]
        feats = self._car_features(cars)
        ball = self._ball_features(state.ball)
        pads = state.boost_pad_timers * self.PAD_TIMER_COEF
        partial = [(car.is_holding_jump, car.handbrake, car.has_jumped, car.is_jumping,
                    car.has_flipped, car.is_flipping, car.has_double_jumped, car.can_flip,
                    car.air_time_since_jump) for car in cars]
        source = np.concatenate([
            np.zeros(1), ball, ball * _FLIP_CAR[:9], pads, pads[::-1],
            np.asarray(partial, dtype=np.float64).ravel(), feats.ravel(),
            (feats * _FLIP_CAR).ravel()])
        key = (tuple(ids), tuple(car.team_num for car in cars), tuple(agents), len(pads))
        index = self._tables.get(key)
        if index is None:
            index = self._tables[key] = self._index_table(*key)
        return source[index]

    def _index_table(self, ids: tuple, teams: tuple, agents: tuple, num_pads: int
                     ) -> np.ndarray:
        """Where each entry of each agent's row comes from in `source` (0 = padding)."""
        n = len(ids)
        ball, ball_flip = 1, 10
        pads, pads_rev = 19, 19 + num_pads
        partial = pads_rev + num_pads
        feats = partial + 9 * n
        flipped = feats + CAR_FEATURES * n
        table = np.zeros((len(agents), self.size), dtype=np.intp)
        car_cols = np.arange(CAR_FEATURES)
        for row, agent in enumerate(agents):
            me = ids.index(agent)
            orange = teams[me] == ORANGE_TEAM
            cars = flipped if orange else feats
            table[row, :9] = np.arange(9) + (ball_flip if orange else ball)
            table[row, 9:9 + num_pads] = np.arange(num_pads) + (pads_rev if orange else pads)
            table[row, 9 + num_pads:GLOBAL_FEATURES] = partial + 9 * me + np.arange(9)
            col = GLOBAL_FEATURES
            table[row, col:col + CAR_FEATURES] = cars + CAR_FEATURES * me + car_cols
            for slot, k in other_car_slots(teams, me, self.zero_padding):
                col = GLOBAL_FEATURES + CAR_FEATURES * (1 + slot)
                table[row, col:col + CAR_FEATURES] = cars + CAR_FEATURES * k + car_cols
        return table

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
        vectors = []
        for car in cars:
            p = car.physics
            rot = p.rotation_mtx
            vectors += (p.position, rot[:, 0], rot[:, 2], p.linear_velocity,
                        p.angular_velocity)
        # (n, 15) in the vectors' own dtype (float32), each block times its coefficient;
        # a float32 coefficient is what numpy makes of the Python float in DefaultObs.
        blocks = np.array(vectors).reshape(len(cars), 15) * self._coefs(vectors[0].dtype)
        out = np.empty((len(cars), CAR_FEATURES), dtype=np.float64)
        out[:, :15] = blocks
        out[:, 15:20] = [[car.boost_amount * self.BOOST_COEF, car.demo_respawn_timer,
                          int(car.on_ground), int(car.is_boosting), int(car.is_supersonic)]
                         for car in cars]
        return out

    def _coefs(self, dtype: np.dtype) -> np.ndarray:
        return self._block_coefs.astype(dtype, copy=False)
