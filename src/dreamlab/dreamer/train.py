"""Dreamer's training loop: act -> replay -> update at the train ratio -> checkpoint.

The run directory is the truth (DESIGN.md principle 2): a checkpoint holds the models,
optimisers, return normaliser, counters, every RNG and a copy of the replay, so a run
killed with -9 continues where its last checkpoint left it. The number of updates owed
is a function of the restored counters, so a resume cannot trigger a burst of catch-up
updates (sheeprl PR #280); each env step may also run at most its own share of updates.
"""

from __future__ import annotations

import logging
import math
import shutil
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamlab.algorithms import TrainResult
from dreamlab.config.dreamer import DreamerConfig
from dreamlab.data.replay import ReplayBuffer, check_ram_budget, replay_bytes
from dreamlab.dreamer.agent import to_torch_batch
from dreamlab.dreamer.envloop import FrameStacker, describe, random_actions, to_env_actions
from dreamlab.dreamer.evaluate import build_agent, evaluate_agent
from dreamlab.dreamer.plots import write_plots
from dreamlab.envs import make_vector_env
from dreamlab.errors import IncompatibleRunError
from dreamlab.runtime.checkpoint import (
    StepCheckpointer,
    generator_state,
    restore_rng_state,
    set_generator_state,
)
from dreamlab.runtime.device import run_with_oom_fallback, setup_device
from dreamlab.runtime.logger import RunLogger
from dreamlab.runtime.malloc import fix_malloc_thresholds
from dreamlab.runtime.manifest import Manifest
from dreamlab.runtime.perf import PerfMonitor
from dreamlab.runtime.rundir import RunLayout
from dreamlab.runtime.seeding import derive_seed, seed_everything
from dreamlab.runtime.stop import StopRule, StopTracker

log = logging.getLogger("dreamlab")

# Fields that change what the networks or the replay are: a run dir made with other values
# cannot be resumed with these (the schedule, learning rates and budgets may change).
SHAPE_FIELDS = ("env", "obs", "img_size", "grayscale", "frame_stack", "frame_skip",
                "model_size", "latent", "deter", "stoch", "classes", "hidden", "encoder",
                "bins", "num_envs", "replay_capacity", "replay_memmap")


@dataclass
class Counters:
    agent_steps: int = 0  # vector steps x num_envs
    updates: int = 0
    episodes: int = 0
    resumes: int = 0


def updates_owed(cfg: DreamerConfig, agent_steps: int, batch: int) -> int:
    """Updates that the train ratio asks for after `agent_steps`, in total."""
    if agent_steps < cfg.prefill_steps:
        return 0
    return 1 + int((agent_steps - cfg.prefill_steps) * cfg.train_ratio /
                   (batch * cfg.seq_len))


