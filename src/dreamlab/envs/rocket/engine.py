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

Demolished cars respawn at a place drawn from the engine's own generator. RocketSim
respawns them at one of its respawn spots chosen by a thread-local generator seeded from
the clock, which Python cannot reach, so a game with a demo went differently on every run
of the same seed: the chaser (who boosts into the learner) never replayed its evaluation
games, and no self-play training with a demo replayed either. The engine notes each demo
(RocketSim's demo callback); in a step where a demolished car is due back, it steps tick
by tick and, on the tick RocketSim brings the car back, places it again with
`Car.respawn(seed)`, the seed drawn from `respawn_rng`: the same tick, the same choice of
spots, the same boost, only the draw is seeded. The env reseeds `respawn_rng` on
`reset(seed=...)`.
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
    """RocketSimEngine whose step sets held controls once and steps the ticks in one call,
    and whose demolished cars respawn where `respawn_rng` says."""

    def __init__(self, respawn_rng: np.random.Generator | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.respawn_rng = respawn_rng if respawn_rng is not None else np.random.default_rng()
        self._demoed: dict[int, rsim.Car] = {}  # car id -> car, demolished, not back yet
        self._arena.set_car_demo_callback(self._on_demo)

    def _on_demo(self, arena: rsim.Arena, bumper: rsim.Car, victim: rsim.Car,
                 data: Any) -> None:
        self._demoed[victim.id] = victim

    def _advance(self, ticks: int) -> None:
        """arena.step(ticks), in one call unless a demolished car is due back within it;
        then tick by tick, each returning car respawned from `respawn_rng`."""
        if self._demoed:
            horizon = (ticks + 0.5) * self._arena.tick_time
            if any(car.get_state().demo_respawn_timer <= horizon
                   for car in self._demoed.values()):
                for _ in range(ticks):
                    self._arena.step(1)
                    self._respawn_returned()
                return
        self._arena.step(ticks)
        self._respawn_returned()  # only where a respawn delay is shorter than a step

    def _respawn_returned(self) -> bool:
        """Place every car RocketSim has just brought back from a demo with a seeded draw;
        True if there was one."""
        placed = False
        for car_id, car in list(self._demoed.items()):
            if not car.get_state().is_demoed:
                del self._demoed[car_id]
                car.respawn(seed=int(self.respawn_rng.integers(0, 2**31 - 1)))
                placed = True
        return placed

    def set_state(self, desired_state: GameState, shared_info: dict[str, Any]) -> GameState:
        self._demoed.clear()  # the cars are new (RocketSimEngine rebuilds them)
        state = super().set_state(desired_state, shared_info)
        for car in self._cars.values():
            if car.get_state().is_demoed:
                self._demoed[car.id] = car
        return state

    def step(self, actions: dict[AgentID, np.ndarray], shared_info: dict[str, Any]
             ) -> GameState:
        if not self._cars or len(actions) != len(self._cars) or not _held(actions):
            return self._stock_step(actions, shared_info)
        ticks = next(iter(actions.values())).shape[0]
        if len({a.shape[0] for a in actions.values()}) != 1 or ticks == 0:
            return self._stock_step(actions, shared_info)
        if self._rlbot_delay:
            self._advance(1)  # the previous step's controls, as the stock loop's first tick
        for agent_id, action in actions.items():
            self._cars[agent_id].set_controls(_controls(action[0]))
        rest = ticks - 1 if self._rlbot_delay else ticks
        if rest:
            self._advance(rest)
        self._tick_count += ticks
        return self._get_state()

    def _stock_step(self, actions: dict[AgentID, np.ndarray], shared_info: dict[str, Any]
                    ) -> GameState:
        """RocketSimEngine's own loop, for what the held path does not take. A car back
        from a demo is placed again from `respawn_rng` only after the whole step (up to
        tick_skip - 1 ticks late): still reproducible, not tick exact."""
        state = super().step(actions, shared_info)
        return self._get_state() if self._respawn_returned() else state
