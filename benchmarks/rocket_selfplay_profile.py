"""Where a self-play training step's time goes, and what each speed-up of issue 13 bought.

Re-run:  .venv/bin/python benchmarks/rocket_selfplay_profile.py          (about 6 minutes)
         .venv/bin/python benchmarks/rocket_selfplay_profile.py --sizes 1v1 --rounds 1
Writes benchmarks/results/rocket_selfplay_profile.json.

Per team size, interleaved over --rounds (the machine is shared; medians are kept):
- phases: the trainer's loop (SelfPlayRun, the preset's network and PPO settings) with
  wall-clock timers around its parts (env stepping, the learner's and the opponents'
  forward passes, GAE and batching, the PPO update, snapshots), in microseconds per env
  step; once as shipped (numpy's BLAS held to 1 thread while collecting) and once with
  the BLAS library's default thread count. cProfile is not used: its per-call cost
  inflates the Python-heavy env step several times over and skews the shares.
- update: the PPO update on the same rollout with its padding rows (columns without a
  car: half of them in 1v1) and without (what the trainer does now), and the share of
  the latter that the MLPs' forward and backward passes alone take.
- learner_forward: the learner's forward pass as the loop calls it, right after the envs
  stepped, against the same call repeated at once (weights still in the CPU's caches).
- env: one env stepped with random actions, with RLGym's RocketSimEngine and the library
  reward composition (as before), with HeldActionEngine, and with HeldActionEngine and
  FusedTeamReward (as now; every variant gives the same numbers, tests/envs/rocket/).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rocket_selfplay_sps import preset_config  # noqa: E402
from rocket_throughput import log  # noqa: E402

from _common import provenance, save_result  # noqa: E402


def _timed(owner: Any, name: str, key: str, acc: dict[str, float]) -> Callable[[], None]:
    """Wrap owner.name with a timer adding into acc[key]; returns the undo."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            acc[key] += time.perf_counter() - start

    setattr(owner, name, wrapper)
    return lambda: setattr(owner, name, original)


def phases(size: str, args: argparse.Namespace, blas_default: bool) -> tuple[dict, Any]:
    """One training run's time per part, in us per env step; also its last rollout."""
    from dreamlab.envs.rocket import vector
    from dreamlab.ppo.selfplay import collector, train
    from dreamlab.runtime.stop import StopRule

    acc: dict[str, float] = collections.defaultdict(float)
    last: dict[str, Any] = {}
    batch_of = train.rollout_to_batch

    def keep_rollout(r: Any, *a: Any) -> Any:
        last["rollout"] = r
        return batch_of(r, *a)

    undo = [_timed(vector.RocketVecEnv, "step", "env_step", acc),
            _timed(collector.SelfPlayCollector, "collect", "collect", acc),
            _timed(collector.SelfPlayCollector, "_act_opponents", "opponents_act", acc),
            _timed(collector.SelfPlayCollector, "_finish_game", "finished_games", acc),
            _timed(train.SelfPlayRun, "_learner", "learner_act", acc),
            _timed(train.SelfPlayRun, "_snapshot", "snapshots", acc),
            _timed(train.SelfPlayRun, "_load_opponent", "opponent_loads", acc),
            _timed(train, "ppo_update", "ppo_update", acc)]
    train.rollout_to_batch = keep_rollout
    undo.append(lambda: setattr(train, "rollout_to_batch", batch_of))
    undo.append(_timed(train, "rollout_to_batch", "gae_and_batch", acc))
    if blas_default:
        blas = train.blas_threads
        train.blas_threads = lambda n: contextlib.nullcontext()
        undo.append(lambda: setattr(train, "blas_threads", blas))
    steps = args.updates * args.num_envs * args.num_steps
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = preset_config(size, args, Path(tmp), steps)
            rocket, sp = train.selfplay_settings(cfg)
            run = train.SelfPlayRun(cfg, rocket, sp, sp.schedule(), sp.snapshot_every,
                                    StopRule())
            run.save_checkpoint = lambda: None  # the final one: not part of a step
            acc.clear()
            start = time.perf_counter()
            run.loop()
            wall = time.perf_counter() - start
            run.close()
    finally:
        for u in reversed(undo):
            u()
    us = {k: v / steps * 1e6 for k, v in acc.items()}
    us["collect_other"] = us.pop("collect") - sum(
        us.get(k, 0.0) for k in ("env_step", "opponents_act", "finished_games", "learner_act"))
    us["total"] = wall / steps * 1e6
    us["env_steps_per_s"] = steps / wall
    return us, last["rollout"]


