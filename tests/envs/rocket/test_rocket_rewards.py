"""The ball->goal velocity term on hand-made states: its sign for each team."""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("rlgym.rocket_league")
pytest.importorskip("rlgym_tools")

from dreamlab.envs.rocket.rewards import BallToGoalVelocityReward  # noqa: E402


def _state(tick: int, ball_velocity: list[float], ball_y: float = 0.0) -> SimpleNamespace:
    ball = SimpleNamespace(position=np.array([0.0, ball_y, 93.0]),
                           linear_velocity=np.array(ball_velocity))
    cars = {"blue-0": SimpleNamespace(team_num=0), "orange-0": SimpleNamespace(team_num=1),
            "orange-1": SimpleNamespace(team_num=1)}
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
