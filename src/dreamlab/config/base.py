"""The config machinery every algorithm shares: fields, presets, YAML and validation.

A config is a dataclass (STYLE.md "Config is data"). Each field carries its help text and
bounds in its metadata (`opt(...)`), so `--help`, validation and the README table read
one source. Precedence is: the class's mode preset < its per-env preset < a YAML file
(`--config`) < command-line flags. Unknown YAML keys and wrong types are one ConfigError
line each. This module must not import torch: `dreamlab --help` reads it.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import yaml

from dreamlab.errors import ConfigError

MODES = ("quick", "medium", "full")
EXECUTORS = ("local", "inline", "ray")


def opt(default: Any, help: str, *, low: float | None = None, above: float | None = None,
        high: float | None = None, choices: tuple[Any, ...] | None = None) -> Any:
    """A config field with its help text and bounds: `low` is inclusive (>=), `above`
    exclusive (>), `high` inclusive (<=), `choices` the allowed values."""
    meta = {"help": help, "low": low, "above": above, "high": high, "choices": choices}
    return dataclasses.field(default=default, metadata=meta)


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def safe_env_name(env_id: str) -> str:
    """An env id as a file or directory name (`ALE/Pong-v5` -> `ALE_Pong-v5`); the one
    place this mapping lives, so run dirs, curricula and reports agree."""
    return env_id.replace("/", "_").replace(":", "_").replace(" ", "_")


@dataclass
class RunConfig:
    """Fields every run shares, whatever the algorithm."""

    ALGO: ClassVar[str] = "base"
    RUN_SUFFIX: ClassVar[str] = "base"  # runs/<env>_<suffix>
    # Presets are sets of values (DESIGN.md); one home each: the algorithm's config module.
    MODE_PRESETS: ClassVar[dict[str, dict[str, Any]]] = {}
    ENV_PRESETS: ClassVar[dict[tuple[str, str], dict[str, Any]]] = {}

    env: str = opt("CartPole-v1", "Gymnasium id; old ids (CarRacing-v2, PongNoFrameskip-v4) "
                   "are mapped to today's")
    mode: str = opt("quick", "preset: quick (minutes on a CPU), medium, full (paper scale)",
                    choices=MODES)
    device: str = opt("auto", "auto (CUDA when visible), cpu or cuda",
                      choices=("auto", "cpu", "cuda"))
    seed: int = opt(42, "seed of every random source; reproducible on one machine, not "
                    "across CPUs")
    checkpoint_dir: str | None = opt(None, "run directory (default runs/<env>_<algo>)")
    num_threads: int = opt(0, "torch intra-op threads (0: the CPU count, at most 4)", low=0)
    obs: str = opt("auto", "pixels or state observations (auto: the env's own)",
                   choices=("auto", "pixels", "state"))
    frame_skip: int = opt(1, "action repeat applied by make_env", low=1)
    max_episode_steps: int = opt(0, "cap episodes at N env steps (0: the env's own limit)",
                                 low=0)
    amp: bool = opt(True, "mixed precision (bf16/fp16) on CUDA; ignored on the CPU")
    tf32: bool = opt(True, "TF32 matmuls on CUDA; ignored on the CPU")
    eval_episodes: int = opt(10, "episodes of the final evaluation", low=1)
    save_videos: bool = opt(False, "write evaluation videos to videos/")
    executor: str = opt("local", "parallel work: local (processes), inline (this process) "
                        "or ray (a Ray cluster; needs the ray extra)", choices=EXECUTORS)
    ray_address: str | None = opt(None, "with --executor ray: auto (the cluster `ray start` "
                                  "made on this node), HOST:PORT, or unset for a local Ray")
    debug: bool = opt(False, "show tracebacks (and, where an algorithm says so, a short run)")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every field against its metadata, then the class's own rules."""
        for f in fields(self):
            check_field(f, getattr(self, f.name))
        if self.checkpoint_dir and Path(self.checkpoint_dir).exists() \
                and not Path(self.checkpoint_dir).is_dir():
            raise ConfigError(f"--checkpoint-dir {self.checkpoint_dir} is a file",
                              "pass a directory (it is created if missing)")
        if self.ray_address and self.executor != "ray":  # else the cluster sits unused
            raise ConfigError(f"--ray-address needs --executor ray, got --executor "
                              f"{self.executor}", "add --executor ray")
        self.check()

    def check(self) -> None:
        """Rules that involve several fields; subclasses extend it (and call this)."""

    def run_dir(self) -> Path:
        if self.checkpoint_dir:
            return Path(self.checkpoint_dir)
        return Path("runs") / f"{safe_env_name(self.env)}_{self.RUN_SUFFIX}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_field(f: dataclasses.Field, value: Any) -> None:
    meta = f.metadata
    flag = flag_name(f.name)
    if meta.get("choices") is not None and value not in meta["choices"]:
        names = [str(c) for c in meta["choices"]]
        allowed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
        raise ConfigError(f"{flag} must be one of {allowed}, got {value!r}")
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return
    if meta.get("low") is not None and value < meta["low"]:
        raise ConfigError(f"{flag} must be >= {_num(meta['low'])}, got {value}")
    if meta.get("above") is not None and not value > meta["above"]:
        raise ConfigError(f"{flag} must be > {_num(meta['above'])}, got {value}")
    if meta.get("high") is not None and value > meta["high"]:
        raise ConfigError(f"{flag} must be <= {_num(meta['high'])}, got {value}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def field_types(cls: type) -> dict[str, type]:
    """The concrete type of each field (Optional[X] -> X), for YAML and flag parsing."""
    hints = typing.get_type_hints(cls)
    out: dict[str, type] = {}
    for f in fields(cls):
        t = hints[f.name]
        if isinstance(t, types.UnionType) or typing.get_origin(t) is typing.Union:
            t = next(a for a in typing.get_args(t) if a is not type(None))
        out[f.name] = t
    return out


def optional_fields(cls: type) -> set[str]:
    """Fields whose type admits None (YAML `null` is then accepted)."""
    hints = typing.get_type_hints(cls)
    out = set()
    for f in fields(cls):
        t = hints[f.name]
        if (isinstance(t, types.UnionType) or typing.get_origin(t) is typing.Union) and \
                type(None) in typing.get_args(t):
            out.add(f.name)
    return out


def coerce(name: str, value: Any, expected: type, source: str,
           nullable: bool = False) -> Any:
    """Check a YAML value's type; ints are accepted for floats, nothing else is converted."""
    if value is None and nullable:
        return None
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is bool and not isinstance(value, bool):
        raise ConfigError(f"{source}: {name} must be true or false, got {value!r}")
    if expected is not bool and isinstance(value, bool):
        raise ConfigError(f"{source}: {name} must be {expected.__name__}, got {value!r}")
    if not isinstance(value, expected):
        raise ConfigError(
            f"{source}: {name} must be {expected.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping; a missing file or bad YAML is one line."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory", "pass a YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config keys, got {type(data).__name__}")
    return data


def check_values(data: dict[str, Any], cls: type, source: str) -> dict[str, Any]:
    """Names and types of a mapping of config values (from YAML or a curriculum)."""
    types_ = field_types(cls)
    nullable = optional_fields(cls)
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in types_:
            close = close_names(name, list(types_))
            raise ConfigError(
                f"{source}: unknown key {key!r}",
                f"did you mean {close}?" if close else
                f"see `dreamlab {cls.ALGO} --help` for the keys",
            )
        out[name] = coerce(name, value, types_[name], source, name in nullable)
    return out


def load_yaml(path: str | Path, cls: type) -> dict[str, Any]:
    """Read a YAML file of config values; unknown keys and wrong types are ConfigError."""
    return check_values(read_yaml_mapping(path), cls, str(path))


def close_names(name: str, names: list[str]) -> str:
    return ", ".join(difflib.get_close_matches(name, names, n=3, cutoff=0.6))


def resolve_config(cls: type, mode: str = "quick", yaml_path: str | Path | None = None,
                   overrides: dict[str, Any] | None = None,
                   file_values: dict[str, Any] | None = None) -> Any:
    """Merge mode preset < env preset < YAML file < flags into a validated config."""
    if file_values is None:
        file_values = load_yaml(yaml_path, cls) if yaml_path else {}
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    mode = overrides.get("mode", file_values.get("mode", mode))
    if mode not in MODES:
        raise ConfigError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    env = overrides.get("env", file_values.get("env", cls.env))
    values: dict[str, Any] = {}
    values.update(cls.MODE_PRESETS.get(mode, {}))
    values.update(cls.ENV_PRESETS.get((env, mode), {}))
    values.update(file_values)
    values.update(overrides)
    values["mode"] = mode
    return cls(**values)


def parse_bool_flag(text: str) -> bool:
    """`--amp True`, `--amp false`, `--amp 1` (seeds/000 wrote `--amp True`)."""
    import argparse

    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
