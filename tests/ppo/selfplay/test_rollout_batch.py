"""The PPO batch of a self-play rollout: padding rows out, the update's numbers unchanged."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

from dreamlab.models.ppo_policy import ActionLayout, ActorCritic
from dreamlab.ppo.core import Batch, compute_gae, ppo_update
from dreamlab.ppo.normalize import RewardScaler
from dreamlab.ppo.selfplay.collector import SelfPlayRollout
from dreamlab.ppo.selfplay.rollout_batch import (
    minibatch_size,
    rollout_to_batch,
    scaled_rewards,
)

T, N, D = 6, 4, 5


def _rollout() -> SelfPlayRollout:
    """Columns 1 and 3 have no car (a 1v1 game in a 2v2-padded layout), except column 3
    at t >= 4 (a 2v2 game started there); a timeout at t=2 in column 0."""
    rng = np.random.default_rng(0)
    r = SelfPlayRollout.empty(T, N, D, (), np.int64)
    r.valid[:] = 1.0
    r.valid[:, 1] = 0.0
    r.valid[:4, 3] = 0.0
    r.dones[r.valid == 0] = r.terminated[r.valid == 0] = 1.0
    r.dones[2, 0] = r.terminated[2, 0] = 1.0
    r.bootstrap[2, 0] = 0.7
    r.obs[:] = rng.normal(size=r.obs.shape) * r.valid[..., None]
    r.actions[:] = rng.integers(0, 3, r.actions.shape) * (r.valid > 0)
    r.logprobs[:] = rng.normal(size=(T, N)) * r.valid
    r.values[:] = rng.normal(size=(T, N)) * r.valid
    r.rewards[:] = rng.normal(size=(T, N)) * r.valid
    r.last_value[:] = [0.3, 0.0, -0.2, 0.5]
    return r


def _scaler() -> RewardScaler:
    return RewardScaler(N, 0.9, 10.0, enabled=True)


def _padded_batch(r: SelfPlayRollout) -> Batch:
    """What the trainer built before padding rows were dropped: every (t, column) row."""
    t = torch.as_tensor
    adv, ret = compute_gae(t(scaled_rewards(r, _scaler())), t(r.values), t(r.terminated),
                           t(r.dones), t(r.last_value), 0.9, 0.95)
    n = r.valid.size
    return Batch(t(r.obs).reshape(n, -1), t(r.actions).reshape(n), t(r.logprobs).reshape(n),
                 t(r.values).reshape(n), adv.reshape(n), ret.reshape(n), t(r.valid).reshape(n))


def test_only_valid_rows_remain_with_the_padded_layouts_advantages() -> None:
    r = _rollout()
    batch = rollout_to_batch(r, _scaler(), 0.9, 0.95, torch.device("cpu"))
    padded = _padded_batch(r)
    keep = padded.valid > 0
    assert len(batch.valid) == int(r.valid.sum()) == 4 * T - T - 4 and bool(batch.valid.all())
    for name in ("obs", "actions", "logprobs", "values", "advantages", "returns"):
        torch.testing.assert_close(getattr(batch, name), getattr(padded, name)[keep],
                                   msg=name)


def _update(batch: Batch, batch_size: int) -> ActorCritic:
    torch.manual_seed(1)
    policy = ActorCritic((D,), ActionLayout("discrete", (3,)), "mlp", 8, 2, "tanh")
    opt = torch.optim.Adam(policy.parameters(), lr=1e-2)
    ppo_update(policy, opt, batch, 2, batch_size, 0.2, clip_vloss=True, norm_adv=True,
               ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5, target_kl=0.0,
               generator=torch.Generator().manual_seed(0),
               autocast=contextlib.nullcontext,
               scaler=torch.amp.GradScaler("cpu", enabled=False))
    return policy


def test_a_whole_batch_update_is_the_same_without_the_padding() -> None:
    r = _rollout()
    padded = _padded_batch(r)
    compact = rollout_to_batch(r, _scaler(), 0.9, 0.95, torch.device("cpu"))
    before = _update(padded, r.valid.size)
    after = _update(compact, minibatch_size(r.valid.size, len(compact.valid), r.valid.size))
    for (name, a), b in zip(before.named_parameters(), after.parameters(), strict=True):
        torch.testing.assert_close(a, b, msg=name, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("padded", "valid", "batch_size", "size", "count"), [
    (32768, 16384, 4096, 2048, 8),  # the preset in 1v1: 8 minibatches, as with the padding
    (32768, 32768, 4096, 4096, 8),  # 2v2: no padding, nothing changes
    (4096, 2048, 4096, 2048, 1),    # one minibatch = the whole batch
    (4096, 3000, 1024, 750, 4),
])
def test_minibatch_count_is_the_padded_layouts(padded, valid, batch_size, size, count) -> None:
    got = minibatch_size(padded, valid, batch_size)
    assert got == size and len(range(0, valid, got)) == count
