"""Provenance every Dreamer benchmark records beside its figures: the commit, the CPU
model and the load average (the 2-core machine is shared, so a slow figure may be load)."""

from __future__ import annotations

import os
from typing import Any

from _common import REPO, cpu_model, git_head

__all__ = ["REPO", "provenance"]


def provenance() -> dict[str, Any]:
    return {"commit": git_head(), "cpu_model": cpu_model(), "loadavg": list(os.getloadavg())}
