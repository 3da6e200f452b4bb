"""Typed configuration: one dataclass per algorithm on a shared base (config/base.py).

`from dreamlab.config import WorldModelConfig, resolve_config` keeps working: the World
Models names are re-exported, and `resolve_config` / `load_yaml` default to that class.
Nothing here imports torch, so `dreamlab --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamlab.config import base
from dreamlab.config.base import (
    MODES,
    RunConfig,
    coerce,
    opt,
    parse_bool_flag,
    safe_env_name,
)
from dreamlab.config.worldmodels import (
    ENV_PRESETS,
    STAGES,
    WorldModelConfig,
    config_hash_fields,
    env_preset,
)
from dreamlab.config.worldmodels import MODE_PRESETS as PRESETS


def field_types(cls: type = WorldModelConfig) -> dict[str, type]:
    return base.field_types(cls)


def load_yaml(path: str | Path, cls: type = WorldModelConfig) -> dict[str, Any]:
    return base.load_yaml(path, cls)


def resolve_config(mode: str = "quick", yaml_path: str | Path | None = None,
                   overrides: dict[str, Any] | None = None,
                   cls: type = WorldModelConfig) -> Any:
    return base.resolve_config(cls, mode, yaml_path, overrides)


__all__ = [
    "ENV_PRESETS", "MODES", "PRESETS", "STAGES", "RunConfig", "WorldModelConfig", "coerce",
    "config_hash_fields", "env_preset", "field_types", "load_yaml", "opt",
    "parse_bool_flag", "resolve_config", "safe_env_name",
]
