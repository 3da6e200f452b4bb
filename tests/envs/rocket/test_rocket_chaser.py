"""The scripted chaser: steers the right way, boosts when facing the ball, touches the ball
far more often than random play (skipped without the rocket extra)."""

import math

import numpy as np
import pytest

pytest.importorskip("RocketSim")
pytest.importorskip("rlgym.rocket_league")
pytest.importorskip("rlgym_tools")
pytest.importorskip("pettingzoo")

from dreamlab.envs.rocket import make_rocket_env  # noqa: E402
from dreamlab.envs.rocket.chaser import (  # noqa: E402
    BALL_POS,
    BOOST,
    CAR_FORWARD,
    CAR_POS,
    STEER,
    Chaser,
    angle_to_ball,
)
from dreamlab.envs.rocket.fast_obs import obs_size  # noqa: E402

POS = 1 / 2300  # DefaultObs' position coefficient


def _obs(car_xy, yaw: float, ball_xy, mirrored: bool = False) -> np.ndarray:
    """A hand-built observation row: only the entries the chaser reads are set. mirrored:
    orange's view of the same situation (x and y negated, as DefaultObs does)."""
    sign = -1.0 if mirrored else 1.0
    obs = np.zeros((1, obs_size(2)), np.float32)
    obs[0, BALL_POS] = [sign * ball_xy[0] * POS, sign * ball_xy[1] * POS, 93 * POS]
    obs[0, CAR_POS] = [sign * car_xy[0] * POS, sign * car_xy[1] * POS, 17 * POS]
    obs[0, CAR_FORWARD] = [sign * math.cos(yaw), sign * math.sin(yaw), 0.0]
    return obs


@pytest.mark.parametrize("mirrored", [False, True])
def test_steering_sign_and_boost_in_hand_built_situations(mirrored: bool) -> None:
    chaser = Chaser("discrete")
    table = chaser.table
    north = math.pi / 2  # facing +y
    cases = [  # (ball, wanted steer, boost): steer +1 raises the yaw (tested in the sim)
        ((-1500, 1500), 1.0, False),  # ahead-left: turn counter-clockwise
        ((1500, 1500), -1.0, False),  # ahead-right
        ((0, 2000), 0.0, True),  # straight ahead: full boost
        ((60, 2000), 0.0, True),  # nearly ahead: within the dead zone, still boost
        ((800, -1500), -1.0, False),  # behind-right
    ]
    for ball, steer, boost in cases:
        obs = _obs((0, 0), north, ball, mirrored)
        row = table[chaser(obs)[0]]
        assert row[0] == 1.0 and row[STEER] == steer and bool(row[BOOST]) == boost, ball
        assert row[5] == 0.0 and row[7] == 0.0  # never jumps or powerslides
    # The angle: counter-clockwise positive, and a mirrored view does not change it.
    assert angle_to_ball(_obs((0, 0), north, (-1, 1), mirrored))[0] == pytest.approx(
        math.pi / 4, abs=1e-6)
    # Continuous: the same controls as 8 floats, buttons pressed when > 0.
    cont = Chaser("continuous")(_obs((0, 0), north, (0, 2000), mirrored))
    assert cont.shape == (1, 8) and cont.dtype == np.float32
    np.testing.assert_allclose(cont[0], [1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 1.0, -1.0], atol=1e-6)


@pytest.mark.parametrize("car_id", ["blue-0", "orange-0"])
@pytest.mark.parametrize("ball_x", [-1500.0, 1500.0])
def test_the_chaser_turns_towards_the_ball_in_the_sim(car_id: str, ball_x: float) -> None:
    """A hand-built state in RocketSim: the car at midfield facing +y, the ball ahead-left
    or ahead-right; a few chaser steps later the heading error has shrunk (both colours,
    so the mirrored observation steers the right way too)."""
    env = make_rocket_env({"team_size": "1v1"}, seed=0)
    chaser = Chaser()
    other = "orange-0" if car_id == "blue-0" else "blue-0"
    try:
        env.reset(seed=0)
        state = env.state_now
        car = state.cars[car_id]
        car.physics.position = np.array([0.0, 0.0, 17.0], np.float32)
        car.physics.linear_velocity = np.zeros(3, np.float32)
        car.physics.angular_velocity = np.zeros(3, np.float32)
        car.physics.euler_angles = np.array([0.0, math.pi / 2, 0.0], np.float32)
        state.cars[other].physics.position = np.array([3000.0, -3000.0, 17.0], np.float32)
        state.ball.position = np.array([ball_x, 1500.0, 93.15], np.float32)
        env.rlgym.transition_engine.set_state(state, {})
        obs = env.rlgym.obs_builder.build_obs(env.agents, env.state_now, {})
        before = angle_to_ball(np.asarray(obs[car_id], np.float32)[None])[0]
        assert math.copysign(1.0, before) == -math.copysign(1.0, ball_x)  # left is +
        for _ in range(5):
            action = chaser(np.asarray(obs[car_id], np.float32)[None])[0]
            obs, *_ = env.step({car_id: int(action), other: 8})
        after = angle_to_ball(np.asarray(obs[car_id], np.float32)[None])[0]
        yaw = env.state_now.cars[car_id].physics.yaw
    finally:
        env.close()
    assert abs(after) < 0.6 * abs(before)
    assert (yaw - math.pi / 2) * before > 0  # turned the way the ball is


def test_the_chaser_touches_the_ball_far_more_often_than_random() -> None:
    """20 s of game time per colour, chaser against uniformly random lookup actions."""
    env = make_rocket_env({"team_size": "1v1", "no_touch_timeout_s": 100.0}, seed=0)
    chaser = Chaser()
    rng = np.random.default_rng(0)
    touches = {"chaser": 0, "random": 0}
    try:
        for chaser_car in ("blue-0", "orange-0"):
            obs, _ = env.reset(seed=1)
            for _ in range(300):
                actions = {a: int(chaser(obs[a][None])[0]) if a == chaser_car
                           else int(rng.integers(90)) for a in env.agents}
                obs, *_ = env.step(actions)
                for a, car in env.state_now.cars.items():
                    touches["chaser" if a == chaser_car else "random"] += car.ball_touches > 0
                if not env.agents:
                    obs, _ = env.reset()
    finally:
        env.close()
    assert touches["chaser"] >= 6
    assert touches["chaser"] >= 5 * max(1, touches["random"])
