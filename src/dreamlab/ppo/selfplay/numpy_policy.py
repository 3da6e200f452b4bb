"""Acting on the CPU without torch: a numpy copy of an ActorCritic MLP's forward pass.

Self-play calls two small networks every env step on batches of 8-16 cars (the learner,
and the snapshot in play). At that size torch's per-operator dispatch, not arithmetic,
is the cost: a third of a collection step on the 2-core machines. Three matmuls in numpy
do the same work in a fraction of it. The copy is refreshed after every PPO update, the
update itself stays in torch, and tests check the copy against ActorCritic.act/evaluate.
"""

from __future__ import annotations

import math

import numpy as np
from torch import nn

from dreamlab.models.ppo_policy import ActorCritic

_LOG_2PI = math.log(2.0 * math.pi)
Layer = tuple[str, np.ndarray | None, np.ndarray | None]


def _layers(module: nn.Module) -> list[Layer]:
    """("linear", W.T, b) / ("tanh"|"relu", None, None) for an MLP made of those."""
    mods = list(module) if isinstance(module, nn.Sequential) else [module]
    out: list[Layer] = []
    for m in mods:
        if isinstance(m, nn.Linear):
            w = m.weight.detach().cpu().float().numpy().T.copy()
            b = m.bias.detach().cpu().float().numpy().copy() if m.bias is not None else None
            out.append(("linear", w, b))
        elif isinstance(m, nn.Tanh):
            out.append(("tanh", None, None))
        elif isinstance(m, nn.ReLU):
            out.append(("relu", None, None))
        elif isinstance(m, nn.Identity):
            continue
        else:
            raise ValueError(f"no numpy forward for {type(m).__name__}")
    return out


def _forward(layers: list[Layer], x: np.ndarray) -> np.ndarray:
    for kind, w, b in layers:
        if kind == "linear":
            assert w is not None
            x = x @ w
            if b is not None:
                x = x + b
        elif kind == "tanh":
            x = np.tanh(x)
        else:
            x = np.maximum(x, 0.0)
    return x


def supports(policy: ActorCritic) -> bool:
    """MLP policies with a discrete or Gaussian head (what the Rocket env uses)."""
    if policy.kind != "mlp" or policy.actions.kind not in ("discrete", "continuous"):
        return False
    try:
        _layers(policy.actor), _layers(policy.critic)
    except ValueError:
        return False
    return isinstance(policy.encoder, nn.Identity)


class NumpyPolicy:
    """act / sample / value of an ActorCritic MLP, in numpy float32."""

    def __init__(self, policy: ActorCritic, rng: np.random.Generator) -> None:
        self.rng = rng
        self.refresh(policy)

    def refresh(self, policy: ActorCritic) -> None:
        """Copy the current weights (after a PPO update)."""
        if not supports(policy):
            raise ValueError("NumpyPolicy handles MLP policies with discrete or Gaussian heads")
        self.kind = policy.actions.kind
        self.actor = _layers(policy.actor)
        self.critic = _layers(policy.critic)
        self.log_std = None if policy.log_std is None else \
            policy.log_std.detach().cpu().float().numpy().copy()

    def value(self, obs: np.ndarray) -> np.ndarray:
        return _forward(self.critic, obs)[:, 0]

    def _draw(self, out: np.ndarray) -> np.ndarray:
        if self.kind == "continuous":
            assert self.log_std is not None
            return out + np.exp(self.log_std) * self.rng.standard_normal(out.shape, np.float32)
        # Gumbel-max: argmax(logits + Gumbel noise) is a sample of softmax(logits).
        u = np.clip(self.rng.random(out.shape, np.float32), 1e-20, 1.0)
        return np.argmax(out - np.log(-np.log(u)), axis=-1)

    def _log_prob(self, out: np.ndarray, action: np.ndarray) -> np.ndarray:
        if self.kind == "continuous":
            assert self.log_std is not None
            z = (action - out) / np.exp(self.log_std)
            return (-0.5 * z * z - self.log_std - 0.5 * _LOG_2PI).sum(-1)
        shifted = out - out.max(-1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        return np.take_along_axis(logp, action[:, None], axis=-1)[:, 0]

    def sample(self, obs: np.ndarray) -> np.ndarray:
        """Actions only (an opponent needs no value or log-probability)."""
        return self._draw(_forward(self.actor, obs))

    def act(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(action, log pi(action), V(obs)), as ActorCritic.act returns them."""
        out = _forward(self.actor, obs)
        action = self._draw(out)
        return action, self._log_prob(out, action).astype(np.float32), self.value(obs)

