"""The ratings plot: the learner's OpenSkill rating over training, with the curriculum's
stage boundaries, and each pool snapshot's rating at the time of plotting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamlab.ppo.selfplay.pool import CHASER
from dreamlab.ppo.selfplay.ratings import LEARNER, RatingTable
from dreamlab.ppo.selfplay.schedule import TeamSizeSchedule
from dreamlab.report.plots import agg_figure
from dreamlab.runtime.atomic import atomic_save_figure


def plot_ratings(table: RatingTable, path: str | Path,
                 schedule: TeamSizeSchedule | None = None,
                 snapshot_timesteps: dict[str, int] | None = None) -> Path:
    """Write a PNG: learner mu +- sigma by timesteps, snapshots as points, stage lines."""
    fig = agg_figure((8, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    xs = [h["timesteps"] for h in table.history]
    mu = [h["mu"] for h in table.history]
    sigma = [h["sigma"] for h in table.history]
    if xs:
        ax.plot(xs, mu, color="tab:blue", label="learner mu")
        ax.fill_between(xs, [m - s for m, s in zip(mu, sigma, strict=True)],
                        [m + s for m, s in zip(mu, sigma, strict=True)],
                        color="tab:blue", alpha=0.15, label="learner mu +- sigma")
    points = [(t, table.get(sid).mu) for sid, t in (snapshot_timesteps or {}).items()
              if sid in table and sid != LEARNER]
    if points:
        ax.scatter(*zip(*points, strict=True), color="tab:orange", s=14, zorder=3,
                   label="pool snapshots (now)")
    if CHASER.id in table:
        ax.axhline(table.get(CHASER.id).mu, color="tab:red", linestyle=":", linewidth=1,
                   label="scripted chaser (now)")
    if schedule is not None:
        for stage in schedule.stages[1:]:
            ax.axvline(stage.start, color="grey", linestyle="--", linewidth=0.8)
            ax.annotate(stage.name, (stage.start, 1.0), xycoords=("data", "axes fraction"),
                        ha="left", va="top", fontsize=8, color="grey")
    ax.set_xlabel("timesteps")
    ax.set_ylabel("OpenSkill rating (mu)")
    ax.set_title(f"Self-play ratings ({table.games} games)")
    if xs or points or CHASER.id in table:
        ax.legend(loc="lower right", fontsize=8)
    path = Path(path)
    atomic_save_figure(path, fig)
    return path


# (tag, panel title, y label) of the training-curves figure, one panel each.
_PANELS = (
    (("train/episode_return",), "learner return per game (mean per update)", "return"),
    (("selfplay/score", "selfplay/score_vs_chaser"),
     "learner score (1 win, 0.5 draw, 0 loss): all games, games vs the chaser", "score"),
    (("perf/collect_sps", "perf/overall_sps"), "throughput", "env steps/s"),
    (("selfplay/stage",), "curriculum stage", "stage index"),
)


def _stage_lines(ax: Any, schedule: TeamSizeSchedule, last: float) -> None:
    """A dashed line and the stage's name at each stage change the run has reached."""
    for stage in schedule.stages[1:]:
        if stage.start <= last:
            ax.axvline(stage.start, color="grey", linestyle="--", linewidth=0.8)
            ax.annotate(stage.name, (stage.start, 1.0), xycoords=("data", "axes fraction"),
                        ha="left", va="top", fontsize=7, color="grey")


def plot_training(log_dir: str | Path, path: str | Path,
                  schedule: TeamSizeSchedule | None = None) -> Path:
    """Write a PNG of returns, scores, SPS (collected and overall) and the stage against
    timesteps, from the run's metrics.csv; every panel marks the stage changes reached."""
    from dreamlab.runtime.logger import read_metrics

    metrics = read_metrics(log_dir)
    last = max((p[0] for points in metrics.values() for p in points), default=0)
    fig = agg_figure((9, 7))
    for i, (tags, title, ylabel) in enumerate(_PANELS):
        ax = fig.add_subplot(2, 2, i + 1)
        stage_panel = tags == ("selfplay/stage",)
        for tag in tags:
            points = metrics.get(tag, [])
            if points:
                # The stage is a step function of timesteps, not a ramp between updates.
                ax.plot(*zip(*points, strict=True), label=tag.split("/")[1], linewidth=1,
                        drawstyle="steps-post" if stage_panel else "default")
        if len(tags) > 1 and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        if schedule is not None:
            if stage_panel:
                ax.set_yticks(range(len(schedule.stages)), [s.name for s in schedule.stages])
            _stage_lines(ax, schedule, last)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("timesteps", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    path = Path(path)
    atomic_save_figure(path, fig)
    return path
