"""V: the convolutional VAE of World Models (Ha & Schmidhuber 2018, section 2.1 and A.1).

V compresses each frame into a small latent z so that M and C work on 32 numbers instead
of 12,288 pixels. The architecture is the paper's (appendix A.1): four stride-2 convolutions
with 32-64-128-256 channels and kernel 4, a dense layer to mu and logvar, and a decoder of
four stride-2 transposed convolutions ending in a sigmoid.

Two sizes are supported (--vae-img-size 64, the paper's, and 32). Nothing is hard-coded
to 64 px: the encoder's flattened size is computed, and the decoder's kernels are chosen so
that it reproduces the input size exactly (5, 5, 6, 6 at 64 px, as in the paper).
This module is a pure nn.Module and its loss: no files, datasets or devices (STYLE.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from dreamlab.errors import CheckpointError

VAE_FORMAT = "dreamlab.vae/1"
_STRIDE = 2
_ENC_KERNEL = 4  # paper A.1: every encoder convolution is 4x4, stride 2


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def encoder_padding(img_size: int, n_layers: int) -> int:
    """Padding of the encoder's convolutions.

    The paper uses none (64 -> 31 -> 14 -> 6 -> 2). A 32 px image would shrink to nothing
    that way, so smaller images get padding 1 (32 -> 16 -> 8 -> 4 -> 2), which keeps the
    paper's 2x2x256 = 1024 features before the dense layer.
    """
    for padding in (0, 1):
        size = img_size
        for _ in range(n_layers):
            size = _conv_out(size, _ENC_KERNEL, _STRIDE, padding)
        if size >= 2:
            return padding
    raise ValueError(f"img_size {img_size} is too small for {n_layers} stride-2 convolutions")


def decoder_kernels(img_size: int, n_layers: int) -> tuple[int, ...]:
    """Kernel sizes of the transposed convolutions that grow 1x1 to exactly img_size.

    A stride-2 transposed convolution without padding maps s to 2s - 2 + k, so the output
    size is fixed by the kernels. Among non-decreasing kernels between the stride (smaller
    ones leave holes, the checkerboard artefact) and 8, the most even choice wins; at 64 px
    the only solution is the paper's (5, 5, 6, 6), at 32 px it is (3, 3, 3, 4).
    """
    best: tuple[int, ...] | None = None
    for kernels in itertools.combinations_with_replacement(range(_STRIDE, 9), n_layers):
        size = 1
        for k in kernels:
            size = (size - 1) * _STRIDE + k
        if size != img_size:
            continue
        if best is None or (max(kernels) - min(kernels), -sum(kernels)) < (
            max(best) - min(best),
            -sum(best),
        ):
            best = kernels
    if best is None:
        raise ValueError(f"no decoder of {n_layers} stride-2 layers reproduces {img_size} px")
    return best


class ConvVAE(nn.Module):
    """The paper's ConvVAE. Input: float (B, C, H, W) in [0, 1]; H = W = img_size."""

    def __init__(
        self,
        img_size: int = 64,
        z_dim: int = 32,
        channels: Sequence[int] = (32, 64, 128, 256),
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.img_size = int(img_size)
        self.z_dim = int(z_dim)
        self.channels = tuple(int(c) for c in channels)
        self.in_channels = int(in_channels)
        n = len(self.channels)

        padding = encoder_padding(self.img_size, n)
        layers: list[nn.Module] = []
        prev = self.in_channels
        for ch in self.channels:
            layers += [nn.Conv2d(prev, ch, _ENC_KERNEL, _STRIDE, padding), nn.ReLU()]
            prev = ch
        self.encoder = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():  # computed, so 32 px and 64 px both work (no magic 1024)
            probe = torch.zeros(1, self.in_channels, self.img_size, self.img_size)
            self.flat_dim = int(self.encoder(probe).shape[1])
        self.fc_mu = nn.Linear(self.flat_dim, self.z_dim)
        self.fc_logvar = nn.Linear(self.flat_dim, self.z_dim)

        # paper A.1: z -> dense 1024 -> 1x1x1024 -> deconvs 128, 64, 32, 3 (mirror of V)
        self.fc_dec = nn.Linear(self.z_dim, self.flat_dim)
        kernels = decoder_kernels(self.img_size, n)
        dec_channels = [*reversed(self.channels[:-1]), self.in_channels]
        deconvs: list[nn.Module] = []
        prev = self.flat_dim
        for i, (ch, k) in enumerate(zip(dec_channels, kernels, strict=True)):
            deconvs.append(nn.ConvTranspose2d(prev, ch, k, _STRIDE))
            deconvs.append(nn.Sigmoid() if i == n - 1 else nn.ReLU())
            prev = ch
        self.decoder = nn.Sequential(*deconvs)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, H, W) in [0, 1] -> mu, logvar (B, z_dim)."""
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, z_dim) -> (B, C, H, W) in [0, 1]."""
        h = self.fc_dec(z).view(-1, self.flat_dim, 1, 1)
        return self.decoder(h)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps, so the sampling step has a gradient (Kingma & Welling)."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def hparams(self) -> dict[str, Any]:
        return {
            "img_size": self.img_size,
            "z_dim": self.z_dim,
            "channels": list(self.channels),
            "in_channels": self.in_channels,
        }

    def to_checkpoint(self) -> dict[str, Any]:
        """A dict of tensors and plain values: loads with torch.load(weights_only=True)."""
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        return {"format": VAE_FORMAT, "hparams": self.hparams(), "state_dict": state}

    @classmethod
    def from_checkpoint(cls, ckpt: Mapping[str, Any]) -> ConvVAE:
        """Rebuild a ConvVAE; a foreign or mismatched dict is one CheckpointError line."""
        hparams, state = check_checkpoint_format(ckpt, VAE_FORMAT, "VAE")
        try:
            model = cls(**hparams)
            model.load_state_dict(state)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise CheckpointError(
                f"VAE checkpoint does not match its own hyperparameters ({type(exc).__name__})",
                "delete vae.pt and re-run `--stage vae`",
            ) from exc
        return model


