"""What a curriculum is: an ordered list of envs, each with a target score (issue 1).

The two built-in curricula keep the names and orders of seeds/000 (FULL: Pong ->
LunarLander -> Breakout -> CarRacing; CLASSIC: Pong -> Breakout -> CartPole -> Acrobot) and
the targets of seeds/001 (Pong 18, Breakout 50, CarRacing 800). A custom curriculum is a
YAML file of the same shape (see configs/curricula/); every mistake in it is one
ConfigError line naming the file, the entry and the key.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dreamlab.config import coerce, field_types, safe_env_name
from dreamlab.errors import ConfigError, EnvError

# Scores the field treats as "solved" (Gymnasium's reward_threshold where it has one;
# Pong, Breakout and CarRacing from seeds/001).
DEFAULT_TARGETS: dict[str, float] = {
    "ALE/Pong-v5": 18.0,
    "ALE/Breakout-v5": 50.0,
    "CarRacing-v3": 800.0,
    "CartPole-v1": 475.0,
    "Acrobot-v1": -100.0,
    "LunarLander-v3": 200.0,
}

OBS_CHOICES = ("auto", "pixels", "state")
# Keys the curriculum itself sets per env; allowing them in `overrides` would let one
# entry silently write into another env's run dir or train another env.
RESERVED_OVERRIDES = ("env", "obs", "checkpoint_dir", "mode", "stage", "debug")
ENTRY_KEYS = ("env", "algo", "target", "max_generations", "obs", "patience", "overrides")
TOP_KEYS = ("name", "envs", "defaults")


@dataclass(frozen=True)
class EnvEntry:
    """One env of a curriculum: what to train, what counts as solved, what to change."""

    env_id: str
    target: float
    max_generations: int | None = None  # None: the mode preset's cma_generations
    obs: str = "auto"
    patience: int | None = None  # None: the curriculum's --patience
    overrides: dict[str, Any] = field(default_factory=dict)  # fields of the algo's config
    algo: str = "worldmodels"  # which algorithm trains this env (the algorithm table)

    @property
    def run_dir_name(self) -> str:
        """Same name the algorithm's command gives the env's run dir, so single runs feel
        familiar (World Models: <env>_worldmodel)."""
        from dreamlab.algorithms import get_algorithm

        suffix = get_algorithm(self.algo).config_class().RUN_SUFFIX
        return f"{safe_env_name(self.env_id)}_{suffix}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"env": self.env_id, "target": self.target, "obs": self.obs}
        if self.algo != "worldmodels":
            out["algo"] = self.algo
        if self.max_generations is not None:
            out["max_generations"] = self.max_generations
        if self.patience is not None:
            out["patience"] = self.patience
        if self.overrides:
            out["overrides"] = dict(self.overrides)
        return out


@dataclass(frozen=True)
class CurriculumSpec:
    name: str
    entries: tuple[EnvEntry, ...]

    @property
    def env_ids(self) -> list[str]:
        return [e.env_id for e in self.entries]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "envs": [e.to_dict() for e in self.entries]}


def _entry(env_id: str, obs: str = "auto") -> EnvEntry:
    return EnvEntry(env_id=env_id, target=DEFAULT_TARGETS[env_id], obs=obs)


# CartPole and Acrobot learn from their state vectors here: from pixels CartPole alone takes
# about 13 minutes on a 2-core CPU (notes/cartpole-pixels-prototype.md), which would break
# the 20-minute budget of `--curriculum classic --mode quick`. `dreamlab run` still trains
# CartPole from pixels; a YAML curriculum can choose `obs: pixels`.
FULL = CurriculumSpec("full", (
    _entry("ALE/Pong-v5"),
    _entry("LunarLander-v3", obs="state"),
    _entry("ALE/Breakout-v5"),
    _entry("CarRacing-v3"),
))
CLASSIC = CurriculumSpec("classic", (
    _entry("ALE/Pong-v5"),
    _entry("ALE/Breakout-v5"),
    _entry("CartPole-v1", obs="state"),
    _entry("Acrobot-v1", obs="state"),
))
BUILTIN: dict[str, CurriculumSpec] = {"full": FULL, "classic": CLASSIC}


def load_curriculum(name_or_path: str | Path) -> CurriculumSpec:
    """`full`, `classic` (any case) or the path of a YAML curriculum."""
    key = str(name_or_path)
    if key.lower() in BUILTIN:
        return BUILTIN[key.lower()]
    path = Path(key)
    if path.suffix.lower() not in (".yaml", ".yml") and not path.exists():
        raise ConfigError(
            f"unknown curriculum {key!r}",
            f"use {' or '.join(BUILTIN)}, or the path of a YAML file (configs/curricula/)",
        )
    if not path.exists():
        raise ConfigError(f"curriculum file {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"curriculum file {path} is a directory", "pass a YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    return parse_curriculum(data, source=str(path), default_name=path.stem)


def parse_curriculum(data: Any, source: str = "curriculum",
                     default_name: str = "custom") -> CurriculumSpec:
    """Validate a curriculum mapping (the YAML's content) into a CurriculumSpec."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: must be a mapping with an 'envs' list, got {type(data).__name__}",
            "see configs/curricula/classic.yaml for the format",
        )
    _reject_unknown(data, TOP_KEYS, source)
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{source}: name must be a non-empty string, got {name!r}")
    envs = data.get("envs")
    if not isinstance(envs, list) or not envs:
        raise ConfigError(f"{source}: 'envs' must be a non-empty list of env entries",
                          "see configs/curricula/classic.yaml for the format")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(f"{source}: defaults must be a mapping of config keys, "
                          f"got {type(defaults).__name__}")
    entries = [_parse_entry(item, i, source, defaults) for i, item in enumerate(envs)]
    seen: set[str] = set()
    for e in entries:
        if e.env_id in seen:
            raise ConfigError(f"{source}: {e.env_id} is listed twice",
                              "each env has one run dir in a curriculum; list it once")
        seen.add(e.env_id)
    return CurriculumSpec(name=name.strip(), entries=tuple(entries))


