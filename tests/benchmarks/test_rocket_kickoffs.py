"""benchmarks/rocket_kickoffs.py: who touched the ball first, and the drive there."""

import pytest


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("rocket_kickoffs")


def test_first_touch_names_the_side_and_a_same_step_touch_is_both(bench) -> None:
    assert bench.first_touch([(False, False), (False, True), (True, False)]) == ("chaser", 2)
    assert bench.first_touch([(False, False), (True, True)]) == ("both", 2)
    assert bench.first_touch([(True, False)]) == ("learner", 1)
    assert bench.first_touch([(False, False)]) is None


def test_summary_counts_first_touches_and_averages_only_the_first_two_seconds(bench) -> None:
    # 2 steps a second: the early window is the first 4 steps.
    slow = {"touches": [(False, False)] * 5 + [(False, True)], "goal": "chaser",
            "boosting": [(1.0, 1.0)] * 4 + [(0.0, 0.0)] * 2,
            "speed": [(1000.0, 1200.0)] * 4 + [(0.0, 0.0)] * 2,
            "ball_y": [0.0] * 5 + [-3000.0]}
    first = {"touches": [(False, False), (True, False)], "goal": None,
             "boosting": [(0.0, 1.0)] * 2, "speed": [(500.0, 1200.0)] * 2,
             "ball_y": [0.0, -50.0]}
    untouched = {"touches": [(False, False)] * 3, "goal": None,
                 "boosting": [(0.0, 0.0)] * 3, "speed": [(0.0, 0.0)] * 3,
                 "ball_y": [0.0, 10.0, 20.0]}
    out = bench.summarize_kickoffs([slow, first, untouched], steps_per_s=2.0)
    assert (out["first_touch_learner"], out["first_touch_chaser"], out["first_touch_both"],
            out["first_touch_none"]) == (1, 1, 0, 1)
    assert out["first_touch_median_s"] == 2.0  # 3.0 s and 1.0 s
    # slow's last two steps (speed 0, no boost) are past the window and left out.
    assert out["learner_mean_speed_first_2s"] == round((4 * 1000 + 2 * 500) / 9, 1)
    assert out["chaser_boosting_share_first_2s"] == round(6 / 9, 3)
    assert (out["learner_goals_in_window"], out["chaser_goals_in_window"]) == (0, 1)
    # 3 s in is step 6: slow's ball is deep in the learner's half; first's game had ended
    # by then (its last position counts); untouched's ball sits on the other side.
    assert out["ball_in_learner_half_at_3s"] == 2
