"""ConvVAE and its loss: shapes at both image sizes, learning, free bits, checkpoints."""

import pytest
import torch

from dreamlab.errors import CheckpointError
from dreamlab.models.vae import ConvVAE, decoder_kernels, vae_loss
from dreamlab.runtime.device import torch_threads


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and do not stall when the CPU is shared."""
    with torch_threads(1):
        yield


def squares(n: int, size: int, seed: int = 0) -> torch.Tensor:
    """Frames with a bright square at a random place: structure a VAE can learn fast."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n, 3, size, size), 0.1)
    side = size // 4
    pos = torch.randint(0, size - side, (n, 2), generator=g)
    for i, (r, c) in enumerate(pos.tolist()):
        x[i, :, r : r + side, c : c + side] = torch.tensor([0.9, 0.6, 0.2])[:, None, None]
    return x


@pytest.mark.parametrize("img_size", [32, 64])
def test_shapes_at_both_image_sizes(img_size: int) -> None:
    model = ConvVAE(img_size=img_size, z_dim=8)
    x = torch.rand(2, 3, img_size, img_size)
    recon, mu, logvar = model(x)
    assert recon.shape == x.shape
    assert mu.shape == logvar.shape == (2, 8)
    assert model.decode(mu).shape == x.shape
    assert 0.0 <= recon.min().item() and recon.max().item() <= 1.0  # sigmoid output
    assert model.flat_dim == 1024  # 2x2x256 at both sizes, computed not hard-coded


def test_decoder_at_64_px_is_the_papers() -> None:
    assert decoder_kernels(64, 4) == (5, 5, 6, 6)  # paper appendix A.1


def test_reconstruction_error_falls_on_tiny_data() -> None:
    torch.manual_seed(0)
    data = squares(200, 32)
    model = ConvVAE(img_size=32, z_dim=8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        recon, mu, logvar = model(data[:64])
        first = vae_loss(recon, data[:64], mu, logvar)[1].item()
    for _ in range(30):
        batch = data[torch.randint(0, len(data), (32,), generator=g)]
        recon, mu, logvar = model(batch)
        loss, _, _ = vae_loss(recon, batch, mu, logvar, kl_tolerance=0.5)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        recon, mu, logvar = model(data[:64])
        last = vae_loss(recon, data[:64], mu, logvar)[1].item()
    assert last < 0.5 * first


def test_free_bits_floor_the_kl_term_but_not_the_reported_kl() -> None:
    x = torch.rand(4, 3, 32, 32)
    mu, logvar = torch.zeros(4, 8), torch.zeros(4, 8)  # posterior == prior: KL 0
    loss, recon, kl = vae_loss(x, x, mu, logvar, kl_tolerance=0.5, kl_weight=2.0)
    assert recon.item() == 0.0 and kl.item() == 0.0
    assert loss.item() == pytest.approx(2.0 * 0.5 * 8)  # the floor, weighted


def test_recon_loss_is_summed_per_image_and_averaged_over_the_batch() -> None:
    x = torch.zeros(2, 3, 32, 32)
    _, recon, _ = vae_loss(x + 0.5, x, torch.zeros(2, 4), torch.zeros(2, 4))
    assert recon.item() == pytest.approx(0.25 * 3 * 32 * 32)


def test_checkpoint_round_trip_through_weights_only_load(tmp_path) -> None:
    model = ConvVAE(img_size=32, z_dim=8)
    torch.save(model.to_checkpoint(), tmp_path / "vae.pt")
    again = ConvVAE.from_checkpoint(torch.load(tmp_path / "vae.pt", weights_only=True))
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(again.encode(x)[0], model.encode(x)[0])


def test_from_checkpoint_rejects_foreign_and_mismatched_dicts() -> None:
    with pytest.raises(CheckpointError, match="not a dreamlab VAE"):
        ConvVAE.from_checkpoint({"model": {}, "epoch": 3})
    with pytest.raises(CheckpointError):
        ConvVAE.from_checkpoint(["not", "a", "dict"])
    ckpt = ConvVAE(img_size=32, z_dim=8).to_checkpoint()
    ckpt["hparams"]["z_dim"] = 16  # weights no longer fit the declared size
    with pytest.raises(CheckpointError, match="does not match"):
        ConvVAE.from_checkpoint(ckpt)
