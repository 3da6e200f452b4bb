"""Job functions for the executor tests, in a module spawned workers can import."""

from __future__ import annotations

import os

import numpy as np

_STATE: dict[str, int] = {}


def init(offset: int) -> None:
    _STATE["offset"] = offset


def seeded_job(seed: int) -> tuple[int, float, int]:
    """A job's result depends on its seed only, never on the worker that ran it."""
    rng = np.random.default_rng(seed)
    return seed, float(rng.standard_normal()) + _STATE["offset"], os.getpid()


def die(code: int) -> None:
    os._exit(code)
