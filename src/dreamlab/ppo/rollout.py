"""Rollout storage and collection: num_steps x num_envs transitions, preallocated once.

The buffer is a set of (T, N, ...) tensors on the training device, written in place
each step, so a rollout allocates nothing (DESIGN.md principle 3). The collector owns
what persists between rollouts: the vector env's last observation, which envs are due
an autoreset step (see core.py), the normalisers, and the running episode returns.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch

from dreamlab.models.ppo_policy import ActorCritic
from dreamlab.ppo.core import Batch, compute_gae
from dreamlab.ppo.normalize import ObsNormalizer, RewardScaler


class RolloutBuffer:
    def __init__(self, num_steps: int, num_envs: int, obs_shape: tuple[int, ...],
                 obs_dtype: torch.dtype, action_shape: tuple[int, ...],
                 action_dtype: torch.dtype, device: torch.device) -> None:
        t, n = num_steps, num_envs
        self.obs = torch.zeros((t, n, *obs_shape), dtype=obs_dtype, device=device)
        self.actions = torch.zeros((t, n, *action_shape), dtype=action_dtype, device=device)
        self.logprobs = torch.zeros((t, n), device=device)
        self.values = torch.zeros((t, n), device=device)
        self.rewards = torch.zeros((t, n), device=device)
        self.terminated = torch.zeros((t, n), device=device)
        self.dones = torch.zeros((t, n), device=device)
        self.valid = torch.zeros((t, n), device=device)

    def batch(self, last_value: torch.Tensor, gamma: float, gae_lambda: float) -> Batch:
        """GAE over the rollout, then everything flattened to (T * N, ...)."""
        adv, returns = compute_gae(self.rewards, self.values, self.terminated, self.dones,
                                   last_value, gamma, gae_lambda)
        flat = self.obs.shape[0] * self.obs.shape[1]
        return Batch(obs=self.obs.reshape(flat, *self.obs.shape[2:]),
                     actions=self.actions.reshape(flat, *self.actions.shape[2:]),
                     logprobs=self.logprobs.reshape(flat), values=self.values.reshape(flat),
                     advantages=adv.reshape(flat), returns=returns.reshape(flat),
                     valid=self.valid.reshape(flat))


@dataclass
class EpisodeStats:
    """Undiscounted returns of finished training episodes, from the raw rewards."""

    recent: deque[float] = field(default_factory=lambda: deque(maxlen=100))
    episodes: int = 0
    finished: list[tuple[float, int]] = field(default_factory=list)  # since last drained

    def drain(self) -> list[tuple[float, int]]:
        out, self.finished = self.finished, []
        return out


class Collector:
    """Steps the vector env with the current policy and fills a RolloutBuffer."""

    def __init__(self, envs: gym.vector.VectorEnv, obs_norm: ObsNormalizer,
                 reward_scaler: RewardScaler, reward_sign: bool, device: torch.device,
                 autocast: Callable[[], contextlib.AbstractContextManager]) -> None:
        self.envs = envs
        self.obs_norm = obs_norm
        self.reward_scaler = reward_scaler
        self.reward_sign = reward_sign
        self.device = device
        self.autocast = autocast
        self.num_envs = envs.num_envs
        space = envs.single_action_space
        self.clip_actions = (np.asarray(space.low), np.asarray(space.high)) \
            if isinstance(space, gym.spaces.Box) else None
        self.stats = EpisodeStats()
        self.next_obs: np.ndarray | None = None
        self.autoreset = np.zeros(self.num_envs, bool)
        self.ep_return = np.zeros(self.num_envs, np.float64)
        self.ep_length = np.zeros(self.num_envs, np.int64)

    def reset(self, seed: int) -> None:
        self.next_obs, _ = self.envs.reset(seed=seed)
        self.autoreset[:] = False
        self.ep_return[:] = 0.0
        self.ep_length[:] = 0

    def _to_tensor(self, obs: np.ndarray, update: bool) -> torch.Tensor:
        obs = self.obs_norm(obs, update=update)
        if obs.dtype == np.float64:  # some envs (RLGym) emit float64; the nets are float32
            obs = obs.astype(np.float32)
        return torch.as_tensor(obs, device=self.device)

    def collect(self, policy: ActorCritic, buf: RolloutBuffer) -> torch.Tensor:
        """Fill `buf` with one rollout; returns V(s_T) of the observation after it."""
        assert self.next_obs is not None, "call reset() first"
        for t in range(buf.obs.shape[0]):
            obs = self._to_tensor(self.next_obs, update=True)
            with torch.inference_mode(), self.autocast():
                action, logprob, value = policy.act(obs)
            buf.obs[t] = obs
            buf.actions[t] = action
            buf.logprobs[t] = logprob
            buf.values[t] = value
            valid = ~self.autoreset
            buf.valid[t] = torch.from_numpy(valid)
            env_action = action.cpu().numpy()
            if self.clip_actions is not None:  # the Gaussian is unbounded; the env is not
                env_action = np.clip(env_action, *self.clip_actions)
            self.next_obs, reward, terminated, truncated, _ = self.envs.step(env_action)
            done = terminated | truncated
            self._track(np.asarray(reward, np.float64), done, valid)
            learn_reward = np.sign(reward) if self.reward_sign else reward
            learn_reward = self.reward_scaler(learn_reward, done, valid)
            buf.rewards[t] = torch.as_tensor(learn_reward, dtype=torch.float32)
            buf.terminated[t] = torch.from_numpy(terminated)
            buf.dones[t] = torch.from_numpy(done)
            self.autoreset = done
        with torch.inference_mode(), self.autocast():
            return policy.value(self._to_tensor(self.next_obs, update=False))

    def _track(self, reward: np.ndarray, done: np.ndarray, valid: np.ndarray) -> None:
        self.ep_return += reward * valid
        self.ep_length += valid
        for i in np.flatnonzero(done):
            episode = (float(self.ep_return[i]), int(self.ep_length[i]))
            self.stats.recent.append(episode[0])
            self.stats.finished.append(episode)
            self.stats.episodes += 1
            self.ep_return[i] = 0.0
            self.ep_length[i] = 0
