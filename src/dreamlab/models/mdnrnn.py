"""M: the MDN-RNN of World Models (Ha & Schmidhuber 2018, section 2.2 and A.2).

M is an LSTM over [z_t, a_t] whose output parameterises a mixture of K diagonal Gaussians
over z_{t+1} (a Mixture Density Network, Bishop 1994), so that the dream can sample the
next latent rather than average over futures. As in the paper's Doom experiment (section 4)
it also predicts the reward and whether the episode ends, which is what lets the controller
train entirely inside the dream.

One mixture weight vector is shared by all latent dimensions of a component (K weights per
step, each component a diagonal Gaussian), which keeps sampling one categorical draw per
step. This module is a pure nn.Module plus its loss and sampler: no I/O (STYLE.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from dreamlab.errors import CheckpointError
from dreamlab.models.vae import check_checkpoint_format

MDNRNN_FORMAT = "dreamlab.mdnrnn/1"
# A floor on sigma: state envs store z with logvar -20 and float16 rounding (~1e-3), so a
# sigma far below that only lets the NLL run off to -inf and the gradients blow up.
LOGSIGMA_MIN = -7.0
LOGSIGMA_MAX = 3.0
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)

State = tuple[torch.Tensor, torch.Tensor]


class MDNOutput(NamedTuple):
    """M's prediction for the next step. Shapes with a time axis (forward); step() drops T."""

    logpi: torch.Tensor  # (B, T, K) log mixture weights (log-softmax)
    mu: torch.Tensor  # (B, T, K, Z)
    logsigma: torch.Tensor  # (B, T, K, Z)
    reward: torch.Tensor  # (B, T) predicted reward r_t
    done_logit: torch.Tensor  # (B, T) logit of "the episode terminated at step t"


