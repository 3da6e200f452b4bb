"""MDN-RNN: shapes, step == forward, learning, masking, temperature, checkpoints."""

import pytest
import torch

from dreamlab.errors import CheckpointError
from dreamlab.models.mdnrnn import MDNRNN, MDNOutput, mdn_loss, sample_mdn
from dreamlab.models.vae import ConvVAE
from dreamlab.runtime.device import torch_threads


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and do not stall when the CPU is shared."""
    with torch_threads(1):
        yield

Z, A, H, K = 4, 2, 32, 3


def toy_batch(b: int = 16, t: int = 10, seed: int = 0) -> dict[str, torch.Tensor]:
    """z_{t+1} = 0.8 z_t + action effect; reward = z[0]; done when z[1] > 1."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(b, t + 1, Z, generator=g)
    a = torch.nn.functional.one_hot(torch.randint(0, A, (b, t), generator=g), A).float()
    for s in range(t):
        z[:, s + 1] = 0.8 * z[:, s] + 0.5 * (a[:, s, :1] - 0.5) + 0.05 * torch.randn(
            b, Z, generator=g)
    return {
        "z": z[:, :-1], "actions": a, "z_next": z[:, 1:], "rewards": z[:, :-1, 0],
        "terminated": (z[:, 1:, 1] > 1.0).float(), "mask": torch.ones(b, t),
    }


def test_forward_shapes_and_log_softmax() -> None:
    model = MDNRNN(Z, A, hidden=H, n_gaussians=K)
    out, (h, c) = model(torch.randn(5, 7, Z), torch.randn(5, 7, A))
    assert out.logpi.shape == (5, 7, K)
    assert out.mu.shape == out.logsigma.shape == (5, 7, K, Z)
    assert out.reward.shape == out.done_logit.shape == (5, 7)
    assert h.shape == c.shape == (1, 5, H)
    assert torch.allclose(out.logpi.exp().sum(-1), torch.ones(5, 7), atol=1e-5)


def test_step_equals_forward_one_step_at_a_time() -> None:
    torch.manual_seed(0)
    model = MDNRNN(Z, A, hidden=H, n_gaussians=K)
    z, a = torch.randn(3, 6, Z), torch.randn(3, 6, A)
    full, full_state = model(z, a)
    state = model.initial_state(3, "cpu")
    for t in range(6):
        out, state = model.step(z[:, t], a[:, t], state)
        for got, want in zip(out, full, strict=True):
            assert torch.allclose(got, want[:, t], atol=1e-6)
    assert torch.allclose(state[0], full_state[0], atol=1e-6)


def test_loss_falls_on_tiny_data() -> None:
    torch.manual_seed(0)
    model = MDNRNN(Z, A, hidden=H, n_gaussians=K)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    data = toy_batch()
    first = None
    for _ in range(60):
        out, _ = model(data["z"], data["actions"])
        losses = mdn_loss(out, data["z_next"], data["rewards"], data["terminated"],
                          data["mask"], done_pos_weight=5.0)
        first = losses if first is None else first
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
    for key in ("loss", "nll", "reward_mse"):
        assert losses[key].item() < first[key].item(), key
    assert losses["loss"].item() < first["loss"].item() - 1.0


def test_masked_steps_do_not_count() -> None:
    torch.manual_seed(0)
    model = MDNRNN(Z, A, hidden=H, n_gaussians=K)
    data = toy_batch(b=4, t=6)
    data["mask"][:, 4:] = 0.0
    out, _ = model(data["z"], data["actions"])
    base = mdn_loss(out, data["z_next"], data["rewards"], data["terminated"], data["mask"])
    junk = {k: v.clone() for k, v in data.items()}
    junk["z_next"][:, 4:] = 1e3
    junk["rewards"][:, 4:] = -1e3
    junk["terminated"][:, 4:] = 1.0
    other = mdn_loss(out, junk["z_next"], junk["rewards"], junk["terminated"], junk["mask"])
    for key in base:
        assert torch.allclose(base[key], other[key]), key


