"""The "chaser": a scripted opponent that drives at the ball and boosts (issue 13).

It reads the same observation the learner gets and answers in the learner's action space,
so it drops in wherever a policy does (an evaluation opponent, a pool snapshot's seat in
the collector). From the observation (RLGym's DefaultObs layout, which FastDefaultObs
keeps) it takes three vectors:

    ball position   obs[0:3]    (x 1/2300)
    car position    obs[52:55]  (x 1/2300), the agent's own car block starts at 52
    car forward     obs[55:58]  (unit vector: the rotation matrix's first column)

Orange's observation is mirrored (x and y negated), a half turn about the z axis: it
keeps the sign of every angle in the ground plane, so the same arithmetic steers both
colours. The angle from the car's forward to the ball, counter-clockwise positive, sets
the steer: measured in RocketSim, steer +1 raises the car's yaw (turns it
counter-clockwise seen from above), so steer = clip(gain * angle, -1, 1). Throttle is
always 1; boost is on when the ball is within `facing_rad` of straight ahead. For the
discrete action space the wanted 8 controls are matched to the nearest entry of RLGym's
90-entry LookupTableAction; for the continuous one they are the 8 floats themselves
(buttons > 0 pressed).
"""

from __future__ import annotations

import numpy as np

from dreamlab.envs.rocket.fast_obs import GLOBAL_FEATURES

BALL_POS = slice(0, 3)
CAR_POS = slice(GLOBAL_FEATURES, GLOBAL_FEATURES + 3)
CAR_FORWARD = slice(GLOBAL_FEATURES + 3, GLOBAL_FEATURES + 6)

# Controls, in RLGym's order.
THROTTLE, STEER, PITCH, YAW, ROLL, JUMP, BOOST, HANDBRAKE = range(8)


def angle_to_ball(obs: np.ndarray) -> np.ndarray:
    """(B,) signed angle in the ground plane from each car's forward to the ball, in
    radians, counter-clockwise (seen from above, +z) positive."""
    obs = np.asarray(obs, dtype=np.float64).reshape(-1, obs.shape[-1])
    to_ball = obs[:, BALL_POS][:, :2] - obs[:, CAR_POS][:, :2]
    fwd = obs[:, CAR_FORWARD][:, :2]
    cross = fwd[:, 0] * to_ball[:, 1] - fwd[:, 1] * to_ball[:, 0]
    dot = (fwd * to_ball).sum(axis=1)
    return np.arctan2(cross, dot)


class Chaser:
    """Scripted policy: obs (B, D) -> actions (B,) lookup-table indices, or (B, 8) floats.

    gain: steer per radian of heading error (saturates at +-1); facing_rad: boost when the
    ball is within this angle of straight ahead. The lookup table steers -1, 0 or +1, so
    with gain 2 the car turns once the error passes 0.25 rad. Measured against random
    play over 40 min of 1v1 game time (docs/rocket.md): gain 1 orbited the ball at times
    (7 drawn games of 42), gain 2 scored the most (84 goals for, 17 against).
    """

    def __init__(self, action: str = "discrete", gain: float = 2.0,
                 facing_rad: float = 0.3) -> None:
        if action not in ("discrete", "continuous"):
            raise ValueError(f"action must be discrete or continuous, got {action!r}")
        self.action = action
        self.gain = gain
        self.facing_rad = facing_rad
        self.table: np.ndarray | None = None
        if action == "discrete":
            from rlgym.rocket_league.action_parsers import LookupTableAction

            self.table = LookupTableAction.make_lookup_table().astype(np.float32)

    def controls(self, obs: np.ndarray) -> np.ndarray:
        """(B, 8) wanted controls in [-1, 1] (buttons 1 = pressed, 0 = not)."""
        angle = angle_to_ball(obs)
        steer = np.clip(self.gain * angle, -1.0, 1.0)
        out = np.zeros((len(angle), 8), dtype=np.float32)
        out[:, THROTTLE] = 1.0
        out[:, STEER] = steer
        out[:, YAW] = steer  # the lookup table's ground rows carry yaw = steer
        out[:, BOOST] = np.abs(angle) < self.facing_rad
        return out

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        wanted = self.controls(obs)
        if self.table is None:  # continuous: buttons pressed when > 0
            wanted[:, JUMP:] = np.where(wanted[:, JUMP:] > 0.5, 1.0, -1.0)
            return wanted
        return nearest_entry(self.table, wanted)


def nearest_entry(table: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """(B,) index of the table row closest (Euclidean) to each wanted control vector."""
    dist = ((wanted[:, None, :] - table[None, :, :]) ** 2).sum(axis=-1)
    return dist.argmin(axis=1).astype(np.int64)
