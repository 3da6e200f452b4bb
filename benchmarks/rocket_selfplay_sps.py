"""Self-play training throughput: the whole loop (collection against pool snapshots, GAE,
PPO epochs, snapshots) against random-action env stepping, per team size, in one run.

Re-run:  .venv/bin/python benchmarks/rocket_selfplay_sps.py            (about 4 minutes)
         .venv/bin/python benchmarks/rocket_selfplay_sps.py --rounds 1 --sizes 1v1
         .venv/bin/python benchmarks/rocket_selfplay_sps.py --sizes 1v1 \
             --config configs/experiments/ppo_rocket_1v1_hour.yaml --name rocket_selfplay_sps_hour
Writes benchmarks/results/rocket_selfplay_sps.json.

What is compared (issue 13: ">= 70% of raw env stepping with random actions, same run"):
- raw: RLGym v2 as shipped (DefaultObs, goal + touch rewards, rocket_throughput.py's
  `raw` mode), one env in one process, random lookup-table actions. This is the issue's
  "raw"; the target is judged against it.
- vec_random: dreamlab's RocketVecEnv exactly as the trainer builds it (the YAML's env
  settings, --num-envs envs, the same worker layout: on 2 CPUs one worker process beside
  a share stepped in this one), random actions, no learning: what only the learning adds
  shows as the gap between this and the training figure.
- train: `train_selfplay` with the preset's network, PPO and pool settings
  (configs/experiments/ppo_rocket_selfplay.yaml, or --config another self-play YAML: the
  hour YAML trains both cars of its games against itself and runs more epochs, so it
  spends more per env step on learning) for --updates rollouts of --num-steps per env;
  its figure is the trainer's own perf/overall_sps (env steps over the loop's wall time:
  collection, GAE, PPO epochs, snapshots; setup and the final evaluation excluded)
  and perf/collect_sps (collection alone).

The machine is shared, so the three run interleaved in --rounds rounds: raw, vec_random,
a training session (each round resumes the last one's checkpoint and trains --updates
more), and raw and vec_random once more after the last round. Each training session's
ratio uses the mean of the baselines measured just before and just after it; the median
round is the headline figure, every round and the load average beside it.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rocket_throughput import log, raw_rlgym  # noqa: E402

from _common import provenance, save_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PRESET = ROOT / "configs" / "experiments" / "ppo_rocket_selfplay.yaml"
Runner = Callable[[float], float]  # seconds -> env steps per second


def preset_config(size: str, args: argparse.Namespace, run_dir: Path, total: int) -> object:
    """The --config YAML's PPOConfig at a fixed team size, --num-envs x --num-steps
    rollouts."""
    from dreamlab.config.base import check_values
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.ppo.selfplay.preset import split_selfplay_yaml

    preset = split_selfplay_yaml(args.config)
    values = check_values(dict(preset.ppo_values), PPOConfig, str(args.config))
    values.update(env=f"rocket:{size}", num_envs=args.num_envs, num_steps=args.num_steps,
                  total_steps=total, checkpoint_every=10**9,  # only the final one, untimed
                  checkpoint_dir=str(run_dir), device="cpu", log_every_s=3600.0,
                  eval_episodes=1, vectorization=args.vectorization,
                  batch_size=min(values["batch_size"], args.num_envs * args.num_steps))
    cfg = PPOConfig(**values)
    cfg.rocket = {k: v for k, v in vars(preset.rocket).items() if k != "team_size"}
    # The YAML's pool settings; the team size is fixed by env=rocket:NvM.
    cfg.selfplay = {k: getattr(preset.selfplay, k) for k in (
        "p_latest", "p_self", "p_chaser", "pool_size", "snapshot_every", "learner_team",
        "learner_side")}
    return cfg


def session_metric(log_dir: Path, tag: str, after_step: int) -> float:
    """The last value of `tag` logged past after_step (one training session's own)."""
    with open(log_dir / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f)
                if r.get("tag") == tag and int(float(r["step"])) > after_step]
    return float(rows[-1]["value"]) if rows else float("nan")


def train_session(size: str, args: argparse.Namespace, run_dir: Path, done: int) -> dict:
    """Train from `done` env steps (resuming run_dir) to done + --updates rollouts."""
    from dreamlab.ppo.selfplay.train import train_selfplay

    total = done + args.updates * args.num_envs * args.num_steps
    train_selfplay(preset_config(size, args, run_dir, total))
    logs = run_dir / "logs"
    return {"env_steps": total - done,
            "overall_sps": round(session_metric(logs, "perf/overall_sps", done), 1),
            "collect_sps": round(session_metric(logs, "perf/collect_sps", done), 1)}


def vec_random(size: str, args: argparse.Namespace) -> tuple[Runner, Callable[[], None]]:
    """RocketVecEnv as the trainer builds it (settings, envs, workers), random actions."""
    from dreamlab.envs.rocket import RocketEnvConfig
    from dreamlab.envs.rocket.vector import RocketVecEnv
    from dreamlab.ppo.selfplay.train import env_workers

    cfg = preset_config(size, args, Path(tempfile.gettempdir()), 1)
    rocket = RocketEnvConfig.from_dict({**cfg.rocket, "team_size": size})
    workers, main_share = env_workers(cfg)
    venv = RocketVecEnv(args.num_envs, rocket, workers, seed=0, main_share=main_share)
    venv.reset()
    rng = np.random.default_rng(0)

    def run(seconds: float) -> float:
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            venv.actions[:] = rng.integers(0, 90, venv.actions.shape)
            venv.step()
            steps += venv.num_envs
        return steps / (time.perf_counter() - start)

    return run, venv.close


