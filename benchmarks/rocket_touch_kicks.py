"""How hard a Rocket League learner's touches hit the ball: against itself, random, the chaser.

Usage:
  python benchmarks/rocket_touch_kicks.py runs/align_s1 --name touch_kicks_align_s1
Plays --episodes two-minute games of the run's newest learner against its own newest
checkpoint ("self"), random play and the chaser (dreamlab eval's games), and records, for
every step in which a car touched the ball, how much the ball's velocity changed (uu/s).
The kicks and `touch_steps_per_minute` cover every step the evaluation's envs played,
including games past an env's quota that W/D/L leaves out (play_games keeps every env
stepping until all games are in); the step time assumes the runs' tick skip of 8.

Why: the align_ball_goal hour (align_s1.json) ended with training returns of several
hundred a game, far above any earlier hour. A ball pinned between the learner and its copy
is touched nearly every step and barely moves; a real touch moves it hundreds of uu/s. The
figures here chose reward_weights.touch_min_kick's threshold.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_result  # noqa: E402

THRESHOLDS = (100, 250, 500, 1000)
STEP_SECONDS = 8 / 120  # tick skip 8 at 120 ticks a second


class KickRecorder:
    """Wraps FusedTeamReward's reset and get_rewards to log |ball velocity change| on each
    step with a touch; it keeps its own previous velocity, whatever the run's weights."""

    def __init__(self) -> None:
        self.kicks: list[float] = []
        self.steps = 0

    def install(self) -> None:
        from dreamlab.envs.rocket import fused_reward

        cls = fused_reward.FusedTeamReward
        reset, get_rewards = cls.reset, cls.get_rewards
        recorder = self

        def reset_and_remember(fn, agents, initial_state, shared_info):
            fn._kick_prev = np.array(initial_state.ball.linear_velocity)
            return reset(fn, agents, initial_state, shared_info)

        def rewards_and_record(fn, agents, state, *rest):
            velocity = np.array(state.ball.linear_velocity)
            prev = getattr(fn, "_kick_prev", velocity)
            fn._kick_prev = velocity
            recorder.steps += 1
            if any(car.ball_touches > 0 for car in state.cars.values()):
                recorder.kicks.append(float(np.linalg.norm(velocity - prev)))
            return get_rewards(fn, agents, state, *rest)

        cls.reset, cls.get_rewards = reset_and_remember, rewards_and_record

    def take(self) -> dict[str, Any]:
        kicks = np.array(self.kicks)
        minutes = self.steps * STEP_SECONDS / 60
        out: dict[str, Any] = {"steps": self.steps, "touch_steps": len(kicks),
                               "touch_steps_per_minute": round(len(kicks) / minutes, 1)
                               if minutes else None}
        if len(kicks):
            out["kick_percentiles_10_25_50_75_90"] = [
                round(float(v), 1) for v in np.percentile(kicks, [10, 25, 50, 75, 90])]
            out["share_at_least"] = {str(t): round(float((kicks >= t).mean()), 3)
                                     for t in THRESHOLDS}
        self.kicks, self.steps = [], 0
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--episodes", type=int, default=5, help="games per opponent")
    parser.add_argument("--name", required=True, help="results file name")
    args = parser.parse_args()
    from dreamlab.ppo.selfplay.evaluate import evaluate_selfplay_run

    checkpoints = sorted((args.run_dir / "checkpoints").glob("step_*.pt"))
    if not checkpoints:
        parser.error(f"{args.run_dir} has no checkpoints/step_*.pt")
    recorder = KickRecorder()
    recorder.install()
    load_before = os.getloadavg()
    rows: dict[str, Any] = {}
    scratch = args.run_dir / "touch_kicks_eval.json"  # not the run's evaluation_results.json
    for label, opponent in (("self", str(checkpoints[-1])), ("random", "random"),
                            ("chaser", "chaser")):
        result = evaluate_selfplay_run(args.run_dir, episodes=args.episodes,
                                       opponent=opponent, output=scratch)
        games = next(iter(result.extra["opponents"].values()))
        rows[label] = {**recorder.take(), "wins": games["wins"], "draws": games["draws"],
                       "losses": games["losses"],
                       "touches_per_minute": games["touches_per_minute"]}
    payload = {"run_dir": str(args.run_dir), "learner_checkpoint": checkpoints[-1].name,
               "episodes_per_opponent": args.episodes, "load_average_before": load_before,
               "load_average_after": os.getloadavg(), "opponents": rows}
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
