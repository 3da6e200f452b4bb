"""The table of algorithms: the one place the CLI and the curriculum learn what exists.

Each entry names (as "module:attribute" strings, imported only when used, so that
`dreamlab --help` never imports torch) the algorithm's config class, its train function
and its evaluate function. The contract every algorithm keeps:

* `train(cfg, stop: StopRule | None = None) -> TrainResult`: train end to end in
  `cfg.run_dir()`, resuming what is there, honour `stop`, evaluate, and write
  `evaluation_results.json` in the common schema (runtime/results.py).
* `evaluate_run(run_dir, episodes: int | None, save_videos: bool) -> EvalResult`:
  evaluate a finished run again (`dreamlab eval RUN_DIR`). Options only some runs have
  come as keywords, passed only when the user gives them: `opponent` (`--opponent`, PPO's
  Rocket League self-play runs). A flag the function does not accept is one line.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamlab.errors import ConfigError


@dataclass(frozen=True)
class Algorithm:
    name: str
    summary: str
    config: str  # "module:Class"
    train: str  # "module:function"
    evaluate: str  # "module:function"
    aliases: tuple[str, ...] = ()
    preflight: str | None = None  # "module:function"(cfg): refuse a bad run before printing

    def preflight_fn(self) -> Any:
        return _load(self.preflight) if self.preflight else None

    def config_class(self) -> type:
        return _load(self.config)

    def train_fn(self) -> Any:
        return _load(self.train)

    def evaluate_fn(self) -> Any:
        return _load(self.evaluate)


@dataclass
class TrainResult:
    """What a train function hands back to the CLI and the curriculum."""

    run_dir: Path
    evaluation: Any = None  # runtime.results.EvalResult, when an evaluation ran
    stop_reason: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)  # per stage/phase summaries


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a for a in (
        Algorithm("worldmodels", "World Models (ConvVAE + MDN-RNN + CMA-ES controller, "
                  "6 stages)", "dreamlab.config.worldmodels:WorldModelConfig",
                  "dreamlab.worldmodels.pipeline:train",
                  "dreamlab.worldmodels.pipeline:evaluate_run", aliases=("run",),
                  preflight="dreamlab.worldmodels.pipeline:preflight"),
        Algorithm("dreamer", "Dreamer (RSSM world model + actor-critic in imagination)",
                  "dreamlab.config.dreamer:DreamerConfig", "dreamlab.dreamer.train:train",
                  "dreamlab.dreamer.evaluate:evaluate_run",
                  preflight="dreamlab.dreamer.train:preflight"),
        Algorithm("ppo", "PPO (the model-free baseline, and self-play on Rocket League)",
                  "dreamlab.config.ppo:PPOConfig", "dreamlab.ppo.train:train",
                  "dreamlab.ppo.evaluate:evaluate_run"),
    )
}


def available() -> dict[str, Algorithm]:
    """The algorithms whose config module exists in this checkout."""
    out = {}
    for name, algo in ALGORITHMS.items():
        module = algo.config.partition(":")[0]
        if importlib.util.find_spec(module) is not None:
            out[name] = algo
    return out


def get_algorithm(name: str) -> Algorithm:
    for algo in ALGORITHMS.values():
        if name == algo.name or name in algo.aliases:
            return algo
    raise ConfigError(f"unknown algorithm {name!r}",
                      f"use one of {', '.join(ALGORITHMS)}")
