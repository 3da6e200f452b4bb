"""The World Models stage table and the passes over it, on the shared stage engine.

Each of the six stages is one row of `stage_table()`: inputs, outputs, scratch and the
config fields its result depends on. runtime/stages.py verifies and skips finished
stages, checks inputs (one line naming the stage to run first), runs the rest
(continuing from their own snapshots when cut off) and marks later stages stale.

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from dreamlab.config import STAGES, WorldModelConfig, config_hash_fields
from dreamlab.errors import ConfigError, IncompatibleRunError
from dreamlab.runtime.atomic import atomic_write_bytes, atomic_write_text
from dreamlab.runtime.device import DeviceSetup, setup_device, torch_threads
from dreamlab.runtime.logger import RunLogger
from dreamlab.runtime.manifest import Manifest
from dreamlab.runtime.seeding import seed_everything
from dreamlab.runtime.stages import Stage, StageRun, check_needs, run_stage
from dreamlab.runtime.stop import StopRule
from dreamlab.worldmodels.context import RunPaths, StageContext

log = logging.getLogger("dreamlab")


# Fields no stage result depends on, each for a reason; a test fails when a new field is
# in neither this set nor a stage row, so a forgotten dependency cannot skip a retrain.
RUN_ONLY_FIELDS = {
    "mode": "a preset name; the values it sets are fields themselves",
    "device": "where to compute", "amp": "CUDA precision", "tf32": "CUDA precision",
    "num_threads": "speed", "executor": "where parallel work runs (seeded jobs)",
    "ray_address": "which Ray cluster runs them",
    "collect_workers": "speed (episodes are seeded per job)", "debug": "tracebacks",
    "checkpoint_dir": "where the run is", "stage": "which stages run now",
    "max_disk_gb": "a budget: collection stops or refuses, never changes an episode",
    "iterations": "passes are stages of their own (collect@1, ...)",
}


def stage_fingerprint(cfg: WorldModelConfig, name: str, iteration: int = 0) -> dict[str, Any]:
    """The config a stage's result depends on, read from its row of the stage table."""
    return stage_table()[name].fingerprint(cfg, iteration)


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


