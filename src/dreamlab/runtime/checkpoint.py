"""Step checkpoints for trainers that run a loop of steps (Dreamer, PPO).

A checkpoint knows nothing of epochs: it is the models, optimisers, RNG states, counters
and whatever else the trainer hands over, written atomically as
`checkpoints/step_<N>.pt` with the newest N kept. `load_latest` returns the newest one
that loads (a file torn by a `kill -9` mid-write cannot exist, since writes are atomic,
but a corrupt or foreign file is skipped with a warning rather than resumed).
Everything loads with `torch.load(weights_only=True)`: no pickle of user classes.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dreamlab.runtime.atomic import atomic_torch_save, safe_torch_load

log = logging.getLogger("dreamlab")

CHECKPOINT_FORMAT = "dreamlab.step_checkpoint/1"
_NAME = re.compile(r"^step_(\d+)\.pt$")


def capture_rng_state() -> dict[str, Any]:
    """Every global RNG a trainer may draw from, as weights_only-loadable values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": _python_state_to_tensor(random.getstate()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"],
                         npy["has_gauss"], npy["cached"]))
    random.setstate(_tensor_to_python_state(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _python_state_to_tensor(state: tuple) -> dict[str, Any]:
    version, internal, gauss = state
    return {"version": version, "internal": torch.tensor(internal, dtype=torch.int64),
            "gauss": gauss}


def _tensor_to_python_state(state: Mapping[str, Any]) -> tuple:
    return (state["version"], tuple(int(x) for x in state["internal"].tolist()), state["gauss"])


def generator_state(rng: np.random.Generator) -> dict[str, Any]:
    """A numpy Generator's state as plain values (PCG64's 128-bit ints as strings, since
    weights_only loading takes python ints only up to 64 bits reliably)."""
    return _stringify(rng.bit_generator.state)


def set_generator_state(rng: np.random.Generator, state: Mapping[str, Any]) -> None:
    rng.bit_generator.state = _unstringify(state)


def _stringify(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _stringify(v) for k, v in obj.items()}
    if isinstance(obj, int) and not isinstance(obj, bool):
        return f"int:{obj}"
    return obj


def _unstringify(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _unstringify(v) for k, v in obj.items()}
    if isinstance(obj, str) and obj.startswith("int:"):
        return int(obj[4:])
    return obj


class StepCheckpointer:
    """Writes and finds `step_<N>.pt` files in one directory, keeping the newest `keep`."""

    def __init__(self, directory: str | Path, keep: int = 2) -> None:
        self.directory = Path(directory)
        self.keep = max(1, keep)

    def path_for(self, step: int) -> Path:
        return self.directory / f"step_{step:012d}.pt"

    def existing(self) -> list[tuple[int, Path]]:
        """(step, path) of every checkpoint here, oldest first."""
        if not self.directory.exists():
            return []
        found = [(int(m.group(1)), p) for p in self.directory.iterdir()
                 if (m := _NAME.match(p.name))]
        return sorted(found)

    def save(self, step: int, state: Mapping[str, Any], rng: bool = True) -> Path:
        """Atomically write `state` (plus the global RNG states) as the checkpoint of
        `step`, then delete all but the newest `keep`."""
        body = {"format": CHECKPOINT_FORMAT, "step": int(step), **state}
        if rng:
            body["rng"] = capture_rng_state()
        path = self.path_for(step)
        atomic_torch_save(path, body)
        for _, old in self.existing()[:-self.keep]:
            old.unlink(missing_ok=True)
        return path

    def load_latest(self, map_location: Any = "cpu") -> dict[str, Any] | None:
        """The newest checkpoint that loads, or None when there is none."""
        for step, path in reversed(self.existing()):
            try:
                data = safe_torch_load(path, map_location=map_location)
            except Exception as exc:  # noqa: BLE001 - an older checkpoint may still load
                log.warning("checkpoint %s is unreadable (%s); trying an older one",
                            path.name, exc)
                continue
            if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
                log.warning("%s is not a dreamlab step checkpoint; skipped", path.name)
                continue
            log.info("resuming from %s (step %d)", path.name, step)
            return data
        return None
