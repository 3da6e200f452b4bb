"""RocketSimEngine with held actions stepped in one go: the same physics, fewer Python calls.

RLGym's RepeatAction turns one decision into tick_skip identical rows, and
RocketSimEngine.step then loops tick by tick: a fresh CarControls with eight attributes set,
`set_controls` for every car, and `arena.step(1)`, eight times per env step. That loop is a
large share of a step's Python time (notes/rocket-league-rlgym-v2.md). When every row of
every car's action is the same, the controls are set once and RocketSim steps the ticks in
one call, which runs the same per-tick physics and ball-touch callbacks inside C++.

With RLBot's one-tick action delay (RocketSimEngine's default), the stock loop steps a tick
before it sets each row's controls, so the first tick still runs the previous controls and
the last row's controls are left in place for the next step; `step(1)`, set, `step(n - 1)`
does exactly that. Anything else (rows that differ, a step with no cars, a malformed
action) goes through the stock loop and its checks. Every state, observation and reward
equals the stock engine's bit for bit (tests/envs/rocket/test_rocket_engine.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import RocketSim as rsim
from rlgym.api import AgentID
from rlgym.rocket_league.api import GameState
from rlgym.rocket_league.sim import RocketSimEngine


def _controls(row: np.ndarray) -> rsim.CarControls:
    """CarControls from one (8,) action row, set field by field as RocketSimEngine does."""
    controls = rsim.CarControls()
    controls.throttle = row[0]
    controls.steer = row[1]
    controls.pitch = row[2]
    controls.yaw = row[3]
    controls.roll = row[4]
    controls.jump = bool(row[5])
    controls.boost = bool(row[6])
    controls.handbrake = bool(row[7])
    return controls


def _held(actions: dict[AgentID, np.ndarray]) -> bool:
    """Every action a (ticks, 8) array whose rows are all the same (a zero row stride,
    as HeldRepeatAction hands them over, says so without comparing the rows)."""
    for action in actions.values():
        if action.ndim != 2 or action.shape[1] != 8:
            return False
        if action.strides[0] != 0 and not (action == action[0]).all():
            return False
    return True


class HeldActionEngine(RocketSimEngine):
    """RocketSimEngine whose step sets held controls once and steps the ticks in one call."""

    def step(self, actions: dict[AgentID, np.ndarray], shared_info: dict[str, Any]
             ) -> GameState:
        if not self._cars or len(actions) != len(self._cars) or not _held(actions):
            return super().step(actions, shared_info)
        ticks = next(iter(actions.values())).shape[0]
        if len({a.shape[0] for a in actions.values()}) != 1 or ticks == 0:
            return super().step(actions, shared_info)
        if self._rlbot_delay:
            self._arena.step(1)  # the previous step's controls, as the stock loop's first tick
        for agent_id, action in actions.items():
            self._cars[agent_id].set_controls(_controls(action[0]))
        rest = ticks - 1 if self._rlbot_delay else ticks
        if rest:
            self._arena.step(rest)
        self._tick_count += ticks
        return self._get_state()
