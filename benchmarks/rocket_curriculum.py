"""Issue 13, benchmark 3: the whole curriculum, 1v1 -> 1v2 -> 2v2, in <= 90 minutes.

Re-run (about 85 minutes of training, then ~10-25 minutes of games):
    .venv/bin/python benchmarks/rocket_curriculum.py
Report a run that already exists (a partial one too: stages it never reached say so):
    .venv/bin/python benchmarks/rocket_curriculum.py --summarize runs/rocket_curriculum
A smoke run of the whole pipeline (stages 1% as long, two games an opponent a stage):
    .venv/bin/python benchmarks/rocket_curriculum.py --minutes 1.5 --episodes 2 \\
        --scale 0.01 --run-dir runs/rocket_curriculum_smoke --name rocket_curriculum_smoke
Writes benchmarks/results/rocket_curriculum.json and rocket_curriculum_ratings.png.

Training is configs/experiments/ppo_rocket_curriculum.yaml (seeds/003's three stages
scaled to what ~85 minutes reach; its comments hold the arithmetic) under the trainer's
own time budget, as in rocket_learning.py. Then each stage's last learner -- the newest
checkpoint or pool snapshot saved inside the stage's step range -- plays --episodes games
in that stage's team size against random play and as many against the scripted chaser
(`dreamlab eval`'s code; results in RUN_DIR/evaluation_stage<i>_<size>.json). Per stage
the JSON holds the step range, the steps reached, the stage's SPS, the ratings of the
snapshots taken in it and the learner's rating over it, and the games' W/D/L, goals and
touches per minute. Ratings are OpenSkill ratings from the self-play games themselves,
in whatever team size each was played, so they compare policies of one run only.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rocket_learning import (  # noqa: E402
    OPPONENTS,
    load,
    log,
    per_opponent,
    relative,
    start,
    summarize,
    thin,
    train,
)

from _common import RESULTS, cpu_model, git_head, save_result  # noqa: E402

CONFIG = "configs/experiments/ppo_rocket_curriculum.yaml"
RUN_DIR = "runs/rocket_curriculum"
STAGE_POINTS = 20  # points of each stage's rating curves kept in the JSON
# Two consecutive updates logged further apart than this are a pause or a resume, not
# training time: the pair counts towards neither a stage's steps nor its seconds.
UPDATE_GAP_S = 300.0
STAGE_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


@dataclass(frozen=True)
class StageSpan:
    """One curriculum stage as a step range [start, end) of the run. The last stage is
    planned to end at total_steps but holds any step past it: the final update overshoots
    total_steps, and its checkpoint is the last stage's last learner."""

    index: int
    name: str
    start: int
    end: int
    last: bool = False

    def holds(self, step: int) -> bool:
        return self.start <= step and (self.last or step < self.end)


def stage_spans(starts: list[tuple[str, int]], total_steps: int) -> list[StageSpan]:
    """(team size, start) of each stage -> their ranges; the last ends at total_steps."""
    ends = [start for _, start in starts[1:]] + [max(total_steps, starts[-1][1] + 1)]
    return [
        StageSpan(i, name, start, end, last=i == len(starts) - 1)
        for i, ((name, start), end) in enumerate(zip(starts, ends, strict=True))
    ]


def newest_in(span: StageSpan, saved: list[tuple[int, Path]]) -> tuple[int, Path] | None:
    """The learner saved last inside the stage: (step, file), or None if none was. At one
    step a step checkpoint wins over a pool snapshot (it also names its own network)."""
    inside = [(step, "pool" not in path.parent.name, path) for step, path in saved]
    inside = [item for item in inside if span.holds(item[0])]
    if not inside:
        return None
    step, _, path = max(inside)
    return step, path


