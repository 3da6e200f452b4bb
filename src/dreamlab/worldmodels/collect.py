"""Stage 1, collect: random rollouts into the episode store (paper section 4.1).

Episodes run in parallel worker processes; the main process is the only writer of the
store, appending in episode order so the same --seed gives the same store whatever the
worker count. Continuous actions come from a smoothly varying random policy, so that a
random CarRacing car drives around the track instead of spinning in place (issue 2).
Before writing anything the disk need is estimated from a probe episode (issue 3);
collection stops cleanly at the budget; a re-run continues from the last stored episode.
In later passes of iterative training (ctx.iteration >= 1, paper section 5) the episodes
come from the trained agent plus exploration noise instead, appended to the same store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from dreamlab.config import WorldModelConfig
from dreamlab.data import DiskBudget, EpisodeStore, check_disk_budget, estimate_collection_bytes
from dreamlab.data.codec import encode_episode
from dreamlab.envs import ActionSpec, make_env
from dreamlab.errors import DiskBudgetError
from dreamlab.runtime.progress import ProgressBar
from dreamlab.runtime.seeding import derive_seed
from dreamlab.worldmodels.context import StageContext

log = logging.getLogger("dreamlab")


class SmoothRandomPolicy:
    """Ornstein-Uhlenbeck noise mapped onto the action bounds: actions drift instead of
    jumping every step, which explores far more of a driving track than white noise."""

    def __init__(self, spec: ActionSpec, rng: np.random.Generator, theta: float = 0.15,
                 sigma: float = 0.35) -> None:
        self.spec = spec
        self.rng = rng
        self.theta = theta
        self.sigma = sigma
        self.x = np.zeros(spec.n, dtype=np.float64)

    def __call__(self) -> Any:
        if self.spec.kind == "discrete":
            return int(self.rng.integers(self.spec.n))
        self.x += -self.theta * self.x + self.sigma * self.rng.standard_normal(self.spec.n)
        u = np.tanh(self.x)  # in (-1, 1)
        low = np.asarray(self.spec.low, dtype=np.float64)
        high = np.asarray(self.spec.high, dtype=np.float64)
        return (low + (u + 1.0) * 0.5 * (high - low)).astype(np.float32)


def run_random_episode(env_kwargs: dict[str, Any], spec: ActionSpec, seed: int
                       ) -> dict[str, np.ndarray]:
    """One episode with a random policy; obs has T+1 rows, the rest T."""
    env = make_env(**env_kwargs)
    try:
        rng = np.random.default_rng(seed)
        policy = SmoothRandomPolicy(spec, rng)
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        frames, actions, rewards, terminated = [obs], [], [], []
        while True:
            action = policy()
            obs, reward, term, trunc, _ = env.step(action)
            frames.append(obs)
            actions.append(action)
            rewards.append(reward)
            terminated.append(term)
            if term or trunc:
                break
    finally:
        env.close()
    act_dtype = np.int64 if spec.kind == "discrete" else np.float32
    return {
        "obs": np.stack(frames),
        "actions": np.asarray(actions, dtype=act_dtype),
        "rewards": np.asarray(rewards, dtype=np.float32),
        "terminated": np.asarray(terminated, dtype=bool),
    }


def _worker_episode(args: tuple[dict[str, Any], ActionSpec, int]) -> dict[str, np.ndarray]:
    import torch

    torch.set_num_threads(1)  # env workers must not fight the trainer for cores
    return run_random_episode(*args)


def env_kwargs_for(cfg: WorldModelConfig, env_id: str, obs: str) -> dict[str, Any]:
    return dict(env_id=env_id, obs=obs, img_size=cfg.vae_img_size,
                max_episode_steps=cfg.max_episode_steps, frame_skip=cfg.frame_skip)


def num_workers(cfg: WorldModelConfig) -> int:
    if cfg.collect_workers:
        return cfg.collect_workers
    from dreamlab.runtime.device import choose_num_threads

    return choose_num_threads(0)


def _episodes(tasks: list[tuple], workers: int, executor: str,
              ray_address: str | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Random episodes in seed order, through the run's executor (parallel/)."""
    from dreamlab.parallel import make_executor

    with make_executor(executor, min(workers, len(tasks)),
                       ray_address=ray_address) as pool:
        yield from pool.imap(_worker_episode, tasks)


def _stop_at_cap_or_raise(budget: DiskBudget, store: EpisodeStore, exc: DiskBudgetError) -> None:
    """At the user's --max-disk-gb cap the collection is complete: stop cleanly. When the
    disk itself is full, fail with the one-line error instead, so the stage is not marked
    done and a re-run after freeing space continues from the last stored episode."""
    episode_bytes = store.nbytes_on_disk() / max(1, len(store))
    remaining = budget.remaining_bytes
    if remaining is None or remaining > 2 * episode_bytes:
        raise exc
    log.warning("collect: stopping cleanly at --max-disk-gb with %d episodes: %s",
                len(store), exc)


