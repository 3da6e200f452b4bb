"""What the seeded demo respawns cost a Rocket League env step, side by side in one run.

Usage:
  python benchmarks/rocket_respawn_cost.py --steps 10000 --rounds 5
Steps two 1v1 envs in alternating rounds, both cars driven by the chaser (envs/rocket/
chaser.py: it boosts into the other car, so demos happen): one env with HeldActionEngine as
it is (each demolished car noted, re-placed from the env's seed on the tick it returns),
one with the engine's demo handling switched off (plain `arena.step`, RocketSim's own
respawn draw, as before 12-01). Reports us per env step for each and their ratio, with the
demos each saw. Why: the seeded respawn adds a check to every step and steps tick by tick
in a step where a demolished car returns; the hour figures must not hide a slowdown.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_result, us_per_step_alternating  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10000, help="env steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--name", default="rocket_respawn_cost")
    args = parser.parse_args()
    from dreamlab.envs.rocket import make_rocket_env
    from dreamlab.envs.rocket.chaser import Chaser

    cfg = {"team_size": "1v1", "game_timeout_s": 120.0, "no_touch_timeout_s": 120.0}
    envs = {"seeded": make_rocket_env(cfg, seed=0), "rocketsim": make_rocket_env(cfg, seed=0)}
    off = envs["rocketsim"].rlgym.transition_engine
    off._advance = off._arena.step  # every tick block in one call, nothing re-placed
    off._arena.set_car_demo_callback(lambda **_: demos.__setitem__("rocketsim",
                                                                   demos["rocketsim"] + 1))
    on = envs["seeded"].rlgym.transition_engine
    noted = on._on_demo

    def count_on(arena, bumper, victim, data):
        demos["seeded"] += 1
        noted(arena, bumper, victim, data)

    on._arena.set_car_demo_callback(count_on)
    demos = {"seeded": 0, "rocketsim": 0}
    chaser = Chaser("discrete")
    load_before = os.getloadavg()
    obs = {label: env.reset(seed=0)[0] for label, env in envs.items()}

    def run_round(label: str) -> None:
        env = envs[label]
        for _ in range(args.steps):
            if not env.agents:
                obs[label] = env.reset()[0]
            acts = chaser(np.stack([obs[label][a] for a in env.agents]))
            obs[label] = env.step(dict(zip(env.agents, acts, strict=True)))[0]

    us = us_per_step_alternating(list(envs), run_round, args.steps, args.rounds)
    payload = {"settings": vars(args), "us_per_env_step": us,
               "seeded_over_rocketsim": round(us["seeded"] / us["rocketsim"], 3),
               "demos": demos, "load_average_before": load_before,
               "load_average_after": os.getloadavg()}
    print(payload)
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
