"""Team sizes, padding and reward weights are checked without the rocket extra."""

import pytest

from dreamlab.envs.rocket import (
    RewardWeights,
    RocketEnvConfig,
    TeamSize,
    make_rocket_env,
    parse_team_size,
    rocket_missing,
)
from dreamlab.errors import ConfigError, EnvError


def test_team_size_strings() -> None:
    assert parse_team_size("1v2") == TeamSize(1, 2)
    assert parse_team_size(" 2V2 ") == TeamSize(2, 2)
    assert parse_team_size((2, 1)) == TeamSize(2, 1)
    assert str(TeamSize(1, 2)) == "1v2"
    for bad in ("3", "1vs1", "0v1", "av2"):
        with pytest.raises(ConfigError):
            parse_team_size(bad)


def test_team_size_over_the_padding_is_one_line() -> None:
    with pytest.raises(ConfigError, match="does not fit the observation padding of 2") as err:
        RocketEnvConfig(team_size="3v3", max_team_size=2)
    assert "max_team_size: 3" in str(err.value)
    assert RocketEnvConfig(team_size="3v3", max_team_size=3).max_team_size == 3


def test_config_keys_are_checked() -> None:
    with pytest.raises(ConfigError, match="unknown key 'tick_skp'"):
        RocketEnvConfig.from_dict({"tick_skp": 4})
    with pytest.raises(ConfigError, match="--action must be one of"):
        RocketEnvConfig(action="mouse")
    with pytest.raises(ConfigError, match="tick-skip must be >= 1"):
        RocketEnvConfig(tick_skip=0)


def test_reward_weights_from_yaml(tmp_path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("rewards:\n  goal: 5\n  touch: 0.0\n")
    weights = RewardWeights.from_yaml(path)
    assert weights.goal == 5.0 and weights.touch == 0.0
    assert weights.ball_to_goal_velocity == RewardWeights().ball_to_goal_velocity
    path.write_text("rewards:\n  gaol: 5\n")
    with pytest.raises(ConfigError, match="did you mean goal"):
        RewardWeights.from_yaml(path)
    with pytest.raises(ConfigError, match="team-spirit must be <= 1"):
        RewardWeights(team_spirit=1.5)


def test_the_shipped_rewards_yaml_loads() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    assert RewardWeights.from_yaml(root / "configs" / "rocket_rewards.yaml") == RewardWeights()


def test_missing_extra_names_the_install(monkeypatch) -> None:
    import dreamlab.envs.rocket as rocket

    monkeypatch.setattr(rocket, "rocket_missing", lambda: ["RocketSim"])
    with pytest.raises(EnvError, match="needs the rocket extra") as err:
        make_rocket_env({"team_size": "1v1"})
    assert "dreamlab[rocket]" in str(err.value)


def test_rocket_missing_lists_modules() -> None:
    assert isinstance(rocket_missing(), list)