def yaml_num_steps(config: Path) -> int:
    """The rollout per env the trainer takes from a self-play YAML: its num_steps, else
    PPOConfig's default."""
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.ppo.selfplay.preset import split_selfplay_yaml

    return int(split_selfplay_yaml(config).ppo_values.get("num_steps",
                                                           PPOConfig().num_steps))


def settings_of(args: argparse.Namespace) -> dict:
    """A run's arguments for its JSON, the --config YAML as a path relative to the repo."""
    return {**{k: v for k, v in vars(args).items() if k != "config"},
            "preset": os.path.relpath(args.config.resolve(), ROOT)}


def raw_runner(size: str) -> Runner:
    raw = raw_rlgym(size)

    def run(seconds: float) -> float:
        start = time.perf_counter()
        steps, _ = raw(seconds)
        return steps / (time.perf_counter() - start)

    return run


def measure_size(size: str, args: argparse.Namespace, run_dir: Path) -> dict:
    raw = raw_runner(size)
    vec, close = vec_random(size, args)
    raw(0.3), vec(0.3)  # first resets, caches
    baselines = [(raw(args.raw_seconds), vec(args.raw_seconds))]
    sessions, loads = [], []
    done = 0
    try:
        for r in range(args.rounds):
            sessions.append(train_session(size, args, run_dir, done))
            done += sessions[-1]["env_steps"]
            baselines.append((raw(args.raw_seconds), vec(args.raw_seconds)))
            loads.append(round(os.getloadavg()[0], 2))
            log(f"{size} round {r + 1}: raw {baselines[-1][0]:.0f}/s, vec_random "
                f"{baselines[-1][1]:.0f}/s, training overall {sessions[-1]['overall_sps']:.0f}/s,"
                f" collection {sessions[-1]['collect_sps']:.0f}/s, load {loads[-1]}")
    finally:
        close()
    rounds = []
    for k, s in enumerate(sessions):
        raw_sps = statistics.mean([baselines[k][0], baselines[k + 1][0]])
        vec_sps = statistics.mean([baselines[k][1], baselines[k + 1][1]])
        rounds.append({**s, "raw_sps": round(raw_sps, 1), "vec_random_sps": round(vec_sps, 1),
                       "overall_ratio_to_raw": round(s["overall_sps"] / raw_sps, 3),
                       "collect_ratio_to_raw": round(s["collect_sps"] / raw_sps, 3),
                       "overall_ratio_to_vec_random": round(s["overall_sps"] / vec_sps, 3),
                       "collect_ratio_to_vec_random": round(s["collect_sps"] / vec_sps, 3),
                       "load_1min_after": loads[k]})

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 3)
    out = {key: median(key) for key in (
        "overall_ratio_to_raw", "collect_ratio_to_raw", "overall_ratio_to_vec_random",
        "collect_ratio_to_vec_random", "overall_sps", "collect_sps", "raw_sps",
        "vec_random_sps")}
    return {**out, "rounds": rounds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1v1", "1v2", "2v2"])
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--config", type=Path, default=PRESET,
                        help="the self-play YAML whose settings train (default the preset)")
    parser.add_argument("--num-steps", type=int, default=None,
                        help="rollout per env (default the YAML's num_steps)")
    parser.add_argument("--updates", type=int, default=1, help="rollouts per training session")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vectorization", default="auto", choices=("auto", "sync", "async"),
                        help="the trainer's env layout (auto: workers plus a share stepped "
                        "by the learner's process; sync: all in one process)")
    parser.add_argument("--name", default="rocket_selfplay_sps")
    parser.add_argument("--raw-seconds", type=float, default=4.0)
    args = parser.parse_args()
    if args.num_steps is None:
        args.num_steps = yaml_num_steps(args.config)

    load_before = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up, not recorded: torch's first forward/backward and RocketSim's mesh load
        # would otherwise be charged to whichever size runs first.
        warm = argparse.Namespace(**{**vars(args), "updates": 1, "num_steps": 16})
        train_session(args.sizes[0], warm, Path(tmp) / "warmup", 0)
        for size in args.sizes:
            results[size] = r = measure_size(size, args, Path(tmp) / size)
            log(f"{size}: training overall x{r['overall_ratio_to_raw']:.2f} raw, "
                f"x{r['overall_ratio_to_vec_random']:.2f} vec_random; collection "
                f"x{r['collect_ratio_to_raw']:.2f} raw, x{r['collect_ratio_to_vec_random']:.2f}"
                " vec_random (median round)")
    payload = {
        **provenance(load_before),
        "settings": {**settings_of(args),
                     "note": "overall_sps = env steps / (collection + GAE + PPO update + "
                             "snapshots) wall time, the trainer's perf/overall_sps of one "
                             "session; setup and final evaluation excluded. raw: RLGym as "
                             "shipped, one env, one process; vec_random: the trainer's "
                             "RocketVecEnv and worker count, random actions"},
        "results": results,
    }
    path = save_result(args.name, payload)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