def learner_cold_and_warm(size: str, args: argparse.Namespace) -> dict[str, float]:
    """Median us of the learner's forward pass as the loop calls it (right after the envs
    stepped) and of the same call repeated at once (weights still in cache)."""
    from dreamlab.ppo.selfplay import train
    from dreamlab.runtime.stop import StopRule

    first: list[float] = []
    again: list[float] = []
    act = train.SelfPlayRun._learner

    def timed(run: Any, obs: np.ndarray) -> Any:
        start = time.perf_counter()
        out = act(run, obs)
        mid = time.perf_counter()
        act(run, obs)
        first.append(mid - start)
        again.append(time.perf_counter() - mid)
        return out

    train.SelfPlayRun._learner = timed
    steps = args.num_envs * 256
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = preset_config(size, argparse.Namespace(**{**vars(args), "num_steps": 256}),
                                Path(tmp), steps)
            rocket, sp = train.selfplay_settings(cfg)
            run = train.SelfPlayRun(cfg, rocket, sp, sp.schedule(), sp.snapshot_every,
                                    StopRule())
            run.save_checkpoint = lambda: None
            run.loop()
            run.close()
    finally:
        train.SelfPlayRun._learner = act
    return {"in_loop_us": statistics.median(first) * 1e6,
            "repeated_at_once_us": statistics.median(again) * 1e6}


def update_padding(size: str, args: argparse.Namespace, rollout: Any) -> dict[str, float]:
    """PPO update seconds on one rollout, padding rows in (the old batch) and out."""
    import torch

    from dreamlab.models.ppo_policy import ActionLayout, ActorCritic
    from dreamlab.ppo.core import Batch, ppo_update
    from dreamlab.ppo.normalize import RewardScaler
    from dreamlab.ppo.selfplay.rollout_batch import minibatch_size, rollout_to_batch

    cfg = preset_config(size, args, Path(tempfile.gettempdir()), 1)
    cols = rollout.valid.shape[1]
    compact = rollout_to_batch(rollout, RewardScaler(cols, cfg.gamma, 10.0, True), cfg.gamma,
                               cfg.gae_lambda, torch.device("cpu"))
    n, keep = rollout.valid.size, torch.as_tensor(rollout.valid.reshape(-1) > 0)
    padded = Batch(*(torch.zeros((n, *getattr(compact, f).shape[1:]),
                                 dtype=getattr(compact, f).dtype)
                     for f in Batch.__dataclass_fields__))
    for f in Batch.__dataclass_fields__:
        getattr(padded, f)[keep] = getattr(compact, f)
    torch.manual_seed(0)
    net = ActorCritic((rollout.obs.shape[-1],), ActionLayout("discrete", (90,)), "mlp",
                      cfg.hidden_size, cfg.hidden_layers, cfg.activation)

    def seconds(batch: Batch, batch_size: int) -> float:
        policy = copy.deepcopy(net)
        opt = torch.optim.Adam(policy.parameters(), lr=cfg.learning_rate)
        start = time.perf_counter()
        ppo_update(policy, opt, batch, cfg.num_epochs, batch_size, cfg.clip_coef,
                   clip_vloss=cfg.clip_vloss, norm_adv=cfg.norm_adv, ent_coef=cfg.ent_coef,
                   vf_coef=cfg.vf_coef, max_grad_norm=cfg.max_grad_norm, target_kl=0.0,
                   generator=torch.Generator().manual_seed(0),
                   autocast=contextlib.nullcontext,
                   scaler=torch.amp.GradScaler("cpu", enabled=False))
        return time.perf_counter() - start

    def passes_only(batch_size: int) -> float:
        """The same number of forward + backward passes of both MLPs, nothing else."""
        policy = copy.deepcopy(net)
        rows = compact.obs[:batch_size]
        start = time.perf_counter()
        for _ in range(cfg.num_epochs * math.ceil(len(compact.valid) / batch_size)):
            out = policy.actor(rows).logsumexp(-1).sum() + policy.critic(rows).sum()
            out.backward()
        return time.perf_counter() - start

    with_pad, without, passes = [], [], []
    size = minibatch_size(n, len(compact.valid), cfg.batch_size)
    for _ in range(3):
        with_pad.append(seconds(padded, cfg.batch_size))
        without.append(seconds(compact, size))
        passes.append(passes_only(size))
    env_steps = rollout.valid.shape[0] * args.num_envs
    return {"rows_padded": n, "rows_valid": len(compact.valid),
            "us_per_env_step_padded": statistics.median(with_pad) / env_steps * 1e6,
            "us_per_env_step_valid_only": statistics.median(without) / env_steps * 1e6,
            "forward_backward_share_of_update": statistics.median(passes)
            / statistics.median(without)}