def saved_learners(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, file) of every step checkpoint and pool snapshot the run still holds."""
    found = []
    for folder in (run_dir / "checkpoints", run_dir / "checkpoints" / "pool"):
        for path in folder.glob("step_*.pt"):
            try:
                found.append((int(path.stem[5:]), path))
            except ValueError:
                continue
    return sorted(found)


def read_update_times(log_dir: Path) -> list[tuple[float, int, float]]:
    """(wall time, step, overall SPS) of every update in metrics.csv, by time."""
    path = log_dir / "metrics.csv"
    rows = []
    if path.exists():
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("tag") != "perf/overall_sps":
                    continue
                try:
                    rows.append((float(row["time"]), int(row["step"]), float(row["value"])))
                except (KeyError, TypeError, ValueError):  # a row torn by a kill
                    continue
    return sorted(rows)


def stage_time(updates: list[tuple[float, int, float]], span: StageSpan) -> tuple[int, float]:
    """(steps, seconds) of training inside the stage, from consecutive updates' times.

    An update that crosses a stage boundary gives each stage its share of the update's
    steps and the same share of its seconds. The first update's start is placed by its
    own overall SPS (steps since the session began / seconds since then)."""
    if not updates:
        return 0, 0.0
    t1, s1, sps1 = updates[0]
    points = [(t1 - s1 / sps1, 0)] if sps1 > 0 else []
    points += [(t, s) for t, s, _ in updates]
    end = math.inf if span.last else span.end
    steps, seconds = 0, 0.0
    for (t0, s0), (t, s) in zip(points, points[1:], strict=False):
        if s <= s0 or not 0 <= t - t0 <= UPDATE_GAP_S:
            continue
        inside = max(0, min(s, end) - max(s0, span.start))
        steps += int(inside)
        seconds += (t - t0) * inside / (s - s0)
    return steps, seconds


def scaled_overrides(config: str, scale: float) -> dict[str, Any]:
    """total_steps, checkpoints, snapshots and stage starts times `scale` (a short smoke
    run of the same curriculum, as `dreamlab ppo --debug` scales it to 1,000 steps)."""
    from dreamlab.config.base import resolve_config
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.ppo.selfplay.train import selfplay_dict, selfplay_settings

    cfg = resolve_config(PPOConfig, yaml_path=config)
    sp = selfplay_settings(cfg)[1]
    stages = sp.schedule().scaled(scale).stages
    selfplay = {
        **selfplay_dict(sp),
        "curriculum_stages": [{"team_size": s.name, "start": s.start} for s in stages],
        "stage_starts": None,
        "snapshot_every": max(1, int(sp.snapshot_every * scale)),
    }
    return {
        "total_steps": max(1, int(cfg.total_steps * scale)),
        "checkpoint_every": max(1, int(cfg.checkpoint_every * scale)),
        "selfplay": selfplay,
    }


def run_spans(run_dir: Path) -> list[StageSpan]:
    """The stages of the run as it was trained (its config.yaml, --scale included)."""
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.ppo.selfplay.train import selfplay_settings
    from dreamlab.runtime.rundir import load_run_config

    cfg = load_run_config(run_dir, PPOConfig)
    stages = selfplay_settings(cfg)[1].schedule().stages
    return stage_spans([(s.name, s.start) for s in stages], cfg.total_steps)


def evaluate_stage(run_dir: Path, span: StageSpan, learner: Path, episodes: int) -> Path:
    """--episodes games of the stage's last learner against each opponent, in its size."""
    from dreamlab.ppo.selfplay.evaluate import evaluate_selfplay_run

    out = stage_eval_path(run_dir, span)
    log(f"stage {span.name}: {relative(learner)} plays {episodes} games vs each opponent")
    result = evaluate_selfplay_run(
        run_dir, episodes, opponent=list(OPPONENTS), checkpoint=learner, output=out
    )
    if result.extra["team_size"] != span.name:  # a learner must be judged in its own stage
        raise RuntimeError(f"{learner.name} played {result.extra['team_size']}, not {span.name}")
    return out


def stage_eval_path(run_dir: Path, span: StageSpan) -> Path:
    return run_dir / f"evaluation_stage{span.index}_{span.name}.json"


