"""The run directory every algorithm writes (DESIGN.md principle 2):

    runs/<env>_<algo>/
      manifest.json  config.yaml  evaluation_results.json
      checkpoints/  logs/  plots/  videos/

An algorithm adds its own files beside these (World Models: raw_data/, vae.pt, ...), by
subclassing RunLayout, never by moving the common ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dreamlab.errors import DreamlabError
from dreamlab.runtime.atomic import atomic_write_text, read_json


@dataclass(frozen=True)
class RunLayout:
    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def config_yaml(self) -> Path:
        return self.root / "config.yaml"

    @property
    def evaluation(self) -> Path:
        return self.root / "evaluation_results.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    @property
    def videos(self) -> Path:
        return self.root / "videos"

    def make(self) -> None:
        for d in (self.root, self.checkpoints, self.logs, self.plots, self.videos):
            d.mkdir(parents=True, exist_ok=True)

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_text(self.config_yaml, yaml.safe_dump(config, sort_keys=False))


def read_run_algo(run_dir: str | Path) -> str:
    """Which algorithm made `run_dir`: the manifest's `algo` (World Models runs made before
    it was recorded have none). A path that is not a run is one line."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DreamlabError(f"{run_dir} is not a directory",
                            "pass a run directory that a dreamlab training command created")
    layout = RunLayout(run_dir)
    if not layout.manifest.exists():
        raise DreamlabError(f"{run_dir} holds no manifest.json, so it is not a dreamlab run",
                            "pass a run directory that a dreamlab training command created")
    data = read_json(layout.manifest)
    return str(data.get("algo", "worldmodels")) if isinstance(data, dict) else "worldmodels"


def load_run_config(run_dir: str | Path, cls: type) -> Any:
    """The config a run was made with, from its config.yaml."""
    from dreamlab.config.base import load_yaml

    layout = RunLayout(Path(run_dir))
    if not layout.config_yaml.exists():
        raise DreamlabError(f"{run_dir} holds no config.yaml",
                            "pass a run directory that a dreamlab training command created")
    values = load_yaml(layout.config_yaml, cls)
    values["checkpoint_dir"] = str(run_dir)
    return cls(**values)
