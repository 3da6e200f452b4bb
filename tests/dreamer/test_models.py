"""RSSM shapes, symlog / two-hot round trip, lambda-returns by hand, zero-initialised heads."""

from __future__ import annotations

import pytest
import torch

from dreamlab.models.actor_critic import Actor, Critic, ReturnNormalizer, lambda_returns
from dreamlab.models.dreamer_nets import TwoHot, build_codec, symexp, symlog
from dreamlab.models.rssm import RSSM


@pytest.mark.parametrize("latent,stoch,classes,stoch_dim", [("discrete", 4, 5, 20),
                                                            ("gaussian", 32, 1, 32)])
def test_rssm_shapes_for_both_latent_kinds(latent: str, stoch: int, classes: int,
                                           stoch_dim: int) -> None:
    rssm = RSSM(embed_dim=7, action_dim=3, deter=200, stoch=stoch, classes=classes,
                hidden=16, latent=latent)
    b, t = 2, 5
    post, prior = rssm.observe(torch.randn(b, t, 7), torch.randn(b, t, 3),
                               torch.zeros(b, t, dtype=torch.bool))
    assert post["deter"].shape == (b, t, 200)
    assert post["stoch"].shape == prior["stoch"].shape == (b, t, stoch_dim)
    assert rssm.feat_dim == 200 + stoch_dim
    kl = rssm.kl(post, prior)
    assert kl.shape == (b, t) and bool((kl >= -1e-5).all())
    imagined = rssm.imagine_open_loop({k: v[:, -1] for k, v in post.items()},
                                      torch.randn(b, 4, 3))
    assert imagined["deter"].shape == (b, 4, 200)


def test_discrete_latents_are_one_hot_with_straight_through_gradients() -> None:
    rssm = RSSM(embed_dim=4, action_dim=2, deter=8, stoch=3, classes=6, hidden=8)
    embed = torch.randn(5, 4, requires_grad=True)
    post, _ = rssm.obs_step(rssm.initial(5, torch.device("cpu")), torch.zeros(5, 2), embed,
                            torch.zeros(5, dtype=torch.bool))
    onehots = post["stoch"].detach().reshape(5, 3, 6)
    assert torch.allclose(onehots.sum(-1), torch.ones(5, 3))
    post["stoch"].sum().backward()  # would be None without the straight-through estimator
    assert embed.grad is not None
    # 1% unimix: no class probability below 0.01 / classes
    assert float(post["logits"].detach().exp().min()) >= 0.01 / 6 - 1e-6


def test_is_first_resets_the_state() -> None:
    rssm = RSSM(embed_dim=4, action_dim=2, deter=8, stoch=3, classes=4, hidden=8)
    torch.manual_seed(0)
    warm = {"deter": torch.randn(1, 8), "stoch": torch.randn(1, 12)}
    embed, action = torch.randn(1, 4), torch.randn(1, 2)
    first = torch.ones(1, dtype=torch.bool)
    a, _ = rssm.obs_step(warm, action, embed, first)
    b, _ = rssm.obs_step(rssm.initial(1, torch.device("cpu")), torch.zeros(1, 2), embed, first)
    assert torch.allclose(a["deter"], b["deter"])


def test_symlog_and_two_hot_round_trip() -> None:
    x = torch.tensor([-1e4, -37.5, -1.0, -1e-3, 0.0, 0.5, 3.0, 812.0])
    assert torch.allclose(symexp(symlog(x)), x, rtol=1e-5, atol=1e-6)
    twohot = TwoHot(255)
    target = twohot.target(x)
    assert torch.allclose(target.sum(-1), torch.ones(len(x)))
    assert int((target > 0).sum(-1).max()) <= 2
    # The expectation of the two-hot weights is symlog(x) exactly, so the mean of logits
    # that reproduce those weights recovers x.
    logits = torch.log(target.clamp(min=1e-12))
    assert torch.allclose(twohot.mean(logits), x, rtol=1e-3, atol=1e-3)


def test_lambda_returns_match_a_hand_computation() -> None:
    r = torch.tensor([[1.0, 2.0]])
    c = torch.tensor([[1.0, 0.5]])
    v = torch.tensor([[10.0, 20.0, 30.0]])
    g, lam = 0.9, 0.8
    r1 = 2.0 + g * 0.5 * 30.0  # R_1 = r_1 + g c_1 v_2 (R_2 = v_2)
    r0 = 1.0 + g * 1.0 * ((1 - lam) * 20.0 + lam * r1)
    out = lambda_returns(r, c, v, g, lam)
    assert torch.allclose(out, torch.tensor([[r0, r1]]))


def test_reward_and_value_heads_start_at_zero() -> None:
    critic = Critic(feat=12, hidden=16, layers=1, bins=41)
    assert torch.allclose(critic.value(torch.randn(6, 12)), torch.zeros(6), atol=1e-6)


def test_return_scale_never_amplifies_small_returns() -> None:
    norm = ReturnNormalizer()
    assert float(norm.update(torch.rand(100) * 0.1)) == 1.0
    fresh = ReturnNormalizer()
    assert float(fresh.update(torch.linspace(0, 100, 1001))) == pytest.approx(90.0)


@pytest.mark.parametrize("discrete", [True, False])
def test_actor_samples_are_valid_actions(discrete: bool) -> None:
    actor = Actor(feat=8, action_dim=3, discrete=discrete, hidden=16, layers=1)
    dist = actor(torch.randn(10, 8))
    a = dist.sample()
    assert a.shape == (10, 3)
    if discrete:
        assert torch.allclose(a.detach().sum(-1), torch.ones(10))
    else:
        assert float(a.abs().max()) <= 1.0
    assert dist.log_prob(a).shape == dist.entropy().shape == (10,)


@pytest.mark.parametrize("kind,shape", [("cnn", (64, 64, 3)), ("nature", (84, 84, 4)),
                                        ("mlp", (5,))])
def test_encoders_and_decoders_round_trip_shapes(kind: str, shape: tuple[int, ...]) -> None:
    enc, dec = build_codec(kind, shape, feat_dim=24, hidden=16, layers=1, cnn_depth=4)
    dtype = torch.float32 if kind == "mlp" else torch.uint8
    x = torch.zeros(2, 3, *shape, dtype=dtype)
    e = enc(x)
    assert e.shape == (2, 3, enc.out_dim)
    assert dec(torch.randn(2, 3, 24)).shape == (2, 3, *shape)
