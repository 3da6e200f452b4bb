"""GAE against a hand computation, and the clipped surrogate's clipping."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
import torch

from dreamlab.models.ppo_policy import ActionLayout, ActorCritic
from dreamlab.ppo.core import Batch, compute_gae, ppo_loss, ppo_update, prepare_minibatch


def test_gae_matches_a_hand_computation() -> None:
    """gamma 0.9, lambda 0.8 (so gamma * lambda = 0.72), two envs, four steps.

    env 0: truncated at t=1, so it bootstraps from V(s_2) = 2.0, the real last state that
    next_step autoreset returns with the truncation; t=2 is the autoreset step.
      delta_3 = 3 + 0.9 * 0.4 - 0.2 = 3.16             A_3 = 3.16
      delta_2 = 0 + 0.9 * 0.2 - 2.0 = -1.82            A_2 = -1.82 + 0.72 * 3.16 = 0.4552
      delta_1 = 2 + 0.9 * 2.0 - 1.0 = 2.8              A_1 = 2.8 (the episode ends)
      delta_0 = 1 + 0.9 * 1.0 - 0.5 = 1.4              A_0 = 1.4 + 0.72 * 2.8 = 3.416
    env 1: terminated at t=1, so no bootstrap; all values 1, rewards 1, last value 1.
      delta_3 = 1 + 0.9 - 1 = 0.9                      A_3 = 0.9
      delta_2 = 0.9                                    A_2 = 0.9 + 0.72 * 0.9 = 1.548
      delta_1 = 1 + 0 - 1 = 0                          A_1 = 0
      delta_0 = 0.9                                    A_0 = 0.9 + 0.72 * 0 = 0.9
    """
    rewards = torch.tensor([[1.0, 1.0], [2.0, 1.0], [0.0, 1.0], [3.0, 1.0]])
    values = torch.tensor([[0.5, 1.0], [1.0, 1.0], [2.0, 1.0], [0.2, 1.0]])
    terminated = torch.tensor([[0.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    dones = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    last_value = torch.tensor([0.4, 1.0])
    adv, returns = compute_gae(rewards, values, terminated, dones, last_value, 0.9, 0.8)
    expected = torch.tensor([[3.416, 0.9], [2.8, 0.0], [0.4552, 1.548], [3.16, 0.9]])
    torch.testing.assert_close(adv, expected)
    torch.testing.assert_close(returns, expected + values)


def test_gae_with_lambda_one_is_the_discounted_return_minus_value() -> None:
    rewards = torch.tensor([[1.0], [1.0], [1.0]])
    values = torch.zeros(3, 1)
    zeros = torch.zeros(3, 1)
    adv, _ = compute_gae(rewards, values, zeros, zeros, torch.tensor([10.0]), 0.5, 1.0)
    # 1 + 0.5 + 0.25 + 0.125 * 10 = 3.0 ; 1 + 0.5 + 0.25 * 10 = 4.0 ; 1 + 0.5 * 10 = 6.0
    torch.testing.assert_close(adv[:, 0], torch.tensor([3.0, 4.0, 6.0]))


def _batch(policy: ActorCritic, n: int = 64, shift: float = 0.0) -> Batch:
    torch.manual_seed(0)
    obs = torch.randn(n, 4)
    with torch.no_grad():
        actions, logp, values = policy.act(obs)
    return Batch(obs, actions, logp + shift, values, torch.randn(n), torch.randn(n),
                 torch.ones(n))


def test_surrogate_is_clipped_and_invalid_samples_do_not_count() -> None:
    torch.manual_seed(0)
    policy = ActorCritic((4,), ActionLayout("discrete", (3,)))
    batch = _batch(policy)
    # Old log-probs far below the new ones: every ratio is e^2 >> 1 + clip. Positive
    # advantages then contribute the clipped (constant) term only: no policy gradient.
    far = Batch(batch.obs, batch.actions, batch.logprobs - 2.0, batch.values,
                batch.advantages.abs() + 0.1, batch.returns, batch.valid)
    loss, stats = ppo_loss(policy, far, far.valid / 64, 0.2, False, 0.0, 0.0)
    loss.backward()
    assert stats["clipfrac"] == 1.0
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in policy.actor.parameters())
    # Marking half the samples invalid gives the loss of the valid half alone.
    valid = torch.zeros(64)
    valid[:32] = 1.0
    half = Batch(*(getattr(batch, f)[:32] for f in Batch.__dataclass_fields__))
    masked = dataclasses.replace(batch, valid=valid)
    a, _ = ppo_loss(policy, *prepare_minibatch(masked, True), 0.2, True, 0.01, 0.5)
    b, _ = ppo_loss(policy, *prepare_minibatch(half, True), 0.2, True, 0.01, 0.5)
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("batch_size", [16, 64])
def test_update_moves_the_policy_and_reports_statistics(batch_size: int) -> None:
    torch.manual_seed(0)
    policy = ActorCritic((4,), ActionLayout("discrete", (2,)))
    before = [p.detach().clone() for p in policy.parameters()]
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
    stats = ppo_update(policy, opt, _batch(policy), 2, batch_size, 0.2, clip_vloss=True,
                       norm_adv=True, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5,
                       target_kl=0.0, generator=torch.Generator().manual_seed(0),
                       autocast=contextlib.nullcontext,
                       scaler=torch.amp.GradScaler("cpu", enabled=False))
    assert stats["gradient_steps"] == 2 * 64 // batch_size
    assert any(not torch.equal(a, b) for a, b in zip(before, policy.parameters(), strict=True))
