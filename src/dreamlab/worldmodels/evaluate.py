"""Stage `eval`: score controller_best.pt in the real env and in the dream.

The paper reports the mean and standard deviation of the real return over 100 episodes
(Ha & Schmidhuber 2018, section 3.3, Table 1), which `eval_episodes` sets. The same
controller's score in M's dream is reported beside it: the gap between the two is how
much the controller exploits M's imperfections (section 4.5, "Cheating the World
Model"), the failure the notes saw on CartPole (~500 dreamed against 250-285 real).

Episodes use seeds derived from the run seed and "evaluate", distinct from the ones the
controller stage selected controller_best.pt on, so this is a held-out score.
Videos (save_videos): one real episode at the env's native rendering and, for pixel envs,
one dream decoded by V frame by frame, the paper's way of looking inside the dream.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamlab.models.controller import actions_to_m_input, controller_act
from dreamlab.report.video import Mp4Writer
from dreamlab.runtime.atomic import atomic_write_json
from dreamlab.runtime.seeding import torch_generator
from dreamlab.worldmodels.agent import (
    PolicySetup,
    RealEvaluator,
    default_workers,
    load_controller,
    load_world_model,
    run_episodes,
)
from dreamlab.worldmodels.context import StageContext
from dreamlab.worldmodels.dream import DreamEnv, DreamStarts, dream_rollout

log = logging.getLogger("dreamlab")

VIDEO_FPS = 30


def _even_upscale(frames: np.ndarray, min_side: int = 256) -> np.ndarray:
    """Nearest-neighbour upscale of small model-size frames so a video is watchable."""
    k = max(1, math.ceil(min_side / max(1, min(frames.shape[1:3]))))
    return frames.repeat(k, axis=1).repeat(k, axis=2) if k > 1 else frames


class _Mp4(Mp4Writer):
    """Mp4Writer that also keeps a small copy of every frame for TensorBoard."""

    def __init__(self, path: Path, fps: int = VIDEO_FPS) -> None:
        super().__init__(path, fps)
        self.preview: list[np.ndarray] = []  # small copy for TensorBoard

    def add(self, frame: np.ndarray) -> None:
        super().add(frame)
        step = max(1, min(frame.shape[:2]) // 128)
        self.preview.append(frame[::step, ::step])


def _real_video(ctx: StageContext, setup: PolicySetup, params: torch.Tensor, seed: int,
                device: torch.device) -> tuple[Path, np.ndarray, float]:
    """One real episode rendered at the env's own resolution (render_mode rgb_array)."""
    from dataclasses import replace

    video_setup = replace(setup, render_mode="rgb_array")
    policy = video_setup.make_policy(device)
    env = video_setup.make_envs(1)
    writer = _Mp4(ctx.paths.videos / "real_episode.mp4")
    try:
        out = run_episodes(policy, env, params[None], [seed], capture=(0,),
                           frame_sink=lambda _ep, frame: writer.add(frame))
    finally:
        writer.close()
        env[0].close()
    return writer.path, np.stack(writer.preview), float(out.returns[0])


@torch.no_grad()
def _dream_video(ctx: StageContext, vae: Any, mdnrnn: Any, spec: Any, params: torch.Tensor,
                 starts: DreamStarts, max_steps: int, seed: int) -> tuple[Path, np.ndarray]:
    """One dream decoded by V frame by frame (the paper's dream visualisation, 4.5)."""
    g = torch_generator(seed)
    device = next(mdnrnn.parameters()).device
    start = starts.sample(1, g).to(device)
    env = DreamEnv(mdnrnn, start, torch.randint(0, 2**62, (1,), generator=g),
                   ctx.cfg.temperature, max_steps, ctx.cfg.done_threshold,
                   reward_per_step=starts.constant_reward)
    zs = [env.z.clone()]
    p = params[None].to(device)
    while bool(env.alive.any()):
        a = controller_act(p, env.features(), spec)
        env.step(actions_to_m_input(a, spec))
        zs.append(env.z.clone())
    frames = []
    for chunk in torch.cat(zs).split(256):
        x = vae.decode(chunk).clamp(0, 1).mul(255).round().byte()
        frames.append(x.permute(0, 2, 3, 1).cpu().numpy())
    small = np.concatenate(frames)
    writer = _Mp4(ctx.paths.videos / "dream_episode.mp4")
    try:
        for frame in _even_upscale(small):
            writer.add(frame)
    finally:
        writer.close()
    return writer.path, small


def _controller_evals(ctx: StageContext) -> list[dict[str, Any]]:
    """The controller stage's periodic evaluations, dream and real side by side per
    generation (snapshots/gen_*.json; plots/dream_vs_real.png draws the same numbers),
    of the pass whose controller is being evaluated."""
    import json

    rows = []
    for path in sorted(ctx.paths.snapshots.glob(f"{ctx.snapshot_prefix}gen_*.json")):
        try:
            snap = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        rows.append({k: snap.get(k) for k in ("generation", "phase", "fitness_best",
                                              "eval_mean", "eval_std", "dream_score")})
    return rows


