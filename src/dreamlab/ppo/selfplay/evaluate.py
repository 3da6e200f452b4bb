"""`dreamlab eval RUN_DIR` for a Rocket League self-play run: games against random play.

The newest checkpoint's learner acts deterministically (the mode of its distribution, as
PPO's own evaluation does) against an opponent pressing uniformly random lookup-table
actions, in the team size the curriculum had reached; the learner alternates colours.
A game ends at the first goal or after 2 minutes (issue 13's games of <= 2 min), so wins
are goals for and losses goals against; touches per minute count the learner team's steps
with a ball touch per minute of game time. The games run through the same collector as
training, so the matchup bookkeeping is the tested one.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamlab.config.ppo import PPOConfig
from dreamlab.envs.rocket import require_rocket
from dreamlab.envs.rocket.vector import RocketVecEnv
from dreamlab.errors import CheckpointError
from dreamlab.models.ppo_policy import ActionLayout, ActorCritic
from dreamlab.ppo.normalize import ObsNormalizer
from dreamlab.ppo.selfplay.collector import SelfPlayCollector
from dreamlab.ppo.selfplay.pool import OpponentPool, Snapshot
from dreamlab.ppo.selfplay.ratings import RatingTable
from dreamlab.ppo.selfplay.schedule import CurriculumStage, CurriculumTeamSizes, TeamSizeSchedule
from dreamlab.runtime.checkpoint import StepCheckpointer
from dreamlab.runtime.results import EvalResult
from dreamlab.runtime.rundir import RunLayout, load_run_config
from dreamlab.runtime.seeding import derive_seed

EVAL_GAME_S = 120.0
EVAL_STEPS_PER_CALL = 64


class _Holder:
    def __init__(self, value: int) -> None:
        self.value = value


def _learner(cfg: PPOConfig, ckpt: dict[str, Any], obs_dim: int, action: str) -> Any:
    layout = ActionLayout("discrete", (90,)) if action == "discrete" else \
        ActionLayout("continuous", (8,))
    net = ActorCritic((obs_dim,), layout, "mlp", cfg.hidden_size, cfg.hidden_layers,
                      cfg.activation)
    net.load_state_dict(ckpt["policy"])
    net.eval()
    norm = ObsNormalizer((obs_dim,), cfg.clip_obs, cfg.norm_obs)
    norm.load_state_dict(ckpt["obs_norm"])

    def act(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with torch.inference_mode():
            a, _, v = net.act(torch.from_numpy(norm(obs)), deterministic=True)
        return a.numpy(), np.zeros(len(obs), np.float32), v.numpy()
    return act


def play_against_random(cfg: PPOConfig, ckpt: dict[str, Any], games: int, seed: int
                        ) -> dict[str, Any]:
    """Play `games` games of the checkpoint's learner against random actions."""
    from dreamlab.ppo.selfplay.train import selfplay_settings

    rocket, sp = selfplay_settings(cfg)
    rocket = dataclasses.replace(rocket, game_timeout_s=min(rocket.game_timeout_s, EVAL_GAME_S))
    trained = int(ckpt["counters"]["global_step"])
    stage = sp.schedule().stage_at(trained)
    counter = _Holder(0)
    source = CurriculumTeamSizes(
        TeamSizeSchedule([CurriculumStage(stage.name, stage.learner, stage.opponents, 0)]),
        counter, learner_team="alternate", learner_side=sp.learner_side)
    rng = np.random.default_rng(seed)
    shape = (90,) if rocket.action == "discrete" else (8,)

    def random_policy(snapshot: Snapshot) -> Any:
        if rocket.action == "discrete":
            return lambda obs: rng.integers(0, shape[0], len(obs))
        return lambda obs: rng.uniform(-1.0, 1.0, (len(obs), 8)).astype(np.float32)

    num_envs = max(1, min(games, cfg.num_envs))
    start = time.monotonic()
    with RocketVecEnv(num_envs, rocket, 0, team_sizes=source, seed=seed) as venv:
        pool = OpponentPool(p_latest=1.0, max_size=1, seed=seed)
        collector = SelfPlayCollector(venv, pool, RatingTable(), counter, random_policy,
                                      cfg.gamma)
        collector.add_snapshot(Snapshot("random", 0, ""))
        learner = _learner(cfg, ckpt, venv.obs.shape[-1], rocket.action)
        while len(collector.stats.finished) < games:
            collector.collect(learner, lambda obs: np.zeros(len(obs), np.float32),
                              EVAL_STEPS_PER_CALL)
    finished = collector.stats.finished[:games]
    scores = [g["score"] for g in finished]
    minutes = sum(g["steps"] for g in finished) * rocket.tick_skip / 120.0 / 60.0
    return {"team_size": stage.name, "trained_env_steps": trained,
            "returns": [g["return"] for g in finished],
            "env_steps": int(counter.value), "wall_s": time.monotonic() - start,
            "wins": scores.count(1.0), "draws": scores.count(0.5),
            "losses": scores.count(0.0), "game_steps": [g["steps"] for g in finished],
            "touches_per_minute": sum(g["learner_touches"] for g in finished) / minutes
            if minutes else 0.0}


def evaluate_selfplay_run(run_dir: str | Path, episodes: int | None = None,
                          save_videos: bool = False) -> EvalResult:
    """`dreamlab eval RUN_DIR` on a Rocket League run: N games against random play."""
    require_rocket()
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir, PPOConfig)
    ckpt = StepCheckpointer(RunLayout(run_dir).checkpoints).load_latest()
    if ckpt is None:
        raise CheckpointError(f"{run_dir} holds no self-play checkpoint",
                              "train first: dreamlab ppo --checkpoint-dir " + str(run_dir))
    games = episodes or cfg.eval_episodes
    out = play_against_random(cfg, ckpt, games, derive_seed(cfg.seed, "eval"))
    result = EvalResult(
        env_id=cfg.env, algo="ppo", returns=out["returns"], env_steps=out["env_steps"],
        wall_s=out["wall_s"],
        extra={"opponent": "random", "team_size": out["team_size"],
               "train_env_steps": out["trained_env_steps"], "deterministic": True,
               "wins": out["wins"], "draws": out["draws"], "losses": out["losses"],
               "goals_for": out["wins"], "goals_against": out["losses"],
               "win_rate": out["wins"] / max(1, len(out["returns"])),
               "touches_per_minute": round(out["touches_per_minute"], 3),
               "game_limit_s": EVAL_GAME_S, "videos": "not written (save_videos ignored)"
               if save_videos else None})
    result.write(RunLayout(run_dir).evaluation)
    return result
