"""How much do a finished hour's last learners differ? Its newest pool snapshots, each
played against random play in the same games.

Usage:
  python benchmarks/rocket_snapshot_spread.py runs/kick100_s1 runs/kick100_s2 \\
      runs/kick100_s42 --snapshots 8 --episodes 100 --name rocket_snapshot_spread_kick100
Plays `dreamlab eval`'s games (the same kickoffs and seeds, 2-minute games, the learner on
its mode) with the run's final learner and with each of its newest pool snapshots in turn
(one every `selfplay.snapshot_every` steps: ~100k env steps, ~30 s of training apart), and
writes each one's wins, draws and losses, and per run their mean, sample std, min and max.

Why: issue 13's learning figure is the final learner's 100 games, and three seeds of one
YAML have scored 75 to 91 wins. If learners a few hundred thousand steps apart in one run
differ as much, a single hour's final figure is mostly the luck of where the clock
stopped, and comparing two YAMLs one seed each says little; if they agree, the spread
between seeds is the seeds'.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finished_runs_parser, mean_and_sample_std, save_result  # noqa: E402


def newest_snapshots(run_dir: Path, count: int) -> list[Path]:
    """The run's `count` newest pool snapshots, oldest first (their names carry the step)."""
    from dreamlab.ppo.selfplay.select import pool_snapshots

    pool = pool_snapshots(run_dir)
    if not pool:
        raise SystemExit(f"{run_dir} has no pool snapshots (checkpoints/pool/step_*.pt)")
    return [path for _, path in pool[-count:]]


def run_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One run's entry in the JSON: every learner's row, then the spread of their wins:
    mean and sample std, the worst and the best, and where the final learner (the row
    named 'final') ranks among them (1 = most wins)."""
    wins = [r["wins"] for r in rows]
    final = next((r["wins"] for r in rows if r["learner"] == "final"), None)
    return {"learners": rows, "count": len(rows), "wins": mean_and_sample_std(wins, 2),
            "min_wins": min(wins), "max_wins": max(wins),
            "final_wins": final,
            "final_rank": None if final is None else 1 + sum(w > final for w in wins)}


def main() -> None:
    parser = finished_runs_parser(__doc__, count_help="games per learner")
    parser.add_argument("--snapshots", type=int, default=8, help="newest pool snapshots per run")
    parser.add_argument("--opponent", default="random")
    args = parser.parse_args()
    from dreamlab.ppo.selfplay.evaluate import play_run, summarize
    from dreamlab.ppo.selfplay.select import candidates

    load_before = os.getloadavg()
    runs: dict[str, Any] = {}
    for run_dir in args.run_dirs:
        rows: list[dict[str, Any]] = []
        # The newest step checkpoint, named: with select.py's choice in the run,
        # checkpoint=None would play the chosen learner instead.
        final = candidates(run_dir, 0)[0].path
        for path in [*newest_snapshots(run_dir, args.snapshots), final]:
            match = play_run(run_dir, args.episodes, args.opponent, checkpoint=path).matches[0]
            figures = summarize(match.played["games"], match.setup.rocket.tick_skip)
            rows.append({"learner": "final" if path == final else path.stem,
                         "train_env_steps": match.setup.trained_env_steps,
                         **{k: figures[k] for k in ("wins", "draws", "losses",
                                                    "own_goals_against")}})
            print(run_dir.name, rows[-1], flush=True)
        runs[run_dir.name] = run_summary(rows)
    payload = {"settings": {"run_dirs": [d.name for d in args.run_dirs],
                            "snapshots": args.snapshots, "episodes": args.episodes,
                            "opponent": args.opponent},
               "runs": runs, "load_average_before": load_before,
               "load_average_after": os.getloadavg()}
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
