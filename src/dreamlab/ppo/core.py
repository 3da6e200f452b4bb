"""The PPO math, on one screen: GAE, the clipped surrogate, the value loss, the update.

Read it beside the PPO paper (Schulman et al. 2017, eq. 7 and 9, Algorithm 1) and the
GAE paper (Schulman et al. 2016, eq. 16). Everything around it (vector envs, logging,
checkpoints) lives in train.py and runtime/.

Gymnasium's vector envs reset a finished env on the *next* `step()` call ("next_step"
autoreset): the step that follows a done returns the reset observation, reward 0, and
ignores the action. Such a step is not a transition of the MDP: `valid` is 0 there and
it is left out of every loss. It also makes truncation easy to bootstrap: the
observation returned with a truncation is the real last one, and its value is the
`values[t + 1]` the rollout already computed.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import torch

from dreamlab.models.ppo_policy import ActorCritic


def compute_gae(rewards: torch.Tensor, values: torch.Tensor, terminated: torch.Tensor,
                dones: torch.Tensor, last_value: torch.Tensor, gamma: float,
                gae_lambda: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and value targets of a (T, N) rollout.

    delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t) - V(s_t): a truncated episode
    is bootstrapped from its last state, a terminated one is not (Pardo et al. 2018).
    A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}: no advantage crosses the end
    of an episode, whichever way it ended.
    """
    next_values = torch.cat([values[1:], last_value.unsqueeze(0)], 0)
    deltas = rewards + gamma * next_values * (1.0 - terminated) - values
    carry = gamma * gae_lambda * (1.0 - dones)
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(last_value)
    for t in reversed(range(rewards.shape[0])):
        running = deltas[t] + carry[t] * running
        advantages[t] = running
    return advantages, advantages + values


@dataclass
class Batch:
    """A flattened rollout: what one PPO update reads."""

    obs: torch.Tensor
    actions: torch.Tensor
    logprobs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    valid: torch.Tensor  # 1.0 for real transitions, 0.0 for autoreset steps


def _mean(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Mean over valid samples; `w` is the valid mask divided by its sum."""
    return (x * w).sum()


def prepare_minibatch(mb: Batch, norm_adv: bool) -> tuple[Batch, torch.Tensor]:
    """The minibatch with its advantages normalised (when asked), and its valid weights."""
    w = mb.valid / mb.valid.sum().clamp(min=1.0)
    if norm_adv:
        mean = _mean(mb.advantages, w)
        std = _mean((mb.advantages - mean) ** 2, w).sqrt()
        mb = dataclasses.replace(mb, advantages=(mb.advantages - mean) / (std + 1e-8))
    return mb, w


def ppo_loss(policy: ActorCritic, mb: Batch, w: torch.Tensor, clip_coef: float,
             clip_vloss: bool, ent_coef: float, vf_coef: float, with_stats: bool = True
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """L = -L^CLIP + vf_coef * L^VF - ent_coef * H  (paper eq. 9), over valid samples."""
    logprob, entropy, value = policy.evaluate(mb.obs, mb.actions)
    logratio = logprob - mb.logprobs
    ratio = logratio.exp()
    adv = mb.advantages
    # Clipped surrogate (eq. 7): the pessimistic minimum, written as a max of losses.
    pg_loss = _mean(torch.max(-adv * ratio,
                              -adv * ratio.clamp(1.0 - clip_coef, 1.0 + clip_coef)), w)
    # Value loss: squared error to the GAE return (SB3's scale: no 1/2, vf_coef 0.5).
    # Optional clipping keeps V near its rollout value, like the policy (Engstrom 2020).
    v_err = (value - mb.returns) ** 2
    if clip_vloss:
        v_clipped = mb.values + (value - mb.values).clamp(-clip_coef, clip_coef)
        v_err = torch.max(v_err, (v_clipped - mb.returns) ** 2)
    v_loss = _mean(v_err, w)
    loss = pg_loss + vf_coef * v_loss
    if ent_coef > 0:  # no entropy bonus, no entropy gradient to compute
        loss = loss - ent_coef * _mean(entropy, w)
    if not with_stats:
        return loss, {}
    with torch.no_grad():
        approx_kl = _mean((ratio - 1.0) - logratio, w)  # Schulman's k3 estimator
        clipfrac = _mean(((ratio - 1.0).abs() > clip_coef).float(), w)
        stats = {"policy_loss": pg_loss, "value_loss": v_loss, "entropy": _mean(entropy, w),
                 "approx_kl": approx_kl, "clipfrac": clipfrac}
    return loss, {k: v.detach() for k, v in stats.items()}


def ppo_update(policy: ActorCritic, optimizer: torch.optim.Optimizer, batch: Batch,
               num_epochs: int, batch_size: int, clip_coef: float, *, clip_vloss: bool,
               norm_adv: bool, ent_coef: float, vf_coef: float, max_grad_norm: float,
               target_kl: float, generator: torch.Generator,
               autocast: Callable[[], contextlib.AbstractContextManager],
               scaler: torch.amp.GradScaler) -> dict[str, float]:
    """K epochs of minibatch Adam on one rollout (Algorithm 1). Returns the mean
    statistics of the last epoch (all epochs' losses cost extra work to gather and say
    little more); with target_kl, the KL of every minibatch is checked."""
    n = batch.advantages.shape[0]
    # One minibatch = the whole rollout (rl-zoo's CartPole): no shuffle, no copies, and
    # the advantages are normalised once rather than every epoch.
    whole = prepare_minibatch(batch, norm_adv) if batch_size >= n else None
    sums: dict[str, torch.Tensor] = {}
    steps = stat_steps = 0
    for epoch in range(num_epochs):
        with_stats = target_kl > 0 or epoch == num_epochs - 1
        order = None if whole else \
            torch.randperm(n, generator=generator).to(batch.advantages.device)
        for start in range(0, n, batch_size):
            mb, w = whole if whole else prepare_minibatch(Batch(
                *(getattr(batch, f)[order[start:start + batch_size]]
                  for f in Batch.__dataclass_fields__)), norm_adv)
            with autocast():
                loss, stats = ppo_loss(policy, mb, w, clip_coef, clip_vloss, ent_coef,
                                       vf_coef, with_stats)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if max_grad_norm > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            steps += 1
            if stats:
                stat_steps += 1
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0.0) + v
                if target_kl > 0 and stats["approx_kl"] > target_kl:
                    return _finish(sums, stat_steps, steps, early_stop=True)
    return _finish(sums, stat_steps, steps, early_stop=False)


def _finish(sums: dict[str, torch.Tensor], stat_steps: int, steps: int,
            early_stop: bool) -> dict[str, float]:
    out = {k: float(v) / max(stat_steps, 1) for k, v in sums.items()}
    out.update(gradient_steps=float(steps), early_stop=float(early_stop))
    return out
