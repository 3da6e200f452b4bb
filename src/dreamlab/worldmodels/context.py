"""What every World Models stage receives: the config, the run's paths, logger and device.

Stages are functions from files to files (STYLE.md): `run_<stage>(ctx) -> metrics`.
They read their inputs through `ctx.paths`, check them at the top with
`ctx.require(...)`, write outputs atomically, and keep their own resumable snapshot
under `ctx.paths.snapshots` so a stage cut off mid-way continues where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamlab.config import WorldModelConfig
from dreamlab.errors import StageInputError
from dreamlab.runtime.device import DeviceSetup
from dreamlab.runtime.logger import RunLogger
from dreamlab.runtime.rundir import RunLayout
from dreamlab.runtime.seeding import derive_seed
from dreamlab.runtime.snapshot import SNAPSHOT_EVERY_S
from dreamlab.runtime.stop import StopRule


@dataclass(frozen=True)
class RunPaths(RunLayout):
    """World Models' files beside the common layout (names kept from seeds/002)."""

    @property
    def raw_data(self) -> Path:
        return self.root / "raw_data"

    @property
    def vae(self) -> Path:
        return self.root / "vae.pt"

    @property
    def latents(self) -> Path:
        return self.root / "latents"

    @property
    def mdnrnn(self) -> Path:
        return self.root / "mdnrnn.pt"

    @property
    def controller(self) -> Path:
        return self.root / "controller_best.pt"

    @property
    def cma_state(self) -> Path:
        return self.root / "cma_state"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def summary_csv(self) -> Path:
        return self.root / "pipeline_summary.csv"

    def snapshot(self, stage: str) -> Path:
        return self.snapshots / f"{stage}.pt"


@dataclass
class StageContext:
    cfg: WorldModelConfig
    paths: RunPaths
    logger: RunLogger
    device: DeviceSetup
    env_info: Any  # dreamlab.envs.EnvInfo (kept loose so runtime never imports envs)
    iteration: int = 0  # paper section 5 iterative training: 0 for the first pass
    # When the controller stops early (a curriculum's target, patience, generation cap):
    # typed, so a misspelt criterion is an error, not early stopping silently off.
    stop: StopRule = field(default_factory=StopRule)
    snapshot_every_s: float = SNAPSHOT_EVERY_S  # V and M training snapshots (tests: 0)

    def stage_fingerprint(self, stage: str) -> dict[str, Any]:
        """The config part of a stage's snapshot fingerprint, from its row of the stage
        table (training-length fields left out: a snapshot may be trained on from)."""
        from dreamlab.worldmodels.pipeline import stage_table

        return stage_table()[stage].snapshot_fingerprint(self.cfg, self.iteration)

    @property
    def uses_vae(self) -> bool:
        """State-vector envs skip V: z is the normalised state (DESIGN.md)."""
        return self.env_info.obs == "pixels"

    def seed(self, *names: object) -> int:
        """Seed of one random source, stable across resumes and stage-only runs."""
        return derive_seed(self.cfg.seed, self.iteration, *names)

    @property
    def snapshot_prefix(self) -> str:
        """Name prefix of this pass's controller snapshots: pass 0 writes gen_XXXX.json
        (as before iterations existed), pass k >= 1 passk_gen_XXXX.json beside them."""
        return f"pass{self.iteration}_" if self.iteration else ""

    def open_store(self, path: Path, stage: str, what: str) -> Any:
        """The episode store at `path`, which stage `stage` writes; missing or empty is
        one StageInputError naming that stage."""
        from dreamlab.data import EpisodeStore

        self.require(path, stage, what)
        store = EpisodeStore(path)
        if len(store) == 0:
            raise StageInputError(f"{path} holds no episodes",
                                  f"run `--stage {stage}` first (or `--stage all`)")
        return store

    def require(self, path: Path, stage: str, what: str) -> None:
        """One clear line naming the stage to run first when an input is missing."""
        if not path.exists():
            raise StageInputError(
                f"{what} ({path.name}) not found in {self.paths.root}",
                f"run `--stage {stage}` first (or `--stage all`)",
            )