def run_evaluate(ctx: StageContext) -> dict[str, Any]:
    """Real and dream returns of controller_best.pt -> evaluation_results.json."""
    cfg = ctx.cfg
    t0 = time.monotonic()
    ctx.require(ctx.paths.controller, "controller", "controller checkpoint")
    ctx.require(ctx.paths.mdnrnn, "mdnrnn", "MDN-RNN checkpoint")
    if ctx.uses_vae:
        ctx.require(ctx.paths.vae, "vae", "VAE checkpoint")
    params, spec, meta = load_controller(ctx.paths.controller)
    device = ctx.device.device
    vae_path = ctx.paths.vae if ctx.uses_vae else None
    vae, mdnrnn = load_world_model(vae_path, ctx.paths.mdnrnn, device)
    n = cfg.eval_episodes
    workers = default_workers(cfg.collect_workers, ctx.env_info)
    setup = PolicySetup(
        env_info=ctx.env_info, spec=spec, mdnrnn_path=str(ctx.paths.mdnrnn),
        vae_path=str(vae_path) if vae_path else None, img_size=cfg.vae_img_size,
        max_episode_steps=cfg.max_episode_steps, frame_skip=cfg.frame_skip,
        envs_per_worker=min(32, math.ceil(n / workers)),
    )
    base = ctx.seed("evaluate")
    seeds = [base + j for j in range(n)]
    t_real = time.monotonic()
    with RealEvaluator(setup, workers, device, cfg.executor, cfg.ray_address) as evaluator:
        real = evaluator.run(params[None].repeat(n, 1), seeds)
    real_s = time.monotonic() - t_real

    dream_returns: np.ndarray | None = None
    starts = None
    if ctx.paths.latents.exists():
        starts = DreamStarts.from_store(ctx.paths.latents, cfg.mdnrnn_sample_z)
    limit = ctx.env_info.max_episode_steps
    max_steps = min(cfg.dream_max_steps, limit) if limit else cfg.dream_max_steps
    if starts is not None:
        g = torch_generator(ctx.seed("evaluate-dream"))
        dream_returns = dream_rollout(
            params[None].repeat(n, 1).to(device), spec, mdnrnn, starts.sample(n, g).to(device),
            cfg.temperature, max_steps, g, done_threshold=cfg.done_threshold,
            reward_per_step=starts.constant_reward,
        ).numpy()

    videos: list[str] = []
    if cfg.save_videos:
        path, preview, _ = _real_video(ctx, setup, params, seeds[0], device)
        videos.append(path.name)
        ctx.logger.video("eval/real_episode", preview, 0, fps=VIDEO_FPS)
        if vae is not None and starts is not None:
            path, small = _dream_video(ctx, vae, mdnrnn, spec, params, starts, max_steps,
                                       ctx.seed("evaluate-dream-video"))
            videos.append(path.name)
            ctx.logger.video("eval/dream_episode", small, 0, fps=VIDEO_FPS)

    mean, std = float(real.returns.mean()), float(real.returns.std())
    dream_mean = float(dream_returns.mean()) if dream_returns is not None else None
    dream_std = float(dream_returns.std()) if dream_returns is not None else None
    results = {
        "env_id": ctx.env_info.env_id,
        "algo": cfg.ALGO,
        "obs": ctx.env_info.obs,
        "episodes": n,
        "mean_return": mean,
        "std_return": std,
        "min_return": float(real.returns.min()),
        "max_return": float(real.returns.max()),
        "returns": [float(r) for r in real.returns],
        "episode_lengths": [int(x) for x in real.lengths],
        "dream_mean_return": dream_mean,
        "dream_std_return": dream_std,
        "dream_returns": None if dream_returns is None else [float(r) for r in dream_returns],
        "dream_to_real_gap": None if dream_mean is None else dream_mean - mean,
        "temperature": cfg.temperature,
        "dream_max_steps": max_steps,
        "controller_generation": int(meta.get("generation", -1)),
        "controller_train_eval_mean": meta.get("eval_mean"),
        "controller_params": spec.num_params,
        "seed": base,
        "env_steps": real.env_steps,
        "env_steps_per_s": round(real.env_steps / max(real_s, 1e-9), 1),
        "workers": workers,
        "videos": videos,
        "controller_evals": _controller_evals(ctx),
        "seconds": round(time.monotonic() - t0, 2),
    }
    results["wall_s"] = results["seconds"]
    atomic_write_json(ctx.paths.evaluation, results)
    ctx.logger.scalars({"mean_return": mean, "std_return": std}, 0, prefix="eval/")
    if dream_mean is not None:
        ctx.logger.scalar("eval/dream_mean_return", dream_mean, 0)
    log.info("eval: %s real %.1f ± %.1f over %d episodes%s", ctx.env_info.env_id, mean, std, n,
             "" if dream_mean is None else f"; dream {dream_mean:.1f} ± {dream_std:.1f}")
    keys = ("mean_return", "std_return", "dream_mean_return", "dream_to_real_gap",
            "episodes", "env_steps", "seconds")
    return {k: results[k] for k in keys if results[k] is not None}
