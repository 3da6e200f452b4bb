"""Who wins the kickoff against the chaser, and how? The first seconds of each game.

Usage:
  python benchmarks/rocket_kickoffs.py runs/kick100_s1 runs/kick100_s2 runs/kick100_s42 \\
      --games 40 --name rocket_kickoffs_epyc
Plays each run's newest learner (on its mode, in `dreamlab eval`'s env: kickoffs, 2-minute
games) against the chaser for the first `--seconds` of `--games` kickoffs, colours
alternating, and records step by step which car touched the ball, whether each car was
boosting (the simulator's own flag), its speed and its distance to the ball. Reports per
run: who touched the ball first (the learner, the chaser, or both on the same step), the
median time to that touch, each side's mean speed and boosting share over the first two
seconds, the goals each side scored inside the window, and in how many kickoffs the ball
was in the learner's half 3 s in (who won the kickoff).

Why: rocket_goal_times_epyc.json found most goals the hours concede to the chaser go in
within 10 s of the kickoff. Whether the learner arrives late (a speed problem: its path,
its boost) or arrives in time and loses the touch (a contact problem) needs different
training.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finished_runs_parser, save_result  # noqa: E402

EARLY_S = 2.0  # the window of the speed and boost means: the drive to the ball
AFTER_S = 3.0  # where the ball is this long after the kickoff says who won it


def first_touch(touches: list[tuple[bool, bool]]) -> tuple[str, int] | None:
    """(who, step) of the first step either side touched the ball: "learner", "chaser" or
    "both" (same step); steps count from 1. None when nobody touched it."""
    for step, (learner, chaser) in enumerate(touches, start=1):
        if learner or chaser:
            return ("both" if learner and chaser else "learner" if learner else "chaser",
                    step)
    return None


def summarize_kickoffs(games: list[dict[str, Any]], steps_per_s: float) -> dict[str, Any]:
    """Per-run figures from the per-game records `play_kickoff` returns."""
    firsts = [first_touch(g["touches"]) for g in games]
    early = int(round(EARLY_S * steps_per_s))
    out: dict[str, Any] = {"games": len(games)}
    for who in ("learner", "chaser", "both"):
        out[f"first_touch_{who}"] = sum(f is not None and f[0] == who for f in firsts)
    out["first_touch_none"] = sum(f is None for f in firsts)
    times = [f[1] / steps_per_s for f in firsts if f is not None]
    out["first_touch_median_s"] = round(statistics.median(times), 2) if times else None
    for i, side in enumerate(("learner", "chaser")):
        speeds = [s[i] for g in games for s in g["speed"][:early]]
        boosts = [b[i] for g in games for b in g["boosting"][:early]]
        out[f"{side}_mean_speed_first_{EARLY_S:g}s"] = round(float(np.mean(speeds)), 1) \
            if speeds else None
        out[f"{side}_boosting_share_first_{EARLY_S:g}s"] = round(float(np.mean(boosts)), 3) \
            if boosts else None
        out[f"{side}_goals_in_window"] = sum(g["goal"] == side for g in games)
    # Ball y in the learner's frame (+ = towards the goal it attacks) AFTER_S in: negative
    # is the learner's own half. A game already over by then counts where it ended.
    after = int(round(AFTER_S * steps_per_s))
    ys = [g["ball_y"][min(after, len(g["ball_y"])) - 1] for g in games if g["ball_y"]]
    out[f"ball_in_learner_half_at_{AFTER_S:g}s"] = sum(y < 0 for y in ys)
    return out


def play_kickoff(env: Any, learner: Any, chaser: Any, learner_team: int, seed: int,
                 max_steps: int) -> dict[str, Any]:
    """One kickoff, the first max_steps agent steps (or to the goal): per step, each side's
    (learner, chaser) ball touch, boosting flag and speed (uu/s), and the ball's y in the
    learner's frame (blue attacks +y, orange -y)."""
    obs, _ = env.reset(seed=seed)
    rec: dict[str, Any] = {"learner_team": learner_team, "touches": [], "boosting": [],
                           "speed": [], "ball_y": [], "goal": None}
    attack = 1.0 if learner_team == 0 else -1.0
    from dreamlab.ppo.selfplay.evaluate import team_actions

    policies = {learner_team: learner, 1 - learner_team: chaser}
    while env.agents and len(rec["touches"]) < max_steps:
        obs, _, _, _, infos = env.step(team_actions(env, obs, policies))
        cars = list(env.state_now.cars.values())
        sides = ([c for c in cars if c.team_num == learner_team],
                 [c for c in cars if c.team_num != learner_team])
        rec["touches"].append(tuple(any(c.ball_touches > 0 for c in s) for s in sides))
        rec["boosting"].append(tuple(float(np.mean([c.is_boosting for c in s]))
                                     for s in sides))
        rec["speed"].append(tuple(float(np.mean([np.linalg.norm(c.physics.linear_velocity)
                                                 for c in s])) for s in sides))
        rec["ball_y"].append(attack * float(env.state_now.ball.position[1]))
        if not env.agents:
            winner = next(iter(infos.values()))["winner"]
            if winner is not None:
                rec["goal"] = "learner" if winner == learner_team else "chaser"
    return rec


def main() -> None:
    parser = finished_runs_parser(__doc__, "--games", 40, "kickoffs per run")
    parser.add_argument("--seconds", type=float, default=6.0, help="window after the kickoff")
    args = parser.parse_args()
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.envs.rocket import make_rocket_env
    from dreamlab.envs.rocket.config import TICKS_PER_SECOND
    from dreamlab.ppo.selfplay.evaluate import (
        EvalSetup,
        Opponent,
        load_learner,
        opponent_policy,
    )
    from dreamlab.runtime.rundir import load_run_config
    from dreamlab.runtime.seeding import derive_seed

    load_before = os.getloadavg()
    runs: dict[str, Any] = {}
    for run_dir in args.run_dirs:
        cfg = load_run_config(run_dir, PPOConfig)
        setup = EvalSetup.from_checkpoint(cfg, load_learner(run_dir))  # dreamlab eval's env
        rocket = setup.rocket
        chaser = opponent_policy(Opponent("chaser", "chaser"), cfg, rocket, setup.obs_dim, 0)
        steps_per_s = TICKS_PER_SECOND / rocket.tick_skip
        seed = derive_seed(cfg.seed, "kickoffs")
        games = []
        for team, colour in ((0, "blue"), (1, "orange")):
            env = make_rocket_env(rocket, team_sizes=setup.team_sizes(colour), seed=seed)
            try:
                games += [play_kickoff(env, setup.learner, chaser, team, seed + g,
                                       int(args.seconds * steps_per_s))
                          for g in range(team, args.games, 2)]
            finally:
                env.close()
        runs[run_dir.name] = {"team_size": setup.stage.name,
                              "train_env_steps": setup.trained_env_steps,
                              **summarize_kickoffs(games, steps_per_s)}
        print(run_dir.name, runs[run_dir.name], flush=True)
    payload = {"settings": {"run_dirs": [d.name for d in args.run_dirs], "games": args.games,
                            "seconds": args.seconds, "opponent": "chaser",
                            "early_window_s": EARLY_S},
               "runs": runs, "load_average_before": load_before,
               "load_average_after": os.getloadavg()}
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
