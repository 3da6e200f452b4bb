"""The recurrent state-space model (Hafner et al. 2019 PlaNet; DreamerV3 section 2).

State = (deter h: a GRU's output, stoch z: a sample). h_t = GRU(h_{t-1}, z_{t-1}, a_{t-1});
the prior p(z_t | h_t) is what imagination samples, the posterior q(z_t | h_t, e_t) sees
the encoded observation. z is either `discrete` (stoch categoricals of `classes` classes,
1% uniform mix, straight-through gradients; DreamerV2/V3) or `gaussian` (a diagonal
normal of `stoch` dims, as in DreamerV1 and seeds/004's deter 200 / stoch 32).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Independent, Normal, kl_divergence

from dreamlab.models.dreamer_nets import mlp

State = dict[str, torch.Tensor]  # deter, stoch, and the latent's parameters


class LayerNormGRU(nn.Module):
    """A GRU cell with one LayerNorm over its gates (DreamerV2), and the update gate
    biased towards keeping h (-1), which keeps long imagined rollouts stable."""

    def __init__(self, inp: int, units: int) -> None:
        super().__init__()
        self.linear = nn.Linear(inp + units, 3 * units, bias=False)
        self.norm = nn.LayerNorm(3 * units)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        parts = self.norm(self.linear(torch.cat([x, h], -1)))
        reset, cand, update = parts.chunk(3, -1)
        reset = torch.sigmoid(reset)
        cand = torch.tanh(reset * cand)
        update = torch.sigmoid(update - 1.0)
        return update * cand + (1 - update) * h


class RSSM(nn.Module):
    def __init__(self, embed_dim: int, action_dim: int, deter: int, stoch: int,
                 classes: int, hidden: int, latent: str = "discrete",
                 unimix: float = 0.01) -> None:
        super().__init__()
        if latent not in ("discrete", "gaussian"):
            raise ValueError(f"latent must be discrete or gaussian, got {latent!r}")
        self.latent, self.deter, self.stoch, self.classes = latent, deter, stoch, classes
        self.unimix = unimix
        self.stoch_dim = stoch * classes if latent == "discrete" else stoch
        n_params = self.stoch_dim if latent == "discrete" else 2 * stoch
        self.img_in = mlp(self.stoch_dim + action_dim, hidden, 1)
        self.gru = LayerNormGRU(hidden, deter)
        self.prior_net = mlp(deter, hidden, 1, n_params)
        self.post_net = mlp(deter + embed_dim, hidden, 1, n_params)

    @property
    def feat_dim(self) -> int:
        return self.deter + self.stoch_dim

    def initial(self, batch: int, device: torch.device) -> State:
        return {"deter": torch.zeros(batch, self.deter, device=device),
                "stoch": torch.zeros(batch, self.stoch_dim, device=device)}

    @staticmethod
    def features(state: State) -> torch.Tensor:
        return torch.cat([state["deter"], state["stoch"]], -1)

    # --- the latent distribution ---------------------------------------------------------
    def _dist_state(self, params: torch.Tensor) -> State:
        """Sample z from the network's output, returning z and what KL needs."""
        params = params.float()
        if self.latent == "discrete":
            logits = params.reshape(*params.shape[:-1], self.stoch, self.classes)
            probs = F.softmax(logits, -1)
            probs = (1 - self.unimix) * probs + self.unimix / self.classes
            idx = torch.multinomial(probs.reshape(-1, self.classes), 1)
            onehot = F.one_hot(idx.reshape(probs.shape[:-1]), self.classes).float()
            sample = onehot + probs - probs.detach()  # straight-through gradients
            return {"stoch": sample.reshape(*params.shape[:-1], -1),
                    "logits": torch.log(probs)}
        mean, std = params.chunk(2, -1)
        std = 2.0 * torch.sigmoid(std / 2.0) + 0.1  # bounded away from 0 (DreamerV1)
        sample = mean + std * torch.randn_like(std)
        return {"stoch": sample, "mean": mean, "std": std}

    def kl(self, lhs: State, rhs: State) -> torch.Tensor:
        """KL(lhs || rhs) per step, summed over the latent variables."""
        if self.latent == "discrete":
            lp, lq = lhs["logits"], rhs["logits"]
            return (lp.exp() * (lp - lq)).sum((-2, -1))
        return kl_divergence(Independent(Normal(lhs["mean"], lhs["std"]), 1),
                             Independent(Normal(rhs["mean"], rhs["std"]), 1))

    # --- steps ---------------------------------------------------------------------------
    def img_step(self, prev: State, action: torch.Tensor) -> State:
        """The prior step: what imagination runs, without an observation."""
        x = self.img_in(torch.cat([prev["stoch"], action], -1))
        deter = self.gru(x, prev["deter"])
        out = self._dist_state(self.prior_net(deter))
        out["deter"] = deter
        return out

    def obs_step(self, prev: State, action: torch.Tensor, embed: torch.Tensor,
                 is_first: torch.Tensor) -> tuple[State, State]:
        """Posterior and prior of one step. Where is_first, the previous state and action
        are zeroed, so a sequence running across an episode start learns nothing across it."""
        keep = (~is_first).float().unsqueeze(-1)
        prev = {"deter": prev["deter"] * keep, "stoch": prev["stoch"] * keep}
        prior = self.img_step(prev, action * keep)
        post = self._dist_state(self.post_net(torch.cat([prior["deter"], embed], -1)))
        post["deter"] = prior["deter"]
        return post, prior

    def observe(self, embed: torch.Tensor, action: torch.Tensor, is_first: torch.Tensor,
                state: State | None = None) -> tuple[State, State]:
        """Run over (B, T, ...) sequences; returns posts and priors stacked on axis 1."""
        batch, steps = embed.shape[:2]
        state = state or self.initial(batch, embed.device)
        posts, priors = [], []
        for t in range(steps):
            state, prior = self.obs_step(state, action[:, t], embed[:, t], is_first[:, t])
            posts.append(state)
            priors.append(prior)
        return _stack(posts), _stack(priors)

    def imagine_open_loop(self, state: State, actions: torch.Tensor) -> State:
        """Priors for a given action sequence (B, T, A): the open-loop video."""
        out = []
        for t in range(actions.shape[1]):
            state = self.img_step(state, actions[:, t])
            out.append(state)
        return _stack(out)


def _stack(states: list[State]) -> State:
    return {k: torch.stack([s[k] for s in states], 1) for k in states[0]}
