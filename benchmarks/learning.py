"""Does the agent learn? Run one named preset through the real CLI and record its score.

Usage: python benchmarks/learning.py PRESET [--run-dir DIR] [--keep] [-- extra flags]

PRESET names configs/experiments/PRESET.yaml. The script runs
`dreamlab run --config configs/experiments/PRESET.yaml --checkpoint-dir DIR` in a
subprocess, exactly as a user would, in a fresh run directory (DIR is wiped first unless
--keep, which resumes it), then reads back from the run directory:
- the real score, mean ± std over the evaluation episodes (the README table needs >= 100,
  the paper's protocol, Ha & Schmidhuber 2018 section 3.3), and the dream score beside it;
- wall time of the whole command and per stage (from manifest.json);
- env steps used: collected (every pass), spent by real-env fitness and periodic
  evaluations during training, and by the final evaluation; dream steps apart.
It writes benchmarks/results/learning_PRESET.json with the exact command and machine.
With --seeds 42,43,44 it runs the preset once per seed (each in DIR_seedS) and writes every
seed's row plus the mean, spread and minimum over seeds: a seed reproduces a run on one CPU
model, not on another, so the figure that travels is the spread (issue 10).
Load on the machine inflates wall time: the 1-minute load average before and after the run
is recorded so a reader can tell a quiet run from a busy one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import save_result, spread_over_seeds

ROOT = Path(__file__).resolve().parent.parent
MIN_EPISODES = 100


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def summarize(run_dir: Path) -> dict[str, Any]:
    """Score, steps and stage seconds of a finished run directory."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    res = json.loads((run_dir / "evaluation_results.json").read_text())
    stages = manifest["stages"]
    collected = max((e.get("metrics", {}).get("steps", 0) for k, e in stages.items()
                     if k.split("@")[0] == "collect"), default=0)
    train_env = sum(e.get("metrics", {}).get("env_steps", 0) for k, e in stages.items()
                    if k.split("@")[0] == "controller")
    dream = sum(e.get("metrics", {}).get("dream_steps", 0) for k, e in stages.items()
                if k.split("@")[0] == "controller")
    return {
        "env_id": res["env_id"],
        "obs": res["obs"],
        "mean_return": res["mean_return"],
        "std_return": res["std_return"],
        "episodes": res["episodes"],
        "enough_episodes": res["episodes"] >= MIN_EPISODES,
        "dream_mean_return": res.get("dream_mean_return"),
        "dream_to_real_gap": res.get("dream_to_real_gap"),
        "controller_evals": res.get("controller_evals", []),
        "env_steps": {"collected": collected, "controller": train_env,
                      "final_eval": res.get("env_steps", 0),
                      "total": collected + train_env + res.get("env_steps", 0)},
        "dream_steps": dream,
        "stages": {k: {"status": e.get("status"), "seconds": e.get("seconds")}
                   for k, e in stages.items()},
        "config": manifest.get("config", {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", help="name of configs/experiments/<preset>.yaml")
    parser.add_argument("--run-dir", default=None, help="default runs/learning_<preset>")
    parser.add_argument("--keep", action="store_true", help="resume DIR instead of wiping it")
    parser.add_argument("--seeds", default=None,
                        help="comma list: one run per seed, and the spread over them")
    parser.add_argument("extra", nargs="*", help="extra flags for dreamlab run (after --)")
    args = parser.parse_args()
    config = Path("configs") / "experiments" / f"{args.preset}.yaml"
    if not (ROOT / config).exists():
        known = sorted(p.stem for p in (ROOT / "configs" / "experiments").glob("*.yaml"))
        sys.exit(f"no preset {config}; known: {', '.join(known)}")
    base_dir = Path(args.run_dir or Path("runs") / f"learning_{args.preset}")
    if not args.seeds:
        row = run_once(args.preset, config, base_dir, args.keep, args.extra)
        path = save_result(f"learning_{args.preset}", row)
        shown = {k: row.get(k) for k in ("preset", "mean_return", "std_return", "episodes",
                                          "dream_mean_return", "wall_s", "env_steps",
                                          "returncode")}
        print(json.dumps(shown, indent=2))
        print(f"wrote {path}")
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for seed in seeds:
        run_dir = base_dir.with_name(f"{base_dir.name}_seed{seed}")
        row = run_once(args.preset, config, run_dir, args.keep,
                       [*args.extra, "--seed", str(seed)])
        rows.append({"seed": seed, **row})
        print(f"seed {seed}: {row.get('mean_return')} +- {row.get('std_return')} "
              f"in {row['wall_s'] / 60:.1f} min", flush=True)
    result: dict[str, Any] = {
        "preset": args.preset, "benchmark_command": " ".join(["python", *sys.argv]),
        "seeds": seeds, "runs": rows, **spread_over_seeds(rows),
        "max_wall_min": round(max(r["wall_s"] for r in rows) / 60, 2),
        "failed_seeds": [r["seed"] for r in rows if r["returncode"] != 0],
    }
    path = save_result(f"learning_{args.preset}", result)
    print(json.dumps({k: result[k] for k in ("mean_over_seeds", "std_over_seeds",
                                             "min_over_seeds", "max_wall_min")}, indent=2))
    print(f"wrote {path}")


def run_once(preset: str, config: Path, run_dir: Path, keep: bool,
             extra: list[str]) -> dict[str, Any]:
    """One `dreamlab run` of the preset in a fresh run_dir (kept with --keep): its row."""
    if (ROOT / run_dir).exists() and not keep:
        shutil.rmtree(ROOT / run_dir)
    cmd = ["dreamlab", "run", "--config", str(config), "--checkpoint-dir", str(run_dir),
           *extra]
    exe = [sys.executable, "-m", "dreamlab", *cmd[1:]]
    load_before = _load()
    t0 = time.monotonic()
    proc = subprocess.run(exe, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - t0
    row: dict[str, Any] = {"preset": preset, "command": " ".join(cmd),
                           "benchmark_command": " ".join(["python", *sys.argv]),
                           "returncode": proc.returncode, "wall_s": round(wall, 1),
                           "load_1min_before": load_before, "load_1min_after": _load()}
    if proc.returncode != 0:
        row["stderr_tail"] = proc.stderr[-3000:]
    else:
        row.update(summarize(ROOT / run_dir))
    return row


if __name__ == "__main__":
    main()
