"""The networks: pure nn.Modules and their losses, no I/O (DESIGN.md, "Layout")."""

from dreamlab.models.mdnrnn import MDNRNN, MDNOutput, mdn_loss, sample_mdn
from dreamlab.models.vae import ConvVAE, vae_loss

__all__ = ["MDNRNN", "ConvVAE", "MDNOutput", "mdn_loss", "sample_mdn", "vae_loss"]
