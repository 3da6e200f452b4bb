"""The PettingZoo adapter over RLGym v2 + RocketSim (skipped without the rocket extra)."""

import numpy as np
import pytest

pytest.importorskip("RocketSim")
pytest.importorskip("rlgym.rocket_league")
pytest.importorskip("rlgym_tools")
pettingzoo_test = pytest.importorskip("pettingzoo.test")

from dreamlab.envs.rocket import TeamSize, make_rocket_env  # noqa: E402
from dreamlab.errors import ConfigError  # noqa: E402


@pytest.fixture(scope="module")
def env():
    env = make_rocket_env({"team_size": "1v1"}, seed=0)
    yield env
    env.close()


def _noop(env) -> dict:
    return {a: 8 for a in env.agents}  # lookup row 8: throttle 0, steer 0, no buttons


# possible_agents holds every car the padding allows (2v2), so a 1v2 episode ends with one
# possible agent that never played: PettingZoo warns, by design here.
@pytest.mark.filterwarnings("ignore:No agents present but not all possible_agents")
def test_parallel_api() -> None:
    # A 2 s no-touch timeout ends episodes inside the test's cycles, so the end of an
    # episode (every agent done, `agents` empty) is checked too.
    env = make_rocket_env({"team_size": "1v2", "no_touch_timeout_s": 2.0}, seed=0)
    try:
        pettingzoo_test.parallel_api_test(env, num_cycles=100)
        assert env.agents == [] and env.episode_steps == 30
    finally:
        env.close()


def test_obs_size_is_fixed_and_team_size_switches_without_rebuild(env) -> None:
    engine = env.rlgym.transition_engine
    for size, n in (("1v1", 2), ("1v2", 3), ("2v2", 4), ("2v1", 3), ("1v1", 2)):
        obs, infos = env.reset(options={"team_size": size})
        assert env.rlgym.transition_engine is engine
        assert len(env.agents) == n and str(env.team_size) == size
        assert {o.shape for o in obs.values()} == {(132,)}
        assert {o.dtype for o in obs.values()} == {np.dtype(np.float32)}
        obs, *_ = env.step({a: env.action_space(a).sample() for a in env.agents})
        assert {o.shape for o in obs.values()} == {(132,)}
    assert {infos[a]["team"] for a in env.agents} == {0, 1}


def test_team_size_source_is_read_at_every_reset() -> None:
    sizes = iter([TeamSize(1, 1), TeamSize(1, 2), TeamSize(2, 2)])
    env = make_rocket_env({"team_size": "1v1"}, team_sizes=lambda: next(sizes))
    try:
        seen = [len(env.reset()[0]) for _ in range(3)]
    finally:
        env.close()
    assert seen == [2, 3, 4]


def test_team_size_over_the_padding_is_refused_at_reset(env) -> None:
    with pytest.raises(ConfigError, match="does not fit the observation padding"):
        env.reset(options={"team_size": "3v1"})


def test_kickoffs_repeat_with_the_seed(env) -> None:
    env.reset(seed=3, options={"team_size": "2v2"})
    first = [c.physics.position.copy() for c in env.state_now.cars.values()]
    env.reset(seed=3, options={"team_size": "2v2"})
    again = [c.physics.position.copy() for c in env.state_now.cars.values()]
    np.testing.assert_array_equal(first, again)
    assert abs(env.state_now.ball.position[:2]).max() == 0.0  # ball on the centre spot


def test_scattered_starts_spread_over_the_floor_and_repeat_with_the_seed() -> None:
    env = make_rocket_env({"team_size": "2v2", "scatter_start": 1.0}, seed=0)
    try:
        starts = []
        for seed in range(20):
            env.reset(seed=seed)
            state = env.state_now
            starts.append((state.ball.position.copy(),
                           [c.physics.position.copy() for c in state.cars.values()]))
        env.reset(seed=7)
        np.testing.assert_array_equal(env.state_now.ball.position, starts[7][0])
        np.testing.assert_array_equal(
            [c.physics.position for c in env.state_now.cars.values()], starts[7][1])
        for _ in range(15):  # one game second: the physics accepts the state
            env.step(_noop(env))
        assert all(c.physics.position[2] < 40 for c in env.state_now.cars.values())
    finally:
        env.close()
    balls = np.array([b for b, _ in starts])
    cars = np.array([c for _, cs in starts for c in cs])
    # anywhere on the floor, both halves, inside the walls, never on the kickoff spots
    assert balls[:, 1].min() < -1000 and balls[:, 1].max() > 1000
    assert np.abs(balls[:, 0]).max() < 4096 - 500 and np.abs(cars[:, 1]).max() < 5120 - 500
    spots = np.concatenate([balls, cars])
    assert (np.abs(spots[:, 0]) + np.abs(spots[:, 1])).max() < 8064 - 500  # corners
    assert np.abs(balls[:, :2]).min(axis=1).max() > 0
    assert (balls[:, 2] < 100).all() and (cars[:, 2] < 20).all()
    gaps = [np.hypot(*(c[:2] - b[:2])) for b, cs in starts for c in cs]
    assert min(gaps) >= 400


