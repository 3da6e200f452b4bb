"""The latent store's episode layout, shared by the encode stage and SequenceDataset.

Latents are stored as float16 (issue: storage floor, item 4): half the bytes of float32, and
the VAE's mu/logvar need nowhere near float32's precision for the MDN-RNN's inputs.
SequenceDataset casts them back to float32.
"""

from __future__ import annotations

import numpy as np

LATENT_DTYPE = np.float16


def make_latent_episode(
    mu: np.ndarray,
    logvar: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    terminated: np.ndarray,
) -> dict[str, np.ndarray]:
    """One latent-store episode: mu/logvar (T+1, z) float16, actions encoded (T, A) float32."""
    actions = np.asarray(actions, dtype=np.float32)
    if actions.ndim == 1:
        actions = actions[:, None]
    return {
        "mu": np.asarray(mu, dtype=LATENT_DTYPE),
        "logvar": np.asarray(logvar, dtype=LATENT_DTYPE),
        "actions": actions,
        "rewards": np.asarray(rewards, dtype=np.float32),
        "terminated": np.asarray(terminated, dtype=bool),
    }
