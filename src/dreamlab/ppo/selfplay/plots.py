"""The ratings plot: the learner's OpenSkill rating over training, with the curriculum's
stage boundaries, and each pool snapshot's rating at the time of plotting."""

from __future__ import annotations

from pathlib import Path

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
    if schedule is not None:
        for stage in schedule.stages[1:]:
            ax.axvline(stage.start, color="grey", linestyle="--", linewidth=0.8)
            ax.annotate(stage.name, (stage.start, 1.0), xycoords=("data", "axes fraction"),
                        ha="left", va="top", fontsize=8, color="grey")
    ax.set_xlabel("timesteps")
    ax.set_ylabel("OpenSkill rating (mu)")
    ax.set_title(f"Self-play ratings ({table.games} games)")
    if xs or points:
        ax.legend(loc="lower right", fontsize=8)
    path = Path(path)
    atomic_save_figure(path, fig)
    return path
