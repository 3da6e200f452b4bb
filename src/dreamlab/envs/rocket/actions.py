"""Action parsers: RLGym's 90-entry lookup table, or the seed's 8 continuous controls.

Both are wrapped in RLGym's RepeatAction, so one agent step is `tick_skip` physics ticks
(8 ticks = 15 decisions a second, the field's usual setting).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rlgym.api import ActionParser, AgentID
from rlgym.rocket_league.action_parsers import LookupTableAction, RepeatAction
from rlgym.rocket_league.api import GameState

# The 8 controls, in RLGym's order (common_values: THROTTLE..HANDBRAKE). The last three are
# buttons: pressed when the policy's output is > 0.
_BUTTONS = slice(5, 8)


class ContinuousAction(ActionParser[AgentID, np.ndarray, np.ndarray, GameState, tuple[str, int]]):
    """The seed's continuous action (seeds/003: Box(-1, 1, (8,))): throttle, steer, pitch,
    yaw, roll in [-1, 1], then jump, boost, handbrake as buttons pressed when > 0."""

    def get_action_space(self, agent: AgentID) -> tuple[str, int]:
        return "continuous", 8

    def reset(self, agents: list[AgentID], initial_state: GameState,
              shared_info: dict[str, Any]) -> None:
        pass

    def parse_actions(self, actions: dict[AgentID, np.ndarray], state: GameState,
                      shared_info: dict[str, Any]) -> dict[AgentID, np.ndarray]:
        parsed = {}
        for agent, action in actions.items():
            controls = np.clip(np.asarray(action, dtype=np.float32).reshape(8), -1.0, 1.0)
            controls[_BUTTONS] = controls[_BUTTONS] > 0.0
            parsed[agent] = controls
        return parsed


class HeldRepeatAction(RepeatAction):
    """RLGym's RepeatAction, with the repeated rows a read-only broadcast of the one row
    instead of a copy: the same (ticks, 8) values, and HeldActionEngine (engine.py) sees
    from the zero row stride that the action is held, without comparing rows."""

    def parse_actions(self, actions: dict[AgentID, Any], state: GameState,
                      shared_info: dict[str, Any]) -> dict[AgentID, np.ndarray]:
        held = {}
        for agent, action in self.parser.parse_actions(actions, state, shared_info).items():
            if action.shape == (8,):
                action = action[None]
            elif action.shape != (1, 8):
                raise ValueError(f"Expected action to have shape (8,) or (1,8), got "
                                 f"{action.shape}")
            held[agent] = np.broadcast_to(action, (self.repeats, 8))
        return held


def make_action_parser(kind: str, tick_skip: int) -> ActionParser:
    """'discrete' (LookupTableAction, 90 actions) or 'continuous', repeated tick_skip ticks."""
    inner = LookupTableAction() if kind == "discrete" else ContinuousAction()
    return HeldRepeatAction(inner, repeats=tick_skip)


def num_discrete_actions() -> int:
    """Size of the lookup table (90 with rlgym 2.0.1), read from the library."""
    return len(LookupTableAction.make_lookup_table())
