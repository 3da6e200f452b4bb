"""OpenSkill ratings from game results (skipped without openskill)."""

import json

import pytest

pytest.importorskip("openskill")

from dreamlab.ppo.selfplay import LEARNER, RatingTable  # noqa: E402
from dreamlab.ppo.selfplay.plots import plot_ratings  # noqa: E402
from dreamlab.ppo.selfplay.schedule import TeamSizeSchedule  # noqa: E402


def test_wins_raise_the_winner_and_lower_the_loser() -> None:
    table = RatingTable()
    table.add_snapshot("s0")
    assert table.get("s0") == table.get(LEARNER)
    assert table.win_probability(LEARNER, "s0") == pytest.approx(0.5)
    for t in range(5):
        table.record(LEARNER, "s0", 1.0, timesteps=t)
    assert table.get(LEARNER).mu > 25 > table.get("s0").mu
    assert table.get(LEARNER).sigma < 25 / 3
    assert table.win_probability(LEARNER, "s0") > 0.7
    assert table.games == 5 and len(table.history) == 5


def test_draws_and_self_play_against_itself() -> None:
    table = RatingTable()
    table.add_snapshot("s0")
    table.record(LEARNER, "s0", 0.5)
    assert table.get(LEARNER).mu == pytest.approx(table.get("s0").mu)
    table.record(LEARNER, LEARNER, 1.0)
    assert table.games == 1
    with pytest.raises(ValueError):
        table.record(LEARNER, "s0", 2.0)


def test_new_snapshot_inherits_and_state_round_trips(tmp_path) -> None:
    table = RatingTable()
    table.add_snapshot("s0")
    table.record(LEARNER, "s0", 1.0, timesteps=10)
    table.add_snapshot("s1")
    assert table.get("s1") == table.get(LEARNER)
    again = RatingTable.from_dict(json.loads(json.dumps(table.to_dict())))
    assert again.ratings == table.ratings and again.history == table.history
    png = plot_ratings(table, tmp_path / "ratings.png", TeamSizeSchedule(),
                       {"s0": 0, "s1": 10})
    assert png.stat().st_size > 1000
