"""How long choosing the final learner takes with one process and with two, on finished hours.

Usage:
  python benchmarks/rocket_select_workers.py runs/select_s2 --candidates 8 --games 60 \\
      --workers 1 2 --name rocket_select_workers
For each run dir, makes the choice as the hour YAML does (the final checkpoint and the 8
newest pool snapshots, 60 games each against random and the chaser, no time budget) once
per worker count, each time on a scratch copy of the run, and reports the wall time and
whether the rows (every candidate's wins, draws, losses, touches and goal difference)
were the same. Why: the choice's minutes come out of the hour's training time
(`select_minutes`), so halving them is training time won back, but only if the games are
the very ones one process plays. Run it alone: the point is the wall time.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finished_runs_parser, save_result  # noqa: E402


def main() -> None:
    parser = finished_runs_parser(__doc__, count="--games", default=60,
                                  count_help="validation games per candidate and opponent")
    parser.add_argument("--candidates", type=int, default=8, help="newest pool snapshots")
    parser.add_argument("--opponents", default="random,chaser", help="validation opponents")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    from dreamlab.ppo.selfplay.select import select_final_learner

    load_before = os.getloadavg()
    runs: dict[str, Any] = {}
    for run_dir in args.run_dirs:
        per: dict[str, Any] = {}
        rows = {}
        for workers in args.workers:
            with tempfile.TemporaryDirectory() as scratch:
                copy = Path(scratch) / run_dir.name
                shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("videos", "logs"))
                report = select_final_learner(copy, args.candidates, args.games,
                                              args.opponents, workers=workers)
            rows[workers] = report["candidates"]
            per[str(workers)] = {"wall_s": report["wall_s"], "chosen": report["chosen"],
                                 "load_1min_after": round(os.getloadavg()[0], 2)}
            print(run_dir.name, workers, per[str(workers)], flush=True)
        first = rows[args.workers[0]]
        runs[run_dir.name] = {"by_workers": per,
                              "same_rows": all(r == first for r in rows.values()),
                              "candidates": len(first)}
        if len(args.workers) > 1:
            a, b = (per[str(w)]["wall_s"] for w in args.workers[:2])
            runs[run_dir.name]["speedup"] = round(a / b, 2)
    payload = {"settings": {"run_dirs": [d.name for d in args.run_dirs],
                            "candidates": args.candidates, "games": args.games,
                            "opponents": args.opponents, "workers": args.workers},
               "runs": runs, "load_average_before": load_before,
               "load_average_after": os.getloadavg()}
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
