"""Run directories with the files the pipeline writes, made without training anything.

The report and curriculum tests need finished runs of several envs; training them for
real would take minutes, and these tests check what is read back, not how it was learnt.
The files are written through the same runtime modules the pipeline uses (Manifest,
atomic JSON), so a change of format there shows up here.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from dreamlab.runtime.atomic import atomic_write_json
from dreamlab.runtime.manifest import Manifest

STAGE_SECONDS = {"collect": 3.0, "vae": 5.0, "encode": 1.0, "mdnrnn": 4.0,
                 "controller": 10.0, "eval": 2.0}


def write_fake_run(run_dir: Path, env_id: str = "CartPole-v1",
                   eval_scores: Sequence[float | None] = (10.0, None, 30.0, None, 50.0),
                   final: tuple[float, float] = (48.0, 4.0), stop_reason: str = "max_generations",
                   obs: str = "state", eval_done: bool = True) -> Path:
    """A run of len(eval_scores) generations; a score at generation g means an evaluation
    (and a snapshot) there. Returns the run dir."""
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.load_or_create(run_dir, {"env": env_id, "obs": obs, "mode": "quick"},
                                       seed=1)
    logs = run_dir / "logs"
    logs.mkdir(exist_ok=True)
    with open(logs / "metrics.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["time", "tag", "step", "value"])
        if obs == "pixels":
            for step in range(5):
                writer.writerow([0, "vae/loss", step * 10, 100.0 - 10 * step])
                writer.writerow([0, "vae/recon", step * 10, 90.0 - 10 * step])
                writer.writerow([0, "vae/kl", step * 10, 10.0 + step])
        for step in range(6):
            writer.writerow([0, "mdnrnn/loss", step * 5, 2.0 - 0.3 * step])
            writer.writerow([0, "mdnrnn/nll", step * 5, 1.5 - 0.3 * step])
        for gen, score in enumerate(eval_scores):
            writer.writerow([0, "controller/fitness_best", gen, 20.0 + 10 * gen])
            writer.writerow([0, "controller/fitness_mean", gen, 10.0 + 8 * gen])
            if score is not None:
                writer.writerow([0, "controller/eval_mean", gen, score])
                writer.writerow([0, "controller/eval_std", gen, 2.0])
                atomic_write_json(run_dir / "snapshots" / f"gen_{gen:04d}.json", {
                    "generation": gen, "fitness_best": 20.0 + 10 * gen,
                    "fitness_mean": 10.0 + 8 * gen,
                    "eval_mean": score, "eval_std": 2.0, "wall_time_s": 1.0 + gen,
                })
    evals = [s for s in eval_scores if s is not None]
    for stage, seconds in STAGE_SECONDS.items():
        if stage == "eval" and not eval_done:
            continue
        metrics = {}
        if stage == "controller":
            # As worldmodels/train_controller.py reports it: `stopped_early` only when the
            # target or patience ended training.
            metrics = {"generations": len(eval_scores),
                       "best_eval_mean": max(evals) if evals else None}
            if stop_reason == "target":
                metrics["stopped_early"] = "target 475 reached"
            elif stop_reason == "patience":
                metrics["stopped_early"] = "no better evaluation for 30 generations"
        manifest.mark_running(stage)
        manifest.mark_done(stage, [], seconds, metrics)
    if eval_done:
        atomic_write_json(run_dir / "evaluation_results.json", {
            "env_id": env_id, "episodes": 10, "mean_return": final[0],
            "std_return": final[1], "returns": [final[0]] * 10, "dream_mean_return": 60.0,
        })
    return run_dir
