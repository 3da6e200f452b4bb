"""The shipped preset carries seeds/003's setup; bad blocks are one line."""

from pathlib import Path

import pytest

from dreamlab.errors import ConfigError
from dreamlab.ppo.selfplay.preset import (
    is_rocket_env,
    split_selfplay_values,
    split_selfplay_yaml,
)

PRESET = Path(__file__).resolve().parents[3] / "configs" / "experiments" / \
    "ppo_rocket_selfplay.yaml"


def test_the_preset_is_the_seeds_setup() -> None:
    preset = split_selfplay_yaml(PRESET)
    ppo = preset.ppo_values
    assert (ppo["num_envs"], ppo["total_steps"], ppo["checkpoint_every"]) == \
        (8, 5_000_000, 250_000)
    assert is_rocket_env(ppo["env"])
    stages = preset.selfplay.schedule().stages
    assert [(s.name, s.start) for s in stages] == [("1v1", 0), ("1v2", 2_000_000),
                                                  ("2v2", 3_500_000)]
    assert preset.selfplay.enabled and preset.rocket.max_team_size == 2
    assert preset.rocket.tick_skip == 8 and preset.rocket.action == "discrete"


def test_seed_nested_form_and_fixed_team_size() -> None:
    preset = split_selfplay_values(
        {"env": "rocket:1v2", "training": {"num_envs": 8, "selfplay": {
            "enabled": True, "curriculum_stages": ["1v1", "1v2", "2v2"]}}}, "seed.yaml")
    assert preset.ppo_values["training"] == {"num_envs": 8}
    assert preset.rocket.team_size == "1v2"
    assert preset.selfplay.schedule().stage_at(2_000_000).name == "1v2"


def test_bad_blocks_are_one_line() -> None:
    with pytest.raises(ConfigError, match="reaches 3 cars a side"):
        split_selfplay_values({"selfplay": {"enabled": True, "curriculum_stages": [
            {"team_size": "1v1", "start": 0}, {"team_size": "3v3", "start": 10}]}}, "x.yaml")
    with pytest.raises(ConfigError, match="x.yaml: rocket: unknown key 'tickskip'"):
        split_selfplay_values({"rocket": {"tickskip": 4}}, "x.yaml")
    with pytest.raises(ConfigError, match="selfplay must be a mapping"):
        split_selfplay_values({"selfplay": ["1v1"]}, "x.yaml")
    assert not is_rocket_env("CartPole-v1")
