"""Seeding. The same --seed on the CPU gives identical losses, fitness and controller
(issue 2 item 8): every random source is derived from the run seed and the stage name,
so re-running one stage alone reproduces it."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import torch


def derive_seed(seed: int, *names: object) -> int:
    """A stable 31-bit seed from the run seed and a path of names (stable across runs,
    unlike hash())."""
    text = ":".join([str(seed), *map(str, names)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def torch_generator(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g
