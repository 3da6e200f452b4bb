"""The stage engine: run a table of stages over one run directory, verifying and skipping
finished work (DESIGN.md principle 2).

A stage is declared once, in one `Stage` row: what it runs, which stages' outputs it
reads, which files it writes, which of its files are scratch, and which config fields
its result depends on. The engine derives everything else from that row: the stage's
fingerprint (recorded in manifest.json and handed to the stage for its own snapshots), the
skip decision, the input check and the invalidation of later stages. Before issue 10 the
config dependencies lived in four hand-kept lists; one missing name silently skipped a
retrain.

For each stage: if the manifest says it finished with the same fingerprint and its outputs
still match their checksums, it is skipped; otherwise its inputs are verified (one line
naming the stage to run first), it runs (continuing from its own snapshot if it was cut
off with the same settings), its outputs are checksummed into the manifest, and every
later stage that had run is marked stale.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamlab.errors import StageInputError
from dreamlab.runtime.manifest import Manifest

log = logging.getLogger("dreamlab")

FINISHED = ("done", "skipped")


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Any], dict[str, Any]]  # ctx -> metrics
    needs: tuple[str, ...]  # stages whose outputs this one reads
    outputs: Callable[[Any], list[Path]]  # ctx -> files it writes
    fields: tuple[str, ...] = ()  # config fields its result depends on
    # Fields added after runs were already on disk: left out of the fingerprint at this
    # value, so a run made before they existed is not retrained for nothing.
    late_fields: Mapping[str, Any] = field(default_factory=dict)
    # Fields that matter only in later passes (iterative training, paper section 5).
    pass_fields: tuple[str, ...] = ()
    # Fields that only say how long to train (epochs): a stage snapshot made with fewer
    # may be trained on from, so they stay out of `snapshot_fingerprint`.
    extendable: tuple[str, ...] = ()
    # Resumable partial state of one attempt: kept when a cut-off stage continues,
    # removed when the stage must start over (its inputs or config changed).
    scratch: Callable[[Any], list[Path]] = lambda ctx: []

    def fingerprint(self, cfg: Any, iteration: int = 0) -> dict[str, Any]:
        out = {k: getattr(cfg, k) for k in self.fields
               if self.late_fields.get(k, _MISSING) != getattr(cfg, k)}
        if iteration >= 1:  # pass 0 keeps the fingerprints of runs made before passes
            out["iteration"] = iteration
            out.update({k: getattr(cfg, k) for k in self.pass_fields})
        return jsonable(out)

    def snapshot_fingerprint(self, cfg: Any, iteration: int = 0) -> dict[str, Any]:
        """What a stage's own training snapshot must match to be resumed."""
        out = self.fingerprint(cfg, iteration)
        return {k: v for k, v in out.items() if k not in self.extendable}


_MISSING = object()


@dataclass
class StageRun:
    """One stage to run now: its manifest key, its row, its context and fingerprint."""

    key: str
    stage: Stage
    ctx: Any
    fingerprint: dict[str, Any]
    needs: Sequence[str]  # manifest keys of the stages it reads
    later: Sequence[str]  # manifest keys to mark stale once it has run


def run_stage(manifest: Manifest, job: StageRun,
              setup: Callable[[], AbstractContextManager] = nullcontext,
              ) -> tuple[str, dict[str, Any]]:
    """Skip, or run, one stage; returns (status, metrics). `setup()` is entered around the
    stage itself (seeding, thread counts), never for a skipped stage."""
    key, stage = job.key, job.stage
    entry = manifest.stage(key)
    same_config = entry.get("fingerprint", job.fingerprint) == job.fingerprint
    if manifest.status(key) in FINISHED:
        problem = manifest.verify_outputs(key) if same_config else "its settings changed"
        if problem is None:
            log.info("%s: finished earlier, outputs verified; skipping", key)
            return "skipped (done)", {}
        log.warning("%s: %s; running it again", key, problem)
    check_needs(manifest, key, job.needs)
    continuing = manifest.status(key) in ("running", "failed") and same_config
    if not continuing:
        for path in stage.scratch(job.ctx):
            remove(path)
    with setup():
        manifest.mark_running(key, job.fingerprint)
        t0 = time.monotonic()
        try:
            metrics = stage.run(job.ctx) or {}
        except BaseException as exc:
            manifest.mark_failed(key, f"{type(exc).__name__}: {exc}")
            raise
        seconds = time.monotonic() - t0
    expected = stage.outputs(job.ctx)
    missing = [p.name for p in expected if not p.exists()]
    if missing:
        manifest.mark_failed(key, f"did not write {', '.join(missing)}")
        raise RuntimeError(f"stage {key} finished without writing {', '.join(missing)}")
    status = "skipped" if metrics.get("skipped") else "done"
    manifest.mark_done(key, expected, seconds, jsonable(metrics), status=status)
    for later in job.later:
        if manifest.status(later) in ("done", "skipped", "running", "failed"):
            manifest.invalidate(later)
    log.info("%s: %s in %.1fs %s", key, status, seconds, _short(metrics))
    return status, metrics


def check_needs(manifest: Manifest, name: str, needs: Sequence[str]) -> None:
    """One line naming the stage to run first when an input is unfinished or damaged."""
    for need in needs:
        if manifest.status(need) not in FINISHED:
            raise StageInputError(
                f"stage '{name}' needs the outputs of stage '{need}', which has not "
                f"finished in {manifest.run_dir}",
                f"run `--stage {need}` first (or `--stage all`)",
            )
        problem = manifest.verify_outputs(need)
        if problem is not None:
            raise StageInputError(
                f"stage '{name}' cannot use the outputs of '{need}': {problem}",
                f"re-run `--stage {need}`",
            )


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _short(metrics: dict[str, Any]) -> str:
    keys = [k for k, v in metrics.items() if isinstance(v, int | float)][:5]
    return " ".join(f"{k}={metrics[k]:.4g}" for k in keys)


def jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        try:
            return obj.item()
        except (ValueError, TypeError):
            return str(obj)
    return obj
