"""Wires the six World Models stages over one run directory (issue 2).

For each selected stage: if the manifest says it finished and its outputs still match
their checksums, it is skipped; otherwise its inputs are verified (one line naming the
stage to run first), it runs (continuing from its own snapshot if it was cut off), and
its outputs are checksummed into the manifest. A finished stage invalidates the stages
after it that were built from its old outputs.

Iterative training (paper section 5, cfg.iterations = K): after the first pass, passes
1..K-1 collect episodes with the trained controller plus exploration noise (appended to
raw_data), refit V and M on all data and retrain C; eval runs once, after the last pass.
Stages of pass i >= 1 are recorded under "<stage>@<i>" ("collect@1", ...) with the pass in
their fingerprint. A pass overwrites vae.pt, latents/, mdnrnn.pt and controller_best.pt,
so a finished stage whose later pass has also finished is "superseded": it is kept as
history and skipped without checking its (replaced) outputs, and changed settings take
effect in the latest pass.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dreamlab.config import STAGES, WorldModelConfig, config_hash_fields
from dreamlab.errors import IncompatibleRunError, StageInputError
from dreamlab.runtime.atomic import atomic_write_bytes, atomic_write_text
from dreamlab.runtime.device import DeviceSetup, setup_device, torch_threads
from dreamlab.runtime.logger import RunLogger
from dreamlab.runtime.manifest import Manifest
from dreamlab.runtime.seeding import seed_everything
from dreamlab.runtime.stop import StopRule
from dreamlab.worldmodels.context import RunPaths, StageContext

log = logging.getLogger("dreamlab")


# The config fields each stage's result depends on. A finished stage whose fields changed
# runs again (so `--stage controller,eval --cma-generations 50 --resume DIR` retrains C on
# the earlier V and M), and every stage after one that ran is marked stale.
STAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "collect": ("num_random_rollouts", "max_episode_steps"),
    "vae": ("seed", "vae_epochs", "vae_batch", "vae_lr", "kl_tolerance", "kl_weight",
            "grad_accum_steps"),
    "encode": (),
    "mdnrnn": ("seed", "mdnrnn_epochs", "mdnrnn_hidden", "mdnrnn_gaussians", "mdnrnn_seq_len",
               "mdnrnn_batch", "mdnrnn_lr", "done_pos_weight", "mdnrnn_sample_z"),
    "controller": ("seed", "cma_pop_size", "cma_generations", "cma_sigma0",
                   "rollouts_per_candidate", "train_in_dream", "temperature", "dream_max_steps",
                   "done_threshold", "eval_every", "eval_rollouts", "real_finetune_s",
                   "controller_hidden", "controller_inputs", "fitness_max_steps",
                   "no_progress_steps", "cma_max_minutes", "eval_point", "standardize_z"),
    "eval": ("seed", "eval_episodes", "save_videos"),
}


ITERATED_FIELDS = ("iteration_rollouts", "explore_noise")  # collect of passes >= 1 only
# Fields added after runs were already on disk: left out of the fingerprint at their
# default, so a run made before they existed is not retrained for nothing.
LATE_FIELDS = {"controller_inputs": "zh", "fitness_max_steps": 0, "no_progress_steps": 0,
               "cma_max_minutes": 0.0, "eval_point": "best", "standardize_z": False}


def stage_fingerprint(cfg: WorldModelConfig, name: str, iteration: int = 0) -> dict[str, Any]:
    out = {k: getattr(cfg, k) for k in STAGE_FIELDS[name]
           if LATE_FIELDS.get(k, object()) != getattr(cfg, k)}
    if iteration >= 1:  # pass 0 keeps the fingerprints of runs made before iterations
        out["iteration"] = iteration
        if name == "collect":
            out.update({k: getattr(cfg, k) for k in ITERATED_FIELDS})
    return out


def stage_key(name: str, iteration: int) -> str:
    """Manifest key of a stage in a pass: "mdnrnn" for pass 0, "mdnrnn@2" for pass 2."""
    return name if iteration == 0 or name == "eval" else f"{name}@{iteration}"


def all_keys(iterations: int) -> list[str]:
    """Every stage key of a run in pipeline order: the passes, then eval."""
    keys = [stage_key(n, i) for i in range(iterations) for n in STAGES if n != "eval"]
    return [*keys, "eval"]


def stage_plan(cfg: WorldModelConfig) -> list[tuple[str, int]]:
    """(stage, pass) pairs to run: the selected stages in every pass, eval after the last."""
    selected = cfg.stages()
    plan = [(n, i) for i in range(cfg.iterations) for n in STAGES
            if n in selected and n != "eval"]
    if "eval" in selected:
        plan.append(("eval", cfg.iterations - 1))
    return plan


@dataclass(frozen=True)
class StageSpec:
    name: str
    run: Callable[[StageContext], dict[str, Any]]
    needs: tuple[str, ...]  # stages whose outputs this one reads
    outputs: Callable[[StageContext], list[Path]]
    # Resumable partial state that belongs to one attempt: kept when a cut-off stage
    # continues, removed when the stage must start over (its inputs or config changed).
    scratch: Callable[[StageContext], list[Path]] = lambda ctx: []


def _stage_specs() -> dict[str, StageSpec]:
    # Imported here so `dreamlab --help` and config errors stay fast.
    from dreamlab.worldmodels.collect import run_collect
    from dreamlab.worldmodels.encode import run_encode
    from dreamlab.worldmodels.evaluate import run_evaluate
    from dreamlab.worldmodels.train_controller import run_train_controller
    from dreamlab.worldmodels.train_mdnrnn import run_train_mdnrnn
    from dreamlab.worldmodels.train_vae import run_train_vae

    def vae_out(c: StageContext) -> list[Path]:
        return [c.paths.vae] if c.uses_vae else []

    def eval_out(c: StageContext) -> list[Path]:
        out = [c.paths.evaluation]
        if c.paths.videos.exists():
            out += sorted(c.paths.videos.glob("*.mp4"))
        return out

    specs = [
        StageSpec("collect", run_collect, (), lambda c: [c.paths.raw_data]),
        StageSpec("vae", run_train_vae, ("collect",), vae_out),
        StageSpec("encode", run_encode, ("collect", "vae"), lambda c: [c.paths.latents],
                  scratch=lambda c: [c.paths.latents]),
        StageSpec("mdnrnn", run_train_mdnrnn, ("encode",), lambda c: [c.paths.mdnrnn]),
        StageSpec("controller", run_train_controller, ("vae", "mdnrnn"),
                  lambda c: [c.paths.controller],
                  scratch=lambda c: [c.paths.cma_state,
                                     *c.paths.snapshots.glob(f"{c.snapshot_prefix}gen_*.json")]),
        # eval loads V and M beside C, so a truncated vae.pt/mdnrnn.pt is caught up front
        StageSpec("eval", run_evaluate, ("vae", "mdnrnn", "controller"), eval_out),
    ]
    return {s.name: s for s in specs}


def stage_threads(name: str, device: DeviceSetup) -> int:
    """Conv nets (V) gain from a second thread (285 vs 162 img/s on 2 quiet cores), while
    the small LSTM and MLP work of M, C and the env loops loses badly to thread overhead
    and oversubscription (an MDN-RNN epoch took 5 s with 2 threads and 0.3 s with 1 on a
    busy 2-core machine). --num-threads pins every stage."""
    if device.threads_pinned or name in ("vae", "encode"):
        return device.num_threads
    return 1


def downstream(stage: str, iterations: int = 1) -> list[str]:
    keys = all_keys(max(iterations, _pass_of(stage) + 1))
    return keys[keys.index(stage) + 1:]


def _pass_of(key: str) -> int:
    return int(key.split("@")[1]) if "@" in key else 0


def superseded(manifest: Manifest, name: str, iteration: int) -> bool:
    """A finished stage of an earlier pass whose stage in a later pass finished too."""
    if manifest.status(stage_key(name, iteration)) not in ("done", "skipped"):
        return False
    later = [k for k in manifest.data.get("stages", {})
             if k.split("@")[0] == name and _pass_of(k) > iteration]
    return any(manifest.status(k) in ("done", "skipped") for k in later)


def check_compatible(manifest: Manifest, record: dict[str, Any]) -> None:
    """A run dir made for another env or image size cannot be resumed (issue 6)."""
    old = manifest.data.get("config", {})
    diffs = [
        f"{k}={old.get(k)!r} (now {record.get(k)!r})"
        for k in config_hash_fields()
        if k in old and old[k] != record.get(k)
    ]
    if diffs:
        raise IncompatibleRunError(
            f"run dir {manifest.run_dir} was made with {', '.join(diffs)}",
            "use another --checkpoint-dir, or the original values to resume",
        )


class Pipeline:
    """`Pipeline(cfg).run()` trains, resumes and reports one World Models agent."""

    def __init__(self, cfg: WorldModelConfig, stop: StopRule | None = None) -> None:
        from dreamlab.envs import env_info

        self.cfg = cfg
        self.paths = RunPaths(cfg.run_dir())
        self.info = env_info(cfg.env, obs=cfg.obs, img_size=cfg.vae_img_size,
                             max_episode_steps=cfg.max_episode_steps, frame_skip=cfg.frame_skip)
        self.stop = stop or StopRule()
        self.rows: list[dict[str, Any]] = []

    def preflight(self) -> None:
        """Refuse an incompatible run dir, or inputs that the selected stages read but do not
        rebuild, before anything is printed or written: a bad --resume DIR is one line."""
        if not (self.paths.root / "manifest.json").exists():
            return
        manifest = Manifest.load(self.paths.root)
        check_compatible(manifest, self._config_record())
        selected = self.cfg.stages()
        specs = _stage_specs()
        for name, i in stage_plan(self.cfg):
            if superseded(manifest, name, i):
                continue
            _check_needs(manifest, stage_key(name, i),
                         [stage_key(n, i) for n in specs[name].needs if n not in selected])

    def run(self) -> list[dict[str, Any]]:
        cfg, paths = self.cfg, self.paths
        self.preflight()
        paths.root.mkdir(parents=True, exist_ok=True)
        record = self._config_record()
        manifest = Manifest.load_or_create(paths.root, record, cfg.seed, algo=cfg.ALGO)
        check_compatible(manifest, record)
        manifest.data["config"] = record
        manifest.save()
        atomic_write_text(paths.config_yaml, yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        device = setup_device(cfg.device, cfg.amp, cfg.tf32, cfg.num_threads)
        log.info("device: %s", device.describe())
        logger = RunLogger(paths.logs)
        specs = _stage_specs()
        try:
            for name, iteration in stage_plan(cfg):
                ctx = StageContext(cfg=cfg, paths=paths, logger=logger, device=device,
                                   env_info=self.info, iteration=iteration, stop=self.stop)
                self._run_stage(specs[name], ctx, manifest, specs)
        finally:
            logger.close()
            self._write_summary(manifest)
        return self.rows

    def _run_stage(self, spec: StageSpec, ctx: StageContext, manifest: Manifest,
                   specs: dict[str, StageSpec]) -> None:
        name = stage_key(spec.name, ctx.iteration)
        if superseded(manifest, spec.name, ctx.iteration):
            log.info("%s: superseded by a later pass; skipping", name)
            self.rows.append(self._row(manifest, name, "skipped (done)"))
            return
        fingerprint = _jsonable(stage_fingerprint(self.cfg, spec.name, ctx.iteration))
        entry = manifest.stage(name)
        same_config = entry.get("fingerprint", fingerprint) == fingerprint
        if manifest.status(name) in ("done", "skipped"):
            problem = manifest.verify_outputs(name) if same_config else "its settings changed"
            if problem is None:
                log.info("%s: finished earlier, outputs verified; skipping", name)
                self.rows.append(self._row(manifest, name, "skipped (done)"))
                return
            log.warning("%s: %s; running it again", name, problem)
        _check_needs(manifest, name, [stage_key(n, ctx.iteration) for n in spec.needs])
        continuing = manifest.status(name) in ("running", "failed") and same_config
        if not continuing:
            for path in spec.scratch(ctx):
                _remove(path)
        seed_everything(ctx.seed(spec.name))
        manifest.mark_running(name, fingerprint)
        threads = stage_threads(spec.name, ctx.device)
        log.info("%s: starting (%d torch thread%s)", name, threads, "s" * (threads > 1))
        t0 = time.monotonic()
        try:
            with torch_threads(threads):
                metrics = spec.run(ctx) or {}
        except BaseException as exc:
            manifest.mark_failed(name, f"{type(exc).__name__}: {exc}")
            raise
        seconds = time.monotonic() - t0
        outputs = [p for p in spec.outputs(ctx) if p.exists()]
        missing = [p.name for p in spec.outputs(ctx) if not p.exists()]
        if missing:
            manifest.mark_failed(name, f"did not write {', '.join(missing)}")
            raise RuntimeError(f"stage {name} finished without writing {', '.join(missing)}")
        status = "skipped" if metrics.get("skipped") else "done"
        manifest.mark_done(name, outputs, seconds, _jsonable(metrics), status=status)
        for later in downstream(name, self.cfg.iterations):
            if manifest.status(later) in ("done", "skipped", "running", "failed"):
                manifest.invalidate(later)
        log.info("%s: %s in %.1fs %s", name, status, seconds, _short(metrics))
        self.rows.append(self._row(manifest, name, status))

    def _row(self, manifest: Manifest, name: str, status: str) -> dict[str, Any]:
        entry = manifest.stage(name)
        return {
            "stage": name,
            "status": status,
            "seconds": entry.get("seconds", 0.0),
            "outputs": ";".join(entry.get("outputs", {})),
            "bytes": sum(o.get("bytes", 0) for o in entry.get("outputs", {}).values()),
        }

    def _write_summary(self, manifest: Manifest) -> None:
        """pipeline_summary.csv: one row per stage of the run so far (issue 2 item 5)."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["stage", "status", "seconds", "outputs",
                                                 "bytes"])
        writer.writeheader()
        for name in all_keys(max([self.cfg.iterations]
                                 + [_pass_of(k) + 1 for k in manifest.data["stages"]])):
            if manifest.stage(name):
                writer.writerow(self._row(manifest, name, manifest.status(name)))
        atomic_write_bytes(self.paths.summary_csv, buf.getvalue().encode())

    def _config_record(self) -> dict[str, Any]:
        record = self.cfg.to_dict()
        record["obs"] = self.info.obs
        record["env"] = self.info.env_id
        return record


