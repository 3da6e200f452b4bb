"""Issue 13, benchmark 2: what does one hour of 1v1 self-play on the 2-core CPU reach?

Re-run (about 65-75 minutes: 60 of training, then the games):
    .venv/bin/python benchmarks/rocket_learning.py
Report a run that already exists (a partial one too: its newest checkpoint plays):
    .venv/bin/python benchmarks/rocket_learning.py --summarize runs/rocket_learning_1v1
Writes benchmarks/results/rocket_learning.json (--name changes the file, e.g. for a probe).
More seeds of one config (one hour each), then their mean and spread:
    .venv/bin/python benchmarks/rocket_learning.py --seed 1 --run-dir runs/kick_s1 --name kick_s1
    .venv/bin/python benchmarks/rocket_learning.py --aggregate rocket_learning_kick kick_s1 \
        kick_s2 --name rocket_learning_kick_seeds

Training is configs/experiments/ppo_rocket_1v1_hour.yaml under the trainer's own time
budget (StopRule.max_minutes), so the run ends between updates with a checkpoint rather
than being killed; the YAML's `selfplay.select_minutes` of the hour choose the final
learner by validation games (ppo/selfplay/select.py), and the JSON's `selection` lists the
choice. Then that learner plays --episodes games against random play and as many against
the scripted chaser (`dreamlab eval`'s code: deterministic learner, games end at the first
goal or after 2 minutes, a draw); that time is not part of the hour. The same games are
played once more with the run's 30 s no-touch timeout ending a game as a draw, as
evaluations before 11-30 did (`evaluation_no_touch_timeout`), so the figures compare with
the older JSONs. Targets: >= 90% wins against random, more goals scored than conceded
against the chaser, and snapshot ratings that rise over training.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    REPO,
    RESULTS,
    cpu_model,
    git_head,
    mean_and_sample_std,
    save_result,
)

CONFIG = "configs/experiments/ppo_rocket_1v1_hour.yaml"
RUN_DIR = "runs/rocket_learning_1v1"
OPPONENTS = ("random", "chaser")
CURVE_POINTS = 40  # points kept of each curve: enough to see a trend, small JSON


def log(msg: str) -> None:
    """A progress line named after the running script (rocket_curriculum.py imports this)."""
    print(f"[{Path(sys.argv[0]).stem} {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def relative(path: Path) -> str:
    """Run dirs are stored relative to the repo: no machine paths in the JSON."""
    try:
        return str(path.resolve().relative_to(REPO.resolve()))
    except ValueError:
        return path.name


def thin(points: list[tuple[int, float]], n: int = CURVE_POINTS) -> list[list[float]]:
    """Every k-th point and the last one, rounded: the shape of a curve, not its noise."""
    if not points:
        return []
    step = max(1, len(points) // n)
    kept = points[::step]
    if kept[-1] != points[-1]:
        kept.append(points[-1])
    return [[int(s), round(float(v), 4)] for s, v in kept]


def windowed_means(points: list[tuple[int, float]], parts: int = 5) -> list[float]:
    """Mean of each fifth of a curve: a rise over training reads off five numbers."""
    if not points:
        return []
    size = max(1, len(points) // parts)
    chunks = [points[i * size:(i + 1) * size] for i in range(parts - 1)]
    chunks.append(points[(parts - 1) * size:])
    return [round(sum(v for _, v in c) / len(c), 4) for c in chunks if c]


def train(config: str, run_dir: Path, minutes: float,
          overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train under the time budget; returns how the trainer ended. `overrides` replace
    top-level config keys (rocket_curriculum.py's --scale rewrites the stages so)."""
    from dreamlab.config.base import resolve_config
    from dreamlab.config.ppo import PPOConfig
    from dreamlab.ppo.selfplay.train import train_selfplay
    from dreamlab.runtime.stop import StopRule

    cfg = resolve_config(PPOConfig, yaml_path=config,
                         overrides={**(overrides or {}), "checkpoint_dir": str(run_dir),
                                    "device": "cpu"})
    log(f"training {config} into {relative(run_dir)} for at most {minutes:g} min")
    start = time.perf_counter()
    result = train_selfplay(cfg, StopRule(max_minutes=minutes))
    wall = time.perf_counter() - start
    log(f"training ended after {wall / 60:.1f} min: {result.stop_reason or 'total_steps'}")
    return {"train_call_wall_s": round(wall, 1), "stop_reason": result.stop_reason}


