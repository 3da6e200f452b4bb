"""Stage 1, collect: random rollouts into the episode store (paper section 4.1).

Episodes run in parallel worker processes; the main process is the only writer of the
store, appending in episode order so the same --seed gives the same store whatever the
worker count. Continuous actions come from a smoothly varying random policy, so that a
random CarRacing car drives around the track instead of spinning in place (issue 2).
Before writing anything the disk need is estimated from a probe episode (issue 3);
collection stops cleanly at the budget; a re-run continues from the last stored episode.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections.abc import Iterator
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


def _episodes(tasks: list[tuple], workers: int) -> Iterator[dict[str, np.ndarray]]:
    if workers <= 1 or len(tasks) <= 1:
        for t in tasks:
            yield _worker_episode(t)
        return
    ctx = mp.get_context("spawn")  # fork after torch/pygame init is fragile
    with ctx.Pool(workers) as pool:
        yield from pool.imap(_worker_episode, tasks, chunksize=1)


def run_collect(ctx: StageContext) -> dict[str, Any]:
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
    if start >= wanted:
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
        for episode in _episodes(tasks, num_workers(cfg)):
            try:
                store.append(episode, meta={"seed": seeds[len(store)]}, budget=budget)
            except DiskBudgetError as exc:
                log.warning("collect: stopping cleanly with %d episodes: %s", len(store), exc)
                stopped_at_budget = True
                break
            bar.advance(1, steps=store.num_steps)
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
