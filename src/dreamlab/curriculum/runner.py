"""Train a World Models agent on each env of a curriculum in turn (issue items 1-6).

Each env gets its own run dir under the curriculum dir (`<out>/<env>_worldmodel`), so the
pipeline's manifest-based resume works per env unchanged. The curriculum keeps only what
the pipeline cannot know: `curriculum_state.json` (which envs finished, were skipped or
failed) and the combined results. Re-running the same command therefore skips finished
envs, and the pipeline continues the interrupted one at the stage where it stopped.

An env whose extra is missing is skipped with one line naming the extra (issue 2), and
an error a user can cause in one env (say, a disk budget) is recorded and the rest of the
curriculum still runs: a long unattended run should return as much as it can.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamlab.config import resolve_config
from dreamlab.curriculum.spec import DEFAULT_TARGETS, CurriculumSpec, EnvEntry
from dreamlab.errors import ConfigError, DreamlabError, EnvError
from dreamlab.report.artifacts import write_report
from dreamlab.report.collect_results import collect_run
from dreamlab.runtime.atomic import atomic_write_json, read_json
from dreamlab.runtime.stop import StopRule

log = logging.getLogger("dreamlab")

STATE_NAME = "curriculum_state.json"
RESULTS_NAME = "curriculum_results.json"
STATE_VERSION = 1


@dataclass
class CurriculumOptions:
    """The curriculum-wide flags. None means "the mode preset (or the YAML entry) decides".

    `overrides` are config values for every env (device, seed, ...); they win over a YAML
    entry's own overrides, as flags win over files everywhere else in dreamlab.
    """

    mode: str = "quick"
    patience: int = 30
    max_generations: int | None = None
    eval_every: int | None = None
    episodes_per_eval: int | None = None
    visualize: bool = False
    record_video: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("patience", "max_generations", "eval_every", "episodes_per_eval"):
            value = getattr(self, name)
            if value is not None and value < 1:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} must be >= 1, got {value}")


@dataclass
class CurriculumResult:
    out_dir: Path
    rows: list[dict[str, Any]]  # one per env of the spec, in order, skipped ones included
    wall_time_s: float

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.get("status") == status)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def display_available() -> bool:
    """Whether a window can open: on Linux/BSD only with an X11 or Wayland display."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def build_env_config(entry: EnvEntry, options: CurriculumOptions,
                     run_dir: Path) -> tuple[Any, StopRule]:
    """The config of one env's algorithm and its stop rule.

    Precedence: mode preset < per-env preset < YAML entry < curriculum flags, and the
    curriculum always sets the env, its obs mode and its run dir. Curriculum-wide values
    apply to an entry when its algorithm has that field (--set num_random_rollouts=50
    means nothing to PPO).
    """
    if entry.algo != "worldmodels":
        return _step_trainer_config(entry, options, run_dir)
    values: dict[str, Any] = {**entry.overrides, **options.overrides}
    values.update(env=entry.env_id, obs=entry.obs, checkpoint_dir=str(run_dir))
    max_generations = options.max_generations or entry.max_generations
    if max_generations is not None:
        # A cap on all generations: the dream budget and, via the stop rule, any real-env
        # fine-tuning after it (train_controller.py).
        values["cma_generations"] = max_generations
    if options.eval_every is not None:
        values["eval_every"] = options.eval_every
    if options.episodes_per_eval is not None:
        # "Evaluation size" covers both the periodic snapshots and the final evaluation.
        values["eval_rollouts"] = options.episodes_per_eval
        values["eval_episodes"] = options.episodes_per_eval
    if options.record_video:
        values["save_videos"] = True
    cfg = resolve_config(mode=options.mode, overrides=values)
    if options.visualize and display_available():
        cfg.save_videos = True  # the window plays the evaluation videos
    stop = StopRule(target_score=entry.target, patience=entry.patience or options.patience,
                    max_iterations=max_generations or 0)
    return cfg, stop


