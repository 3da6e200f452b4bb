"""Dreamer learning on a cheap task on this CPU (issue 11, benchmark 2), several seeds.

Launches `dreamlab dreamer --env ENV --mode medium --seed S` for each seed (in parallel,
one torch thread each), then summarises each run's periodic evaluations
(logs/metrics.csv, eval/mean_return) and final evaluation_results.json into
benchmarks/results/dreamer_learning_<env>.json. `--summarize` only re-reads the run dirs
(e.g. after runs were stopped early; a run's partial curve is reported as such).

    python benchmarks/dreamer_learning.py --env Pendulum-v1 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dreamer_common import REPO, provenance  # noqa: E402

from _common import save_result  # noqa: E402

BARS = {
    "Pendulum-v1": -200.0,  # RLlib's DreamerV3 stop criterion within 100k steps
    "dm_control/cartpole-balance-v0": 800.0,  # issue 11 (DreamerV3 paper: 821 at 100k)
}
# Reported beside a published figure, no bar of the issue's own.
PUBLISHED = {
    "dm_control/cartpole-balance-v0": 821.0,  # DreamerV3 paper, 100k env steps
    "dm_control/pendulum-swingup-v0": 716.0,  # DreamerV3 paper, 100k env steps
}
# From 64 px (--obs pixels) the issue asks what 100k steps give here, with no bar.
PUBLISHED_PIXELS = {
    "dm_control/cartpole-balance-v0": 946.0,  # DreamerV3 paper, 100k env steps
}


def run_dir(env: str, seed: int, tag: str = "") -> Path:
    return REPO / "runs" / f"bench_dreamer_{env.replace('/', '_')}{tag}_s{seed}"


def active_wall_s(log_dir: Path, max_gap_s: float = 1200.0) -> float | None:
    """Seconds a run spent training, summed over its resumed parts: the gaps between its
    metric rows (one per --log-every steps, minutes apart at most, evaluations included),
    leaving out gaps longer than max_gap_s, which are the times it was stopped. The first
    part's start-up before its first row is not counted."""
    from dreamlab.runtime.logger import metric_times

    times = metric_times(log_dir)
    return round(sum(g for g in np.diff(times) if g <= max_gap_s), 1) if times else None


def summarize_run(env: str, seed: int, tag: str = "") -> dict[str, Any]:
    from dreamlab.runtime.logger import read_metrics

    d = run_dir(env, seed, tag)
    metrics = read_metrics(d / "logs")
    curve = metrics.get("eval/mean_return", [])
    out: dict[str, Any] = {"seed": seed, "run_dir": str(d.relative_to(REPO)),
                           "eval_curve": [[s, round(v, 1)] for s, v in curve]}
    mpath = d / "manifest.json"
    manifest = json.loads(mpath.read_text()) if mpath.exists() else {}
    out["status"] = manifest.get("status", "missing")
    out["finished"] = out["status"] == "done"
    if (d / "evaluation_results.json").exists() and out["finished"]:
        ev = json.loads((d / "evaluation_results.json").read_text())
        out.update(final_mean=ev["mean_return"], final_std=ev["std_return"],
                   final_episodes=ev["episodes"], env_steps=ev.get("train_env_steps"))
    if curve:
        out["best_eval"] = max(v for _, v in curve)
        out["last_eval_step"] = curve[-1][0]
    rss = metrics.get("perf/rss_mb", [])
    out["peak_rss_mb"] = max((v for _, v in rss), default=None)
    out["active_wall_s"] = active_wall_s(d / "logs")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="Pendulum-v1")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--summarize", action="store_true")
    ap.add_argument("--name", default=None, help="results file name (default "
                    "dreamer_learning_<env>; e.g. for more seeds beside an earlier file)")
    ap.add_argument("--tag", default="", help="run dir suffix, so runs with other flags "
                    "keep their own dirs (e.g. _r256)")
    ap.add_argument("extra", nargs="*", help="flags passed on to dreamlab dreamer")
    args = ap.parse_args()
    prov = provenance()
    t0 = time.monotonic()
    if not args.summarize:
        procs = []
        for seed in args.seeds:
            d = run_dir(args.env, seed, args.tag)
            d.parent.mkdir(parents=True, exist_ok=True)
            # appended: a resumed run keeps the log of its earlier parts
            log = open(d.with_suffix(".log"), "a")  # noqa: SIM115 - closed by the child
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dreamlab", "dreamer", "--env", args.env, "--mode",
                 "medium", "--seed", str(seed), "--checkpoint-dir", str(d), *args.extra],
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
        walls: dict[int, float] = {}
        while len(walls) < len(procs):  # each run's own wall time (the bar is per run)
            for seed, p in zip(args.seeds, procs, strict=True):
                if seed not in walls and p.poll() is not None:
                    walls[seed] = round(time.monotonic() - t0, 1)
            time.sleep(5)
    runs = [summarize_run(args.env, s, args.tag) for s in args.seeds]
    if not args.summarize:
        for r in runs:
            r["wall_s"] = walls[r["seed"]]
    finals = [r["final_mean"] for r in runs if "final_mean" in r]
    pixels = "pixels" in args.extra  # `-- --obs pixels`
    bar = None if pixels else BARS.get(args.env)
    published = (PUBLISHED_PIXELS if pixels else PUBLISHED).get(args.env)
    name = args.name or \
        f"dreamer_learning_{args.env.replace('/', '_').replace('-', '_').lower()}"
    path = save_result(name, {
        **prov, "loadavg_end": provenance()["loadavg"], "env": args.env, "mode": "medium",
        "extra_flags": args.extra, "seeds": args.seeds, "runs": runs,
        "mean_of_final": sum(finals) / len(finals) if finals else None,
        "seeds_finished": len(finals), "bar": bar, "published": published,
        "inputs": "pixels" if pixels else "state",
        "seeds_at_bar": sum(f >= bar for f in finals) if bar is not None else None,
        "wall_s": round(time.monotonic() - t0, 1)})
    print(json.dumps({r["seed"]: r.get("final_mean", r.get("best_eval")) for r in runs}),
          path)


if __name__ == "__main__":
    main()
