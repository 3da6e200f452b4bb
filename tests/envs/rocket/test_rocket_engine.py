"""HeldActionEngine steps exactly as RLGym's RocketSimEngine: states, observations, rewards."""

import numpy as np
import pytest

pytest.importorskip("RocketSim")
pytest.importorskip("rlgym.rocket_league")

from rlgym.rocket_league.action_parsers import RepeatAction  # noqa: E402
from rlgym.rocket_league.sim import RocketSimEngine  # noqa: E402

from dreamlab.envs.rocket import make_rocket_env  # noqa: E402
from dreamlab.envs.rocket.actions import HeldRepeatAction  # noqa: E402
from dreamlab.envs.rocket.engine import HeldActionEngine  # noqa: E402


def _state_arrays(state) -> list[np.ndarray]:
    """Every number of a GameState the obs builders and rewards read, in a fixed order."""
    out = [np.asarray(state.boost_pad_timers), np.asarray([state.tick_count,
                                                           state.goal_scored])]
    for obj in [state.ball] + [state.cars[a].physics for a in sorted(state.cars)]:
        out += [obj.position, obj.linear_velocity, obj.angular_velocity, obj.rotation_mtx]
    for a in sorted(state.cars):
        c = state.cars[a]
        out.append(np.asarray([c.boost_amount, c.on_ground, c.ball_touches, c.has_jumped,
                               c.has_flipped, c.is_jumping, c.air_time_since_jump,
                               c.demo_respawn_timer, c.supersonic_time, c.handbrake]))
    return out


def _pair(team_size: str, action: str):
    cfg = {"team_size": team_size, "action": action, "no_touch_timeout_s": 4.0}
    stock, held = make_rocket_env(cfg, seed=3), make_rocket_env(cfg, seed=3)
    assert isinstance(held.rlgym.transition_engine, HeldActionEngine)
    assert isinstance(held.rlgym.action_parser, HeldRepeatAction)
    # RLGym as shipped: its RepeatAction (copied rows) and RocketSimEngine.
    stock.rlgym.action_parser = RepeatAction(held.rlgym.action_parser.parser, repeats=8)
    stock.rlgym.transition_engine = RocketSimEngine()
    return stock, held


@pytest.mark.parametrize(("team_size", "action"), [("1v1", "discrete"), ("2v2", "discrete"),
                                                    ("1v2", "continuous")])
def test_same_states_observations_and_rewards_as_the_stock_engine(team_size, action) -> None:
    stock, held = _pair(team_size, action)
    rng = np.random.default_rng(0)
    touches = resets = since_reset = 0
    drive = 18 if action == "discrete" else np.array([1, 0, 0, 0, 0, 0, 1, 0], np.float32)
    try:
        for env in (stock, held):
            env.reset(seed=5)
        for i in range(200):
            # Full throttle and boost at the ball after each kickoff (so cars touch it),
            # random actions after that.
            acts = {a: drive if since_reset < 45 else int(rng.integers(90))
                    if action == "discrete" else rng.uniform(-1, 1, 8).astype(np.float32)
                    for a in stock.agents}
            since_reset += 1
            a = stock.step(acts)
            b = held.step(acts)
            for x, y in zip(a[:4], b[:4], strict=True):  # obs, rewards, terminated, truncated
                assert x.keys() == y.keys()
                for k in x:
                    np.testing.assert_array_equal(x[k], y[k], err_msg=f"step {i} {k}")
            for x, y in zip(_state_arrays(stock.state_now), _state_arrays(held.state_now),
                            strict=True):
                np.testing.assert_array_equal(x, y, err_msg=f"step {i}")
            touches += sum(c.ball_touches for c in held.state_now.cars.values())
            if not stock.agents:
                assert not held.agents
                resets += 1
                since_reset = 0
                for env in (stock, held):
                    env.reset(seed=i)
    finally:
        stock.close(), held.close()
    assert touches > 0 and resets > 0  # the comparison went through touches and new games


def test_rows_that_differ_take_the_stock_per_tick_loop() -> None:
    stock, held = _pair("1v1", "continuous")
    rng = np.random.default_rng(1)
    try:
        for env in (stock, held):
            env.reset(seed=2)
        for _ in range(20):
            # Eight different rows per car: no held action, tick by tick in both engines.
            acts = {a: rng.uniform(-1, 1, (8, 8)).astype(np.float32) for a in stock.agents}
            s = stock.rlgym.transition_engine.step(acts, {})
            h = held.rlgym.transition_engine.step(acts, {})
            for x, y in zip(_state_arrays(s), _state_arrays(h), strict=True):
                np.testing.assert_array_equal(x, y)
    finally:
        stock.close(), held.close()


