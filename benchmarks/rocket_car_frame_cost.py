"""What `rocket.car_frame_obs` costs a Rocket League env step, side by side in one run.

Usage:
  python benchmarks/rocket_car_frame_cost.py --steps 10000 --rounds 5
Steps two 1v1 envs of the hour's observation padding (max_team_size 1) in alternating
rounds, both cars on random lookup-table actions: one with DefaultObs' row alone
(FastDefaultObs), one with the car-frame columns appended (car_frame_obs.py). Reports us
per env step for each and their ratio. Why: the columns are built in Python every step,
and a slower env is fewer env steps in the hour; the learning figures of a car-frame
hour must be read beside what it costs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import random_play_us_per_step, save_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10000, help="env steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--name", default="rocket_car_frame_cost")
    args = parser.parse_args()
    from dreamlab.envs.rocket import make_rocket_env

    base = {"team_size": "1v1", "max_team_size": 1}
    envs = {"default_obs": make_rocket_env(base, seed=0),
            "car_frame": make_rocket_env({**base, "car_frame_obs": True}, seed=0)}
    sizes = {label: env.observation_space("blue-0").shape[0] for label, env in envs.items()}
    load_before = os.getloadavg()
    us, _ = random_play_us_per_step(envs, args.steps, args.rounds)
    payload = {"settings": vars(args), "obs_size": sizes, "us_per_env_step": us,
               "car_frame_over_default": round(us["car_frame"] / us["default_obs"], 3),
               "load_average_before": load_before, "load_average_after": os.getloadavg()}
    print(payload)
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
