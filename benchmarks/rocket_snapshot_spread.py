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

Where the run chose its final learner (selection.json, ppo/selfplay/select.py), the JSON
also says where the chosen learner ranks in these games, and where the learner with the
most validation wins against this opponent would have: the choice sums goal differences
over its opponents, and against the chaser those include the chaser's own goals.
"""

from __future__ import annotations

import json
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
    final = rank_of(rows, "final")
    return {"learners": rows, "count": len(rows), "wins": mean_and_sample_std(wins, 2),
            "min_wins": min(wins), "max_wins": max(wins),
            "final_wins": None if final is None else final["wins"],
            "final_rank": None if final is None else final["rank"]}


def rank_of(rows: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The named learner's wins in these games and its rank (1 = most wins; ties share)."""
    wins = next((r["wins"] for r in rows if r["learner"] == name), None)
    if wins is None:
        return None
    return {"learner": name, "wins": wins, "rank": 1 + sum(r["wins"] > wins for r in rows)}


def choice_check(rows: list[dict[str, Any]], selection: dict[str, Any], opponent: str
                 ) -> dict[str, Any]:
    """Where the run's choice (selection.json) lands among these learners (games against
    `opponent`), beside the learner a choice on validation wins against that opponent
    alone would have made (ties go to the newer learner, as select.best does) and the best
    of them in hindsight."""
    played = [c for c in selection["candidates"] if opponent in c]
    by_wins = max(played, key=lambda c: c[opponent]["wins"]) if played else None
    top = max(rows, key=lambda r: r["wins"])
    return {"chosen_by_goal_difference": rank_of(rows, selection["chosen"]),
            f"by_validation_wins_vs_{opponent}": None if by_wins is None
            else rank_of(rows, by_wins["learner"]),
            "best_in_these_games": rank_of(rows, top["learner"])}


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
        selection = run_dir / "selection.json"
        if selection.exists():
            runs[run_dir.name]["choice"] = choice_check(
                rows, json.loads(selection.read_text()), args.opponent)
    payload = {"settings": {"run_dirs": [d.name for d in args.run_dirs],
                            "snapshots": args.snapshots, "episodes": args.episodes,
                            "opponent": args.opponent},
               "runs": runs, "load_average_before": load_before,
               "load_average_after": os.getloadavg()}
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
