"""The batched dream: batching must not change a rollout, and its knobs must act."""

from __future__ import annotations

import numpy as np
import torch

from dreamlab.data import EpisodeStore, make_latent_episode
from dreamlab.models.controller import ControllerSpec
from dreamlab.models.mdnrnn import MDNRNN, sample_mdn
from dreamlab.worldmodels.dream import DreamEnv, DreamStarts, dream_rollout

Z, H = 4, 8


def _model(seed: int = 0) -> MDNRNN:
    torch.manual_seed(seed)
    m = MDNRNN(Z, 2, H, 3).eval()
    with torch.no_grad():  # a done head that fires only in some states
        m.head.bias[-1] = -1.5
        m.head.weight[-1] *= 6.0
    return m


SPEC = ControllerSpec(Z + H, "discrete", 2)


def _inputs(n: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, SPEC.num_params, generator=g), torch.randn(n, Z, generator=g),
            torch.randint(0, 2**62, (n,), generator=g))


def test_batched_dream_equals_rollouts_one_at_a_time() -> None:
    m = _model()
    params, z0, seeds = _inputs(8)
    # 150 steps cross two noise chunks (64 steps each); some rollouts end early
    batched, lengths = dream_rollout(params, SPEC, m, z0, 1.2, 150, seeds=seeds,
                                     done_threshold=0.6, with_lengths=True)
    assert 0 < lengths.min() < 150 and lengths.max() > 64  # early ends and chunk crossing
    for i in range(8):
        alone, n_alone = dream_rollout(params[i : i + 1], SPEC, m, z0[i : i + 1], 1.2, 150,
                                       seeds=seeds[i : i + 1], done_threshold=0.6,
                                       with_lengths=True)
        assert int(n_alone[0]) == int(lengths[i])
        torch.testing.assert_close(alone[0], batched[i], rtol=1e-5, atol=1e-4)


def test_same_generator_same_returns_and_tau_changes_them() -> None:
    m = _model()
    params, z0, _ = _inputs(16)

    def run(tau: float) -> torch.Tensor:
        g = torch.Generator().manual_seed(5)
        return dream_rollout(params, SPEC, m, z0, tau, 60, g, done_threshold=0.6)

    assert torch.equal(run(1.0), run(1.0))
    assert not torch.equal(run(1.0), run(2.0))


def test_constant_reward_counts_steps_and_max_steps_caps() -> None:
    m = _model()
    params, z0, seeds = _inputs(5)
    r, n = dream_rollout(params, SPEC, m, z0, 1.0, 40, seeds=seeds, done_threshold=0.999999,
                         reward_per_step=1.0, with_lengths=True)
    assert torch.equal(r, n.float()) and int(n.max()) == 40


def test_sample_done_mode_is_deterministic() -> None:
    m = _model()
    params, z0, seeds = _inputs(6)
    a = dream_rollout(params, SPEC, m, z0, 1.0, 50, seeds=seeds, done_mode="sample")
    b = dream_rollout(params, SPEC, m, z0, 1.0, 50, seeds=seeds, done_mode="sample")
    assert torch.equal(a, b)


def test_low_temperature_picks_the_likely_component() -> None:
    logpi = torch.log(torch.tensor([[0.05, 0.9, 0.05]]))
    mu = torch.tensor([[[-5.0], [1.0], [7.0]]])
    logsigma = torch.full((1, 3, 1), -3.0)
    for u in (0.01, 0.5, 0.99):
        z = sample_mdn(logpi, mu, logsigma, 0.01, torch.tensor([u]), torch.zeros(1, 1))
        assert z.item() == 1.0


def test_dream_env_features_are_z_and_h() -> None:
    m = _model()
    _, z0, seeds = _inputs(3)
    env = DreamEnv(m, z0, seeds, 1.0, 10)
    f = env.features()
    assert f.shape == (3, Z + H) and torch.equal(f[:, :Z], z0) and not f[:, Z:].any()


def test_starts_from_latent_store(tmp_path) -> None:
    store = EpisodeStore(tmp_path / "latents", create=True)
    rng = np.random.default_rng(0)
    for t in (3, 5):
        store.append(make_latent_episode(
            rng.normal(size=(t + 1, Z)), np.full((t + 1, Z), -20.0), np.eye(2)[[0] * t],
            np.ones(t), np.eye(1, t, t - 1, dtype=bool)[0]))
    starts = DreamStarts.from_store(tmp_path / "latents")
    assert starts.constant_reward == 1.0 and starts.mu0.shape == (2, Z)
    z = starts.sample(10, torch.Generator().manual_seed(0))
    assert z.shape == (10, Z)
    # logvar -20 (state envs): starts are the stored first states themselves
    assert all(any(torch.allclose(row, m0, atol=1e-3) for m0 in starts.mu0) for row in z)


def test_dream_starts_at_v_mean_when_m_learnt_on_means(tmp_path) -> None:
    """cfg.mdnrnn_sample_z false: M saw V's means, and the real agent reads V's mean, so a
    dream must start at the mean too, not at mean + noise in latent dims V leaves unused."""
    store = EpisodeStore(tmp_path / "latents", create=True)
    rng = np.random.default_rng(1)
    store.append(make_latent_episode(rng.normal(size=(4, Z)), np.zeros((4, Z)),
                                     np.eye(2)[[0, 1, 0]], np.ones(3), np.array([0, 0, 1], bool)))
    mean_starts = DreamStarts.from_store(tmp_path / "latents", sample_z=False)
    noisy = DreamStarts.from_store(tmp_path / "latents", sample_z=True)
    z = mean_starts.sample(5, torch.Generator().manual_seed(0))
    assert torch.equal(z, mean_starts.mu0[[0] * 5])
    assert not torch.allclose(noisy.sample(5, torch.Generator().manual_seed(0)), z)