def test_done_pos_weight_weights_terminations() -> None:
    out = MDNOutput(torch.zeros(1, 2, 1), torch.zeros(1, 2, 1, Z), torch.zeros(1, 2, 1, Z),
                    torch.zeros(1, 2), torch.zeros(1, 2))
    z, r, mask = torch.zeros(1, 2, Z), torch.zeros(1, 2), torch.ones(1, 2)
    done = torch.tensor([[0.0, 1.0]])
    light = mdn_loss(out, z, r, done, mask, done_pos_weight=1.0)["done_bce"]
    heavy = mdn_loss(out, z, r, done, mask, done_pos_weight=10.0)["done_bce"]
    assert heavy.item() == pytest.approx(light.item() * 11 / 2, rel=1e-5)


def _two_component_step(b: int) -> MDNOutput:
    logpi = torch.log(torch.tensor([0.7, 0.3])).expand(b, 2)
    mu = torch.tensor([[-2.0] * Z, [2.0] * Z]).expand(b, 2, Z)
    logsigma = torch.full((b, 2, Z), -1.0)
    return MDNOutput(logpi, mu, logsigma, torch.zeros(b), torch.zeros(b))


def _draw(out: MDNOutput, tau: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    b = out.mu.shape[0]
    return sample_mdn(out.logpi, out.mu, out.logsigma, tau, torch.rand(b, generator=g),
                      torch.randn(b, Z, generator=g))


def test_lower_temperature_gives_lower_variance() -> None:
    out = _two_component_step(20000)
    variances = []
    for tau in (0.1, 1.0, 1.5):
        z = _draw(out, tau, 0)
        assert z.shape == (20000, Z)
        variances.append(z.var().item())
    assert variances[0] < variances[1] < variances[2]
    assert variances[0] < 0.5  # nearly always the heavier component, with a tiny sigma


def test_component_frequencies_follow_the_mixture_weights() -> None:
    out = _two_component_step(20000)
    z = _draw(out, 1.0, 3)
    assert (z[:, 0] < 0).float().mean().item() == pytest.approx(0.7, abs=0.02)


def test_sampling_is_reproducible_from_its_noise() -> None:
    out = _two_component_step(64)
    assert torch.equal(_draw(out, 1.15, 7), _draw(out, 1.15, 7))
    assert not torch.equal(_draw(out, 1.15, 7), _draw(out, 1.15, 8))
    with pytest.raises(ValueError):
        _draw(out, 0.0, 7)


def test_checkpoint_round_trip_and_foreign_dicts(tmp_path) -> None:
    model = MDNRNN(Z, A, hidden=H, n_gaussians=K)
    torch.save(model.to_checkpoint(), tmp_path / "m.pt")
    again = MDNRNN.from_checkpoint(torch.load(tmp_path / "m.pt", weights_only=True))
    z, a = torch.randn(2, 3, Z), torch.randn(2, 3, A)
    assert torch.equal(again(z, a)[0].mu, model(z, a)[0].mu)
    with pytest.raises(CheckpointError, match="MDN-RNN"):
        MDNRNN.from_checkpoint(ConvVAE(img_size=32, z_dim=8).to_checkpoint())
    with pytest.raises(CheckpointError):
        MDNRNN.from_checkpoint({"state_dict": {}})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_dream_step_on_cuda_with_a_cuda_generator() -> None:
    model = MDNRNN(Z, A, hidden=H, n_gaussians=K).cuda()
    state = model.initial_state(8, "cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out, state = model.step(torch.randn(8, Z, device="cuda"),
                                torch.randn(8, A, device="cuda"), state)
    z = sample_mdn(out.logpi, out.mu, out.logsigma, 1.15, torch.rand(8, device="cuda"),
                   torch.randn(8, Z, device="cuda"))
    assert z.device.type == "cuda" and z.dtype == torch.float32 and z.shape == (8, Z)
