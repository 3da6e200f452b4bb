"""Dreamer's agent: every loss on one screen (STYLE.md "the math should be findable").

`WorldModel.loss` is DreamerV3 eq. 5 (prediction + KL balancing with free bits);
`DreamerAgent.train_behavior` is eq. 6-7 (lambda-returns in imagination, percentile
return normalisation, entropy bonus, a two-hot critic regularised towards its slow EMA
copy). `act` runs the policy on the posterior state, which is what the env loop calls.
Infrastructure (replay, checkpoints, logging) lives in dreamer/train.py.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dreamlab.config.dreamer import DreamerConfig
from dreamlab.models.actor_critic import Actor, Critic, ReturnNormalizer, lambda_returns
from dreamlab.models.dreamer_nets import TwoHot, build_codec, mlp, symlog
from dreamlab.models.rssm import RSSM, State

Batch = dict[str, torch.Tensor]


class WorldModel(nn.Module):
    def __init__(self, cfg: DreamerConfig, obs_shape: tuple[int, ...], pixels: bool,
                 action_dim: int, encoder: str) -> None:
        super().__init__()
        size = cfg.sizes()
        self.pixels = pixels
        classes = size["classes"] if cfg.latent == "discrete" else 1
        stoch_dim = size["stoch"] * classes
        feat = size["deter"] + stoch_dim
        self.encoder, self.decoder = build_codec(
            encoder, obs_shape, feat, size["hidden"], size["mlp_layers"], size["cnn_depth"])
        self.rssm = RSSM(self.encoder.out_dim, action_dim, size["deter"], size["stoch"],
                         classes, size["hidden"], cfg.latent, cfg.unimix)
        self.reward_head = mlp(feat, size["hidden"], size["mlp_layers"], cfg.bins,
                               zero_out=True)
        self.cont_head = mlp(feat, size["hidden"], size["mlp_layers"], 1)
        self.twohot = TwoHot(cfg.bins)
        self.free_nats, self.kl_dyn, self.kl_rep = cfg.free_nats, cfg.kl_dyn, cfg.kl_rep

    def recon_target(self, obs: torch.Tensor) -> torch.Tensor:
        return obs.float() / 255.0 - 0.5 if self.pixels else symlog(obs.float())

    def loss(self, batch: Batch) -> tuple[torch.Tensor, State, dict[str, float]]:
        """DreamerV3 eq. 5 over a (B, T) batch; returns the posteriors to imagine from."""
        embed = self.encoder(batch["obs"])
        post, prior = self.rssm.observe(embed, batch["action"], batch["is_first"])
        feat = RSSM.features(post)
        recon = self.decoder(feat).float()
        dims = tuple(range(2, recon.dim()))
        recon_loss = ((recon - self.recon_target(batch["obs"])) ** 2).sum(dims)
        pred = recon_loss + self.twohot.loss(self.reward_head(feat), batch["reward"])
        cont = (~batch["is_terminal"]).float()
        pred = pred + F.binary_cross_entropy_with_logits(
            self.cont_head(feat).squeeze(-1).float(), cont, reduction="none")
        # KL balancing: the prior moves towards the posterior 5x faster than the posterior
        # is pulled towards the prior; below free_nats neither is penalised, so the
        # model does not collapse its latents on easy frames (DreamerV3 section 2).
        sg = lambda s: {k: v.detach() for k, v in s.items()}  # noqa: E731
        dyn = self.rssm.kl(sg(post), prior)
        rep = self.rssm.kl(post, sg(prior))
        loss = (pred + self.kl_dyn * dyn.clamp(min=self.free_nats)
                + self.kl_rep * rep.clamp(min=self.free_nats)).mean()
        metrics = {"wm/loss": loss.item(), "wm/recon": recon_loss.mean().item(),
                   "wm/kl": dyn.mean().item()}
        return loss, post, metrics


class DreamerAgent(nn.Module):
    def __init__(self, cfg: DreamerConfig, obs_shape: tuple[int, ...], pixels: bool,
                 action_dim: int, discrete: bool) -> None:
        super().__init__()
        encoder = cfg.encoder if cfg.encoder != "auto" else ("cnn" if pixels else "mlp")
        self.cfg, self.discrete, self.action_dim = cfg, discrete, action_dim
        size = cfg.sizes()
        self.wm = WorldModel(cfg, obs_shape, pixels, action_dim, encoder)
        feat = self.wm.rssm.feat_dim
        self.actor = Actor(feat, action_dim, discrete, size["hidden"], size["mlp_layers"],
                           cfg.unimix)
        self.critic = Critic(feat, size["hidden"], size["mlp_layers"], cfg.bins)
        self.slow_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.retnorm = ReturnNormalizer()
        self.dynamics_grad = cfg.actor_grad == "dynamics" or (
            cfg.actor_grad == "auto" and not discrete)
        self.opt_wm = torch.optim.Adam(self.wm.parameters(), cfg.model_lr, eps=1e-8)
        self.opt_actor = torch.optim.Adam(self.actor.parameters(), cfg.actor_lr, eps=1e-5)
        self.opt_critic = torch.optim.Adam(self.critic.parameters(), cfg.critic_lr, eps=1e-5)
        self.autocast: Callable[[], Any] = contextlib.nullcontext

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def param_counts(self) -> dict[str, int]:
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        return {"world_model": count(self.wm), "actor": count(self.actor),
                "critic": count(self.critic)}

    def _step(self, opt: torch.optim.Optimizer, loss: torch.Tensor, module: nn.Module) -> float:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(module.parameters(), self.cfg.grad_clip)
        opt.step()
        return float(norm)

    def train_step(self, batch: Batch, behavior: bool = True) -> dict[str, float]:
        """One world-model update, then (after the warm-up) one actor-critic update."""
        with self.autocast():
            wm_loss, post, metrics = self.wm.loss(batch)
        metrics["wm/grad_norm"] = self._step(self.opt_wm, wm_loss, self.wm)
        if behavior:
            metrics.update(self.train_behavior(post))
        return metrics

    def train_behavior(self, post: State) -> dict[str, float]:
        """Actor and critic on H imagined steps from the (detached) posteriors."""
        cfg = self.cfg
        if cfg.imag_starts:
            post = {k: v[:, -cfg.imag_starts:] for k, v in post.items()}
        start = {k: v.detach().reshape(-1, v.shape[-1]) for k, v in post.items()
                 if k in ("deter", "stoch")}
        self.wm.requires_grad_(False)  # only actions carry gradients through the model
        try:
            with self.autocast():
                feats, actions, ent, logp = self._imagine(start, cfg.imag_horizon)
                reward = self.wm.twohot.mean(self.wm.reward_head(feats[:, 1:]))
                cont = torch.sigmoid(self.wm.cont_head(feats[:, 1:]).squeeze(-1).float())
                slow = self.slow_critic.value(feats)
                rets = lambda_returns(reward, cont, slow, cfg.gamma, cfg.lam)
                # States after a predicted episode end count less (weight = prod of
                # gamma * cont up to them): DreamerV3's imagination weights.
                weight = torch.cumprod(torch.cat([torch.ones_like(cont[:, :1]),
                                                  cfg.gamma * cont[:, :-1]], 1), 1).detach()
                scale = self.retnorm.update(rets)
                base = self.critic.value(feats[:, :-1].detach())
                if self.dynamics_grad:
                    pg = -(rets - base.detach()) / scale
                else:
                    pg = -logp * ((rets - base) / scale).detach()
                actor_loss = (weight * (pg - cfg.entropy * ent)).mean()
        finally:
            self.wm.requires_grad_(True)
        metrics = {"ac/actor_grad_norm": self._step(self.opt_actor, actor_loss, self.actor)}
        with self.autocast():
            logits = self.critic(feats[:, :-1].detach())
            target = rets.detach()
            slow_target = slow[:, :-1].detach()
            critic_loss = (weight * (self.critic.twohot.loss(logits, target)
                                     + self.critic.twohot.loss(logits, slow_target))).mean()
        metrics["ac/critic_grad_norm"] = self._step(self.opt_critic, critic_loss, self.critic)
        with torch.no_grad():
            for p, s in zip(self.critic.parameters(), self.slow_critic.parameters(),
                            strict=True):
                s.lerp_(p, cfg.slow_critic_mix)
        metrics.update({"ac/actor_loss": actor_loss.item(), "ac/critic_loss": critic_loss.item(),
                        "ac/entropy": ent.mean().item(), "ac/return": rets.mean().item(),
                        "ac/return_scale": float(scale), "ac/imag_reward": reward.mean().item()})
        return metrics

    def _imagine(self, state: State, horizon: int) -> tuple[torch.Tensor, ...]:
        feats = [RSSM.features(state)]
        actions, ents, logps = [], [], []
        for _ in range(horizon):
            feat = feats[-1] if self.dynamics_grad else feats[-1].detach()
            dist = self.actor(feat)
            action = dist.sample()
            if not self.dynamics_grad:
                action = action.detach()
            actions.append(action)
            ents.append(dist.entropy())
            logps.append(dist.log_prob(action))
            state = self.wm.rssm.img_step(state, action)
            feats.append(RSSM.features(state))
        return (torch.stack(feats, 1), torch.stack(actions, 1), torch.stack(ents, 1),
                torch.stack(logps, 1))

    # --- acting ---------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: torch.Tensor, state: State | None, prev_action: torch.Tensor,
            is_first: torch.Tensor, explore: bool) -> tuple[torch.Tensor, State]:
        """One policy step for a batch of envs: update the posterior with the new
        observation, then sample (explore) or take the mode of the actor."""
        with self.autocast():
            embed = self.wm.encoder(obs)
            state = state or self.wm.rssm.initial(obs.shape[0], obs.device)
            post, _ = self.wm.rssm.obs_step(state, prev_action, embed, is_first)
            dist = self.actor(RSSM.features(post))
            action = dist.sample() if explore else dist.mode()
        post = {"deter": post["deter"].float(), "stoch": post["stoch"].float()}
        return action.float(), post


def to_torch_batch(batch: dict[str, np.ndarray], device: torch.device) -> Batch:
    """Replay arrays -> tensors; uint8 frames stay uint8 until the encoder."""
    return {k: torch.as_tensor(v, device=device) for k, v in batch.items()}
