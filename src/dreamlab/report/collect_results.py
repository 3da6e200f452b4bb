"""Read a finished (or partly finished) run directory back into numbers for a report.

Everything comes from files every algorithm already writes (DESIGN.md: the run directory
is the truth): manifest.json (its `algo`, status, and for World Models the stage times and
the controller's stop reason), evaluation_results.json for the final score in the common
schema, logs/metrics.csv for the curves, and World Models' snapshots/gen_XXXX.json for its
periodic evaluations. So `dreamlab report` can rebuild every
table and plot long after training, from any run, curriculum or not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamlab.runtime.atomic import read_json
from dreamlab.runtime.logger import read_metrics

# The columns of one result row, in table order (curriculum_results.json, CSV, LaTeX).
ROW_FIELDS = (
    "env", "algo", "target", "status", "best_eval_mean", "final_mean", "final_std", "episodes",
    "dream_mean", "generations", "stop_reason", "early_stopped", "reached_target",
    "wall_time_s", "obs", "mode", "run_dir",
)
EARLY_REASONS = ("target", "patience")


@dataclass
class RunHistory:
    """The curves of one run: tag -> [(step, value)] plus the evaluation snapshots."""

    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    snapshots: list[dict[str, Any]] = field(default_factory=list)

    def curve(self, tag: str) -> list[tuple[int, float]]:
        return self.metrics.get(tag, [])

    def tags(self, prefix: str) -> list[str]:
        return sorted(t for t in self.metrics if t.startswith(prefix))


def is_run_dir(path: Path) -> bool:
    return (path / "manifest.json").is_file()


def _read(path: Path) -> Any:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(float(value)) else None


def read_snapshots(run_dir: Path) -> list[dict[str, Any]]:
    """snapshots/gen_XXXX.json in generation order; unreadable files are left out."""
    snaps = []
    for path in sorted((run_dir / "snapshots").glob("gen_*.json")):
        data = _read(path)
        if isinstance(data, dict):
            data.setdefault("generation", int(path.stem.split("_")[-1]))
            snaps.append(data)
    return sorted(snaps, key=lambda s: s["generation"])


def read_history(run_dir: str | Path) -> RunHistory:
    run_dir = Path(run_dir)
    return RunHistory(metrics=read_metrics(run_dir / "logs"), snapshots=read_snapshots(run_dir))


def _stop_reason(stage: dict[str, Any], metrics: dict[str, Any]) -> str | None:
    """target, patience or max_generations, from the controller stage's record.

    The stage reports an early stop as `stopped_early: "<why>"` ("target 18 reached", "no
    better evaluation for 30 generations") and nothing when it ran to its last generation.
    """
    if metrics.get("stop_reason"):
        return str(metrics["stop_reason"])
    why = metrics.get("stopped_early")
    if why:
        return "target" if "target" in str(why) else "patience"
    return "max_generations" if stage.get("status") == "done" else None


def collect_run(run_dir: str | Path, target: float | None = None,
                default_targets: Mapping[str, float] | None = None) -> dict[str, Any]:
    """One result row (ROW_FIELDS) for a run dir; missing pieces are None, never errors.

    Without `target`, the env's entry in `default_targets` is used (the caller passes the
    curriculum's table: report sits below curriculum and does not import it), so a single
    `dreamlab run` directory gets the same table as a curriculum.
    """
    run_dir = Path(run_dir)
    manifest = _read(run_dir / "manifest.json") or {}
    config = manifest.get("config", {}) if isinstance(manifest, dict) else {}
    stages = manifest.get("stages", {}) if isinstance(manifest, dict) else {}
    evaluation = _read(run_dir / "evaluation_results.json") or {}
    env_id = evaluation.get("env_id") or config.get("env") or run_dir.name
    if target is None:
        target = (default_targets or {}).get(env_id)
    algo = str(manifest.get("algo", "worldmodels")) if isinstance(manifest, dict) else "?"
    if algo != "worldmodels":
        return _step_trainer_row(run_dir, algo, env_id, target, manifest, config, evaluation)
    controller = stages.get("controller", {}).get("metrics", {}) or {}
    snapshots = read_snapshots(run_dir)

    final_mean = _num(evaluation.get("mean_return"))
    eval_means = [_num(s.get("eval_mean")) for s in snapshots]
    candidates = [v for v in [_num(controller.get("best_eval_mean")), *eval_means, final_mean]
                  if v is not None]
    generations = controller.get("generations")
    if generations is None and snapshots:
        generations = int(snapshots[-1]["generation"]) + 1
    stop_reason = _stop_reason(stages.get("controller", {}), controller)
    wall = sum(float(s.get("seconds", 0.0) or 0.0) for s in stages.values())
    done = stages.get("eval", {}).get("status") == "done" and final_mean is not None
    return {
        "env": env_id,
        "algo": algo,
        "target": target,
        "status": "done" if done else "incomplete",
        "best_eval_mean": max(candidates) if candidates else None,
        "final_mean": final_mean,
        "final_std": _num(evaluation.get("std_return")),
        "episodes": evaluation.get("episodes"),
        "dream_mean": _num(evaluation.get("dream_mean_return")),
        "generations": generations,
        "stop_reason": stop_reason,
        "early_stopped": stop_reason in EARLY_REASONS if stop_reason else False,
        "reached_target": (final_mean is not None and target is not None
                           and final_mean >= target),
        "wall_time_s": round(wall, 1),
        "obs": config.get("obs"),
        "mode": config.get("mode"),
        "run_dir": str(run_dir),
    }


def _step_trainer_row(run_dir: Path, algo: str, env_id: str, target: float | None,
                      manifest: dict[str, Any], config: dict[str, Any],
                      evaluation: dict[str, Any]) -> dict[str, Any]:
    """A Dreamer or PPO run: its evaluations are the `eval/mean_return` curve, its length
    is counted in updates, its stop reason and time are what its trainer recorded."""
    final_mean = _num(evaluation.get("mean_return"))
    evals = [v for _, v in read_metrics(run_dir / "logs").get("eval/mean_return", [])]
    candidates = [v for v in [*evals, final_mean] if v is not None]
    stop_reason = evaluation.get("stop_reason") or manifest.get("stop_reason")
    wall = manifest.get("train_s") or manifest.get("wall_s") or evaluation.get("train_s")
    return {
        "env": env_id, "algo": algo, "target": target,
        "status": "done" if manifest.get("status") == "done" and final_mean is not None
        else "incomplete",
        "best_eval_mean": max(candidates) if candidates else None,
        "final_mean": final_mean, "final_std": _num(evaluation.get("std_return")),
        "episodes": evaluation.get("episodes"), "dream_mean": None,
        "generations": manifest.get("updates") or evaluation.get("updates"),
        "stop_reason": stop_reason,
        "early_stopped": stop_reason in ("target", "patience"),
        "reached_target": (final_mean is not None and target is not None
                           and final_mean >= target),
        "wall_time_s": round(float(wall), 1) if _num(wall) is not None else None,
        "obs": config.get("obs"), "mode": config.get("mode"), "run_dir": str(run_dir),
    }


def expand_run_dirs(paths: list[str | Path]) -> list[tuple[Path, float | None]]:
    """Run dirs (with their curriculum targets) from a mix of run and curriculum dirs.

    A curriculum dir is recognised by curriculum_state.json and stands for its env run
    dirs in curriculum order; a directory holding run dirs stands for all of them.
    """
    out: list[tuple[Path, float | None]] = []
    for raw in paths:
        path = Path(raw)
        state = _read(path / "curriculum_state.json")
        if isinstance(state, dict) and isinstance(state.get("envs"), list):
            for env in state["envs"]:
                sub = path / str(env.get("run_dir", ""))
                if env.get("run_dir") and is_run_dir(sub):
                    out.append((sub, _num(env.get("target"))))
        elif is_run_dir(path):
            out.append((path, None))
        elif path.is_dir():
            out.extend((p, None) for p in sorted(path.iterdir()) if is_run_dir(p))
    return out