def run_collect(ctx: StageContext) -> dict[str, Any]:
    if ctx.iteration >= 1:
        return run_collect_with_controller(ctx)
    cfg, info = ctx.cfg, ctx.env_info
    root = ctx.paths.raw_data
    wanted = cfg.num_random_rollouts
    kwargs = env_kwargs_for(cfg, info.env_id, info.obs)
    seeds = [derive_seed(cfg.seed, ctx.iteration, "collect", i) for i in range(wanted)]
    t0 = time.monotonic()
    if root.exists():
        store = EpisodeStore(root, create=True)  # continue a cut-off collection
    else:
        # Refuse before writing anything if the whole collection would not fit (issue 3).
        probe = run_random_episode(kwargs, info.action, seeds[0])
        steps = len(probe["rewards"])
        # Random episodes vary in length; long ones are bounded by the env's step cap.
        expected = max(steps, info.max_episode_steps or steps) if steps > 50 else steps * 2
        needed = estimate_collection_bytes(len(encode_episode(probe)), steps, expected, wanted)
        check_disk_budget(root.parent, needed, cfg.max_disk_gb or None)
        store = EpisodeStore(root, create=True)
        store.append(probe, meta={"seed": seeds[0]})
    start = len(store)
    frame_cap = cfg.collect_max_frames if info.obs == "pixels" else 0
    if start >= wanted or (frame_cap and store.num_steps >= frame_cap):
        return _metrics(store, 0.0, resumed_from=start)
    # Enforced during collection too: the cap, and the disk's real free space.
    budget = DiskBudget.from_flags(cfg.max_disk_gb or None, root,
                                   used_bytes=store.nbytes_on_disk())
    if start > 1:
        log.info("collect: resuming at episode %d of %d", start, wanted)
    tasks = [(kwargs, info.action, seeds[i]) for i in range(start, wanted)]
    stopped_at_budget = False
    with ProgressBar("collect episodes", total=wanted) as bar:
        bar.advance(start)
        for episode in _episodes(tasks, num_workers(cfg), cfg.executor, cfg.ray_address):
            try:
                store.append(episode, meta={"seed": seeds[len(store)]}, budget=budget)
            except DiskBudgetError as exc:
                _stop_at_cap_or_raise(budget, store, exc)
                stopped_at_budget = True
                break
            bar.advance(1, steps=store.num_steps)
            if frame_cap and store.num_steps >= frame_cap:
                log.info("collect: %d frames stored (--collect-max-frames %d) after %d "
                         "episodes; enough for V", store.num_steps, frame_cap, len(store))
                break
    metrics = _metrics(store, time.monotonic() - t0, resumed_from=start)
    metrics["stopped_at_budget"] = stopped_at_budget
    ctx.logger.scalar("collect/episodes", len(store), ctx.iteration)
    ctx.logger.scalar("collect/mean_return", metrics["mean_return"], ctx.iteration)
    return metrics


def _metrics(store: EpisodeStore, seconds: float, resumed_from: int) -> dict[str, Any]:
    returns = [store.episode_meta(i)["return"] for i in range(len(store))]
    return {
        "episodes": len(store),
        "steps": store.num_steps,
        "bytes": store.nbytes_on_disk(),
        "mean_return": float(np.mean(returns)) if returns else 0.0,
        "mean_length": store.num_steps / max(1, len(store)),
        "seconds": round(seconds, 2),
        "resumed_from": resumed_from,
    }


# --- iterative training: episodes from the current agent (paper section 5) --------------


def _explore(action: np.ndarray, spec: ActionSpec, noise: float,
             rng: np.random.Generator) -> Any:
    """C's action with exploration: for discrete actions a uniformly random one with
    probability `noise`, for continuous ones Gaussian noise of std noise x half the range.
    Without it C's episodes repeat what M already predicts well; the paper's iterative
    procedure (section 5) needs the new data to visit what the dream got wrong."""
    if spec.kind == "discrete":
        return int(rng.integers(spec.n)) if rng.random() < noise else int(action)
    low = np.asarray(spec.low, dtype=np.float64)
    high = np.asarray(spec.high, dtype=np.float64)
    a = action.astype(np.float64) + noise * 0.5 * (high - low) * rng.standard_normal(spec.n)
    return np.clip(a, low, high).astype(np.float32)


