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
