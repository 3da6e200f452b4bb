"""PPO's actor-critic: an MLP or a Nature CNN, and discrete, multi-discrete or Gaussian
action heads. Pure nn.Module, no env or file I/O (DESIGN.md "models").

The action distributions are written out (log-softmax, Gaussian log-density) instead of
built with `torch.distributions`: on a 2-core CPU a rollout step of a 64-unit MLP costs
tens of microseconds, and constructing and validating a distribution object per call
was a visible share of it. The math is the textbook one; the test checks it against
`torch.distributions`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class ActionLayout:
    """The action space as the network sees it.

    kind "discrete": one choice among sizes[0]; "multidiscrete": one choice per entry of
    sizes; "continuous": a vector of sizes[0] reals (a diagonal Gaussian).
    """

    kind: str
    sizes: tuple[int, ...]

    @property
    def head_size(self) -> int:
        return sum(self.sizes) if self.kind != "continuous" else self.sizes[0]

    @property
    def action_shape(self) -> tuple[int, ...]:
        return {"discrete": (), "multidiscrete": (len(self.sizes),)}.get(self.kind,
                                                                         (self.sizes[0],))


def _layer(inp: int, out: int, gain: float) -> nn.Linear:
    """Orthogonal weights, zero bias: the initialisation the PPO implementations share
    (Andrychowicz et al. 2021 found it matters; the policy head's gain 0.01 starts the
    policy near uniform)."""
    layer = nn.Linear(inp, out)
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def mlp(inp: int, hidden: int, layers: int, out: int, out_gain: float,
        activation: type[nn.Module]) -> nn.Sequential:
    mods: list[nn.Module] = []
    size = inp
    for _ in range(layers):
        mods += [_layer(size, hidden, math.sqrt(2.0)), activation()]
        size = hidden
    mods.append(_layer(size, out, out_gain))
    return nn.Sequential(*mods)


class NatureCNN(nn.Module):
    """Mnih et al. 2015's encoder for (C, 84, 84) uint8 frames, as the PPO paper's Atari
    runs used; the output is a 512-dim feature shared by actor and critic."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        conv = []
        for cin, cout, k, s in ((channels, 32, 8, 4), (32, 64, 4, 2), (64, 64, 3, 1)):
            c = nn.Conv2d(cin, cout, k, s)
            nn.init.orthogonal_(c.weight, math.sqrt(2.0))
            nn.init.zeros_(c.bias)
            conv += [c, nn.ReLU()]
        self.net = nn.Sequential(*conv, nn.Flatten(), _layer(64 * 7 * 7, 512, math.sqrt(2.0)),
                                 nn.ReLU())

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames.float() / 255.0)


class ActorCritic(nn.Module):
    """pi(a|s) and V(s). The MLP keeps actor and critic separate (SB3's default, so a
    large value loss cannot disturb the policy features); the CNN shares its encoder
    (CleanRL's Atari PPO), since two 1.7M-parameter encoders would double the cost."""

    def __init__(self, obs_shape: tuple[int, ...], actions: ActionLayout, kind: str = "mlp",
                 hidden_size: int = 64, hidden_layers: int = 2,
                 activation: str = "tanh") -> None:
        super().__init__()
        if actions.kind not in ("discrete", "multidiscrete", "continuous"):
            raise ValueError(f"unknown action kind {actions.kind!r}")
        self.actions = actions
        self.kind = kind
        act = nn.Tanh if activation == "tanh" else nn.ReLU
        if kind == "cnn":
            self.encoder: nn.Module = NatureCNN(obs_shape[0])
            self.actor: nn.Module = _layer(512, actions.head_size, 0.01)
            self.critic: nn.Module = _layer(512, 1, 1.0)
        elif kind == "mlp":
            inp = int(math.prod(obs_shape))
            self.encoder = nn.Flatten() if len(obs_shape) > 1 else nn.Identity()
            self.actor = mlp(inp, hidden_size, hidden_layers, actions.head_size, 0.01, act)
            self.critic = mlp(inp, hidden_size, hidden_layers, 1, 1.0, act)
        else:
            raise ValueError(f"unknown policy kind {kind!r}")
        # State-independent log std (the PPO paper's continuous-control setup).
        self.log_std = nn.Parameter(torch.zeros(actions.sizes[0])) \
            if actions.kind == "continuous" else None

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(self.encoder(obs)).squeeze(-1).float()

    def act(self, obs: torch.Tensor, deterministic: bool = False
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(action, log pi(action), V(obs)) for a batch of observations."""
        features = self.encoder(obs)
        out = self.actor(features).float()
        value = self.critic(features).squeeze(-1).float()
        action = self._mode(out) if deterministic else self._sample(out)
        return action, self._log_prob(out, action), value

    def evaluate(self, obs: torch.Tensor, action: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log pi(action), entropy, V(obs)) under the current parameters: the inputs of
        the PPO loss."""
        features = self.encoder(obs)
        out = self.actor(features).float()
        value = self.critic(features).squeeze(-1).float()
        if self.actions.kind == "discrete":  # one log-softmax serves both terms
            logp = torch.log_softmax(out, -1)
            entropy = -(logp.exp() * logp).sum(-1)
            return logp.gather(-1, action.long().unsqueeze(-1)).squeeze(-1), entropy, value
        return self._log_prob(out, action), self._entropy(out), value

    # --- the three action distributions ------------------------------------------------
    def _split(self, logits: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return torch.split(logits, list(self.actions.sizes), dim=-1)

    def _sample(self, out: torch.Tensor) -> torch.Tensor:
        if self.actions.kind == "continuous":
            assert self.log_std is not None
            return out + self.log_std.exp() * torch.randn_like(out)
        # Gumbel-max: argmax(logits + Gumbel noise) is a sample of softmax(logits).
        gumbel = -torch.log(-torch.log(torch.rand_like(out).clamp_(1e-20, 1.0)))
        if self.actions.kind == "discrete":
            return (out + gumbel).argmax(-1)
        return torch.stack([p.argmax(-1) for p in self._split(out + gumbel)], dim=-1)

    def _mode(self, out: torch.Tensor) -> torch.Tensor:
        if self.actions.kind == "continuous":
            return out
        if self.actions.kind == "discrete":
            return out.argmax(-1)
        return torch.stack([p.argmax(-1) for p in self._split(out)], dim=-1)

    def _log_prob(self, out: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        if self.actions.kind == "continuous":
            assert self.log_std is not None
            z = (action - out) / self.log_std.exp()
            return (-0.5 * z.pow(2) - self.log_std - 0.5 * _LOG_2PI).sum(-1)
        if self.actions.kind == "discrete":
            logp = torch.log_softmax(out, -1)
            return logp.gather(-1, action.long().unsqueeze(-1)).squeeze(-1)
        parts = [torch.log_softmax(p, -1).gather(-1, action[..., i].long().unsqueeze(-1))
                 for i, p in enumerate(self._split(out))]
        return torch.cat(parts, -1).sum(-1)

    def _entropy(self, out: torch.Tensor) -> torch.Tensor:
        if self.actions.kind == "continuous":
            assert self.log_std is not None
            return (0.5 + 0.5 * _LOG_2PI + self.log_std).sum().expand(out.shape[0])
        parts = self._split(out) if self.actions.kind == "multidiscrete" else (out,)
        total = torch.zeros(out.shape[0], device=out.device)
        for logits in parts:
            logp = torch.log_softmax(logits, -1)
            total = total - (logp.exp() * logp).sum(-1)
        return total
