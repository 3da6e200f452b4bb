"""Actor, critic and the return math of Dreamer's behaviour learning (DreamerV3 section 3).

The actor maps a model state to an action distribution: a categorical with 1% uniform
mix for discrete actions, a normal with tanh-bounded mean and bounded std for continuous
ones (actions in [-1, 1]; the trainer rescales to the env's bounds). The critic predicts
the lambda-return as a symlog two-hot distribution. Returns are scaled by a running
5th-95th percentile range, but never scaled up (max(1, S)), so sparse small rewards are
not amplified into noise (DreamerV3 eq. 7).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

from dreamlab.models.dreamer_nets import TwoHot, mlp


def lambda_returns(rewards: torch.Tensor, conts: torch.Tensor, values: torch.Tensor,
                   gamma: float, lam: float) -> torch.Tensor:
    """TD(lambda) targets along imagined trajectories (DreamerV3 eq. 4).

    rewards[:, t] and conts[:, t] belong to the step into state t+1; values has one more
    column (v_0 .. v_H). R_H = v_H and R_t = r_t + gamma c_t ((1 - lam) v_{t+1} + lam R_{t+1}).
    Returns (N, H): R_0 .. R_{H-1}.
    """
    horizon = rewards.shape[1]
    out = torch.empty_like(rewards)
    nxt = values[:, -1]
    for t in reversed(range(horizon)):
        nxt = rewards[:, t] + gamma * conts[:, t] * ((1 - lam) * values[:, t + 1] + lam * nxt)
        out[:, t] = nxt
    return out


class ReturnNormalizer(nn.Module):
    """An EMA of the 5th and 95th return percentiles; scale = max(1, P95 - P5)."""

    def __init__(self, decay: float = 0.99) -> None:
        super().__init__()
        self.decay = decay
        self.register_buffer("low", torch.zeros(()))
        self.register_buffer("high", torch.zeros(()))
        self.register_buffer("started", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def update(self, returns: torch.Tensor) -> torch.Tensor:
        flat = returns.detach().float().reshape(-1)
        q = torch.quantile(flat, torch.tensor([0.05, 0.95], device=flat.device))
        if not bool(self.started):
            self.low.copy_(q[0])
            self.high.copy_(q[1])
            self.started.fill_(True)
        else:
            self.low.mul_(self.decay).add_((1 - self.decay) * q[0])
            self.high.mul_(self.decay).add_((1 - self.decay) * q[1])
        return self.scale()

    def scale(self) -> torch.Tensor:
        return torch.clamp(self.high - self.low, min=1.0)


class Actor(nn.Module):
    def __init__(self, feat: int, action_dim: int, discrete: bool, hidden: int,
                 layers: int, unimix: float = 0.01, min_std: float = 0.1,
                 max_std: float = 1.0) -> None:
        super().__init__()
        self.discrete, self.action_dim, self.unimix = discrete, action_dim, unimix
        self.min_std, self.max_std = min_std, max_std
        self.net = mlp(feat, hidden, layers, action_dim if discrete else 2 * action_dim)

    def forward(self, feat: torch.Tensor) -> ActionDist:
        out = self.net(feat).float()
        if self.discrete:
            probs = F.softmax(out, -1)
            probs = (1 - self.unimix) * probs + self.unimix / self.action_dim
            return ActionDist(probs=probs)
        mean, std = out.chunk(2, -1)
        std = (self.max_std - self.min_std) * torch.sigmoid(std + 2.0) + self.min_std
        return ActionDist(normal=Normal(torch.tanh(mean), std))


class ActionDist:
    """The two action kinds behind one surface: sample, mode, log_prob, entropy. Discrete
    actions are one-hot vectors (what the RSSM reads); continuous ones lie in [-1, 1]."""

    def __init__(self, probs: torch.Tensor | None = None, normal: Normal | None = None) -> None:
        self.probs, self.normal = probs, normal

    def sample(self) -> torch.Tensor:
        """A sample with gradients: straight-through for one-hots, reparameterised and
        clipped (gradient passed through the clip) for normals."""
        if self.probs is not None:
            idx = torch.multinomial(self.probs.reshape(-1, self.probs.shape[-1]), 1)
            onehot = F.one_hot(idx.reshape(self.probs.shape[:-1]), self.probs.shape[-1])
            return onehot.float() + self.probs - self.probs.detach()
        assert self.normal is not None
        x = self.normal.rsample()
        return x + (x.clamp(-1, 1) - x).detach()

    def mode(self) -> torch.Tensor:
        if self.probs is not None:
            return F.one_hot(self.probs.argmax(-1), self.probs.shape[-1]).float()
        assert self.normal is not None
        return self.normal.mean

    def log_prob(self, action: torch.Tensor) -> torch.Tensor:
        if self.probs is not None:
            return (action.detach() * torch.log(self.probs)).sum(-1)
        assert self.normal is not None
        return self.normal.log_prob(action.detach()).sum(-1)

    def entropy(self) -> torch.Tensor:
        if self.probs is not None:
            return -(self.probs * torch.log(self.probs)).sum(-1)
        assert self.normal is not None
        return self.normal.entropy().sum(-1)


class Critic(nn.Module):
    """v(s) as a two-hot distribution over symlog bins, zero-initialised output."""

    def __init__(self, feat: int, hidden: int, layers: int, bins: int) -> None:
        super().__init__()
        self.net = mlp(feat, hidden, layers, bins, zero_out=True)
        self.twohot = TwoHot(bins)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """Logits over the bins."""
        return self.net(feat)

    def value(self, feat: torch.Tensor) -> torch.Tensor:
        return self.twohot.mean(self.net(feat))