def check_checkpoint_format(
    ckpt: Any, fmt: str, what: str
) -> tuple[dict[str, Any], Mapping[str, torch.Tensor]]:
    """The hparams and state dict of a dreamlab checkpoint of format `fmt`."""
    if not isinstance(ckpt, Mapping) or ckpt.get("format") != fmt:
        found = ckpt.get("format") if isinstance(ckpt, Mapping) else type(ckpt).__name__
        raise CheckpointError(
            f"not a dreamlab {what} checkpoint (format {found!r}, expected {fmt!r})",
            "point at a file written by this version of dreamlab, or re-run the stage",
        )
    hparams, state = ckpt.get("hparams"), ckpt.get("state_dict")
    if not isinstance(hparams, Mapping) or not isinstance(state, Mapping):
        raise CheckpointError(f"{what} checkpoint lacks hparams or state_dict",
                              "re-run the stage that writes it")
    return dict(hparams), state


def vae_loss(
    recon: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    kl_tolerance: float = 0.5,
    kl_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The paper code's VAE loss; returns (loss, recon_loss, kl).

    recon_loss: squared error summed over each image's pixels, averaged over the batch.
    kl: KL(q(z|x) || N(0, I)) per image, averaged over the batch (the raw value, for logs).
    loss = recon_loss + kl_weight * mean(max(kl_i, kl_tolerance * z_dim)): the "free bits"
    floor of the paper's code stops the optimiser squeezing the KL below what the latent
    needs to carry, which would blur the reconstructions.
    Computed in float32 whatever autocast did to the inputs.
    """
    recon, x = recon.float(), x.float()
    mu, logvar = mu.float(), logvar.float()
    recon_loss = (recon - x).pow(2).flatten(1).sum(dim=1).mean()
    kl_per_image = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
    floor = kl_tolerance * mu.shape[1]
    kl_clamped = torch.clamp(kl_per_image, min=floor).mean()
    loss = recon_loss + kl_weight * kl_clamped
    return loss, recon_loss, kl_per_image.mean()