def evaluate(run_dir: Path, episodes: int, no_touch_timeout: bool = False) -> dict[str, Any]:
    """--episodes games against each opponent, through `dreamlab eval`'s code; with
    no_touch_timeout, into evaluation_no_touch_timeout.json instead of the run's own."""
    from dreamlab.ppo.selfplay.evaluate import evaluate_selfplay_run

    log(f"evaluating {relative(run_dir)}: {episodes} games vs {', '.join(OPPONENTS)}"
        f"{' (no-touch timeout on)' if no_touch_timeout else ''}")
    start = time.perf_counter()
    result = evaluate_selfplay_run(
        run_dir, episodes, opponent=list(OPPONENTS), no_touch_timeout=no_touch_timeout,
        output=run_dir / "evaluation_no_touch_timeout.json" if no_touch_timeout else None)
    log(f"evaluation took {time.perf_counter() - start:.0f} s")
    return result.extra


EVAL_KEYS = ("games", "wins", "draws", "losses", "win_rate", "goals_for", "goals_against",
             "own_goals_against", "own_goals_for", "touches_per_minute",
             "opponent_touches_per_minute", "mean_return",
             "game_minutes", "wall_s")


def per_opponent(evaluation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's figures of each opponent of an evaluation_results.json (or its extra)."""
    per = evaluation.get("opponents", {})
    return {name: {k: per[name].get(k) for k in EVAL_KEYS} for name in per}


def selection(run_dir: Path) -> dict[str, Any] | None:
    """The run's choice of its final learner (selfplay.select_candidates), if it made one:
    each candidate's step and validation goal difference, and the time it took."""
    path = run_dir / "selection.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    return {**{k: report[k] for k in ("chosen", "chosen_train_env_steps", "final_step",
                                      "games_per_opponent", "opponents", "skipped", "wall_s")},
            "candidates": [[r["learner"], r["train_env_steps"], r["goal_difference"]]
                           for r in report["candidates"]]}


def summarize(run_dir: Path, evaluation: dict[str, Any] | None) -> dict[str, Any]:
    """The run's curves, ratings and (if given, else the saved one) evaluation."""
    from dreamlab.runtime.logger import read_metrics

    metrics = read_metrics(run_dir / "logs")
    ratings_path = run_dir / "selfplay_ratings.json"
    ratings = json.loads(ratings_path.read_text()) if ratings_path.exists() else {}
    table = ratings.get("ratings", {})
    snapshots = sorted((k for k in table if k.startswith("step_")), key=lambda k: int(k[5:]))
    if evaluation is None:
        path = run_dir / "evaluation_results.json"
        # EvalResult.to_dict() writes the extra keys (opponents, ...) at the top level.
        evaluation = json.loads(path.read_text()) if path.exists() else {}
    evals = per_opponent(evaluation)
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    sps = metrics.get("perf/overall_sps", [])
    collect = metrics.get("perf/collect_sps", [])
    returns = metrics.get("train/episode_return", [])
    entropy = metrics.get("train/entropy", [])
    rating = metrics.get("selfplay/rating_mu", [])
    steps = max((s for pts in metrics.values() for s, _ in pts), default=0)
    out: dict[str, Any] = {
        "run_dir": relative(run_dir),
        "run_status": manifest.get("status"),
        "env_steps": steps,
        "overall_sps_final": round(sps[-1][1], 1) if sps else None,
        "collect_sps_final": round(collect[-1][1], 1) if collect else None,
        "train_return_fifths": windowed_means(returns),
        "entropy_first_last": [round(entropy[0][1], 4), round(entropy[-1][1], 4)]
        if entropy else None,
        "learner_rating_mu_first_last": [round(rating[0][1], 3), round(rating[-1][1], 3)]
        if rating else None,
        "rated_games": ratings.get("games"),
        "snapshot_ratings": [[int(k[5:]), round(table[k][0], 3), round(table[k][1], 3)]
                             for k in snapshots],
        "learner_rating_final": [round(x, 3) for x in table["learner"]]
        if "learner" in table else None,
        # With selfplay.p_chaser > 0 the scripted chaser is rated beside the snapshots.
        "chaser_rating_final": [round(x, 3) for x in table["chaser"]]
        if "chaser" in table else None,
        "curves": {tag: thin(metrics.get(tag, [])) for tag in (
            "train/episode_return", "selfplay/rating_mu", "selfplay/rating_sigma",
            "selfplay/score", "selfplay/score_vs_chaser", "train/entropy", "perf/overall_sps",
            "perf/collect_sps")},
        "evaluation": evals,
        "evaluation_learner": evaluation.get("learner"),
        "evaluation_train_env_steps": evaluation.get("train_env_steps"),
        "selection": selection(run_dir),
        "evaluation_game_limit_s": evaluation.get("game_limit_s"),
    }
    random_, chaser = evals.get("random"), evals.get("chaser")
    out["targets"] = {
        "win_rate_vs_random": random_["win_rate"] if random_ else None,
        "win_rate_vs_random_met": bool(random_ and random_["win_rate"] >= 0.9),
        "goals_vs_chaser": [chaser["goals_for"], chaser["goals_against"]] if chaser else None,
        "goals_vs_chaser_met": bool(chaser and chaser["goals_for"] > chaser["goals_against"]),
    }
    return out


