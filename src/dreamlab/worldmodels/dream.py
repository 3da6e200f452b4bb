"""The dream: M used as the environment (Ha & Schmidhuber 2018, sections 4.4-4.5).

In the paper's VizDoom experiment the controller is trained entirely inside M: M's
mixture density over the next z *is* the environment's transition, its reward head the
reward and its done head the end of the episode. `DreamEnv` runs B such dreams at once
(one LSTM step for the whole batch), which is what makes dream training cheap: the notes
measured ~63k latent steps/s at batch 1024 against ~127 real CarRacing steps/s.

Determinism does not depend on batching. Each rollout owns a seed and a torch.Generator
that draws its noise in fixed-size chunks (`chunk_steps` steps at a time), so rollout i
sees the same random numbers whether it runs alone or among 1,023 others and whichever
rollouts around it have already ended. Finished rollouts are dropped from the batch.

Two choices the notes (notes/cartpole-pixels-prototype.md) bear on:
* Temperature tau (section 4.4): mixture logits are divided by tau and each Gaussian's
  sigma multiplied by sqrt(tau), as in the paper's code. tau > 1 makes the dream noisier
  and harder to exploit; the prototype's controllers scored ~500 in the dream but only
  250-285 in reality.
* Done: by default a rollout ends when sigmoid(done_logit) > done_threshold, not by a
  Bernoulli draw. M's done head is trained with pos_weight (cfg.done_pos_weight, ~10)
  because done events are rare, so sigmoid(logit) is *not* a calibrated probability: it
  overstates p by up to pos_weight where p is small. Sampling it would end dreams at random
  in safe states; thresholding it at 0.5 instead amounts to a threshold of about
  1 / (1 + pos_weight) on the true probability, which is the "lower the done threshold"
  the notes recommend, and it leaves tau as the single knob of dream stochasticity.
  `done_mode="sample"` is kept for experiments.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamlab.models.controller import ControllerSpec, actions_to_m_input, controller_act
from dreamlab.models.mdnrnn import sample_mdn

DONE_MODES = ("threshold", "sample")


class DreamEnv:
    """B dream rollouts stepped together in M.

    start_z (B, Z): first latent of each rollout, from real encoded frames (section 4.4:
    the dream starts from an initial real observation). seeds (B,): one per rollout.
    reward_per_step: None uses M's reward head; a number c scores c per step survived,
    for envs whose real reward is that constant (CartPole +1 per step), where the reward
    head could only add noise and the survival count *is* the real return.
    """

    def __init__(
        self,
        mdnrnn: Any,
        start_z: torch.Tensor,
        seeds: Sequence[int] | torch.Tensor,
        tau: float,
        max_steps: int,
        done_threshold: float = 0.5,
        done_mode: str = "threshold",
        reward_per_step: float | None = None,
        chunk_steps: int = 64,
    ) -> None:
        if done_mode not in DONE_MODES:
            raise ValueError(f"done_mode must be one of {DONE_MODES}, got {done_mode!r}")
        seeds = [int(s) for s in (seeds.tolist() if torch.is_tensor(seeds) else seeds)]
        if len(seeds) != start_z.shape[0]:
            raise ValueError(f"{len(seeds)} seeds for {start_z.shape[0]} rollouts")
        self.mdnrnn = mdnrnn
        self.device = start_z.device
        self.batch = start_z.shape[0]
        self.z_dim = start_z.shape[1]
        self.tau = float(tau)
        self.max_steps = int(max_steps)
        self.done_threshold = float(done_threshold)
        self.done_mode = done_mode
        self.reward_per_step = reward_per_step
        self.chunk_steps = int(chunk_steps)
        self.z = start_z.detach().float().clone()
        h, c = mdnrnn.initial_state(self.batch, self.device)
        self.h, self.c = h.float(), c.float()
        self.alive = torch.ones(self.batch, dtype=torch.bool, device=self.device)
        self.returns = torch.zeros(self.batch, dtype=torch.float64, device=self.device)
        self.lengths = torch.zeros(self.batch, dtype=torch.long, device=self.device)
        self.t = 0
        self._gens = [torch.Generator().manual_seed(s) for s in seeds]
        self._eps = torch.zeros(self.batch, self.chunk_steps, self.z_dim, device=self.device)
        self._u = torch.zeros(self.batch, self.chunk_steps, 2, device=self.device)

    def alive_index(self) -> torch.Tensor:
        return self.alive.nonzero().squeeze(1)

    def features(self) -> torch.Tensor:
        """C's input [z_t, h_t] for all B rollouts (section 2.3); h from the last layer."""
        return torch.cat([self.z, self.h[-1]], dim=1)

    def _draw_noise(self, idx: torch.Tensor) -> None:
        # Every rollout draws the same chunk shapes in the same order from its own
        # generator, so its stream does not depend on the batch around it.
        eps, u = [], []
        for i in idx.tolist():
            g = self._gens[i]
            eps.append(torch.randn(self.chunk_steps, self.z_dim, generator=g))
            u.append(torch.rand(self.chunk_steps, 2, generator=g))
        self._eps[idx] = torch.stack(eps).to(self.device)
        self._u[idx] = torch.stack(u).to(self.device)

    @torch.no_grad()
    def step(self, m_actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance every live rollout by one step with actions (B, A) as M takes them
        (rows of finished rollouts are ignored). Returns (reward (B,), done (B,)); both
        are zero/False for rollouts that had already ended."""
        idx = self.alive_index()
        reward_full = torch.zeros(self.batch, device=self.device)
        done_full = torch.zeros(self.batch, dtype=torch.bool, device=self.device)
        if idx.numel() == 0:
            return reward_full, done_full
        slot = self.t % self.chunk_steps
        if slot == 0:
            self._draw_noise(idx)
        everyone = idx.numel() == self.batch
        z = self.z if everyone else self.z[idx]
        h = self.h if everyone else self.h[:, idx]
        c = self.c if everyone else self.c[:, idx]
        a = m_actions if everyone else m_actions[idx]
        out, (h2, c2) = self.mdnrnn.step(z, a.float(), (h, c))
        u = self._u[idx, slot]
        z_next = sample_mdn(out.logpi, out.mu, out.logsigma, self.tau, u[:, 0],
                            self._eps[idx, slot])
        if self.reward_per_step is None:
            reward = out.reward.float().reshape(-1)
        else:
            reward = torch.full((idx.numel(),), float(self.reward_per_step), device=self.device)
        p_done = torch.sigmoid(out.done_logit.float().reshape(-1))
        if self.done_mode == "threshold":
            done = p_done > self.done_threshold
        else:
            done = u[:, 1] < p_done
        done = done | (self.t + 1 >= self.max_steps)
        self.z[idx] = z_next
        self.h[:, idx] = h2.float()
        self.c[:, idx] = c2.float()
        self.returns[idx] += reward.double()
        self.lengths[idx] += 1
        self.alive[idx[done]] = False
        self.t += 1
        reward_full[idx] = reward
        done_full[idx] = done
        return reward_full, done_full


@torch.no_grad()
def dream_rollout(
    params: torch.Tensor,
    spec: ControllerSpec,
    mdnrnn: Any,
    start_z: torch.Tensor,
    tau: float,
    max_steps: int,
    generator: torch.Generator | None = None,
    seeds: torch.Tensor | None = None,
    done_threshold: float = 0.5,
    done_mode: str = "threshold",
    reward_per_step: float | None = None,
    with_lengths: bool = False,
) -> Any:
    """Returns (N,) of N controllers (row n of params) each dreaming from start_z[n]
    (and the episode lengths (N,) too, with_lengths=True).

    N is typically population x rollouts_per_candidate, all in one batch. Per-rollout
    seeds are drawn from `generator` unless given explicitly.
    """
    n = params.shape[0]
    if start_z.shape[0] != n:
        raise ValueError(f"{n} parameter rows but {start_z.shape[0]} start latents")
    if seeds is None:
        seeds = torch.randint(0, 2**62, (n,), generator=generator)
    env = DreamEnv(mdnrnn, start_z, seeds, tau, max_steps, done_threshold, done_mode,
                   reward_per_step)
    params = params.to(env.device, torch.float32)
    m_actions = torch.zeros(n, spec.action_dim, device=env.device)
    while True:
        idx = env.alive_index()
        if idx.numel() == 0:
            break
        feats = env.features()
        if idx.numel() == n:
            m_actions = actions_to_m_input(controller_act(params, feats, spec), spec)
        else:
            m_actions = m_actions.clone()
            m_actions[idx] = actions_to_m_input(controller_act(params[idx], feats[idx], spec),
                                                spec)
        env.step(m_actions)
    returns = env.returns.float().cpu()
    return (returns, env.lengths.cpu()) if with_lengths else returns


# --- where dreams start: real encoded first frames (section 4.4) -----------------------


class DreamStarts:
    """First latents (mu, logvar) of the latent store's episodes, for starting dreams.

    Dreams start at an episode's first frame because h = 0 there, as in the real env; a
    start from mid-episode would pair a late frame with an empty memory. A start is
    sampled mu + sigma * eps when M was trained on V's posterior samples, else it is V's
    mean, as M saw the z's it was trained on (cfg.mdnrnn_sample_z).
    """

    def __init__(self, mu0: np.ndarray, logvar0: np.ndarray,
                 constant_reward: float | None = None, sample_z: bool = True) -> None:
        if len(mu0) == 0:
            raise ValueError("no episodes to start dreams from")
        self.mu0 = torch.as_tensor(np.asarray(mu0, dtype=np.float32))
        self.logvar0 = torch.as_tensor(np.asarray(logvar0, dtype=np.float32))
        self.constant_reward = constant_reward
        self.sample_z = sample_z  # False: start at V's mean, the z that M learnt on

    @classmethod
    def from_store(cls, latents_root: str | Path, sample_z: bool = True) -> DreamStarts:
        """Read each episode's first mu/logvar, and whether every real reward was the same
        constant (then the dream return is that constant times the steps survived)."""
        from dreamlab.data import EpisodeStore

        store = EpisodeStore(latents_root)
        mu0, logvar0, rewards = [], [], set()
        for i in range(len(store)):
            ep = store.load(i, keys=["mu", "logvar", "rewards"])
            mu0.append(ep["mu"][0])
            logvar0.append(ep["logvar"][0])
            if len(rewards) <= 1:
                rewards.update(np.unique(ep["rewards"]).astype(float).tolist())
        constant = next(iter(rewards)) if len(rewards) == 1 else None
        return cls(np.stack(mu0), np.stack(logvar0), constant, sample_z)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, len(self.mu0), (n,), generator=generator)
        eps = torch.randn(n, self.mu0.shape[1], generator=generator)
        if not self.sample_z:  # eps is drawn anyway: the generator's stream stays the same
            return self.mu0[idx].clone()
        logvar = self.logvar0[idx].clamp(min=-30.0)  # state envs may store a -inf logvar
        return self.mu0[idx] + (0.5 * logvar).exp() * eps
