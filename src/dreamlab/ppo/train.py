"""`dreamlab ppo`: collect -> GAE -> PPO epochs, with seeds/003's operations around it.

The math is in core.py; this file is the loop and what keeps a long run safe: a run
directory with manifest and config, checkpoints every `checkpoint_every` env steps and on
exit (policy, optimiser, normalisation statistics, RNG, counters), resume after a
`kill -9`, the perf monitor on the console / TensorBoard / CSV, the optional webhook,
the final evaluation and plots.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dreamlab.config.ppo import COMPATIBLE_FIELDS, PPOConfig
from dreamlab.errors import IncompatibleRunError
from dreamlab.models.ppo_policy import ActorCritic
from dreamlab.ppo.core import ppo_update
from dreamlab.ppo.envs import (
    action_layout,
    describe_envs,
    make_ppo_envs,
    make_training_envs,
    policy_kind,
)
from dreamlab.ppo.evaluate import evaluate_policy
from dreamlab.ppo.normalize import ObsNormalizer, RewardScaler
from dreamlab.ppo.plots import plot_run
from dreamlab.ppo.rollout import Collector, RolloutBuffer
from dreamlab.ppo.webhook import Webhook, resolve_webhook_url
from dreamlab.runtime.checkpoint import StepCheckpointer, restore_rng_state
from dreamlab.runtime.device import DeviceSetup, choose_num_threads, setup_device
from dreamlab.runtime.logger import RunLogger
from dreamlab.runtime.manifest import Manifest
from dreamlab.runtime.perf import PerfMonitor
from dreamlab.runtime.results import EvalResult
from dreamlab.runtime.rundir import RunLayout
from dreamlab.runtime.seeding import derive_seed, seed_everything
from dreamlab.runtime.stop import StopRule, StopTracker

log = logging.getLogger("dreamlab")


def ppo_num_threads(cfg: PPOConfig, kind: str) -> int:
    """Torch threads, chosen on purpose. An MLP of 64 units on a batch of 8 (acting) or
    256 (learning) is too small to split: a second thread only adds synchronisation, and
    it fights the env and every other process for the cores (oversubscription cost 6-17x
    on the 2-core machines, notes/). So the MLP gets one thread; the CNN's convolutions
    do split well, so it gets the CPU count (at most 4). --num-threads overrides both."""
    if cfg.num_threads > 0:
        return cfg.num_threads
    return 1 if kind == "mlp" else choose_num_threads(0)


@dataclass
class Counters:
    global_step: int = 0  # env steps, over all envs (autoreset steps included, like SB3)
    updates: int = 0
    last_checkpoint: int = 0
    last_eval: int = 0


class PPOAgent:
    """What a checkpoint holds, built for one env: the network, its optimiser, the
    normalisers, the minibatch RNG and the counters."""

    def __init__(self, cfg: PPOConfig, obs_shape: tuple[int, ...], action_space: Any,
                 num_envs: int, device: torch.device) -> None:
        kind = policy_kind(cfg, obs_shape)
        self.policy = ActorCritic(obs_shape, action_layout(action_space), kind,
                                  cfg.hidden_size, cfg.hidden_layers, cfg.activation).to(device)
        # eps 1e-5 as in the PPO implementations (Andrychowicz et al. 2021). The fused Adam
        # updates every parameter in one kernel instead of a loop per tensor: ~12% of a
        # CartPole gradient step on the CPU (measured, 3.3 against 3.7 ms).
        self.optimizer = _adam(self.policy, cfg.learning_rate)
        self.obs_norm = ObsNormalizer(obs_shape, cfg.clip_obs, cfg.norm_obs)
        self.reward_scaler = RewardScaler(num_envs, cfg.gamma, cfg.clip_reward,
                                          cfg.norm_reward)
        self.generator = torch.Generator().manual_seed(derive_seed(cfg.seed, "minibatches"))
        self.counters = Counters()

    def state_dict(self) -> dict[str, Any]:
        return {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(),
                "obs_norm": self.obs_norm.state_dict(),
                "reward_scaler": self.reward_scaler.state_dict(),
                "generator": self.generator.get_state(), "counters": vars(self.counters).copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.obs_norm.load_state_dict(state["obs_norm"])
        self.reward_scaler.load_state_dict(state["reward_scaler"])
        self.generator.set_state(state["generator"])
        self.counters = Counters(**state["counters"])


def _adam(policy: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    try:
        return torch.optim.Adam(policy.parameters(), lr=lr, eps=1e-5, fused=True)
    except (RuntimeError, TypeError):  # an old torch or a device without the fused kernel
        return torch.optim.Adam(policy.parameters(), lr=lr, eps=1e-5, foreach=True)


def load_policy(cfg: PPOConfig, layout: RunLayout
                ) -> tuple[ActorCritic, ObsNormalizer, int] | None:
    """(policy, frozen obs normaliser, env steps) of a run's newest checkpoint, or None."""
    ckpt = StepCheckpointer(layout.checkpoints).load_latest()
    if ckpt is None:
        return None
    envs = make_ppo_envs(cfg, 1)
    try:
        agent = PPOAgent(cfg, envs.single_observation_space.shape, envs.single_action_space,
                         1, torch.device("cpu"))
    finally:
        envs.close()
    agent.policy.load_state_dict(ckpt["policy"])
    agent.obs_norm.load_state_dict(ckpt["obs_norm"])
    return agent.policy, agent.obs_norm, int(ckpt["counters"]["global_step"])