class MDNRNN(nn.Module):
    """LSTM + mixture-density head + reward and done heads."""

    def __init__(
        self, z_dim: int, action_dim: int, hidden: int = 256, n_gaussians: int = 5
    ) -> None:
        super().__init__()
        self.z_dim = int(z_dim)
        self.action_dim = int(action_dim)
        self.hidden = int(hidden)
        self.n_gaussians = int(n_gaussians)
        self.lstm = nn.LSTM(self.z_dim + self.action_dim, self.hidden, batch_first=True)
        k, z = self.n_gaussians, self.z_dim
        # one linear layer for all heads: logits of pi (K), mu (K*Z), logsigma (K*Z),
        # reward (1), done (1), as the paper's code does with its single output layer
        self.head = nn.Linear(self.hidden, k + 2 * k * z + 2)

    def initial_state(self, batch: int, device: torch.device | str | None = None) -> State:
        """Zero (h, c), each (1, batch, hidden); h[0] is what the controller reads."""
        shape = (1, batch, self.hidden)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def forward(
        self, z: torch.Tensor, a: torch.Tensor, state: State | None = None
    ) -> tuple[MDNOutput, State]:
        """z (B, T, Z), a (B, T, A) -> prediction for each t of step t+1, and (h, c)."""
        out, new_state = self.hidden_sequence(z, a, state)
        return self._heads(self.head(out)), new_state

    def hidden_sequence(
        self, z: torch.Tensor, a: torch.Tensor, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """z (B, T, Z), a (B, T, A) -> h after each step (B, T, hidden), what the
        controller reads, and the final (h, c); no heads."""
        return self.lstm(torch.cat([z, a], dim=-1), state)

    def step(
        self, z: torch.Tensor, a: torch.Tensor, state: State | None
    ) -> tuple[MDNOutput, State]:
        """One step of the dream or the real rollout: z (B, Z), a (B, A); no time axis."""
        out, new_state = self.forward(z.unsqueeze(1), a.unsqueeze(1), state)
        return MDNOutput(*(t.squeeze(1) for t in out)), new_state

    def _heads(self, y: torch.Tensor) -> MDNOutput:
        k, z = self.n_gaussians, self.z_dim
        lead = y.shape[:-1]
        logits, mu, logsigma, reward, done = torch.split(y, [k, k * z, k * z, 1, 1], dim=-1)
        return MDNOutput(
            logpi=F.log_softmax(logits, dim=-1),
            mu=mu.reshape(*lead, k, z),
            logsigma=logsigma.reshape(*lead, k, z).clamp(LOGSIGMA_MIN, LOGSIGMA_MAX),
            reward=reward.squeeze(-1),
            done_logit=done.squeeze(-1),
        )

    def hparams(self) -> dict[str, Any]:
        return {
            "z_dim": self.z_dim,
            "action_dim": self.action_dim,
            "hidden": self.hidden,
            "n_gaussians": self.n_gaussians,
        }

    def to_checkpoint(self) -> dict[str, Any]:
        """A dict of tensors and plain values: loads with torch.load(weights_only=True)."""
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        return {"format": MDNRNN_FORMAT, "hparams": self.hparams(), "state_dict": state}

    @classmethod
    def from_checkpoint(cls, ckpt: Mapping[str, Any]) -> MDNRNN:
        """Rebuild an MDNRNN; a foreign or mismatched dict is one CheckpointError line."""
        hparams, state = check_checkpoint_format(ckpt, MDNRNN_FORMAT, "MDN-RNN")
        try:
            model = cls(**hparams)
            model.load_state_dict(state)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise CheckpointError(
                f"MDN-RNN checkpoint does not match its own hyperparameters "
                f"({type(exc).__name__})",
                "delete mdnrnn.pt and re-run `--stage mdnrnn`",
            ) from exc
        return model


def mixture_log_prob(out: MDNOutput, z_next: torch.Tensor) -> torch.Tensor:
    """log p(z_next) under the mixture, summed over latent dims: (B, T)."""
    x = z_next.unsqueeze(-2)  # (..., 1, Z) against (..., K, Z)
    inv_sigma = torch.exp(-out.logsigma)
    log_n = -0.5 * ((x - out.mu) * inv_sigma).pow(2) - out.logsigma - _LOG_SQRT_2PI
    return torch.logsumexp(out.logpi + log_n.sum(dim=-1), dim=-1)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def mdn_loss(
    out: MDNOutput,
    z_next: torch.Tensor,
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    mask: torch.Tensor,
    done_pos_weight: float = 1.0,
) -> dict[str, torch.Tensor]:
    """M's loss over the steps where mask is 1 (padding of short episodes is 0).

    nll: negative log-likelihood of z_{t+1} per latent dimension, as the paper's code
    averages over dimensions; that keeps its scale, and so its balance with the two other
    heads, independent of z_dim. reward_mse: squared error of the reward head.
    done_bce: binary cross-entropy of the done head, with terminations weighted by
    done_pos_weight: random episodes hold about one done in 22 steps, and an under-weighted
    done head makes the dream too easy to survive (notes/cartpole-pixels-prototype.md).
    loss = nll + reward_mse + done_bce. Computed in float32.
    """
    out = MDNOutput(*(t.float() for t in out))
    mask = mask.float()
    nll = _masked_mean(-mixture_log_prob(out, z_next.float()) / out.mu.shape[-1], mask)
    reward_mse = _masked_mean((out.reward - rewards.float()).pow(2), mask)
    pos_weight = torch.tensor(float(done_pos_weight), device=out.done_logit.device)
    bce = F.binary_cross_entropy_with_logits(
        out.done_logit, terminated.float(), pos_weight=pos_weight, reduction="none"
    )
    done_bce = _masked_mean(bce, mask)
    return {
        "loss": nll + reward_mse + done_bce,
        "nll": nll,
        "reward_mse": reward_mse,
        "done_bce": done_bce,
    }


def sample_mdn(logpi: torch.Tensor, mu: torch.Tensor, logsigma: torch.Tensor, tau: float,
               uniform: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Sample z_{t+1} (B, Z) from M's mixture at temperature tau (paper section 4.4), using
    given noise: the one MDN sampler of the project.

    The mixture logits are divided by tau and each sigma multiplied by sqrt(tau), as in the
    paper's code: tau > 1 makes the dream noisier and harder for the controller to
    exploit; tau -> 0 approaches the most likely component's mean. uniform (B,) picks the
    component by inverting the mixture's CDF; eps (B, Z) is the standard normal noise of
    the chosen Gaussian. Passing the noise in, instead of a generator, keeps a rollout's
    sample independent of the batch it sits in and of the device.
    """
    if not tau > 0:
        raise ValueError(f"temperature tau must be > 0, got {tau}")
    probs = torch.softmax(logpi.float() / tau, dim=-1)  # paper code: logmix / temperature
    cdf = probs.cumsum(dim=-1)
    k = (cdf < uniform.unsqueeze(1) * cdf[:, -1:]).sum(dim=-1).clamp(max=probs.shape[1] - 1)
    rows = torch.arange(mu.shape[0], device=mu.device)
    mean = mu[rows, k].float()
    sigma = logsigma[rows, k].float().exp() * math.sqrt(tau)
    return mean + sigma * eps