def stage_report(
    run_dir: Path, span: StageSpan, env_steps: int, run: dict[str, Any], metrics: dict
) -> dict[str, Any]:
    """One stage's figures: range, steps reached, SPS, ratings and its evaluation."""
    steps, seconds = stage_time(read_update_times(run_dir / "logs"), span)
    learner = newest_in(span, saved_learners(run_dir))
    eval_path = stage_eval_path(run_dir, span)
    evaluation = json.loads(eval_path.read_text()) if eval_path.exists() else None
    if (
        evaluation is not None
        and learner is not None
        and evaluation.get("train_env_steps") != learner[0]
    ):
        evaluation = None  # an older file, of a learner the run has since replaced
    snapshots = [p for p in run["snapshot_ratings"] if span.holds(p[0])]
    mu = [p for p in metrics.get("selfplay/rating_mu", []) if span.holds(p[0])]
    return {
        "stage": span.index,
        "team_size": span.name,
        "step_range": [span.start, span.end],
        "steps_reached": max(0, min(env_steps, span.end) - span.start),
        "complete": env_steps >= span.end,
        "train_wall_min": round(seconds / 60, 2),
        "sps": round(steps / seconds, 1) if seconds > 0 else None,
        "learner_file": relative(learner[1]) if learner else None,
        "learner_step": learner[0] if learner else None,
        "snapshot_ratings": [list(p) for p in thin_rows(snapshots)],
        "learner_rating_mu": thin(mu, STAGE_POINTS),
        "evaluation": per_opponent(evaluation) if evaluation else None,
        "evaluation_file": relative(eval_path) if evaluation else None,
        "evaluation_game_limit_s": evaluation.get("game_limit_s") if evaluation else None,
    }