@pytest.mark.parametrize("action", ["discrete", "continuous"])
def test_held_repeat_action_gives_repeat_actions_rows_without_copies(action) -> None:
    env = make_rocket_env({"team_size": "1v1", "action": action}, seed=0)
    try:
        env.reset(seed=0)
        held = env.rlgym.action_parser
        stock = RepeatAction(held.parser, repeats=8)
        raw = {a: np.asarray([7]) if action == "discrete"
               else np.linspace(-1, 1, 8, dtype=np.float32) for a in env.agents}
        got = held.parse_actions(raw, env.state_now, {})
        want = stock.parse_actions(raw, env.state_now, {})
        for agent in env.agents:
            assert got[agent].dtype == want[agent].dtype
            np.testing.assert_array_equal(got[agent], want[agent])
            assert got[agent].shape == (8, 8) and got[agent].strides[0] == 0
    finally:
        env.close()


def _ram(env) -> object:
    """Blue at supersonic speed 400 uu behind orange, both facing the same way: the next
    steps demolish orange. Returns orange's RocketSim car."""
    import RocketSim as rs

    engine = env.rlgym.transition_engine
    blue, orange = (engine._cars[a] for a in env.agents)
    state = blue.get_state()
    forward = state.rot_mat.forward.as_numpy()
    forward = np.array([forward[0], forward[1], 0.0]) / np.hypot(forward[0], forward[1])
    start = np.array([0.0, -2000.0, 17.0])
    state.pos, state.vel, state.boost = rs.Vec(*start), rs.Vec(*(2290 * forward)), 100
    blue.set_state(state)
    victim = orange.get_state()
    victim.pos, victim.vel, victim.rot_mat = rs.Vec(*(start + 400 * forward)), rs.Vec(0, 0, 0), \
        state.rot_mat
    orange.set_state(victim)
    return orange


def _respawn(env, seed: int, rows: bool = False) -> tuple[int, tuple[float, ...]]:
    """Reset with `seed`, demolish orange, wait: (the step orange is back, where).
    rows: eight different action rows per car (the stock per-tick loop)."""
    env.reset(seed=seed)
    orange = _ram(env)
    demoed = False
    for step in range(80):
        act = np.float32([0, 0, 0, 0, 0, 0, 0, 0] if demoed else [1, 0, 0, 0, 0, 0, 1, 0])
        if rows:  # rows that differ: not a held action
            acts = {a: np.tile(act, (8, 1)) for a in env.agents}
            for a in acts:
                acts[a][1::2, 4] = 0.01 * (1 + step % 3)
            env.rlgym.transition_engine.step(acts, {})
        else:
            env.step(dict.fromkeys(env.agents, act))
        now = orange.get_state()
        demoed |= now.is_demoed
        if demoed and not now.is_demoed:
            return step, tuple(np.round(now.pos.as_numpy(), 1))
    raise AssertionError("no demo and respawn" if demoed else "no demo")


def test_demolished_cars_respawn_where_the_env_seed_says() -> None:
    # RocketSim draws the respawn spot from a clock-seeded generator of its own: unseeded,
    # the same seed put orange back at different spots (2688 or -2688 uu across).
    cfg = {"team_size": "1v1", "action": "continuous", "game_timeout_s": 300.0,
           "no_touch_timeout_s": 300.0}
    env, stock = make_rocket_env(cfg, seed=0), make_rocket_env(cfg, seed=0)
    stock.rlgym.transition_engine = RocketSimEngine()
    try:
        again = [_respawn(env, seed=11) for _ in range(6)]
        assert len(set(again)) == 1  # one seed, one respawn
        spots = {_respawn(env, seed=s)[1] for s in range(12)}
        assert len(spots) >= 2  # the draw still ranges over RocketSim's spots
        assert all(abs(y) == 4608.0 and y > 0 for _, y, _ in spots)  # orange's own end
        # Back on the same step as RocketSim brings a car back, at one of its spots.
        step, spot = _respawn(stock, seed=11)
        assert step == again[0][0]
        stock_spots = {spot} | {_respawn(stock, seed=11)[1] for _ in range(40)}
        assert spots <= stock_spots  # (40 draws miss one of 4 spots once in 25,000 runs)
        # The stock per-tick loop (action rows that differ) respawns from the seed too.
        assert len({_respawn(env, seed=5, rows=True) for _ in range(6)}) == 1
    finally:
        env.close(), stock.close()
