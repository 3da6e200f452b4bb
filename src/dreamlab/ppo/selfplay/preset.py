"""Split a self-play YAML into PPO settings, the Rocket League env and the self-play block.

`configs/experiments/ppo_rocket_selfplay.yaml` keeps everything in one file: flat PPO keys
(total_steps, num_envs, ...), a `rocket:` block (RocketEnvConfig) and a `selfplay:` block
(SelfPlayConfig). seeds/003's nested form (`training: {selfplay: {...}}`) is accepted for
the self-play block too. The PPO keys are returned untouched for PPOConfig to judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dreamlab.config.base import read_yaml_mapping
from dreamlab.envs.rocket import is_rocket_id
from dreamlab.envs.rocket.config import RocketEnvConfig, parse_team_size
from dreamlab.errors import ConfigError
from dreamlab.ppo.selfplay.config import SelfPlayConfig


@dataclass
class SelfPlayPreset:
    ppo_values: dict[str, Any]  # for PPOConfig (flat keys; `env` included)
    rocket: RocketEnvConfig
    selfplay: SelfPlayConfig


def is_rocket_env(env_id: str) -> bool:
    """`rocket`, or `rocket:1v2` (a fixed team size, no curriculum)."""
    return is_rocket_id(env_id)


def split_selfplay_values(data: dict[str, Any], source: str) -> SelfPlayPreset:
    data = dict(data)
    rocket = data.pop("rocket", None) or {}
    selfplay = data.pop("selfplay", None)
    training = data.get("training")
    if isinstance(training, dict) and "selfplay" in training:
        if selfplay is not None:
            raise ConfigError(f"{source}: selfplay is given twice (selfplay: and "
                              "training.selfplay:)", "keep one")
        training = dict(training)
        selfplay = training.pop("selfplay")
        data["training"] = training
    if not isinstance(rocket, dict):
        raise ConfigError(f"{source}: rocket must be a mapping of env settings")
    if selfplay is not None and not isinstance(selfplay, dict):
        raise ConfigError(f"{source}: selfplay must be a mapping")
    env_id = str(data.get("env", "rocket"))
    if ":" in env_id and is_rocket_env(env_id):
        rocket = {**rocket, "team_size": str(parse_team_size(env_id.split(":", 1)[1]))}
    sp = SelfPlayConfig.from_dict(selfplay, f"{source}: selfplay")
    env_cfg = RocketEnvConfig.from_dict(rocket, f"{source}: rocket")
    if sp.enabled and sp.schedule().max_team_size > env_cfg.max_team_size:
        raise ConfigError(
            f"{source}: the curriculum reaches {sp.schedule().max_team_size} cars a side but "
            f"rocket.max_team_size is {env_cfg.max_team_size}",
            f"set rocket.max_team_size: {sp.schedule().max_team_size}")
    return SelfPlayPreset(data, env_cfg, sp)


def split_selfplay_yaml(path: str | Path) -> SelfPlayPreset:
    """Read one self-play YAML; bad blocks are one ConfigError line naming the file."""
    return split_selfplay_values(read_yaml_mapping(path), str(path))
