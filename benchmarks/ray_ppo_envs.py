"""What stepping PPO's envs in Ray actors costs against a local vector env, on CartPole.

Usage: python benchmarks/ray_ppo_envs.py [--steps 1500] [--num-envs 8,32] [--actors 1,2]
                                         [--repeats 3] [--name ray_ppo_envs]

Issue 14: PPO env workers as Ray actors. In one run, so that every row sees the same load:
for each --num-envs, `--steps` vector steps of CartPole-v1 with actions drawn in the
learner (as PPO's forward pass would hand them over) through
  * local sync: one `SyncVectorEnv` in this process (what `--vectorization sync` builds),
  * local native: CartPole's own numpy vector env (what `--vectorization auto` builds),
  * ray: `RayVectorEnv` with 1 and 2 actors, each stepping its slice as a sync vector env.
The figure is env steps per second (vector steps x envs / wall); ms per vector step beside
it. The best of `--repeats` timings is kept (the least disturbed by the shared machine's
other jobs), every timing is saved. The envs are built and reset before the clock starts.
The policy's forward pass is not timed: it is the same in every row.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from _common import save_result


def time_steps(envs: Any, steps: int, num_envs: int, seed: int) -> float:
    """Seconds for `steps` vector steps with pre-drawn random actions."""
    actions = np.random.default_rng(seed).integers(0, 2, size=(steps, num_envs))
    envs.reset(seed=seed)
    t0 = time.perf_counter()
    for a in actions:
        envs.step(a)
    return time.perf_counter() - t0


def build(kind: str, num_envs: int, actors: int) -> Any:
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.ppo.envs import make_ppo_envs, make_training_envs

    base = dict(env="CartPole-v1", num_envs=num_envs, batch_size=num_envs)
    if kind == "ray":
        return make_training_envs(PPOConfig(**base, executor="ray", env_workers=actors),
                                  seed=0)
    return make_ppo_envs(PPOConfig(**base, vectorization=kind), num_envs, seed=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--num-envs", default="8,32")
    parser.add_argument("--actors", default="1,2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--name", default="ray_ppo_envs")
    args = parser.parse_args()
    import ray

    from dreamlab.parallel.ray_backend import LOCAL_OBJECT_STORE_BYTES

    actor_counts = [int(x) for x in args.actors.split(",")]
    load_before = list(os.getloadavg())
    # One local Ray for every ray row, started before any clock, as a PPO run starts it
    # once; its CPUs are the most actors asked for (an actor holds one for life).
    ray.init(address="local", num_cpus=max(actor_counts), include_dashboard=False,
             log_to_driver=False, object_store_memory=LOCAL_OBJECT_STORE_BYTES)
    rows: list[dict[str, Any]] = []
    try:
        for num_envs in (int(x) for x in args.num_envs.split(",")):
            variants = [("sync", 0), ("native", 0)] + [("ray", n) for n in actor_counts]
            for kind, actors in variants:
                envs = build(kind, num_envs, actors)
                try:
                    times = [time_steps(envs, args.steps, num_envs, seed)
                             for seed in range(args.repeats)]
                finally:
                    envs.close()
                best = min(times)
                rows.append({"vector_env": kind, "actors": actors, "num_envs": num_envs,
                             "vector_steps": args.steps,
                             "env_steps_per_s": round(args.steps * num_envs / best),
                             "ms_per_vector_step": round(1000 * best / args.steps, 3),
                             "timings_s": [round(t, 3) for t in times]})
                print(rows[-1], flush=True)
    finally:
        ray.shutdown()
    sync = {r["num_envs"]: r["ms_per_vector_step"] for r in rows if r["vector_env"] == "sync"}
    for r in rows:  # what a step through Ray adds to the learner's wait, over local sync
        r["overhead_ms_vs_sync"] = round(r["ms_per_vector_step"] - sync[r["num_envs"]], 3)
    path = save_result(args.name, {"env": "CartPole-v1", "repeats": args.repeats,
                                   "load_avg_before": load_before, "rows": rows})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
