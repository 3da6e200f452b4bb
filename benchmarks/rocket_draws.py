"""Where are the games against random play that end without a goal? Per finished hour.

Usage:
  python benchmarks/rocket_draws.py runs/kick100_s1 runs/kick100_s2 runs/kick100_s42 \\
      --episodes 100 --name rocket_draws_kick100

Plays each run's newest learner (on its mode, as `dreamlab eval` does) against uniformly
random actions: 2-minute games from kickoffs, the learner blue and orange by turns, one
env in-process so the game state can be read every step. For every game that ends
without a goal it summarises the last 15 s, in the learner's attacking frame (+y is the
goal it attacks): where the ball was, how far the learner was from it, how often it
touched it, how much of the time its wheels were on the ground.

Why: the hours win 75-91 of 100 games against random play, and nearly all the rest are
draws (a loss is almost always an own goal). A draw is 2 minutes against an opponent that
hardly touches the ball, so the learner had the ball to itself: whether it lost the ball,
or had it and could not finish, and where, say which fix to try. These are games of
their own (seeded per game here), not the evaluation's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finished_runs_parser, save_result  # noqa: E402

TAIL_S = 15.0
# The field's half-length is 5,120 uu (the goal line); a third of it splits the zones.
ATTACK_Y = 5120.0 / 3.0
BACK_WALL_Y = 4000.0   # within ~1,100 uu of the goal line it attacks
CORNER_X = 1500.0      # wide of the goal mouth (|x| < 893) by more than a car's length
ZONES = ("attacking corner", "attacking third, not a corner", "midfield", "defending third")


def zone(ball_y: float, ball_x: float) -> str:
    """Where a ball (in the learner's attacking frame) sits: the four ZONES."""
    if ball_y > ATTACK_Y:
        return "attacking corner" if ball_y > BACK_WALL_Y and abs(ball_x) > CORNER_X \
            else "attacking third, not a corner"
    return "defending third" if ball_y < -ATTACK_Y else "midfield"


def tail_summary(ball: np.ndarray, car: np.ndarray, on_ground: np.ndarray,
                 touches: np.ndarray, step_s: float) -> dict[str, Any]:
    """One drawn game's last TAIL_S seconds: ball (T, 3) and car (T, 3) positions in the
    learner's attacking frame, on_ground and touches (T,) per step."""
    mean = ball.mean(axis=0)
    touched = np.flatnonzero(touches)
    since = (len(touches) - 1 - touched[-1]) * step_s if len(touched) else None
    return {"zone": zone(float(mean[1]), float(mean[0])),
            "ball_mean": [round(float(v)) for v in mean],
            "car_ball_distance": round(float(np.linalg.norm(ball - car, axis=1).mean())),
            "touches_per_minute": round(float(touches.sum()) / (len(touches) * step_s) * 60.0, 1),
            "on_ground": round(float(on_ground.mean()), 2),
            "s_since_last_touch": None if since is None else round(since, 1)}


def summarize(draws: list[dict[str, Any]], games: int) -> dict[str, Any]:
    """The drawn games counted by zone, with the medians of their tail figures."""
    def median(key: str) -> float | None:
        values = [d[key] for d in draws if d[key] is not None]
        return round(float(np.median(values)), 2) if values else None
    return {"games": games, "draws": len(draws),
            "by_zone": {z: sum(d["zone"] == z for d in draws) for z in ZONES},
            "median_car_ball_distance": median("car_ball_distance"),
            "median_touches_per_minute": median("touches_per_minute"),
            "median_on_ground": median("on_ground"),
            "median_s_since_last_touch": median("s_since_last_touch")}


def play(run_dir: Path, games: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """`games` games against random play; the drawn ones' tail summaries and the results."""
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.envs.rocket import make_rocket_env
    from dreamlab.envs.rocket.config import TICKS_PER_SECOND
    from dreamlab.ppo.selfplay.evaluate import (
        EvalSetup,
        Opponent,
        load_learner,
        opponent_policy,
        team_actions,
    )
    from dreamlab.runtime.rundir import load_run_config
    from dreamlab.runtime.seeding import derive_seed

    cfg = load_run_config(run_dir, PPOConfig)
    setup = EvalSetup.from_checkpoint(cfg, load_learner(run_dir))
    seed = derive_seed(cfg.seed, "draws")
    rocket = setup.rocket
    step_s = rocket.tick_skip / TICKS_PER_SECOND
    tail = int(round(TAIL_S / step_s))
    draws: list[dict[str, Any]] = []
    results = {"wins": 0, "draws": 0, "losses": 0}
    for g in range(games):
        team = g % 2
        frame = np.array([1.0, 1.0 if team == 0 else -1.0, 1.0])  # blue attacks +y
        game_seed = derive_seed(seed, "game", g)
        opponent = opponent_policy(Opponent("random", "random"), cfg, rocket, setup.obs_dim,
                                   game_seed)
        env = make_rocket_env(rocket, team_sizes=setup.team_sizes(("blue", "orange")[team]),
                              seed=game_seed)
        rows: list[tuple[np.ndarray, np.ndarray, bool, int]] = []
        winner = None
        try:
            obs, _ = env.reset(seed=game_seed)
            while env.agents:
                obs, _, _, _, infos = env.step(team_actions(
                    env, obs, {team: setup.learner, 1 - team: opponent}))
                state = env.state_now
                car = next(c for c in state.cars.values() if c.team_num == team)
                rows.append((state.ball.position * frame, car.physics.position * frame,
                             bool(car.on_ground), int(car.ball_touches > 0)))
                if not env.agents:
                    winner = next(iter(infos.values()))["winner"]
        finally:
            env.close()
        key = "draws" if winner is None else ("wins" if winner == team else "losses")
        results[key] += 1
        if winner is None:
            last = rows[-tail:]
            draws.append({"game": g, "learner": ("blue", "orange")[team], **tail_summary(
                np.array([r[0] for r in last]), np.array([r[1] for r in last]),
                np.array([r[2] for r in last]), np.array([r[3] for r in last]), step_s)})
    return draws, results


def main() -> None:
    args = finished_runs_parser(__doc__, count_help="games against random play").parse_args()

    load_before = os.getloadavg()
    runs: dict[str, Any] = {}
    for run_dir in args.run_dirs:
        draws, results = play(run_dir, args.episodes)
        runs[run_dir.name] = {"results": results, **summarize(draws, args.episodes),
                              "drawn_games": draws}
        print(run_dir.name, results, runs[run_dir.name]["by_zone"], flush=True)
    payload = {"settings": {"run_dirs": [d.name for d in args.run_dirs], "episodes": args.episodes,
                            "opponent": "random", "tail_s": TAIL_S,
                            "zones": {"attacking_y": ATTACK_Y, "back_wall_y": BACK_WALL_Y,
                                      "corner_abs_x": CORNER_X}},
               "runs": runs, "load_average_before": load_before,
               "load_average_after": os.getloadavg()}
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