class Trainer:
    def __init__(self, cfg: DreamerConfig, stop: StopRule | None = None) -> None:
        self.cfg = cfg
        self.layout = RunLayout(cfg.run_dir())
        preflight(cfg)
        self._check_resumable()
        self.layout.make()
        self.layout.write_config(cfg.to_dict())
        self.manifest = Manifest.load_or_create(self.layout.root, cfg.to_dict(), cfg.seed,
                                                algo="dreamer")
        self.setup = setup_device(cfg.device, cfg.amp, cfg.tf32, cfg.num_threads)
        seed_everything(cfg.seed)
        self.agent, self.info, self.spec = build_agent(cfg, self.setup.device)
        self.agent.autocast = self.setup.autocast
        memmap = self.layout.root / "replay_ring" if cfg.replay_memmap else None
        self.replay = ReplayBuffer(cfg.replay_capacity, cfg.num_envs, self.spec.frame_shape,
                                   self.spec.dtype, self.info.action.n, cfg.frame_stack,
                                   cfg.replay_ram_gb, memmap)
        self.rng = np.random.default_rng(derive_seed(cfg.seed, "replay"))
        self.counters = Counters()
        self.batch = cfg.batch_size
        self.tracker = StopTracker(stop or StopRule())
        self.ckpt = StepCheckpointer(self.layout.checkpoints, cfg.checkpoint_keep)
        counts = self.agent.param_counts()
        log.info("Dreamer %s: %s parameters (world model %s, actor %s, critic %s); "
                 "replay %.2f GB (%d B/step)%s; %s", cfg.model_size,
                 f"{sum(counts.values()):,}", f"{counts['world_model']:,}",
                 f"{counts['actor']:,}", f"{counts['critic']:,}",
                 self.replay.nbytes_needed() / 1e9, self.replay.bytes_per_step(),
                 " on disk" if memmap else "", self.setup.describe())
        self._resume()

    @property
    def env_steps(self) -> int:
        return self.counters.agent_steps * self.cfg.frame_skip

    # --- resume ---------------------------------------------------------------------------
    def _check_resumable(self) -> None:
        from dreamlab.config.base import read_yaml_mapping

        if not self.layout.config_yaml.exists():
            return
        old = read_yaml_mapping(self.layout.config_yaml)
        new = self.cfg.to_dict()
        diff = [k for k in SHAPE_FIELDS if k in old and old[k] != new[k]]
        if diff:
            raise IncompatibleRunError(
                f"{self.layout.root} was made with other {', '.join(diff)} "
                f"({', '.join(f'{k}={old[k]!r}' for k in diff)})",
                "pass --checkpoint-dir for a new run, or the same values to resume")

    def _resume(self) -> None:
        data = self.ckpt.load_latest(map_location=self.setup.device)
        if data is None:
            return
        self.agent.load_state_dict(data["agent"])
        for name in ("opt_wm", "opt_actor", "opt_critic"):
            getattr(self.agent, name).load_state_dict(data[name])
        self.counters = Counters(**data["counters"])
        self.counters.resumes += 1
        self.batch = int(data["batch"])
        set_generator_state(self.rng, data["replay_rng"])
        self.tracker.load_state_dict(data["stop"])
        replay_dir = self._replay_dir(int(data["step"]))
        if not self.cfg.replay_memmap or replay_dir.exists():
            self.replay.load(replay_dir)
        restore_rng_state(data["rng"])
        log.info("resumed at %d env steps, %d updates, %d episodes, replay %d steps",
                 self.env_steps, self.counters.updates, self.counters.episodes,
                 len(self.replay))

    def _replay_dir(self, step: int) -> Path:
        return self.layout.checkpoints / f"replay_{step:012d}"

    def save(self) -> None:
        """Replay first, then the checkpoint that points at it: a kill in between leaves
        the previous checkpoint and its replay copy intact."""
        step = self.env_steps
        self.replay.save(self._replay_dir(step))
        a = self.agent
        self.ckpt.save(step, {
            "agent": a.state_dict(), "opt_wm": a.opt_wm.state_dict(),
            "opt_actor": a.opt_actor.state_dict(), "opt_critic": a.opt_critic.state_dict(),
            "counters": asdict(self.counters), "batch": self.batch,
            "replay_rng": generator_state(self.rng), "stop": self.tracker.state_dict()})
        keep = {self._replay_dir(s).name for s, _ in self.ckpt.existing()}
        for old in self.layout.checkpoints.glob("replay_*"):
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)

    # --- the loop -------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg, c, n = self.cfg, self.counters, self.cfg.num_envs
        logger = RunLogger(self.layout.logs)
        perf = PerfMonitor(self.env_steps, c.updates)
        envs = make_vector_env(cfg.env, n, cfg.obs, cfg.img_size, cfg.max_episode_steps,
                               cfg.frame_skip, seed=derive_seed(cfg.seed, "env", c.resumes))
        stacker = FrameStacker(self.spec, n)
        dev = self.setup.device
        obs, _ = envs.reset()
        reward = np.zeros(n, np.float32)
        first = np.ones(n, bool)
        term = np.zeros(n, bool)
        done = np.zeros(n, bool)
        prev = np.zeros((n, self.info.action.n), np.float32)
        ep_return = np.zeros(n)
        state = None
        share = math.ceil(n * cfg.train_ratio / (self.batch * cfg.seq_len)) + 1
        next_ckpt = (self.env_steps // cfg.checkpoint_every + 1) * cfg.checkpoint_every
        next_log = (self.env_steps // cfg.log_every + 1) * cfg.log_every
        next_eval = ((self.env_steps // cfg.eval_every + 1) * cfg.eval_every
                     if cfg.eval_every else math.inf)
        metrics: list[dict[str, float]] = []
        self.manifest.set_status("running")
        t0 = time.monotonic()
        old_term = _checkpoint_on_sigterm()
        try:
            while self.env_steps < cfg.total_steps and self.tracker.should_stop(
                    c.updates, self.env_steps) is None:
                frame = self.spec.frame(obs)
                self.replay.add(frame, prev, reward, first, term)
                ep_return += np.where(first, 0.0, reward)
                for i in np.flatnonzero(done):
                    c.episodes += 1
                    logger.scalar("train/episode_return", ep_return[i], self.env_steps)
                    ep_return[i] = 0.0
                model_obs = torch.as_tensor(stacker.push(frame, first), device=dev)
                if c.agent_steps < cfg.prefill_steps + cfg.wm_warmup_steps:
                    action = random_actions(self.rng, n, self.info)
                else:
                    act, state = self.agent.act(model_obs, state, torch.as_tensor(prev, device=dev),
                                                torch.as_tensor(first, device=dev), explore=True)
                    action = act.cpu().numpy()
                obs, r, te, tr, _ = envs.step(to_env_actions(action, self.info))
                # next_step autoreset: an env done last step ignored `action` and reset.
                was_done = done
                first = was_done.copy()
                prev = np.where(was_done[:, None], 0.0, action).astype(np.float32)
                reward = np.where(was_done, 0.0, r).astype(np.float32)
                term = np.where(was_done, False, te)
                done = np.where(was_done, False, te | tr)
                c.agent_steps += n
                metrics += self._update(share)
                if self.env_steps >= next_log:
                    next_log += cfg.log_every
                    self._log(logger, perf, metrics)
                    metrics = []
                if self.env_steps >= next_ckpt:
                    next_ckpt += cfg.checkpoint_every
                    self.save()
                if self.env_steps >= next_eval:
                    next_eval += cfg.eval_every
                    self._evaluate(logger, cfg.eval_episodes, False)
        except KeyboardInterrupt:
            log.warning("interrupted; saving a checkpoint at %d env steps", self.env_steps)
            self.save()
            self.manifest.set_status("interrupted")
            raise
        finally:
            envs.close()
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
        self.save()
        train_s = time.monotonic() - t0
        result = self._evaluate(logger, cfg.eval_episodes, cfg.save_videos)
        logger.close()
        plots = write_plots(self.layout)
        outputs = [self.layout.evaluation, *plots, *self.layout.videos.glob("*.mp4")]
        self.manifest.set_status("done", outputs=outputs, env_steps=self.env_steps,
                                 updates=c.updates, episodes=c.episodes,
                                 peak_rss_mb=round(perf.peak_rss_mb, 1))
        rows = [{"stage": "train", "status": "done", "seconds": train_s,
                 "outputs": f"{self.env_steps} env steps, {c.updates} updates, "
                            f"{c.episodes} episodes"},
                {"stage": "eval", "status": "done", "seconds": result.wall_s,
                 "outputs": f"{result.mean_return:.1f} +- {result.std_return:.1f}"}]
        return TrainResult(self.layout.root, result, self.tracker.reason or "total_steps",
                           rows=rows)

    def _update(self, share: int) -> list[dict[str, float]]:
        cfg, c = self.cfg, self.counters
        owed = updates_owed(cfg, c.agent_steps, self.batch) - c.updates
        out = []
        behavior = c.agent_steps >= cfg.prefill_steps + cfg.wm_warmup_steps
        for _ in range(max(0, min(owed, share))):
            if not self.replay.can_sample(cfg.seq_len):
                break

            def step(batch: int, device: torch.device) -> dict[str, float]:
                if self.agent.device != device:
                    self.agent.to(device)
                self.batch = batch
                data = to_torch_batch(self.replay.sample(batch, cfg.seq_len, self.rng), device)
                return self.agent.train_step(data, behavior)

            out.append(run_with_oom_fallback(step, self.batch, self.setup))
            c.updates += 1
        return out

    def _log(self, logger: RunLogger, perf: PerfMonitor, metrics: list[dict[str, float]]) -> None:
        sample = perf.sample(self.env_steps, self.counters.updates)
        logger.scalars(sample, self.env_steps, prefix="perf/")
        if metrics:
            mean = {k: float(np.mean([m[k] for m in metrics if k in m]))
                    for k in metrics[-1]}
            logger.scalars(mean, self.env_steps)
        logger.scalar("train/updates", self.counters.updates, self.env_steps)
        log.info("%d/%d env steps, %d updates, %d episodes | %s", self.env_steps,
                 self.cfg.total_steps, self.counters.updates, self.counters.episodes,
                 PerfMonitor.format(sample))

    def _evaluate(self, logger: RunLogger, episodes: int, videos: bool) -> Any:
        result = evaluate_agent(self.agent, self.cfg, self.info, self.spec, self.layout,
                                episodes, videos, self.env_steps)
        logger.scalar("eval/mean_return", result.mean_return, self.env_steps)
        self.tracker.record_eval(result.mean_return)
        log.info("eval at %d env steps: %.1f +- %.1f over %d episodes", self.env_steps,
                 result.mean_return, result.std_return, result.episodes)
        return result


def _checkpoint_on_sigterm() -> Any:
    """While the loop runs, SIGTERM (a scheduler, `kill`) takes the Ctrl-C path, which
    saves a checkpoint; the previous handler is restored after. Only the main thread may
    set handlers, so elsewhere (a curriculum worker thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def preflight(cfg: DreamerConfig) -> None:
    """Refuse a run that cannot work (unknown env, a replay over the RAM budget) before
    the CLI prints the config table and before any file is written."""
    info, spec = describe(cfg)
    if not cfg.replay_memmap:
        per_step, need = replay_bytes(cfg.replay_capacity, cfg.num_envs, spec.frame_shape,
                                      spec.dtype, info.action.n)
        check_ram_budget(need, cfg.replay_capacity, per_step, cfg.replay_ram_gb)


def train(cfg: DreamerConfig, stop: StopRule | None = None) -> TrainResult:
    """The algorithm table's entry point (algorithms.py).

    Fixes glibc's malloc thresholds first (runtime/malloc.py): with glibc's dynamic
    threshold, RSS drifts ~2 MB per 10k steps once replay is full, without a leak.
    """
    fix_malloc_thresholds()
    return Trainer(cfg, stop).run()