def _step_trainer_config(entry: EnvEntry, options: CurriculumOptions,
                         run_dir: Path) -> tuple[Any, StopRule]:
    """Dreamer and PPO: their own config class; `max_generations` caps their iterations
    (updates) through the stop rule, and the target and patience apply to evaluations."""
    from dataclasses import fields

    from dreamlab.algorithms import get_algorithm
    from dreamlab.config.base import resolve_config as resolve_any

    cls = get_algorithm(entry.algo).config_class()
    names = {f.name for f in fields(cls)}
    values = {**entry.overrides, **{k: v for k, v in options.overrides.items() if k in names}}
    values.update(env=entry.env_id, obs=entry.obs, checkpoint_dir=str(run_dir))
    if options.episodes_per_eval is not None:
        values["eval_episodes"] = options.episodes_per_eval
    if options.record_video:
        values["save_videos"] = True
    cfg = resolve_any(cls, mode=options.mode, overrides=values)
    max_iterations = options.max_generations or entry.max_generations or 0
    stop = StopRule(target_score=entry.target, patience=entry.patience or options.patience,
                    max_iterations=max_iterations)
    return cfg, stop


class CurriculumState:
    """curriculum_state.json: per env its run dir, status and the reason for it."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def load_or_create(cls, out_dir: Path, spec: CurriculumSpec, mode: str) -> CurriculumState:
        path = out_dir / STATE_NAME
        old: dict[str, Any] = {}
        if path.exists():
            try:
                old = read_json(path)
            except (OSError, ValueError):
                log.warning("%s is unreadable; starting its bookkeeping afresh (each env's "
                            "run dir still resumes from its own manifest)", path)
                old = {}
        if old and old.get("mode") != mode:
            raise ConfigError(
                f"{out_dir} holds a curriculum made with --mode {old.get('mode')}",
                f"use --mode {old.get('mode')} to resume it, or another --checkpoint-dir",
            )
        previous = {e.get("env"): e for e in old.get("envs", []) if isinstance(e, dict)}
        envs = []
        for entry in spec.entries:
            record = {"env": entry.env_id, "target": entry.target,
                      "run_dir": entry.run_dir_name, "status": "pending"}
            before = previous.get(entry.env_id, {})
            record.update({k: before[k] for k in ("status", "reason", "wall_time_s")
                           if k in before})
            envs.append(record)
        data = {
            "format_version": STATE_VERSION,
            "name": spec.name,
            "mode": mode,
            "spec": spec.to_dict(),
            "created": old.get("created", _now()),
            "envs": envs,
        }
        state = cls(path, data)
        state.save()
        return state

    def env(self, env_id: str) -> dict[str, Any]:
        return next(e for e in self.data["envs"] if e["env"] == env_id)

    def mark(self, env_id: str, status: str, **info: Any) -> None:
        record = self.env(env_id)
        record["status"] = status
        record.pop("reason", None)
        record.update(info)
        record["updated"] = _now()
        self.save()

    def save(self) -> None:
        self.data["updated"] = _now()
        atomic_write_json(self.path, self.data)


def run_curriculum(spec: CurriculumSpec, out_dir: str | Path,
                   options: CurriculumOptions | None = None, parallel_envs: int = 1,
                   executor: str = "local", ray_address: str | None = None
                   ) -> CurriculumResult:
    """Run (or resume) every env of `spec`; write the results after each env.

    With `parallel_envs` > 1, up to that many entries train at once through the executor
    (`executor`: local processes, inline, or ray); see curriculum/parallel.py. The run
    dirs, state and results are the ones the sequential loop writes.
    """
    options = options or CurriculumOptions()
    if parallel_envs < 1:
        raise ConfigError(f"--parallel-envs must be >= 1, got {parallel_envs}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = CurriculumState.load_or_create(out_dir, spec, options.mode)
    if options.visualize and not display_available():
        log.info("--visualize: no display found (DISPLAY is unset), so no window; training "
                 "goes on (use --record-video to save mp4s instead)")
    t0 = time.monotonic()
    n = len(spec.entries)
    result = CurriculumResult(out_dir=out_dir, rows=[], wall_time_s=0.0)
    if parallel_envs > 1:
        from dreamlab.curriculum.parallel import run_entries_in_parallel

        result = run_entries_in_parallel(spec, out_dir, options, state, parallel_envs,
                                         executor, ray_address)
    else:
        for i, entry in enumerate(spec.entries, start=1):
            label = f"[{i}/{n}] {entry.env_id}"
            ran = entry_is_due(entry, label, out_dir, state)
            if ran:
                state.mark(entry.env_id, "running")
                outcome = train_entry(EntryJob(entry, label, out_dir, options))
                record_outcome(outcome, entry, label, out_dir, options, state)
            # After every env, so a curriculum cut off later still has its tables and
            # plots; only the env that just ran (or failed) is redrawn.
            result = write_results(spec, out_dir, state, options, time.monotonic() - t0,
                                   plot_envs=[entry.env_id] if ran else [])
    result.wall_time_s = time.monotonic() - t0
    log.info("curriculum %s: %d done, %d skipped, %d failed; results in %s", spec.name,
             result.count("done"), result.count("skipped"), result.count("failed"),
             out_dir / RESULTS_NAME)
    return result


@dataclass
class EntryJob:
    """One entry to train: all a worker needs, picklable (no state, no open files)."""

    entry: EnvEntry
    label: str
    out_dir: Path
    options: CurriculumOptions


@dataclass
class EntryOutcome:
    """What training one entry returned to the driver, the one writer of the state."""

    env_id: str
    failed: str | None = None  # the reason, as the state records it
    wall_time_s: float = 0.0
    detail: str | None = None  # a traceback for the driver's log (parallel runs)


def entry_is_due(entry: EnvEntry, label: str, out_dir: Path,
                 state: CurriculumState) -> bool:
    """Whether `entry` still has to train; a finished one is skipped, and one whose env is
    not installed is marked skipped with one line naming the extra (issue 2)."""
    from dreamlab.envs import check_available

    run_dir = out_dir / entry.run_dir_name
    if state.env(entry.env_id)["status"] == "done":
        if collect_run(run_dir, target=entry.target)["status"] == "done":
            log.info("%s: finished earlier; skipping (results in %s)", label, run_dir)
            return False
        log.warning("%s: marked done but its evaluation is missing; running it again", label)
    try:
        check_available(entry.env_id)
    except EnvError as exc:
        log.warning("%s: skipped, %s -> %s", label, exc.message, exc.hint)
        state.mark(entry.env_id, "skipped", reason=f"{exc.message} ({exc.hint})")
        return False
    return True


def train_entry(job: EntryJob) -> EntryOutcome:
    """Train one entry in its run dir. An error a user can cause becomes a failed outcome
    (the rest of the curriculum still runs); a bug stays an exception."""
    from dreamlab.worldmodels import pipeline as wm_pipeline

    entry, label = job.entry, job.label
    run_dir = job.out_dir / entry.run_dir_name
    t0 = time.monotonic()
    try:
        cfg, stop = build_env_config(entry, job.options, run_dir)
        if entry.algo == "worldmodels":
            log.info("%s: target %g, %d generations at most, patience %d, run dir %s",
                     label, entry.target, cfg.cma_generations, stop.patience, run_dir)
            wm_pipeline.Pipeline(cfg, stop).run()
        else:
            from dreamlab.algorithms import get_algorithm

            log.info("%s: %s, target %g, patience %d evaluations, run dir %s", label,
                     entry.algo, entry.target, stop.patience, run_dir)
            get_algorithm(entry.algo).train_fn()(cfg, stop)
    except DreamlabError as exc:
        return EntryOutcome(entry.env_id, failed=exc.message + (f" ({exc.hint})"
                                                                if exc.hint else ""))
    return EntryOutcome(entry.env_id, wall_time_s=round(time.monotonic() - t0, 1))


def record_outcome(outcome: EntryOutcome, entry: EnvEntry, label: str, out_dir: Path,
                   options: CurriculumOptions, state: CurriculumState) -> None:
    """Mark the entry done or failed in the state, and say so in one line."""
    if outcome.failed is not None:
        log.error("%s: failed: %s; going on with the next env", label, outcome.failed)
        state.mark(entry.env_id, "failed", reason=outcome.failed)
        return
    run_dir = out_dir / entry.run_dir_name
    row = collect_run(run_dir, target=entry.target)
    state.mark(entry.env_id, "done", wall_time_s=outcome.wall_time_s)
    log.info("%s: final eval %s (target %g)%s", label, _score(row), entry.target,
             ", target reached" if row["reached_target"] else "")
    if options.visualize and display_available():
        from dreamlab.report.video import show_videos

        show_videos(run_dir / "videos", title=entry.env_id)


def _score(row: dict[str, Any]) -> str:
    if row.get("final_mean") is None:
        return "n/a"
    return f"{row['final_mean']:.1f} +- {row.get('final_std') or 0.0:.1f}"


def write_results(spec: CurriculumSpec, out_dir: Path, state: CurriculumState,
                   options: CurriculumOptions, wall_time_s: float,
                   plot_envs: list[str] | None = None) -> CurriculumResult:
    """curriculum_results.json plus the report artifacts, from the run dirs so far
    (per-env plots only for `plot_envs`; None redraws every env)."""
    runs = [(out_dir / e["run_dir"], e["target"]) for e in state.data["envs"]
            if (out_dir / e["run_dir"] / "manifest.json").exists()]
    report = write_report(runs, out_dir, default_targets=DEFAULT_TARGETS,
                          title=f"curriculum {spec.name} ({options.mode}): score against target",
                          plot_envs=plot_envs)
    by_env = {r["env"]: r for r in report.rows}
    rows = []
    for record in state.data["envs"]:
        row = dict(by_env.get(record["env"], {"env": record["env"], "target": record["target"]}))
        if record["status"] in ("skipped", "failed", "pending", "running"):
            row["status"] = record["status"]
        if record.get("reason"):
            row["reason"] = record["reason"]
        rows.append(row)
    atomic_write_json(out_dir / RESULTS_NAME, {
        "curriculum": spec.name,
        "mode": options.mode,
        "updated": _now(),
        # Training time summed over the envs' manifests (resumed sessions included), and
        # the time of this invocation alone.
        "wall_time_s": round(sum(r.get("wall_time_s") or 0.0 for r in rows), 1),
        "session_wall_time_s": round(wall_time_s, 1),
        "options": {k: v for k, v in vars(options).items() if k != "overrides"},
        "overrides": options.overrides,
        "envs": rows,
    })
    return CurriculumResult(out_dir=out_dir, rows=rows, wall_time_s=wall_time_s)


def refresh_curriculum_results(out_dir: str | Path) -> list[dict[str, Any]]:
    """Rebuild curriculum_results.json and every artifact of a curriculum dir from its
    files (`dreamlab report CURRICULUM_DIR`), without training anything."""
    from dreamlab.curriculum.spec import parse_curriculum

    out_dir = Path(out_dir)
    try:
        data = read_json(out_dir / STATE_NAME)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{out_dir / STATE_NAME} is missing or unreadable",
                          "pass the dir `dreamlab curriculum` wrote") from exc
    spec = parse_curriculum(data.get("spec"), source=str(out_dir / STATE_NAME))
    state = CurriculumState(out_dir / STATE_NAME, data)
    options = CurriculumOptions(mode=data.get("mode", "quick"))
    old = out_dir / RESULTS_NAME
    if old.exists():
        try:
            saved = read_json(old)
            known = {f for f in CurriculumOptions.__dataclass_fields__ if f != "overrides"}
            options = CurriculumOptions(**{k: v for k, v in saved.get("options", {}).items()
                                           if k in known}, overrides=saved.get("overrides", {}))
        except (OSError, ValueError, TypeError):
            pass
    return write_results(spec, out_dir, state, options, 0.0).rows
