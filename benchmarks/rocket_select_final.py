"""What does choosing the final learner by validation games give finished hours?

Usage:
  python benchmarks/rocket_select_final.py runs/kick100_s1 runs/kick100_s2 \\
      runs/kick100_s42 --candidates 8 --games 60 --opponents random,chaser \\
      --episodes 100 --name rocket_select_final_kick100
For each finished run: select.py's choice among its newest checkpoint and its newest pool
snapshots (the games the trainer plays at the end of an hour with
`selfplay.select_candidates`; seeds of their own), then `dreamlab eval`'s games (the
evaluation's seeds: 100 against random, 100 against the chaser) with the chosen learner
and with the newest checkpoint, side by side in this one process. Writes per run both
learners' figures and the selection's candidates and time, and over the runs the mean and
sample std of each.

Why: the hour YAML's final learners won 85.0 +- 8.7 of 100 against random (target 90),
while the last nine learners of each run won 89.1 on the mean and the final one ranked
7th, 7th and 9th (rocket_snapshot_spread_epyc.json). This says how much of that a choice
made without the evaluation's games recovers. The hours here trained 60 minutes before
the choice; with the option on, the trainer takes the choice's time (select_minutes) out
of the hour instead.

The runs get checkpoints/selected.pt and selection.json, as the trainer would have left.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finished_runs_parser, mean_and_sample_std, save_result  # noqa: E402

KEYS = ("wins", "draws", "losses", "goals_for", "goals_against", "own_goals_for",
        "own_goals_against")  # own_goals_for: the opponent's own goals (the chaser scores some)


def figures(evaluation: Any) -> dict[str, dict[str, Any]]:
    """Each opponent's KEYS of an EvalResult."""
    return {name: {k: per[k] for k in KEYS}
            for name, per in evaluation.extra["opponents"].items()}


def aggregate(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Over the runs, for the chosen and the final learner: wins against random, goals for
    and against the chaser (mean and sample std), and how many chose a snapshot."""
    out: dict[str, Any] = {}
    for who in ("chosen", "final"):
        rows = [r[who] for r in runs.values()]
        out[who] = {"wins_vs_random": mean_and_sample_std([r["random"]["wins"] for r in rows], 2),
                    "chaser_goals_for": mean_and_sample_std(
                        [r["chaser"]["goals_for"] for r in rows], 2),
                    "chaser_goals_against": mean_and_sample_std(
                        [r["chaser"]["goals_against"] for r in rows], 2)}
    out["chose_a_snapshot"] = sum(r["selection"]["chosen"] != "final" for r in runs.values())
    return out


def main() -> None:
    parser = finished_runs_parser(__doc__, count_help="evaluation games per opponent")
    parser.add_argument("--candidates", type=int, default=8, help="newest pool snapshots")
    parser.add_argument("--games", type=int, default=60, help="validation games per opponent")
    parser.add_argument("--opponents", default="random,chaser", help="validation opponents")
    parser.add_argument("--workers", type=int, default=2,
                        help="candidates played side by side (the same rows as 1)")
    args = parser.parse_args()
    from dreamlab.ppo.selfplay.evaluate import evaluate_selfplay_run
    from dreamlab.ppo.selfplay.select import candidates, select_final_learner

    load_before = os.getloadavg()
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for run_dir in args.run_dirs:
            final_path = candidates(run_dir, 0)[0].path
            report = select_final_learner(run_dir, args.candidates, args.games, args.opponents,
                                          workers=args.workers)
            ev = {}
            for who, checkpoint in (("chosen", None), ("final", final_path)):
                ev[who] = figures(evaluate_selfplay_run(
                    run_dir, args.episodes, opponent=["random", "chaser"],
                    checkpoint=checkpoint, output=Path(scratch) / f"{who}.json"))
            runs[run_dir.name] = {
                **ev, "selection": {k: report[k] for k in (
                    "chosen", "chosen_train_env_steps", "final_step", "skipped", "wall_s")},
                "candidates": [[r["learner"], r["train_env_steps"], r["goal_difference"]]
                               for r in report["candidates"]]}
            print(run_dir.name, runs[run_dir.name]["selection"],
                  {w: ev[w]["random"]["wins"] for w in ev}, flush=True)
    payload = {"settings": {"run_dirs": [d.name for d in args.run_dirs],
                            "candidates": args.candidates, "validation_games": args.games,
                            "validation_opponents": args.opponents, "workers": args.workers,
                            "evaluation_games": args.episodes},
               "runs": runs, "over_runs": aggregate(runs),
               "load_average_before": load_before, "load_average_after": os.getloadavg()}
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