def stage_table() -> dict[str, Stage]:
    """The World Models stage table: each stage's inputs, outputs, scratch and config
    dependencies in one row (runtime/stages.py derives fingerprints and skips from it).
    A finished stage whose fields changed runs again (so `--stage controller,eval
    --cma-generations 50 --resume DIR` retrains C on the earlier V and M), and every
    stage after one that ran is marked stale."""
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

    # Late fields (added once runs were on disk) are left out of the fingerprint at these
    # values, so such runs are not retrained for nothing. grad_accum_steps and
    # loader_workers (batch order) always changed what M learns but were missing from its
    # list before the table; they join here as late fields.
    loader = {"loader_workers": 0, "data_ram_gb": 2.0}  # both set the batch order
    stages = [
        Stage("collect", run_collect, (), lambda c: [c.paths.raw_data],
              fields=("num_random_rollouts", "max_episode_steps", "collect_max_frames"),
              late_fields={"collect_max_frames": 0},
              pass_fields=("iteration_rollouts", "explore_noise")),
        Stage("vae", run_train_vae, ("collect",), vae_out,
              fields=("seed", "vae_epochs", "vae_batch", "vae_lr", "kl_tolerance",
                      "kl_weight", "grad_accum_steps", *loader), late_fields=loader,
              extendable=("vae_epochs",)),
        Stage("encode", run_encode, ("collect", "vae"), lambda c: [c.paths.latents],
              scratch=lambda c: [c.paths.latents]),
        Stage("mdnrnn", run_train_mdnrnn, ("encode",), lambda c: [c.paths.mdnrnn],
              fields=("seed", "mdnrnn_epochs", "mdnrnn_hidden", "mdnrnn_gaussians",
                      "mdnrnn_seq_len", "mdnrnn_batch", "mdnrnn_lr", "done_pos_weight",
                      "mdnrnn_sample_z", "grad_accum_steps", *loader),
              late_fields={"grad_accum_steps": 1, **loader}, extendable=("mdnrnn_epochs",)),
        Stage("controller", run_train_controller, ("vae", "mdnrnn"),
              lambda c: [c.paths.controller],
              fields=("seed", "cma_pop_size", "cma_generations", "cma_sigma0",
                      "rollouts_per_candidate", "train_in_dream", "temperature",
                      "dream_max_steps", "done_threshold", "eval_every", "eval_rollouts",
                      "real_finetune_s", "controller_hidden", "controller_inputs",
                      "fitness_max_steps", "no_progress_steps", "cma_max_minutes",
                      "eval_point", "standardize_z", "standardize_h", "cma_target",
                      "single_logit"),
              late_fields={"controller_inputs": "zh", "fitness_max_steps": 0,
                           "no_progress_steps": 0, "cma_max_minutes": 0.0, "cma_target": None,
                           "eval_point": "best", "standardize_z": False,
                           "standardize_h": False, "single_logit": False},
              scratch=lambda c: [c.paths.cma_state,
                                 *c.paths.snapshots.glob(f"{c.snapshot_prefix}gen_*.json")]),
        # eval loads V and M beside C, so a truncated vae.pt/mdnrnn.pt is caught up front
        Stage("eval", run_evaluate, ("vae", "mdnrnn", "controller"), eval_out,
              fields=("seed", "eval_episodes", "save_videos")),
    ]
    return {s.name: s for s in stages}


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
        action = self.info.action
        if self.cfg.single_logit and (action.kind, int(action.n)) != ("discrete", 2):
            raise ConfigError(f"--single-logit needs two discrete actions; {self.cfg.env} "
                              f"has {action.n} {action.kind} action(s)")
        if not (self.paths.root / "manifest.json").exists():
            return
        manifest = Manifest.load(self.paths.root)
        check_compatible(manifest, self._config_record())
        selected = self.cfg.stages()
        specs = stage_table()
        for name, i in stage_plan(self.cfg):
            if superseded(manifest, name, i):
                continue
            check_needs(manifest, stage_key(name, i),
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
        specs = stage_table()
        try:
            for name, iteration in stage_plan(cfg):
                ctx = StageContext(cfg=cfg, paths=paths, logger=logger, device=device,
                                   env_info=self.info, iteration=iteration, stop=self.stop)
                self._run_stage(specs[name], ctx, manifest)
        finally:
            logger.close()
            self._write_summary(manifest)
        return self.rows

    def _run_stage(self, spec: Stage, ctx: StageContext, manifest: Manifest) -> None:
        name = stage_key(spec.name, ctx.iteration)
        if superseded(manifest, spec.name, ctx.iteration):
            log.info("%s: superseded by a later pass; skipping", name)
            self.rows.append(self._row(manifest, name, "skipped (done)"))
            return
        job = StageRun(key=name, stage=spec, ctx=ctx,
                       fingerprint=spec.fingerprint(self.cfg, ctx.iteration),
                       needs=[stage_key(n, ctx.iteration) for n in spec.needs],
                       later=downstream(name, self.cfg.iterations))

        @contextmanager
        def setup() -> Iterator[None]:
            seed_everything(ctx.seed(spec.name))
            threads = stage_threads(spec.name, ctx.device)
            log.info("%s: starting (%d torch thread%s)", name, threads, "s" * (threads > 1))
            with torch_threads(threads):
                yield

        status, _ = run_stage(manifest, job, setup)
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
    saved = pipeline.paths.config_yaml.read_text(encoding="utf-8")
    try:
        pipeline.run()
    finally:  # the run's config stays the one it was trained with, not `stage: eval`
        atomic_write_text(pipeline.paths.config_yaml, saved)
    return EvalResult.read(pipeline.paths.evaluation)
