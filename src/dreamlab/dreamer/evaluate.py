"""Dreamer's evaluation: N whole episodes with the actor's mode, evaluation_results.json in
the common schema, an evaluation video, and the open-loop prediction video (real frames
above, the model's imagined frames below, from the same start; DreamerV1 figure 5).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from dreamlab.config.dreamer import DreamerConfig
from dreamlab.dreamer.agent import DreamerAgent
from dreamlab.dreamer.envloop import FrameStacker, ObsSpec, describe, to_env_actions
from dreamlab.envs import EnvInfo, make_env
from dreamlab.errors import CheckpointError
from dreamlab.models.rssm import RSSM
from dreamlab.runtime.checkpoint import StepCheckpointer
from dreamlab.runtime.results import EvalResult
from dreamlab.runtime.rundir import RunLayout, load_run_config
from dreamlab.runtime.seeding import derive_seed

log = logging.getLogger("dreamlab")
RECORD_STEPS = 500  # model inputs kept from the first episode for the open-loop video


@dataclass
class EpisodeRecord:
    """The first evaluation episode: model inputs and actions (open loop), render frames."""

    obs: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)


@torch.no_grad()
def run_episodes(agent: DreamerAgent, cfg: DreamerConfig, info: EnvInfo, spec: ObsSpec,
                 episodes: int, seed: int, render: bool) -> tuple[list[float], int,
                                                                  EpisodeRecord]:
    """Whole episodes, one env, the actor's mode; records the first episode."""
    device = agent.device
    render_state = render and not spec.pixels
    env = make_env(cfg.env, cfg.obs, cfg.img_size, cfg.max_episode_steps, cfg.frame_skip,
                   render_mode="rgb_array" if render_state else None, seed=seed)
    returns, steps, record = [], 0, EpisodeRecord()
    try:
        for ep in range(episodes):
            obs, _ = env.reset(seed=seed + ep)
            stacker = FrameStacker(spec, 1)
            state, first, total, done = None, True, 0.0, False
            prev = torch.zeros(1, agent.action_dim, device=device)
            while not done:
                frame = spec.frame(obs[None])
                model_obs = stacker.push(frame, np.array([first]))
                x = torch.as_tensor(model_obs, device=device)
                action, state = agent.act(x, state, prev, torch.tensor([first], device=device),
                                          explore=False)
                if ep == 0 and len(record.obs) < RECORD_STEPS:
                    record.obs.append(model_obs[0].copy())
                    record.actions.append(action[0].cpu().numpy())
                    if render:
                        record.frames.append(frame[0] if spec.pixels else env.render())
                obs, reward, term, trunc, _ = env.step(to_env_actions(action.cpu().numpy(),
                                                                      info)[0])
                total += float(reward)
                steps += 1
                prev, first, done = action, False, term or trunc
            returns.append(total)
    finally:
        env.close()
    return returns, steps, record


def evaluate_agent(agent: DreamerAgent, cfg: DreamerConfig, info: EnvInfo, spec: ObsSpec,
                   layout: RunLayout, episodes: int, save_videos: bool,
                   train_steps: int) -> EvalResult:
    t0 = time.monotonic()
    was_training = agent.training
    agent.eval()
    returns, steps, record = run_episodes(agent, cfg, info, spec, episodes,
                                          derive_seed(cfg.seed, "eval"), save_videos)
    agent.train(was_training)
    result = EvalResult(cfg.env, "dreamer", returns, env_steps=steps,
                        wall_s=time.monotonic() - t0,
                        extra={"train_env_steps": train_steps, "seed": cfg.seed,
                               "model_size": cfg.model_size})
    result.write(layout.evaluation)
    if save_videos and record.frames:
        write_mp4(layout.videos / "eval_episode.mp4", np.stack(_rgb(record.frames)))
    if spec.pixels and len(record.obs) > cfg.open_loop_context + 1:
        open_loop_video(agent, record, cfg.open_loop_context, spec,
                        layout.videos / "open_loop.mp4")
    return result


@torch.no_grad()
def open_loop_video(agent: DreamerAgent, record: EpisodeRecord, context: int,
                    spec: ObsSpec, path: Path, steps: int = 50) -> Path:
    """Observe `context` real frames, then imagine with the real actions; real frames on
    top, decoded predictions below (the newest frame of each stack)."""
    device = agent.device
    n = min(len(record.obs), context + steps)
    obs = torch.as_tensor(np.stack(record.obs[:n])[None], device=device)
    act = np.stack(record.actions[:n])
    # Replay layout: step t carries the action that led to it.
    prev = np.concatenate([np.zeros_like(act[:1]), act[:-1]])[None]
    prev_t = torch.as_tensor(prev, device=device)
    first = torch.zeros(1, n, dtype=torch.bool, device=device)
    first[0, 0] = True
    wm = agent.wm
    with agent.autocast():
        post, _ = wm.rssm.observe(wm.encoder(obs[:, :context]), prev_t[:, :context],
                                  first[:, :context])
        last = {k: v[:, -1] for k, v in post.items()}
        imagined = wm.rssm.imagine_open_loop(last, prev_t[:, context:])
        feat = torch.cat([RSSM.features(post), RSSM.features(imagined)], 1)
        pred = wm.decoder(feat).float()
    width = spec.frame_shape[-1]
    pred_img = ((pred[0, ..., -width:].clamp(-0.5, 0.5) + 0.5) * 255).byte().cpu().numpy()
    real_img = obs[0, ..., -width:].cpu().numpy()
    frames = np.concatenate([_rgb(real_img), _rgb(pred_img)], axis=1)  # stacked vertically
    return write_mp4(path, frames)


def _rgb(frames: np.ndarray | list[np.ndarray]) -> np.ndarray:
    arr = np.asarray(np.stack(frames) if isinstance(frames, list) else frames)
    return np.repeat(arr, 3, axis=-1) if arr.shape[-1] == 1 else arr


def write_mp4(path: Path, frames: np.ndarray, fps: int = 15) -> Path:
    """Frames (T, H, W, 3) uint8 -> mp4, upscaled to >= 256 px and renamed into place."""
    from dreamlab.report.video import Mp4Writer

    k = max(1, -(-256 // max(1, min(frames.shape[1:3]))))
    frames = frames.repeat(k, axis=1).repeat(k, axis=2) if k > 1 else frames
    with Mp4Writer(path, fps) as writer:
        for frame in frames:
            writer.add(frame)
    return path


def build_agent(cfg: DreamerConfig, device: torch.device) -> tuple[DreamerAgent, EnvInfo,
                                                                   ObsSpec]:
    info, spec = describe(cfg)
    agent = DreamerAgent(cfg, spec.model_shape, spec.pixels, info.action.n,
                         info.action.kind == "discrete").to(device)
    return agent, info, spec


def evaluate_run(run_dir: str | Path, episodes: int | None = None,
                 save_videos: bool = False) -> EvalResult:
    """`dreamlab eval RUN_DIR`: the newest checkpoint's agent, evaluated again."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir, DreamerConfig)
    layout = RunLayout(run_dir)
    agent, info, spec = build_agent(cfg, torch.device("cpu"))
    data = StepCheckpointer(layout.checkpoints).load_latest()
    if data is None:
        raise CheckpointError(f"{run_dir} holds no Dreamer checkpoint",
                              "train it first with `dreamlab dreamer`")
    agent.load_state_dict(data["agent"])
    return evaluate_agent(agent, cfg, info, spec, layout, episodes or cfg.eval_episodes,
                          save_videos, int(data["step"]))
