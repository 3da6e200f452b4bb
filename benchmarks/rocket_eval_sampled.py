"""The mode or a sample? Finished hours evaluated both ways, side by side.

Usage:
  python benchmarks/rocket_eval_sampled.py runs/self_s1_epyc runs/self_s2_epyc \\
      runs/self_s42_epyc --episodes 100 --name rocket_eval_sampled_epyc
Plays each run's newest learner against random play and the chaser (`dreamlab eval`'s
games: the same kickoffs, 2-minute games), once acting on the mode of its policy, as
issue 13's evaluation does, and once sampling its actions (`--sample-actions`, the way it
acted in training), and writes per run and as mean and sample std over the runs: W/D/L,
goals for and against and the own goals either way. `over_runs` averages every run given,
so list the seeds of one YAML when the mean is to mean something.

Why: the hour's learners end at ~0.8 nats of policy entropy over 90 actions, far from
one action a state: the mode is a policy they never played in training, and a
deterministic car can lock into one line against a bot that always does the same.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finished_runs_parser, mean_and_sample_std, save_result  # noqa: E402

OPPONENTS = ("random", "chaser")
FIGURES = ("wins", "draws", "losses", "goals_for", "goals_against", "own_goals_for",
           "own_goals_against", "touches_per_minute")


def main() -> None:
    args = finished_runs_parser(__doc__, count_help="games per opponent").parse_args()
    from dreamlab.ppo.selfplay.evaluate import evaluate_selfplay_run

    load_before = os.getloadavg()
    runs: dict[str, Any] = {}
    for run_dir in args.run_dirs:
        scratch = run_dir / "eval_sampled.json"  # not the run's evaluation_results.json
        row: dict[str, Any] = {}
        for mode in ("mode", "sampled"):
            result = evaluate_selfplay_run(run_dir, episodes=args.episodes,
                                           opponent=list(OPPONENTS), output=scratch,
                                           sample_actions=mode == "sampled")
            row[mode] = {o: {k: result.extra["opponents"][o][k] for k in FIGURES}
                         for o in OPPONENTS}
            row["train_env_steps"] = result.extra["train_env_steps"]
            print(run_dir.name, mode, row[mode], flush=True)
        scratch.unlink(missing_ok=True)
        runs[run_dir.name] = row
    over = {mode: {o: {k: mean_and_sample_std([r[mode][o][k] for r in runs.values()], 2)
                       for k in FIGURES} for o in OPPONENTS} for mode in ("mode", "sampled")}
    payload = {"runs": runs, "over_runs": over, "episodes_per_opponent": args.episodes,
               "load_average_before": load_before, "load_average_after": os.getloadavg()}
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
