"""PPO on an Atari game for a fixed wall-clock budget: SPS and the score reached.

    python benchmarks/ppo_atari.py --minutes 10                  # ALE/Pong-v5, GPU if any
    python benchmarks/ppo_atari.py --minutes 3 --device cpu      # a CPU smoke figure

The `full` preset (CleanRL's ppo_atari settings: 8 envs x 128 steps, 4 epochs, Nature CNN,
rewards clipped to their sign) on ale-py's native vector env, stopped by the stop rule's
time budget, then evaluated. CleanRL reports Pong 20.4 after 10M steps; in a budget of
minutes this measures throughput and early progress, not the final score.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ppo_vs_sb3 import cpu_model, git_head  # noqa: E402

from _common import save_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="ALE/Pong-v5")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--eval-episodes", type=int, default=3)
    parser.add_argument("--name", default=None)
    args = parser.parse_args()

    from dreamlab.config.base import resolve_config
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.ppo.train import train
    from dreamlab.runtime.logger import read_metrics
    from dreamlab.runtime.stop import StopRule

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = resolve_config(PPOConfig, "full", overrides=dict(
            env=args.env, checkpoint_dir=tmp, device=args.device,
            eval_episodes=args.eval_episodes, log_every_s=30.0))
        start = time.perf_counter()
        result = train(cfg, StopRule(max_minutes=args.minutes))
        wall_s = time.perf_counter() - start
        metrics = read_metrics(Path(tmp) / "logs")
    sps = metrics.get("perf/sps_overall", [])
    returns = metrics.get("train/episode_return", [])
    gpu = metrics.get("perf/gpu_util_pct", [])
    device = "cpu"
    import torch

    if torch.cuda.is_available() and args.device != "cpu":
        device = torch.cuda.get_device_name(0)
    evaluation = result.evaluation
    name = args.name or f"ppo_atari_{args.env.split('/')[-1].split('-')[0].lower()}_" \
        f"{'gpu' if device != 'cpu' else 'cpu'}"
    path = save_result(name, {
        "env": args.env, "minutes": args.minutes, "device": device,
        "git_head": git_head(), "cpu_model": cpu_model(),
        "train_env_steps": evaluation.extra.get("train_env_steps"),
        "updates": evaluation.extra.get("updates"),
        "sps_overall": sps[-1][1] if sps else None,
        "gpu_util_pct_last": gpu[-1][1] if gpu else None,
        "train_return_last_rollouts": [v for _, v in returns[-5:]],
        "eval_returns": evaluation.returns, "eval_mean": evaluation.mean_return,
        "wall_s": wall_s, "load_before": load_before, "load_after": os.getloadavg(),
        "settings": {k: getattr(cfg, k) for k in (
            "num_envs", "num_steps", "batch_size", "num_epochs", "learning_rate",
            "clip_coef", "ent_coef", "vectorization", "amp")},
    })
    print(f"{args.env} on {device}: {result.evaluation.extra.get('train_env_steps')} steps "
          f"in {wall_s:.0f} s, SPS {sps[-1][1] if sps else float('nan'):.0f}, eval "
          f"{evaluation.mean_return:.1f}; saved {path}")


if __name__ == "__main__":
    main()