def env_variants(size: str, seconds: float) -> dict[str, float]:
    """Env steps per second of one env with random actions: RLGym's RocketSimEngine and
    the library reward composition (the env before issue 13's speed-ups), then
    HeldActionEngine, then HeldActionEngine with FusedTeamReward (the env now)."""
    from rlgym.rocket_league.sim import RocketSimEngine

    from dreamlab.envs.rocket import make_rocket_env
    from dreamlab.envs.rocket.rewards import build_reward

    out = {}
    for name in ("stock_engine_library_rewards", "held_engine_library_rewards",
                 "held_engine_fused_reward"):
        env = make_rocket_env({"team_size": size}, seed=0)
        if name.startswith("stock"):
            env.rlgym.transition_engine = RocketSimEngine()
        if name.endswith("library_rewards"):
            env.rlgym.reward_fn = build_reward(env.reward_weights)
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            env.step({a: int(rng.integers(90)) for a in env.agents})
            steps += 1
            if not env.agents:
                env.reset()
        out[name] = steps / (time.perf_counter() - start)
        env.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1v1", "1v2", "2v2"])
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--num-steps", type=int, default=2048, help="the preset's rollout")
    parser.add_argument("--updates", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--env-seconds", type=float, default=2.0)
    # The timers wrap the envs' steps in this process: the one-process layout, whatever
    # the preset's default (a worker process would hide the env step from them).
    parser.set_defaults(vectorization="sync")
    args = parser.parse_args()

    load_before = os.getloadavg()
    phases(args.sizes[0], argparse.Namespace(**{**vars(args), "updates": 1, "num_steps": 16}),
           False)  # warm-up: torch's first passes, RocketSim's meshes
    results: dict[str, Any] = {}
    for size in args.sizes:
        runs: dict[str, list[dict]] = {"blas_1_thread": [], "blas_default_threads": []}
        updates, engines, colds = [], [], []
        for r in range(args.rounds):
            shipped, rollout = phases(size, args, blas_default=False)
            runs["blas_1_thread"].append(shipped)
            runs["blas_default_threads"].append(phases(size, args, blas_default=True)[0])
            updates.append(update_padding(size, args, rollout))
            engines.append(env_variants(size, args.env_seconds))
            colds.append(learner_cold_and_warm(size, args))
            log(f"{size} round {r + 1}: {shipped['env_steps_per_s']:.0f} steps/s as shipped, "
                f"{runs['blas_default_threads'][-1]['env_steps_per_s']:.0f} with default BLAS "
                f"threads; load {os.getloadavg()[0]:.1f}")

        def med(rows: list[dict]) -> dict[str, float]:
            return {k: round(statistics.median(r[k] for r in rows), 1) for k in rows[0]}
        results[size] = {
            "us_per_env_step": {name: med(rows) for name, rows in runs.items()},
            "ppo_update": med(updates),
            "env_steps_per_s": med(engines),
            "learner_forward_us": med(colds),
            "rounds": {"phases": runs, "update": updates, "env": engines,
                       "learner_forward": colds}}
        shipped = results[size]["us_per_env_step"]["blas_1_thread"]
        log(f"{size}: " + ", ".join(f"{k} {v:.0f}" for k, v in shipped.items()))
    payload = {
        **provenance(load_before),
        "settings": vars(args),
        "results": results,
    }
    path = save_result("rocket_selfplay_profile", payload)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
