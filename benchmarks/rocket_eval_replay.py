"""Does an evaluation replay? The same learner, opponent and seeds, played twice.

Usage:
  python benchmarks/rocket_eval_replay.py runs/align_s1 --episodes 30 --name eval_replay_align_s1
Plays `dreamlab eval`'s games of the run's newest learner against each opponent twice in
one process, once with the engine's seeded demo respawns (HeldActionEngine, since 12-01)
and once with RocketSim's own respawn draw (the engine's re-placing switched off, as
before), and records per opponent whether the second play gave the same games (every
game's return, and W/D/L), and how many demos the games had.

Why: evaluations against the chaser did not replay (docs/rocket.md, 11-30 and 12-01) while
those against random did. RocketSim puts a demolished car back at a spot drawn from a
clock-seeded generator of its own; the chaser boosts into the learner and demolishes it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_result  # noqa: E402


class DemoCounter:
    """Counts demos (wraps HeldActionEngine._on_demo) and can switch the seeded re-placing
    off, which leaves RocketSim's own respawn spot in place."""

    def __init__(self) -> None:
        from dreamlab.envs.rocket.engine import HeldActionEngine

        self.cls = HeldActionEngine
        self.on_demo, self.returned = HeldActionEngine._on_demo, HeldActionEngine._respawn_returned
        self.demos = 0
        counter = self

        def count(engine, arena, bumper, victim, data):
            counter.demos += 1
            return counter.on_demo(engine, arena, bumper, victim, data)

        HeldActionEngine._on_demo = count

    def seeded(self, on: bool) -> None:
        def forget(engine) -> None:  # RocketSim's spot stays: only the bookkeeping goes
            for car_id, car in list(engine._demoed.items()):
                if not car.get_state().is_demoed:
                    del engine._demoed[car_id]

        self.cls._respawn_returned = self.returned if on else forget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--episodes", type=int, default=30, help="games per opponent")
    parser.add_argument("--opponents", default="chaser,random")
    parser.add_argument("--name", required=True, help="results file name")
    args = parser.parse_args()
    from dreamlab.ppo.selfplay.evaluate import evaluate_selfplay_run

    counter = DemoCounter()
    load_before = os.getloadavg()
    scratch = args.run_dir / "eval_replay.json"  # not the run's evaluation_results.json
    rows: dict[str, Any] = {}
    for mode in ("seeded_respawn", "rocketsim_respawn"):
        counter.seeded(mode == "seeded_respawn")
        for opponent in args.opponents.split(","):
            plays = []
            for _ in range(2):
                counter.demos = 0
                result = evaluate_selfplay_run(args.run_dir, episodes=args.episodes,
                                               opponent=opponent, output=scratch)
                games = result.extra["opponents"][opponent]
                plays.append({"returns": result.returns, "demos": counter.demos,
                              "wdl": [games["wins"], games["draws"], games["losses"]]})
            rows[f"{mode}/{opponent}"] = {
                "same_games": plays[0]["returns"] == plays[1]["returns"],
                "wdl_first_second": [p["wdl"] for p in plays],
                "demos_first_second": [p["demos"] for p in plays]}
            print(mode, opponent, rows[f"{mode}/{opponent}"], flush=True)
    scratch.unlink(missing_ok=True)
    payload = {"run_dir": str(args.run_dir), "episodes_per_opponent": args.episodes,
               "load_average_before": load_before, "load_average_after": os.getloadavg(),
               "plays": rows}
    print(save_result(args.name, payload))


if __name__ == "__main__":
    main()
