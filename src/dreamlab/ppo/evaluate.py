"""Evaluation of a PPO policy, and `dreamlab eval RUN_DIR` for PPO runs.

The policy acts deterministically (the mode of its distribution, as SB3's
evaluate_policy does) on fresh episodes with seeds apart from training's, reading
observations through the normalisation statistics frozen at the checkpoint.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch

from dreamlab.config.ppo import PPOConfig
from dreamlab.envs.rocket import is_rocket_id
from dreamlab.errors import CheckpointError, rocket_only_flag
from dreamlab.models.ppo_policy import ActorCritic
from dreamlab.ppo.normalize import ObsNormalizer
from dreamlab.runtime.results import EvalResult

log = logging.getLogger("dreamlab")

EVAL_SEED_OFFSET = 1_000_003  # eval episodes never replay a training seed


def evaluate_policy(cfg: PPOConfig, policy: ActorCritic, obs_norm: ObsNormalizer,
                    episodes: int, device: torch.device, seed: int | None = None,
                    deterministic: bool = True) -> tuple[list[float], int]:
    """Returns (episode returns, env steps) of `episodes` whole episodes."""
    from dreamlab.ppo.envs import make_ppo_envs

    base = (cfg.seed if seed is None else seed) + EVAL_SEED_OFFSET
    env = make_ppo_envs(cfg, 1, seed=base)
    space = env.single_action_space
    bounds = (np.asarray(space.low), np.asarray(space.high)) if hasattr(space, "low") else None
    returns: list[float] = []
    steps = 0
    was_training = policy.training
    policy.eval()
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=base + episode)
            total, done = 0.0, False
            while not done:
                x = obs_norm(obs)
                if x.dtype == np.float64:
                    x = x.astype(np.float32)
                with torch.inference_mode():
                    action, _, _ = policy.act(torch.as_tensor(x, device=device), deterministic)
                act = action.cpu().numpy()
                if bounds is not None:
                    act = np.clip(act, *bounds)
                obs, reward, terminated, truncated, _ = env.step(act)
                total += float(reward[0])
                steps += 1
                done = bool(terminated[0] or truncated[0])
            returns.append(total)
    finally:
        env.close()
        policy.train(was_training)
    return returns, steps


def evaluate_run(run_dir: str | Path, episodes: int | None = None,
                 save_videos: bool = False, opponent: str | list[str] | None = None,
                 sample_actions: bool | None = None) -> EvalResult:
    """`dreamlab eval RUN_DIR`: the newest checkpoint of a PPO run, evaluated again.
    `opponent` (`--opponent`) picks the opponents of a Rocket League self-play run and
    `sample_actions` (`--sample-actions`) has its learner sample its actions; on any
    other run either is one ConfigError line."""
    from dreamlab.ppo.train import load_policy
    from dreamlab.runtime.rundir import RunLayout, load_run_config

    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir, PPOConfig)
    if is_rocket_id(cfg.env):  # Rocket League self-play runs play games (issue 13)
        from dreamlab.ppo.selfplay.evaluate import evaluate_selfplay_run

        return evaluate_selfplay_run(run_dir, episodes, save_videos, opponent=opponent,
                                     sample_actions=bool(sample_actions))
    for flag, given in (("--opponent", opponent is not None),
                        ("--sample-actions", bool(sample_actions))):
        if given:  # sample_actions=False from Python asks for nothing: no error
            raise rocket_only_flag(flag, f"this PPO run on {cfg.env} ({run_dir})")
    if save_videos:
        log.warning("PPO evaluation videos are not written yet; evaluating without")
    loaded = load_policy(cfg, RunLayout(run_dir))
    if loaded is None:
        raise CheckpointError(f"{run_dir} holds no PPO checkpoint",
                              "train first: dreamlab ppo --checkpoint-dir " + str(run_dir))
    policy, obs_norm, step = loaded
    start = time.monotonic()
    returns, steps = evaluate_policy(cfg, policy, obs_norm, episodes or cfg.eval_episodes,
                                     torch.device("cpu"))
    result = EvalResult(env_id=cfg.env, algo="ppo", returns=returns, env_steps=steps,
                        wall_s=time.monotonic() - start,
                        extra={"train_env_steps": step, "deterministic": True})
    result.write(RunLayout(run_dir).evaluation)
    return result
