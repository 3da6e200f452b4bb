"""Self-play PPO on Rocket League (issue 13): seeds/003's setup from one YAML.

The loop is PPO's own (core.py: GAE, clipped surrogate, ppo_update; PPOAgent: network,
optimiser, normalisers, counters); what is added here is where the transitions come from
and what is kept beside the network:

    RocketVecEnv (team size from the curriculum at every reset)
      -> SelfPlayCollector: learner vs pool snapshots, one forward per policy per step
      -> GAE over (T, envs x max_team_size) learner columns, padding rows dropped
         (rollout_batch.py) -> ppo_update
      -> every snapshot_every steps a snapshot joins the pool (rated as the learner)
      -> every checkpoint_every steps a checkpoint: network, optimiser, counters, pool,
         ratings (so a resume after kill -9 keeps them), and the ratings plot.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import math
import multiprocessing
import time
from typing import Any

import numpy as np
import torch

from dreamlab.config.ppo import PPOConfig
from dreamlab.envs.rocket import RocketEnvConfig, is_rocket_id, require_rocket
from dreamlab.envs.rocket.fast_obs import obs_size
from dreamlab.envs.rocket.vector import RocketVecEnv
from dreamlab.errors import IncompatibleRunError
from dreamlab.models.ppo_policy import ActionLayout, ActorCritic
from dreamlab.parallel.executor import START_METHOD, cpu_count
from dreamlab.ppo.core import ppo_update
from dreamlab.ppo.normalize import ObsNormalizer
from dreamlab.ppo.selfplay.collector import SelfPlayCollector
from dreamlab.ppo.selfplay.config import SelfPlayConfig
from dreamlab.ppo.selfplay.numpy_policy import NumpyPolicy, supports
from dreamlab.ppo.selfplay.plots import plot_ratings, plot_training
from dreamlab.ppo.selfplay.pool import CHASER, SELF, OpponentPool, Snapshot
from dreamlab.ppo.selfplay.preset import is_rocket_env
from dreamlab.ppo.selfplay.ratings import LEARNER, RatingTable
from dreamlab.ppo.selfplay.rollout_batch import minibatch_size, rollout_to_batch
from dreamlab.ppo.selfplay.schedule import CurriculumTeamSizes, TeamSizeSchedule
from dreamlab.ppo.train import PPOAgent, check_compatible, ppo_num_threads
from dreamlab.ppo.webhook import Webhook, resolve_webhook_url
from dreamlab.runtime.atomic import atomic_write_bytes, atomic_write_json, safe_torch_load
from dreamlab.runtime.checkpoint import StepCheckpointer, restore_rng_state
from dreamlab.runtime.device import blas_threads, setup_device
from dreamlab.runtime.logger import RunLogger
from dreamlab.runtime.manifest import Manifest
from dreamlab.runtime.results import EvalResult
from dreamlab.runtime.rundir import RunLayout
from dreamlab.runtime.seeding import derive_seed, seed_everything
from dreamlab.runtime.stop import StopRule, StopTracker

log = logging.getLogger("dreamlab")


def selfplay_settings(cfg: PPOConfig) -> tuple[RocketEnvConfig, SelfPlayConfig]:
    """The `rocket:` and `selfplay:` blocks of the config (empty = defaults); `rocket:1v2`
    as the env id fixes the team size and turns the curriculum off."""
    rocket = dict(getattr(cfg, "rocket", None) or {})
    selfplay = dict(getattr(cfg, "selfplay", None) or {})
    if ":" in cfg.env:
        fixed = cfg.env.split(":", 1)[1]
        rocket["team_size"] = fixed
        selfplay["curriculum_stages"] = [{"team_size": fixed, "start": 0}]
        selfplay.pop("stage_starts", None)
    selfplay.setdefault("enabled", True)
    return RocketEnvConfig.from_dict(rocket), SelfPlayConfig.from_dict(selfplay)


def selfplay_dict(sp: SelfPlayConfig) -> dict[str, Any]:
    return {f.name: getattr(sp, f.name) for f in dataclasses.fields(sp)}


def check_rocket_compatible(saved: dict[str, Any], cfg: PPOConfig,
                            rocket: RocketEnvConfig, sp: SelfPlayConfig) -> None:
    """The padding fixes the observation size, the action kind the policy head, and
    p_self (zero or not) the rollout's columns."""
    if not saved or not is_rocket_id(str(saved.get("env", ""))):
        return
    before = RocketEnvConfig.from_dict({k: v for k, v in (saved.get("rocket") or {}).items()
                                        if k != "team_size"})
    for name in ("max_team_size", "action"):
        if getattr(before, name) != getattr(rocket, name):
            raise IncompatibleRunError(
                f"{cfg.run_dir()} was trained with rocket.{name}={getattr(before, name)!r}, "
                f"not {getattr(rocket, name)!r}", "use another --checkpoint-dir, or the same value")
    # p_self > 0 doubles the rollout's columns, and the return normaliser is per column.
    before_self = float((saved.get("selfplay") or {}).get("p_self", 0.0))
    now_self = sp.p_self
    if (before_self > 0.0) != (now_self > 0.0):
        raise IncompatibleRunError(
            f"{cfg.run_dir()} was trained with selfplay.p_self={before_self}, not {now_self}: "
            "games against itself change the rollout's shape",
            "use another --checkpoint-dir, or keep p_self both zero or both above zero")


