"""manifest.json: what the run is and which of its files are valid (DESIGN.md principle 2).

It records the resolved config, library versions, seed, host and user, and per stage
its status, seconds, outputs with sizes and checksums, and a few metrics. A stage's
outputs are trusted on resume only if they still match the recorded checksums.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import platform
import socket
import sys
from pathlib import Path
from typing import Any

from dreamlab.errors import CheckpointError
from dreamlab.runtime.atomic import atomic_write_json, read_json, sha256_file

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def library_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    # Read from the installed metadata, not by importing: importing cma pulls in scipy
    # (~1.7 s a run, measured by the PPO work), and a version needs no import.
    from importlib.metadata import PackageNotFoundError, version

    for name in ("dreamlab", "torch", "numpy", "gymnasium", "cma", "ale-py"):
        try:
            out[name.replace("-", "_")] = version(name)
        except PackageNotFoundError:  # optional libraries
            continue
    return out


def describe_file(path: Path) -> dict[str, Any]:
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)}


def describe_output(path: Path) -> dict[str, Any]:
    """A file gets a checksum; a directory (an episode store) gets its size and file
    count, and is verified by its own index when loaded."""
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")]
        return {"bytes": sum(p.stat().st_size for p in files), "files": len(files), "dir": True}
    return describe_file(path)


class Manifest:
    def __init__(self, run_dir: Path, data: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.data = data

    @property
    def path(self) -> Path:
        return self.run_dir / MANIFEST_NAME

    @classmethod
    def load_or_create(cls, run_dir: Path, config: dict[str, Any], seed: int,
                       algo: str = "worldmodels") -> Manifest:
        path = run_dir / MANIFEST_NAME
        if path.exists():
            return cls.load(run_dir)
        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no passwd entry in some containers
            user = "unknown"
        data = {
            "format_version": FORMAT_VERSION,
            "algo": algo,
            "status": "running",
            "created": _now(),
            "config": config,
            "seed": seed,
            "host": socket.gethostname(),
            "user": user,
            "versions": library_versions(),
            "stages": {},
        }
        manifest = cls(run_dir, data)
        manifest.save()
        return manifest

    @classmethod
    def load(cls, run_dir: Path) -> Manifest:
        path = run_dir / MANIFEST_NAME
        try:
            data = read_json(path)
        except (OSError, ValueError) as exc:
            raise CheckpointError(
                f"{path} is missing or not valid JSON", "delete the run dir or pick another"
            ) from exc
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"{path} is not a dreamlab manifest (or a newer format)")
        data.setdefault("stages", {})
        return cls(run_dir, data)

    def save(self) -> None:
        self.data["updated"] = _now()
        atomic_write_json(self.path, self.data)

    def set_status(self, status: str, outputs: list[Path] | None = None,
                   **fields: Any) -> None:
        """The run's own status (running, done, failed, interrupted) and, for step
        trainers, its outputs with sizes and checksums."""
        self.data["status"] = status
        if outputs is not None:
            self.data["outputs"] = {str(p.relative_to(self.run_dir)): describe_output(p)
                                    for p in outputs if p.exists()}
        self.data.update(fields)
        self.save()

    def stage(self, name: str) -> dict[str, Any]:
        return self.data["stages"].get(name, {})

    def status(self, name: str) -> str:
        return self.stage(name).get("status", "pending")

    def mark_running(self, name: str, fingerprint: dict[str, Any] | None = None) -> None:
        entry = self.data["stages"].setdefault(name, {})
        entry.update(status="running", started=_now())
        if fingerprint is not None:
            entry["fingerprint"] = fingerprint
        entry.setdefault("attempts", 0)
        entry["attempts"] += 1
        self.save()

    def mark_done(self, name: str, outputs: list[Path], seconds: float,
                  metrics: dict[str, Any], status: str = "done") -> None:
        entry = self.data["stages"].setdefault(name, {})
        entry.update(
            status=status,
            finished=_now(),
            seconds=round(seconds, 3),
            outputs={str(p.relative_to(self.run_dir)): describe_output(p) for p in outputs},
            metrics=metrics,
        )
        self.save()

    def mark_failed(self, name: str, reason: str) -> None:
        entry = self.data["stages"].setdefault(name, {})
        entry.update(status="failed", reason=reason, finished=_now())
        self.save()

    def invalidate(self, name: str) -> None:
        if name in self.data["stages"]:
            self.data["stages"][name]["status"] = "stale"
            self.save()

    def verify_outputs(self, name: str) -> str | None:
        """None when every recorded output still matches; otherwise what is wrong."""
        entry = self.stage(name)
        for rel, desc in entry.get("outputs", {}).items():
            path = self.run_dir / rel
            if not path.exists():
                return f"{rel} is missing"
            if desc.get("dir"):
                continue
            if path.stat().st_size != desc["bytes"]:
                return f"{rel} has changed size (truncated?)"
            if sha256_file(path) != desc["sha256"]:
                return f"{rel} does not match its checksum"
        return None