def thin_rows(rows: list[list[float]], n: int = STAGE_POINTS) -> list[list[float]]:
    """Every k-th [step, mu, sigma] row and the last one."""
    if not rows:
        return []
    kept = rows[:: max(1, len(rows) // n)]
    return kept if kept[-1] == rows[-1] else [*kept, rows[-1]]


def plot(run_dir: Path, stages: list[dict[str, Any]], run: dict[str, Any], path: Path) -> Path:
    """The learner's rating and the snapshots' ratings over steps, each stage shaded and
    labelled with its games' W/D/L; a dotted line at each stage's evaluated learner."""
    from dreamlab.report.plots import agg_figure
    from dreamlab.runtime.atomic import atomic_save_figure

    ratings_path = run_dir / "selfplay_ratings.json"
    history = (
        json.loads(ratings_path.read_text()).get("history", []) if ratings_path.exists() else []
    )
    fig = agg_figure((10, 5))
    ax = fig.add_subplot(1, 1, 1)
    if history:
        ax.plot(
            [h["timesteps"] for h in history],
            [h["mu"] for h in history],
            color="black",
            linewidth=1,
            label="learner mu",
        )
    if run["snapshot_ratings"]:
        xs, mus, _ = zip(*run["snapshot_ratings"], strict=True)
        ax.scatter(xs, mus, color="tab:grey", s=12, zorder=3, label="snapshots (final mu)")
    last = max(run["env_steps"], 1)
    for stage in stages:
        start, end = stage["step_range"]
        colour = STAGE_COLOURS[stage["stage"] % len(STAGE_COLOURS)]
        if start < last:  # the last stage is shaded to the final update's overshoot too
            ax.axvspan(
                start, last if stage is stages[-1] else min(end, last), color=colour, alpha=0.12
            )
        if start >= last:  # never reached: a line where it would have begun
            ax.axvline(start, color=colour, linestyle="--", linewidth=1)
            ax.annotate(
                f"{stage['team_size']} from {start}\n(not reached)",
                (start, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(-3, -3),
                textcoords="offset points",
                ha="right",
                va="top",
                fontsize=8,
                color=colour,
            )
            continue
        lines = [stage["team_size"] + ("" if stage["complete"] else " (partial)")]
        for name, ev in (stage["evaluation"] or {}).items():
            lines.append(f"vs {name} W/D/L {ev['wins']}/{ev['draws']}/{ev['losses']}")
        ax.annotate(
            "\n".join(lines),
            (start, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -3),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=8,
            color=colour,
        )
        if stage["learner_step"] is not None and stage["evaluation"]:
            ax.axvline(stage["learner_step"], color=colour, linestyle=":", linewidth=1)
    ax.set_xlim(0, max(last, stages[-1]["step_range"][0]) * 1.02)
    ax.set_xlabel("env steps")
    ax.set_ylabel("OpenSkill rating (mu)")
    ax.set_title(
        f"Curriculum {' -> '.join(s['team_size'] for s in stages)}: ratings, "
        "and W/D/L of each stage's last learner"
    )
    ax.legend(loc="lower right", fontsize=8)
    atomic_save_figure(path, fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--run-dir", default=RUN_DIR)
    parser.add_argument(
        "--minutes",
        type=float,
        default=85.0,
        help="training time budget (the trainer's StopRule.max_minutes)",
    )
    parser.add_argument("--episodes", type=int, default=30, help="games per opponent per stage")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply total_steps, stage starts, snapshot_every and "
        "checkpoint_every (0.01 for a smoke run)",
    )
    parser.add_argument(
        "--summarize",
        metavar="RUN_DIR",
        default=None,
        help="no training: evaluate each stage of this existing run",
    )
    parser.add_argument(
        "--no-eval",
        action="store_true",
        help="play no games: report the stage evaluations already saved",
    )
    parser.add_argument("--name", default="rocket_curriculum", help="results file name")
    parser.add_argument("--note", default=None, help="a sentence stored in the JSON's settings")
    args = parser.parse_args()
    if args.scale <= 0:
        parser.error("--scale must be > 0")
    load_before, run_dir, config_text = start(args)
    trained: dict[str, Any] = {}
    if args.summarize is None:
        overrides = scaled_overrides(args.config, args.scale) if args.scale != 1.0 else None
        trained = train(args.config, run_dir, args.minutes, overrides)
    load_after_train = load()

    from dreamlab.runtime.logger import read_metrics

    # The whole run's curves and ratings, as rocket_learning.py reports them; its
    # evaluation fields are the 1v1 benchmark's and are dropped here.
    run = summarize(run_dir, {})
    for key in ("evaluation", "evaluation_train_env_steps", "evaluation_game_limit_s", "targets"):
        run.pop(key, None)
    spans = run_spans(run_dir)
    if not args.no_eval:
        saved = saved_learners(run_dir)
        for span in spans:
            learner = newest_in(span, saved)
            if learner is None:
                log(f"stage {span.name}: no learner saved in [{span.start}, {span.end})")
            else:
                evaluate_stage(run_dir, span, learner[1], args.episodes)
    metrics = read_metrics(run_dir / "logs")
    stages = [stage_report(run_dir, s, run["env_steps"], run, metrics) for s in spans]
    png = plot(run_dir, stages, run, RESULTS / f"{args.name}_ratings.png")
    run_config = run_dir / "config.yaml"
    payload = {
        "git_head": git_head(),
        "cpu_model": cpu_model(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average_before": load_before,
        "load_average_after_training": load_after_train,
        "load_average_after": load(),
        "settings": {
            "config": args.config,
            "time_budget_min": args.minutes,
            "scale": args.scale,
            "episodes_per_opponent_per_stage": args.episodes,
            "opponents": list(OPPONENTS),
            "summarized_existing_run": args.summarize is not None,
            "note": args.note,
            "config_yaml": config_text
            if config_text is not None
            else (run_config.read_text() if run_config.exists() else None),
        },
        **trained,
        "plot": png.name,
        "stages": stages,
        **run,
    }
    path = save_result(args.name, payload)
    for s in stages:
        ev = s["evaluation"] or {}
        games = ", ".join(
            f"vs {k} W/D/L {v['wins']}/{v['draws']}/{v['losses']}" for k, v in ev.items()
        )
        log(
            f"{s['team_size']}: {s['steps_reached']} of {s['step_range'][1] - s['step_range'][0]}"
            f" steps at {s['sps']} steps/s; {games or 'not evaluated'}"
        )
    log(f"wrote {relative(path)} and {png.name}")


if __name__ == "__main__":
    main()
