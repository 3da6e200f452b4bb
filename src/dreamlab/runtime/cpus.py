"""How many CPUs this process may use: the one place the project counts them."""

from __future__ import annotations

import os


def cpu_count() -> int:
    """CPUs in this process's affinity mask where the OS has one (a container or
    `taskset` may allow fewer than the machine has), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1
