"""Stage 3, encode: turn every collected episode into latents for M (paper section A.2).

Reads raw_data/ (and vae.pt for pixel envs), writes the latent store latents/: per episode
mu and logvar (T+1, Z) float16, actions (T, A) float32 already encoded (one-hot for discrete
actions, so M sees the same vector at training and in the dream), rewards and terminated.
mu and logvar are stored rather than a sampled z, as in the paper's code: M's training
samples a fresh z = mu + sigma * eps each epoch (SequenceDataset), a cheap augmentation.

State envs skip V: mu is the normalised state and logvar is -20, so sampling gives mu back.

Frames of several episodes are batched through V together (random CartPole episodes are
only ~22 steps long), and each episode is appended as soon as it is encoded. A re-run
continues after the last stored episode. Each latent episode records which V made it; a
latent store made by another V (it was retrained) is rebuilt, not mixed.
"""

from __future__ import annotations

import logging
import shutil
from typing import Any

import numpy as np
import torch

from dreamlab.data import EpisodeStore, make_latent_episode
from dreamlab.envs import normalize_state
from dreamlab.errors import CheckpointError, StageInputError
from dreamlab.models.vae import ConvVAE
from dreamlab.runtime.atomic import safe_torch_load, sha256_file
from dreamlab.runtime.progress import ProgressBar
from dreamlab.worldmodels.context import StageContext

log = logging.getLogger("dreamlab")

ENCODE_BATCH_FRAMES = 512  # frames per V forward pass; ~25 MB of float input at 64 px
STATE_LOGVAR = -20.0  # sigma = exp(-10) ~ 4.5e-5: a sampled z equals the state


def run_encode(ctx: StageContext) -> dict[str, Any]:
    """Write latents/ from raw_data/ (and vae.pt); returns {episodes, steps, z_dim}."""
    raw = ctx.open_store(ctx.paths.raw_data, "collect", "episode store")
    model: ConvVAE | None = None
    if ctx.uses_vae:
        ctx.require(ctx.paths.vae, "vae", "trained VAE")
        model = ConvVAE.from_checkpoint(safe_torch_load(ctx.paths.vae)).to(ctx.device.device)
        model.eval()
        source = sha256_file(ctx.paths.vae)[:16]
    else:
        source = "state"

    latents = _open_latents(ctx, raw, source)
    start = len(latents)
    if start:
        log.info("encode: resuming after episode %d of %d", start, len(raw))
    with ProgressBar("encode episodes", total=len(raw)) as bar:
        bar.advance(start)
        for group in _groups(raw, start):
            episodes = [raw.load(i) for i in group]
            if model is not None:
                mus, logvars = _encode_frames(ctx, model, [ep["obs"] for ep in episodes])
            else:
                mus = [normalize_state(ctx.env_info, ep["obs"]) for ep in episodes]
                logvars = [np.full_like(mu, STATE_LOGVAR) for mu in mus]
            for i, ep, mu, logvar in zip(group, episodes, mus, logvars, strict=True):
                actions = ctx.env_info.action.encode(ep["actions"])
                latents.append(
                    make_latent_episode(mu, logvar, actions, ep["rewards"], ep["terminated"]),
                    meta={"source_episode": i, "encoder": source},
                )
                bar.advance(1)
    z_dim = int(latents.key_spec(0, "mu")["shape"][1])
    ctx.logger.scalar("encode/episodes", len(latents), ctx.iteration)
    return {"episodes": len(latents), "steps": latents.num_steps, "z_dim": z_dim}


def _open_latents(ctx: StageContext, raw: EpisodeStore, source: str) -> EpisodeStore:
    """The latent store to append to; rebuilt if it was made by another V or other data."""
    root = ctx.paths.latents
    if root.exists():
        try:
            latents = EpisodeStore(root)
            # the first and last episodes tell: appends only ever come from one V in order
            ends = {0, len(latents) - 1} if len(latents) else set()
            stale = len(latents) > len(raw) or any(
                latents.episode_meta(i).get("encoder") != source
                or latents.episode_meta(i).get("source_episode") != i
                for i in ends
            )
        except CheckpointError:
            stale = True
        if stale:
            log.warning("encode: %s was made from another VAE or other data; rebuilding it",
                        root.name)
            shutil.rmtree(root)
    return EpisodeStore(root, create=True)


def _groups(raw: EpisodeStore, start: int) -> list[list[int]]:
    """Consecutive episodes in groups of about ENCODE_BATCH_FRAMES frames."""
    groups: list[list[int]] = []
    current: list[int] = []
    frames = 0
    for i in range(start, len(raw)):
        current.append(i)
        frames += raw.key_spec(i, "obs")["shape"][0]
        if frames >= ENCODE_BATCH_FRAMES:
            groups.append(current)
            current, frames = [], 0
    if current:
        groups.append(current)
    return groups


@torch.inference_mode()
def _encode_frames(
    ctx: StageContext, model: ConvVAE, frames_per_episode: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """mu and logvar of each episode's frames, computed in batches across episodes."""
    frames = np.concatenate(frames_per_episode)
    if frames.shape[1:] != (model.img_size, model.img_size, model.in_channels):
        raise StageInputError(
            f"raw_data frames are {frames.shape[1:]}, but vae.pt expects "
            f"{model.img_size}x{model.img_size}x{model.in_channels}",
            "re-run `--stage vae` on this run's data",
        )
    mus, logvars = [], []
    for lo in range(0, len(frames), ENCODE_BATCH_FRAMES):
        chunk = torch.from_numpy(frames[lo : lo + ENCODE_BATCH_FRAMES]).to(ctx.device.device)
        x = chunk.permute(0, 3, 1, 2).float().div_(255.0)
        with ctx.device.autocast():
            mu, logvar = model.encode(x)
        mus.append(mu.float().cpu().numpy())
        logvars.append(logvar.float().cpu().numpy())
    mu_all, logvar_all = np.concatenate(mus), np.concatenate(logvars)
    bounds = np.cumsum([0, *(len(f) for f in frames_per_episode)])
    return (
        [mu_all[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
        [logvar_all[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
    )
