"""evaluation_results.json: one schema for every algorithm (DESIGN.md "run directory").

The common fields come first; an algorithm's own figures (World Models' dream score,
PPO's opponent ratings) ride along in `extra` and are written as top-level keys beside
them, so a report reads any run the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamlab.runtime.atomic import atomic_write_json, read_json

COMMON_KEYS = ("env_id", "algo", "episodes", "mean_return", "std_return", "returns",
               "env_steps", "wall_s")


@dataclass
class EvalResult:
    env_id: str
    algo: str
    returns: list[float]
    env_steps: int = 0  # env steps the evaluation ran (training steps go in extra)
    wall_s: float = 0.0  # seconds the evaluation took
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def episodes(self) -> int:
        return len(self.returns)

    @property
    def mean_return(self) -> float:
        return float(sum(self.returns) / len(self.returns)) if self.returns else math.nan

    @property
    def std_return(self) -> float:
        if not self.returns:
            return math.nan
        mean = self.mean_return
        return float(math.sqrt(sum((r - mean) ** 2 for r in self.returns) / len(self.returns)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "env_id": self.env_id, "algo": self.algo, "episodes": self.episodes,
            "mean_return": self.mean_return, "std_return": self.std_return,
            "returns": [float(r) for r in self.returns], "env_steps": int(self.env_steps),
            "wall_s": round(float(self.wall_s), 3),
        }
        out.update({k: v for k, v in self.extra.items() if k not in COMMON_KEYS})
        return out

    def write(self, path: str | Path) -> None:
        atomic_write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any], algo: str = "worldmodels") -> EvalResult:
        """Read any evaluation_results.json, including ones written before the common
        schema (World Models runs without `algo`, `env_steps` or `wall_s`)."""
        extra = {k: v for k, v in data.items() if k not in COMMON_KEYS}
        return cls(env_id=str(data.get("env_id", "")), algo=str(data.get("algo", algo)),
                   returns=[float(r) for r in data.get("returns", [])],
                   env_steps=int(data.get("env_steps", 0) or 0),
                   wall_s=float(data.get("wall_s", 0.0) or 0.0), extra=extra)

    @classmethod
    def read(cls, path: str | Path) -> EvalResult:
        return cls.from_dict(read_json(path))
