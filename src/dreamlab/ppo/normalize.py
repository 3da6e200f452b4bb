"""Running observation normalisation and reward scaling, with state for checkpoints.

What Gymnasium's NormalizeObservation / NormalizeReward wrappers and SB3's VecNormalize
do, kept in the trainer rather than in a wrapper so that the statistics are plain arrays
the checkpoint holds (and evaluation reads, frozen): a resumed run continues with the
statistics it had, not with a fresh mean of zero (issue 12, "normalisation statistics
survive a resume").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class RunningMeanStd:
    """Mean and variance of a stream of batches (Chan et al.'s parallel update)."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = 1e-4  # a tiny prior count, so the first batch is not divided by 0

    def update(self, batch: np.ndarray) -> None:
        if len(batch) == 0:
            return
        b_mean, b_var, b_count = batch.mean(0), batch.var(0), batch.shape[0]
        delta = b_mean - self.mean
        total = self.count + b_count
        self.mean = self.mean + delta * b_count / total
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / total
        self.var = m2 / total
        self.count = total

    def state_dict(self) -> dict[str, Any]:
        return {"mean": torch.from_numpy(np.array(self.mean, np.float64)),
                "var": torch.from_numpy(np.array(self.var, np.float64)),
                "count": float(self.count)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean = state["mean"].numpy().astype(np.float64)
        self.var = state["var"].numpy().astype(np.float64)
        self.count = float(state["count"])


class ObsNormalizer:
    """(obs - mean) / std, clipped; updated from training rollouts only."""

    def __init__(self, shape: tuple[int, ...], clip: float, enabled: bool) -> None:
        self.enabled = enabled
        self.clip = clip
        self.rms = RunningMeanStd(shape)

    def __call__(self, obs: np.ndarray, update: bool = False) -> np.ndarray:
        if not self.enabled:
            return obs
        if update:
            self.rms.update(obs)
        out = (obs - self.rms.mean) / np.sqrt(self.rms.var + 1e-8)
        return np.clip(out, -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return self.rms.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rms.load_state_dict(state)


class RewardScaler:
    """Rewards divided by the running std of the discounted return (Engstrom et al. 2020,
    "code-level optimizations"): the return's scale, not the reward's, is what the
    value function has to fit."""

    def __init__(self, num_envs: int, gamma: float, clip: float, enabled: bool) -> None:
        self.enabled = enabled
        self.gamma = gamma
        self.clip = clip
        self.rms = RunningMeanStd(())
        self.returns = np.zeros(num_envs, np.float64)

    def __call__(self, rewards: np.ndarray, dones: np.ndarray, valid: np.ndarray) -> np.ndarray:
        if not self.enabled:
            return rewards
        self.returns = self.returns * self.gamma + rewards
        self.rms.update(self.returns[valid])
        self.returns[dones] = 0.0
        scaled = rewards / np.sqrt(self.rms.var + 1e-8)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {"rms": self.rms.state_dict(), "returns": torch.from_numpy(self.returns.copy())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rms.load_state_dict(state["rms"])
        returns = state["returns"].numpy()
        if returns.shape == self.returns.shape:  # a resume with another --num-envs restarts
            self.returns = returns.astype(np.float64)
