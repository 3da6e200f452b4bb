"""Job functions for the Ray executor tests, importable by Ray's worker processes."""

from __future__ import annotations

import os

from _jobs import seeded_job


def die_once(job: tuple[int, str]) -> tuple[int, float, int]:
    """Kill this worker the first time any job runs (a marker file records that it did),
    then behave like seeded_job: a worker lost in the middle of a generation."""
    seed, marker = job
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return seeded_job(seed)


def noop(job: int) -> int:
    return job