def check_compatible(manifest: Manifest, cfg: PPOConfig) -> None:
    saved = manifest.data.get("config", {})
    for name in COMPATIBLE_FIELDS:
        if name in saved and saved[name] != getattr(cfg, name):
            raise IncompatibleRunError(
                f"{manifest.run_dir} was trained with {name}={saved[name]!r}, not "
                f"{getattr(cfg, name)!r}", "use another --checkpoint-dir, or the same value")


def train(cfg: PPOConfig, stop: StopRule | None = None) -> Any:
    """Train in cfg.run_dir(), resuming its newest checkpoint; evaluate; write plots."""
    from dreamlab.algorithms import TrainResult
    from dreamlab.envs.rocket import is_rocket_id

    if is_rocket_id(cfg.env):  # Rocket League trains by self-play (issue 13)
        from dreamlab.ppo.selfplay.train import train_selfplay

        if cfg.executor == "ray":  # issue 14 leaves Rocket League local (docs/ray.md)
            log.warning("--executor ray: Rocket League self-play steps its envs in local "
                        "worker processes (RocketVecEnv), not on Ray; training locally")
        return train_selfplay(cfg, stop)
    if cfg.debug:
        cfg = cfg.for_debug()
    layout = RunLayout(cfg.run_dir())
    if layout.manifest.exists():
        check_compatible(Manifest.load(layout.root), cfg)
    layout.make()
    manifest = Manifest.load_or_create(layout.root, cfg.to_dict(), cfg.seed, algo=cfg.ALGO)
    manifest.data["config"] = cfg.to_dict()
    manifest.set_status("running")
    layout.write_config(cfg.to_dict())
    hook = Webhook(resolve_webhook_url(cfg.webhook_url))
    threads_before = torch.get_num_threads()
    run = _Run(cfg, layout, stop or StopRule(), hook)
    try:
        train_s = run.loop()
        evaluation = run.finish(manifest)
    except BaseException as exc:
        try:
            run.save_checkpoint(final=True)
        except Exception as save_exc:  # noqa: BLE001 - e.g. a full disk: report the first error
            log.warning("no checkpoint on exit: %s", save_exc)
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        manifest.set_status(status, reason=f"{type(exc).__name__}: {exc}"[:300])
        hook.send(f"[CRASH] dreamlab ppo {layout.root.name}: {status} at step "
                  f"{run.agent.counters.global_step if run.agent else 0}: "
                  f"{type(exc).__name__}: {exc}")
        raise
    finally:
        run.close()
        hook.close()
        torch.set_num_threads(threads_before)
    c = run.agent.counters
    rows = [{"stage": "train", "status": run.stop_reason or "done", "seconds": train_s,
             "outputs": f"{c.global_step} env steps, {c.updates} updates"},
            {"stage": "eval", "status": "done", "seconds": evaluation.wall_s,
             "outputs": f"{evaluation.episodes} episodes"}]
    return TrainResult(run_dir=layout.root, evaluation=evaluation,
                       stop_reason=run.stop_reason, rows=rows)


