"""When do the goals against the chaser (or random play) go in? Seconds from kickoff.

Usage:
  python benchmarks/rocket_goal_times.py runs/self_s1_epyc runs/kick100_s1 \\
      --episodes 100 --name rocket_goal_times_epyc
Plays `dreamlab eval`'s games of each run's learner (the chosen one where the run chose)
against the chaser, or with `--opponent random` against random play (through
evaluate.play_run: the same kickoffs and seeds, 2-minute games, the learner on its mode)
and counts the goals for and against by how long after the kickoff they went in (under 5,
10 and 20 seconds, and the median), with who touched the ball last.

Why: against the chaser the hours concede more than they score, and the chaser is a bot
that drives at the ball with boost: a goal in the first seconds is a lost kickoff, a later
one is lost play. The two need different fixes. Against random play nearly every goal
conceded is an own goal: when they go in says whether the learner shoots its own net from
the kickoff or in later play.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finished_runs_parser, save_result  # noqa: E402

BINS_S = (5.0, 10.0, 20.0)


def goal_times(records: list[dict[str, Any]], tick_skip: int) -> dict[str, Any]:
    """Goals for and against, each binned by seconds from the kickoff."""
    from dreamlab.envs.rocket.config import TICKS_PER_SECOND
    from dreamlab.ppo.selfplay.evaluate import own_goal

    out: dict[str, Any] = {}
    for side, scored in (("for", lambda g: g["winner"] == g["learner_team"]),
                         ("against", lambda g: g["winner"] not in (None, g["learner_team"]))):
        games = [g for g in records if scored(g)]
        seconds = np.array([g["steps"] * tick_skip / TICKS_PER_SECOND for g in games])
        out[side] = {"goals": len(games),
                     "own_goals": sum(own_goal(g) for g in games),
                     **{f"under_{b:g}s": int((seconds < b).sum()) for b in BINS_S},
                     "median_s": round(float(np.median(seconds)), 1) if len(games) else None}
    return out


def main() -> None:
    parser = finished_runs_parser(__doc__, count_help="games against the opponent")
    parser.add_argument("--opponent", default="chaser", choices=("chaser", "random"))
    args = parser.parse_args()
    from dreamlab.ppo.selfplay.evaluate import play_run

    load_before = os.getloadavg()
    runs: dict[str, Any] = {}
    for run_dir in args.run_dirs:
        # dreamlab eval's own games against the opponent (its seeds, its setup).
        match = play_run(run_dir, args.episodes, args.opponent).matches[0]
        runs[run_dir.name] = goal_times(match.played["games"], match.setup.rocket.tick_skip)
        print(run_dir.name, runs[run_dir.name], flush=True)
    payload = {"settings": {"run_dirs": [d.name for d in args.run_dirs],
                            "episodes": args.episodes, "opponent": args.opponent,
                            "bins_s": list(BINS_S)},
               "runs": runs, "load_average_before": load_before,
               "load_average_after": os.getloadavg()}
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
