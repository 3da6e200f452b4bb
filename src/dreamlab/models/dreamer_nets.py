"""Dreamer's building blocks: symlog, two-hot heads, MLPs, and the observation encoders
and decoders (Hafner et al. 2023, DreamerV3, sections 2 and appendix B).

Pure nn.Modules and functions, no I/O. Pixel inputs arrive as uint8 (..., H, W, C) and
state inputs as float (..., D); each encoder maps them to one flat embedding per step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def symlog(x: torch.Tensor) -> torch.Tensor:
    """sign(x) log(1 + |x|): squashes large rewards and observations without clipping
    (DreamerV3 eq. 1), so one set of hyperparameters fits every reward scale."""
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.expm1(x.abs())


class TwoHot:
    """A categorical over fixed bins in symlog space read as a scalar (DreamerV3 eq. 9-10).

    Regressing a return as classification keeps the gradient scale independent of the
    return's size; the target puts weight on the two bins around symlog(y).
    """

    def __init__(self, bins: int, low: float = -20.0, high: float = 20.0) -> None:
        self.bins = torch.linspace(low, high, bins)

    def _bins(self, like: torch.Tensor) -> torch.Tensor:
        if self.bins.device != like.device:
            self.bins = self.bins.to(like.device)
        return self.bins

    def target(self, y: torch.Tensor) -> torch.Tensor:
        """(...,) values -> (..., bins) two-hot weights of symlog(y)."""
        bins = self._bins(y)
        x = symlog(y.float()).clamp(bins[0], bins[-1])
        hi = torch.searchsorted(bins, x.contiguous(), right=False).clamp(1, len(bins) - 1)
        lo = hi - 1
        w_hi = (x - bins[lo]) / (bins[hi] - bins[lo])
        out = torch.zeros(*x.shape, len(bins), device=x.device)
        out.scatter_(-1, lo.unsqueeze(-1), (1 - w_hi).unsqueeze(-1))
        out.scatter_add_(-1, hi.unsqueeze(-1), w_hi.unsqueeze(-1))
        return out

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the logits against two-hot(y), per element."""
        return -(self.target(y) * F.log_softmax(logits.float(), -1)).sum(-1)

    def mean(self, logits: torch.Tensor) -> torch.Tensor:
        bins = self._bins(logits)
        return symexp((F.softmax(logits.float(), -1) * bins).sum(-1))


def mlp(inp: int, hidden: int, layers: int, out: int | None = None,
        zero_out: bool = False) -> nn.Sequential:
    """Linear + LayerNorm + SiLU blocks (DreamerV3's MLP), then an optional output layer;
    `zero_out` zero-initialises it so reward and value start at exactly 0 and early
    predictions cannot be wildly off (DreamerV3 appendix)."""
    mods: list[nn.Module] = []
    for i in range(layers):
        mods += [nn.Linear(inp if i == 0 else hidden, hidden, bias=False),
                 nn.LayerNorm(hidden), nn.SiLU()]
    if out is not None:
        last = nn.Linear(hidden if layers else inp, out)
        if zero_out:
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        mods.append(last)
    return nn.Sequential(*mods)


def _to_image(obs: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """uint8 (..., H, W, C) -> float (N, C, H, W) in [-0.5, 0.5], and the leading shape."""
    lead = obs.shape[:-3]
    x = obs.reshape(-1, *obs.shape[-3:]).permute(0, 3, 1, 2).float() / 255.0 - 0.5
    return x, tuple(lead)


class ChannelNorm(nn.Module):
    """LayerNorm over channels of an NCHW map (DreamerV3 normalises every conv layer)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvEncoder(nn.Module):
    """Stride-2 4x4 convs doubling the depth until the map is small (DreamerV3 CNN)."""

    def __init__(self, img_size: int, channels: int, depth: int) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        size, ch, d = img_size, channels, depth
        while size > 6 and size % 2 == 0:
            mods += [nn.Conv2d(ch, d, 4, 2, 1), ChannelNorm(d), nn.SiLU()]
            ch, d, size = d, d * 2, size // 2
        self.net = nn.Sequential(*mods)
        self.out_shape = (ch, size, size)
        self.out_dim = ch * size * size

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x, lead = _to_image(obs)
        return self.net(x).reshape(*lead, -1)


class NatureEncoder(nn.Module):
    """Mnih et al. 2015's CNN ([32, 64, 64] -> 512) for 84x84 stacks, as in seeds/004."""

    def __init__(self, img_size: int, channels: int, out: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, 1), nn.ReLU(), nn.Flatten())
        with torch.no_grad():
            flat = self.net(torch.zeros(1, channels, img_size, img_size)).shape[-1]
        self.head = nn.Sequential(nn.Linear(flat, out), nn.ReLU())
        self.out_dim = out

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x, lead = _to_image(obs)
        return self.head(self.net(x)).reshape(*lead, -1)