def controller_episodes(ctx: StageContext, seeds: list[int],
                        on_episode: Callable[[dict[str, np.ndarray]], None],
                        num_envs: int = 16) -> None:
    """Episodes of the current V + M + C agent with exploration noise, handed to
    `on_episode` in seed order.

    One process steps up to `num_envs` envs with V, C and M batched across them through
    agent.run_episodes (the one episode scheduler); M is fed the action actually taken,
    noise included. An episode depends only on its seed.
    """
    from dreamlab.worldmodels.agent import (
        WorldModelPolicy,
        load_controller,
        load_world_model,
        run_episodes,
    )

    cfg, info = ctx.cfg, ctx.env_info
    params, spec, _ = load_controller(ctx.paths.controller)
    vae_path = ctx.paths.vae if ctx.uses_vae else None
    vae, mdnrnn = load_world_model(vae_path, ctx.paths.mdnrnn)
    policy = WorldModelPolicy(spec, mdnrnn, vae, info)
    kwargs = env_kwargs_for(cfg, info.env_id, info.obs)
    k = max(1, min(num_envs, len(seeds)))
    envs = [make_env(**kwargs) for _ in range(k)]
    rngs = {ep: np.random.default_rng(int(seed)) for ep, seed in enumerate(seeds)}
    done: dict[int, dict[str, np.ndarray]] = {}
    next_out = 0

    def explore(ep: int, greedy: np.ndarray) -> Any:
        return _explore(greedy, info.action, cfg.explore_noise, rngs[ep])

    def finished(ep: int, episode: dict[str, np.ndarray]) -> None:
        nonlocal next_out
        done[ep] = episode
        rngs.pop(ep, None)
        while next_out in done:  # the store is written in seed order
            on_episode(done.pop(next_out))
            next_out += 1

    try:
        n = len(seeds)
        run_episodes(policy, envs, params[None].expand(n, -1), list(seeds),
                     explore=explore, on_episode=finished)
    finally:
        for env in envs:
            env.close()


class _BudgetReached(Exception):
    """Collection stopped cleanly at --max-disk-gb."""


def run_collect_with_controller(ctx: StageContext) -> dict[str, Any]:
    """Iteration >= 1: append episodes of the trained agent (plus exploration noise) to
    raw_data, so V and M are refit on all data (paper section 5: random rollouts never
    show long balanced CartPole runs or far-driven CarRacing tracks). A re-run continues
    after the episodes of this iteration already stored."""
    cfg = ctx.cfg
    ctx.require(ctx.paths.raw_data, "collect", "episode store")
    ctx.require(ctx.paths.controller, "controller", "controller checkpoint")
    store = EpisodeStore(ctx.paths.raw_data, create=True)
    wanted = cfg.iteration_rollouts or cfg.num_random_rollouts
    mine = [i for i in range(len(store))
            if store.episode_meta(i).get("iteration", 0) == ctx.iteration]
    seeds = [derive_seed(cfg.seed, ctx.iteration, "collect", i) for i in range(wanted)]
    t0 = time.monotonic()
    budget = DiskBudget.from_flags(cfg.max_disk_gb or None, ctx.paths.raw_data,
                                   used_bytes=store.nbytes_on_disk())
    start = len(mine)
    stopped_at_budget = False
    returns = [store.episode_meta(i)["return"] for i in mine]
    if start < wanted:
        with ProgressBar(f"collect with C (iteration {ctx.iteration})", total=wanted) as bar:
            bar.advance(start)
            position = iter(range(start, wanted))

            def store_episode(episode: dict[str, np.ndarray]) -> None:
                j = next(position)
                try:
                    store.append(episode, meta={"seed": seeds[j], "iteration": ctx.iteration},
                                 budget=budget)
                except DiskBudgetError as exc:
                    _stop_at_cap_or_raise(budget, store, exc)
                    raise _BudgetReached from exc
                returns.append(float(episode["rewards"].sum()))
                bar.advance(1, steps=store.num_steps)

            try:
                controller_episodes(ctx, seeds[start:], store_episode)
            except _BudgetReached:
                stopped_at_budget = True
    metrics = _metrics(store, time.monotonic() - t0, resumed_from=start)
    metrics.update(iteration=ctx.iteration, iteration_episodes=len(returns),
                   iteration_mean_return=float(np.mean(returns)) if returns else 0.0,
                   stopped_at_budget=stopped_at_budget)
    ctx.logger.scalar("collect/episodes", len(store), ctx.iteration)
    ctx.logger.scalar("collect/mean_return", metrics["iteration_mean_return"], ctx.iteration)
    log.info("collect (iteration %d): %d agent episodes, mean return %.1f", ctx.iteration,
             len(returns), metrics["iteration_mean_return"])
    return metrics