def start(args: argparse.Namespace) -> tuple[list[float], Path, str | None]:
    """What this script and rocket_curriculum.py do first: log setup, the load before,
    the run dir (relative to the repo, as the run's config.yaml stores it) and the config's
    text, read now because the file may be edited while a long run trains."""
    # The trainer's progress lines (step, stage, W/D/L, rating, SPS) go to the log file.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    load_before = load()
    os.chdir(REPO)
    run_dir = Path(args.summarize or args.run_dir)
    config_text = Path(args.config).read_text() if args.summarize is None else None
    if args.summarize is None and (run_dir / "manifest.json").exists():
        log(f"{relative(run_dir)} exists: training resumes it (the time budget counts the "
            "time it already ran)")
    return load_before, run_dir, config_text


def yaml_config(config_yaml: str) -> Any:
    """The PPOConfig a run's YAML text resolves to, defaults filled in."""
    import yaml

    from dreamlab.config.base import resolve_config
    from dreamlab.config.ppo import PPOConfig

    return resolve_config(PPOConfig, file_values=yaml.safe_load(config_yaml))


def resolved_settings(cfg: Any) -> dict[str, Any]:
    """Every setting a run's resolved config trains with, seed and run dir aside."""
    import dataclasses

    from dreamlab.ppo.selfplay.train import selfplay_settings

    rocket, selfplay = selfplay_settings(cfg)
    out = {k: v for k, v in dataclasses.asdict(cfg).items()
           if k not in ("seed", "checkpoint_dir", "rocket", "selfplay")}
    return {**out, "rocket": dataclasses.asdict(rocket), "selfplay": dataclasses.asdict(selfplay)}


