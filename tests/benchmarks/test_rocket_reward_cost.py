"""benchmarks/rocket_reward_cost.py: `--set key=value` reward weights, laid over the hour
YAML's own rewards for the second env only."""

import pytest


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("rocket_reward_cost")


def test_sets_parse_to_floats_and_bad_ones_are_one_line(bench) -> None:
    assert bench.parse_sets(["kickoff_first_touch=2", " touch = 0.25"]) == \
        {"kickoff_first_touch": 2.0, "touch": 0.25}
    for bad in ("kickoff_first_touch", "=2", "touch=lots"):
        with pytest.raises(SystemExit, match="expected key=number"):
            bench.parse_sets([bad])


def test_the_set_lies_over_the_yaml_rewards(bench) -> None:
    plain = bench.rocket_settings(bench.CONFIG, {})
    changed = bench.rocket_settings(bench.CONFIG, {"kickoff_first_touch": 2.0})
    assert changed["rewards"]["kickoff_first_touch"] == 2.0
    assert plain["rewards"].get("kickoff_first_touch", 0.0) == 0.0   # the YAML's own: off
    assert {k: v for k, v in changed["rewards"].items() if k != "kickoff_first_touch"} == \
        {k: v for k, v in plain["rewards"].items() if k != "kickoff_first_touch"}
    assert changed["scatter_start"] == plain["scatter_start"]        # the rest as the YAML
    # A weight the YAML sets is overridden, not kept.
    assert plain["rewards"]["touch"] != 0.25
    assert bench.rocket_settings(bench.CONFIG, {"touch": 0.25})["rewards"]["touch"] == 0.25
