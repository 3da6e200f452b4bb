"""Self-play training throughput: the whole loop (collection against pool snapshots, GAE,
PPO epochs, snapshots, checkpoints) against raw RLGym stepping, per team size, in one run.

Re-run:  .venv/bin/python benchmarks/rocket_selfplay_sps.py            (about 4 minutes)
         .venv/bin/python benchmarks/rocket_selfplay_sps.py --updates 2 --sizes 1v1
Writes benchmarks/results/rocket_selfplay_sps.json.

For each team size: raw RLGym stepping (random actions, one process; rocket_throughput.py's
`raw` mode, goal + touch rewards) and dreamlab's env alone (the same four reward terms the
trainer uses, FastDefaultObs) for --raw-seconds each, then `train_selfplay` with the
preset's network and PPO settings (configs/experiments/ppo_rocket_selfplay.yaml) for
--updates rollouts of --num-steps per env, then both again; the ratios are training SPS
over the mean of the before and after figures. Issue 13's target is >= 70% of raw.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rocket_throughput import cpu_model, dreamlab_env, git_head, log, raw_rlgym  # noqa: E402

from _common import save_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PRESET = ROOT / "configs" / "experiments" / "ppo_rocket_selfplay.yaml"


def last_metric(log_dir: Path, tag: str) -> float:
    with open(log_dir / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("tag") == tag]
    return float(rows[-1]["value"]) if rows else float("nan")


def train_once(size: str, args: argparse.Namespace, run_dir: Path) -> dict:
    from dreamlab.config.base import check_values
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.ppo.selfplay.preset import split_selfplay_yaml
    from dreamlab.ppo.selfplay.train import train_selfplay

    preset = split_selfplay_yaml(PRESET)
    values = check_values(dict(preset.ppo_values), PPOConfig, str(PRESET))
    total = args.num_envs * args.num_steps * args.updates
    values.update(env=f"rocket:{size}", num_envs=args.num_envs, num_steps=args.num_steps,
                  total_steps=total, checkpoint_every=total, checkpoint_dir=str(run_dir),
                  device="cpu", log_every_s=3600.0,
                  batch_size=min(values["batch_size"], args.num_envs * args.num_steps))
    cfg = PPOConfig(**values)
    cfg.rocket = {k: v for k, v in vars(preset.rocket).items() if k != "team_size"}
    cfg.selfplay = {"snapshot_every": args.num_envs * args.num_steps, "p_latest": 0.8}
    start = time.perf_counter()
    train_selfplay(cfg)
    wall = time.perf_counter() - start
    logs = run_dir / "logs"
    return {"env_steps": total, "wall_s": round(wall, 2),
            "overall_sps_incl_setup": round(total / wall, 1),
            "overall_sps": round(last_metric(logs, "perf/overall_sps"), 1),
            "collect_sps": round(last_metric(logs, "perf/collect_sps"), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1v1", "1v2", "2v2"])
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--num-steps", type=int, default=256)
    parser.add_argument("--updates", type=int, default=4)
    parser.add_argument("--raw-seconds", type=float, default=5.0)
    args = parser.parse_args()

    load_before = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up, not recorded: torch's first forward/backward and RocketSim's mesh load
        # would otherwise be charged to whichever size runs first.
        warm = argparse.Namespace(**{**vars(args), "updates": 1, "num_steps": 16})
        train_once(args.sizes[0], warm, Path(tmp) / "warmup")
        for size in args.sizes:
            raw, env = raw_rlgym(size), dreamlab_env(size, fast_obs=True)
            raw(0.3), env(0.3)
            before = [f(args.raw_seconds)[0] / args.raw_seconds for f in (raw, env)]
            train = train_once(size, args, Path(tmp) / size)
            after = [f(args.raw_seconds)[0] / args.raw_seconds for f in (raw, env)]
            raw_sps = statistics.mean([before[0], after[0]])
            env_sps = statistics.mean([before[1], after[1]])
            results[size] = {
                "raw_env_steps_per_s": [round(before[0], 1), round(after[0], 1)],
                "dreamlab_env_steps_per_s": [round(before[1], 1), round(after[1], 1)],
                "train": train,
                "overall_ratio_to_raw": round(train["overall_sps"] / raw_sps, 3),
                "collect_ratio_to_raw": round(train["collect_sps"] / raw_sps, 3),
                "overall_ratio_to_env": round(train["overall_sps"] / env_sps, 3),
                "collect_ratio_to_env": round(train["collect_sps"] / env_sps, 3)}
            r = results[size]
            log(f"{size}: raw {raw_sps:.0f}/s, env {env_sps:.0f}/s, training overall "
                f"{train['overall_sps']:.0f}/s (x{r['overall_ratio_to_raw']:.2f} raw, "
                f"x{r['overall_ratio_to_env']:.2f} env), collection {train['collect_sps']:.0f}"
                f"/s (x{r['collect_ratio_to_raw']:.2f} raw, x{r['collect_ratio_to_env']:.2f} env)")
    payload = {
        "git_head": git_head(), "cpu_model": cpu_model(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "settings": {**vars(args), "preset": str(PRESET.relative_to(ROOT)),
                     "note": "overall_sps = env steps / (collection + PPO update) wall time, "
                             "from the trainer's perf/overall_sps; setup excluded"},
        "results": results,
    }
    path = save_result("rocket_selfplay_sps", payload)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