class _Run:
    """One call of train(): the envs, agent, logger and checkpointer it opened."""

    def __init__(self, cfg: PPOConfig, layout: RunLayout, stop: StopRule,
                 hook: Webhook) -> None:
        self.cfg, self.layout, self.hook = cfg, layout, hook
        self.tracker = StopTracker(stop)
        self.stop_reason: str | None = None
        self.checkpointer = StepCheckpointer(layout.checkpoints, keep=cfg.keep_checkpoints)
        self.agent: PPOAgent | None = None
        self.logger: RunLogger | None = None
        self.envs: Any = None
        self.device: DeviceSetup | None = None

    # --- setup and resume ---------------------------------------------------------------
    def _setup(self) -> Collector:
        cfg = self.cfg
        seed_everything(cfg.seed)
        self.envs = make_training_envs(cfg, seed=cfg.seed)
        obs_shape = self.envs.single_observation_space.shape
        kind = policy_kind(cfg, obs_shape)
        self.device = setup_device(cfg.device, cfg.amp, cfg.tf32, ppo_num_threads(cfg, kind))
        self.agent = PPOAgent(cfg, obs_shape, self.envs.single_action_space, cfg.num_envs,
                              self.device.device)
        ckpt = self.checkpointer.load_latest()
        reset_seed = cfg.seed
        if ckpt is not None:
            self.agent.load_state_dict(ckpt)
            restore_rng_state(ckpt["rng"])
            self.tracker.load_state_dict(ckpt.get("stop", {}))
            # Env states are not checkpointable in general: resumed envs start fresh
            # episodes, on seeds of their own so they do not replay the first ones.
            reset_seed = derive_seed(cfg.seed, "resume", self.agent.counters.global_step)
        self.logger = RunLogger(self.layout.logs)
        collector = Collector(self.envs, self.agent.obs_norm, self.agent.reward_scaler,
                              cfg.reward_sign, self.device.device, self.device.autocast)
        collector.reset(reset_seed)
        log.info("device: %s; envs: %d x %s (%s); policy: %s, %d parameters",
                 self.device.describe(), cfg.num_envs, cfg.env,
                 describe_envs(cfg, self.envs), kind,
                 sum(p.numel() for p in self.agent.policy.parameters()))
        return collector

    # --- the loop ---------------------------------------------------------------------
    def loop(self) -> float:
        """Train until total_steps (or the stop rule); returns the seconds it took."""
        start = time.monotonic()
        collector = self._setup()
        cfg, agent = self.cfg, self.agent
        assert agent is not None and self.device is not None and self.logger is not None
        c = agent.counters
        if c.global_step >= cfg.total_steps:
            log.info("already trained %d of %d env steps", c.global_step, cfg.total_steps)
            return 0.0
        action_shape = agent.policy.actions.action_shape
        obs_space = self.envs.single_observation_space
        buf = RolloutBuffer(
            cfg.num_steps, cfg.num_envs, obs_space.shape,
            torch.uint8 if obs_space.dtype == "uint8" and not cfg.norm_obs else torch.float32,
            action_shape, torch.float32 if agent.policy.actions.kind == "continuous"
            else torch.long, self.device.device)
        perf = PerfMonitor(c.global_step, c.updates)
        last_log = time.monotonic()
        self.hook.send(f"[START] dreamlab ppo {self.layout.root.name}: {cfg.env}, step "
                       f"{c.global_step}/{cfg.total_steps} on {self.device.device}")
        scaler = self.device.grad_scaler()
        rollout = cfg.num_envs * cfg.num_steps
        while c.global_step < cfg.total_steps:
            # Linear annealing to 0 over the run (paper's Atari setup; rl-zoo's lin_*).
            frac = max(0.0, 1.0 - c.global_step / cfg.total_steps)
            lr = cfg.learning_rate * (frac if cfg.anneal_lr else 1.0)
            for group in agent.optimizer.param_groups:
                group["lr"] = lr
            clip = cfg.clip_coef * (frac if cfg.anneal_clip else 1.0)
            last_value = collector.collect(agent.policy, buf)
            batch = buf.batch(last_value, cfg.gamma, cfg.gae_lambda)
            stats = ppo_update(
                agent.policy, agent.optimizer, batch, cfg.num_epochs, cfg.batch_size, clip,
                clip_vloss=cfg.clip_vloss, norm_adv=cfg.norm_adv, ent_coef=cfg.ent_coef,
                vf_coef=cfg.vf_coef, max_grad_norm=cfg.max_grad_norm, target_kl=cfg.target_kl,
                generator=agent.generator, autocast=self.device.autocast, scaler=scaler)
            # Counted together once the update is whole, so a checkpoint written on an
            # interrupt never holds a rollout without its update.
            c.global_step += rollout
            c.updates += 1
            self._log_update(stats, batch, collector, lr, clip)
            if time.monotonic() - last_log >= cfg.log_every_s:
                last_log = time.monotonic()
                self._log_perf(perf, collector)
            if c.global_step // cfg.checkpoint_every > c.last_checkpoint // cfg.checkpoint_every:
                self.save_checkpoint()
                self.hook.send(f"[CHECKPOINT] {self.layout.root.name}: step {c.global_step}/"
                               f"{cfg.total_steps}, return {_recent(collector):.1f}")
            if cfg.eval_every and c.global_step // cfg.eval_every > c.last_eval // cfg.eval_every:
                c.last_eval = c.global_step
                self._evaluate_during_training(min(cfg.eval_episodes, 10))
            elif self.tracker.rule.target_score is not None and collector.stats.recent:
                self.tracker.record_eval(_recent(collector))  # no evals: training returns
            self.stop_reason = self.tracker.should_stop(c.updates, c.global_step)
            if self.stop_reason:
                log.info("stopping: %s", self.stop_reason)
                break
        self._log_perf(perf, collector)
        self.save_checkpoint(final=True)
        return time.monotonic() - start

    def _log_update(self, stats: dict[str, float], batch: Any, collector: Collector,
                    lr: float, clip: float) -> None:
        assert self.logger is not None and self.agent is not None
        step = self.agent.counters.global_step
        with torch.no_grad():  # how much of the return's variance V explains (1: all)
            var = batch.returns.var()
            stats["explained_variance"] = float(
                1.0 - (batch.returns - batch.values).var() / var) if var > 0 else math.nan
        self.logger.scalars(stats, step, prefix="train/")
        self.logger.scalars({"learning_rate": lr, "clip_coef": clip}, step, prefix="train/")
        finished = collector.stats.drain()
        if finished:
            self.logger.scalar("train/episode_return", sum(r for r, _ in finished)
                               / len(finished), step)
            self.logger.scalar("train/episode_length", sum(n for _, n in finished)
                               / len(finished), step)

    def _log_perf(self, perf: PerfMonitor, collector: Collector) -> None:
        assert self.logger is not None and self.agent is not None
        c = self.agent.counters
        sample = perf.sample(c.global_step, c.updates)
        self.logger.scalars(sample, c.global_step, prefix="perf/")
        log.info("step %d/%d | return %.1f (last %d episodes) | %s", c.global_step,
                 self.cfg.total_steps, _recent(collector), len(collector.stats.recent),
                 PerfMonitor.format(sample))

    def _evaluate_during_training(self, episodes: int) -> float:
        assert self.agent is not None and self.device is not None and self.logger is not None
        returns, _ = evaluate_policy(self.cfg, self.agent.policy, self.agent.obs_norm,
                                     episodes, self.device.device)
        mean = sum(returns) / len(returns)
        self.logger.scalar("eval/mean_return", mean, self.agent.counters.global_step)
        self.tracker.record_eval(mean)
        return mean

    # --- checkpoints and the end ----------------------------------------------------------
    def save_checkpoint(self, final: bool = False) -> Path | None:
        """Write step_<N>.pt; on exit only when something is new since the last one."""
        if self.agent is None:
            return None
        c = self.agent.counters
        if final and (c.global_step == c.last_checkpoint or c.global_step == 0):
            return None
        c.last_checkpoint = c.global_step
        state = self.agent.state_dict()
        state["stop"] = self.tracker.state_dict()
        state["config"] = self.cfg.to_dict()
        return self.checkpointer.save(c.global_step, state)

    def finish(self, manifest: Manifest) -> EvalResult:
        """Evaluate the final policy, write evaluation_results.json, plots and manifest."""
        assert self.agent is not None and self.device is not None
        cfg, c = self.cfg, self.agent.counters
        start = time.monotonic()
        returns, steps = evaluate_policy(cfg, self.agent.policy, self.agent.obs_norm,
                                         cfg.eval_episodes, self.device.device)
        result = EvalResult(env_id=cfg.env, algo="ppo", returns=returns, env_steps=steps,
                            wall_s=time.monotonic() - start,
                            extra={"train_env_steps": c.global_step, "updates": c.updates,
                                   "deterministic": True, "stop_reason": self.stop_reason})
        result.write(self.layout.evaluation)
        if self.logger is not None:
            self.logger.scalar("eval/mean_return", result.mean_return, c.global_step)
            self.logger.close()
            self.logger = None
        plots = plot_run(self.layout.logs, self.layout.plots, cfg.env)
        latest = self.checkpointer.existing()
        outputs = [self.layout.evaluation, *plots] + ([latest[-1][1]] if latest else [])
        manifest.set_status("done", outputs=outputs, train_env_steps=c.global_step,
                            updates=c.updates)
        log.info("evaluation: %.1f +- %.1f over %d episodes", result.mean_return,
                 result.std_return, result.episodes)
        self.hook.send(f"[DONE] dreamlab ppo {self.layout.root.name}: {cfg.env} after "
                       f"{c.global_step} steps: return {result.mean_return:.1f} +- "
                       f"{result.std_return:.1f} over {result.episodes} episodes")
        return result

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()
        if self.envs is not None:
            self.envs.close()


def _recent(collector: Collector) -> float:
    recent = collector.stats.recent
    return sum(recent) / len(recent) if recent else math.nan
