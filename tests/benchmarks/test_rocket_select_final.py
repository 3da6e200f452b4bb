"""benchmarks/rocket_select_final.py sums up, over finished hours, the chosen learner's
and the final learner's games side by side."""

import pytest


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("rocket_select_final")


def _run(chosen: str, wins: tuple[int, int], chaser: tuple[int, int, int, int]) -> dict:
    return {"chosen": {"random": {"wins": wins[0]},
                       "chaser": {"goals_for": chaser[0], "goals_against": chaser[1]}},
            "final": {"random": {"wins": wins[1]},
                      "chaser": {"goals_for": chaser[2], "goals_against": chaser[3]}},
            "selection": {"chosen": chosen}}


def test_chosen_and_final_learners_are_summed_up_apart(bench) -> None:
    out = bench.aggregate({"a": _run("step_7", (94, 80), (60, 30, 50, 40)),
                           "b": _run("final", (90, 90), (40, 36, 40, 36)),
                           "c": _run("step_9", (92, 85), (50, 33, 45, 38))})
    assert out["chosen"]["wins_vs_random"] == {"mean": 92.0, "std": 2.0}
    assert out["final"]["wins_vs_random"] == {"mean": 85.0, "std": 5.0}
    assert out["chosen"]["chaser_goals_for"]["mean"] == 50.0
    assert out["final"]["chaser_goals_against"]["mean"] == 38.0
    assert out["chose_a_snapshot"] == 2
