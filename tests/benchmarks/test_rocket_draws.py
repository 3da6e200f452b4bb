"""benchmarks/rocket_draws.py: a drawn game's last seconds are placed in a zone of the
learner's attacking frame and summarised (distance, touches, wheels, time since a touch)."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("rocket_draws")


def test_zones_split_the_attacking_third_into_corner_and_goal_mouth(bench) -> None:
    assert bench.zone(4600.0, -2500.0) == "attacking corner"
    assert bench.zone(4600.0, 300.0) == "attacking third, not a corner"
    assert bench.zone(2500.0, 3000.0) == "attacking third, not a corner"  # not at the back wall
    assert bench.zone(0.0, 0.0) == "midfield"
    assert bench.zone(-4600.0, -2500.0) == "defending third"


def test_tail_summary_of_a_learner_near_the_ball_in_the_corner(bench) -> None:
    steps = 30  # 2 s at 15 steps a second
    ball = np.tile([2500.0, 4700.0, 93.0], (steps, 1))
    car = ball - [300.0, 400.0, 76.0]                    # 500 uu away in the floor's plane
    on_ground = np.arange(steps) % 2 == 0                # half the time on its wheels
    touches = np.zeros(steps, dtype=int)
    touches[[3, 9, 24]] = 1                              # 3 touches, the last 5 steps from the end
    out = bench.tail_summary(ball, car, on_ground, touches, step_s=1 / 15)
    assert out["zone"] == "attacking corner"
    assert out["car_ball_distance"] == round(float(np.linalg.norm([300.0, 400.0, 76.0])))
    assert out["touches_per_minute"] == 90.0             # 3 touches in 2 s
    assert out["on_ground"] == 0.5
    assert out["s_since_last_touch"] == round(5 / 15, 1)
    untouched = bench.tail_summary(ball, car, on_ground, np.zeros(steps, dtype=int), 1 / 15)
    assert untouched["s_since_last_touch"] is None and untouched["touches_per_minute"] == 0.0


def test_summary_counts_draws_by_zone(bench) -> None:
    draws = [{"zone": "attacking corner", "car_ball_distance": 400, "touches_per_minute": 20.0,
              "on_ground": 0.5, "s_since_last_touch": 2.0},
             {"zone": "attacking corner", "car_ball_distance": 600, "touches_per_minute": 10.0,
              "on_ground": 0.7, "s_since_last_touch": None},
             {"zone": "midfield", "car_ball_distance": 800, "touches_per_minute": 0.0,
              "on_ground": 0.9, "s_since_last_touch": 4.0}]
    out = bench.summarize(draws, games=50)
    assert out["draws"] == 3 and out["games"] == 50
    assert out["by_zone"] == {"attacking corner": 2, "attacking third, not a corner": 0,
                              "midfield": 1, "defending third": 0}
    assert out["median_car_ball_distance"] == 600
    assert out["median_s_since_last_touch"] == 3.0      # the game without a touch is left out