def test_scattered_spots_keep_off_the_walls_and_the_corner_ramps() -> None:
    from dreamlab.envs.rocket.mutators import floor_spot

    rng = np.random.default_rng(0)
    spots = np.array([floor_spot(rng, 17.0) for _ in range(20_000)])
    assert np.abs(spots[:, 0]).max() <= 4096 - 600 and np.abs(spots[:, 1]).max() <= 5120 - 600
    diagonal = np.abs(spots[:, 0]) + np.abs(spots[:, 1])
    assert diagonal.max() <= 8064 - 600 and diagonal.max() > 8064 - 700  # reaches, never over


def _shoot(env, x: float, steps: int = 40):
    """Put the ball near the orange goal, flying +y at x; step with no input."""
    env.reset(options={"team_size": "1v1"})
    state = env.state_now
    state.ball.position = np.array([x, 4300.0, 300.0], dtype=np.float32)
    state.ball.linear_velocity = np.array([0.0, 3000.0, 0.0], dtype=np.float32)
    env.rlgym.set_state(state)
    totals = {a: 0.0 for a in env.agents}
    for _ in range(steps):
        agents = list(env.agents)
        _, rewards, terminated, _, infos = env.step(_noop(env))
        for a in agents:
            totals[a] += rewards[a]
        if not env.agents:
            return totals, terminated, infos
    return totals, None, None


def test_a_shot_at_the_goal_scores_and_rewards_have_the_right_signs(env) -> None:
    totals, terminated, infos = _shoot(env, x=0.0)
    assert terminated == {"blue-0": True, "orange-0": True}
    assert infos["blue-0"]["winner"] == 0
    assert totals["blue-0"] > 5 and totals["orange-0"] < -5  # goal weight 10, zero-sum


def test_a_goal_off_the_defenders_car_is_an_own_goal(env) -> None:
    """Orange's car drives the ball into its own net: blue wins, orange touched last."""
    env.reset(options={"team_size": "1v1"})
    state = env.state_now
    state.ball.position = np.array([0.0, 4400.0, 93.0], dtype=np.float32)
    state.ball.linear_velocity = np.array([0.0, 800.0, 0.0], dtype=np.float32)
    car = state.cars["orange-0"].physics
    car.position = np.array([0.0, 3900.0, 17.0], dtype=np.float32)
    car.linear_velocity = np.array([0.0, 2000.0, 0.0], dtype=np.float32)
    car.euler_angles = np.array([0.0, np.pi / 2, 0.0], dtype=np.float32)  # nose to +y
    env.rlgym.set_state(state)
    for _ in range(40):
        _, _, _, _, infos = env.step(_noop(env))
        if not env.agents:
            break
    assert not env.agents and infos["orange-0"]["winner"] == 0
    assert infos["orange-0"]["last_touch_team"] == 1 and env.touches["orange-0"] >= 1


def test_a_shot_beside_the_goal_bounces_off_the_back_wall(env) -> None:
    """The collision meshes load (RocketSim would fail silently otherwise: notes)."""
    totals, terminated, _ = _shoot(env, x=2500.0, steps=30)
    assert terminated is None
    assert env.state_now.ball.linear_velocity[1] < 0


def test_continuous_actions() -> None:
    env = make_rocket_env({"team_size": "1v1", "action": "continuous"}, seed=1)
    try:
        env.reset()
        assert env.action_space("blue-0").shape == (8,)
        full = np.array([1, 0, 0, 0, 0, -1, 1, -1], dtype=np.float32)  # throttle + boost
        for _ in range(15):
            env.step({a: full for a in env.agents})
        speed = np.linalg.norm(env.state_now.cars["blue-0"].physics.linear_velocity)
        assert speed > 1000
    finally:
        env.close()


def test_touches_are_counted_in_the_final_info(env) -> None:
    """A ball dropped onto blue-0 touches it; the episode's last info counts it."""
    env.reset(options={"team_size": "1v1"})
    state = env.state_now
    car = state.cars["blue-0"].physics.position
    state.ball.position = np.array([car[0], car[1], 300.0], dtype=np.float32)
    state.ball.linear_velocity = np.array([0.0, 0.0, -1000.0], dtype=np.float32)
    env.rlgym.set_state(state)
    for _ in range(30):
        env.step(_noop(env))
    assert env.touches["blue-0"] >= 1 and env.touches["orange-0"] == 0
    no_touch = env.rlgym.truncation_cond.conditions[0]
    saved, no_touch.timeout_seconds = no_touch.timeout_seconds, 0.0  # end the episode now
    try:
        *_, infos = env.step(_noop(env))
    finally:
        no_touch.timeout_seconds = saved
    assert infos["blue-0"]["touches"] == env.touches["blue-0"] >= 1
    assert infos["orange-0"]["touches"] == 0
