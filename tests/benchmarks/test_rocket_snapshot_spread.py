"""benchmarks/rocket_snapshot_spread.py picks a run's newest pool snapshots by step (not
by name's text order alone) and reports how far its learners' wins spread."""

import pytest


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("rocket_snapshot_spread")


def test_newest_snapshots_by_step_oldest_first(bench, tmp_path) -> None:
    pool = tmp_path / "checkpoints" / "pool"
    pool.mkdir(parents=True)
    for step in (900, 100000, 2000, 50):
        (pool / f"step_{step}.pt").write_bytes(b"")
    (pool / "notes.txt").write_text("not a snapshot")
    assert [p.name for p in bench.newest_snapshots(tmp_path, 3)] == \
        ["step_900.pt", "step_2000.pt", "step_100000.pt"]
    with pytest.raises(SystemExit, match="no pool snapshots"):
        bench.newest_snapshots(tmp_path / "elsewhere", 3)


def test_spread_of_wins_and_the_final_learners_rank(bench) -> None:
    rows = [{"learner": "step_1", "wins": 80}, {"learner": "step_2", "wins": 92},
            {"learner": "step_3", "wins": 86}, {"learner": "final", "wins": 86}]
    out = bench.run_summary(rows)
    assert out["learners"] == rows   # every learner's row is kept beside the spread
    assert out["count"] == 4
    assert out["wins"] == {"mean": 86.0, "std": 4.9}
    assert (out["min_wins"], out["max_wins"], out["final_wins"]) == (80, 92, 86)
    assert out["final_rank"] == 2   # one learner won more; the tie shares the rank


def test_choice_check_ranks_the_runs_choice_and_the_random_only_choice(bench) -> None:
    rows = [{"learner": "step_1", "wins": 95}, {"learner": "step_2", "wins": 74},
            {"learner": "final", "wins": 88}]
    selection = {"chosen": "step_2", "candidates": [
        {"learner": "final", "random": {"wins": 53}, "goal_difference": 87},
        {"learner": "step_2", "random": {"wins": 41}, "goal_difference": 92},
        {"learner": "step_1", "random": {"wins": 57}, "goal_difference": 79}]}
    out = bench.choice_check(rows, selection, "random")
    assert out["chosen_by_goal_difference"] == {"learner": "step_2", "wins": 74, "rank": 3}
    assert out["by_validation_wins_vs_random"] == {"learner": "step_1", "wins": 95, "rank": 1}
    assert out["best_in_these_games"]["learner"] == "step_1"
    # Judged in games against the chaser, the pick is the most validation wins against it.
    vs_chaser = selection | {"candidates": [{"learner": "final", "chaser": {"wins": 30}},
                                            {"learner": "step_2", "chaser": {"wins": 50}}]}
    out = bench.choice_check(rows, vs_chaser, "chaser")
    assert out["by_validation_wins_vs_chaser"]["learner"] == "step_2"
    # A choice made among candidates that never met random play names no random-only pick.
    never = {"chosen": "final", "candidates": [{"learner": "final", "chaser": {"wins": 3}}]}
    assert bench.choice_check(rows, never, "random")["by_validation_wins_vs_random"] is None
