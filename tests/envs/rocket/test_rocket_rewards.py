"""The ball->goal terms on hand-made states (their sign for each team), and the fused
reward against the library composition."""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("rlgym.rocket_league")
pytest.importorskip("rlgym_tools")

from dreamlab.envs.rocket.rewards import (  # noqa: E402
    AlignBallGoalReward,
    BallToGoalVelocityReward,
    KickoffFirstTouchReward,
    KickTouchReward,
    TouchBallToGoalReward,
)


def _state(tick: int, ball_velocity: list[float], ball_y: float = 0.0,
           touched: tuple[str, ...] = ()) -> SimpleNamespace:
    ball = SimpleNamespace(position=np.array([0.0, ball_y, 93.0]),
                           linear_velocity=np.array(ball_velocity))
    cars = {agent: SimpleNamespace(team_num=team, is_blue=team == 0,
                                   ball_touches=int(agent in touched))
            for agent, team in (("blue-0", 0), ("orange-0", 1), ("orange-1", 1))}
    return SimpleNamespace(tick_count=tick, ball=ball, cars=cars)


@pytest.mark.parametrize("vy, blue_sign", [(3000.0, 1), (-3000.0, -1)])
def test_ball_to_goal_sign_per_team(vy: float, blue_sign: int) -> None:
    reward = BallToGoalVelocityReward()
    agents = ["blue-0", "orange-0", "orange-1"]
    reward.reset(agents, _state(0, [0, 0, 0]), {})
    out = reward.get_rewards(agents, _state(8, [0.0, vy, 0.0]), {}, {}, {})
    assert np.sign(out["blue-0"]) == blue_sign
    assert np.sign(out["orange-0"]) == -blue_sign
    assert out["orange-0"] == out["orange-1"]
    # Half of max speed straight at the goal for 8 ticks: 0.5 * 8/120 per second.
    assert out["blue-0"] == pytest.approx(blue_sign * 0.5 * 8 / 120, rel=1e-3)


def test_sideways_ball_earns_little() -> None:
    reward = BallToGoalVelocityReward()
    reward.reset(["blue-0"], _state(0, [0, 0, 0]), {})
    out = reward.get_rewards(["blue-0"], _state(8, [3000.0, 0.0, 0.0]), {}, {}, {})
    assert abs(out["blue-0"]) < 1e-6


@pytest.mark.parametrize("toucher, vy, sign", [
    ("blue-0", 3000.0, 1), ("blue-0", -3000.0, -1),     # blue attacks +y
    ("orange-0", -3000.0, 1), ("orange-0", 3000.0, -1),  # orange attacks -y
])
def test_touch_to_goal_pays_only_the_toucher_by_the_kick_s_direction(toucher, vy, sign) -> None:
    """A touch that sends the ball at the opponents' goal pays the toucher, one that sends
    it at its own goal costs it, and nobody else is paid for the ball's motion."""
    reward = TouchBallToGoalReward()
    agents = ["blue-0", "orange-0", "orange-1"]
    reward.reset(agents, _state(0, [0.0, 600.0, 0.0]), {})
    # The ball already rolled at +600 before the touch: only the change counts.
    out = reward.get_rewards(agents, _state(8, [0.0, 600.0 + vy, 0.0], touched=(toucher,)),
                             {}, {}, {})
    assert out[toucher] == pytest.approx(sign * 0.5, rel=1e-3)
    assert all(v == 0.0 for a, v in out.items() if a != toucher)
    # The ball keeps going after the touch: no touch, no pay.
    again = reward.get_rewards(agents, _state(16, [0.0, 600.0 + vy, 0.0]), {}, {}, {})
    assert all(v == 0.0 for v in again.values())


def test_kick_touch_pays_a_touch_that_moves_the_ball_not_a_pinch() -> None:
    """A touch that changes the ball's velocity by less than min_kick (a ball pinned
    between two cars) pays nothing; one that kicks it pays the toucher 1, nobody else."""
    reward = KickTouchReward(min_kick=250.0)
    agents = ["blue-0", "orange-0", "orange-1"]
    reward.reset(agents, _state(0, [0.0, 600.0, 0.0]), {})
    pinch = reward.get_rewards(agents, _state(8, [30.0, 620.0, 0.0],
                                              touched=("blue-0", "orange-0")), {}, {}, {})
    assert all(v == 0.0 for v in pinch.values())
    kick = reward.get_rewards(agents, _state(16, [30.0, 320.0, 0.0], touched=("orange-0",)),
                              {}, {}, {})
    assert kick == {"blue-0": 0.0, "orange-0": 1.0, "orange-1": 0.0}
    # The ball keeps its new velocity: no touch, no pay.
    after = reward.get_rewards(agents, _state(24, [30.0, 320.0, 0.0]), {}, {}, {})
    assert all(v == 0.0 for v in after.values())


