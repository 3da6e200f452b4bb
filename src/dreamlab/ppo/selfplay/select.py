"""Choose a self-play run's final learner by validation games (`selfplay.select_candidates`).

Why: in issue 13's hour the learners a few hundred thousand steps apart differ by 7 to 33
wins in the same 100 games against random play (benchmarks/results/
rocket_snapshot_spread_*.json), and the learner the clock happened to stop on ranked 7th,
7th and 9th of nine in the hour YAML's three seeds. So at the end of training the newest
checkpoint and the newest pool snapshots each play the same validation games against
scripted opponents, and the one with the best goal difference becomes the learner that
`dreamlab eval` plays.

The validation games have seeds of their own (derived from the run seed with "select"),
never the evaluation's ("eval"): this is checkpoint selection on a validation set, and
the evaluation then judges the chosen learner on games it was not chosen on. Every
candidate meets freshly seeded opponents, so all of them play from the same kickoffs
against the same random draws until their own actions make the games differ.

Files: checkpoints/selected.pt (the chosen weights, with the step they were trained to)
and selection.json (every candidate's figures). `load_learner` plays selected.pt only
while it was chosen at the run's newest checkpoint: training on from there makes a newer
checkpoint, and the old choice is ignored.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from dreamlab.config.ppo import PPOConfig
from dreamlab.errors import CheckpointError
from dreamlab.parallel.executor import make_executor
from dreamlab.ppo.selfplay.evaluate import (
    _STEP_FILE,
    SELECTED_FILE,
    EvalSetup,
    Opponent,
    eval_env,
    load_learner,
    opponent_names,
    opponent_policy,
    play_games,
    summarize,
)
from dreamlab.runtime.atomic import atomic_torch_save, atomic_write_json
from dreamlab.runtime.checkpoint import StepCheckpointer
from dreamlab.runtime.rundir import RunLayout, load_run_config
from dreamlab.runtime.seeding import derive_seed

log = logging.getLogger("dreamlab")

SELECTION_JSON = "selection.json"
FINAL = "final"


@dataclass(frozen=True)
class Candidate:
    """A learner that may be chosen: the newest checkpoint (`final`) or a pool snapshot."""

    name: str
    step: int
    path: Path


def pool_snapshots(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoints/pool/step_<N>.pt file, oldest first (by the step
    in the name, not the name's text order)."""
    found = [(int(m.group(1)), p) for p in (RunLayout(run_dir).checkpoints / "pool").glob("*.pt")
             if (m := _STEP_FILE.match(p.name))]
    return sorted(found)


def candidates(run_dir: Path, snapshots: int) -> list[Candidate]:
    """The newest step checkpoint, then the `snapshots` newest pool snapshots, newest
    first (a snapshot taken at the final step is the same learner, so it is left out)."""
    layout = RunLayout(run_dir)
    existing = StepCheckpointer(layout.checkpoints).existing()
    if not existing:
        raise CheckpointError(f"{run_dir} holds no step checkpoint to choose from",
                              "train first: dreamlab ppo --checkpoint-dir " + str(run_dir))
    final_step, final_path = existing[-1]
    out = [Candidate(FINAL, final_step, final_path)]
    pool = [Candidate(path.stem, step, path) for step, path in pool_snapshots(run_dir)
            if step < final_step]
    return out + pool[::-1][:snapshots]


def best(rows: list[dict[str, Any]]) -> int:
    """Index of the row with the best goal difference; on a tie, the earlier row (the
    newer learner: candidates come newest first)."""
    if not rows:
        raise ValueError("no candidate played")
    top = max(r["goal_difference"] for r in rows)
    return next(i for i, r in enumerate(rows) if r["goal_difference"] == top)


