"""FastDefaultObs equals RLGym's DefaultObs, and orange's view is blue's view mirrored."""

import copy

import numpy as np
import pytest

pytest.importorskip("RocketSim")
pytest.importorskip("rlgym.rocket_league")

from rlgym.rocket_league.obs_builders import DefaultObs  # noqa: E402

from dreamlab.envs.rocket import make_rocket_env  # noqa: E402
from dreamlab.envs.rocket.fast_obs import FastDefaultObs  # noqa: E402


def _random_states(team_size: str, steps: int, seed: int):
    env = make_rocket_env({"team_size": team_size, "fast_obs": False}, seed=seed)
    rng = np.random.default_rng(seed)
    try:
        env.reset(seed=seed)
        for i in range(steps):
            if not env.agents:
                env.reset()
            # Mostly full throttle + boost so cars fly, flip and touch the ball.
            env.step({a: int(rng.integers(90)) if i % 3 else 5 for a in env.agents})
            yield env.state_now, list(env.agents) or list(env.state_now.cars)
    finally:
        env.close()


@pytest.mark.parametrize("team_size", ["1v1", "1v2", "2v1", "2v2"])
def test_fast_obs_equals_default_obs(team_size: str) -> None:
    fast, default = FastDefaultObs(max_team_size=2), DefaultObs(zero_padding=2)
    for state, agents in _random_states(team_size, steps=60, seed=7):
        want = default.build_obs(agents, state, {})
        got = fast.build_obs(agents, state, {})
        for agent in agents:
            assert got[agent].shape == want[agent].shape == (132,)
            np.testing.assert_array_equal(got[agent], want[agent], err_msg=agent)


def _mirrored(state):
    """The same game seen from the other end: every car swaps team, the field turns 180."""
    out = copy.deepcopy(state)
    for car in out.cars.values():
        car.physics, car._inverted_physics = car.inverted_physics, None
        car.team_num = 1 - car.team_num
    out.ball, out._inverted_ball = out.inverted_ball, None
    out.boost_pad_timers = out.inverted_boost_pad_timers
    out._inverted_boost_pad_timers = None
    return out


def test_orange_view_equals_blue_view_of_the_mirrored_state() -> None:
    fast = FastDefaultObs(max_team_size=2)
    for state, _ in _random_states("1v1", steps=20, seed=3):
        orange = fast.build_obs(["orange-0"], state, {})["orange-0"]
        as_blue = fast.build_obs(["orange-0"], _mirrored(state), {})["orange-0"]
        np.testing.assert_allclose(orange, as_blue, atol=1e-6)


def _car_frame_env_rows(team_size: str, steps: int, seed: int):
    env = make_rocket_env({"team_size": team_size, "car_frame_obs": True}, seed=seed)
    rng = np.random.default_rng(seed)
    try:
        obs, _ = env.reset(seed=seed)
        for _ in range(steps):
            if not env.agents:
                obs, _ = env.reset()
            yield env.state_now, obs
            obs = env.step({a: int(rng.integers(90)) for a in env.agents})[0]
    finally:
        env.close()


@pytest.mark.parametrize("team_size", ["1v1", "1v2", "2v2"])
def test_car_frame_columns_follow_default_obs_and_keep_one_size(team_size: str) -> None:
    from dreamlab.envs.rocket.car_frame_obs import car_frame_size
    from dreamlab.envs.rocket.fast_obs import obs_size

    default = DefaultObs(zero_padding=2)
    for state, obs in _car_frame_env_rows(team_size, steps=10, seed=5):
        want = default.build_obs(list(obs), state, {})
        for agent, row in obs.items():
            assert row.shape == (obs_size(2, car_frame=True),) == (132 + car_frame_size(2),)
            np.testing.assert_allclose(row[:132], want[agent], atol=1e-6)


