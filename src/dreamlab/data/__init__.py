"""Data: the episode store, streaming datasets and the disk budget (DESIGN.md, "Layout")."""

from dreamlab.data.budget import (
    DiskBudget,
    check_collection_fits,
    check_disk_budget,
    estimate_collection_bytes,
    free_disk_bytes,
    human_bytes,
)
from dreamlab.data.datasets import FrameDataset, SequenceDataset, make_loader
from dreamlab.data.episode_store import EpisodeStore
from dreamlab.data.latents import LATENT_DTYPE, make_latent_episode

__all__ = [
    "LATENT_DTYPE",
    "DiskBudget",
    "EpisodeStore",
    "FrameDataset",
    "SequenceDataset",
    "check_collection_fits",
    "check_disk_budget",
    "estimate_collection_bytes",
    "free_disk_bytes",
    "human_bytes",
    "make_latent_episode",
    "make_loader",
]
