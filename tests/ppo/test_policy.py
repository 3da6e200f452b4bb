"""The hand-written action distributions agree with torch.distributions."""

from __future__ import annotations

import torch
from torch.distributions import Categorical, Normal

from dreamlab.models.ppo_policy import ActionLayout, ActorCritic


def test_discrete_log_prob_and_entropy() -> None:
    torch.manual_seed(0)
    policy = ActorCritic((4,), ActionLayout("discrete", (3,)))
    obs = torch.randn(32, 4)
    action, logp, _ = policy.act(obs)
    dist = Categorical(logits=policy.actor(obs))
    torch.testing.assert_close(logp, dist.log_prob(action))
    logp2, ent, _ = policy.evaluate(obs, action)
    torch.testing.assert_close(logp2, dist.log_prob(action))
    torch.testing.assert_close(ent, dist.entropy())


def test_gumbel_max_samples_follow_the_softmax() -> None:
    torch.manual_seed(0)
    policy = ActorCritic((1,), ActionLayout("discrete", (3,)))
    with torch.no_grad():
        policy.actor[-1].bias.copy_(torch.tensor([0.0, 1.0, 2.0]))
        policy.actor[-1].weight.zero_()
    action, _, _ = policy.act(torch.zeros(40_000, 1))
    freq = torch.bincount(action, minlength=3).float() / 40_000
    torch.testing.assert_close(freq, torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0),
                               atol=0.01, rtol=0)


def test_multidiscrete_sums_its_parts() -> None:
    torch.manual_seed(0)
    policy = ActorCritic((4,), ActionLayout("multidiscrete", (3, 2)))
    obs = torch.randn(16, 4)
    action, logp, _ = policy.act(obs)
    assert action.shape == (16, 2)
    a, b = policy.actor(obs).split([3, 2], -1)
    d1, d2 = Categorical(logits=a), Categorical(logits=b)
    torch.testing.assert_close(logp, d1.log_prob(action[:, 0]) + d2.log_prob(action[:, 1]))
    _, ent, _ = policy.evaluate(obs, action)
    torch.testing.assert_close(ent, d1.entropy() + d2.entropy())


def test_gaussian_log_prob_and_entropy() -> None:
    torch.manual_seed(0)
    policy = ActorCritic((3,), ActionLayout("continuous", (2,)))
    with torch.no_grad():
        policy.log_std.copy_(torch.tensor([-0.5, 0.3]))
    obs = torch.randn(16, 3)
    action, logp, _ = policy.act(obs)
    dist = Normal(policy.actor(obs), policy.log_std.exp())
    torch.testing.assert_close(logp, dist.log_prob(action).sum(-1))
    _, ent, _ = policy.evaluate(obs, action)
    torch.testing.assert_close(ent, dist.entropy().sum(-1))


def test_cnn_policy_reads_stacked_atari_frames() -> None:
    policy = ActorCritic((4, 84, 84), ActionLayout("discrete", (6,)), kind="cnn")
    action, logp, value = policy.act(torch.randint(0, 255, (2, 4, 84, 84), dtype=torch.uint8))
    assert action.shape == logp.shape == value.shape == (2,)