def _check_needs(manifest: Manifest, name: str, needs: Any) -> None:
    """One line naming the stage to run first when an input is unfinished or damaged."""
    for need in needs:
        if manifest.status(need) not in ("done", "skipped"):
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


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _short(metrics: dict[str, Any]) -> str:
    keys = [k for k, v in metrics.items() if isinstance(v, int | float)][:5]
    return " ".join(f"{k}={metrics[k]:.4g}" for k in keys)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        try:
            return obj.item()
        except (ValueError, TypeError):
            return str(obj)
    return obj


def preflight(cfg: WorldModelConfig) -> None:
    """Refuse a bad env or run dir with one line before the config table is printed."""
    Pipeline(cfg).preflight()


def train(cfg: WorldModelConfig, stop: StopRule | None = None) -> Any:
    """The World Models entry of the algorithm table: run the stages, resume what is there."""
    from dreamlab.algorithms import TrainResult
    from dreamlab.runtime.results import EvalResult

    pipeline = Pipeline(cfg, stop)
    rows = pipeline.run()
    evaluation = (EvalResult.read(pipeline.paths.evaluation)
                  if pipeline.paths.evaluation.exists() else None)
    return TrainResult(run_dir=pipeline.paths.root, evaluation=evaluation, rows=rows)


def evaluate_run(run_dir: str | Path, episodes: int | None = None,
                 save_videos: bool = False) -> Any:
    """`dreamlab eval RUN_DIR`: run the eval stage again on the run's controller."""
    from dataclasses import replace

    from dreamlab.runtime.results import EvalResult
    from dreamlab.runtime.rundir import load_run_config

    cfg = load_run_config(run_dir, WorldModelConfig)
    cfg = replace(cfg, stage="eval", eval_episodes=episodes or cfg.eval_episodes,
                  save_videos=save_videos or cfg.save_videos)
    manifest = Manifest.load(Path(run_dir))
    manifest.invalidate(stage_key("eval", cfg.iterations - 1))
    pipeline = Pipeline(cfg)
    pipeline.run()
    return EvalResult.read(pipeline.paths.evaluation)
