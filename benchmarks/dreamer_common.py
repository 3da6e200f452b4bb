"""Provenance every Dreamer benchmark records beside its figures: the commit, the CPU
model and the load average (the 2-core machine is shared, so a slow figure may be load)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                         text=True)
    return out.stdout.strip() or "unknown"


def provenance() -> dict[str, Any]:
    return {"commit": commit(), "cpu_model": cpu_model(), "loadavg": list(os.getloadavg())}
