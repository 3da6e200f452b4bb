"""Rocket League throughput: raw RLGym stepping against dreamlab's env, vector env and
batched-inference collection, measured side by side in one run (issue 13, part 3).

Re-run:  .venv/bin/python benchmarks/rocket_throughput.py            (about 4 minutes)
         .venv/bin/python benchmarks/rocket_throughput.py --seconds 2 --rounds 2 --sizes 1v1
Writes benchmarks/results/rocket_throughput.json.

Every mode plays random lookup-table actions with tick skip 8. The machine is shared, so
the modes run interleaved (round 1 of each, then round 2 of each, ...), the median round
is kept, and each figure is also given as a ratio to raw stepping of the same round set;
load averages before and after sit beside the figures.

Modes
- raw: RLGym v2 as shipped (FixedTeamSizeMutator + KickoffMutator, DefaultObs padded to
  2v2, LookupTableAction x8, goal + touch rewards, goal / no-touch / timeout conditions),
  reset by hand: the floor any wrapper adds to.
- env_default_obs / env_fast_obs: dreamlab's PettingZoo env (all four reward terms, team
  spirit, float32 observations) with RLGym's DefaultObs, then with FastDefaultObs.
- vec_inline: RocketVecEnv, 8 envs in this process, observations in the shared arrays.
- vec_workers: the same 8 envs over --workers processes (shared-memory observations).
- vec_hybrid: one worker process steps half the envs while this process steps the other
  half (the trainer's layout on 2 CPUs); vec_hybrid_sleep: the same with both sides
  sleeping on the pipe at once instead of polling it for a few milliseconds first.
  Polling is on only where every process has a CPU (vec_workers on 2 CPUs sleeps).
- collect_workers / collect_hybrid: vec_workers / vec_hybrid plus one batched forward
  pass per policy per step (learner and a pool snapshot: two 2x256 MLPs, torch on 1
  thread): collection as the self-play trainer would do it, without the PPO update.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import provenance, save_result  # noqa: E402


def log(msg: str) -> None:
    print(f"[rocket_throughput {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- the modes: each returns a `run(seconds) -> (env steps, agent steps)` -----------------

Runner = Callable[[float], tuple[int, int]]


def shipped_rlgym(team_size: str) -> Any:
    """RLGym v2 as shipped: the issue's "raw" env (DefaultObs, lookup-table actions repeated
    8 ticks, goal + touch rewards, kickoffs). rocket_rlgym_learn_sps.py hands it to
    rlgym-learn's env processes too."""
    from rlgym.api import RLGym
    from rlgym.rocket_league.action_parsers import LookupTableAction, RepeatAction
    from rlgym.rocket_league.done_conditions import (
        AnyCondition,
        GoalCondition,
        NoTouchTimeoutCondition,
        TimeoutCondition,
    )
    from rlgym.rocket_league.obs_builders import DefaultObs
    from rlgym.rocket_league.reward_functions import CombinedReward, GoalReward, TouchReward
    from rlgym.rocket_league.sim import RocketSimEngine
    from rlgym.rocket_league.state_mutators import (
        FixedTeamSizeMutator,
        KickoffMutator,
        MutatorSequence,
    )

    blue, orange = (int(x) for x in team_size.split("v"))
    return RLGym(
        state_mutator=MutatorSequence(FixedTeamSizeMutator(blue, orange), KickoffMutator()),
        obs_builder=DefaultObs(zero_padding=2),
        action_parser=RepeatAction(LookupTableAction(), repeats=8),
        reward_fn=CombinedReward((GoalReward(), 10.0), (TouchReward(), 0.5)),
        transition_engine=RocketSimEngine(),
        termination_cond=GoalCondition(),
        truncation_cond=AnyCondition(NoTouchTimeoutCondition(30), TimeoutCondition(300)),
    )


def raw_rlgym(team_size: str) -> Runner:
    env = shipped_rlgym(team_size)
    rng = np.random.default_rng(0)
    env.reset()

    def run(seconds: float) -> tuple[int, int]:
        steps = agent_steps = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            actions = {a: rng.integers(0, 90, size=1) for a in env.agents}
            _, _, terminated, truncated = env.step(actions)
            steps += 1
            agent_steps += len(actions)
            if any(terminated.values()) or any(truncated.values()):
                env.reset()
        return steps, agent_steps

    return run


def dreamlab_env(team_size: str, fast_obs: bool) -> Runner:
    from dreamlab.envs.rocket import make_rocket_env

    env = make_rocket_env({"team_size": team_size, "fast_obs": fast_obs}, seed=0)
    rng = np.random.default_rng(0)
    env.reset()

    def run(seconds: float) -> tuple[int, int]:
        steps = agent_steps = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            actions = {a: int(rng.integers(90)) for a in env.agents}
            env.step(actions)
            steps += 1
            agent_steps += len(actions)
            if not env.agents:
                env.reset()
        return steps, agent_steps

    return run