def test_kickoff_first_touch_pays_the_first_toucher_once_and_a_tie_nobody() -> None:
    agents = ["blue-0", "orange-0", "orange-1"]
    reward = KickoffFirstTouchReward()
    reward.reset(agents, _state(0, [0.0, 0.0, 0.0]), {})  # the kickoff: ball still, centre
    assert all(v == 0.0 for v in reward.get_rewards(agents, _state(8, [0.0, 0.0, 0.0]),
                                                    {}, {}, {}).values())
    first = reward.get_rewards(agents, _state(16, [0.0, 0.0, 0.0], touched=("orange-1",)),
                               {}, {}, {})
    assert first == {"blue-0": 0.0, "orange-0": 0.0, "orange-1": 1.0}
    later = reward.get_rewards(agents, _state(24, [0.0, 900.0, 0.0], touched=("blue-0",)),
                               {}, {}, {})
    assert all(v == 0.0 for v in later.values())  # once a game
    # Both teams on the same first step: a tie pays nobody, and the race is over.
    reward.reset(agents, _state(0, [0.0, 0.0, 0.0]), {})
    tie = reward.get_rewards(agents, _state(8, [0.0, 0.0, 0.0],
                                            touched=("blue-0", "orange-0")), {}, {}, {})
    assert all(v == 0.0 for v in tie.values())
    assert all(v == 0.0 for v in reward.get_rewards(
        agents, _state(16, [0.0, 0.0, 0.0], touched=("blue-0",)), {}, {}, {}).values())
    # A scattered start (the ball rolling, off the centre spot) has no race.
    reward.reset(agents, _state(0, [300.0, 0.0, 0.0], ball_y=2000.0), {})
    assert all(v == 0.0 for v in reward.get_rewards(
        agents, _state(8, [300.0, 0.0, 0.0], ball_y=2000.0, touched=("blue-0",)),
        {}, {}, {}).values())


@pytest.mark.parametrize("team_size", ["1v1", "2v2"])
def test_kickoff_first_touch_in_real_kickoffs_pays_the_car_that_gets_there(team_size) -> None:
    """In the env (the fused reward, RocketSim kickoffs): blue's cars chase the ball,
    orange's stand still; the blue car that touches first is paid the weight, once, and
    nobody else (its team mate neither); build_reward's composition agrees step by step."""
    pytest.importorskip("RocketSim")
    from dreamlab.envs.rocket import make_rocket_env
    from dreamlab.envs.rocket.chaser import Chaser
    from dreamlab.envs.rocket.reward_weights import RewardWeights
    from dreamlab.envs.rocket.rewards import build_reward

    only = {"goal": 0.0, "touch": 0.0, "player_to_ball_velocity": 0.0,
            "ball_to_goal_velocity": 0.0, "team_spirit": 0.0, "opponent_weight": 0.0,
            "kickoff_first_touch": 2.0}
    env = make_rocket_env({"team_size": team_size, "rewards": only}, seed=3)
    reference = build_reward(RewardWeights.from_dict(only))
    chaser, paid, first_touchers = Chaser("discrete"), [], None
    try:
        obs, _ = env.reset(seed=3)
        reference.reset(env.agents, env.state_now, {})
        for step in range(90):
            if not env.agents:
                break
            agents = list(env.agents)
            acts = {a: int(chaser(obs[a][None])[0]) if a.startswith("blue") else 8  # 8: idle
                    for a in agents}
            obs, rewards, *_ = env.step(acts)
            want = reference.get_rewards(agents, env.state_now, {}, {}, {})
            assert rewards == {a: float(v) for a, v in want.items()}, step
            paid += [(step, a, r) for a, r in rewards.items() if r != 0.0]
            touching = [a for a in agents if env.state_now.cars[a].ball_touches > 0]
            if first_touchers is None and touching:
                first_touchers = (step, touching)
    finally:
        env.close()
    assert first_touchers is not None
    step, touching = first_touchers
    assert all(a.startswith("blue") for a in touching)
    assert paid == [(step, a, 2.0) for a in touching]


def test_fused_reward_gates_touches_like_the_composition() -> None:
    """The same pinch and kick through FusedTeamReward and build_reward: equal, and the
    pinch pays nothing (random play in the test below seldom touches the ball softly)."""
    from dreamlab.envs.rocket.fused_reward import FusedTeamReward
    from dreamlab.envs.rocket.reward_weights import RewardWeights
    from dreamlab.envs.rocket.rewards import build_reward

    weights = RewardWeights(goal=0.0, touch=1.0, touch_min_kick=250.0,
                            player_to_ball_velocity=0.0, ball_to_goal_velocity=0.0,
                            team_spirit=0.0, opponent_weight=0.0)
    agents = ["blue-0", "orange-0", "orange-1"]
    states = [_state(8, [30.0, 620.0, 0.0], touched=("blue-0", "orange-0")),
              _state(16, [30.0, 320.0, 0.0], touched=("orange-0",))]
    fused, reference = FusedTeamReward(weights), build_reward(weights)
    for fn in (fused, reference):
        fn.reset(agents, _state(0, [0.0, 600.0, 0.0]), {})
    got = [fused.get_rewards(agents, s, {}, {}, {}) for s in states]
    want = [reference.get_rewards(agents, s, {}, {}, {}) for s in states]
    assert got == [{a: float(v) for a, v in w.items()} for w in want]
    assert got[0] == {a: 0.0 for a in agents}
    assert got[1]["orange-0"] == 1.0


