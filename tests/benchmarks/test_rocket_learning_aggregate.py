"""benchmarks/rocket_learning.py --aggregate: one learning figure from several one-seed
hours. It must refuse runs of different settings or of one seed twice, since either would
pass a single run's luck off as a spread."""

import json
from pathlib import Path

import pytest

YAML = "env: rocket\nrocket:\n  rewards: {goal: 10.0}  # a comment\n"


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("rocket_learning")


def write(tmp: Path, name: str, seed, wins: int, goals_for: int, yaml_text: str = YAML) -> str:
    run = {"settings": {"config_yaml": yaml_text, "seed": seed, "episodes_per_opponent": 100},
           "evaluation": {"random": {"wins": wins, "losses": 100 - wins},
                          "chaser": {"goals_for": goals_for, "goals_against": 50}},
           "env_steps": 15_000_000, "learner_rating_final": [30.0 + wins / 10, 1.5]}
    (tmp / f"{name}.json").write_text(json.dumps(run))
    return name


def test_mean_and_spread_over_seeds(bench, tmp_path) -> None:
    names = [write(tmp_path, "a", None, 65, 3),
             # a comment edited and a default written out later: the same settings
             write(tmp_path, "b", 1, 45, 9, YAML.replace("# a comment", "# edited later")
                   + "selfplay: {p_chaser: 0.0}\n"),
             write(tmp_path, "c", 2, 55, 6)]
    out = bench.aggregate(names, tmp_path)
    assert out["per_run"]["wins_vs_random"] == [65, 45, 55]
    wins = out["summary"]["wins_vs_random"]
    assert wins["mean"] == 55.0 and wins["std"] == 10.0
    assert (wins["min"], wins["max"]) == (45, 65)
    assert out["summary"]["goals_for_vs_chaser"]["mean"] == 6.0
    assert out["seeds"] == [42, 1, 2]  # the first trained with the config's default seed
    assert "own_goals_against_vs_random" not in out["per_run"]  # older runs: not counted


def test_own_goals_are_aggregated_when_every_run_counted_them(bench, tmp_path) -> None:
    names = [write(tmp_path, "a", 1, 65, 3), write(tmp_path, "b", 2, 45, 9)]
    for name, own in zip(names, (12, 30), strict=True):
        run = json.loads((tmp_path / f"{name}.json").read_text())
        run["evaluation"]["random"]["own_goals_against"] = own
        (tmp_path / f"{name}.json").write_text(json.dumps(run))
    out = bench.aggregate(names, tmp_path)
    assert out["per_run"]["own_goals_against_vs_random"] == [12, 30]
    assert out["summary"]["own_goals_against_vs_random"]["mean"] == 21.0


def test_different_settings_are_refused(bench, tmp_path) -> None:
    names = [write(tmp_path, "a", 1, 65, 3),
             write(tmp_path, "b", 2, 45, 9, YAML.replace("10.0", "5.0"))]
    with pytest.raises(SystemExit, match="different configs"):
        bench.aggregate(names, tmp_path)


def test_one_seed_twice_is_refused(bench, tmp_path) -> None:
    names = [write(tmp_path, "a", 1, 65, 3), write(tmp_path, "b", 1, 45, 9)]
    with pytest.raises(SystemExit, match="share a seed"):
        bench.aggregate(names, tmp_path)


def test_the_default_seed_given_again_is_refused(bench, tmp_path) -> None:
    """A run without --seed trained with the config's seed (42): --seed 42 repeats it."""
    names = [write(tmp_path, "a", None, 65, 3), write(tmp_path, "b", 42, 45, 9)]
    with pytest.raises(SystemExit, match="share a seed"):
        bench.aggregate(names, tmp_path)


def test_runs_on_different_cpus_are_refused(bench, tmp_path) -> None:
    """An hour on a faster CPU reaches more env steps: its seeds are another population."""
    names = [write(tmp_path, "a", 1, 65, 3), write(tmp_path, "b", 2, 45, 9),
             write(tmp_path, "c", 3, 91, 11)]
    for name, cpu in zip(names, ("Intel Xeon", "Intel Xeon", "AMD EPYC"), strict=True):
        run = json.loads((tmp_path / f"{name}.json").read_text())
        run["cpu_model"] = cpu
        (tmp_path / f"{name}.json").write_text(json.dumps(run))
    assert bench.aggregate(names[:2], tmp_path)["trained_on_cpu"] == "Intel Xeon"
    with pytest.raises(SystemExit, match="different CPUs"):
        bench.aggregate(names, tmp_path)


def test_the_report_keeps_the_own_goals_of_an_evaluation(bench) -> None:
    evaluation = {"opponents": {"random": {"wins": 69, "losses": 17, "own_goals_against": 17,
                                           "own_goals_for": 0}}}
    per = bench.per_opponent(evaluation)["random"]
    assert (per["own_goals_against"], per["own_goals_for"]) == (17, 0)


def test_the_runs_choice_of_its_final_learner_is_reported(bench, tmp_path) -> None:
    assert bench.selection(tmp_path) is None  # a run without the choice
    rows = [{"learner": "final", "train_env_steps": 300, "goal_difference": 4,
             "random": {"wins": 5, "draws": 0, "losses": 1}},
            {"learner": "step_000000000200", "train_env_steps": 200, "goal_difference": 9,
             "random": {"wins": 9, "draws": 0, "losses": 0}}]
    (tmp_path / "selection.json").write_text(json.dumps({
        "chosen": "step_000000000200", "chosen_train_env_steps": 200, "final_step": 300,
        "games_per_opponent": 9, "opponents": ["random"], "seed": 7, "candidates": rows,
        "skipped": ["step_000000000100"], "wall_s": 12.5}))
    out = bench.selection(tmp_path)
    assert out["chosen"] == "step_000000000200" and out["final_step"] == 300
    assert out["candidates"] == [["final", 300, 4], ["step_000000000200", 200, 9]]
    assert out["skipped"] == ["step_000000000100"] and out["wall_s"] == 12.5
