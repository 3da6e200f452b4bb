"""What a reward weight costs a Rocket League env step, side by side in one run.

Usage:
  python benchmarks/rocket_reward_cost.py --set kickoff_first_touch=2.0 --steps 20000 \\
      --rounds 5 --name rocket_reward_cost_kickoff
Builds two 1v1 envs from the hour YAML's `rocket:` settings (scattered starts, the fast
observations, its reward weights), the second with `--set` changing reward weights, and
steps them in alternating rounds with the same seeded random actions. Reports us per env
step for each, their ratio, and the games each played.

Why: the three hours with `kickoff_first_touch: 2.0` collected ~4,200-6,900 env steps/s
where the hours without it collected ~8,000-10,000, from their first rollout on, when
both policies are still random. Either the term's code costs that much, or the VM was
slower while those hours ran; this measures the first with the second held equal.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, random_play_us_per_step, save_result  # noqa: E402

CONFIG = "configs/experiments/ppo_rocket_1v1_hour.yaml"


def parse_sets(items: list[str]) -> dict[str, float]:
    """`key=value` reward weights; a malformed one is one SystemExit line."""
    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep or not key:
                raise ValueError
            out[key.strip()] = float(value)
        except ValueError:
            raise SystemExit(f"--set {item!r}: expected key=number, e.g. "
                             "kickoff_first_touch=2.0") from None
    return out


def rocket_settings(config: str, sets: dict[str, float]) -> dict[str, Any]:
    """The YAML's `rocket:` block with `sets` laid over its rewards."""
    from dreamlab.config.base import load_yaml
    from dreamlab.config.ppo import PPOConfig

    rocket = dict(load_yaml(REPO / config, PPOConfig)["rocket"])
    rocket["rewards"] = {**rocket.get("rewards", {}), **sets}
    return rocket


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a reward weight of the second env (repeatable)")
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--steps", type=int, default=20000, help="env steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--name", default="rocket_reward_cost")
    args = parser.parse_args()
    sets = parse_sets(args.set)
    if not sets:
        raise SystemExit("--set: give at least one reward weight to compare")
    from dreamlab.envs.rocket import make_rocket_env

    envs = {"yaml": make_rocket_env(rocket_settings(args.config, {}), seed=0),
            "with_set": make_rocket_env(rocket_settings(args.config, sets), seed=0)}
    load_before = os.getloadavg()
    us, games = random_play_us_per_step(envs, args.steps, args.rounds)
    for env in envs.values():
        env.close()
    payload = {"settings": {**vars(args), "set": sets}, "us_per_env_step": us,
               "with_set_over_yaml": round(us["with_set"] / us["yaml"], 3),
               "games": games, "load_average_before": load_before,
               "load_average_after": os.getloadavg()}
    print(payload)
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
