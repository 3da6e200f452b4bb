"""`make run` on a fresh clone, setup included (<= 10 minutes), over several seeds.

Usage: python benchmarks/make_run.py [--seeds 42,43,44] [--eval-episodes 100]
Clones this repository into a temp folder and runs `make run` there: the first seed builds
.venv from nothing (its wall time includes setup), later seeds reuse it. Each run trains
the default agent (CartPole-v1 from pixels, quick mode) with `--seed S` and evaluates it
over --eval-episodes episodes. A seed reproduces a run on one CPU model, not across CPUs,
so the figure that travels is the mean and spread over seeds (issue 10).
Writes benchmarks/results/make_run.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from _common import save_result, spread_over_seeds

ROOT = Path(__file__).resolve().parent.parent


def run_seed(clone: Path, seed: int, episodes: int) -> dict:
    run_dir = clone / "runs" / f"seed{seed}"
    args = f"--seed {seed} --eval-episodes {episodes} --checkpoint-dir {run_dir}"
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    proc = subprocess.run(["make", "run", f"ARGS={args}"], cwd=clone, capture_output=True,
                          text=True)
    wall = time.monotonic() - t0
    row: dict = {"seed": seed, "returncode": proc.returncode, "wall_s": round(wall, 1),
                 "wall_min": round(wall / 60, 2), "load_1min_before": round(load_before, 2),
                 "load_1min_after": round(os.getloadavg()[0], 2)}
    manifest = run_dir / "manifest.json"
    if manifest.exists():
        stages = json.loads(manifest.read_text())["stages"]
        row["stages_s"] = {k: v.get("seconds") for k, v in stages.items()}
        row["pipeline_s"] = round(sum(v.get("seconds") or 0 for v in stages.values()), 1)
        # what tells a failing seed apart before its score: V's reconstruction and how
        # far CMA-ES got (the clone, and with it the run directory, is deleted afterwards)
        vae = stages.get("vae", {}).get("metrics", {})
        ctrl = stages.get("controller", {}).get("metrics", {})
        row["vae_recon"] = vae.get("recon")
        row["controller"] = {k: ctrl.get(k) for k in (
            "generations", "best_eval_mean", "best_eval_generation", "workers",
            "stopped_early")}
    evaluation = run_dir / "evaluation_results.json"
    if evaluation.exists():
        res = json.loads(evaluation.read_text())
        row.update({k: res[k] for k in ("env_id", "episodes", "mean_return", "std_return")})
    if proc.returncode:
        row["stderr_tail"] = proc.stderr[-1500:]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--eval-episodes", type=int, default=100)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "dreamlab"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        rows = []
        for i, seed in enumerate(seeds):
            row = run_seed(clone, seed, args.eval_episodes)
            row["includes_setup"] = i == 0
            print(json.dumps(row, indent=2), flush=True)
            rows.append(row)
    spread = spread_over_seeds(rows)
    result = {
        "target_wall_min": 10, "target_mean_return": 475, "eval_episodes": args.eval_episodes,
        "runs": rows, **spread,
        "every_seed_reaches_target": (spread["min_over_seeds"] is not None
                                      and spread["min_over_seeds"] >= 475),
        "max_wall_min": max(r["wall_min"] for r in rows),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    print(f"wrote {save_result('make_run', result)}")


if __name__ == "__main__":
    main()
