"""What Ray costs on one small machine: per-task overhead and one CMA-ES generation.

Usage: python benchmarks/ray_overhead.py [--tasks 200] [--generations 3] [--workers 1,2]
                                         [--name ray_overhead]

Issue 14's overhead benchmark, in one run so that the machine's load is the same for
every row:
1. Per-task overhead: `--tasks` empty jobs (`abs`) through local processes and through
   Ray actors at each worker count; ms per task is wall time / tasks, with the workers
   already started (their start is reported apart).
2. One CMA-ES generation of real-env fitness on CartPole from pixels with the quick
   preset's sizes (V 64 px, z 32, M 128 hidden, population 16 x 2 rollouts), V and M
   untrained (random weights: the env and V+M+C cost what a trained run costs, only the
   episodes are short). The same parameters and seeds go through every executor, and the
   returns are checked to be identical. Worker start plus the first generation is timed
   apart; `generation_s` are the warm generations after it.

"local" at 1 worker runs in this process, as RealEvaluator does for one worker.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import save_result


def overhead_rows(tasks: int, worker_counts: list[int]) -> list[dict[str, Any]]:
    from dreamlab.parallel.executor import ProcessExecutor
    from dreamlab.parallel.ray_backend import RayExecutor

    rows = []
    for kind in ("local", "ray"):
        for workers in worker_counts:
            t0 = time.monotonic()
            ex = ProcessExecutor(workers) if kind == "local" else RayExecutor(workers)
            ex.map(abs, [0] * workers)  # every worker is up before the clock starts
            start_s = time.monotonic() - t0
            t0 = time.monotonic()
            ex.map(abs, list(range(tasks)))
            wall = time.monotonic() - t0
            ex.close()
            rows.append({"executor": kind, "workers": workers, "tasks": tasks,
                         "start_s": round(start_s, 2),
                         "ms_per_task": round(1000 * wall / tasks, 3)})
            print(rows[-1], flush=True)
    return rows


def make_setup(root: Path, workers: int) -> tuple[Any, Any]:
    """A PolicySetup for CartPole pixels at the quick preset's sizes, V and M untrained."""
    import torch

    from dreamlab.config import resolve_config
    from dreamlab.envs import env_info
    from dreamlab.models.controller import ControllerSpec
    from dreamlab.models.mdnrnn import MDNRNN
    from dreamlab.models.vae import ConvVAE
    from dreamlab.runtime.atomic import atomic_torch_save
    from dreamlab.worldmodels.agent import PolicySetup

    cfg = resolve_config("quick", overrides={"env": "CartPole-v1"})
    info = env_info(cfg.env, obs="pixels", img_size=cfg.vae_img_size)
    torch.manual_seed(0)
    vae = ConvVAE(cfg.vae_img_size, cfg.z_dim)
    mdnrnn = MDNRNN(cfg.z_dim, info.action.n, cfg.mdnrnn_hidden, cfg.mdnrnn_gaussians)
    atomic_torch_save(root / "vae.pt", vae.to_checkpoint())
    atomic_torch_save(root / "mdnrnn.pt", mdnrnn.to_checkpoint())
    spec = ControllerSpec.for_action(info.action, cfg.z_dim, cfg.mdnrnn_hidden,
                                     cfg.controller_hidden)
    episodes = cfg.cma_pop_size * cfg.rollouts_per_candidate
    setup = PolicySetup(info, spec, str(root / "mdnrnn.pt"), str(root / "vae.pt"),
                        img_size=cfg.vae_img_size, max_episode_steps=cfg.max_episode_steps,
                        envs_per_worker=min(32, math.ceil(episodes / workers)))
    return setup, cfg


def generation_rows(worker_counts: list[int], generations: int) -> list[dict[str, Any]]:
    import torch

    from dreamlab.worldmodels.agent import RealEvaluator
    from dreamlab.worldmodels.cmaes import CMAES

    # The controller stage runs with one torch thread (workers set theirs to one too); the
    # in-process row must not be the only one fighting the other tenants with two.
    torch.set_num_threads(1)
    rows = []
    reference: np.ndarray | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("local", "ray"):
            for workers in worker_counts:
                setup, cfg = make_setup(Path(tmp), workers)
                pop, rollouts = cfg.cma_pop_size, cfg.rollouts_per_candidate
                es = CMAES(setup.spec.num_params, cfg.cma_sigma0, pop, seed=0)
                params = torch.as_tensor(es.ask(), dtype=torch.float32)
                params = params.repeat_interleave(rollouts, 0)
                seeds = list(range(rollouts)) * pop
                # Worker start (processes spawn lazily) and the first generation (envs are
                # built on first use) are timed apart from the warm generations.
                t0 = time.monotonic()
                real = RealEvaluator(setup, workers, executor=kind)
                first = real.run(params, seeds)
                first_s = time.monotonic() - t0
                walls, steps = [], 0
                for _ in range(generations):
                    t0 = time.monotonic()
                    out = real.run(params, seeds)
                    walls.append(time.monotonic() - t0)
                    steps = out.env_steps
                real.close()
                if reference is None:
                    reference = out.returns
                rows.append({"executor": kind, "workers": workers,
                             "episodes": pop * rollouts, "env_steps": steps,
                             "start_and_first_generation_s": round(first_s, 2),
                             "generation_s": [round(w, 3) for w in walls],
                             "generation_s_median": round(statistics.median(walls), 3),
                             "same_returns_as_first_row": bool(
                                 np.array_equal(out.returns, reference)
                                 and np.array_equal(first.returns, reference))})
                print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--name", default="ray_overhead")
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]
    load_at_start = list(os.getloadavg())
    overhead = overhead_rows(args.tasks, worker_counts)
    generation = generation_rows(worker_counts, args.generations)
    path = save_result(args.name, {
        "load_avg_at_start": load_at_start,
        "note": "same run, same load for every row; CartPole pixels, quick preset sizes, "
                "untrained V and M; 'local' at 1 worker runs in-process",
        "per_task_overhead": overhead,
        "cma_generation": generation,
    })
    print(f"saved {path}")


if __name__ == "__main__":
    main()