def play_candidate(cand: Candidate, run_dir: Path, games: int, names: list[str], seed: int
                   ) -> dict[str, Any]:
    """One candidate's validation games, its row of selection.json. It reads everything
    from the run dir, so a worker process can play it as well as the caller."""
    cfg = load_run_config(run_dir, PPOConfig)
    rocket, obs_dim = eval_env(cfg)
    setup = EvalSetup.from_checkpoint(cfg, load_learner(run_dir, cand.path), cand.name,
                                      env=(rocket, obs_dim))
    row: dict[str, Any] = {"learner": cand.name, "train_env_steps": cand.step}
    diff = 0
    for name in names:
        opponent = opponent_policy(Opponent(name, name), cfg, rocket, obs_dim,
                                   derive_seed(seed, "opponent", name))
        figures = summarize(play_games(setup, opponent, games, seed)["games"],
                            rocket.tick_skip)
        row[name] = {k: figures[k] for k in ("wins", "draws", "losses", "touches_per_minute")}
        diff += figures["goals_for"] - figures["goals_against"]
    row["goal_difference"] = diff
    return row


def _one_thread() -> None:
    """A validation worker's torch threads: the workers already fill the cores."""
    import torch

    torch.set_num_threads(1)


def play_candidates(run_dir: Path, cands: list[Candidate], games: int, names: list[str],
                    seed: int, minutes: float = 0.0, workers: int = 1
                    ) -> tuple[list[dict[str, Any]], list[str]]:
    """Every candidate's row, in candidate order, and the names of those skipped for time.

    Candidates play in waves of `workers`, each candidate in a process of the executor's
    pool (a candidate's games are one env on one core, so on two cores a wave of two takes
    about the time of one candidate); workers <= 1 plays them one by one in this process.
    With minutes > 0 a wave starts only if it should end inside the budget, judged by the
    mean time of the waves before it; once one does not fit, it and every older candidate
    are skipped. The first wave always plays, so the newest checkpoint always does.
    """
    play = partial(play_candidate, run_dir=run_dir, games=games, names=names, seed=seed)
    start = time.monotonic()
    rows: list[dict[str, Any]] = []
    took: list[float] = []
    queue = list(cands)
    with make_executor("local", max(1, workers), initializer=_one_thread if workers > 1
                       else None) as pool:
        while queue and (not took or minutes <= 0 or
                         time.monotonic() - start + sum(took) / len(took) <= minutes * 60.0):
            wave, queue = queue[:pool.workers], queue[pool.workers:]
            began = time.monotonic()
            rows += pool.map(play, wave)
            took.append(time.monotonic() - began)
            for row in rows[-len(wave):]:
                log.info("selection: %s (step %d) goal difference %+d over %d games",
                         row["learner"], row["train_env_steps"], row["goal_difference"],
                         games * len(names))
    return rows, [cand.name for cand in queue]


def select_final_learner(run_dir: str | Path, snapshots: int, games: int,
                         opponents: str = "random", minutes: float = 0.0,
                         workers: int = 1) -> dict[str, Any]:
    """Play every candidate (candidates()) `games` games against each opponent, write the
    best one to checkpoints/selected.pt and every row to selection.json; return that JSON.

    minutes > 0 bounds the time and `workers` plays candidates side by side
    (play_candidates). The newest checkpoint always plays, so there is always a choice.
    """
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir, PPOConfig)
    names = opponent_names(opponents)
    seed = derive_seed(cfg.seed, "select")
    start = time.monotonic()
    cands = candidates(run_dir, snapshots)
    rows, skipped = play_candidates(run_dir, cands, games, names, seed, minutes, workers)
    chosen = best(rows)
    final_step = rows[0]["train_env_steps"]
    state = load_learner(run_dir, cands[chosen].path)
    atomic_torch_save(RunLayout(run_dir).checkpoints / SELECTED_FILE, {
        "policy": state["policy"], "obs_norm": state["obs_norm"],
        "counters": {"global_step": rows[chosen]["train_env_steps"]},
        "selection": {"learner": rows[chosen]["learner"], "final_step": final_step}})
    payload = {"chosen": rows[chosen]["learner"],
               "chosen_train_env_steps": rows[chosen]["train_env_steps"],
               "final_step": final_step, "games_per_opponent": games, "opponents": names,
               "seed": seed, "candidates": rows, "skipped": skipped, "workers": workers,
               "wall_s": round(time.monotonic() - start, 1)}
    atomic_write_json(run_dir / SELECTION_JSON, payload)
    log.info("selection: %s chosen of %d learners (%+d) in %.0f s", payload["chosen"],
             len(rows), rows[chosen]["goal_difference"], payload["wall_s"])
    return payload