@pytest.mark.parametrize("car_y, blue_sign", [(-2000.0, 1), (2000.0, -1)])
def test_alignment_pays_the_car_behind_the_ball(car_y: float, blue_sign: int) -> None:
    """Ball at midfield: a car on its own half (the ball between it and the goal it
    attacks) is paid, one on the other half is charged; the colours mirror."""
    reward = AlignBallGoalReward()
    agents = ["blue-0", "orange-0"]

    def state(tick: int) -> SimpleNamespace:
        s = _state(tick, [0.0, 0.0, 0.0])
        for agent, y in (("blue-0", car_y), ("orange-0", car_y)):
            s.cars[agent].physics = SimpleNamespace(position=np.array([0.0, y, 17.0]))
        return s

    reward.reset(agents, state(0), {})
    out = reward.get_rewards(agents, state(8), {}, {}, {})
    # In line on the floor (the goal aim sits a little higher): cos ~ +-1, for 8 ticks.
    assert out["blue-0"] == pytest.approx(blue_sign * 8 / 120, rel=0.01)
    assert out["orange-0"] == pytest.approx(-blue_sign * 8 / 120, rel=0.01)


@pytest.mark.parametrize(("team_size", "weights"), [
    ("1v1", {}), ("1v2", {}), ("2v2", {}),
    ("2v2", {"touch": 0.0, "team_spirit": 1.0, "opponent_weight": 0.0}),
    ("1v1", {"touch_ball_to_goal": 5.0, "opponent_weight": 0.0}),
    ("2v2", {"touch_ball_to_goal": 3.0}),
    ("1v2", {"align_ball_goal": 0.7, "touch_ball_to_goal": 2.0}),
    ("1v1", {"touch_min_kick": 300.0}),
    ("2v2", {"touch_min_kick": 150.0, "touch_ball_to_goal": 3.0}),
    ("2v2", {"kickoff_first_touch": 2.0}),
    ("1v2", {"kickoff_first_touch": 1.5, "touch_min_kick": 100.0, "opponent_weight": 0.0}),
])
def test_fused_reward_equals_the_library_composition(team_size, weights) -> None:
    """FusedTeamReward gives build_reward's numbers exactly, in random games with goals,
    touches and resets, with the default and with other weights."""
    pytest.importorskip("RocketSim")
    from dreamlab.envs.rocket import make_rocket_env
    from dreamlab.envs.rocket.fused_reward import FusedTeamReward
    from dreamlab.envs.rocket.reward_weights import RewardWeights
    from dreamlab.envs.rocket.rewards import build_reward

    env = make_rocket_env({"team_size": team_size, "no_touch_timeout_s": 4.0,
                           "rewards": weights}, seed=1)
    assert isinstance(env.rlgym.reward_fn, FusedTeamReward)
    reference = build_reward(RewardWeights.from_dict(weights))
    rng = np.random.default_rng(0)
    touched = since_reset = 0
    goal_state = None
    try:
        env.reset(seed=1)
        reference.reset(env.agents, env.state_now, {})
        for _ in range(300):
            # Full throttle and boost at the ball after a kickoff, then random play.
            acts = {a: 18 if since_reset < 45 else int(rng.integers(90)) for a in env.agents}
            agents = list(env.agents)
            _, got, *_ = env.step(acts)
            since_reset += 1
            state = env.state_now
            want = reference.get_rewards(agents, state, {}, {}, {})
            assert got.keys() == want.keys()
            for agent in agents:
                assert got[agent] == float(want[agent]), agent
            touched += any(c.ball_touches for c in state.cars.values())
            if not env.agents:
                env.reset()
                reference.reset(env.agents, env.state_now, {})
                since_reset = 0
        # A goal: the ball put in the orange net, then one step for both to score it.
        state.ball.position = np.array([0.0, 5300.0, 300.0], np.float32)
        state.goal_scored = True  # scoring_team reads the ball's side: blue scored
        fused = FusedTeamReward(RewardWeights.from_dict(weights))
        fused.reset(agents, state, {}), reference.reset(agents, state, {})
        goal_state = (fused.get_rewards(agents, state, {}, {}, {}),
                      reference.get_rewards(agents, state, {}, {}, {}))
    finally:
        env.close()
    assert touched > 0
    assert {a: float(v) for a, v in goal_state[1].items()} == goal_state[0]
    assert any(v != 0.0 for v in goal_state[0].values())