def test_car_frame_columns_are_what_the_driver_sees() -> None:
    """A car facing +y with the ball 1,000 uu straight ahead and the opponent 500 uu to its
    right: ahead is the first axis, right the second, whichever way the field points."""
    from dreamlab.envs.rocket.car_frame_obs import POS_COEF, car_frame_features

    state = next(s for s, _ in _car_frame_env_rows("1v1", steps=1, seed=1))
    state = copy.deepcopy(state)
    blue, orange = (state.cars[a] for a in ("blue-0", "orange-0"))
    blue.physics.position = np.array([0.0, 0.0, 17.0], dtype=np.float32)
    blue.physics.euler_angles = np.array([0.0, np.pi / 2, 0.0], dtype=np.float32)  # yaw 90
    blue.physics.linear_velocity = np.zeros(3, dtype=np.float32)
    np.testing.assert_allclose(blue.physics.forward, [0, 1, 0], atol=1e-6)
    state.ball.position = np.array([0.0, 1000.0, 17.0], dtype=np.float32)
    state.ball.linear_velocity = np.zeros(3, dtype=np.float32)
    right = blue.physics.right
    orange.physics.position = blue.physics.position + 500.0 * right
    orange.physics.linear_velocity = np.zeros(3, dtype=np.float32)
    row = car_frame_features(["blue-0"], state, max_team_size=1)[0]
    np.testing.assert_allclose(row[0:3], [1000 * POS_COEF, 0, 0], atol=1e-5)   # ball ahead
    np.testing.assert_allclose(row[9:12], [0, 500 * POS_COEF, 0], atol=1e-5)   # car right
    # The attacked (orange) goal is ahead, at y = 5,120.
    assert row[6] == pytest.approx(5120 * POS_COEF, abs=1e-4)


def test_car_frame_columns_of_orange_equal_blues_view_of_the_mirrored_state() -> None:
    from dreamlab.envs.rocket.car_frame_obs import car_frame_features

    for state, _ in _car_frame_env_rows("1v1", steps=20, seed=3):
        orange = car_frame_features(["orange-0"], state, 1)[0]
        as_blue = car_frame_features(["orange-0"], _mirrored(state), 1)[0]
        np.testing.assert_allclose(orange, as_blue, atol=1e-5)


def _car_frame_one_by_one(agent, state, max_team_size: int) -> np.ndarray:
    """The car-frame columns written out plainly, one agent and one car at a time."""
    from dreamlab.envs.rocket.car_frame_obs import LIN_VEL_COEF, POS_COEF

    me = state.cars[agent]
    r, p, v = me.physics.rotation_mtx, me.physics.position, me.physics.linear_velocity
    goal = np.array([0.0, 5120.0 if me.team_num == 0 else -5120.0, 642.775 / 2])
    row = [r.T @ (state.ball.position - p) * POS_COEF,
           r.T @ (state.ball.linear_velocity - v) * LIN_VEL_COEF, r.T @ (goal - p) * POS_COEF]
    others = {True: [], False: []}
    for other, car in state.cars.items():
        if other != agent:
            others[car.team_num == me.team_num].append(
                np.concatenate([r.T @ (car.physics.position - p) * POS_COEF,
                                r.T @ (car.physics.linear_velocity - v) * LIN_VEL_COEF]))
    allies = others[True] + [np.zeros(6)] * (max_team_size - 1 - len(others[True]))
    enemies = others[False] + [np.zeros(6)] * (max_team_size - len(others[False]))
    return np.concatenate(row + allies + enemies)


@pytest.mark.parametrize("team_size", ["1v2", "2v1", "2v2"])
def test_car_frame_columns_put_every_car_in_its_slot(team_size: str) -> None:
    from dreamlab.envs.rocket.car_frame_obs import car_frame_features

    tables: dict = {}
    for state, obs in _car_frame_env_rows(team_size, steps=15, seed=9):
        agents = list(obs)
        got = car_frame_features(agents, state, 2, tables)
        for i, agent in enumerate(agents):
            np.testing.assert_allclose(got[i], _car_frame_one_by_one(agent, state, 2),
                                       atol=1e-5, err_msg=agent)