def _parse_entry(item: Any, index: int, source: str,
                 defaults: dict[str, Any]) -> EnvEntry:
    where = f"{source}: envs[{index}]"
    if isinstance(item, str):
        item = {"env": item}
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be a mapping with env and target, got {item!r}")
    _reject_unknown(item, ENTRY_KEYS, where)
    raw_id = item.get("env")
    if not isinstance(raw_id, str) or not raw_id:
        raise ConfigError(f"{where}: missing 'env' (a Gymnasium id such as CartPole-v1)")
    env_id = _resolve(raw_id, where)
    where = f"{source}: {env_id}"
    if "target" in item:
        target = _number(item["target"], "target", where)
    elif env_id in DEFAULT_TARGETS:
        target = DEFAULT_TARGETS[env_id]
    else:
        raise ConfigError(f"{where}: missing 'target' (the score that counts as solved)",
                          "add e.g. `target: 200` to the entry")
    obs = item.get("obs", "auto")
    if obs not in OBS_CHOICES:
        raise ConfigError(f"{where}: obs must be one of {', '.join(OBS_CHOICES)}, got {obs!r}")
    algo = _algo(item.get("algo", "worldmodels"), where)
    return EnvEntry(
        env_id=env_id,
        target=target,
        max_generations=_positive_int(item.get("max_generations"), "max_generations", where),
        obs=obs,
        patience=_positive_int(item.get("patience"), "patience", where),
        overrides={**_overrides(defaults, f"{source}: defaults", algo),
                   **_overrides(item.get("overrides") or {}, where, algo)},
        algo=algo,
    )


def _algo(name: Any, where: str) -> str:
    from dreamlab.algorithms import ALGORITHMS, available

    if name not in ALGORITHMS:
        raise ConfigError(f"{where}: unknown algo {name!r}",
                          f"use one of {', '.join(ALGORITHMS)}")
    if name not in available():
        raise ConfigError(f"{where}: algo {name!r} is not in this install")
    return str(name)


def _resolve(env_id: str, where: str) -> str:
    """Unknown ids fail here, before hours of training; a missing extra does not (the
    runner skips that env with an install hint instead, issue 2)."""
    from dreamlab.envs import resolve_env_id

    try:
        return resolve_env_id(env_id)
    except EnvError as exc:
        if "extra" in exc.message:
            return env_id
        raise ConfigError(f"{where}: {exc.message}", exc.hint) from exc


def _overrides(values: Any, where: str, algo: str = "worldmodels") -> dict[str, Any]:
    from dreamlab.algorithms import get_algorithm

    if not isinstance(values, dict):
        raise ConfigError(f"{where}: overrides must be a mapping of config keys, "
                          f"got {type(values).__name__}")
    types_ = field_types(get_algorithm(algo).config_class())
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name in RESERVED_OVERRIDES:
            raise ConfigError(f"{where}: {key!r} cannot be overridden per env",
                              "the curriculum sets it (use the entry's own keys or flags)")
        if name not in types_:
            close = difflib.get_close_matches(name, list(types_), n=3, cutoff=0.6)
            raise ConfigError(f"{where}: unknown override {key!r}",
                              f"did you mean {', '.join(close)}?" if close
                              else f"see `dreamlab {algo} --help` for the keys")
        out[name] = coerce(name, value, types_[name], where)
    return out


def _reject_unknown(mapping: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in mapping:
        if str(key) not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            raise ConfigError(f"{where}: unknown key {key!r}",
                              f"did you mean {close[0]!r}?" if close
                              else f"allowed keys: {', '.join(allowed)}")


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {name} must be a number, got "
                          f"{type(value).__name__} {value!r}")
    return float(value)


def _positive_int(value: Any, name: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: {name} must be an integer >= 1, got {value!r}")
    return value