def aggregate(names: list[str], results: Path = RESULTS) -> dict[str, Any]:
    """One figure from several one-seed hours: a seed reproduces a run on one CPU only, so
    a learning claim is a mean and spread over seeds (each run's own JSON keeps its detail)."""
    runs = [json.loads((results / f"{n}.json").read_text()) for n in names]
    # Comments in the YAML change as runs are written up, and keys are added with their
    # defaults: compare the settings each YAML resolves to, seed and run dir aside.
    cfgs = [yaml_config(r["settings"]["config_yaml"]) for r in runs]
    configs = [resolved_settings(cfg) for cfg in cfgs]
    if any(c != configs[0] for c in configs[1:]):
        raise SystemExit("the runs trained different configs: aggregate one config's seeds")
    # A run without --seed trained with its YAML's seed (or the config's default).
    seeds = [r["settings"].get("seed") if r["settings"].get("seed") is not None else cfg.seed
             for r, cfg in zip(runs, cfgs, strict=True)]
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"the runs share a seed ({seeds}): each run must be its own seed")
    # A seed's figure depends on the CPU (float kernels, and the env steps an hour reaches):
    # pooling CPUs would blur two populations into one spread.
    cpus = sorted({r["cpu_model"] for r in runs if r.get("cpu_model")})
    if len(cpus) > 1:
        raise SystemExit(f"the runs trained on different CPUs ({', '.join(cpus)}): "
                         "aggregate one CPU model's seeds")

    def spread(values: list[float]) -> dict[str, float]:
        return {**mean_and_sample_std(values, 3), "min": min(values), "max": max(values)}

    figures = {
        "wins_vs_random": [r["evaluation"]["random"]["wins"] for r in runs],
        "losses_vs_random": [r["evaluation"]["random"]["losses"] for r in runs],
        "goals_for_vs_chaser": [r["evaluation"]["chaser"]["goals_for"] for r in runs],
        "goals_against_vs_chaser": [r["evaluation"]["chaser"]["goals_against"] for r in runs],
        "env_steps": [r["env_steps"] for r in runs],
        "learner_rating_mu_final": [r["learner_rating_final"][0] for r in runs],
    }
    # Own goals are counted since 12-01: aggregated when every run has them.
    own = [r["evaluation"]["random"].get("own_goals_against") for r in runs]
    if None not in own:
        figures["own_goals_against_vs_random"] = own
    return {"runs": names, "seeds": seeds,
            "games_per_opponent": runs[0]["settings"]["episodes_per_opponent"],
            "config_yaml": runs[0]["settings"]["config_yaml"], "per_run": figures,
            "summary": {k: spread(v) for k, v in figures.items()},
            "trained_on_cpu": cpus[0] if cpus else None,
            "git_head": git_head(), "cpu_model": cpu_model()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--run-dir", default=RUN_DIR)
    parser.add_argument("--minutes", type=float, default=60.0,
                        help="training time budget (the trainer's StopRule.max_minutes)")
    parser.add_argument("--episodes", type=int, default=100, help="games per opponent")
    parser.add_argument("--summarize", metavar="RUN_DIR", default=None,
                        help="no training: evaluate and report this existing run")
    parser.add_argument("--no-eval", action="store_true",
                        help="with --summarize: report the saved evaluation, play no games")
    parser.add_argument("--name", default="rocket_learning", help="results file name")
    parser.add_argument("--note", default=None, help="a sentence stored in the JSON's settings")
    parser.add_argument("--seed", type=int, default=None,
                        help="training seed (default: the config's); one hour per seed")
    parser.add_argument("--aggregate", nargs="+", metavar="NAME", default=None,
                        help="no training: mean and spread of these results files "
                        "(one seed each) into --name")
    args = parser.parse_args()
    if args.aggregate:
        path = save_result(args.name, aggregate(args.aggregate))
        log(f"wrote {relative(path)}")
        return
    load_before, run_dir, config_text = start(args)
    trained: dict[str, Any] = {}
    if args.summarize is None:
        trained = train(args.config, run_dir, args.minutes,
                        None if args.seed is None else {"seed": args.seed})
    load_after_train = load()
    evaluation = None if args.no_eval else evaluate(run_dir, args.episodes)
    summary = summarize(run_dir, evaluation)
    if not args.no_eval:
        summary["evaluation_no_touch_timeout"] = per_opponent(
            evaluate(run_dir, args.episodes, no_touch_timeout=True))
    run_config = run_dir / "config.yaml"
    payload = {
        "git_head": git_head(), "cpu_model": cpu_model(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average_before": load_before,
        "load_average_after_training": load_after_train,
        "load_average_after": load(),
        "settings": {"config": args.config, "time_budget_min": args.minutes,
                     "episodes_per_opponent": args.episodes, "opponents": list(OPPONENTS),
                     "summarized_existing_run": args.summarize is not None,
                     "note": args.note, "seed": args.seed,
                     "config_yaml": config_text if config_text is not None else (
                         run_config.read_text() if run_config.exists() else None)},
        **trained,
        **summary,
    }
    path = save_result(args.name, payload)
    t = summary["targets"]
    log(f"{summary['env_steps']} env steps, return by fifths {summary['train_return_fifths']}; "
        f"vs random win rate {t['win_rate_vs_random']}, vs chaser goals "
        f"{t['goals_vs_chaser']}; wrote {relative(path)}")


if __name__ == "__main__":
    main()
