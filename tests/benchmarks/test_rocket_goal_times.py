"""benchmarks/rocket_goal_times.py bins goals by seconds from the kickoff: a goal on the
chaser's kickoff and one in later play must land in different bins, each side apart."""

import pytest


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("rocket_goal_times")


def _game(winner, steps: int, last_touch=None) -> dict:
    return {"learner_team": 0, "winner": winner, "steps": steps, "last_touch_team": last_touch}


def test_goals_are_binned_by_seconds_from_kickoff_each_side_apart(bench) -> None:
    # tick skip 8 at 120 ticks/s: 15 steps a second.
    games = [_game(1, 60, 1), _game(1, 120, 1), _game(1, 600, 0),  # against: 4 s, 8 s, 40 s
             _game(0, 225, 1),                                      # for: 15 s, the chaser's own
             _game(None, 1800)]                                     # a draw counts nowhere
    out = bench.goal_times(games, tick_skip=8)
    assert out["against"] == {"goals": 3, "own_goals": 1, "under_5s": 1, "under_10s": 2,
                              "under_20s": 2, "median_s": 8.0}
    assert out["for"] == {"goals": 1, "own_goals": 1, "under_5s": 0, "under_10s": 0,
                          "under_20s": 1, "median_s": 15.0}
