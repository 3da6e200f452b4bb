"""dreamlab PPO against Stable-Baselines3 PPO, same hyperparameters, same machine, same run.

    python benchmarks/ppo_vs_sb3.py                       # CartPole-v1, 3 seeds, 100k steps
    python benchmarks/ppo_vs_sb3.py --env LunarLander-v3 --steps 1000000 --seeds 0

Both use rl-baselines3-zoo's tuned settings for the env (ppo.yml; dreamlab's presets for
CartPole-v1 and LunarLander-v3 are those values). Every run is a fresh subprocess, and the
variants alternate order from seed to seed, so the load of other work on the machine falls
on both: compare the ratios, and the load averages recorded before and after each run.

Timed (wall and CPU seconds): building the envs and the agent plus training (SB3:
`PPO(...)` + `learn()`; dreamlab: the training part of `train()`, which also writes its
run directory, TensorBoard and CSV logs and checkpoints). Not timed: imports and the
evaluation, which is the same loop for both (deterministic actions, the same 20 episode
seeds). Needs `pip install stable-baselines3` (2.x; it uses the torch already installed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, git_head, save_result  # noqa: E402

EVAL_SEED = 10_000

# rl-baselines3-zoo hyperparams/ppo.yml (lin_X: linear schedule from X to 0).
ZOO: dict[str, dict[str, Any]] = {
    "CartPole-v1": dict(n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                        n_epochs=20, ent_coef=0.0, learning_rate=("lin", 1e-3),
                        clip_range=("lin", 0.2)),
    "LunarLander-v3": dict(n_envs=16, n_steps=1024, batch_size=64, gae_lambda=0.98,
                           gamma=0.999, n_epochs=4, ent_coef=0.01),
}


def _evaluate(predict: Any, env_id: str, episodes: int) -> list[float]:
    """The same deterministic evaluation for both: a single env, seeds EVAL_SEED + i."""
    import gymnasium as gym

    env = gym.make(env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=EVAL_SEED + i)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(predict(obs))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns


def run_sb3(env_id: str, seed: int, steps: int, threads: int) -> dict[str, Any]:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    if threads:
        torch.set_num_threads(threads)
    zoo = dict(ZOO[env_id])
    n_envs = zoo.pop("n_envs")
    for key in ("learning_rate", "clip_range"):
        if isinstance(zoo.get(key), tuple):
            start = zoo[key][1]
            zoo[key] = lambda progress, start=start: progress * start
    t0, c0 = time.perf_counter(), time.process_time()
    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **zoo)
    model.learn(total_timesteps=steps)
    train_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0  # every thread of the process
    returns = _evaluate(lambda o: model.predict(o, deterministic=True)[0], env_id, 20)
    return {"train_s": train_s, "cpu_s": cpu_s, "env_steps": int(model.num_timesteps),
            "eval_returns": returns,
            "torch_threads": torch.get_num_threads()}


def run_ours(env_id: str, seed: int, steps: int, threads: int) -> dict[str, Any]:
    import numpy as np
    import torch

    # Imported before the clock starts, as `import stable_baselines3` does for SB3.
    import torch.utils.tensorboard  # noqa: F401

    from dreamlab.config.base import resolve_config
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.ppo.train import train
    from dreamlab.runtime.checkpoint import StepCheckpointer
    from dreamlab.runtime.rundir import RunLayout

    with tempfile.TemporaryDirectory() as tmp:
        cfg = resolve_config(PPOConfig, "quick", overrides=dict(
            env=env_id, seed=seed, total_steps=steps, checkpoint_dir=tmp, eval_episodes=1,
            device="cpu", num_threads=threads, log_every_s=30.0))
        t0, c0 = time.perf_counter(), time.process_time()
        result = train(cfg)
        call_s = time.perf_counter() - t0
        cpu_s = time.process_time() - c0  # includes the run's own 1-episode evaluation
        train_s = float(result.rows[0]["seconds"])
        # Re-evaluate with the shared loop (the run's own evaluation used 1 episode).
        from dreamlab.ppo.train import load_policy

        loaded = load_policy(cfg, RunLayout(Path(tmp)))
        assert loaded is not None
        policy, obs_norm, step = loaded

        def predict(obs: np.ndarray) -> Any:
            x = torch.as_tensor(obs_norm(obs[None]), dtype=torch.float32)
            with torch.inference_mode():
                return int(policy.act(x, deterministic=True)[0][0])

        returns = _evaluate(predict, env_id, 20)
        checkpoints = len(StepCheckpointer(RunLayout(Path(tmp)).checkpoints).existing())
    return {"train_s": train_s, "train_call_s": call_s, "cpu_s": cpu_s, "env_steps": step,
            "eval_returns": returns, "torch_threads": cfg.num_threads or 1,
            "checkpoints_kept": checkpoints}


VARIANTS = {
    "dreamlab": lambda a: run_ours(a.env, a.seed, a.steps, 0),
    "sb3": lambda a: run_sb3(a.env, a.seed, a.steps, 0),  # torch's default threads
    "sb3_1thread": lambda a: run_sb3(a.env, a.seed, a.steps, 1),
}


def child(args: argparse.Namespace) -> None:
    out = VARIANTS[args.child](args)
    print("RESULT " + json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1", choices=sorted(ZOO))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--variants", nargs="+", default=["dreamlab", "sb3", "sb3_1thread"],
                        choices=sorted(VARIANTS))
    parser.add_argument("--name", default=None, help="result file name (no .json)")
    parser.add_argument("--timeout-s", type=float, default=0.0,
                        help="stop a run after this long and record it as a lower bound")
    parser.add_argument("--first-seed-only", nargs="*", default=[], choices=sorted(VARIANTS),
                        help="variants to run on the first seed only (the slow ones)")
    parser.add_argument("--child", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    head = git_head()  # the code the runs use (others may commit while they run)
    runs: list[dict[str, Any]] = []
    for k, seed in enumerate(args.seeds):
        order = args.variants if k % 2 == 0 else list(reversed(args.variants))
        for variant in order:
            if variant in args.first_seed_only and k > 0:
                continue
            load_before = os.getloadavg()
            start = time.perf_counter()
            try:
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", variant, "--seed", str(seed),
                     "--env", args.env, "--steps", str(args.steps)],
                    capture_output=True, text=True, timeout=args.timeout_s or None)
            except subprocess.TimeoutExpired:
                # A lower bound on its time, recorded as such (no return to compare).
                runs.append(dict(variant=variant, seed=seed, timed_out=True,
                                 train_s_at_least=time.perf_counter() - start,
                                 load_before=load_before, load_after=os.getloadavg()))
                print(f"{variant:12s} seed {seed}: over {args.timeout_s} s, stopped",
                      flush=True)
                continue
            lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                sys.stderr.write(proc.stderr[-3000:])
                raise SystemExit(f"{variant} seed {seed} failed")
            rec = json.loads(lines[-1][len("RESULT "):])
            rec.update(variant=variant, seed=seed, load_before=load_before,
                       load_after=os.getloadavg(),
                       eval_mean=statistics.fmean(rec["eval_returns"]))
            runs.append(rec)
            print(f"{variant:12s} seed {seed}: {rec['train_s']:6.1f} s, eval "
                  f"{rec['eval_mean']:.1f}, load {load_before[0]:.1f}->"
                  f"{rec['load_after'][0]:.1f}", flush=True)
    summary: dict[str, Any] = {}
    for variant in args.variants:
        mine = [r for r in runs if r["variant"] == variant and not r.get("timed_out")]
        summary[variant] = {
            "train_s_mean": statistics.fmean(r["train_s"] for r in mine) if mine else None,
            "train_s": [round(r["train_s"], 2) for r in mine],
            "eval_mean": [r["eval_mean"] for r in mine],
            "all_seeds_reach_max": all(r["eval_mean"] >= 500.0 for r in mine)
            if args.env == "CartPole-v1" and mine else None,
            "timed_out_after_s": [round(r["train_s_at_least"], 1) for r in runs
                                  if r["variant"] == variant and r.get("timed_out")],
        }
    ours = {r["seed"]: r for r in runs if r["variant"] == "dreamlab"}
    for other in (v for v in args.variants if v != "dreamlab"):
        # Per seed, each pair ran back to back, so the load was about the same. A timed
        # out run gives an upper bound on the ratio.
        pairs = [(ours[r["seed"]]["train_s"], r.get("train_s", r.get("train_s_at_least")),
                  bool(r.get("timed_out"))) for r in runs
                 if r["variant"] == other and r["seed"] in ours]
        if pairs:
            ratios = [a / b for a, b, _ in pairs]
            summary[f"time_ratio_dreamlab_over_{other}"] = {
                "per_seed": [round(x, 3) for x in ratios], "mean": statistics.fmean(ratios),
                "upper_bound_only": any(t for _, _, t in pairs)}
    name = args.name or f"ppo_vs_sb3_{args.env.split('-')[0].lower()}"
    import stable_baselines3

    path = save_result(name, {
        "env": args.env, "steps": args.steps, "seeds": args.seeds, "zoo_hyperparams": {
            k: (f"lin_{v[1]}" if isinstance(v, tuple) else v) for k, v in ZOO[args.env].items()},
        "git_head": head, "git_head_at_end": git_head(), "cpu_model": cpu_model(),
        "stable_baselines3": stable_baselines3.__version__,
        "summary": summary, "runs": runs,
    })
    print(json.dumps(summary, indent=2))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