class MLPEncoder(nn.Module):
    """State vectors through symlog, then an MLP: symlog makes unnormalised inputs of any
    scale safe without per-env statistics (DreamerV3 section 2)."""

    def __init__(self, dim: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.net = mlp(dim, hidden, max(1, layers))
        self.out_dim = hidden

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(symlog(obs.float()))


class ConvDecoder(nn.Module):
    """The mirror of ConvEncoder: features -> mean image in [-0.5, 0.5] space."""

    def __init__(self, feat: int, enc: ConvEncoder, channels: int) -> None:
        super().__init__()
        ch, size, _ = enc.out_shape
        self.start = (ch, size, size)
        self.fc = nn.Linear(feat, ch * size * size)
        mods: list[nn.Module] = []
        n_up = sum(isinstance(m, nn.Conv2d) for m in enc.net)
        for i in range(n_up):
            last = i == n_up - 1
            out = channels if last else ch // 2
            mods.append(nn.ConvTranspose2d(ch, out, 4, 2, 1))
            if not last:
                mods += [ChannelNorm(out), nn.SiLU()]
            ch = out
        self.net = nn.Sequential(*mods)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        lead = feat.shape[:-1]
        x = self.fc(feat.reshape(-1, feat.shape[-1])).reshape(-1, *self.start)
        x = self.net(x).permute(0, 2, 3, 1)
        return x.reshape(*lead, *x.shape[1:])


class NatureDecoder(nn.Module):
    """84x84 decoder for the NatureCNN encoder: 7x7 -> 9 -> 20 -> 84 by transposed convs."""

    def __init__(self, feat: int, channels: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(feat, 64 * 7 * 7), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(64, 64, 3, 1), nn.ReLU(), nn.ConvTranspose2d(64, 32, 4, 2),
            nn.ReLU(), nn.ConvTranspose2d(32, channels, 8, 4))

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        lead = feat.shape[:-1]
        x = self.net(self.fc(feat.reshape(-1, feat.shape[-1])).reshape(-1, 64, 7, 7))
        x = x.permute(0, 2, 3, 1)
        return x.reshape(*lead, *x.shape[1:])


class MLPDecoder(nn.Module):
    """Features -> symlog(state): the loss compares in symlog space."""

    def __init__(self, feat: int, dim: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.net = mlp(feat, hidden, max(1, layers), dim)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(feat)


def build_codec(kind: str, obs_shape: tuple[int, ...], feat_dim: int, hidden: int,
                layers: int, cnn_depth: int) -> tuple[nn.Module, nn.Module]:
    """Encoder and decoder for `kind` (cnn, nature or mlp) and an obs shape."""
    if kind == "mlp":
        enc = MLPEncoder(obs_shape[0], hidden, layers)
        return enc, MLPDecoder(feat_dim, obs_shape[0], hidden, layers)
    size, channels = obs_shape[0], obs_shape[-1]
    if kind == "nature":
        if size != 84:
            raise ValueError(f"the NatureCNN codec needs 84x84 frames, got {size}")
        return NatureEncoder(size, channels), NatureDecoder(feat_dim, channels)
    conv = ConvEncoder(size, channels, cnn_depth)
    return conv, ConvDecoder(feat_dim, conv, channels)