def vec(team_size: str, num_envs: int, workers: int, policies: int, main_share: bool = False,
        spin: bool = True) -> tuple[Runner, Callable]:
    from dreamlab.envs.rocket.config import RocketEnvConfig
    from dreamlab.envs.rocket.vector import RocketVecEnv

    venv = RocketVecEnv(num_envs, RocketEnvConfig(team_size=team_size), num_workers=workers,
                        seed=0, main_share=main_share, spin_s=None if spin else 0.0)
    venv.reset()
    rng = np.random.default_rng(0)
    act: Callable[[], None]
    if policies:
        import torch

        from dreamlab.ppo.selfplay.batching import batched_actions_array, owner_matrix

        torch.set_num_threads(1)
        dim = venv.obs.shape[-1]
        nets = [torch.nn.Sequential(torch.nn.Linear(dim, 256), torch.nn.ReLU(),
                                    torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                    torch.nn.Linear(256, 90)) for _ in range(policies)]

        def policy(net: torch.nn.Module) -> Callable[[np.ndarray], np.ndarray]:
            def forward(obs: np.ndarray) -> np.ndarray:
                with torch.inference_mode():
                    logits = net(torch.from_numpy(obs))
                    return torch.distributions.Categorical(logits=logits).sample().numpy()
            return forward

        fns = [policy(n) for n in nets]
        opponent = np.zeros(num_envs, dtype=np.int64)  # every env plays pool snapshot 0

        def act() -> None:
            # The learner is blue here; the trainer reads venv.learner_team instead.
            owner = owner_matrix(venv.alive, venv.team, np.zeros(num_envs, np.int8), opponent)
            batched_actions_array(venv.obs, owner, fns, venv.actions)
    else:
        def act() -> None:
            venv.actions[:] = rng.integers(0, 90, venv.actions.shape)

    def run(seconds: float) -> tuple[int, int]:
        steps = agent_steps = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            act()
            agent_steps += int(venv.alive.sum())
            venv.step()
            steps += num_envs
        return steps, agent_steps

    return run, venv.close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per mode per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", nargs="+", default=["1v1", "1v2", "2v2"])
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--name", default="rocket_throughput")
    args = parser.parse_args()

    load_before = os.getloadavg()
    results: dict[str, dict] = {}
    for size in args.sizes:
        closers: list[Callable] = []
        modes: dict[str, Runner] = {
            "raw": raw_rlgym(size),
            "env_default_obs": dreamlab_env(size, fast_obs=False),
            "env_fast_obs": dreamlab_env(size, fast_obs=True),
        }
        if size == "1v1":  # the vector modes, in the stage that trains longest
            for name, workers, policies, share, spin in (
                    ("vec_inline", 0, 0, False, True),
                    ("vec_workers", args.workers, 0, False, True),
                    ("vec_hybrid", 1, 0, True, True),
                    ("vec_hybrid_sleep", 1, 0, True, False),
                    ("collect_workers", args.workers, 2, False, True),
                    ("collect_hybrid", 1, 2, True, True)):
                run, close = vec(size, args.num_envs, workers, policies, share, spin)
                modes[name], _ = run, closers.append(close)
        for run in modes.values():
            run(0.3)  # warm-up: imports, first resets, worker start
        rounds: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
        for r in range(args.rounds):
            for name, run in modes.items():
                t = time.perf_counter()
                steps, agent_steps = run(args.seconds)
                dt = time.perf_counter() - t
                rounds[name].append((steps / dt, agent_steps / dt))
            log(f"{size} round {r + 1}: " + ", ".join(
                f"{m} {v[-1][0]:.0f}" for m, v in rounds.items()))
        for close in closers:
            close()
        raw_med = statistics.median(s for s, _ in rounds["raw"])
        results[size] = {
            name: {"env_steps_per_s": round(statistics.median(s for s, _ in v), 1),
                   "agent_steps_per_s": round(statistics.median(a for _, a in v), 1),
                   "rounds_env_steps_per_s": [round(s, 1) for s, _ in v],
                   "ratio_to_raw": round(statistics.median(s for s, _ in v) / raw_med, 3)}
            for name, v in rounds.items()}
    payload = {
        **provenance(load_before),
        "settings": {"seconds": args.seconds, "rounds": args.rounds,
                     "num_envs": args.num_envs, "workers": args.workers,
                     "tick_skip": 8, "actions": "random LookupTableAction (90)"},
        "results": results,
    }
    path = save_result(args.name, payload)
    log(f"wrote {path}")
    for size, modes_out in results.items():
        log(size + ": " + ", ".join(f"{m} {v['env_steps_per_s']:.0f}/s "
                                   f"(x{v['ratio_to_raw']:.2f})" for m, v in modes_out.items()))


if __name__ == "__main__":
    main()
