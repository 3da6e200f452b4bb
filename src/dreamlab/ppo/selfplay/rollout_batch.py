"""From a self-play rollout to PPO's Batch: reward scaling, GAE, then the real transitions only.

The rollout is laid out (T, envs x max_team_size) so that GAE can run down each column. With
2v2 padding, a 1v1 or a 1v2 game (learner on the lone car's side) fills only half of the
columns: the other half has valid = 0. ppo_loss weights those rows by zero, so they change
no gradient, yet the update would still push them through both networks in every epoch:
half of a 1v1 update's arithmetic, which is most of the update's cost on the CPU
(benchmarks/rocket_selfplay_sps.py). So GAE runs on the padded layout and the padding rows
are dropped afterwards.

The number of minibatches per epoch stays what the padded layout gave,
ceil(T * N / batch_size): a 1v1 update takes as many Adam steps as it did with the padding
in, each on as many real transitions as before on average (now exactly as many).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from dreamlab.ppo.core import Batch, compute_gae
from dreamlab.ppo.normalize import RewardScaler
from dreamlab.ppo.selfplay.collector import SelfPlayRollout


def scaled_rewards(r: SelfPlayRollout, scaler: RewardScaler) -> np.ndarray:
    """(T, N) rewards through the running return scaler, step by step (its state carries
    across rollouts), with the timeouts' bootstrap values added after scaling."""
    steps = [scaler(r.rewards[t], r.dones[t] > 0, r.valid[t] > 0) for t in range(len(r.rewards))]
    return (np.stack(steps) + r.bootstrap).astype(np.float32)


def rollout_to_batch(r: SelfPlayRollout, scaler: RewardScaler, gamma: float, gae_lambda: float,
                     device: torch.device) -> Batch:
    """The flattened Batch of the rollout's valid transitions (every row has valid = 1)."""

    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(x, device=device)

    adv, returns = compute_gae(tensor(scaled_rewards(r, scaler)), tensor(r.values),
                               tensor(r.terminated), tensor(r.dones), tensor(r.last_value),
                               gamma, gae_lambda)
    keep = np.flatnonzero(r.valid.reshape(-1) > 0)
    rows = tensor(keep)
    n = r.valid.size
    return Batch(obs=tensor(r.obs.reshape(n, -1)[keep]),
                 actions=tensor(r.actions.reshape(n, *r.actions.shape[2:])[keep]),
                 logprobs=tensor(r.logprobs.reshape(n)[keep]),
                 values=tensor(r.values.reshape(n)[keep]),
                 advantages=adv.reshape(n)[rows], returns=returns.reshape(n)[rows],
                 valid=torch.ones(len(keep), dtype=torch.float32, device=device))


def minibatch_size(padded_samples: int, valid_samples: int, batch_size: int) -> int:
    """Rows per minibatch once the padding is gone, keeping the padded layout's minibatch
    count (ceil(padded / batch_size)); the whole batch when that count is one."""
    minibatches = max(1, math.ceil(padded_samples / batch_size))
    return max(1, math.ceil(valid_samples / minibatches))
