"""A typed stop rule: when a trainer (or a curriculum entry) has done enough.

Every trainer checks the same rule after each evaluation or iteration: a target score,
patience (evaluations without a better score), a cap on iterations or env steps, and a
time budget. A dataclass, not string keys in a dict, so a typo is an error rather than
early stopping silently turned off (issue 10).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class StopRule:
    """Zero (or None) turns a criterion off."""

    target_score: float | None = None  # stop once an evaluation reaches it
    patience: int = 0  # evaluations in a row without a better score
    max_iterations: int = 0  # generations, updates: the trainer's own unit
    max_env_steps: int = 0
    max_minutes: float = 0.0

    def __post_init__(self) -> None:
        for name in ("patience", "max_iterations", "max_env_steps", "max_minutes"):
            if getattr(self, name) < 0:
                raise ValueError(f"StopRule.{name} must be >= 0, got {getattr(self, name)}")

    @property
    def active(self) -> bool:
        return (self.target_score is not None or self.patience > 0 or self.max_iterations > 0
                or self.max_env_steps > 0 or self.max_minutes > 0)


@dataclass
class StopTracker:
    """Applies a StopRule as training goes. `elapsed_s` carries time spent before a
    resume, so a time budget survives a crash; its state round-trips as a plain dict."""

    rule: StopRule
    best_score: float = -math.inf
    evals_since_best: int = 0
    elapsed_before_s: float = 0.0
    reason: str | None = None
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def elapsed_s(self) -> float:
        return self.elapsed_before_s + time.monotonic() - self._started

    def record_eval(self, score: float) -> None:
        """Feed one evaluation score (mean return)."""
        if score > self.best_score:
            self.best_score = float(score)
            self.evals_since_best = 0
        else:
            self.evals_since_best += 1

    def should_stop(self, iteration: int = 0, env_steps: int = 0) -> str | None:
        """The reason to stop now, or None. Reasons: target, patience, max_iterations,
        max_env_steps, time."""
        rule = self.rule
        if rule.target_score is not None and self.best_score >= rule.target_score:
            self.reason = "target"
        elif rule.patience and self.evals_since_best >= rule.patience:
            self.reason = "patience"
        elif rule.max_iterations and iteration >= rule.max_iterations:
            self.reason = "max_iterations"
        elif rule.max_env_steps and env_steps >= rule.max_env_steps:
            self.reason = "max_env_steps"
        elif rule.max_minutes and self.elapsed_s >= rule.max_minutes * 60.0:
            self.reason = "time"
        else:
            self.reason = None
        return self.reason

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "evals_since_best": self.evals_since_best,
                "elapsed_s": self.elapsed_s, "reason": self.reason, "rule": asdict(self.rule)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_score = float(state.get("best_score", -math.inf))
        self.evals_since_best = int(state.get("evals_since_best", 0))
        self.elapsed_before_s = float(state.get("elapsed_s", 0.0))
        self._started = time.monotonic()