def env_workers(cfg: PPOConfig) -> tuple[int, bool]:
    """(env worker processes, whether this process steps a share of the envs too).

    auto: one worker per CPU left after the learner, and the learner's process steps a
    share while they step theirs (on 2 CPUs: one worker plus this process); `sync` and
    `native` step everything here; `async` gives every CPU a worker and keeps none here.
    """
    cpus = cpu_count()
    if cfg.vectorization in ("sync", "native") or cfg.num_envs < 2:
        return 0, False
    if cfg.vectorization == "async":
        return min(cfg.num_envs, cpus), False
    return min(cfg.num_envs - 1, max(1, cpus - 1)), True


class SelfPlayRun:
    """One call of train_selfplay: envs, learner, pool, ratings, logger, checkpointer."""

    def __init__(self, cfg: PPOConfig, rocket: RocketEnvConfig, sp: SelfPlayConfig,
                 schedule: TeamSizeSchedule, snapshot_every: int, stop: StopRule) -> None:
        self.cfg, self.rocket, self.sp = cfg, rocket, sp
        self.schedule, self.snapshot_every = schedule, snapshot_every
        self.layout = RunLayout(cfg.run_dir())
        self.layout.make()
        self.pool_dir = self.layout.checkpoints / "pool"
        self.checkpointer = StepCheckpointer(self.layout.checkpoints, cfg.keep_checkpoints)
        self.tracker = StopTracker(stop)
        self.stop_reason: str | None = None
        seed_everything(cfg.seed)
        self.device = setup_device(cfg.device, cfg.amp, cfg.tf32, ppo_num_threads(cfg, "mlp"))
        self.obs_dim = obs_size(rocket.max_team_size, rocket.car_frame_obs)
        # Games against itself (p_self) train on both teams' cars: a column for each.
        self.two_sided = sp.p_self > 0.0
        self.columns = cfg.num_envs * rocket.max_team_size * (2 if self.two_sided else 1)
        self.layout_actions = ActionLayout("discrete", (90,)) if rocket.action == "discrete" \
            else ActionLayout("continuous", (8,))
        self.agent = PPOAgent(cfg, (self.obs_dim,), self._action_space(), self.columns,
                              self.device.device)
        self.pool = OpponentPool(sp.p_latest, sp.pool_size, seed=derive_seed(cfg.seed, "pool"),
                                 p_chaser=sp.p_chaser, p_self=sp.p_self)
        self.ratings = RatingTable()
        self.last_snapshot = -1
        self._named: list[set[str]] = []  # pool files each kept checkpoint names
        self.counter = multiprocessing.get_context(START_METHOD).Value("q", 0, lock=False)
        self.acting_rng = np.random.default_rng(derive_seed(cfg.seed, "acting"))
        self._resume()
        self.counter.value = self.agent.counters.global_step
        source = CurriculumTeamSizes(schedule, self.counter, sp.learner_team, sp.learner_side)
        workers, main_share = env_workers(cfg)
        self.venv = RocketVecEnv(cfg.num_envs, rocket, workers, team_sizes=source,
                                 seed=derive_seed(cfg.seed, "envs", self.counter.value),
                                 main_share=main_share)
        self.collector = SelfPlayCollector(self.venv, self.pool, self.ratings, self.counter,
                                           self._load_opponent, cfg.gamma, self.two_sided)
        if not len(self.pool):
            self._snapshot()
        if self.pool.p_chaser > 0.0 and CHASER.id not in self.ratings:
            self.ratings.add_snapshot(CHASER.id)  # starts at the learner's rating
        self.logger = RunLogger(self.layout.logs)
        self.hook = Webhook(resolve_webhook_url(cfg.webhook_url))
        # Acting in numpy on the CPU (numpy_policy.py); the network itself stays in torch.
        self.fast = NumpyPolicy(self.agent.policy, self.acting_rng) \
            if self.device.device.type == "cpu" and supports(self.agent.policy) else None

    def _action_space(self) -> Any:
        import gymnasium as gym

        return gym.spaces.Discrete(90) if self.rocket.action == "discrete" else \
            gym.spaces.Box(-1.0, 1.0, (8,), np.float32)

    # --- resume, snapshots, checkpoints -------------------------------------------------
    def _resume(self) -> None:
        ckpt = self.checkpointer.load_latest()
        if ckpt is None:
            return
        self.agent.load_state_dict(ckpt)
        restore_rng_state(ckpt["rng"])
        self.tracker.load_state_dict(ckpt.get("stop", {}))
        state = ckpt["selfplay"]
        self.pool = OpponentPool.from_dict(json.loads(state["pool"]))
        self.ratings = RatingTable.from_dict(json.loads(state["ratings"]))
        self.last_snapshot = int(state["last_snapshot"])
        self._named = [{s.path for s in self.pool.snapshots}]
        log.info("self-play resumed: %d snapshots in the pool, %d rated games",
                 len(self.pool), self.ratings.games)

    def _snapshot(self) -> None:
        """Freeze the learner into the pool (its weights file first, then the pool entry)."""
        step = int(self.counter.value)
        sid = f"step_{step:012d}"
        path = self.pool_dir / f"{sid}.pt"
        buf = io.BytesIO()
        torch.save({"policy": self.agent.policy.state_dict(),
                    "obs_norm": self.agent.obs_norm.state_dict()}, buf)
        atomic_write_bytes(path, buf.getvalue())
        # An evicted snapshot's file stays until no kept checkpoint names it (_prune).
        self.collector.add_snapshot(Snapshot(sid, step, str(path.relative_to(self.layout.root))))
        self.last_snapshot = step

    def _prune(self) -> None:
        """Delete pool files that neither the pool nor a kept checkpoint's pool names."""
        self._named.append({s.path for s in self.pool.snapshots})
        self._named = self._named[-self.cfg.keep_checkpoints:]
        keep = set().union(*self._named)
        for path in self.pool_dir.glob("*.pt"):
            if str(path.relative_to(self.layout.root)) not in keep:
                path.unlink(missing_ok=True)

    def _load_opponent(self, snapshot: Snapshot) -> Any:
        if snapshot.id == CHASER.id:
            from dreamlab.envs.rocket.chaser import Chaser

            return Chaser(self.rocket.action)
        state = safe_torch_load(self.layout.root / snapshot.path)
        net = ActorCritic((self.obs_dim,), self.layout_actions, "mlp", self.cfg.hidden_size,
                          self.cfg.hidden_layers, self.cfg.activation)
        net.load_state_dict(state["policy"])
        net.eval()
        norm = ObsNormalizer((self.obs_dim,), self.cfg.clip_obs, self.cfg.norm_obs)
        norm.load_state_dict(state["obs_norm"])

        if supports(net):
            fast = NumpyPolicy(net, self.acting_rng)
            return lambda obs: fast.sample(norm(obs))

        def act(obs: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return net.act(torch.from_numpy(norm(obs)))[0].numpy()
        return act

    def save_checkpoint(self) -> None:
        """Checkpoint (network, optimiser, counters, pool, ratings), then the plots."""
        c = self.agent.counters
        c.last_checkpoint = c.global_step
        state = self.agent.state_dict()
        state["stop"] = self.tracker.state_dict()
        state["config"] = self.cfg.to_dict()
        # JSON strings: plain data that loads with weights_only=True.
        state["selfplay"] = {"pool": json.dumps(self.pool.to_dict()),
                             "ratings": json.dumps(self.ratings.to_dict()),
                             "last_snapshot": self.last_snapshot}
        self.checkpointer.save(c.global_step, state)
        self._prune()
        atomic_write_json(self.layout.root / "selfplay_ratings.json", self.ratings.to_dict())
        plot_ratings(self.ratings, self.layout.plots / "ratings.png", self.schedule,
                     {s.id: s.timesteps for s in self.pool.snapshots})
        plot_training(self.layout.logs, self.layout.plots / "training.png", self.schedule)

    # --- the loop ---------------------------------------------------------------------
    def _learner(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.fast is not None:
            return self.fast.act(obs)
        with torch.inference_mode():
            a, lp, v = self.agent.policy.act(torch.from_numpy(obs).to(self.device.device))
        return a.cpu().numpy(), lp.cpu().numpy(), v.cpu().numpy()

    def _value(self, obs: np.ndarray) -> np.ndarray:
        if self.fast is not None:
            return self.fast.value(obs)
        with torch.inference_mode():
            return self.agent.policy.value(
                torch.from_numpy(obs).to(self.device.device)).cpu().numpy()

    def loop(self) -> float:
        cfg, agent, c = self.cfg, self.agent, self.agent.counters
        start = time.monotonic()
        collect_s = 0.0
        steps_at_start = c.global_step
        scaler = self.device.grad_scaler()
        stage = self.schedule.stage_at(c.global_step).name
        self.hook.send(f"[START] dreamlab ppo self-play {self.layout.root.name}: stage {stage}, "
                       f"step {c.global_step}/{cfg.total_steps}")

        def transform(obs: np.ndarray) -> np.ndarray:
            return agent.obs_norm(obs, update=True)
        while c.global_step < cfg.total_steps:
            frac = max(0.0, 1.0 - c.global_step / cfg.total_steps)
            for group in agent.optimizer.param_groups:
                group["lr"] = cfg.learning_rate * (frac if cfg.anneal_lr else 1.0)
            clip = cfg.clip_coef * (frac if cfg.anneal_clip else 1.0)
            t0 = time.monotonic()
            with blas_threads(1):  # 8-16-row forward passes: a second BLAS thread only hurts
                rollout = self.collector.collect(self._learner, self._value, cfg.num_steps,
                                                 transform if cfg.norm_obs else None)
            collect_s += time.monotonic() - t0
            c.global_step = int(self.counter.value)
            batch = rollout_to_batch(rollout, agent.reward_scaler, cfg.gamma, cfg.gae_lambda,
                                     self.device.device)
            stats = ppo_update(
                agent.policy, agent.optimizer, batch, cfg.num_epochs,
                minibatch_size(rollout.valid.size, len(batch.valid), cfg.batch_size), clip,
                clip_vloss=cfg.clip_vloss, norm_adv=cfg.norm_adv,
                ent_coef=cfg.ent_coef, vf_coef=cfg.vf_coef, max_grad_norm=cfg.max_grad_norm,
                target_kl=cfg.target_kl, generator=agent.generator,
                autocast=self.device.autocast, scaler=scaler)
            c.updates += 1
            if self.fast is not None:
                self.fast.refresh(agent.policy)
            wall = time.monotonic() - start
            done_steps = c.global_step - steps_at_start
            self._log(stats, collect_sps=done_steps / max(collect_s, 1e-9),
                      overall_sps=done_steps / max(wall, 1e-9))
            now = self.schedule.stage_at(c.global_step).name
            if now != stage:
                log.info("curriculum: %s -> %s at step %d", stage, now, c.global_step)
                self.hook.send(f"[STAGE] {self.layout.root.name}: {stage} -> {now} at step "
                               f"{c.global_step}, learner rating "
                               f"{self.ratings.get(LEARNER).mu:.1f}")
                stage = now
            if c.global_step - self.last_snapshot >= self.snapshot_every:
                self._snapshot()
            if c.global_step // cfg.checkpoint_every > c.last_checkpoint // cfg.checkpoint_every:
                self.save_checkpoint()
            self.stop_reason = self.tracker.should_stop(c.updates, c.global_step)
            if self.stop_reason:
                break
        if c.global_step != c.last_checkpoint:
            self.save_checkpoint()
        return time.monotonic() - start

    def _log(self, stats: dict[str, float], collect_sps: float, overall_sps: float) -> None:
        c, games = self.agent.counters, self.collector.stats
        finished = games.finished
        games.finished = []
        stage = self.schedule.index_at(c.global_step)
        rating = self.ratings.get(LEARNER)
        self.logger.scalars(stats, c.global_step, prefix="train/")
        self.logger.scalars({"rating_mu": rating.mu, "rating_sigma": rating.sigma,
                             "stage": float(stage), "pool_size": float(len(self.pool))},
                            c.global_step, prefix="selfplay/")
        self.logger.scalars({"collect_sps": collect_sps, "overall_sps": overall_sps},
                            c.global_step, prefix="perf/")
        if finished:
            self.logger.scalar("train/episode_return",
                               float(np.mean([g["return"] for g in finished])), c.global_step)
            rated = [g["score"] for g in finished if g["opponent"] != SELF.id]
            if rated:
                self.logger.scalar("selfplay/score", float(np.mean(rated)), c.global_step)
            vs_chaser = [g["score"] for g in finished if g["opponent"] == CHASER.id]
            if vs_chaser:
                self.logger.scalar("selfplay/score_vs_chaser", float(np.mean(vs_chaser)),
                                   c.global_step)
        recent = games.recent_returns
        log.info("step %d/%d | stage %s | games W/D/L %d/%d/%d (+%d vs itself) | return %.2f "
                 "| rating %.1f +- %.1f | %.0f collected, %.0f overall steps/s", c.global_step,
                 self.cfg.total_steps, self.schedule.stages[stage].name, games.wins,
                 games.draws, games.losses, games.self_games,
                 float(np.mean(recent)) if recent else math.nan,
                 rating.mu, rating.sigma, collect_sps, overall_sps)

    def summary(self, wall_s: float) -> EvalResult:
        """Games of the final learner (or the one select.py chose) against random play
        (evaluate.py), with this session's training games and the ratings beside them."""
        from dreamlab.ppo.selfplay.evaluate import (
            learner_source,
            load_learner,
            play_against_random,
        )

        games = self.collector.stats
        rating = self.ratings.get(LEARNER)
        ckpt = load_learner(self.layout.root)
        ev = play_against_random(self.cfg, ckpt, self.cfg.eval_episodes,
                                 derive_seed(self.cfg.seed, "eval"))
        return EvalResult(
            env_id=self.cfg.env, algo="ppo", returns=ev["returns"], env_steps=ev["env_steps"],
            wall_s=ev["wall_s"],
            extra={"opponent": "random", "learner": learner_source(ckpt, None),
                   "team_size": ev["team_size"], "deterministic": True,
                   "wins": ev["wins"], "draws": ev["draws"], "losses": ev["losses"],
                   "goals_for": ev["wins"], "goals_against": ev["losses"],
                   "touches_per_minute": round(ev["touches_per_minute"], 3),
                   "train_env_steps": self.agent.counters.global_step, "train_wall_s": wall_s,
                   "training_games": {"wins": games.wins, "draws": games.draws,
                                      "losses": games.losses,
                                      "against_itself": games.self_games},
                   "rating_mu": rating.mu, "rating_sigma": rating.sigma,
                   "rated_games": self.ratings.games, "pool": [s.id for s in self.pool.snapshots],
                   "stop_reason": self.stop_reason})

    def close(self) -> None:
        self.venv.close()
        self.logger.close()
        self.hook.close()


def train_selfplay(cfg: PPOConfig, stop: StopRule | None = None) -> Any:
    """Train the learner by self-play in cfg.run_dir(), resuming its newest checkpoint."""
    from dreamlab.algorithms import TrainResult

    if not is_rocket_env(cfg.env):
        raise ValueError(f"train_selfplay is for the Rocket League env, not {cfg.env}")
    require_rocket()
    rocket, sp = selfplay_settings(cfg)
    schedule = sp.schedule()
    snapshot_every = sp.snapshot_every
    if cfg.debug:
        # seeds/003's --debug: 1,000 steps that still pass every stage and take snapshots.
        full = cfg.total_steps
        cfg = cfg.for_debug()
        factor = cfg.total_steps / full
        schedule = schedule.scaled(factor)
        snapshot_every = max(1, int(snapshot_every * factor))
        # Games must end inside 1,000 steps, or no reset reads the next stage and no game
        # is rated: 2 s without a touch, 10 s at most (30 and 300 in a real run).
        rocket = dataclasses.replace(rocket, no_touch_timeout_s=min(rocket.no_touch_timeout_s,
                                                                    2.0),
                                     game_timeout_s=min(rocket.game_timeout_s, 10.0))
        # The debug run's config.yaml records what it ran (so `dreamlab eval` plays it).
        sp = dataclasses.replace(sp, snapshot_every=snapshot_every, stage_starts=None,
                                 curriculum_stages=[{"team_size": st.name, "start": st.start}
                                                    for st in schedule.stages])
        cfg = dataclasses.replace(cfg, rocket=dataclasses.asdict(rocket),
                                  selfplay=selfplay_dict(sp))
    layout = RunLayout(cfg.run_dir())
    if layout.manifest.exists():  # a resume must keep the network's shape (one line if not)
        saved = Manifest.load(layout.root)
        check_compatible(saved, cfg)
        check_rocket_compatible(saved.data.get("config", {}), cfg, rocket, sp)
    layout.make()
    manifest = Manifest.load_or_create(layout.root, cfg.to_dict(), cfg.seed, algo=cfg.ALGO)
    manifest.set_status("running")
    layout.write_config(cfg.to_dict())
    threads_before = torch.get_num_threads()
    stop = stop or StopRule()
    if sp.select_candidates and stop.max_minutes:
        # The validation games are inside the budget: training ends that much earlier.
        stop = dataclasses.replace(stop, max_minutes=max(stop.max_minutes - sp.select_minutes,
                                                         stop.max_minutes / 2))
    run = SelfPlayRun(cfg, rocket, sp, schedule, snapshot_every, stop)
    try:
        wall = run.loop()
        if sp.select_candidates:
            from dreamlab.ppo.selfplay.select import select_final_learner

            select_start = time.monotonic()
            select_final_learner(layout.root, sp.select_candidates, sp.select_games,
                                 sp.select_opponents,
                                 sp.select_minutes if stop.max_minutes else 0.0,
                                 sp.select_workers)
            wall += time.monotonic() - select_start
        result = run.summary(wall)
        result.write(layout.evaluation)
        manifest.set_status("done", outputs=[layout.evaluation, layout.plots / "ratings.png"],
                            train_env_steps=run.agent.counters.global_step)
    except BaseException as exc:
        if run.agent.counters.global_step != run.agent.counters.last_checkpoint:
            run.save_checkpoint()
        manifest.set_status("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                            reason=f"{type(exc).__name__}: {exc}"[:300])
        raise
    finally:
        run.close()
        torch.set_num_threads(threads_before)
    rows = [{"stage": "self-play", "status": run.stop_reason or "done", "seconds": wall,
             "outputs": f"{run.agent.counters.global_step} env steps, "
                        f"{run.ratings.games} rated games, {len(run.pool)} snapshots"}]
    return TrainResult(run_dir=layout.root, evaluation=result, stop_reason=run.stop_reason,
                       rows=rows)
